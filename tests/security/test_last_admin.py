"""The last admin stays, on both databases: removing or demoting the only user with the admin role is
refused (whoever asks: the CLI or the console's Admin pages, both through `security/users.py`), also
when two admins are removed or demoted at the same moment."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from supportcue.data.store import Store
from supportcue.errors import LastAdminError, SupportcueError
from supportcue.security.users import add_user, remove_user, set_role

PASSWORD = "correct horse battery"


def _roles(store: Store) -> dict[str, str]:
    return {u.name: u.role for u in store.callers.users()}


def test_the_only_admin_cannot_be_removed_or_demoted(store: Store) -> None:
    add_user(store, "rita", "admin", PASSWORD)
    add_user(store, "ana", "agent", PASSWORD)
    for change in (lambda: remove_user(store, "rita"), lambda: set_role(store, "rita", "reviewer")):
        with pytest.raises(LastAdminError, match="'rita' is the last admin"):
            change()
    set_role(store, "rita", "admin")  # staying admin is no demotion
    set_role(store, "ana", "reviewer")  # others change as before
    remove_user(store, "ana")
    assert _roles(store) == {"rita": "admin"}


def test_with_a_second_admin_either_may_go(store: Store) -> None:
    add_user(store, "rita", "admin", PASSWORD)
    add_user(store, "olga", "admin", PASSWORD)
    set_role(store, "rita", "reviewer")
    with pytest.raises(LastAdminError):
        remove_user(store, "olga")
    set_role(store, "rita", "admin")
    remove_user(store, "olga")
    assert _roles(store) == {"rita": "admin"}


def test_a_missing_user_is_named(store: Store) -> None:
    for change in (lambda: remove_user(store, "bo"), lambda: set_role(store, "bo", "agent")):
        with pytest.raises(SupportcueError, match="no user named 'bo'") as refused:
            change()
        assert not isinstance(refused.value, LastAdminError)


@pytest.mark.parametrize("how", ["remove", "demote"])
def test_two_admins_changed_at_once_leave_one(store: Store, how: str) -> None:
    """Each change alone is allowed (another admin exists); together they would leave none."""
    changes: dict[str, Callable[[str], None]] = {
        "remove": lambda name: remove_user(store, name),
        "demote": lambda name: set_role(store, name, "agent"),
    }
    for _ in range(10):
        for name in ("rita", "olga"):
            if store.callers.user(name) is None:
                add_user(store, name, "admin", PASSWORD)
            else:
                set_role(store, name, "admin")
        start = threading.Barrier(2)
        refused: list[str] = []

        def change(name: str, start: threading.Barrier, refused: list[str]) -> None:
            start.wait()
            try:
                changes[how](name)
            except LastAdminError:
                refused.append(name)

        threads = [threading.Thread(target=change, args=(n, start, refused)) for n in ("rita", "olga")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(refused) == 1
        assert sorted(_roles(store).values()).count("admin") == 1
