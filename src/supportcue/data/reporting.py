"""Read-only aggregates for the online metrics (`monitoring/facts.py` turns them into `Facts`).

Every query takes the suggestions' time range. Group keys come back as the raw columns: UTC day,
topic, the stage that stopped the suggestion (`abstained_at`), pipeline version, arm, and, when
`agents` is asked for, the agent (`monitoring/facts.py` defines whose; else NULL).

A suggestion is paired with a `sent` event through the event's `suggestion_id`, or else with the
newest suggestion of the event's case made by the event's time (the help desk's own `sent` events
carry no suggestion id; in a conversation each reply answers the turn's suggestion before it).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Integer, case, cast, exists, func, null, or_, select
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from supportcue.data.database import Database
from supportcue.data.tables import Case, Event, Suggestion
from supportcue.vocab import HOLDOUT, SUGGESTION_ACTIONS, EventKind, SuggestionOrigin

EVENT_SLACK = timedelta(days=1)
"""What agents do with a suggestion comes after it (a day's slack for clock skew)."""
_SAMPLE_PRIME = 10007
NOT_VALID = ("validation", HOLDOUT)
"""Stopped at validation, or held back for an experiment's control arm: left out of coverage's
denominator (nothing could be shown); not a stop at validation that was a timeout or an error
(`FAILED_REASONS`): that judged nothing, and the suggestion counts as valid, as one that showed nothing."""
FAILED_REASONS = ("timeout:", "error in ")
"""How the reason of a suggestion a stage did not decide begins (`pipeline.py`): the pipeline's time
ran out before or during the stage, or the stage raised an error."""
LOST_REASONS = ("overdue_answer", "no_approved_answer", "validation", "low_confidence", "other")
"""Why a suggestion showed nothing (`lost_coverage`): its answer was overdue for review, its topic
had no approved answer (none, or all retired), validation stopped it, or a model was not confident
enough (the topic stage undecided, or the best answer under `[response] min_score`); a stage that
timed out or failed is `other`."""
_GROUP_COLUMNS: dict[str, Any] = {
    "day": func.date(Suggestion.created_at),
    "topic": Suggestion.topic,
    "stage": Suggestion.abstained_at,
    "model": Suggestion.pipeline_version,
    "arm": Suggestion.arm,
}


def failed(reason: str | None) -> bool:
    """Whether a suggestion's reason says its stage timed out or failed (`FAILED_REASONS`)."""
    return (reason or "").startswith(FAILED_REASONS)


def is_valid(abstained_at: str | None, reason: str | None) -> bool:
    """Whether a suggestion counts in coverage's denominator (see `NOT_VALID`)."""
    return abstained_at not in NOT_VALID or (abstained_at == "validation" and failed(reason))


def _failed() -> ColumnElement[bool]:
    """`failed` of `Suggestion.reason`, in SQL."""
    reason = func.coalesce(Suggestion.reason, "")
    return or_(*(func.substr(reason, 1, len(p)) == p for p in FAILED_REASONS))


def _valid() -> ColumnElement[bool]:
    """`is_valid` in SQL."""
    stage = func.coalesce(Suggestion.abstained_at, "")
    return stage.not_in(NOT_VALID) | ((stage == "validation") & _failed())


def from_traffic(suggestion: Any = Suggestion) -> ColumnElement[bool]:
    """Suggestions made for traffic (the service's and the CLI's), not a `batch suggest` back-fill:
    back-filled suggestions were never shown, so no live metric, drift check or queue counts them."""
    origin: ColumnElement[str] = suggestion.origin  # the table or an alias of it
    return origin != SuggestionOrigin.BATCH


def _key_columns(agent: Any = None) -> list[Any]:
    """The group keys, the agent last (NULL when `agent` is None: leave it out of a GROUP BY)."""
    return [
        func.date(Suggestion.created_at).label("day"),
        Suggestion.topic,
        Suggestion.abstained_at,
        Suggestion.pipeline_version,
        Suggestion.arm,
        (agent if agent is not None else null()).label("agent"),
    ]


def _undone(since: datetime | None) -> Any:
    """Per suggestion whose dismissal an agent undid: the time of its newest `undismissed` event."""
    return (
        select(Event.suggestion_id, func.max(Event.ts).label("undone_at"))
        .where(
            Event.suggestion_id.is_not(None),
            Event.kind == EventKind.UNDISMISSED,
            *([Event.ts >= since - EVENT_SLACK] if since is not None else []),
        )
        .group_by(Event.suggestion_id)
        .subquery()
    )


def _per_suggestion(since: datetime | None) -> Any:
    """Per suggestion with events: a flag per action (shown, inserted, dismissed), its agent, and
    its dismissal's reason (of several, the smallest: one per suggestion, in the same pass). A
    dismissal undone (an `undismissed` event at or after it) is no dismissal, but its suggestion
    was shown."""
    shown_by = func.min(case((Event.kind == EventKind.SHOWN, Event.agent_id)))
    used_by = func.min(case((Event.kind != EventKind.SHOWN, Event.agent_id)))  # inserted, dismissed
    undone = _undone(since)
    dismissal = (Event.kind == EventKind.DISMISSED) & (
        undone.c.undone_at.is_(None) | (Event.ts > undone.c.undone_at)
    )
    flags = [_flag(kind) for kind in SUGGESTION_ACTIONS if kind != EventKind.DISMISSED]
    return (
        select(
            Event.suggestion_id,
            *flags,
            func.max(case((dismissal, 1), else_=0)).label(EventKind.DISMISSED),
            func.coalesce(used_by, shown_by).label("agent"),
            func.min(case((dismissal, Event.reason))).label("reason"),
        )
        .select_from(Event)
        .outerjoin(undone, undone.c.suggestion_id == Event.suggestion_id)
        .where(
            Event.suggestion_id.is_not(None),
            Event.kind.in_(SUGGESTION_ACTIONS),
            # prunes the scan to the range
            *([Event.ts >= since - EVENT_SLACK] if since is not None else []),
        )
        .group_by(Event.suggestion_id)
        .subquery()
    )


def _in_range(since: datetime | None, until: datetime | None) -> list[ColumnElement[bool]]:
    """Traffic's suggestions made in [since, until)."""
    where: list[ColumnElement[bool]] = [from_traffic()]
    if since is not None:
        where.append(Suggestion.created_at >= since)
    if until is not None:
        where.append(Suggestion.created_at < until)
    return where


def _flag(kind: str) -> ColumnElement[int]:
    return func.max(case((Event.kind == kind, 1), else_=0)).label(kind)


def _seen(per_suggestion: Any, kind: str) -> ColumnElement[int]:
    """1 when the suggestion showed the agent a text and was `kind` (see `monitoring/facts.py`):
    "shown" when it has any action event (inserting or dismissing it means it was shown)."""
    flag = per_suggestion.c.suggestion_id.is_not(None) if kind == "shown" else per_suggestion.c[kind] == 1
    return case((Suggestion.text.is_not(None) & flag, 1), else_=0)


def latest_suggestion_id(event: Any, suggestion: Any = Suggestion) -> Any:
    """The id of the newest suggestion of `event`'s case made by the event's time (a correlated
    scalar subquery): the one a `sent` event without a `suggestion_id` answers (in a conversation,
    the suggestion of the turn it replies to; none when the reply came before any suggestion)."""
    return (
        select(suggestion.id)
        .where(
            suggestion.case_id == event.case_id,
            suggestion.created_at <= event.ts,
            from_traffic(suggestion),
        )
        .order_by(suggestion.created_at.desc(), suggestion.id.desc())
        .limit(1)
        .correlate(event)
        .scalar_subquery()
    )


def latest_before(suggestions: Sequence[Any], ts: datetime) -> Any | None:
    """The newest of a case's suggestions (oldest first; rows or mappings with `created_at`) made by
    `ts`: the one a reply without a suggestion id answers; None when the reply came first."""
    earlier = [s for s in suggestions if _aware(_field(s, "created_at")) <= _aware(ts)]
    return earlier[-1] if earlier else None


def _field(row: Any, name: str) -> Any:
    return row[name] if isinstance(row, Mapping) else getattr(row, name)


def _aware(ts: datetime) -> datetime:
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)


