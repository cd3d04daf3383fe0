"""Who may call: API keys, users and their login sessions (`store.callers`), and the audit of every
change to them (`store.callers.audit`); failed-login buckets (`store.rate_buckets`); the secrets this
deployment signs with (`store.signing_keys`).

Only hashes are stored: a key's SHA-256, a password's argon2id hash, a session id's SHA-256. Making
and checking those hashes is `security/`'s job; this module only keeps and finds the rows.
"""

from __future__ import annotations

import builtins
import getpass
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, case, delete, func, or_, select, text, update
from sqlalchemy.orm import Session

from supportcue.data.database import Database
from supportcue.data.tables import (
    AccessAudit,
    ApiKey,
    LoginSession,
    RateBucket,
    SigningKey,
    User,
    utcnow,
)
from supportcue.errors import LastAdminError
from supportcue.vocab import Role

CHANGES_CHANNEL = "supportcue_callers"
"""PostgreSQL's NOTIFY channel told, with the commit, that a key was revoked or a user's role,
password, sessions or existence changed: every serving process drops the callers it had cached
(`security.callers.ChangeListener`), so the change holds at once, not within the cache's seconds."""


USED_EVERY_S = 60.0
"""A key's `last_used_at` is written at most once in this many seconds (per key, across processes)."""


@dataclass(frozen=True)
class Actor:
    """Who makes a change to keys or users, as the audit records it: a console user's name (`via`
    console), or the operating-system account that ran the CLI (`via` cli)."""

    name: str
    via: str

    @classmethod
    def local(cls) -> Actor:
        """Whoever runs this process from a shell: the CLI (and the demo, and scripts)."""
        try:
            name = getpass.getuser()
        except (OSError, KeyError):  # no login name and no password-file entry (a bare container)
            name = "unknown"
        return cls(name[:100] or "unknown", "cli")


