"""Retention: remove old cases' text and keep what the metrics are computed from.

`supportcue purge --older-than DAYS` (`monitoring/retention.py`) calls these, one transaction per
chunk of cases. A purged case keeps its row, its suggestions and its events (ids, times, kinds,
topics, model versions, handle times, dismiss reasons: every count the dashboard and `report` use);
what goes is the text and the personal data:

- cases: `message` becomes `[purged]`, `context` `[]`, `customer_name` NULL, `fields` `{}`;
- suggestions: `text`, the customer `message` kept with it (masked), the shadow suggestion's text
  and the stages' texts in the trace become `[purged]` (a text that was NULL stays NULL, so coverage
  is unchanged);
- events: `text` becomes `[purged]` (NULL stays NULL); a `sent` event first stores the similarity
  of its reply to the suggestion it answers (and to that suggestion's shadow text), measured by the
  caller's scorer, so the match rate after the purge is the one before;
- labels on the case: their copy of the text, if any, becomes NULL;
- the conversation's turns (`messages`): `text` becomes `[purged]` and the answer kept for a repeat
  (`result`) `{}`;
- reviews of the case's (or the purged suggestion's) review items: a reviewer's `corrected_text`, a
  reply to the customer, becomes `[purged]` (the verdict, flags and topic stay: `review stats`);
- the terms of a cluster review item (of the queue or of a drift alert) with the case among its
  cases: the customer's name (and a name the message gave) leaves them. Terms are read from masked
  messages, but an item queued before that may still hold one;
- new-topic drift alerts with the case among their messages: the same names leave the alert's top
  terms and its subject (the terms joined), for alerts raised before terms were masked.

Rows are kept rather than deleted because the metrics count them; `purged_at` marks them (cases,
suggestions, events), and the learning code (`Cases.list`) skips purged cases. Suggestions made
without a case are purged by their own time. A case id that has no case row (the API takes any
`case_id`) is purged with its suggestions and events when the first of them is older than the
cutoff. Rows that reach a purged case later (a late event, a suggestion asked for it again) are
purged by the next run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, exists, func, select, update
from sqlalchemy.orm import Session

from supportcue.data.database import Database
from supportcue.data.reporting import latest_before
from supportcue.data.tables import (
    Case,
    ConversationMessage,
    DriftAlert,
    Event,
    Label,
    Review,
    ReviewItem,
    Suggestion,
)
from supportcue.vocab import EventKind, ReviewKind

PURGED = "[purged]"


@dataclass(frozen=True)
class SentPair:
    """A `sent` event about to be purged and the suggestion it is compared with (reporting's rule:
    the event's suggestion, or else the newest suggestion of its case)."""

    event_id: int
    sent: str
    suggested: str | None
    customer_name: str | None
    shadow_text: str | None
    shadow_stages: tuple[str, ...]


Scorer = Callable[[Sequence[SentPair]], list[tuple[float | None, float | None]]]
"""(similarity, shadow similarity) of each pair, as the online metrics compute them."""


def _scrub_trace(trace: Iterable[Any]) -> list[Any]:
    out = []
    for entry in trace:
        if isinstance(entry, dict) and isinstance(entry.get("extra"), dict) and "text" in entry["extra"]:
            entry = {**entry, "extra": {**entry["extra"], "text": PURGED}}
        out.append(entry)
    return out


def _scrub_suggestion(s: Suggestion, now: datetime) -> None:
    s.purged_at = now
    if s.text is not None:
        s.text = PURGED
    if s.message is not None:
        s.message = PURGED
    if (s.shadow or {}).get("text") is not None:
        s.shadow = {**s.shadow, "text": PURGED}
    s.trace = _scrub_trace(s.trace or [])


def _scrub_reviews(s: Session, case_ids: Sequence[str], suggestion_ids: Sequence[str]) -> None:
    """A reviewer's corrected reply to these cases or suggestions becomes `[purged]`."""
    items = select(ReviewItem.id).where(
        ReviewItem.case_id.in_(case_ids) | ReviewItem.suggestion_id.in_(suggestion_ids)
    )
    s.execute(
        update(Review)
        .where(Review.item_id.in_(items), Review.corrected_text.is_not(None))
        .values(corrected_text=PURGED)
    )


def _terms_without(terms: Sequence[object], personal: set[str]) -> list[str] | None:
    """`terms` without the purged customers' names, or None when none of them is one."""
    if not any(str(t).lower() in personal for t in terms):
        return None
    return [str(t) for t in terms if str(t).lower() not in personal]


def _scrub_item_terms(s: Session, case_ids: Sequence[str], personal: set[str]) -> None:
    """The purged customers' names (`personal`) out of the terms stored in the review items of
    these cases (a cluster of the queue or of a drift alert): items queued before terms were read
    from masked messages had them ("crypto / wallet / zelda"), and the terms outlive the text."""
    if not personal:
        return
    ids = set(case_ids)
    for item in s.scalars(select(ReviewItem).where(ReviewItem.kind == ReviewKind.CLUSTER)):
        details = item.details or {}
        members = {item.case_id, *(str(c) for c in details.get("case_ids") or [])}
        kept = _terms_without(details.get("terms") or [], personal)
        if ids & members and kept is not None:
            item.details = {**details, "terms": kept}


def _scrub_alert_terms(s: Session, case_ids: Sequence[str], personal: set[str]) -> None:
    """The purged customers' names out of the new-topic drift alerts with one of these cases among
    their messages: the alert's `top_terms` and its subject, which is those terms joined (alerts
    raised before terms were read from masked messages were named "bank / verification / emma").
    A subject left with no term, or one another alert of the same kind and start already has, is
    `[purged]` with the alert's id."""
    if not personal:
        return
    ids = set(case_ids)
    alerts = list(s.scalars(select(DriftAlert).where(DriftAlert.kind == "new_topic_cluster")))
    for alert in alerts:
        details = alert.details or {}
        members = {str(c) for c in details.get("case_ids") or []}
        kept = _terms_without(details.get("top_terms") or [], personal)
        if not ids & members or kept is None:
            continue
        subject = " / ".join(kept)
        taken = s.scalar(
            select(func.count())
            .select_from(DriftAlert)
            .where(
                DriftAlert.kind == alert.kind,
                DriftAlert.subject == subject,
                DriftAlert.first_seen == alert.first_seen,
                DriftAlert.id != alert.id,
            )
        )
        alert.subject = subject if kept and not taken else f"{PURGED} {alert.id}"
        alert.details = {**details, "top_terms": kept}


def _chunks(ids: Sequence[str], size: int = 1000) -> Iterable[Sequence[str]]:
    return (ids[i : i + size] for i in range(0, len(ids), size))


class Retention:
    def __init__(self, db: Database) -> None:
        self.db = db

    def old_cases(self, cutoff: datetime, limit: int) -> list[str]:
        """Ids of cases created before `cutoff` and not purged yet, oldest first; a case id known
        only from suggestions or events (the API takes any `case_id`) is as old as its first one."""
        with self.db.session() as s:
            found = list(
                s.scalars(
                    select(Case.id)
                    .where(Case.created_at < cutoff, Case.purged_at.is_(None))
                    .order_by(Case.created_at, Case.id)
                    .limit(limit)
                )
            )
            tables = (
                (Suggestion, Suggestion.created_at),
                (Event, Event.ts),
                (ConversationMessage, ConversationMessage.ts),
            )
            for table, time in tables:
                if len(found) >= limit:
                    break
                rowless = (
                    select(table.case_id)
                    .where(table.case_id.is_not(None), ~exists().where(Case.id == table.case_id))
                    .group_by(table.case_id)
                    .having(func.min(time) < cutoff, func.count(table.purged_at) < func.count())
                    .order_by(table.case_id)
                    .limit(limit - len(found))
                )
                seen = set(found)
                found += [i for i in s.scalars(rowless) if i is not None and i not in seen]
                if len(found) >= limit:
                    break
                # rows that reached an old case after it was purged (a late event, a suggestion)
                late = (
                    select(table.case_id)
                    .join(Case, Case.id == table.case_id)
                    .where(Case.created_at < cutoff, Case.purged_at.is_not(None), table.purged_at.is_(None))
                    .group_by(table.case_id)
                    .order_by(table.case_id)
                    .limit(limit - len(found))
                )
                seen = set(found)
                found += [i for i in s.scalars(late) if i is not None and i not in seen]
            return found[:limit]

    def old_caseless_suggestions(self, cutoff: datetime, limit: int) -> list[str]:
        """Ids of suggestions made without a case before `cutoff` and not purged yet."""
        q = (
            select(Suggestion.id)
            .where(
                Suggestion.case_id.is_(None),
                Suggestion.created_at < cutoff,
                Suggestion.purged_at.is_(None),
            )
            .order_by(Suggestion.created_at, Suggestion.id)
            .limit(limit)
        )
        with self.db.session() as s:
            return list(s.scalars(q))

    def count(self, cutoff: datetime) -> dict[str, int]:
        """What a purge at `cutoff` would touch (for --dry-run)."""
        ids = self.old_cases(cutoff, limit=2**31 - 1)
        suggestions = events = messages = 0
        with self.db.session() as s:
            for chunk in _chunks(ids):
                suggestions += (
                    s.scalar(
                        select(func.count()).where(
                            Suggestion.case_id.in_(chunk), Suggestion.purged_at.is_(None)
                        )
                    )
                    or 0
                )
                events += (
                    s.scalar(select(func.count()).where(Event.case_id.in_(chunk), Event.purged_at.is_(None)))
                    or 0
                )
                messages += (
                    s.scalar(
                        select(func.count()).where(
                            ConversationMessage.case_id.in_(chunk), ConversationMessage.purged_at.is_(None)
                        )
                    )
                    or 0
                )
            caseless = s.scalar(
                select(func.count()).where(
                    Suggestion.case_id.is_(None),
                    Suggestion.created_at < cutoff,
                    Suggestion.purged_at.is_(None),
                )
            )
        return {
            "cases": len(ids),
            "suggestions": suggestions,
            "events": events,
            "messages": messages,
            "caseless_suggestions": int(caseless or 0),
        }

    def purge_cases(self, case_ids: Sequence[str], score: Scorer, now: datetime) -> dict[str, int]:
        """Purge these cases, their suggestions, events and labels' text in one transaction."""
        ids = list(case_ids)
        with self.db.session() as s:
            suggestions = list(s.scalars(select(Suggestion).where(Suggestion.case_id.in_(ids))))
            events = list(s.scalars(select(Event).where(Event.case_id.in_(ids), Event.purged_at.is_(None))))
            cases = {c.id: c for c in s.scalars(select(Case).where(Case.id.in_(ids)))}
            from supportcue.llm.privacy import personal_terms  # (security imports the store)

            personal = {w for c in cases.values() for w in personal_terms(c.customer_name, c.message)}
            sent = [e for e in events if e.kind == EventKind.SENT and e.text is not None]
            pairs = self._pairs(s, sent, suggestions, cases)
            for e, (sim, shadow) in zip(sent, score(pairs), strict=True):
                e.similarity, e.shadow_similarity = sim, shadow
            for e in events:
                if e.text is not None:
                    e.text = PURGED
                e.purged_at = now
            for sug in suggestions:
                _scrub_suggestion(sug, now)
            s.flush()
            s.execute(
                update(Case)
                .where(Case.id.in_(ids))
                .values(message=PURGED, context=[], customer_name=None, fields={}, purged_at=now)
            )
            s.execute(update(Label).where(Label.case_id.in_(ids)).values(text=None))
            _scrub_reviews(s, ids, [sug.id for sug in suggestions])
            _scrub_item_terms(s, ids, personal)
            _scrub_alert_terms(s, ids, personal)
            turns = s.execute(
                update(ConversationMessage)
                .where(ConversationMessage.case_id.in_(ids), ConversationMessage.purged_at.is_(None))
                .values(text=PURGED, result={}, purged_at=now)
            )
        return {
            "cases": len(ids),
            "suggestions": len(suggestions),
            "events": len(events),
            "messages": cast(CursorResult[Any], turns).rowcount,
        }

    def purge_suggestions(self, suggestion_ids: Sequence[str], now: datetime) -> int:
        """Purge the text of suggestions made without a case (one transaction)."""
        with self.db.session() as s:
            found = list(s.scalars(select(Suggestion).where(Suggestion.id.in_(list(suggestion_ids)))))
            for sug in found:
                _scrub_suggestion(sug, now)
            _scrub_reviews(s, [], [sug.id for sug in found])
        return len(found)

    @staticmethod
    def _pairs(
        s: Session, sent: Sequence[Event], suggestions: Sequence[Suggestion], cases: dict[str, Case]
    ) -> list[SentPair]:
        of_case: dict[str, list[Suggestion]] = {}
        for sug in sorted(suggestions, key=lambda x: (x.created_at, x.id)):
            if sug.case_id:
                of_case.setdefault(sug.case_id, []).append(sug)
        by_id = {sug.id: sug for sug in suggestions}
        pairs = []
        for e in sent:
            if e.suggestion_id:
                paired = by_id.get(e.suggestion_id) or s.get(Suggestion, e.suggestion_id)
            else:  # as the metrics pair it: the case's newest suggestion made by the reply
                paired = latest_before(of_case.get(e.case_id, []), e.ts)
            case = cases.get(e.case_id)
            shadow = (paired.shadow or {}) if paired is not None else {}
            pairs.append(
                SentPair(
                    event_id=e.id,
                    sent=e.text or "",
                    suggested=paired.text if paired is not None else None,
                    customer_name=case.customer_name if case is not None else None,
                    shadow_text=shadow.get("text"),
                    shadow_stages=tuple(shadow.get("stages") or ()),
                )
            )
        return pairs
