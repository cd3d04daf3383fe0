"""API keys for machines: `sc_` and 43 random URL-safe characters (256 bits), shown once at creation.

A key is stored as its SHA-256 (a slow hash adds nothing for a 256-bit random secret, and keeps the
check off the hot path's budget); a presented key is hashed, found by its hash and compared in
constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from supportcue.data.security import Actor
from supportcue.data.store import Store
from supportcue.errors import SupportcueError
from supportcue.security.roles import parse_role
from supportcue.vocab import Role

PREFIX = "sc_"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,79}$")
SHOWN = len(PREFIX) + 6
"""How many leading characters `keys list` shows to tell keys apart."""


PLACEHOLDER_URL = "https://YOUR-SUPPORTCUE-HOST"
"""Where supportcue's address goes in an embed URL shown while `[service] public_url` is not set."""


def embed_path(key: str) -> str:
    """The Chatwoot Dashboard App's path for an embed key: the key goes in the URL's fragment, which
    browsers never send to a server or a log."""
    return f"/embed/chatwoot#key={key}"


def check_name(name: str, what: str) -> str:
    if not NAME.fullmatch(name):  # `$` alone also matched before a last line break
        raise SupportcueError(
            f"{what} name {name!r}: use 1-80 ASCII letters (a-z, A-Z), digits, '.', '_', '@' or '-' "
            "(starting with a letter or digit; 'jose' for José)"
        )
    return name


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def matches(key: str, stored_hash: str) -> bool:
    """Whether `key` hashes to `stored_hash`, compared in constant time."""
    return hmac.compare_digest(hash_key(key), stored_hash)


def create_key(store: Store, name: str, role: Role | str, by: Actor | None = None) -> str:
    """Make and store a new key; returns the key itself (the only time it exists in clear). `by`:
    who, for the audit (None: the account running this process, via the CLI)."""
    check_name(name, "key")
    try:
        role = parse_role(str(role))
    except ValueError as exc:
        raise SupportcueError(str(exc)) from None
    key = PREFIX + secrets.token_urlsafe(32)
    if not store.callers.add_key(name, role, hash_key(key), key[:SHOWN], by):
        raise SupportcueError(
            f"a key named {name!r} exists: choose another name, or revoke it first "
            f"(`supportcue keys revoke {name}`; whatever uses it stops working)"
        )
    return key