class Callers:
    def __init__(self, db: Database) -> None:
        self.db = db

    @staticmethod
    def _record(
        s: Session,
        by: Actor | None,
        action: str,
        target: str,
        role: str | None = None,
        previous_role: str | None = None,
    ) -> None:
        """Add the change's audit row to its own transaction: both are committed, or neither."""
        by = by or Actor.local()
        s.add(
            AccessAudit(
                at=utcnow(),
                actor=by.name[:100],
                via=by.via,
                action=action,
                target=target,
                role=role,
                previous_role=previous_role,
            )
        )
        s.flush()  # a row that cannot be written fails here, before the change commits

    def audit(self, limit: int = 50, before: int | None = None) -> builtins.list[AccessAudit]:
        """The audit's rows, newest first, `limit` of them; `before`: those older than row `before`
        (the last `id` of the page before: keyset, one query however deep)."""
        stmt = select(AccessAudit).order_by(AccessAudit.id.desc()).limit(limit)
        if before is not None:
            stmt = stmt.where(AccessAudit.id < before)
        return self.db.all(stmt)

    def _changed(self, s: Session) -> None:
        """Tell the serving processes, when this transaction commits, to forget cached callers."""
        if self.db.dialect == "postgresql":
            s.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANGES_CHANNEL})

    def _inserted(self, stmt: Any, record: Callable[[Session], None]) -> bool:
        """Run an INSERT ... ON CONFLICT DO NOTHING RETURNING: whether it inserted the row (and then
        `record` its audit row in the same transaction)."""
        with self.db.session() as s:
            if s.execute(stmt).first() is None:
                return False
            record(s)
        return True

    # -- API keys ----------------------------------------------------------------------------------
    def add_key(self, name: str, role: str, key_hash: str, prefix: str, by: Actor | None = None) -> bool:
        """Store a new key; False (and nothing changed) when a key of that name exists. `by`: who, for
        the audit (None: `Actor.local()`)."""
        stmt = self.db.insert(ApiKey).values(
            name=name, role=role, key_hash=key_hash, prefix=prefix, created_at=utcnow()
        )
        return self._inserted(
            stmt.on_conflict_do_nothing(index_elements=["name"]).returning(ApiKey.name),
            lambda s: self._record(s, by, "key.create", name, role),
        )

    def key_by_hash(self, key_hash: str) -> ApiKey | None:
        return self.db.first(select(ApiKey).where(ApiKey.key_hash == key_hash))

    def api_keys(self) -> builtins.list[ApiKey]:
        return self.db.all(select(ApiKey).order_by(ApiKey.name))

    def revoke_key(self, name: str, by: Actor | None = None) -> bool:
        """Delete the key named `name` (the audit keeps that it was, and by whom); False when there
        is none."""
        with self.db.session() as s:
            role = s.scalar(delete(ApiKey).where(ApiKey.name == name).returning(ApiKey.role))
            if role is None:
                return False
            self._record(s, by, "key.revoke", name, role)
            self._changed(s)
        return True

    def key_used(self, name: str, at: datetime) -> bool:
        """Note that a request came with key `name` at `at`, unless that was noted less than
        `USED_EVERY_S` before (by any process): at most one write a minute per key. Whether it wrote."""
        recent = at - timedelta(seconds=USED_EVERY_S)
        stmt = (
            update(ApiKey)
            .where(ApiKey.name == name, or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < recent))
            .values(last_used_at=at)
        )
        with self.db.session() as s:
            result = s.execute(stmt)
        return bool(result.rowcount)  # type: ignore[attr-defined]

    # -- users -------------------------------------------------------------------------------------
    def add_user(self, name: str, role: str, password_hash: str, by: Actor | None = None) -> bool:
        """Store a new user; False (and nothing changed) when a user of that name exists."""
        stmt = self.db.insert(User).values(
            name=name, role=role, password_hash=password_hash, created_at=utcnow()
        )
        return self._inserted(
            stmt.on_conflict_do_nothing(index_elements=["name"]).returning(User.name),
            lambda s: self._record(s, by, "user.add", name, role),
        )

    def set_password(self, name: str, password_hash: str, by: Actor | None = None) -> bool:
        """A new password hash; the user's open sessions end. False when there is no such user."""
        with self.db.session() as s:
            user = s.get(User, name)
            if user is None:
                return False
            user.password_hash = password_hash
            s.execute(delete(LoginSession).where(LoginSession.user_name == name))
            self._record(s, by, "user.set_password", name, user.role)
            self._changed(s)
        return True

    def set_role(self, name: str, role: str, by: Actor | None = None) -> bool:
        """Give the user `role`; their sessions stay open and carry it from the next lookup (callers
        are cached for seconds). False when there is no such user; `LastAdminError` when they are the
        only admin and `role` is another."""
        with self.db.session() as s:
            stmt = update(User).where(User.name == name)
            if role != Role.ADMIN:
                stmt = stmt.where(self._keeps_an_admin(s, name))
            # the role before, read in the statement's transaction (PostgreSQL: the row is then locked)
            previous = s.scalar(select(User.role).where(User.name == name).with_for_update())
            result = s.execute(stmt.values(role=role))
            if not result.rowcount:  # type: ignore[attr-defined]
                return self._refused(s, name)
            self._record(s, by, "user.set_role", name, role, previous)
            self._changed(s)
        return True

    def user(self, name: str) -> User | None:
        return self.db.get(User, name)

    def users(self) -> builtins.list[User]:
        return self.db.all(select(User).order_by(User.name))

    def remove_user(self, name: str, by: Actor | None = None) -> bool:
        """Delete a user (the audit keeps that they were, and by whom) and end their sessions; False
        when there is no such user, `LastAdminError` when they are the only admin."""
        with self.db.session() as s:
            kept = self._keeps_an_admin(s, name)
            role = s.scalar(delete(User).where(User.name == name, kept).returning(User.role))
            if role is None:
                return self._refused(s, name)
            s.execute(delete(LoginSession).where(LoginSession.user_name == name))
            self._record(s, by, "user.remove", name, role)
            self._changed(s)
        return True

    def _keeps_an_admin(self, s: Session, name: str) -> ColumnElement[bool]:
        """The condition, for the statement that removes or demotes user `name`, that an admin is
        left: they are not one, or another user is. This is the one place the rule is kept (the CLI
        and the console's Admin pages both come here). On PostgreSQL the admins' rows are locked
        first, so two admins removed or demoted at once cannot each count the other and leave none
        (the statement after the lock counts anew); SQLite has one writer, and counts inside the
        statement that writes."""
        if self.db.dialect == "postgresql":
            s.execute(select(User.name).where(User.role == Role.ADMIN).with_for_update())
        others = (
            select(func.count())
            .select_from(User)
            .where(User.role == Role.ADMIN, User.name != name)
            .scalar_subquery()
        )
        return or_(User.role != Role.ADMIN, others > 0)

    @staticmethod
    def _refused(s: Session, name: str) -> bool:
        """Why a removal or a role change of `name` changed nothing: False (no such user), or
        `LastAdminError` (the user is there: the last admin)."""
        if s.get(User, name) is None:
            return False
        raise LastAdminError(
            f"{name!r} is the last admin: give another user the admin role first, then change or "
            "remove this one"
        )

    def count(self) -> int:
        """How many users and keys exist (none: nobody can call a served workspace)."""
        with self.db.session() as s:
            users = s.scalar(select(func.count()).select_from(User)) or 0
            keys = s.scalar(select(func.count()).select_from(ApiKey)) or 0
        return int(users) + int(keys)

    # -- login sessions ----------------------------------------------------------------------------
    def add_session(self, id_hash: str, user_name: str, expires_at: datetime, password_hash: str) -> bool:
        """Store a session while the user's password is still `password_hash`, the one the login
        checked; False (and none stored) when it was changed, or the user removed or replaced, since
        (from another process: the session would outlive the change). The user's row is locked
        (PostgreSQL; SQLite has one writer) so a change cannot commit between the check and the insert."""
        with self.db.session() as s:
            current = s.scalar(
                select(User.password_hash).where(User.name == user_name).with_for_update(read=True)
            )
            if current != password_hash:
                return False
            s.add(LoginSession(id_hash=id_hash, user_name=user_name, expires_at=expires_at))
        return True

    def session_user(self, id_hash: str) -> tuple[LoginSession, User] | None:
        """The session with this id hash and its user, if both exist (expiry is the caller's check)."""
        stmt = select(LoginSession, User).join(User, User.name == LoginSession.user_name)
        with self.db.session() as s:
            row = s.execute(stmt.where(LoginSession.id_hash == id_hash)).first()
        return None if row is None else (row[0], row[1])

    def end_session(self, id_hash: str) -> None:
        with self.db.session() as s:
            s.execute(delete(LoginSession).where(LoginSession.id_hash == id_hash))
            self._changed(s)

    def end_expired_sessions(self, now: datetime) -> int:
        with self.db.session() as s:
            result = s.execute(delete(LoginSession).where(LoginSession.expires_at <= now))
        return int(result.rowcount)  # type: ignore[attr-defined]


