"""The rows the online metrics are computed from, built from plain rows or aggregated in the store.

A `Facts` holds additive counts per group key (day, topic, stage, model, arm), dismissals per
reason, latencies, and `Pair`s: a suggestion and the reply sent on its case (the only rows whose
text is compared, so the similarity cost grows with sent replies, not with events).

`facts_from_rows` is the definition, in plain Python over hand-built suggestions and events;
`query_facts` computes the same with SQL aggregates (counts by key in the database), and pairs at
most `max_pairs` sent replies (a deterministic, evenly spread sample when there are more).

A suggestion is paired with a `sent` event through the event's `suggestion_id`, or else with the
newest suggestion of the event's case (the help desk's own `sent` events carry no suggestion id).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import case, exists, func, select
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from supportcue.data.store import Store
from supportcue.data.tables import Case, Event, Suggestion

GROUPS = ("day", "topic", "stage", "model", "arm")
NONE_KEY = "(none)"
SUGGESTED = "suggested"
"""The `stage` key of a suggestion that no stage stopped."""
_SAMPLE_PRIME = 10007


@dataclass(frozen=True)
class Keys:
    """Where a suggestion belongs: its UTC day, topic, the stage that stopped it, model, arm."""

    day: str
    topic: str = NONE_KEY
    stage: str = SUGGESTED
    model: str = NONE_KEY
    arm: str = NONE_KEY

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
    """A suggestion and the reply the agent sent on its case."""

    keys: Keys
    suggested: str | None
    sent: str
    customer_name: str | None = None
    inserted: bool = False
    shadow_text: str | None = None
    shadow_stages: tuple[str, ...] = ()
    cache_key: tuple[int, str] | None = None
    """(event id, suggestion id): similarities are cached under it."""


@dataclass
class Facts:
    counts: list[tuple[Keys, Counts]] = field(default_factory=list)
    dismissals: list[tuple[Keys, str, int]] = field(default_factory=list)
    latencies: list[tuple[Keys, float]] = field(default_factory=list)
    pairs: list[Pair] = field(default_factory=list)
    pairs_total: int = 0
    """Sent replies paired with a suggestion before sampling (== len(pairs) when not sampled)."""


def _day(ts: datetime) -> str:
    if ts.tzinfo is not None:
        ts = ts.astimezone(UTC)
    return ts.date().isoformat()


def keys_of(s: Mapping[str, Any]) -> Keys:
    """The group keys of one suggestion row (a dict with the `suggestions` table's columns)."""
    return Keys(
        day=_day(s["created_at"]),
        topic=s.get("topic") or NONE_KEY,
        stage=s.get("abstained_at") or SUGGESTED,
        model=s.get("pipeline_version") or NONE_KEY,
        arm=s.get("arm") or NONE_KEY,
    )


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
    by_id = {s["id"]: s for s in suggestions}
    flags: dict[str, set[str]] = {}
    facts = Facts()
    for e in events:
        if e.get("suggestion_id") in by_id and e["kind"] in ("shown", "inserted", "dismissed"):
            flags.setdefault(e["suggestion_id"], set()).add(e["kind"])
            if e["kind"] == "dismissed":
                facts.dismissals.append((keys_of(by_id[e["suggestion_id"]]), e.get("reason") or "other", 1))
    for s in suggestions:
        seen = flags.get(s["id"], set())
        counts = Counts(
            suggestions=1,
            valid=int(s.get("abstained_at") != "validation"),
            suggested=int(s.get("text") is not None),
            shown=int("shown" in seen),
            inserted=int("inserted" in seen),
            dismissed=int("dismissed" in seen),
            simulated=int(bool(s.get("simulated"))),
        )
        facts.counts.append((keys_of(s), counts))
        facts.latencies.append((keys_of(s), float(s.get("latency_ms") or 0.0)))
    newest: dict[str, Mapping[str, Any]] = {}
    for s in sorted(suggestions, key=lambda s: (s["created_at"], s["id"])):
        if s.get("case_id"):
            newest[s["case_id"]] = s
    for e in events:
        if e["kind"] != "sent" or not e.get("text"):
            continue
        s = by_id.get(e.get("suggestion_id") or "") or newest.get(e["case_id"])
        if s is None:
            continue
        shadow_text, shadow_stages = _shadow(s)
        facts.pairs.append(
            Pair(
                keys=keys_of(s),
                suggested=s.get("text"),
                sent=e["text"],
                customer_name=names.get(e["case_id"]),
                inserted="inserted" in flags.get(s["id"], set()),
                shadow_text=shadow_text,
                shadow_stages=shadow_stages,
            )
        )
    facts.pairs_total = len(facts.pairs)
    return facts


# -- the same, aggregated in the store ------------------------------------------------------------


def _key_columns() -> list[ColumnElement[Any]]:
    return [
        func.date(Suggestion.created_at).label("day"),
        Suggestion.topic,
        Suggestion.abstained_at,
        Suggestion.pipeline_version,
        Suggestion.arm,
    ]


def _keys(day: Any, topic: Any, stage: Any, model: Any, arm: Any) -> Keys:
    return Keys(str(day)[:10], topic or NONE_KEY, stage or SUGGESTED, model or NONE_KEY, arm or NONE_KEY)


def _in_range(since: datetime | None, until: datetime | None) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if since is not None:
        where.append(Suggestion.created_at >= since)
    if until is not None:
        where.append(Suggestion.created_at < until)
    return where


def _flag(kind: str) -> ColumnElement[int]:
    return func.max(case((Event.kind == kind, 1), else_=0)).label(kind)


def query_facts(
    store: Store, since: datetime | None = None, until: datetime | None = None, max_pairs: int = 20_000
) -> Facts:
    """`facts_from_rows` computed in the database: counts by key in SQL, at most `max_pairs` pairs."""
    facts = Facts()
    where = _in_range(since, until)
    keys = _key_columns()
    per_suggestion = (
        select(Event.suggestion_id, _flag("shown"), _flag("inserted"), _flag("dismissed"))
        .where(Event.suggestion_id.is_not(None), Event.kind.in_(("shown", "inserted", "dismissed")))
        .group_by(Event.suggestion_id)
        .subquery()
    )
    counts = (
        select(
            *keys,
            func.count(),
            func.sum(case((func.coalesce(Suggestion.abstained_at, "") != "validation", 1), else_=0)),
            func.sum(case((Suggestion.text.is_not(None), 1), else_=0)),
            func.sum(func.coalesce(per_suggestion.c.shown, 0)),
            func.sum(func.coalesce(per_suggestion.c.inserted, 0)),
            func.sum(func.coalesce(per_suggestion.c.dismissed, 0)),
            func.sum(case((Suggestion.simulated, 1), else_=0)),
        )
        .select_from(Suggestion)
        .outerjoin(per_suggestion, per_suggestion.c.suggestion_id == Suggestion.id)
        .where(*where)
        .group_by(*keys)
    )
    dismissals = (
        select(*keys, Event.reason, func.count())
        .select_from(Event)
        .join(Suggestion, Suggestion.id == Event.suggestion_id)
        .where(Event.kind == "dismissed", *where)
        .group_by(*keys, Event.reason)
    )
    latencies = select(*keys, Suggestion.latency_ms).where(*where)
    with store.session() as s:
        for *k, n, valid, suggested, shown, inserted, dismissed, simulated in s.execute(counts):
            c = Counts(n, valid or 0, suggested or 0, shown or 0, inserted or 0, dismissed or 0, simulated or 0)
            facts.counts.append((_keys(*k), c))
        for *k, reason, n in s.execute(dismissals):
            facts.dismissals.append((_keys(*k), reason or "other", int(n)))
        facts.latencies = [(_keys(*k), float(ms or 0.0)) for *k, ms in s.execute(latencies)]
        facts.pairs, facts.pairs_total = _query_pairs(s, where, since, until, max_pairs)
    return facts


def _query_pairs(
    s: Any,
    where: list[ColumnElement[bool]],
    since: datetime | None,
    until: datetime | None,
    max_pairs: int,
) -> tuple[list[Pair], int]:
    sent = aliased(Event)
    inserted = aliased(Event)
    newer = aliased(Suggestion)
    count = select(func.count()).select_from(sent).where(sent.kind == "sent")
    # The range is on the suggestion's time; a sent reply follows its suggestion within days.
    if since is not None:
        count = count.where(sent.ts >= since)
    if until is not None:
        count = count.where(sent.ts < until)
    total = int(s.scalar(count) or 0)
    latest = (
        select(newer.id)
        .where(newer.case_id == sent.case_id)
        .order_by(newer.created_at.desc(), newer.id.desc())
        .limit(1)
        .correlate(sent)
        .scalar_subquery()
    )
    chosen = select(
        sent.id.label("event_id"),
        sent.case_id,
        sent.text,
        func.coalesce(sent.suggestion_id, latest).label("suggestion_id"),
    ).where(sent.kind == "sent", sent.text.is_not(None))
    sampled = max_pairs > 0 and total > max_pairs
    if sampled:
        # (id * a) mod p spreads any run of ids evenly, even periodic ones, and is deterministic.
        keep = math.ceil(_SAMPLE_PRIME * max_pairs / total)
        chosen = chosen.where((sent.id * 7919) % _SAMPLE_PRIME < keep)
    sub = chosen.subquery()
    did_insert = (
        exists()
        .where(inserted.suggestion_id == Suggestion.id, inserted.kind == "inserted")
        .correlate(Suggestion)
    )
    rows = s.execute(
        select(
            *_key_columns(),
            sub.c.event_id,
            Suggestion.id,
            Suggestion.text,
            sub.c.text,
            Case.customer_name,
            did_insert.label("did_insert"),
            Suggestion.shadow,
        )
        .select_from(sub)
        .join(Suggestion, Suggestion.id == sub.c.suggestion_id)
        .outerjoin(Case, Case.id == sub.c.case_id)
        .where(*where)
    )
    pairs = []
    for day, topic, stage, model, arm, event_id, sid, text, sent_text, name, did, shadow in rows:
        shadow = shadow or {}
        pairs.append(
            Pair(
                keys=_keys(day, topic, stage, model, arm),
                suggested=text,
                sent=sent_text,
                customer_name=name,
                inserted=bool(did),
                shadow_text=shadow.get("text"),
                shadow_stages=tuple(shadow.get("stages") or ()),
                cache_key=(int(event_id), str(sid)),
            )
        )
    return pairs, (total if sampled else len(pairs))
