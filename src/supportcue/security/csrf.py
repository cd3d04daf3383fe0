"""CSRF tokens. A logged-in session's token is derived from its session id (so it is tied to the
session, needs no storage, and cannot be computed from what the store keeps); the login form, which
has no session yet, uses a double-submit cookie instead.

A cookie-authenticated request that changes state (any method but GET, HEAD, OPTIONS) must carry the
token in the `X-CSRF-Token` header or a `csrf_token` form field; bearer-key requests need none, since
a browser never sends a bearer key on its own.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from supportcue.boundary import same_secret

HEADER = "x-csrf-token"
FIELD = "csrf_token"
LOGIN_COOKIE = "supportcue_login"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def token_for(session_id: str) -> str:
    return hmac.new(session_id.encode(), b"supportcue csrf", hashlib.sha256).hexdigest()


def valid(session_id: str, token: str | None) -> bool:
    return bool(token) and same_secret(token_for(session_id), str(token))


def login_token() -> str:
    """A fresh token for the login form (also set as its cookie)."""
    return secrets.token_urlsafe(24)


def same(cookie: str | None, field: str | None) -> bool:
    return bool(cookie) and bool(field) and same_secret(str(cookie), str(field))
