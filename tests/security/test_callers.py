"""Logging in while the user's password is changed or the user removed, from another process
(`supportcue demo` run again, `users remove`), on both databases: the login that checked the old
password gets no session that outlives the change."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from supportcue.data.store import Store
from supportcue.data.tables import User
from supportcue.security import users
from supportcue.security.callers import Authenticator
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
