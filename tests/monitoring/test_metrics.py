"""Online metrics on hand-built suggestions and events whose answers are known, in Python and in SQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from tests.demo.oracle import oracle_pipeline

from supportcue.data.store import Store
from supportcue.monitoring.metrics import (
    compute_dashboard,
    compute_report,
    facts_from_rows,
    parse_time,
    print_report,
    report,
)
from supportcue.settings import Settings

T0 = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
PAUSE = "You can pause payouts from Settings > Payouts at any time."
REFUND = "Refunds take 5 to 10 business days to reach the customer's bank."


def _s(sid: str, case_id: str, minutes: int, **kw: Any) -> dict[str, Any]:
    row = {
        "id": sid,
        "case_id": case_id,
        "created_at": T0 - timedelta(hours=1) + timedelta(minutes=minutes),  # before the replies (at T0)
        "pipeline_version": "validation:v1+topic:v1+response:v1+tone:policy",
        "topic": None,
        "text": None,
        "abstained_at": None,
        "mode": "live",
        "shadow": {},
        "latency_ms": 0.0,
        "arm": None,
        "simulated": False,
    }
    row.update(kw)
    return row


def _in_shadow(sid: str, case_id: str, minutes: int) -> dict[str, Any]:
    """A suggestion the topic stage (in shadow) would have made: PAUSE, never shown."""
    shadow = {"text": PAUSE, "topic": "payouts", "answer_id": "a1", "stages": ["topic"]}
    return _s(sid, case_id, minutes, abstained_at="topic", mode="shadow", shadow=shadow)


SUGGESTIONS = [
    _s("s1", "c1", 0, topic="payouts", text=PAUSE, latency_ms=10.0),
    _s("s2old", "c2", 1, topic="refunds", text="Your dispute was closed in your favour.", latency_ms=50.0),
    _s("s2", "c2", 2, topic="refunds", text=REFUND, latency_ms=20.0),
    _s("s3", "c3", 3, abstained_at="validation", mode="none", latency_ms=5.0),
    _s(
        "s4",
        "c4",
        4,
        abstained_at="topic",
        mode="shadow",
        latency_ms=30.0,
        shadow={"text": PAUSE, "topic": "payouts", "answer_id": "a1", "stages": ["topic"]},
    ),
    _s("s5", "c5", 60 * 24, topic="payouts", text=PAUSE, latency_ms=40.0),
]


def _e(key: str, case_id: str, kind: str, sid: str | None = None, **kw: Any) -> dict[str, Any]:
    return {"idempotency_key": key, "case_id": case_id, "suggestion_id": sid, "kind": kind, "ts": T0} | kw


EVENTS = [
    _e("k1", "c1", "shown", "s1"),
    _e("k1b", "c1", "shown", "s1"),  # shown twice (two page views): still one suggestion shown
    _e("k2", "c1", "inserted", "s1"),
    _e("k3", "c1", "sent", "s1", text="Hi Ana,\nYou can pause payouts from Settings > Payouts at any time."),
    _e("k4", "c2", "shown", "s2"),
    _e("k5", "c2", "dismissed", "s2", reason="wrong_topic"),
    # the help desk's sent event has no suggestion id: it pairs with the case's newest suggestion
    _e("k6", "c2", "sent", None, text="Your dispute was closed in your favour."),
    _e("k7", "c3", "sent", None, text="You're welcome!"),
    _e("k8", "c4", "sent", None, text="You can pause payouts from Settings > Payouts at any time."),
    _e("k9", "c5", "shown", "s5", ts=T0 + timedelta(days=1)),
    _e("k10", "c5", "resolved", None, handle_seconds=100.0, ts=T0 + timedelta(days=1)),
]
NAMES = {"c1": "Ana"}


def _check(result: dict[str, Any]) -> None:
    assert result["suggestions"] == 6 and result["valid"] == 5 and result["suggested"] == 4
    assert result["coverage"] == 0.8
    assert (result["shown"], result["inserted"], result["adoption"]) == (3, 1, 0.3333)
    # s1 matches its sent reply; s2 (the newest on c2) does not, though the older s2old would have
    assert (result["matches"], result["sent_pairs"], result["match_rate"]) == (1, 2, 0.5)
    assert result["match_rate_all_sent"] == 0.25  # c3 (no suggestion) and c4 (abstained) are misses
    assert result["similarity"]["histogram"][-1] == 1 and sum(result["similarity"]["histogram"]) == 2
    assert result["funnel"] == [
        {"stage": "validation", "entered": 6, "stopped": 1, "passed": 5},
        {"stage": "topic", "entered": 5, "stopped": 1, "passed": 4},
        {"stage": "response", "entered": 4, "stopped": 0, "passed": 4},
        {"stage": "tone", "entered": 4, "stopped": 0, "passed": 4},
    ]
    assert result["dismiss_reasons"] == {"wrong_topic": 1} and result["dismiss_rate"] == 0.3333
    assert result["shadow"] == [{"stage": "topic", "n": 1, "agreements": 1, "agreement": 1.0}]
    assert result["latency_ms"] == {"n": 6, "p50": 20.0, "p99": 50.0}  # nearest rank
    assert result["edit"]["n"] == 1 and result["edit"]["mean"] == 0.0
    assert not result["match_sampled"]


def test_metrics_on_hand_built_rows() -> None:
    _check(report(facts_from_rows(SUGGESTIONS, EVENTS, NAMES), threshold=0.7))


def test_grouped_by_topic_and_day() -> None:
    facts = facts_from_rows(SUGGESTIONS, EVENTS, NAMES)
    by_topic = {g["key"]: g for g in report(facts, 0.7, "topic")["groups"]}
    assert list(by_topic) == ["(none)", "payouts", "refunds"]  # by volume (2 each), then key
    assert (by_topic["payouts"]["adoption"], by_topic["payouts"]["match_rate"]) == (0.5, 1.0)
    assert by_topic["refunds"]["dismiss_reasons"] == {"wrong_topic": 1}
    assert by_topic["refunds"]["match_rate"] == 0.0
    days = report(facts, 0.7, "day")["groups"]
    assert [d["key"] for d in days] == ["2026-10-01", "2026-10-02"]
    assert days[1]["suggestions"] == 1 and days[1]["adoption"] == 0.0
    stages = {g["key"]: g["suggestions"] for g in report(facts, 0.7, "stage")["groups"]}
    assert stages == {"suggested": 4, "validation": 1, "topic": 1}


def test_a_higher_threshold_lowers_the_match_rate() -> None:
    facts = facts_from_rows(SUGGESTIONS, [*EVENTS[:3], {**EVENTS[3], "text": PAUSE + " Anything else?"}])
    assert report(facts, 0.7)["match_rate"] == 1.0
    assert report(facts, 1.0)["match_rate"] == 0.0


def test_empty_store_gives_null_rates_not_errors() -> None:
    result = report(facts_from_rows([], []))
    assert result["match_rate"] is None and result["adoption"] is None and result["coverage"] is None


def test_the_printed_report_of_no_request_says_so() -> None:
    """A new workspace's `supportcue report` printed "p50 None ms | p99 None ms over 0"."""
    from rich.console import Console

    console = Console(record=True, width=200)
    print_report(report(facts_from_rows([], []), group_by="topic"), console)
    text = console.export_text()
    assert "None" not in text and "no live request yet" in text


