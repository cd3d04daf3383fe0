"""Who is calling: a `Caller` from a bearer key or a session cookie, found by the `Authenticator`.

`Caller.id` (`key:NAME` or `user:NAME`) is the stable identity to scope per-caller state by (rate
limits, idempotency keys). Lookups are cached for `CACHE_SECONDS`, so a key revoked or a user removed
from the CLI (another process) stops working within that time; a logout in this process at once, and
in the other workers of `serve --workers N` within that time too.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from supportcue.data.store import Store
from supportcue.security import csrf, keys, sessions, users
from supportcue.settings import SecuritySettings
from supportcue.vocab import Role

CACHE_SECONDS = 2.0
CallerKind = Literal["key", "user", "webhook"]
"""`webhook`: a help desk, known by its webhook's signature (`service/deps.py`'s `signed_by`)."""


@dataclass(frozen=True)
class Caller:
    """An authenticated caller. `session_hash` and `csrf_token` are set for cookie sessions only."""

    kind: CallerKind
    name: str
    role: Role
    session_hash: str | None = None
    csrf_token: str | None = None
    expires_at: datetime | None = None

    @property
    def id(self) -> str:
        """`key:NAME`, `user:NAME` or `webhook:NAME`: unique across keys, users and help desks."""
        return f"{self.kind}:{self.name}"

    @property
    def by_cookie(self) -> bool:
        return self.session_hash is not None


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Authenticator:
    """Finds callers by key or session id, logs users in and out."""

    def __init__(
        self, store: Store, settings: SecuritySettings, clock: Callable[[], datetime] = _utcnow
    ) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self._cache: dict[str, tuple[float, Caller | None]] = {}
        self._lock = threading.Lock()

    def cached(self, token_hash: str) -> tuple[bool, Caller | None]:
        """(found in the cache, the caller); an expired session is never returned."""
        with self._lock:
            hit = self._cache.get(token_hash)
        if hit is None or time.monotonic() - hit[0] > CACHE_SECONDS:
            return False, None
        caller = hit[1]
        if caller is not None and caller.expires_at is not None and caller.expires_at <= self.clock():
            return True, None
        return True, caller

    def _remember(self, token_hash: str, caller: Caller | None) -> Caller | None:
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[token_hash] = (time.monotonic(), caller)
        return caller

    def cached_key(self, key: str) -> tuple[bool, Caller | None]:
        """`cached` for a key (no store read: cheap enough for the event loop)."""
        return self.cached(keys.hash_key(key))

    def cached_session(self, session_id: str) -> tuple[bool, Caller | None]:
        return self.cached(sessions.hash_id(session_id))

    def by_key(self, key: str) -> Caller | None:
        """The key's caller (blocking: the store is read on a cache miss)."""
        digest = keys.hash_key(key)
        found, caller = self.cached(digest)
        if found:
            return caller
        row = self.store.callers.key_by_hash(digest)
        if row is None or not keys.matches(key, row.key_hash):
            return self._remember(digest, None)
        return self._remember(digest, Caller("key", row.name, Role(row.role)))

    def by_session(self, session_id: str) -> Caller | None:
        """The session's user, unless it expired (blocking: the store is read on a cache miss)."""
        digest = sessions.hash_id(session_id)
        found, caller = self.cached(digest)
        if found:
            return caller
        row = self.store.callers.session_user(digest)
        if row is None:
            return self._remember(digest, None)
        session, user = row
        caller = Caller(
            "user",
            user.name,
            Role(user.role),
            session_hash=digest,
            csrf_token=csrf.token_for(session_id),
            expires_at=session.expires_at,
        )
        self._remember(digest, caller)
        return caller if session.expires_at > self.clock() else None

    def login(self, name: str, password: str) -> tuple[str, datetime] | None:
        """A new session (id, expiry) when the password is the user's; None otherwise, also when it
        stopped being theirs while it was checked (blocking)."""
        user = users.authenticate(self.store, name, password)
        if user is None:
            return None
        now = self.clock()
        self.store.callers.end_expired_sessions(now)
        return sessions.start(self.store, user.name, user.password_hash, now, self.settings.session_hours)

    def logout(self, caller: Caller) -> None:
        """End the caller's session (blocking)."""
        if caller.session_hash is None:
            return
        self.store.callers.end_session(caller.session_hash)
        with self._lock:
            self._cache.pop(caller.session_hash, None)
