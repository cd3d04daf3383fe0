"""The outbox: notes waiting to be posted to a help desk, kept in the database until they are done.

Items are queued in the transaction that stores the turn they answer (`Conversations.add_customer`),
so a restart loses none. A worker `claim`s a due item for a lease (another process, or this one
after a crash, takes it over once the lease ends), then records the outcome: `done` (posted, or
skipped on purpose), `retry` (a failed attempt, with the time of the next one) or `done` with
`FAILED`. `health` sums it up for the dashboard and Prometheus.
"""

from __future__ import annotations

import builtins
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update

from supportcue.data.database import Database
from supportcue.data.tables import OutboxItem
from supportcue.vocab import DeliveryStatus


class Outbox:
    def __init__(self, db: Database) -> None:
        self.db = db

    def due(self, help_desk: str, now: datetime, limit: int = 20) -> builtins.list[OutboxItem]:
        """Pending items whose attempt is due and that nobody holds, oldest first."""
        q = (
            select(OutboxItem)
            .where(
                OutboxItem.help_desk == help_desk,
                OutboxItem.status == DeliveryStatus.PENDING,
                OutboxItem.next_attempt_at <= now,
                or_(OutboxItem.lease_until.is_(None), OutboxItem.lease_until < now),
            )
            .order_by(OutboxItem.next_attempt_at, OutboxItem.id)
            .limit(limit)
        )
        return self.db.all(q)

    def next_due(self, help_desk: str) -> datetime | None:
        """When the earliest pending item is due (None: nothing is pending)."""
        q = select(func.min(OutboxItem.next_attempt_at)).where(
            OutboxItem.help_desk == help_desk, OutboxItem.status == DeliveryStatus.PENDING
        )
        with self.db.session() as s:
            found = s.scalar(q)
        return found if found is None else _aware(found)

    def claim(self, item_id: int, now: datetime, lease: timedelta) -> bool:
        """Take a due item for `lease`; False when another worker has it."""
        stmt = (
            update(OutboxItem)
            .where(
                OutboxItem.id == item_id,
                OutboxItem.status == DeliveryStatus.PENDING,
                or_(OutboxItem.lease_until.is_(None), OutboxItem.lease_until < now),
            )
            .values(lease_until=now + lease)
        )
        with self.db.session() as s:
            return bool(s.execute(stmt).rowcount)  # type: ignore[attr-defined]

    def remember(self, item_id: int, suggestion_id: str) -> None:
        """The suggestion the note carries (made once, kept for every later attempt)."""
        with self.db.session() as s:
            s.execute(update(OutboxItem).where(OutboxItem.id == item_id).values(suggestion_id=suggestion_id))

    def done(
        self,
        item_id: int,
        status: DeliveryStatus,
        now: datetime,
        *,
        remote_id: str | None = None,
        reason: str | None = None,
        attempted: bool = False,
        failed: bool = False,
    ) -> None:
        """The item's outcome: posted, skipped (with the reason) or failed for good; `attempted`
        and `failed` count the attempt that ended it."""
        values: dict[str, Any] = {
            "status": status,
            "done_at": now,
            "lease_until": None,
            "last_error": reason[:300] if reason else None,
            "attempts": OutboxItem.attempts + int(attempted or failed),
            "failures": OutboxItem.failures + int(failed),
        }
        if remote_id is not None:
            values["remote_id"] = remote_id
        with self.db.session() as s:
            s.execute(update(OutboxItem).where(OutboxItem.id == item_id).values(**values))

    def retry(self, item_id: int, at: datetime, reason: str) -> None:
        """A failed attempt: try again at `at`."""
        with self.db.session() as s:
            s.execute(
                update(OutboxItem)
                .where(OutboxItem.id == item_id)
                .values(
                    next_attempt_at=at,
                    lease_until=None,
                    last_error=reason[:300],
                    attempts=OutboxItem.attempts + 1,
                    failures=OutboxItem.failures + 1,
                )
            )

    def postpone(self, item_id: int, at: datetime) -> None:
        """Not attempted (the pipeline is still loading, say): release it until `at`."""
        with self.db.session() as s:
            s.execute(
                update(OutboxItem)
                .where(OutboxItem.id == item_id)
                .values(next_attempt_at=at, lease_until=None)
            )

    def items(self, help_desk: str | None = None) -> builtins.list[OutboxItem]:
        q = select(OutboxItem).order_by(OutboxItem.id)
        return self.db.all(q.where(OutboxItem.help_desk == help_desk) if help_desk else q)

    def health(self, help_desk: str) -> dict[str, Any]:
        """Per status, the items; failed attempts; the last note posted; the oldest still pending."""
        with self.db.session() as s:
            by_status = dict(
                s.execute(
                    select(OutboxItem.status, func.count())
                    .where(OutboxItem.help_desk == help_desk)
                    .group_by(OutboxItem.status)
                ).all()
            )
            failures, last_posted, oldest_pending = s.execute(
                select(
                    func.coalesce(func.sum(OutboxItem.failures), 0),
                    func.max(OutboxItem.done_at).filter(OutboxItem.status == DeliveryStatus.POSTED),
                    func.min(OutboxItem.created_at).filter(OutboxItem.status == DeliveryStatus.PENDING),
                ).where(OutboxItem.help_desk == help_desk)
            ).one()
            last_error = s.scalar(
                select(OutboxItem.last_error)
                .where(
                    OutboxItem.help_desk == help_desk,
                    OutboxItem.last_error.is_not(None),
                    OutboxItem.status.in_((DeliveryStatus.PENDING, DeliveryStatus.FAILED)),
                )
                .order_by(OutboxItem.id.desc())
                .limit(1)
            )
        return {
            **{str(status): int(by_status.get(status, 0)) for status in DeliveryStatus},
            "failed_attempts": int(failures or 0),
            "last_posted_at": _aware(last_posted),
            "oldest_pending_at": _aware(oldest_pending),
            "last_error": last_error,
        }


def _aware(value: datetime | None) -> datetime | None:
    """Aggregates (MIN, MAX) come back without the column type's conversion on SQLite."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