def test_bad_group_by_and_dates_are_named() -> None:
    with pytest.raises(ValueError, match="group_by='week' is not one of: day, topic, stage, model, arm"):
        report(facts_from_rows([], []), group_by="week")
    with pytest.raises(ValueError, match="until='yesterday' is not an ISO date"):
        parse_time("yesterday", "until")
    assert parse_time("2026-10-01") == datetime(2026, 10, 1, tzinfo=UTC)


@pytest.mark.parametrize(("since", "until"), [("2026-10-02", "2026-10-01"), ("2026-10-01", "2026-10-01")])
def test_a_range_with_nothing_in_it_is_refused_not_reported_as_no_data(
    store: Store, since: str, until: str
) -> None:
    """(what `supportcue report` and the dashboard show, as /v1/metrics did already)"""
    with pytest.raises(ValueError, match=rf"since \({since}\) must be before until \({until}\)"):
        compute_report(store, Settings(), since=since, until=until)


def _load(store: Store) -> None:
    store.cases.upsert(
        [
            {"id": c, "message": "m", "customer_name": NAMES.get(c), "created_at": T0}
            for c in NAMES | {"c2": "", "c3": "", "c4": "", "c5": ""}
        ]
    )
    store.cases.add_suggestions([{k: v for k, v in s.items()} for s in SUGGESTIONS])
    for e in EVENTS:
        store.events.add(e)


def test_the_store_gives_the_same_figures(store: Store) -> None:
    _load(store)
    result = compute_report(store, Settings())
    _check(result)
    by_topic = compute_report(store, Settings(), group_by="topic")["groups"]
    assert by_topic == report(facts_from_rows(SUGGESTIONS, EVENTS, NAMES), 0.7, "topic")["groups"]
    later = compute_report(store, Settings(), since="2026-10-02")
    assert later["suggestions"] == 1 and later["shown"] == 1 and later["sent_pairs"] == 0
    assert compute_report(store, Settings(), until=T0.date())["suggestions"] == 0


