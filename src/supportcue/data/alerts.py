"""Drift alerts (what `monitoring/drift.py` finds) and the rows drift is computed from.

An alert is one row while it lasts: re-running `supportcue drift` over the same or an overlapping range
updates its `last_seen`, score and details instead of adding a copy, so the webhook posts it once.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update

from supportcue.data.database import Database
from supportcue.data.reporting import EVENT_SLACK, from_traffic, latest_before
from supportcue.data.tables import Case, DriftAlert, Event, Suggestion, utcnow
from supportcue.monitoring.match import similarity
from supportcue.vocab import HOLDOUT, EventKind

CONTINUES = timedelta(days=1)


@dataclass(frozen=True)
class DriftRow:
    """One suggestion as drift sees it: for a case held back by an experiment, what the pipeline
    computed in shadow (the message was seen either way). `sent` is the reply the agent sent."""

    suggestion_id: str
    case_id: str | None
    created_at: datetime
    message: str
    topic: str | None
    answer_id: str | None
    abstained_at: str | None
    text: str | None
    sent: str | None
    customer_name: str | None
    similarity: float | None
    """Kept by `purge` once the texts are gone (None otherwise: computed from the texts)."""


def _closest(replies: Sequence[Any], text: str | None, held: bool, customer_name: str | None) -> Any:
    """Of the replies sent after a suggestion (an agent may send several messages: "let me check",
    the answer, "anything else?"), the one most similar to its text, as the online metrics pair them
    (`metrics.best_per_suggestion`); the first of equals, the last when there is no text to compare."""
    if len(replies) < 2 or not text:
        return replies[-1] if replies else None

    def sim(e: Any) -> float:
        if e.purged_at is not None:  # the texts are gone: the similarity measured before
            kept = e.shadow_similarity if held else e.similarity
            return -1.0 if kept is None else float(kept)
        return similarity(text, e.text, customer_name) if e.text else -1.0

    return max(replies, key=sim)


class Alerts:
    def __init__(self, db: Database) -> None:
        self.db = db

    def save(self, alerts: Sequence[Mapping[str, Any]]) -> builtins.list[DriftAlert]:
        """Store alerts; returns the rows that are new (see `save_each`)."""
        return [row for row, new in self.save_each(alerts) if new]

    def save_each(self, alerts: Sequence[Mapping[str, Any]]) -> builtins.list[tuple[DriftAlert, bool]]:
        """Store alerts; returns each one's stored row and whether it is new. An alert continuing a
        stored one (same kind and subject, first seen while the stored one lasted, or a day after)
        updates it instead: so re-running `supportcue drift` over an overlapping range adds no copies."""
        out: builtins.list[tuple[DriftAlert, bool]] = []
        with self.db.session() as s:
            for a in alerts:
                stored = s.scalars(
                    select(DriftAlert).where(
                        DriftAlert.kind == a["kind"],
                        DriftAlert.subject == a["subject"],
                        DriftAlert.first_seen <= a["first_seen"],
                        DriftAlert.last_seen >= a["first_seen"] - CONTINUES,
                    )
                ).first()
                if stored is None:
                    row = DriftAlert(**a, created_at=utcnow())
                    s.add(row)
                    s.flush()
                    out.append((row, True))
                    continue
                stored.last_seen = max(stored.last_seen, a["last_seen"])
                stored.score = max(stored.score, a["score"])
                stored.threshold, stored.details = a["threshold"], a["details"]
                out.append((stored, False))
            s.flush()
        return out

    def get(self, alert_id: int) -> DriftAlert | None:
        return self.db.get(DriftAlert, alert_id)

    def recent(self, within: timedelta, limit: int = 20, offset: int = 0) -> builtins.list[DriftAlert]:
        """Alerts still raised lately, the latest first (`limit` of them from `offset`): last seen
        within `within` of the newest suggestion made for traffic (or of now, if that is earlier). A
        workspace whose history ended a while ago (an import, the demo) still shows the alerts of its
        last weeks, after a `batch suggest` back-fill made today too."""
        with self.db.session() as s:
            newest = s.scalar(select(func.max(Suggestion.created_at)).where(from_traffic()))
        now = utcnow()
        end = now if newest is None else min(now, newest)
        q = select(DriftAlert).where(DriftAlert.last_seen >= end - within)
        q = q.order_by(DriftAlert.last_seen.desc(), DriftAlert.id.desc())
        return self.db.all(q.limit(limit).offset(offset))

    def list(
        self, since: datetime | None = None, until: datetime | None = None, kind: str | None = None
    ) -> builtins.list[DriftAlert]:
        """Alerts first seen in [since, until), oldest first."""
        q = select(DriftAlert).order_by(DriftAlert.first_seen, DriftAlert.id)
        if since is not None:
            q = q.where(DriftAlert.first_seen >= since)
        if until is not None:
            q = q.where(DriftAlert.first_seen < until)
        if kind is not None:
            q = q.where(DriftAlert.kind == kind)
        return self.db.all(q)

    def unposted(self, created_since: datetime) -> builtins.list[DriftAlert]:
        """Alerts stored since `created_since` and not posted to the webhook yet, oldest first."""
        q = select(DriftAlert).where(DriftAlert.posted_at.is_(None), DriftAlert.created_at >= created_since)
        return self.db.all(q.order_by(DriftAlert.id))

    def mark_posted(self, ids: Sequence[int], when: datetime | None = None) -> None:
        with self.db.session() as s:
            s.execute(update(DriftAlert).where(DriftAlert.id.in_(ids)).values(posted_at=when or utcnow()))

    def rows(self, since: datetime | None, until: datetime | None) -> builtins.list[DriftRow]:
        """The suggestions made for traffic in [since, until), whatever their case's origin, each once,
        with its message and the reply sent on the case (through the event's suggestion id, or else
        the case's newest suggestion made by the reply's time, in the range or after it: a reply to a
        suggestion made after `until` is not one inside it). The message is its stored case's (an
        imported case, or one grown by `POST /v1/messages` or a help desk's webhook), or else the one
        the suggestion kept, masked (`POST /v1/suggest` on a case id supportcue never stored, or on
        none); a suggestion with neither (made on such a case before suggestions kept their message)
        is left out. `batch suggest` back-fills are left out (`from_traffic`)."""
        q = (
            select(Suggestion, Case.message, Case.customer_name)
            .outerjoin(Case, Case.id == Suggestion.case_id)
            .where(from_traffic(), (Case.id.is_not(None)) | Suggestion.message.is_not(None))
        )
        sent_q = select(
            Event.case_id,
            Event.ts,
            Event.suggestion_id,
            Event.text,
            Event.similarity,
            Event.shadow_similarity,
            Event.purged_at,
        )
        sent_q = sent_q.where(Event.kind == EventKind.SENT)
        if since is not None:
            q = q.where(Suggestion.created_at >= since)
            sent_q = sent_q.where(Event.ts >= since)
        if until is not None:
            q = q.where(Suggestion.created_at < until)
            sent_q = sent_q.where(Event.ts < until + EVENT_SLACK)
        with self.db.session() as s:
            found = s.execute(q.order_by(Suggestion.created_at, Suggestion.id)).all()
            sent = s.execute(sent_q.order_by(Event.id)).all()
            # the suggestions made after the range while its replies are read: a reply may answer one
            later = (
                []
                if until is None
                else s.execute(
                    select(Suggestion.id, Suggestion.case_id, Suggestion.created_at)
                    .where(
                        from_traffic(),
                        Suggestion.case_id.is_not(None),
                        Suggestion.created_at >= until,
                        Suggestion.created_at < until + EVENT_SLACK,
                    )
                    .order_by(Suggestion.created_at, Suggestion.id)
                ).all()
            )
        of_case: dict[str, list[Any]] = {}
        for sug in [row[0] for row in found] + list(later):
            if sug.case_id is not None:
                of_case.setdefault(sug.case_id, []).append(sug)
        replies: dict[str, list[Any]] = {}
        for e in sent:
            # as the metrics pair it: the case's newest suggestion made by the reply
            latest = latest_before(of_case.get(e.case_id, []), e.ts)
            sid = e.suggestion_id or (latest.id if latest is not None else None)
            if sid is not None:
                replies.setdefault(sid, []).append(e)
        out = []
        for sug, message, customer_name in found:
            held = sug.abstained_at == HOLDOUT
            view = sug.shadow if held else {}
            reply = _closest(
                replies.get(sug.id, []), view.get("text") if held else sug.text, held, customer_name
            )
            stored = None if reply is None else (reply.shadow_similarity if held else reply.similarity)
            out.append(
                DriftRow(
                    suggestion_id=sug.id,
                    case_id=sug.case_id,
                    created_at=sug.created_at,
                    message=message if message is not None else sug.message or "",
                    topic=view.get("topic") if held else sug.topic,
                    answer_id=view.get("answer_id") if held else sug.answer_id,
                    abstained_at=view.get("abstained_at") if held else sug.abstained_at,
                    text=view.get("text") if held else sug.text,
                    sent=None if reply is None else reply.text,
                    customer_name=customer_name,
                    similarity=stored,
                )
            )
        return out
