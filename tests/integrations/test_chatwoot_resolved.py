"""A conversation resolved in Chatwoot is the case's `resolved` event, with Chatwoot's resolution time
as its handle time: what an experiment's `resolved` and `handle_seconds` are measured on (over real
HTTP against the served app, with Chatwoot's messages API served by the local fake)."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
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
from tests.service.conftest import authorize, wait_loaded


def iso(ts: float) -> str:
    """Chatwoot's `created_at` of a message sent at `ts` (Unix seconds)."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def test_a_resolution_is_the_cases_resolved_event_once_and_the_last_one_counts(
    server: LiveServer, chatwoot: FakeChatwoot, store: Store
) -> None:
    chatwoot.start()
    started = float(int(time.time()) - 900)
    post(server.url, message_created(101, "How do I pause a payout?", created_at=iso(started + 60)))
    wait_for(lambda: chatwoot.notes)
    post(server.url, message_created(102, PAUSE, "outgoing", created_at=iso(started + 120)))
    resolved = status_changed(10, "resolved", created_at=started, updated_at=started + 600.25)
    r = post(server.url, resolved)
    assert r.status_code == 200 and r.json()["status"] == "accepted" and r.json()["case_id"] == CASE
    assert post(server.url, resolved).json()["status"] == "duplicate"  # delivered twice
    (event,) = store.events.list(kind="resolved")
    assert (event.case_id, event.agent_id, event.handle_seconds) == (CASE, "John", 600.25)
    assert abs(event.ts.timestamp() - (started + 600.25)) < 0.01
    # reopened (no event: the case is open again), then resolved again: a second event, and the
    # analysis takes the last one's handle time, as it does for events sent to the API
    reopened = status_changed(10, "open", previous="resolved", created_at=started, updated_at=started + 700)
    assert post(server.url, reopened).json()["status"] == "accepted"
    assert len(store.events.list(kind="resolved")) == 1
    again = status_changed(10, "resolved", created_at=started, updated_at=started + 800)
    assert post(server.url, again).json()["status"] == "accepted"
    assert [e.handle_seconds for e in store.events.list(kind="resolved")] == [600.25, 800.0]


