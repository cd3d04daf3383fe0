"""The review queue's rows (`store.reviews`): items, reviews, and the candidates the queue picks from.

Choosing items (active learning, the random sample) and the statistics live in `review/`; this module
keeps and finds the rows. An item is stored once per subject (`key`): refreshing the queue again adds
only new subjects. A review and the labels it becomes are written in one transaction, and a reviewer
reviews an item once (`ReviewConflict` for a second time, which the API answers with a 409).
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, exists, func, select
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import aliased

from supportcue.data.database import Database
from supportcue.data.labels import Labels
from supportcue.data.reporting import from_traffic, latest_suggestion_id
from supportcue.data.tables import Case, Event, Review, ReviewItem, Suggestion
from supportcue.errors import ReviewConflict
from supportcue.vocab import EventKind, ReviewKind, ReviewReason, SuggestionMode

SUGGESTION_COLUMNS = (
    "id",
    "case_id",
    "topic",
    "text",
    "answer_id",
    "confidence",
    "abstained_at",
    "mode",
    "shadow",
    "simulated",
    "pipeline_version",
)


class Reviews:
    def __init__(self, db: Database, labels: Labels) -> None:
        self.db = db
        self.labels = labels

    # -- items -------------------------------------------------------------------------------------
    def add_items(self, rows: Sequence[Mapping[str, Any]]) -> int:
        """Store new items; a subject (`key`) already queued keeps its stored item."""
        return self.db.upsert(ReviewItem, rows, ["key"])

    def item(self, item_id: str) -> ReviewItem | None:
        return self.db.get(ReviewItem, item_id)

    def known_keys(self, keys: Sequence[str]) -> set[str]:
        out: set[str] = set()
        with self.db.session() as s:
            for start in range(0, len(keys), 500):
                chunk = list(keys[start : start + 500])
                out.update(s.scalars(select(ReviewItem.key).where(ReviewItem.key.in_(chunk))))
        return out

    def items_of_kind(self, kind: str) -> builtins.list[ReviewItem]:
        return self.db.all(select(ReviewItem).where(ReviewItem.kind == kind).order_by(ReviewItem.id))

    def open_for(self, reviewer: str, limit: int, random: bool) -> builtins.list[ReviewItem]:
        """Items `reviewer` has not reviewed that still want a review: random-sample items (oldest
        first) or active-learning ones (best first)."""
        is_random = ReviewItem.reason == ReviewReason.RANDOM
        if random:
            return self._open(reviewer, limit, is_random, ReviewItem.created_at)
        return self._open(reviewer, limit, ~is_random, ReviewItem.score.desc(), ReviewItem.created_at)

    def open_for_alert(self, reviewer: str, alert_id: int, limit: int) -> builtins.list[ReviewItem]:
        """The items drift alert `alert_id` created that `reviewer` has not reviewed and that still
        want a review, best first."""
        return self._open(
            reviewer, limit, ReviewItem.alert_id == alert_id, ReviewItem.score.desc(), ReviewItem.created_at
        )

    def _open(
        self, reviewer: str, limit: int, which: ColumnElement[bool], *order: Any
    ) -> builtins.list[ReviewItem]:
        if limit <= 0:
            return []
        counts = select(Review.item_id, func.count(Review.id).label("n")).group_by(Review.item_id).subquery()
        mine = exists().where(Review.item_id == ReviewItem.id, Review.reviewer == reviewer)
        stmt = (
            select(ReviewItem)
            .outerjoin(counts, counts.c.item_id == ReviewItem.id)
            .where(which, ~mine, func.coalesce(counts.c.n, 0) < ReviewItem.reviews_wanted)
            .order_by(*order, ReviewItem.id)
            .limit(limit)
        )
        return self.db.all(stmt)

    def alert_item_ids(self, alert_ids: Sequence[int]) -> dict[int, builtins.list[str]]:
        """The ids of the items each drift alert created, by alert (in the order they were queued)."""
        out: dict[int, builtins.list[str]] = {}
        if not alert_ids:
            return out
        stmt = (
            select(ReviewItem.alert_id, ReviewItem.id)
            .where(ReviewItem.alert_id.in_(list(alert_ids)))
            .order_by(ReviewItem.created_at, ReviewItem.key)
        )
        with self.db.session() as s:
            for alert_id, item_id in s.execute(stmt):
                if alert_id is not None:
                    out.setdefault(alert_id, []).append(str(item_id))
        return out

    def alert_item_counts(self, alert_ids: Sequence[int]) -> dict[int, tuple[int, int]]:
        """Per drift alert: (items it created, items of them reviewed at least once)."""
        if not alert_ids:
            return {}
        reviewed = exists().where(Review.item_id == ReviewItem.id)
        stmt = (
            select(ReviewItem.alert_id, func.count(ReviewItem.id), func.count(ReviewItem.id).filter(reviewed))
            .where(ReviewItem.alert_id.in_(list(alert_ids)))
            .group_by(ReviewItem.alert_id)
        )
        with self.db.session() as s:
            return {a: (int(n), int(done)) for a, n, done in s.execute(stmt) if a is not None}

    def sent_events(self, case_ids: Sequence[str]) -> dict[str, int]:
        """The newest `sent` event id of each case that has one."""
        out: dict[str, int] = {}
        if not case_ids:
            return out
        stmt = (
            select(Event.case_id, Event.id)
            .where(Event.case_id.in_(list(case_ids)), Event.kind == EventKind.SENT)
            .order_by(Event.id)
        )
        with self.db.session() as s:
            for case_id, event_id in s.execute(stmt):
                out[str(case_id)] = int(event_id)
        return out

    def sample_start(self, window_days: int) -> datetime | None:
        """When the oldest random-sample item's window began (its refresh less `window_days`)."""
        with self.db.session() as s:
            first = s.scalar(
                select(func.min(ReviewItem.created_at)).where(ReviewItem.reason == ReviewReason.RANDOM)
            )
        return None if first is None else first - timedelta(days=window_days)

    # -- reviews -----------------------------------------------------------------------------------
    def record(self, row: Mapping[str, Any], labels: Sequence[Mapping[str, Any]]) -> Review:
        """Store a review and its labels together; `ReviewConflict` when this reviewer reviewed the
        item before (nothing is written then)."""
        try:
            with self.db.session() as s:
                if s.scalars(
                    select(Review.id).where(
                        Review.item_id == row["item_id"], Review.reviewer == row["reviewer"]
                    )
                ).first():
                    raise _conflict(row)
                review = Review(**row)
                s.add(review)
                s.flush()
                self.labels.add(labels, session=s)
                return review
        except sa_exc.IntegrityError:  # lost a race with the same reviewer's other request
            raise _conflict(row) from None

    def list(self, since: datetime | None = None) -> builtins.list[tuple[Review, ReviewItem]]:
        """Every review (with its item) since `since`, oldest first."""
        stmt = select(Review, ReviewItem).join(ReviewItem, ReviewItem.id == Review.item_id)
        if since is not None:
            stmt = stmt.where(Review.created_at >= since)
        with self.db.session() as s:
            rows = s.execute(stmt.order_by(Review.created_at, Review.id))
            return [(r, i) for r, i in rows]

    def of_answers(self, since: datetime) -> builtins.list[Any]:
        """The reviews of suggestion items (suggestions made since `since` that served an answer),
        newest review first: rows of (answer_id, suggestion made at, verdict, flags, corrected_text)."""
        stmt = (
            select(
                Suggestion.answer_id,
                Suggestion.created_at,
                Review.verdict,
                Review.flags,
                Review.corrected_text,
            )
            .join(ReviewItem, ReviewItem.id == Review.item_id)
            .join(Suggestion, Suggestion.id == ReviewItem.suggestion_id)
            # a message item's verdict judges the topic proposed with it, not the answer's text
            .where(ReviewItem.kind == ReviewKind.SUGGESTION)
            .where(Suggestion.answer_id.is_not(None), Suggestion.created_at >= since)
            .order_by(Review.created_at.desc(), Review.id.desc())
        )
        with self.db.session() as s:
            return builtins.list(s.execute(stmt))

    # -- candidates --------------------------------------------------------------------------------
    def suggestions_since(self, since: datetime, limit: int) -> builtins.list[Any]:
        """Suggestions made since `since`, newest first, with whether each was dismissed: rows of
        (id, case_id, topic, text, answer_id, confidence, abstained_at, mode, shadow, simulated,
        pipeline_version, dismissed), without the traces (the queue needs none). A dismissal the agent
        undid (an `undismissed` event at or after it) is none."""
        undo = aliased(Event)
        undone = exists().where(
            undo.suggestion_id == Suggestion.id, undo.kind == EventKind.UNDISMISSED, undo.ts >= Event.ts
        )
        dismissed = exists().where(
            Event.suggestion_id == Suggestion.id, Event.kind == EventKind.DISMISSED, ~undone
        )
        columns = [getattr(Suggestion, c) for c in SUGGESTION_COLUMNS]
        stmt = (
            select(*columns, dismissed.label("dismissed"))
            .where(Suggestion.created_at >= since, Suggestion.purged_at.is_(None), from_traffic())
            .order_by(Suggestion.created_at.desc(), Suggestion.id)
            .limit(limit)
        )
        with self.db.session() as s:
            return list(s.execute(stmt))

    def shown_live_since(self, since: datetime) -> builtins.list[tuple[str, str | None, bool]]:
        """(id, topic, simulated) of every live suggestion with a reply shown to an agent since `since`."""
        shown = exists().where(Event.suggestion_id == Suggestion.id, Event.kind == EventKind.SHOWN)
        stmt = select(Suggestion.id, Suggestion.topic, Suggestion.simulated).where(
            Suggestion.created_at >= since,
            Suggestion.mode == SuggestionMode.LIVE,
            Suggestion.text.is_not(None),
            Suggestion.purged_at.is_(None),
            shown,
        )
        with self.db.session() as s:
            return [(str(i), t, bool(sim)) for i, t, sim in s.execute(stmt)]

    def sent_since(self, since: datetime, limit: int) -> builtins.list[Any]:
        """Replies sent since `since`, newest first, with the suggestion made for their case (if
        any): rows of (event id, case id, sent text, suggestion id, suggested text, topic, simulated)."""
        latest = latest_suggestion_id(Event)
        sub = (
            select(
                Event.id,
                Event.case_id,
                Event.text,
                func.coalesce(Event.suggestion_id, latest).label("sid"),
                Event.simulated,
            )
            .where(Event.kind == EventKind.SENT, Event.ts >= since, Event.text.is_not(None))
            .order_by(Event.ts.desc(), Event.id.desc())
            .limit(limit)
            .subquery()
        )
        stmt = select(
            sub.c.id, sub.c.case_id, sub.c.text, sub.c.sid, Suggestion.text, Suggestion.topic, sub.c.simulated
        ).outerjoin(Suggestion, Suggestion.id == sub.c.sid)
        with self.db.session() as s:
            return list(s.execute(stmt))

    def sent_text(self, event_id: int) -> str | None:
        """The text of a `sent` event (None once purged)."""
        with self.db.session() as s:
            return s.scalar(select(Event.text).where(Event.id == event_id))

    def cases(self, ids: Sequence[str]) -> dict[str, Case]:
        out: dict[str, Case] = {}
        with self.db.session() as s:
            for start in range(0, len(ids), 500):
                chunk = list(ids[start : start + 500])
                out.update({c.id: c for c in s.scalars(select(Case).where(Case.id.in_(chunk)))})
        return out


def _conflict(row: Mapping[str, Any]) -> ReviewConflict:
    return ReviewConflict(
        f"{row['reviewer']} reviewed item {row['item_id']} already; a reviewer reviews an item once"
    )