class Reporting:
    def __init__(self, db: Database) -> None:
        self.db = db

    def _fetch(self, stmt: Any) -> list[Any]:
        with self.db.session() as s:
            return list(s.execute(stmt))

    def suggestion_counts(
        self, since: datetime | None, until: datetime | None, agents: bool = False
    ) -> list[Any]:
        """Per group key: (*keys, suggestions, valid, suggested, shown, inserted, dismissed, simulated)."""
        where = _in_range(since, until)
        per_suggestion = _per_suggestion(since)
        keys = _key_columns(per_suggestion.c.agent if agents else None)
        return self._fetch(
            select(
                *keys,
                func.count(),
                func.sum(case((_valid(), 1), else_=0)),
                func.sum(case((Suggestion.text.is_not(None), 1), else_=0)),
                func.sum(_seen(per_suggestion, "shown")),
                func.sum(_seen(per_suggestion, "inserted")),
                func.sum(_seen(per_suggestion, "dismissed")),
                func.sum(case((Suggestion.simulated, 1), else_=0)),
            )
            .select_from(Suggestion)
            .outerjoin(per_suggestion, per_suggestion.c.suggestion_id == Suggestion.id)
            .where(*where)
            .group_by(*keys[: None if agents else -1])  # (PostgreSQL refuses GROUP BY NULL)
        )

    def lost_coverage(self, since: datetime | None, until: datetime | None) -> list[Any]:
        """Per topic and why nothing was shown: (topic, reason, suggestions), reason one of
        `LOST_REASONS` or "shown"; held-out suggestions (an experiment's control arm) are left out."""
        reason = case(
            (Suggestion.text.is_not(None), "shown"),
            (_failed(), "other"),  # a timeout or an error judged nothing
            (Suggestion.abstained_at == "validation", "validation"),
            (Suggestion.abstained_at == "topic", "low_confidence"),
            (Suggestion.reason.like("%overdue for review%"), "overdue_answer"),
            (Suggestion.reason.like("no approved answer%"), "no_approved_answer"),
            (Suggestion.reason.like("%< min_score%"), "low_confidence"),
            else_="other",
        ).label("why")
        where = [*_in_range(since, until), func.coalesce(Suggestion.abstained_at, "") != HOLDOUT]
        return self._fetch(
            select(Suggestion.topic, reason, func.count()).where(*where).group_by(Suggestion.topic, reason)
        )

    def dismissals(self, since: datetime | None, until: datetime | None, agents: bool = False) -> list[Any]:
        """Per group key and reason: (*keys, reason, dismissed suggestions); each dismissed suggestion
        (as `suggestion_counts` counts them) once, under its dismissal's reason, and its agent
        the one of `suggestion_counts` (the one it was shown to)."""
        per_suggestion = _per_suggestion(since)
        keys = _key_columns(per_suggestion.c.agent if agents else None)
        dismissed = (
            select(*keys, per_suggestion.c.reason)
            .select_from(Suggestion)
            .join(per_suggestion, per_suggestion.c.suggestion_id == Suggestion.id)
            .where(per_suggestion.c.dismissed == 1, Suggestion.text.is_not(None), *_in_range(since, until))
            .subquery()
        )
        outer = [dismissed.c.day, dismissed.c.topic, dismissed.c.abstained_at, dismissed.c.pipeline_version]
        outer += [dismissed.c.arm, dismissed.c.agent if agents else null().label("agent")]
        return self._fetch(
            select(*outer, dismissed.c.reason, func.count()).group_by(
                *outer[: None if agents else -1], dismissed.c.reason
            )
        )

    def latencies(self, group: str, since: datetime | None, until: datetime | None) -> list[Any]:
        """Live requests per latency bucket: (bucket, n) for group "all", else (group value, bucket,
        n). Simulated history and `supportcue suggest` (a process of its own) are left out: their
        times are not what an agent waits."""
        service = Suggestion.origin == SuggestionOrigin.SERVICE
        where = [*_in_range(since, until), Suggestion.simulated.is_(False), service]
        bucket = self._bucket()
        if group == "all":
            return self._fetch(select(bucket, func.count()).where(*where).group_by(bucket))
        if group == "agent":
            per_suggestion = _per_suggestion(since)
            agent = per_suggestion.c.agent
            return self._fetch(
                select(agent, bucket, func.count())
                .select_from(Suggestion)
                .outerjoin(per_suggestion, per_suggestion.c.suggestion_id == Suggestion.id)
                .where(*where)
                .group_by(agent, bucket)
            )
        column = _GROUP_COLUMNS[group]
        return self._fetch(select(column, bucket, func.count()).where(*where).group_by(column, bucket))

    def _bucket(self) -> ColumnElement[float]:
        """`monitoring.facts.latency_bucket` in SQL (CAST truncates on SQLite; PostgreSQL's rounds,
        so FLOOR there)."""
        ms = Suggestion.latency_ms
        postgres = self.db.dialect == "postgresql"

        def floor(x: Any) -> Any:
            return func.floor(x) if postgres else cast(x, Integer)

        return case(
            (ms < 10, floor(ms * 10) / 10.0),
            (ms < 100, floor(ms) * 1.0),
            (ms < 1000, floor(ms / 10) * 10.0),
            else_=floor(ms / 100) * 100.0,
        )

    def sent_pairs(
        self, since: datetime | None, until: datetime | None, max_pairs: int, agents: bool = False
    ) -> tuple[list[Any], int, bool]:
        """Sent replies with the suggestion they answer: rows of (*keys (the agent: who sent the
        reply), event id, suggestion id,
        suggested text, sent text, customer name, inserted?, shadow, purged_at, similarity, shadow
        similarity; the last two are kept when `purge` removed the texts), the number of sent
        replies in the range, and whether the rows are a sample (at most about `max_pairs`,
        deterministic and evenly spread) of them.

        A sample holds whole suggestions: every reply paired with a suggestion, or none (an agent's
        "let me check" and its answer are scored together, `metrics.best_per_suggestion`). A
        suggestion is in it when its first reply (smallest event id) is drawn, so a suggestion with
        more replies is not more likely to be drawn."""
        sent = aliased(Event)
        count = select(func.count()).select_from(sent).where(sent.kind == EventKind.SENT)
        # The range is on the suggestion's time; a sent reply follows its suggestion within days.
        if since is not None:
            count = count.where(sent.ts >= since)
        if until is not None:
            count = count.where(sent.ts < until)
        with self.db.session() as s:
            total = int(s.scalar(count) or 0)
            if not (max_pairs > 0 and total > max_pairs):
                return list(s.execute(self._pairs_query(sent, since, until, agents))), total, False
            # (id * a) mod p spreads any run of ids evenly, even periodic ones, and is deterministic.
            keep = math.ceil(_SAMPLE_PRIME * max_pairs / total)
            drawn = aliased(Event)
            cases = select(drawn.case_id).where(
                drawn.kind == EventKind.SENT,
                drawn.text.is_not(None),
                (drawn.id % _SAMPLE_PRIME) * 7919 % _SAMPLE_PRIME < keep,  # fits int32
            )
            # the drawn replies' cases, read whole: their suggestions' other replies come with them
            within = sent.case_id.in_(cases)
            rows = list(s.execute(self._pairs_query(sent, since, until, agents, within, by_case=True)))
        first: dict[str, int] = {}
        for row in rows:
            first[row.suggestion_id] = min(row.event_id, first.get(row.suggestion_id, row.event_id))
        kept = [
            row for row in rows if (first[row.suggestion_id] % _SAMPLE_PRIME) * 7919 % _SAMPLE_PRIME < keep
        ]
        return kept, total, True

    @staticmethod
    def _pairs_query(
        sent: Any,
        since: datetime | None,
        until: datetime | None,
        agents: bool,
        *where: Any,
        by_case: bool = False,
    ) -> Any:
        """`sent_pairs`' rows, of the `sent` events that also meet `where`. With `by_case` (`where`
        names the cases), the events are read through their case: SQLite keeps no statistics here and
        otherwise read every `sent` event through the kind index and then checked its case (a report
        over 1M events took 13 s instead of 4); `kind || ''` is no column it can look up."""
        kind = sent.kind + "" if by_case else sent.kind
        inserted = aliased(Event)
        newer = aliased(Suggestion)
        chosen = select(
            sent.id.label("event_id"),
            sent.case_id,
            sent.text,
            func.coalesce(sent.suggestion_id, latest_suggestion_id(sent, newer)).label("suggestion_id"),
            sent.purged_at,
            sent.similarity,
            sent.shadow_similarity,
            sent.agent_id,
        ).where(kind == EventKind.SENT, sent.text.is_not(None), *where)
        did_insert = (
            exists()
            .where(inserted.suggestion_id == Suggestion.id, inserted.kind == EventKind.INSERTED)
            .correlate(Suggestion)
        )
        sub = chosen.subquery()
        return (
            select(
                *_key_columns(sub.c.agent_id if agents else None),
                sub.c.event_id,
                Suggestion.id.label("suggestion_id"),
                Suggestion.text,
                sub.c.text.label("sent"),
                Case.customer_name,
                did_insert.label("did_insert"),
                Suggestion.shadow,
                sub.c.purged_at,
                sub.c.similarity,
                sub.c.shadow_similarity,
                sub.c.case_id,
            )
            .select_from(sub)
            .join(Suggestion, Suggestion.id == sub.c.suggestion_id)
            .outerjoin(Case, Case.id == sub.c.case_id)
            .where(*_in_range(since, until))
        )

    def answer_actions(self, since: datetime | None, until: datetime | None = None) -> list[Any]:
        """Per suggestion of a library answer (it has a text and an answer id): (suggestion id,
        answer id, created_at, shown, inserted, dismissed, its dismissal's reason or None);
        shown, inserted and dismissed as `suggestion_counts` counts them."""
        per_suggestion = _per_suggestion(since)
        return self._fetch(
            select(
                Suggestion.id,
                Suggestion.answer_id,
                Suggestion.created_at,
                _seen(per_suggestion, "shown"),
                _seen(per_suggestion, "inserted"),
                _seen(per_suggestion, "dismissed"),
                case((per_suggestion.c.dismissed == 1, per_suggestion.c.reason)),
            )
            .select_from(Suggestion)
            .outerjoin(per_suggestion, per_suggestion.c.suggestion_id == Suggestion.id)
            .where(Suggestion.answer_id.is_not(None), Suggestion.text.is_not(None), *_in_range(since, until))
        )
