"""A conversation resolved in Chatwoot is the case's `resolved` event, with Chatwoot's resolution time
as its handle time: what an experiment's `resolved` and `handle_seconds` are measured on (over real
HTTP against the served app, with Chatwoot's messages API served by the local fake)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from typer.testing import CliRunner

from supportcue.cli import app as cli
from supportcue.data.store import Store
from supportcue.experiments import Design, create_experiment
from tests.conftest import LiveServer
from tests.integrations.chatwoot_api import (
    CASE,
    PAUSE,
    FakeChatwoot,
    message_created,
    post,
    status_changed,
    wait_for,
)
from tests.service.conftest import wait_loaded


def test_a_resolution_is_the_cases_resolved_event_once_and_the_last_one_counts(
    server: LiveServer, chatwoot: FakeChatwoot, store: Store
) -> None:
    chatwoot.start()
    started = float(int(time.time()) - 900)
    post(server.url, message_created(101, "How do I pause a payout?"))
    wait_for(lambda: chatwoot.notes)
    post(server.url, message_created(102, PAUSE, "outgoing"))
    resolved = status_changed(10, "resolved", created_at=started, updated_at=started + 600.25)
    r = post(server.url, resolved)
    assert r.status_code == 200 and r.json()["status"] == "accepted" and r.json()["case_id"] == CASE
    assert post(server.url, resolved).json()["status"] == "duplicate"  # delivered twice
    (event,) = store.events.list(kind="resolved")
    assert (event.case_id, event.agent_id, event.handle_seconds) == (CASE, "John", 600.25)
    assert abs(event.ts.timestamp() - (started + 600.25)) < 0.01
    # reopened (a status change to open: nothing to record), then resolved again: a second event,
    # and the analysis takes the last one's handle time, as it does for events sent to the API
    reopened = status_changed(10, "open", previous="resolved", created_at=started, updated_at=started + 700)
    assert post(server.url, reopened).json()["status"] == "ignored"
    again = status_changed(10, "resolved", created_at=started, updated_at=started + 800)
    assert post(server.url, again).json()["status"] == "accepted"
    assert [e.handle_seconds for e in store.events.list(kind="resolved")] == [600.25, 800.0]


def test_the_deprecated_conversation_resolved_and_other_accounts(
    server: LiveServer, chatwoot: FakeChatwoot, store: Store
) -> None:
    chatwoot.start()
    started = float(int(time.time()) - 300)
    post(server.url, message_created(201, "How do I pause a payout?"))
    wait_for(lambda: chatwoot.notes)
    other = status_changed(10, "resolved", created_at=started, updated_at=started + 60, account=2)
    answer = post(server.url, other).json()
    assert answer["status"] == "ignored" and "account 2" in answer["reason"]
    unknown = status_changed(99, "resolved", created_at=started, updated_at=started + 60)
    answer = post(server.url, unknown).json()
    assert answer["status"] == "ignored" and "chatwoot:1:99" in answer["reason"]
    old = status_changed(
        10, "resolved", created_at=started, updated_at=started + 120, event="conversation_resolved"
    )
    assert post(server.url, old).json()["status"] == "accepted"
    assert [(e.case_id, e.handle_seconds) for e in store.events.list(kind="resolved")] == [(CASE, 120.0)]


def test_experiment_analyze_gets_the_handle_time_of_chatwoot_cases(
    app: FastAPI,
    chatwoot: FakeChatwoot,
    store: Store,
    tmp_path: Path,
    database_url: str,
) -> None:
    # created a minute ago (the builder's message times are whole seconds, and a case whose first
    # message came before the start is outside the experiment)
    created = datetime.now(UTC) - timedelta(minutes=1)
    create_experiment(store, Design.create("holdout", ["control", "treatment"]), now=created)
    chatwoot.start()
    with LiveServer(app) as server:
        wait_loaded(app)
        started = float(int(time.time()) - 3600)
        conversations = range(10, 26)
        for n in conversations:
            post(server.url, message_created(1000 + n, "How do I pause a payout?", conversation=n))
        wait_for(lambda: [i.status for i in store.outbox.items()].count("pending") == 0)
        assert len(store.outbox.items()) == len(conversations)
        for n in conversations:
            handle = 100.0 + n
            resolved = status_changed(n, "resolved", created_at=started, updated_at=started + handle)
            assert post(server.url, resolved).json()["status"] == "accepted"
    result = CliRunner().invoke(
        cli,
        [
            *("--workspace", str(tmp_path), "experiment", "analyze", "holdout"),
            "--metric",
            "handle_seconds",
            "--json",
        ],
        env={"SUPPORTCUE_DATABASE_URL": database_url},
    )
    assert result.exit_code == 0, result.output
    analysis = json.loads(result.stdout.strip().splitlines()[-1])
    assert analysis["metric"] == "handle_seconds"
    arms = {a["name"]: a for a in analysis["arms"]}
    assert sum(a["n"] for a in arms.values()) == len(conversations), analysis["arms"]
    assert all(a["n"] > 0 and 110 <= a["mean"] <= 125 for a in arms.values()), analysis


@pytest.mark.parametrize("field", ["id", "display_id", "account_id", "updated_at"])
def test_a_resolution_with_a_nul_byte_is_422_not_a_500(
    server: LiveServer, chatwoot: FakeChatwoot, store: Store, field: str
) -> None:
    """`conversation_status_changed` read its ids as any string: a NUL byte (which PostgreSQL refuses
    in text) reached the case lookup, a 500 there; `message_created` refused it as a 422 already."""
    started = float(int(time.time()) - 300)
    resolved = status_changed(10, "resolved", created_at=started, updated_at=started + 60)
    r = post(server.url, {**resolved, field: "1\u0000"})
    assert r.status_code == 422 and field in r.json()["detail"], r.text
    assert "\u0000" not in r.text
    assert store.events.list(kind="resolved") == []