def test_a_resolution_closes_the_case_in_the_console_and_a_reopen_opens_it(
    server: LiveServer, chatwoot: FakeChatwoot, store: Store, admin_key: dict[str, str]
) -> None:
    """The case's status follows Chatwoot's: resolved leaves the inbox, reopened comes back; a
    redelivered webhook, or one that arrives after a later change, changes nothing."""
    chatwoot.start()
    started = float(int(time.time()) - 900)

    def inbox() -> str:
        """The case links of the console's inbox (open cases)."""
        page = httpx.get(server.url + "/", headers=admin_key, timeout=10)
        assert page.status_code == 200
        return " ".join(re.findall(r'href="(/cases/[^"]+)"', page.text))

    link = "/cases/" + quote(CASE, safe="")

    post(server.url, message_created(301, "How do I pause a payout?", created_at=iso(started + 60)))
    assert link in inbox()
    resolved = status_changed(10, "resolved", created_at=started, updated_at=started + 600.25)
    assert post(server.url, resolved).json()["status"] == "accepted"
    assert store.cases.get(CASE).status == "resolved"  # type: ignore[union-attr]
    assert link not in inbox()
    case_page = httpx.get(server.url + link, headers=admin_key, timeout=10).text
    assert "This case is resolved." in case_page
    assert post(server.url, resolved).json()["status"] == "duplicate"  # delivered twice: still resolved
    assert store.cases.get(CASE).status == "resolved"  # type: ignore[union-attr]

    reopened = status_changed(10, "open", previous="resolved", created_at=started, updated_at=started + 700)
    answer = post(server.url, reopened).json()
    assert (answer["status"], answer["case_id"]) == ("accepted", CASE)
    assert store.cases.get(CASE).status == "open"  # type: ignore[union-attr]
    assert link in inbox()
    assert post(server.url, reopened).json()["status"] == "duplicate"
    # the first resolution delivered again after the reopen (Chatwoot's retries come in any order)
    assert post(server.url, resolved).json()["status"] == "duplicate"
    assert store.cases.get(CASE).status == "open"  # type: ignore[union-attr]

    # a reopen that arrives after a later resolution changes nothing either
    again = status_changed(10, "resolved", created_at=started, updated_at=started + 800)
    assert post(server.url, again).json()["status"] == "accepted"
    answer = post(server.url, reopened).json()
    assert answer["status"] == "ignored" and "changed status after this reopening" in answer["reason"]
    assert store.cases.get(CASE).status == "resolved"  # type: ignore[union-attr]
    assert [e.handle_seconds for e in store.events.list(kind="resolved")] == [600.25, 800.0]

    # pending and snoozed are neither (the case stays as it was); the deprecated event closes it too
    snoozed = status_changed(10, "snoozed", previous="resolved", created_at=started, updated_at=started + 900)
    assert post(server.url, snoozed).json()["status"] == "ignored"
    assert store.cases.get(CASE).status == "resolved"  # type: ignore[union-attr]
    opened = status_changed(10, "open", previous="snoozed", created_at=started, updated_at=started + 950)
    assert post(server.url, opened).json()["status"] == "accepted"
    old = status_changed(
        10, "resolved", created_at=started, updated_at=started + 1000, event="conversation_resolved"
    )
    assert post(server.url, old).json()["status"] == "accepted"
    assert store.cases.get(CASE).status == "resolved"  # type: ignore[union-attr]


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
        # two conversations forgotten for 9 days, then auto-resolved: no handle time of anyone's
        for n in (26, 27):
            post(server.url, message_created(1000 + n, "How do I pause a payout?", conversation=n))
            forgotten = status_changed(n, "resolved", created_at=started, updated_at=started + 9 * 86400)
            assert post(server.url, forgotten).json()["status"] == "accepted"
        # the dashboard's experiment table leaves them out too, and says so
        page = httpx.get(server.url + "/dashboard", headers=authorize(store), timeout=60)
        section = page.text.split('id="experiments"', 1)[1]
        assert "2 cases with a handle time over 604,800 s (7 days" in section, section[:3000]
        (row,) = [r for r in re.findall(r"(?s)<tr>(.*?)</tr>", section) if "Handle time" in r]
        means = [float(x.replace(",", "")) for x in re.findall(r"([\d,.]+) s<", row)]
        assert len(means) == 2 and all(110 <= m <= 125 for m in means), row

    def analyze(*options: str) -> dict[str, Any]:
        result = CliRunner().invoke(
            cli,
            [
                *("--workspace", str(tmp_path), "experiment", "analyze", "holdout"),
                *("--metric", "handle_seconds", "--json", *options),
            ],
            env={"SUPPORTCUE_DATABASE_URL": database_url},
        )
        assert result.exit_code == 0, result.output
        answer: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
        return answer

    analysis = analyze()
    assert analysis["metric"] == "handle_seconds" and analysis["max_handle_seconds"] == 7 * 86400
    arms = {a["name"]: a for a in analysis["arms"]}
    assert sum(a["n"] for a in arms.values()) == len(conversations), analysis["arms"]
    assert all(a["n"] > 0 and 110 <= a["mean"] <= 125 for a in arms.values()), analysis
    assert sum(a["excluded"] for a in arms.values()) == 2
    assert any("2 cases" in w and "left out" in w for w in analysis["warnings"]), analysis["warnings"]
    # --max-handle-seconds 0 keeps every handle time: the two forgotten cases swamp the means
    everything = analyze("--max-handle-seconds", "0")
    assert sum(a["n"] for a in everything["arms"]) == len(conversations) + 2
    assert max(a["mean"] for a in everything["arms"]) > 40_000, everything["arms"]


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