def _held(sid: str, minutes: int, topic: str, text: str) -> dict[str, Any]:
    """A suggestion for an experiment's control arm: computed in shadow, never shown."""
    shadow = {"text": text, "topic": topic, "answer_id": "a1", "stages": ["validation", "topic"]}
    return _s(
        sid, sid, minutes, arm="control", abstained_at="holdout", mode="shadow", topic=topic, shadow=shadow
    )


HELD = [
    _held("h1", 5, "payouts", PAUSE),
    _held("h2", 6, "refunds", REFUND),
    _s("t1", "t1", 7, arm="treatment", topic="payouts", text=PAUSE),
]
HELD_EVENTS = [
    _e("hk1", "h1", "sent", "h1", text=PAUSE),
    _e("hk2", "h2", "sent", "h2", text="Your dispute was closed in your favour."),
    _e("tk1", "t1", "shown", "t1"),
    _e("tk2", "t1", "sent", "t1", text=PAUSE),
]


def _check_held_out(result: dict[str, Any]) -> None:
    assert result["held_out"] == 2 and result["funnel"][0]["entered"] == 1
    assert result["valid"] == 1 and result["coverage"] == 1.0  # held out: not in coverage's denominator
    assert result["shadow"] == []  # a control arm's whole chain is no one stage's shadow agreement
    by_arm = {g["key"]: g for g in result["groups"]}
    assert (by_arm["treatment"]["match_rate"], by_arm["treatment"]["match_rate_held_out"]) == (1.0, None)
    assert (by_arm["control"]["match_rate"], by_arm["control"]["match_rate_held_out"]) == (None, 0.5)


def test_held_out_suggestions_by_arm(store: Store) -> None:
    _check_held_out(report(facts_from_rows(HELD, HELD_EVENTS), 0.7, "arm"))
    store.cases.add_suggestions(HELD)
    for e in HELD_EVENTS:
        store.events.add(e)
    _check_held_out(compute_report(store, Settings(), group_by="arm"))


def test_sampling_caps_the_pairs_scored(store: Store) -> None:
    rows = [_s(f"x{i}", f"x{i}", i, topic="payouts", text=PAUSE) for i in range(300)]
    store.cases.add_suggestions(rows)
    store.events.add_many([_e(f"e{i}", f"x{i}", "sent", f"x{i}", text=PAUSE) for i in range(300)])
    result = compute_report(store, Settings(), max_pairs=100)
    assert result["match_sampled"] and result["sent_pairs_total"] == 300
    assert 60 <= result["sent_pairs"] <= 140 and result["match_rate"] == 1.0


# -- metrics over the simulated demo history --------------------------------------------------------


def _simulate(store: Store, seed: int) -> tuple[Any, dict[str, Any]]:
    from supportcue.demo import generate
    from supportcue.demo.simulate import simulate_history
    from supportcue.demo.workspace import load_demo

    data = generate(seed=3, n_cases=600)
    load_demo(store, data, open_cases=20)
    return data, simulate_history(store, oracle_pipeline(data), data, seed=seed)


def test_simulated_history_tells_the_demo_story(store: Store) -> None:
    data, summary = _simulate(store, seed=1)
    assert summary["cases"] == summary["suggestions"] == 580
    events = store.events.list()
    sent = [e for e in events if e.kind == "sent"]
    resolved = [e for e in events if e.kind == "resolved"]
    assert len(resolved) == 580 and len({e.case_id for e in sent}) == len(sent)  # one each, not doubled
    assert all(e.simulated and e.suggestion_id for e in sent + resolved)
    created = {c.id: c.created_at for c in data.cases}
    outdated = [e for e in events if e.kind == "dismissed" and e.reason == "outdated"]
    assert outdated and all(created[e.case_id] >= data.policy_change_at for e in outdated)
    launch = next(t.launched_at for t in data.topics if t.key == data.new_topic_key)
    new = [
        s
        for c in data.cases
        if c.topic == data.new_topic_key and (s := store.cases.suggestion(f"sim-{c.id}"))
    ]
    early = [s for s in new if s.created_at < launch + timedelta(days=7)]
    assert early and all(s.text is None and s.abstained_at == "topic" for s in early)
    assert any(s.text for s in new if s.created_at >= launch + timedelta(days=7))
    result = compute_report(store, Settings(), group_by="topic")
    assert result["simulated_suggestions"] == 580
    assert 0.2 < result["adoption"] < 0.95 and result["match_rate"] > 0.2
    rates = [g["adoption"] for g in result["groups"] if g["shown"] >= 20]
    assert max(rates) - min(rates) > 0.2  # adoption varies by topic
    handle = {e.case_id: e.handle_seconds for e in resolved}
    inserted = {e.case_id for e in events if e.kind == "inserted"}
    assert all(handle[c.id] < c.handle_seconds for c in data.cases if c.id in inserted)


