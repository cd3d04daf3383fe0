"""Who is calling: a `Caller` from a bearer key or a session cookie, found by the `Authenticator`.

`Caller.id` (`key:NAME` or `user:NAME`) is the stable identity to scope per-caller state by (rate
limits, idempotency keys). Lookups are cached for `CACHE_SECONDS`. On PostgreSQL every change to who
may call (a key revoked, a user removed, given another role or password, a logout) is NOTIFYed with
its commit, and each serving process's `ChangeListener` drops its cached callers when told: the
change holds at once in every worker and machine. On SQLite (one serving process), and on PostgreSQL
while the listener is reconnecting, a change made by another process holds within `CACHE_SECONDS`.

A key's use is noted in the store (`api_keys.last_used_at`, shown by `keys list` and /admin/keys) at
most once a minute per key and process, by a thread of its own: the request never waits for that
write, nor fails with it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from supportcue.data.security import CHANGES_CHANNEL, USED_EVERY_S
from supportcue.data.store import Store
from supportcue.security import csrf, keys, sessions, users
from supportcue.settings import SecuritySettings
from supportcue.vocab import Role

log = logging.getLogger("supportcue.service")
CACHE_SECONDS = 2.0
MAX_CACHED = 10_000
"""The most callers cached, and apart from them the most tokens cached as not found."""
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
        self,
        store: Store,
        settings: SecuritySettings,
        clock: Callable[[], datetime] = _utcnow,
        max_cached: int = MAX_CACHED,
    ) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.max_cached = max_cached
        self._known: OrderedDict[str, tuple[float, Caller]] = OrderedDict()
        self._unknown: OrderedDict[str, float] = OrderedDict()
        self._used: dict[str, float] = {}
        """Key name -> when (monotonic) this process last had its use written."""
        self._lock = threading.Lock()

    def cached(self, token_hash: str) -> tuple[bool, Caller | None]:
        """(found in the cache, the caller); an expired session is never returned."""
        now = time.monotonic()
        with self._lock:
            known = self._known.get(token_hash)
            if known is not None:
                self._known.move_to_end(token_hash)
            unknown_at = self._unknown.get(token_hash)
        if known is not None and now - known[0] <= CACHE_SECONDS:
            caller = known[1]
            if caller.expires_at is not None and caller.expires_at <= self.clock():
                return True, None
            return True, caller
        if unknown_at is not None and now - unknown_at <= CACHE_SECONDS:
            return True, None
        return False, None

    def _remember(self, token_hash: str, caller: Caller | None) -> Caller | None:
        """Cache the lookup. Callers found and tokens not found are kept apart, each at most
        `max_cached`, the least recently used dropped first: a flood of made-up keys (clearing the one
        cache when full, as it did) never pushes out the callers that exist."""
        now = time.monotonic()
        with self._lock:
            if caller is None:
                self._known.pop(token_hash, None)
                self._unknown[token_hash] = now
                self._unknown.move_to_end(token_hash)
                cache: OrderedDict[str, Any] = self._unknown
            else:
                self._unknown.pop(token_hash, None)
                self._known[token_hash] = (now, caller)
                self._known.move_to_end(token_hash)
                cache = self._known
            while len(cache) > self.max_cached:
                cache.popitem(last=False)
        return caller

    def forget(self) -> None:
        """Drop every cached caller: the next request of each is looked up in the store."""
        with self._lock:
            self._known.clear()
            self._unknown.clear()

    def note_use(self, caller: Caller) -> threading.Thread | None:
        """Have the store note that key `caller` was used now: at most once in `USED_EVERY_S` per key
        (the store, too, skips a write another process made within it), in a thread of its own (the
        one returned; None when nothing is written), so the request neither waits nor fails for it."""
        if caller.kind != "key":
            return None
        now = time.monotonic()
        with self._lock:
            last = self._used.get(caller.name)
            if last is not None and now - last < USED_EVERY_S:
                return None
            if len(self._used) > 10_000:
                self._used.clear()
            self._used[caller.name] = now
        writer = threading.Thread(
            target=self._write_use, args=(caller.name, self.clock()), name="supportcue-key-used", daemon=True
        )
        writer.start()
        return writer

    def _write_use(self, name: str, at: datetime) -> None:
        try:
            self.store.callers.key_used(name, at)
        except Exception as exc:  # the store busy or unreachable: a later request writes it
            with self._lock:
                self._used.pop(name, None)
            log.warning("cannot note when API key %r was last used (%s)", name, type(exc).__name__)

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
            self._known.pop(caller.session_hash, None)


class ChangeListener:
    """PostgreSQL: LISTENs on `CHANGES_CHANNEL` on a connection of its own and calls `on_change`
    (`Authenticator.forget`) for every notification, and once more each time it (re)connects, for
    what it may have missed. A lost connection is retried every `retry_s`; meanwhile the cache's own
    `CACHE_SECONDS` still bounds how long a change takes."""

    def __init__(self, conninfo: str, on_change: Callable[[], None], retry_s: float = 1.0) -> None:
        self.conninfo = conninfo
        self.on_change = on_change
        self.retry_s = retry_s
        self.listening = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="supportcue-callers", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout_s)

    def _run(self) -> None:
        import psycopg
        from psycopg.conninfo import conninfo_to_dict

        from supportcue.data.database import TCP_KEEPALIVES

        given = conninfo_to_dict(self.conninfo)
        params: dict[str, Any] = {
            k: v for k, v in {"connect_timeout": 5, **TCP_KEEPALIVES}.items() if k not in given
        }
        failing = False
        while not self._stop.is_set():
            try:
                with psycopg.connect(self.conninfo, autocommit=True, **params) as conn:
                    conn.execute(f"LISTEN {CHANGES_CHANNEL}")
                    self.listening.set()
                    self.on_change()
                    if failing:
                        log.warning("following changes to keys and users again")
                        failing = False
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=1.0):
                            self.on_change()
            except Exception as exc:
                self.listening.clear()
                if not failing and not self._stop.is_set():  # one line per outage, none when stopping
                    log.warning(
                        "cannot follow changes to keys and users (%s); a revoked key stops within %g s",
                        type(exc).__name__,
                        CACHE_SECONDS,
                    )
                    failing = True
                self._stop.wait(self.retry_s)
