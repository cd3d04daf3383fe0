"""Users who log in with a password, hashed with argon2id (argon2-cffi's defaults: RFC 9106's
low-memory profile), and checked in constant time whether or not the user exists."""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from supportcue.data.security import Actor
from supportcue.data.store import Store
from supportcue.data.tables import User
from supportcue.errors import SupportcueError
from supportcue.security.keys import NAME, check_name
from supportcue.security.roles import parse_role
from supportcue.vocab import Role

MIN_PASSWORD = 8
MAX_PASSWORD = 1024
"""Longer passwords are refused at once (hashing megabytes on every try would be a cheap attack)."""


@lru_cache(maxsize=1)
def hasher() -> PasswordHasher:
    return PasswordHasher()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hasher().hash("not a password of anyone")


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise SupportcueError(f"the password is too short: use at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise SupportcueError(f"the password is too long: use at most {MAX_PASSWORD} characters")
    return password


def check_new_user(store: Store, name: str, role: Role | str) -> Role:
    """The user's role, once name and role are usable and the name is free (`SupportcueError`
    otherwise): `users add` asks this before the password, not after it was typed twice."""
    check_name(name, "user")
    parsed = _person_role(role)
    if store.callers.user(name) is not None:
        raise _taken(name)
    return parsed


def _taken(name: str) -> SupportcueError:
    return SupportcueError(
        f"a user named {name!r} exists: change it (`supportcue users set-role`, `users set-password`) "
        "or remove it first (`users remove`)"
    )


def add_user(store: Store, name: str, role: Role | str, password: str, by: Actor | None = None) -> None:
    """Store a new user with an argon2id hash of `password`. `by`: who, for the audit (None: the
    account running this process, via the CLI)."""
    check_name(name, "user")
    role = _person_role(role)
    if not store.callers.add_user(name, role, hasher().hash(check_password(password)), by):
        raise _taken(name)


def set_password(store: Store, name: str, password: str, by: Actor | None = None) -> None:
    """Replace the user's password (a reset): their open sessions end, on every process."""
    if not store.callers.set_password(name, hasher().hash(check_password(password)), by):
        raise _missing(name)


def set_role(store: Store, name: str, role: Role | str, by: Actor | None = None) -> None:
    """Give the user another role; open sessions carry it within seconds (the callers' cache).
    `LastAdminError` for the only admin given another role."""
    if not store.callers.set_role(name, _person_role(role), by):
        raise _missing(name)


def remove_user(store: Store, name: str, by: Actor | None = None) -> None:
    """Remove the user and end their sessions; `LastAdminError` for the only admin."""
    if not store.callers.remove_user(name, by):
        raise _missing(name)


def _missing(name: str) -> SupportcueError:
    return SupportcueError(f"no user named {name!r} (see `supportcue users list`)")


def _person_role(role: Role | str) -> Role:
    try:
        parsed = parse_role(str(role))
    except ValueError as exc:
        raise SupportcueError(str(exc)) from None
    if parsed == Role.EMBED:
        raise SupportcueError("the embed role is for the key of the Chatwoot embed page, not for people")
    return parsed


def authenticate(store: Store, name: str, password: str) -> User | None:
    """The user when `password` is theirs; None otherwise, after the same work either way (an
    unknown name is not told apart from a wrong password, not even by timing). A name no user can
    have (`keys.NAME`: a NUL byte, which PostgreSQL refused to compare, a 500) is not looked up."""
    looked_up = len(password) <= MAX_PASSWORD and NAME.fullmatch(name) is not None
    user = store.callers.user(name) if looked_up else None
    try:
        hasher().verify(user.password_hash if user else _dummy_hash(), password[:MAX_PASSWORD])
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    return user