def test_simulation_is_deterministic_and_idempotent(tmp_path: Path) -> None:
    from supportcue.data.store import open_store

    figures = []
    for name in ("a", "b"):
        store = open_store(f"sqlite:///{tmp_path / name}.db")
        _, summary = _simulate(store, seed=5)
        figures.append(
            (
                summary["events"],
                compute_report(store, Settings())["match_rate"],
                [(e.idempotency_key, e.kind, e.reason, e.ts) for e in store.events.list()],
            )
        )
        store.close()
    assert figures[0] == figures[1]
    store = open_store(f"sqlite:///{tmp_path / 'a'}.db")
    _simulate(store, seed=5)  # again, on the same store
    assert store.db.count("events") == len(figures[0][2]) and store.db.count("suggestions") == 580
    store.close()


# -- per agent -----------------------------------------------------------------------------------------

AGENT_SUGGESTIONS = [
    _s("a1", "d1", 0, topic="payouts", text=PAUSE),
    _s("a2", "d2", 1, topic="refunds", text=REFUND),
    _s("a3", "d3", 2, topic="payouts", text=PAUSE),  # posted as a help-desk note: no events on it
]
AGENT_EVENTS = [
    _e("g1", "d1", "shown", "a1", agent_id="ana"),
    _e("g2", "d1", "inserted", "a1", agent_id="ana"),
    _e("g3", "d1", "sent", "a1", text=PAUSE, agent_id="ana"),
    _e("g4", "d2", "shown", "a2", agent_id="ben"),
    _e("g5", "d2", "dismissed", "a2", reason="tone", agent_id="ben"),
    _e("g6", "d2", "sent", None, text="We are looking into it.", agent_id="ben"),
    # the help desk's reply: no suggestion id, an agent who was shown nothing in supportcue
    _e("g7", "d3", "sent", None, text=PAUSE, agent_id="cara"),
]


