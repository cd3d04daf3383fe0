"""Device cookies (OWASP, "Slow Down Online Guessing Attacks with Device Cookies"): a browser that
logged in as a user before gets a failed-login limit of its own for that user.

Failed logins are limited per user name and per address (`[security] login_attempts_per_minute`), so
anyone on the network could keep a user out of the console by sending that many wrong passwords a
minute for her name, and colleagues behind one NAT share one address's limit. A successful login
therefore sets a long-lived cookie binding that browser to that name; a login that carries a valid one
for the name it tries is limited per device cookie only (its own bucket, the same limit), and its
failures lock out that cookie only. Logins without one are limited per name and per address as before.

The cookie is `nonce.issued.mac`: 16 random bytes, the issue time (seconds since the epoch) and an
HMAC-SHA256 of both and the user name, with a secret kept in the database (`store.signing_keys`, made
once), so every worker and machine sharing it verifies a cookie any of them issued, and nothing but
the key is stored. The name is not in the cookie: it is checked against the name the login tries, so
a cookie issued for one name gives nothing for another, and a forged or altered one is no cookie at
all. The nonce makes every cookie's bucket its own.

A device cookie only marks a browser as one the user logged in from: it changes which failed-login
bucket counts, never authenticates. So a cookie issued before the user's password was reset
(`supportcue users set-password`), or before the user was removed and added again, keeps working as a
device mark until it expires; that is fine, since the password is still checked. One browser keeps
one device cookie, for the last user who logged in from it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from supportcue.data.security import SigningKeys

COOKIE = "supportcue_device"
KEY_NAME = "device-cookies"
LIFETIME_S = 365 * 24 * 3600
"""How long a device cookie holds (the browser's Max-Age, and checked here from its signed issue time)."""
_SHAPE = re.compile(r"([A-Za-z0-9_-]{22})\.([0-9]{1,12})\.([0-9a-f]{64})")


@dataclass
class DeviceCookies:
    """Issues and checks device cookies; the signing key is read from the database once per process."""

    keys: SigningKeys
    clock: Callable[[], float] = time.time
    lifetime_s: int = LIFETIME_S
    _secret: bytes | None = field(default=None, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def _key(self) -> bytes:
        with self._lock:
            if self._secret is None:
                hex_secret = self.keys.get_or_make(KEY_NAME, lambda: secrets.token_hex(32))
                self._secret = bytes.fromhex(hex_secret)
            return self._secret

    def _mac(self, nonce: str, issued: int, name: str) -> str:
        message = f"supportcue device\0{nonce}\0{issued}\0{name}".encode("utf-8", "surrogatepass")
        return hmac.new(self._key(), message, hashlib.sha256).hexdigest()

    def issue(self, name: str) -> str:
        """A new device cookie's value for `name`, who just logged in (it does not contain the name)."""
        nonce, issued = secrets.token_urlsafe(16), int(self.clock())
        return f"{nonce}.{issued}.{self._mac(nonce, issued, name)}"

    def device(self, cookie: str | None, name: str) -> str | None:
        """The device's id (the cookie's nonce, which names its bucket) when `cookie` was issued here
        for `name` and has not expired; else None: treated like no cookie."""
        found = _SHAPE.fullmatch(cookie or "")
        if found is None:
            return None
        nonce, issued, mac = found[1], int(found[2]), found[3]
        if self.clock() - issued > self.lifetime_s:
            return None
        if not hmac.compare_digest(self._mac(nonce, issued, name), mac):
            return None
        return nonce
