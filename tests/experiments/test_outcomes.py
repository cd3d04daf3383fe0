"""`read_outcomes` on a hand-built store, on both databases: which suggestion a case's first reply is
compared with. (Similarities are cached per process by database, event id, suggestion id and the texts
compared: a database rebuilt at the same address numbers its events from 1 again.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from supportcue.data.store import Store, open_store
from supportcue.experiments import Design, create_experiment, stop_experiment
from supportcue.experiments.outcomes import read_outcomes

T0 = datetime(2026, 10, 1, tzinfo=UTC)
V1 = "validation:v1+topic:v1+response:v1+tone:policy"
PAUSE = "You can pause payouts from Settings > Payouts at any time."
REFUND = "Refunds take 5 to 10 business days to reach the customer's bank."


def _suggestion(sid: str, case_id: str, minutes: int, text: str, **kw: Any) -> dict[str, Any]:
    row = {
        "id": sid,
        "case_id": case_id,
        "created_at": T0 + timedelta(minutes=minutes),
        "pipeline_version": V1,
        "topic": "payouts",
        "text": text,
        "mode": "live",
        "latency_ms": 1.0,
        "arm": "treatment",
    }
    return row | kw


def _sent(key: str, case_id: str, minutes: int, text: str) -> dict[str, Any]:
    return {
        "idempotency_key": key,
        "case_id": case_id,
        "kind": "sent",
        "text": text,
        "ts": T0 + timedelta(minutes=minutes),
    }


def _load(store: Store, suggestions: list[dict[str, Any]], events: list[dict[str, Any]]) -> Design:
    design = create_experiment(store, Design.create("h", ["control", "treatment"], started_at=T0), now=T0)
    cases = sorted({s["case_id"] for s in suggestions} | {e["case_id"] for e in events})
    store.cases.upsert([{"id": c, "message": "m", "created_at": T0} for c in cases])
    store.experiments.record("h", [{"case_id": c, "arm": "treatment", "assigned_at": T0} for c in cases])
    store.cases.add_suggestions(suggestions)
    for e in events:
        store.events.add(e)
    return design


def test_a_reply_sent_before_any_suggestion_is_not_compared_with_a_later_one(store: Store) -> None:
    """The first reply of case c2 went out before the pipeline suggested anything; the suggestion made
    an hour later (for the customer's next message) was scored against it as the case's match."""
    design = _load(
        store,
        [_suggestion("s1", "c1", 0, PAUSE), _suggestion("s2", "c2", 60, PAUSE)],
        [_sent("k1", "c1", 5, PAUSE), _sent("k2", "c2", 5, PAUSE)],
    )
    match = {c.case_id: c.match_rate for c in read_outcomes(store, design).cases}
    assert match == {"c1": 1.0, "c2": None}


def test_a_batch_backfill_is_not_an_arms_suggestion(store: Store) -> None:
    """`batch suggest` back-fills were never shown, yet an experiment's case counted one: its text
    scored as the arm's match, its pipeline version as a second version in the arm."""
    design = _load(
        store,
        [
            _suggestion("s3", "c1", 0, REFUND),
            _suggestion("b1", "c1", 1, PAUSE, origin="batch", pipeline_version="batch:v9", arm=None),
        ],
        [_sent("k3", "c1", 5, PAUSE)],
    )
    outcomes = read_outcomes(store, design)
    assert [c.match_rate for c in outcomes.cases] == [0.0]  # s3 (refunds), not the back-fill
    assert {arm: dict(v) for arm, v in outcomes.versions.items()} == {"treatment": {V1: 1}}


def test_the_case_matches_when_its_suggestion_was_sent_after_a_holding_message(store: Store) -> None:
    """The first reply was "let me check", the second the suggestion word for word: the case counted
    as a miss. A later suggestion (for the customer's next message) is not scored against its reply."""
    holding = "Thanks for waiting, let me check that for you."
    design = _load(
        store,
        [
            _suggestion("s4", "c1", 0, PAUSE),
            _suggestion("s5", "c2", 0, PAUSE),
            _suggestion("s6", "c2", 30, REFUND),
        ],
        [
            _sent("k4", "c1", 5, holding),
            _sent("k5", "c1", 6, PAUSE),
            _sent("k6", "c2", 5, holding),
            _sent("k7", "c2", 40, REFUND),  # answers s6, not s5
        ],
    )
    match = {c.case_id: c.match_rate for c in read_outcomes(store, design).cases}
    assert match == {"c1": 1.0, "c2": 0.0}


def test_what_happens_after_the_stop_is_no_arms_outcome(store: Store) -> None:
    """After `experiment stop` every case is shown suggestions (a control case too): its replies,
    resolution and the suggestions made then counted as its arm's, and a stopped experiment's result
    kept moving as they came in."""
    design = _load(
        store,
        [
            _suggestion("s9", "c1", 0, PAUSE),
            _suggestion("s10", "c2", 0, PAUSE),
            _suggestion("s11", "c2", 20, REFUND, arm=None, pipeline_version="after:v2"),
        ],
        [_sent("k9", "c1", 5, PAUSE), _sent("k10", "c2", 25, REFUND)],
    )
    for case_id, minutes in (("c1", 8), ("c2", 30)):
        store.events.add(
            {
                "idempotency_key": f"r-{case_id}",
                "case_id": case_id,
                "kind": "resolved",
                "handle_seconds": 60.0 * minutes,
                "ts": T0 + timedelta(minutes=minutes),
            }
        )
    design = stop_experiment(store, design.key, at=T0 + timedelta(minutes=10))
    late = T0 + timedelta(minutes=10, seconds=1)  # by a server that had not noticed the stop yet
    store.experiments.record("h", [{"case_id": "c3", "arm": "control", "assigned_at": late}])
    outcomes = {c.case_id: c for c in read_outcomes(store, design).cases}
    assert [(c.match_rate, c.resolved, c.handle_seconds) for c in outcomes.values()] == [
        (1.0, 1.0, 480.0),
        (None, 0.0, None),
    ]
    assert outcomes["c2"].first_reply_seconds is None
    versions = read_outcomes(store, design).versions
    assert {arm: dict(v) for arm, v in versions.items()} == {"treatment": {V1: 2}}


def test_a_database_rebuilt_at_the_same_address_is_scored_afresh(tmp_path: Path) -> None:
    """Similarities were cached per process by (database address, event id, suggestion id): a
    workspace's database removed and built again at the same address (a notebook, a re-run of the
    demo) numbers its events from 1 again, and its case got the old database's match."""
    url = f"sqlite:///{tmp_path / 'experiments.db'}"
    matches = []
    for reply in (PAUSE, REFUND):
        store = open_store(url)
        try:
            design = _load(
                store, [_suggestion("s-again", "c1", 0, PAUSE)], [_sent("k-again", "c1", 5, reply)]
            )
            matches.append([c.match_rate for c in read_outcomes(store, design).cases])
        finally:
            store.close()
        (tmp_path / "experiments.db").unlink()
    assert matches == [[1.0], [0.0]]
