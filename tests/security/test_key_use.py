"""A key's last use, as the `Authenticator` notes it on both databases: at most once a minute per key
and process, by a thread of its own, and a failed write is logged (without the key) and retried by a
later request, never the request's failure."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from supportcue.data.security import Callers
from supportcue.data.store import Store
from supportcue.security import callers, keys
from supportcue.security.callers import Authenticator, Caller
from supportcue.settings import SecuritySettings
from supportcue.vocab import Role

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _used(store: Store) -> datetime | None:
    return store.callers.api_keys()[0].last_used_at


def test_a_keys_use_is_written_once_a_minute_apart_from_the_request(store: Store) -> None:
    key = keys.create_key(store, "grafana", "metrics")
    auth = Authenticator(store, SecuritySettings(), clock=lambda: NOW)
    caller = auth.by_key(key)
    assert caller is not None
    writer = auth.note_use(caller)
    assert writer is not None
    writer.join(10)
    assert _used(store) == NOW
    assert auth.note_use(caller) is None  # within the minute: no write, no thread
    assert auth.note_use(Caller("user", "rita", Role.ADMIN)) is None  # only keys are noted


def test_a_failed_write_is_logged_and_retried(
    store: Store, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    key = keys.create_key(store, "grafana", "metrics")
    auth = Authenticator(store, SecuritySettings(), clock=lambda: NOW)
    caller = Caller("key", "grafana", Role.METRICS)

    def unreachable(self: Callers, name: str, at: datetime) -> bool:
        raise OSError("the store is unreachable")

    monkeypatch.setattr(Callers, "key_used", unreachable)
    with caplog.at_level(logging.WARNING, logger=callers.log.name):
        writer = auth.note_use(caller)
        assert writer is not None
        writer.join(10)
    assert "cannot note when API key 'grafana' was last used (OSError)" in caplog.text
    assert key not in caplog.text and _used(store) is None
    monkeypatch.undo()
    writer = auth.note_use(caller)  # the next request tries again
    assert writer is not None
    writer.join(10)
    assert _used(store) == NOW
