"""Login sessions: a random id in an HttpOnly, SameSite=Lax cookie (Secure over https); the store
keeps only the id's SHA-256, the user and the expiry."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from supportcue.data.store import Store

COOKIE = "supportcue_session"


def hash_id(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8", "surrogatepass")).hexdigest()


def start(
    store: Store, user_name: str, password_hash: str, now: datetime, hours: float
) -> tuple[str, datetime] | None:
    """A new session for `user_name`, whose password `password_hash` was just checked: (its id, for
    the cookie only; when it expires), or None when that password is no longer the user's."""
    session_id = secrets.token_urlsafe(32)
    expires = now + timedelta(hours=hours)
    if not store.callers.add_session(hash_id(session_id), user_name, expires, password_hash):
        return None
    return session_id, expires


def safe_next(value: str | None) -> str:
    """Where to go after logging in: a path on this site (`/cases/c1?x=1`), else `/`. Absolute and
    scheme-relative URLs (`//evil.example`, `/\\evil.example`) and control characters are refused."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or parts.path.startswith(("/login", "/logout")):
        return "/"
    return value