class RateBuckets:
    """Token buckets kept in the database, so that every process counts in the same ones. A bucket
    holds up to `burst` tokens and refills at `per_second`; a missing row is a full bucket. Keys are
    hashes: `security.ratelimit.SharedRateLimiter` makes them."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def take(self, key: str, per_second: float, burst: int, now: float) -> bool:
        """Take one token from `key`'s bucket: True when there was one. One statement inserts the row
        or refills and decrements it, and only when a whole token is there, so processes taking at
        the same moment cannot both take the last one."""
        # A clock behind the one that counted last (another machine) refills nothing, takes nothing.
        elapsed = case((RateBucket.at < now, now - RateBucket.at), else_=0.0)
        refilled = RateBucket.tokens + elapsed * per_second
        level = case((refilled > burst, float(burst)), else_=refilled)
        stmt = (
            self.db.insert(RateBucket)
            .values(key=key, tokens=float(burst) - 1.0, at=now)
            .on_conflict_do_update(
                index_elements=["key"],
                set_={"tokens": level - 1.0, "at": case((RateBucket.at < now, now), else_=RateBucket.at)},
                where=level >= 1.0,
            )
            .returning(RateBucket.tokens)
        )
        with self.db.session() as s:
            taken = s.execute(stmt).first() is not None
            # Buckets that have refilled since are full again: no row needed.
            s.execute(delete(RateBucket).where(RateBucket.at < now - burst / per_second))
        return taken

    def level(self, key: str, per_second: float, burst: int, now: float) -> float:
        """The tokens in `key`'s bucket now (nothing taken)."""
        row = self.db.get(RateBucket, key)
        if row is None:
            return float(burst)
        return min(float(burst), row.tokens + max(0.0, now - row.at) * per_second)

    def count(self) -> int:
        """Buckets that are not full (rows)."""
        with self.db.session() as s:
            return int(s.scalar(select(func.count()).select_from(RateBucket)) or 0)


class SigningKeys:
    """Secrets made once per database and read by every process (`security.devices` signs with one)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def get_or_make(self, name: str, make: Callable[[], str]) -> str:
        """The secret named `name`; the first caller stores `make()`. Processes asking at the same
        moment all get the one that was stored: the insert does nothing when the row exists."""
        query = select(SigningKey.secret).where(SigningKey.name == name)
        secret = self.db.first(query)
        if secret is None:
            stmt = self.db.insert(SigningKey).values(name=name, secret=make(), created_at=utcnow())
            with self.db.session() as s:
                s.execute(stmt.on_conflict_do_nothing(index_elements=["name"]))
            secret = self.db.first(query)
        if secret is None:  # deleted between the two statements: never expected, never a silent key
            raise RuntimeError(f"signing key {name!r} vanished")
        return secret
