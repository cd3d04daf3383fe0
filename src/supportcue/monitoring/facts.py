"""The rows the online metrics are computed from, built from plain rows or aggregated in the store.

A `Facts` holds additive counts per group key (day, topic, stage, model, arm, agent), dismissals per
reason, latencies, and `Pair`s: a suggestion and the reply sent on its case (the only rows whose
text is compared, so the similarity cost grows with sent replies, not with events).

`facts_from_rows` is the definition, in plain Python over hand-built suggestions and events;
`query_facts` computes the same from the store's aggregates (`data/reporting.py`: counts by key in
the database), and pairs at most `max_pairs` sent replies (a deterministic, evenly spread sample
when there are more).

A suggestion is paired with a `sent` event through the event's `suggestion_id`, or else with the
newest suggestion of the event's case made by the event's time (the help desk's own `sent` events
carry no suggestion id; in a conversation, a reply answers the suggestion of the turn before it, not
one made later; a reply sent before any suggestion is paired with none), as `experiment analyze`
pairs them.
An agent often sends several messages after one suggestion ("let me check", the answer, "anything
else?"): each is a `Pair`, and the metrics score the suggestion once, against the one most similar
to it (`metrics.best_per_suggestion`).

A suggestion counts as **shown** when it has a text and an action event (`shown`, `inserted` or
`dismissed`: an agent who inserted or dismissed it saw it, even if its `shown` event was lost); a
suggestion without a text showed the agent nothing, whatever events name it. Each dismissed
suggestion counts once, under its dismissal's reason (a dismissal re-delivered, or repeated by
another agent, is not a second one; of different reasons, the smallest, which the database finds in
the same pass as the flags), so the reasons add up to `dismissed`. A dismissal the agent undid (an
`undismissed` event of the suggestion at or after it: the console's Undo) is no dismissal, though
its suggestion was shown; a dismissal after the undo counts again, under its own reason.

The **agent** of a suggestion is the one who used it: the `agent_id` of its `inserted` or
`dismissed` event (the smallest, if several), else of its `shown` event (the smallest, if several:
a team lead who only looked at the case must not take the insert of the agent working it); its
dismissal counts for that agent too. The agent of a pair is the one who sent the reply (of several,
the closest one). So per agent, adoption is what they did with the suggestions shown to them, and
the match rate how often their replies matched the suggestion. `query_facts` reads agents only when
asked (`agents=True`): they make the counts finer, which the other groupings do not need.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from supportcue.data.reporting import Reporting, is_valid, latest_before
from supportcue.vocab import SUGGESTION_ACTIONS, EventKind, SuggestionOrigin

GROUPS = ("day", "topic", "stage", "model", "arm", "agent")

NONE_KEY = "(none)"
SUGGESTED = "suggested"
"""The `stage` key of a suggestion that no stage stopped."""


@dataclass(frozen=True)
class Keys:
    """Where a suggestion belongs: its UTC day, topic, the stage that stopped it, model, arm, agent."""

    day: str
    topic: str = NONE_KEY
    stage: str = SUGGESTED
    model: str = NONE_KEY
    arm: str = NONE_KEY
    agent: str = NONE_KEY

    def get(self, group_by: str) -> str:
        value: str = getattr(self, group_by)
        return value


@dataclass
class Counts:
    """Additive counts of suggestions (so groups roll up by summing)."""

    suggestions: int = 0
    valid: int = 0
    suggested: int = 0
    shown: int = 0
    inserted: int = 0
    dismissed: int = 0
    simulated: int = 0

    def add(self, other: Counts) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


@dataclass(frozen=True)
class Pair:
    """A suggestion and a reply the agent sent on its case (one of several, when the agent sent
    more than one message after it: `metrics.best_per_suggestion` scores the suggestion once)."""

    keys: Keys
    suggested: str | None
    sent: str
    suggestion_id: str | None = None
    customer_name: str | None = None
    case_id: str | None = None
    inserted: bool = False
    shadow_text: str | None = None
    shadow_stages: tuple[str, ...] = ()
    cache_key: tuple[int, str] | None = None
    """(event id, suggestion id): similarities are cached under it, with a digest of the texts."""
    stored: tuple[float | None, float | None] | None = None
    """(similarity, shadow similarity) measured before `supportcue purge` removed the texts."""


LatencyHistogram = dict[str, dict[str, Counter[float]]]
"""Grouping ("all" or a `GROUPS` name) -> group value -> latency bucket (ms) -> suggestions."""


@dataclass
class Facts:
    counts: list[tuple[Keys, Counts]] = field(default_factory=list)
    dismissals: list[tuple[Keys, str, int]] = field(default_factory=list)
    latencies: LatencyHistogram = field(default_factory=dict)
    pairs: list[Pair] = field(default_factory=list)
    pairs_total: int = 0
    """Sent replies paired with a suggestion before sampling (== len(pairs) when not sampled)."""


def latency_bucket(ms: float) -> float:
    """`ms` rounded down to two significant digits: percentiles come from these buckets, so the
    database returns hundreds of rows instead of one per suggestion (error under 10%)."""
    if ms < 10:
        return math.floor(ms * 10) / 10
    if ms < 100:
        return float(math.floor(ms))
    if ms < 1000:
        return math.floor(ms / 10) * 10.0
    return math.floor(ms / 100) * 100.0


def _day(ts: datetime) -> str:
    if ts.tzinfo is not None:
        ts = ts.astimezone(UTC)
    return ts.date().isoformat()


def keys_of(s: Mapping[str, Any], agent: str | None = None) -> Keys:
    """The group keys of one suggestion row (a dict with the `suggestions` table's columns)."""
    return Keys(
        day=_day(s["created_at"]),
        topic=s.get("topic") or NONE_KEY,
        stage=s.get("abstained_at") or SUGGESTED,
        model=s.get("pipeline_version") or NONE_KEY,
        arm=s.get("arm") or NONE_KEY,
        agent=agent or NONE_KEY,
    )


def _agents(events: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Each suggestion's agent: of its other actions (inserted, dismissed), else of its `shown`
    events (the smallest id)."""
    shown: dict[str, set[str]] = {}
    acted: dict[str, set[str]] = {}
    for e in events:
        sid, agent = e.get("suggestion_id"), e.get("agent_id")
        if sid and agent and e["kind"] in SUGGESTION_ACTIONS:
            (shown if e["kind"] == EventKind.SHOWN else acted).setdefault(sid, set()).add(agent)
    return {sid: min(acted.get(sid) or shown[sid]) for sid in shown.keys() | acted.keys()}


def _undone(events: Sequence[Mapping[str, Any]]) -> dict[str, datetime | None]:
    """Per suggestion, its newest `undismissed` event's time (None: one without a time undoes all)."""
    out: dict[str, datetime | None] = {}
    for e in events:
        sid = e.get("suggestion_id")
        if sid and e["kind"] == EventKind.UNDISMISSED:
            ts, before = e.get("ts"), out.get(str(sid), e.get("ts"))
            out[str(sid)] = None if ts is None or before is None else max(ts, before)
    return out


def _undone_later(sid: str, ts: datetime | None, undone: Mapping[str, datetime | None]) -> bool:
    """Whether suggestion `sid`'s dismissal at `ts` was undone: an `undismissed` event at or after it."""
    if sid not in undone:
        return False
    at = undone[sid]
    return at is None or ts is None or ts <= at


def _shadow(s: Mapping[str, Any]) -> tuple[str | None, tuple[str, ...]]:
    shadow = s.get("shadow") or {}
    return shadow.get("text"), tuple(shadow.get("stages") or ())


def facts_from_rows(
    suggestions: Sequence[Mapping[str, Any]],
    events: Sequence[Mapping[str, Any]],
    customer_names: Mapping[str, str] | None = None,
) -> Facts:
    """The metrics' facts from plain rows (dicts with the tables' columns): the reference definition."""
    names = customer_names or {}
    suggestions = [s for s in suggestions if s.get("origin") != SuggestionOrigin.BATCH]  # never shown
    by_id = {s["id"]: s for s in suggestions}
    agents = _agents(events)
    flags: dict[str, set[str]] = {}
    reasons: dict[str, set[str | None]] = {}
    facts = Facts()
    undone = _undone(events)
    for e in events:
        sid = str(e.get("suggestion_id"))
        if sid in by_id and e["kind"] in SUGGESTION_ACTIONS:
            # an undone dismissal still says the suggestion was shown, but is no dismissal
            cancelled = e["kind"] == EventKind.DISMISSED and _undone_later(sid, e.get("ts"), undone)
            flags.setdefault(sid, set()).add(EventKind.SHOWN if cancelled else e["kind"])
            if e["kind"] == EventKind.DISMISSED and not cancelled:
                reasons.setdefault(sid, set()).add(e.get("reason"))
    for s in suggestions:
        # only a suggestion with a text showed the agent anything; acting on it means it was shown
        seen = flags.get(s["id"], set()) if s.get("text") is not None else set()
        counts = Counts(
            suggestions=1,
            valid=int(is_valid(s.get("abstained_at"), s.get("reason"))),
            suggested=int(s.get("text") is not None),
            shown=int(bool(seen)),
            inserted=int(EventKind.INSERTED in seen),
            dismissed=int(EventKind.DISMISSED in seen),
            simulated=int(bool(s.get("simulated"))),
        )
        keys = keys_of(s, agents.get(s["id"]))
        facts.counts.append((keys, counts))
        if counts.dismissed:
            given = sorted(r for r in reasons[s["id"]] if r)
            facts.dismissals.append((keys, given[0] if given else "other", 1))
        if s.get("simulated") or s.get("origin", SuggestionOrigin.SERVICE) != SuggestionOrigin.SERVICE:
            continue  # the latency is the live requests': not simulated history, not the CLI's
        bucket = round(latency_bucket(float(s.get("latency_ms") or 0.0)), 1)
        for group in ("all", *GROUPS):
            value = "all" if group == "all" else keys.get(group)
            facts.latencies.setdefault(group, {}).setdefault(value, Counter())[bucket] += 1
    of_case: dict[str, list[Mapping[str, Any]]] = {}
    for s in sorted(suggestions, key=lambda s: (s["created_at"], s["id"])):
        if s.get("case_id"):
            of_case.setdefault(s["case_id"], []).append(s)
    for e in events:
        if e["kind"] != EventKind.SENT or not e.get("text"):
            continue
        paired = by_id.get(e.get("suggestion_id") or "") or latest_before(
            of_case.get(e["case_id"], []), e["ts"]
        )
        if paired is None:
            continue
        s = paired
        shadow_text, shadow_stages = _shadow(s)
        facts.pairs.append(
            Pair(
                keys=keys_of(s, e.get("agent_id")),
                suggestion_id=s["id"],
                suggested=s.get("text"),
                sent=e["text"],
                customer_name=names.get(e["case_id"]),
                case_id=e["case_id"],
                inserted=EventKind.INSERTED in flags.get(s["id"], set()),
                shadow_text=shadow_text,
                shadow_stages=shadow_stages,
                stored=(e.get("similarity"), e.get("shadow_similarity")) if e.get("purged_at") else None,
            )
        )
    facts.pairs_total = len(facts.pairs)
    return facts


# -- the same, aggregated in the store ------------------------------------------------------------


@lru_cache(maxsize=65_536)
def _keys(day: Any, topic: Any, stage: Any, model: Any, arm: Any, agent: Any) -> Keys:
    """Shared `Keys` per distinct row (there are few: building one per row costs more than the SQL)."""
    return Keys(
        str(day)[:10],
        topic or NONE_KEY,
        stage or SUGGESTED,
        model or NONE_KEY,
        arm or NONE_KEY,
        agent or NONE_KEY,
    )


def _group_value(group: str, value: Any) -> str:
    if group == "all":
        return "all"
    if group == "day":
        return str(value)[:10]
    return str(value) if value else (SUGGESTED if group == "stage" else NONE_KEY)


def query_facts(
    reporting: Reporting,
    since: datetime | None = None,
    until: datetime | None = None,
    max_pairs: int = 20_000,
    latency_groups: Sequence[str] = (),
    agents: bool = False,
) -> Facts:
    """`facts_from_rows` computed in the database: counts by key in SQL, at most `max_pairs` pairs,
    latency histograms overall and for `latency_groups`; with `agents`, the agent keys too (else
    every key's agent is `NONE_KEY`)."""
    agents = agents or "agent" in latency_groups
    facts = Facts()
    # The queries are independent; the database runs them in parallel (each on its own connection).
    latency_groups = ("all", *latency_groups)
    with ThreadPoolExecutor(max_workers=4) as pool:
        count_rows = pool.submit(reporting.suggestion_counts, since, until, agents)
        dismissal_rows = pool.submit(reporting.dismissals, since, until, agents)
        latency_rows = [pool.submit(reporting.latencies, g, since, until) for g in latency_groups]
        paired = pool.submit(reporting.sent_pairs, since, until, max_pairs, agents)
        for *k, n, valid, suggested, shown, inserted, dismissed, simulated in count_rows.result():
            c = Counts(
                n, valid or 0, suggested or 0, shown or 0, inserted or 0, dismissed or 0, simulated or 0
            )
            facts.counts.append((_keys(*k), c))
        for *k, reason, n in dismissal_rows.result():
            facts.dismissals.append((_keys(*k), reason or "other", int(n)))
        for group, future in zip(latency_groups, latency_rows, strict=True):
            hist = facts.latencies.setdefault(group, {})
            for row in future.result():
                value, bucket, n = ("all", *row) if group == "all" else row
                hist.setdefault(_group_value(group, value), Counter())[round(float(bucket), 1)] += int(n)
        rows, total, sampled = paired.result()
    for day, topic, stage, model, arm, agent, event_id, sid, text, sent, name, did, shadow, *kept in rows:
        shadow = shadow or {}
        purged_at, sim, shadow_sim, case_id = kept
        facts.pairs.append(
            Pair(
                keys=_keys(day, topic, stage, model, arm, agent),
                suggested=text,
                sent=sent,
                customer_name=name,
                case_id=None if case_id is None else str(case_id),
                inserted=bool(did),
                shadow_text=shadow.get("text"),
                shadow_stages=tuple(shadow.get("stages") or ()),
                suggestion_id=str(sid),
                cache_key=(int(event_id), str(sid)),
                stored=(sim, shadow_sim) if purged_at is not None else None,
            )
        )
    facts.pairs_total = total if sampled else len(facts.pairs)
    return facts