def _by_agent(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {g["key"]: g for g in result["groups"]}


def test_grouped_by_agent_adoption_of_what_they_were_shown_and_match_of_what_they_sent(
    store: Store,
) -> None:
    expected = report(facts_from_rows(AGENT_SUGGESTIONS, AGENT_EVENTS), 0.7, "agent")
    agents = _by_agent(expected)
    assert list(agents) == ["ana", "ben", "(none)", "cara"]  # by suggestions shown, then replies
    assert (agents["ana"]["shown"], agents["ana"]["adoption"], agents["ana"]["match_rate"]) == (1, 1.0, 1.0)
    assert (agents["ben"]["adoption"], agents["ben"]["dismissed"], agents["ben"]["match_rate"]) == (
        0.0,
        1,
        0.0,
    )
    assert agents["ben"]["dismiss_reasons"] == {"tone": 1}
    assert (agents["cara"]["suggestions"], agents["cara"]["sent_pairs"], agents["cara"]["match_rate"]) == (
        0,
        1,
        1.0,
    )
    assert agents["(none)"]["suggestions"] == 1 and agents["(none)"]["sent_pairs"] == 0
    store.cases.add_suggestions(AGENT_SUGGESTIONS)
    for e in AGENT_EVENTS:
        store.events.add(e)
    stored = compute_report(store, Settings(), group_by="agent")
    assert stored["groups"] == expected["groups"]
    assert compute_report(store, Settings())["match_rate"] == expected["match_rate"] == 0.6667


# What agents saw: a dismissal re-delivered (by a second agent, under another key) is one dismissed
# suggestion; an insert whose `shown` event was lost was still shown; a `shown` event for a suggestion
# with no text (abstained, its would-be text only in shadow) showed the agent nothing.
SEEN_SUGGESTIONS = [
    _s("v1", "e1", 0, topic="payouts", text=PAUSE),
    _s("v2", "e2", 1, topic="refunds", text=REFUND),
    _in_shadow("v3", "e3", 2),
]
SEEN_EVENTS = [
    _e("h1", "e1", "shown", "v1", agent_id="ana"),
    _e("h2", "e1", "dismissed", "v1", reason="wrong_topic", agent_id="ana"),
    _e("h3", "e1", "dismissed", "v1", reason="wrong_topic", agent_id="ben", ts=T0 + timedelta(minutes=1)),
    _e("h4", "e2", "inserted", "v2", agent_id="ben"),
    _e("h5", "e3", "shown", "v3", agent_id="ana"),
]


def _seen(result: dict[str, Any]) -> tuple[Any, ...]:
    keys = ("shown", "inserted", "adoption", "dismissed", "dismiss_rate", "dismiss_reasons")
    return tuple(result[k] for k in keys)


def test_shown_inserted_and_dismissed_count_suggestions_an_agent_saw(store: Store) -> None:
    """Two dismissals of one suggestion read "dismissed 1, wrong_topic 2"; an insert without its
    `shown` event made adoption inserted/shown exceed what was shown; a `shown` event for an abstained
    suggestion counted it as shown and ignored."""
    want = (2, 1, 0.5, 1, 0.5, {"wrong_topic": 1})
    expected = report(facts_from_rows(SEEN_SUGGESTIONS, SEEN_EVENTS), 0.7, "agent")
    assert _seen(expected) == want
    agents = _by_agent(expected)
    assert sum(n for g in agents.values() for n in g["dismiss_reasons"].values()) == 1
    assert agents["ana"]["dismissed"] == 1 and agents["ana"]["dismiss_reasons"] == {"wrong_topic": 1}
    store.cases.add_suggestions(SEEN_SUGGESTIONS)
    for e in SEEN_EVENTS:
        store.events.add(e)
    assert _seen(compute_report(store, Settings())) == want
    stored = compute_report(store, Settings(), group_by="agent")
    assert _seen(stored) == want and stored["groups"] == expected["groups"]
    assert _seen(compute_dashboard(store, Settings())) == want


# A team lead opens a case an agent is working (both are shown its suggestion); the agent inserts it
# and sends it.
LOOKED_IN_SUGGESTIONS = [_s("w1", "f1", 0, topic="payouts", text=PAUSE)]
LOOKED_IN_EVENTS = [
    _e("i1", "f1", "shown", "w1", agent_id="zoe"),
    _e("i2", "f1", "shown", "w1", agent_id="amy-lead", ts=T0 + timedelta(minutes=1)),
    _e("i3", "f1", "inserted", "w1", agent_id="zoe", ts=T0 + timedelta(minutes=2)),
    _e("i4", "f1", "sent", "w1", text=PAUSE, agent_id="zoe", ts=T0 + timedelta(minutes=3)),
]


def test_a_suggestion_belongs_to_the_agent_who_used_it_not_to_whoever_else_saw_it(store: Store) -> None:
    """The agent of a suggestion was the smallest id of those it was shown to: a team lead who only
    looked at the case ("amy-lead" < "zoe") got zoe's insert (adoption 100%), and zoe had a reply
    sent and nothing shown. The agent who inserted or dismissed it is its agent; otherwise, whom it
    was shown to."""
    expected = report(facts_from_rows(LOOKED_IN_SUGGESTIONS, LOOKED_IN_EVENTS), 0.7, "agent")
    agents = _by_agent(expected)
    assert list(agents) == ["zoe"]
    zoe = agents["zoe"]
    assert (zoe["shown"], zoe["inserted"], zoe["adoption"], zoe["sent_pairs"]) == (1, 1, 1.0, 1)
    store.cases.add_suggestions(LOOKED_IN_SUGGESTIONS)
    for e in LOOKED_IN_EVENTS:
        store.events.add(e)
    assert compute_report(store, Settings(), group_by="agent")["groups"] == expected["groups"]
    dashboard = compute_dashboard(store, Settings())["by_agent"]
    assert [(a["key"], a["inserted"]) for a in dashboard] == [("zoe", 1)]


def _last_plan(store: Store, call: Any) -> list[str]:
    """SQLite's plan of the last statement `call` runs."""
    statements: list[tuple[str, Any]] = []

    def grab(_c: Any, _cursor: Any, statement: str, parameters: Any, _ctx: Any, _many: bool) -> None:
        statements.append((statement, parameters))

    event.listen(store.db.engine, "before_cursor_execute", grab)
    try:
        call()
    finally:
        event.remove(store.db.engine, "before_cursor_execute", grab)
    statement, parameters = statements[-1]
    with store.db.engine.connect() as c:
        return [row[-1] for row in c.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_sent_replys_insert_is_looked_up_by_suggestion_and_kind_together(store: Store) -> None:
    """SQLite keeps no statistics here: with an index on each column it sometimes looked a
    suggestion's `inserted` events up by kind alone, once per sent reply, and a report over 20,000
    events took 7-10 s instead of 0.1 s (`bench/bench_metrics.py`), by chance."""
    plan = _last_plan(store, lambda: store.reporting.sent_pairs(None, None, 100))
    lookups = [step for step in plan if "events_1" in step]  # the EXISTS over the inserted events
    assert lookups and all("(suggestion_id=? AND kind=?)" in step for step in lookups), plan


# An agent often sends several messages after one suggestion: a holding message and then the answer,
# or the answer and then a follow-up. Each used to be a pair of its own, so a suggestion that was sent
# word for word counted as one match and one miss (match rate 0.5 where every suggestion was used).
HOLDING = "Thanks for waiting, let me check that for you."
FOLLOW_UP = "Is there anything else I can help you with today?"
REPLIES_SUGGESTIONS = [
    _s("r1", "d1", 0, topic="payouts", text=PAUSE),
    _s("r2", "d2", 1, topic="refunds", text=REFUND),
    _s("r3", "d3", 2, topic="refunds", text=REFUND),
    _in_shadow("r4", "d4", 3),
]
REPLIES_EVENTS = [
    _e("q1", "d1", "sent", "r1", text=HOLDING, agent_id="ana"),
    _e("q2", "d1", "sent", "r1", text=PAUSE, agent_id="ben", ts=T0 + timedelta(minutes=1)),
    _e("q3", "d2", "sent", None, text=REFUND, agent_id="ana"),  # the help desk's: no suggestion id
    _e("q4", "d2", "sent", None, text=FOLLOW_UP, agent_id="ana", ts=T0 + timedelta(minutes=1)),
    _e("q5", "d3", "sent", "r3", text="Your dispute was closed in your favour.", agent_id="ana"),
    _e("q6", "d3", "sent", "r3", text=FOLLOW_UP, agent_id="ana", ts=T0 + timedelta(minutes=1)),
    _e("q7", "d4", "sent", None, text=FOLLOW_UP, agent_id="ana"),
    _e("q8", "d4", "sent", None, text=PAUSE, agent_id="ana", ts=T0 + timedelta(minutes=1)),
]


def _check_replies(result: dict[str, Any]) -> None:
    # r1 and r2 were sent (after a holding message, before a follow-up); r3 was not: each counted once
    assert (result["matches"], result["sent_pairs"], result["match_rate"]) == (2, 3, 0.6667)
    assert result["sent_pairs_total"] == 8 and not result["match_sampled"]
    assert result["similarity"]["histogram"][-1] == 2 and sum(result["similarity"]["histogram"]) == 3
    assert result["match_rate_all_sent"] == 0.5  # r4 had no text: its replies are one miss
    assert result["shadow"] == [{"stage": "topic", "n": 1, "agreements": 1, "agreement": 1.0}]


def test_several_replies_to_one_suggestion_count_once_against_the_closest(store: Store) -> None:
    _check_replies(report(facts_from_rows(REPLIES_SUGGESTIONS, REPLIES_EVENTS), 0.7))
    by_agent = _by_agent(report(facts_from_rows(REPLIES_SUGGESTIONS, REPLIES_EVENTS), 0.7, "agent"))
    assert by_agent["ben"]["matches"] == 1 and by_agent["ana"]["sent_pairs"] == 2  # who sent the closest
    store.cases.add_suggestions(REPLIES_SUGGESTIONS)
    store.events.add_many(REPLIES_EVENTS)
    _check_replies(compute_report(store, Settings()))
    stored = _by_agent(compute_report(store, Settings(), group_by="agent"))
    assert stored == by_agent


def test_a_sample_holds_every_reply_of_the_suggestions_it_draws(store: Store) -> None:
    """Sampled replies one by one, a suggestion often kept only its holding message: a miss."""
    rows = [_s(f"y{i}", f"y{i}", i, topic="payouts", text=PAUSE) for i in range(300)]
    store.cases.add_suggestions(rows)
    events = []
    for i in range(300):
        events.append(_e(f"y{i}a", f"y{i}", "sent", f"y{i}", text=HOLDING))
        events.append(_e(f"y{i}b", f"y{i}", "sent", f"y{i}", text=PAUSE, ts=T0 + timedelta(minutes=1)))
    store.events.add_many(events)
    result = compute_report(store, Settings(), max_pairs=200)
    assert result["match_sampled"] and result["sent_pairs_total"] == 600
    assert 60 <= result["sent_pairs"] <= 140 and result["match_rate"] == 1.0


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_samples_replies_are_read_through_their_cases(store: Store) -> None:
    """The sample's second pass reads the drawn suggestions' cases whole; SQLite, which keeps no
    statistics here, read every `sent` event through the kind index once per chunk of cases (a
    report over 1M events took 13 s instead of 4: `bench/bench_metrics.py`)."""
    store.cases.add_suggestions([_s(f"z{i}", f"z{i}", i, topic="payouts", text=PAUSE) for i in range(30)])
    store.events.add_many([_e(f"z{i}", f"z{i}", "sent", f"z{i}", text=PAUSE) for i in range(30)])
    plan = _last_plan(store, lambda: store.reporting.sent_pairs(None, None, 10))
    assert store.reporting.sent_pairs(None, None, 10)[2]  # sampled
    reads = [step for step in plan if "events_2" in step]  # the sent events themselves
    assert reads and all("ix_events_case_id (case_id=?)" in step for step in reads), plan


# An agent who dismissed by mistake undoes it (an `undismissed` event): the dismissals made before it
# no longer count (the suggestion stays shown); a dismissal after it counts, under its own reason.
UNDONE_SUGGESTIONS = [
    _s("u1", "f1", 0, topic="payouts", text=PAUSE, answer_id="a1"),
    _s("u2", "f2", 1, topic="payouts", text=PAUSE, answer_id="a1"),
    _s("u3", "f3", 2, topic="refunds", text=REFUND, answer_id="a2"),
]
UNDONE_EVENTS = [
    _e("u1-shown", "f1", "shown", "u1", agent_id="ana"),
    _e("u1-dis", "f1", "dismissed", "u1", reason="wrong_topic", agent_id="ana", ts=T0 + timedelta(seconds=5)),
    _e("u1-undo", "f1", "undismissed", "u1", agent_id="ana", ts=T0 + timedelta(seconds=8)),
    _e("u2-shown", "f2", "shown", "u2", agent_id="ana"),
    _e("u2-dis", "f2", "dismissed", "u2", reason="tone", agent_id="ana", ts=T0 + timedelta(seconds=5)),
    _e("u2-undo", "f2", "undismissed", "u2", agent_id="ana", ts=T0 + timedelta(seconds=8)),
    _e("u2-again", "f2", "dismissed", "u2", reason="outdated", agent_id="ana", ts=T0 + timedelta(seconds=9)),
    _e("u3-shown", "f3", "shown", "u3", agent_id="ben"),
    _e("u3-dis", "f3", "dismissed", "u3", reason="not_needed", agent_id="ben", ts=T0 + timedelta(seconds=5)),
    _e("u3-undo", "f3", "undismissed", "u3", agent_id="ben", ts=T0 + timedelta(seconds=8)),
    _e("u3-ins", "f3", "inserted", "u3", agent_id="ben", ts=T0 + timedelta(seconds=9)),
]


def test_an_undone_dismissal_is_not_counted(store: Store) -> None:
    """Shown 3, inserted 1, dismissed 1 (u2, dismissed again after its undo, as outdated): u1's and u3's
    dismissals were undone, and u2's first reason (tone) with them; the same in the store's figures,
    per agent, on the dashboard and in the library's figures of each answer."""
    from supportcue.monitoring.library import answer_figures

    want = (3, 1, 0.3333, 1, 0.3333, {"outdated": 1})
    expected = report(facts_from_rows(UNDONE_SUGGESTIONS, UNDONE_EVENTS), 0.7, "agent")
    assert _seen(expected) == want
    assert _by_agent(expected)["ben"]["dismissed"] == 0
    store.cases.add_suggestions(UNDONE_SUGGESTIONS)
    for e in UNDONE_EVENTS:
        store.events.add(e)
    stored = compute_report(store, Settings(), group_by="agent")
    assert _seen(stored) == want and stored["groups"] == expected["groups"]
    assert _seen(compute_dashboard(store, Settings())) == want
    figures = answer_figures(store, 0.7, now=T0 + timedelta(days=1))
    assert (figures["a1"].shown, figures["a1"].dismissed, dict(figures["a1"].dismiss_reasons)) == (
        2,
        1,
        {"outdated": 1},
    )
    assert (figures["a2"].inserted, figures["a2"].dismissed) == (1, 0)


# A conversation: two customer turns, a suggestion for each, and the help desk's replies without a
# suggestion id. Each reply answers the suggestion made before it, not the case's newest one.
TURNS_SUGGESTIONS = [
    _s("t1", "t", 0, topic="payouts", text=PAUSE),
    _s("t2", "t", 60, topic="refunds", text=REFUND),
    _s("u1", "u", 0, topic="payouts", text="Your dispute was closed in your favour."),
    _s("u2", "u", 60, topic="payouts", text=PAUSE),
]
TURNS_EVENTS = [
    _e(
        "t1r",
        "t",
        "sent",
        None,
        text="Let me look into your account and get back to you.",
        ts=T0 - timedelta(minutes=55),
    ),
    _e("t2r", "t", "sent", None, text=REFUND, ts=T0 + timedelta(minutes=5)),
    # u2's text was sent before u2 existed (an answer to u1): it is no match of u2's
    _e("u1r", "u", "sent", None, text=PAUSE, ts=T0 - timedelta(minutes=55)),
    _e(
        "u2r",
        "u",
        "sent",
        None,
        text="Is there anything else I can help with today?",
        ts=T0 + timedelta(minutes=5),
    ),
]


def _check_turns(result: dict[str, Any]) -> None:
    assert (result["matches"], result["sent_pairs"], result["match_rate"]) == (1, 4, 0.25)
    assert result["sent_pairs_total"] == 4


def test_a_reply_without_suggestion_id_answers_the_suggestion_made_before_it(store: Store) -> None:
    """As `experiment analyze --metric match_rate` pairs them: the case's latest suggestion made by
    the reply's time. Pairing every reply with the case's newest suggestion scored 1 of 2 (t1 and u1
    never scored, u2 credited with a reply sent an hour before it was made)."""
    _check_turns(report(facts_from_rows(TURNS_SUGGESTIONS, TURNS_EVENTS), 0.7))
    store.cases.add_suggestions(TURNS_SUGGESTIONS)
    store.events.add_many(TURNS_EVENTS)
    _check_turns(compute_report(store, Settings()))


def test_the_dashboards_tables_count_a_suggestions_replies_once_as_report_does(store: Store) -> None:
    """The dashboard's day series and its topic, model and agent tables scored every reply to a
    suggestion (a holding message, the answer, a follow-up) as a pair of its own: 2 matches of 6
    (33%) on the day the headline, and `report --group-by day`, said 2 of 3 (67%)."""
    store.cases.add_suggestions(REPLIES_SUGGESTIONS)
    store.events.add_many(REPLIES_EVENTS)
    dashboard = compute_dashboard(store, Settings())
    _check_replies(dashboard)
    for group_by in ("day", "topic", "model", "agent"):
        grouped = compute_report(store, Settings(), group_by=group_by)["groups"]
        latency = ("latency_p50_ms", "latency_p99_ms")  # not asked for by the dashboard (no request here)
        assert dashboard[f"by_{group_by}"] == [{**g, **dict.fromkeys(latency)} for g in grouped]
    (day,) = dashboard["by_day"]
    assert (day["matches"], day["sent_pairs"], day["match_rate"]) == (2, 3, 0.6667)


def test_two_workspaces_read_in_one_process_each_get_their_own_match_rate(
    store: Store, tmp_path: Path
) -> None:
    """Similarities were cached per (sent event id, suggestion id) for the whole process: a second
    workspace with the same ids (each database numbers its events from 1; the ids of a test's, or a
    copy's, suggestions repeat) got the first one's match rate, in a notebook comparing two
    workspaces as in the test suite."""
    from supportcue.data.store import open_store

    other = open_store(f"sqlite:///{tmp_path / 'other.db'}")
    try:
        for db, reply in ((store, PAUSE), (other, "Let me look into your account and get back to you.")):
            db.cases.add_suggestions([_s("w1", "w1", 0, topic="payouts", text=PAUSE)])
            db.events.add(_e("w1", "w1", "sent", "w1", text=reply))
        assert compute_report(store, Settings())["match_rate"] == 1.0
        assert compute_report(other, Settings())["match_rate"] == 0.0
    finally:
        other.close()


# The pipeline stops at the stage it was about to run when its time is up ("timeout: over 2000 ms
# before validation": a slow embedding), and at a stage that failed ("error in topic stage: ...").
# Neither judged the message: such a suggestion is a valid one that showed nothing.
FAILED_SUGGESTIONS = [
    _s("v1", "v1", 0, topic="payouts", text=PAUSE),
    _s("v2", "v2", 1, abstained_at="validation", reason="rule not_a_question: no question asked"),
    _s("v3", "v3", 2, abstained_at="validation", reason="timeout: over 2000 ms before validation"),
    _s("v4", "v4", 3, abstained_at="validation", reason="error in validation stage: ValueError: x"),
    _s("v5", "v5", 4, topic="payouts", abstained_at="topic", reason="timeout: over 2000 ms before topic"),
    _s("v6", "v6", 5, topic="payouts", abstained_at="topic", reason="topic: confidence 0.41 < 0.6"),
]


def test_a_stage_that_timed_out_or_failed_judged_no_message_invalid_nor_unsure(store: Store) -> None:
    """A timeout or an error at the validation stage counted as "stopped by validation", out of
    coverage's denominator: 1 suggested of 3 valid (33%) where 1 of 5 (20%) showed something, so
    coverage rose while the service was too slow to suggest; on the coverage-lost panel they were
    "stopped by validation", and a topic stage's timeout "low confidence"."""
    from supportcue.monitoring.freshness import coverage_lost

    want = (6, 5, 1, 0.2)
    figures = report(facts_from_rows(FAILED_SUGGESTIONS, []))
    assert (figures["suggestions"], figures["valid"], figures["suggested"], figures["coverage"]) == want
    store.cases.add_suggestions(FAILED_SUGGESTIONS)
    stored = compute_report(store, Settings())
    assert (stored["suggestions"], stored["valid"], stored["suggested"], stored["coverage"]) == want
    lost = {t["topic"]: t["reasons"] for t in coverage_lost(store, Settings())}
    assert lost == {"(no topic)": {"validation": 1, "other": 2}, "payouts": {"low_confidence": 1, "other": 1}}
