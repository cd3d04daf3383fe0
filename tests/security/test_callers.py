"""Logging in while the user's password is changed or the user removed, from another process
(`supportcue demo` run again, `users remove`), on both databases: the login that checked the old
password gets no session that outlives the change."""

from __future__ import annotations

import secrets
from collections.abc import Callable

import pytest
from sqlalchemy import event

from supportcue.data.store import Store
from supportcue.data.tables import User
from supportcue.errors import SupportcueError
from supportcue.security import users
from supportcue.security.callers import Authenticator
from supportcue.security.keys import create_key
from supportcue.security.users import add_user, hasher
from supportcue.settings import SecuritySettings

OLD, NEW = "correct horse battery", "another horse battery"


def _in_between(monkeypatch: pytest.MonkeyPatch, change: Callable[[], None]) -> None:
    """Make `change` happen right after a login's password check, before its session is stored."""
    check = users.authenticate

    def checked_then_changed(store: Store, name: str, password: str) -> User | None:
        user = check(store, name, password)
        change()
        return user

    monkeypatch.setattr(users, "authenticate", checked_then_changed)


def _sessions(store: Store) -> list[dict[str, object]]:
    return list(store.db.rows("login_sessions"))


@pytest.mark.parametrize("change", ["new password", "removed", "removed and added again"])
def test_a_login_racing_a_change_of_the_user_gets_no_session(
    store: Store, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    add_user(store, "ana", "agent", OLD)
    auth = Authenticator(store, SecuritySettings())
    changes = {
        "new password": lambda: store.callers.set_password("ana", hasher().hash(NEW)),
        "removed": lambda: store.callers.remove_user("ana"),
        "removed and added again": lambda: (
            store.callers.remove_user("ana"),
            add_user(store, "ana", "admin", NEW),  # another person, who took the name
        ),
    }
    _in_between(monkeypatch, changes[change])
    assert auth.login("ana", OLD) is None
    assert _sessions(store) == []


def test_a_login_without_a_change_gets_its_session(store: Store) -> None:
    add_user(store, "ana", "agent", OLD)
    auth = Authenticator(store, SecuritySettings())
    started = auth.login("ana", OLD)
    assert started is not None
    caller = auth.by_session(started[0])
    assert (
        caller is not None and caller.name == "ana" and [s["user_name"] for s in _sessions(store)] == ["ana"]
    )


class _Queries:
    """Counts the statements `store` sends (an SQLAlchemy event listener on its engine)."""

    def __init__(self, store: Store) -> None:
        self.engine = store.db.engine
        self.count = 0

    def _seen(self, *args: object) -> None:
        self.count += 1

    def __enter__(self) -> _Queries:
        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)


def test_a_flood_of_unknown_keys_does_not_push_known_callers_out_of_the_cache(store: Store) -> None:
    """More unknown keys than the cache holds used to clear it whole: every real caller was looked up
    in the database again, in the middle of the flood."""
    auth = Authenticator(store, SecuritySettings(), max_cached=50)
    key = create_key(store, "bot", "integration")
    assert auth.by_key(key) is not None
    for _ in range(200):
        assert auth.by_key(secrets.token_urlsafe(24)) is None
    with _Queries(store) as queries:
        caller = auth.by_key(key)
    assert caller is not None and caller.name == "bot" and queries.count == 0


def test_an_unknown_key_tried_again_is_refused_from_the_cache(store: Store) -> None:
    auth = Authenticator(store, SecuritySettings(), max_cached=50)
    wrong = secrets.token_urlsafe(24)
    assert auth.by_key(wrong) is None
    with _Queries(store) as queries:
        assert auth.by_key(wrong) is None
    assert queries.count == 0
    for _ in range(200):  # the unknown keys cached are bounded: the oldest go first
        auth.by_key(secrets.token_urlsafe(24))
    assert len(auth._unknown) <= 50


def test_a_revoked_key_is_refused_on_the_next_request_of_this_process(store: Store) -> None:
    auth = Authenticator(store, SecuritySettings())
    key = create_key(store, "bot", "integration")
    assert auth.by_key(key) is not None
    assert store.callers.revoke_key("bot")
    auth.forget()  # what `keys revoke` in this process (or the NOTIFY from another) does
    assert auth.by_key(key) is None


@pytest.mark.parametrize("hidden", ["\u202e", "\u2066", "\u200b", "\u200d", "\ufeff"])
def test_user_and_key_names_refuse_bidi_controls_and_zero_width_characters(store: Store, hidden: str) -> None:
    """Two users `ana` and `ana` plus a zero-width space would look the same in the admin pages."""
    with pytest.raises(SupportcueError, match=r"user name .*ASCII letters"):
        add_user(store, f"ana{hidden}", "agent", OLD)
    with pytest.raises(SupportcueError, match=r"key name .*ASCII letters"):
        create_key(store, f"bot{hidden}", "integration")
    assert list(store.db.rows("users")) == []
