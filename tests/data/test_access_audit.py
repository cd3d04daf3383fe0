"""The audit of changes to keys and users, on both databases: each change writes its row in its own
transaction (a change that fails to record is not made), a refused change writes none, no row holds
a secret; and a key's last use, written at most once a minute."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from supportcue.data.security import USED_EVERY_S, Actor, Callers
from supportcue.data.store import Store
from supportcue.errors import LastAdminError, SupportcueError
from supportcue.security import keys, users

PASSWORD = "correct horse battery"
OPS = Actor("user:rita", "console")


def _rows(store: Store) -> list[tuple[str, str, str, str, str | None, str | None]]:
    return [
        (r.actor, r.via, r.action, r.target, r.role, r.previous_role)
        for r in reversed(store.callers.audit(limit=1000))
    ]


def test_every_change_is_recorded_with_who_through_what_and_the_roles(store: Store) -> None:
    users.add_user(store, "rita", "admin", PASSWORD)  # from this process, as the CLI does
    users.add_user(store, "ana", "agent", PASSWORD, OPS)
    users.set_role(store, "ana", "reviewer", OPS)
    users.set_password(store, "ana", PASSWORD + "!", OPS)
    key = keys.create_key(store, "grafana", "metrics", OPS)
    assert store.callers.revoke_key("grafana", OPS)
    users.remove_user(store, "ana", OPS)
    local = Actor.local()
    assert local.via == "cli" and local.name
    assert _rows(store) == [
        (local.name, "cli", "user.add", "rita", "admin", None),
        ("user:rita", "console", "user.add", "ana", "agent", None),
        ("user:rita", "console", "user.set_role", "ana", "reviewer", "agent"),
        ("user:rita", "console", "user.set_password", "ana", "reviewer", None),
        ("user:rita", "console", "key.create", "grafana", "metrics", None),
        ("user:rita", "console", "key.revoke", "grafana", "metrics", None),
        ("user:rita", "console", "user.remove", "ana", "reviewer", None),
    ]
    at = [r.at for r in store.callers.audit()]
    assert at == sorted(at, reverse=True) and all(a.tzinfo is not None for a in at)
    # the removed user and the revoked key are gone (deleted): only the audit says they were
    assert [u.name for u in store.callers.users()] == ["rita"] and store.callers.api_keys() == []
    # no secret: neither the key, nor a password, nor a hash of either
    dumped = json.dumps(list(store.db.rows("access_audit")), default=str)
    for secret in (key, key[3:], keys.hash_key(key), PASSWORD, PASSWORD + "!"):
        assert secret not in dumped
    assert "hash" not in dumped and "$argon2" not in dumped


def test_a_refused_change_records_nothing(store: Store) -> None:
    users.add_user(store, "rita", "admin", PASSWORD, OPS)
    keys.create_key(store, "grafana", "metrics", OPS)
    before = _rows(store)
    refusals: list[Any] = [
        lambda: users.add_user(store, "rita", "agent", PASSWORD, OPS),  # the name is taken
        lambda: keys.create_key(store, "grafana", "metrics", OPS),
        lambda: users.set_role(store, "nobody", "agent", OPS),
        lambda: users.set_password(store, "nobody", PASSWORD, OPS),
        lambda: users.remove_user(store, "nobody", OPS),
    ]
    for refused in refusals:
        with pytest.raises(SupportcueError):
            refused()
    for last_admin in (
        lambda: users.remove_user(store, "rita", OPS),
        lambda: users.set_role(store, "rita", "agent", OPS),
    ):
        with pytest.raises(LastAdminError):
            last_admin()
    assert not store.callers.revoke_key("nope", OPS)
    assert _rows(store) == before


def test_a_change_whose_record_fails_is_not_made(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """The record is written in the change's transaction: when writing it fails, after the change's
    own statement ran, the change is rolled back with it."""
    users.add_user(store, "rita", "admin", PASSWORD)
    users.add_user(store, "ana", "agent", PASSWORD)
    keys.create_key(store, "grafana", "metrics")
    hashes = {u.name: u.password_hash for u in store.callers.users()}
    before = _rows(store)

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the audit row could not be written")

    monkeypatch.setattr(Callers, "_record", staticmethod(broken))
    changes: list[Any] = [
        lambda: users.add_user(store, "eve", "agent", PASSWORD, OPS),
        lambda: users.set_role(store, "ana", "reviewer", OPS),
        lambda: users.set_password(store, "ana", PASSWORD + "!", OPS),
        lambda: users.remove_user(store, "ana", OPS),
        lambda: keys.create_key(store, "other", "metrics", OPS),
        lambda: store.callers.revoke_key("grafana", OPS),
    ]
    for change in changes:
        with pytest.raises(RuntimeError, match="audit row"):
            change()
    monkeypatch.undo()
    assert {u.name: (u.role, u.password_hash) for u in store.callers.users()} == {
        "ana": ("agent", hashes["ana"]),
        "rita": ("admin", hashes["rita"]),
    }
    assert [k.name for k in store.callers.api_keys()] == ["grafana"]
    assert _rows(store) == before


def test_the_audit_is_listed_newest_first_a_page_at_a_time(store: Store) -> None:
    for i in range(7):
        keys.create_key(store, f"k{i}", "metrics", OPS)
    first = store.callers.audit(limit=3)
    assert [r.target for r in first] == ["k6", "k5", "k4"]
    second = store.callers.audit(limit=3, before=first[-1].id)
    assert [r.target for r in second] == ["k3", "k2", "k1"]
    assert [r.target for r in store.callers.audit(limit=3, before=second[-1].id)] == ["k0"]


def test_a_keys_use_is_written_at_most_once_a_minute(store: Store) -> None:
    keys.create_key(store, "grafana", "metrics")
    assert store.callers.api_keys()[0].last_used_at is None
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert store.callers.key_used("grafana", now)
    assert not store.callers.key_used("grafana", now + timedelta(seconds=USED_EVERY_S - 1))
    assert store.callers.api_keys()[0].last_used_at == now
    later = now + timedelta(seconds=USED_EVERY_S + 1)
    assert store.callers.key_used("grafana", later)
    assert store.callers.api_keys()[0].last_used_at == later
    assert not store.callers.key_used("gone", later)  # a key revoked meanwhile: nothing to write
    assert _rows(store)[-1][2] == "key.create"  # a use is no change: not in the audit
