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
from collections import Counter
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import Integer, case, cast, exists, func, literal, select
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from supportcue.data.store import Store
from supportcue.data.tables import Case, Event, Suggestion

GROUPS = ("day", "topic", "stage", "model", "arm")
NONE_KEY = "(none)"
SUGGESTED = "suggested"
"""The `stage` key of a suggestion that no stage stopped."""
_SAMPLE_PRIME = 10007
EVENT_SLACK = timedelta(days=1)


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
        keys = keys_of(s)
        facts.counts.append((keys, counts))
        bucket = round(latency_bucket(float(s.get("latency_ms") or 0.0)), 1)
        for group in ("all", *GROUPS):
            value = "all" if group == "all" else keys.get(group)
            facts.latencies.setdefault(group, {}).setdefault(value, Counter())[bucket] += 1
    newest: dict[str, Mapping[str, Any]] = {}
    for s in sorted(suggestions, key=lambda s: (s["created_at"], s["id"])):
        if s.get("case_id"):
            newest[s["case_id"]] = s
    for e in events:
        if e["kind"] != "sent" or not e.get("text"):
            continue
        paired = by_id.get(e.get("suggestion_id") or "") or newest.get(e["case_id"])
        if paired is None:
            continue
        s = paired
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


def _key_columns() -> list[Any]:
    return [
        func.date(Suggestion.created_at).label("day"),
        Suggestion.topic,
        Suggestion.abstained_at,
        Suggestion.pipeline_version,
        Suggestion.arm,
    ]


@lru_cache(maxsize=65_536)
def _keys(day: Any, topic: Any, stage: Any, model: Any, arm: Any) -> Keys:
    """Shared `Keys` per distinct row (there are few: building one per row costs more than the SQL)."""
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


def _bucket_sql(dialect: str) -> ColumnElement[float]:
    """`latency_bucket` in SQL (CAST truncates on SQLite; PostgreSQL's rounds, so FLOOR there)."""
    ms = Suggestion.latency_ms

    def floor(x: Any) -> Any:
        return func.floor(x) if dialect == "postgresql" else cast(x, Integer)

    return case(
        (ms < 10, floor(ms * 10) / 10.0),
        (ms < 100, floor(ms) * 1.0),
        (ms < 1000, floor(ms / 10) * 10.0),
        else_=floor(ms / 100) * 100.0,
    )


def _group_value(group: str, value: Any) -> str:
    if group == "all":
        return "all"
    if group == "day":
        return str(value)[:10]
    return str(value) if value else (SUGGESTED if group == "stage" else NONE_KEY)


def _latency_query(dialect: str, group: str, where: list[ColumnElement[bool]]) -> Any:
    column: Any = {
        "all": literal("all"),
        "day": func.date(Suggestion.created_at),
        "topic": Suggestion.topic,
        "stage": Suggestion.abstained_at,
        "model": Suggestion.pipeline_version,
        "arm": Suggestion.arm,
    }[group]
    bucket = _bucket_sql(dialect)
    if group == "all":
        return select(bucket, func.count()).where(*where).group_by(bucket)
    return select(column, bucket, func.count()).where(*where).group_by(column, bucket)


def query_facts(
    store: Store,
    since: datetime | None = None,
    until: datetime | None = None,
    max_pairs: int = 20_000,
    latency_groups: Sequence[str] = (),
) -> Facts:
    """`facts_from_rows` computed in the database: counts by key in SQL, at most `max_pairs` pairs,
    latency histograms overall and for `latency_groups`."""
    facts = Facts()
    where = _in_range(since, until)
    keys = _key_columns()
    per_suggestion = (
        select(Event.suggestion_id, _flag("shown"), _flag("inserted"), _flag("dismissed"))
        .where(
            Event.suggestion_id.is_not(None),
            Event.kind.in_(("shown", "inserted", "dismissed")),
            # what agents do with a suggestion comes after it (a day's slack for clock skew):
            # this prunes the scan to the range
            *([Event.ts >= since - EVENT_SLACK] if since is not None else []),
        )
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

    def fetch(stmt: Any) -> list[Any]:
        with store.session() as s:
            return list(s.execute(stmt))

    def pairs() -> tuple[list[Pair], int]:
        with store.session() as s:
            return _query_pairs(s, where, since, until, max_pairs)

    # The queries are independent; the database runs them in parallel (each on its own connection).
    latency_groups = ("all", *latency_groups)
    with ThreadPoolExecutor(max_workers=4) as pool:
        count_rows = pool.submit(fetch, counts)
        dismissal_rows = pool.submit(fetch, dismissals)
        latency_rows = [pool.submit(fetch, _latency_query(store.dialect, g, where)) for g in latency_groups]
        paired = pool.submit(pairs)
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
        facts.pairs, facts.pairs_total = paired.result()
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
        chosen = chosen.where((sent.id % _SAMPLE_PRIME) * 7919 % _SAMPLE_PRIME < keep)  # fits int32
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
