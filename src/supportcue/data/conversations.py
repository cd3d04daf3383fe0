"""The turns of each case's conversation (`messages`), stored once per caller and message id.

A customer turn is stored with the case it grows, in one transaction: the case row is created, or
its `message` (the latest customer turn) and `context` (the turns before it) are brought up to date,
and it is reopened unless its status changed after the turn was written. The turns of an imported
case's `context` and `message` are copied in, without a message id, when the first customer turn
arrives, so the conversation is read from this table alone.
A help desk's note to post for the turn can be queued in the same transaction (`OutboxItem`), so
what a webhook was told was accepted is never lost.

The rules of a conversation (what a repeat is, which suggestion an agent's reply answers) live in
`integrations/conversation.py`; this module only stores and reads.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from supportcue.data.database import Database
from supportcue.data.events import INTERNAL
from supportcue.data.tables import Case, ConversationMessage, Event, OutboxItem, utcnow
from supportcue.vocab import CaseStatus, EventKind, MessageRole

Turn = dict[str, Any]
"""A turn as the pipeline and the console read it: {"role", "text"}."""


@dataclass(frozen=True)
class Added:
    """The stored turn, whether it was stored now (False: the same message id came before), and for
    a new customer turn the conversation before it, oldest first."""

    turn: ConversationMessage
    created: bool
    thread: tuple[Turn, ...] = ()
    fields: Mapping[str, Any] | None = None
    """The case's fields (answer placeholders), for the suggestion."""
    customer_name: str | None = None


def _turn(m: ConversationMessage) -> Turn:
    return {"role": m.role, "text": m.text}


def _before(m: ConversationMessage) -> Any:
    """Turns earlier than `m` in the conversation: by time, then by arrival."""
    return or_(
        ConversationMessage.ts < m.ts, and_(ConversationMessage.ts == m.ts, ConversationMessage.id < m.id)
    )


def _after(m: ConversationMessage) -> Any:
    """Turns later than `m` in the conversation."""
    return or_(
        ConversationMessage.ts > m.ts, and_(ConversationMessage.ts == m.ts, ConversationMessage.id > m.id)
    )


class Conversations:
    def __init__(self, db: Database) -> None:
        self.db = db

    def find(self, caller: str, message_id: str) -> ConversationMessage | None:
        q = select(ConversationMessage).where(
            ConversationMessage.caller == caller, ConversationMessage.message_id == message_id
        )
        return self.db.first(q)

    def _insert(self, s: Session, row: Mapping[str, Any]) -> tuple[ConversationMessage, bool]:
        stmt = (
            self.db.insert(ConversationMessage)
            .values(**row)
            .on_conflict_do_nothing(index_elements=["caller", "message_id"])
            .returning(ConversationMessage.id)
        )
        new_id = s.execute(stmt).scalar()
        if new_id is None:
            stored = s.scalars(
                select(ConversationMessage).where(
                    ConversationMessage.caller == row["caller"],
                    ConversationMessage.message_id == row["message_id"],
                )
            ).one()
            return stored, False
        turn = s.get(ConversationMessage, new_id)
        assert turn is not None
        return turn, True

    def add_customer(
        self,
        row: Mapping[str, Any],
        *,
        channel: str | None = None,
        customer_name: str | None = None,
        outbox: Mapping[str, Any] | None = None,
    ) -> Added:
        """Store a customer turn (`row`: caller, message_id, case_id, text, ts, fingerprint) and grow
        its case; with `outbox`, queue that item for the turn in the same transaction. A message id
        stored before changes nothing (`created` False)."""
        now = utcnow()
        with self.db.session() as s:
            turn, created = self._insert(
                s, {"received_at": now, "ts": now, **row, "role": MessageRole.CUSTOMER, "private": False}
            )
            if not created:
                return Added(turn, False)
            thread, case = self._grow(s, turn, channel, customer_name)
            if outbox is not None:
                s.add(OutboxItem(**outbox, message_pk=turn.id, case_id=turn.case_id, next_attempt_at=now))
            return Added(turn, True, thread, dict(case.fields or {}), case.customer_name)

    def take_over(
        self,
        case_id: str,
        caller: str,
        *,
        channel: str | None = None,
        customer_name: str | None = None,
        outbox: Mapping[str, Any] | None = None,
    ) -> ConversationMessage | None:
        """An agent took the conversation over from a help desk's bot: its latest customer turn, kept
        as context only, becomes the customer turn it is (its case grown, `outbox` queued for it, in
        one transaction), unless an agent's reply came after it. The turn, or None (nothing to take
        over, or taken over before: a repeat)."""
        m = ConversationMessage
        with self.db.session() as s:
            latest = s.scalars(
                select(m)
                .where(m.case_id == case_id, m.role == MessageRole.CUSTOMER)
                .order_by(m.ts.desc(), m.id.desc())
                .limit(1)
            ).first()
            if latest is None or not latest.context_only or latest.caller != caller:
                return None
            replied = select(m.id).where(
                m.case_id == case_id, m.role == MessageRole.AGENT, m.private.is_(False), _after(latest)
            )
            if s.scalars(replied.limit(1)).first() is not None:
                return None
            taken = s.execute(
                update(m).where(m.id == latest.id, m.context_only.is_(True)).values(context_only=False)
            )
            if getattr(taken, "rowcount", 0) != 1:  # a concurrent repeat took it
                return None
            s.refresh(latest)
            self._grow(s, latest, channel, customer_name)
            if outbox is not None:
                s.add(OutboxItem(**outbox, message_pk=latest.id, case_id=case_id, next_attempt_at=utcnow()))
            return latest

    def _grow(
        self, s: Session, turn: ConversationMessage, channel: str | None, customer_name: str | None
    ) -> tuple[tuple[Turn, ...], Case]:
        """Create or bring up to date the case of a new customer turn: the conversation before it, and
        the case."""
        # a new case is inserted, an existing one locked: concurrent first turns of a conversation
        # wait for each other instead of both creating it
        new_case = s.execute(
            self.db.insert(Case)
            .values(
                id=turn.case_id,
                channel=channel or "chat",
                message=turn.text,
                context=[],
                customer_name=customer_name,
                fields={},
                created_at=turn.ts,
                status=CaseStatus.OPEN,
                simulated=False,
            )
            .on_conflict_do_nothing(index_elements=["id"])
            .returning(Case.id)
        ).scalar()
        case = s.get(Case, turn.case_id, with_for_update=True, populate_existing=True)
        assert case is not None
        if new_case is None and case.purged_at is None and not self._has_customer_turns(s, turn):
            self._copy_imported(s, case, turn)
        thread = self._thread(s, turn)
        # the case shows the latest customer turn (by time: a turn may arrive out of order)
        latest = self._latest_customer_turn(s, turn.case_id)
        case.message, case.purged_at = latest.text, None
        # a message reopens the case (as Chatwoot reopens a resolved conversation), as of its
        # time, in the order the changes happened: one older than the case's last status change
        # (a resolution in the console, delivered late) leaves it as it is, and a help desk's
        # resolution older than the message, delivered late, must not close it again
        if case.status_changed_at is None or case.status_changed_at <= turn.ts:
            case.status, case.status_changed_at = CaseStatus.OPEN, turn.ts
        case.context = list(thread if latest.id == turn.id else self._thread(s, latest))
        case.customer_name = customer_name or case.customer_name
        case.channel = channel or case.channel
        return thread, case

    def context(self, turn: ConversationMessage) -> Added:
        """A stored customer turn with the conversation before it and its case's fields (to make
        the suggestion a first attempt did not record)."""
        with self.db.session() as s:
            case = s.get(Case, turn.case_id)
            fields = dict(case.fields or {}) if case is not None else {}
            name = case.customer_name if case is not None else None
            return Added(turn, False, self._thread(s, turn), fields, name)

    @staticmethod
    def _thread(s: Session, turn: ConversationMessage) -> tuple[Turn, ...]:
        q = (
            select(ConversationMessage)
            .where(
                ConversationMessage.case_id == turn.case_id,
                ConversationMessage.private.is_(False),
                ConversationMessage.purged_at.is_(None),  # `supportcue purge` took their text
                _before(turn),
            )
            .order_by(ConversationMessage.ts, ConversationMessage.id)
        )
        return tuple(_turn(m) for m in s.scalars(q))

    @staticmethod
    def _has_customer_turns(s: Session, turn: ConversationMessage) -> bool:
        q = select(ConversationMessage.id).where(
            ConversationMessage.case_id == turn.case_id,
            ConversationMessage.role == MessageRole.CUSTOMER,
            ConversationMessage.id != turn.id,
        )
        return s.scalars(q.limit(1)).first() is not None

    @staticmethod
    def _copy_imported(s: Session, case: Case, turn: ConversationMessage) -> None:
        """The imported case's context and message become its first turns (at its creation time)."""
        earlier = [
            t if isinstance(t, dict) else {"role": MessageRole.CUSTOMER, "text": str(t)}
            for t in (case.context or [])
        ]
        earlier.append({"role": MessageRole.CUSTOMER, "text": case.message})
        for t in earlier:
            text = str(t.get("text") or t.get("content") or "").strip()
            if text:
                said = t.get("role")
                role = (
                    MessageRole(said)
                    if said in (MessageRole.AGENT, MessageRole.BOT)
                    else MessageRole.CUSTOMER
                )
                s.add(
                    ConversationMessage(
                        caller=INTERNAL, case_id=case.id, role=role, text=text, ts=case.created_at
                    )
                )
        s.flush()

    @staticmethod
    def _latest_customer_turn(s: Session, case_id: str) -> ConversationMessage:
        q = (
            select(ConversationMessage)
            .where(ConversationMessage.case_id == case_id, ConversationMessage.role == MessageRole.CUSTOMER)
            .order_by(ConversationMessage.ts.desc(), ConversationMessage.id.desc())
        )
        return s.scalars(q.limit(1)).one()

    def add_agent(self, row: Mapping[str, Any]) -> tuple[ConversationMessage, bool]:
        """Store an agent turn (`row`: caller, message_id, case_id, text, ts, private, agent_id,
        event_id, suggestion_id, result, fingerprint); a message id stored before changes nothing."""
        now = utcnow()
        with self.db.session() as s:
            return self._insert(s, {"received_at": now, "ts": now, **row, "role": MessageRole.AGENT})

    def add_context(self, row: Mapping[str, Any]) -> tuple[ConversationMessage, bool]:
        """Store a turn kept as context alone (`row`: caller, message_id, case_id, role, text, ts,
        agent_id, fingerprint), its case left as it is; a message id stored before changes nothing."""
        now = utcnow()
        with self.db.session() as s:
            return self._insert(
                s, {"received_at": now, "ts": now, **row, "private": False, "context_only": True}
            )

    def answer(self, turn_id: int, suggestion_id: str, result: Mapping[str, Any]) -> ConversationMessage:
        """Record the suggestion made for a customer turn, unless one was recorded first (a
        concurrent repeat): the turn as stored, with the suggestion it kept."""
        with self.db.session() as s:
            s.execute(
                update(ConversationMessage)
                .where(ConversationMessage.id == turn_id, ConversationMessage.suggestion_id.is_(None))
                .values(suggestion_id=suggestion_id, result=dict(result))
            )
            turn = s.get(ConversationMessage, turn_id)
            assert turn is not None
            return turn

    def replies_since(self, turn: ConversationMessage) -> builtins.list[ConversationMessage]:
        """The agent replies of `turn`'s case sent at or after it that are `sent` events (not private,
        not purged), oldest first."""
        m = ConversationMessage
        q = select(m).where(
            m.case_id == turn.case_id,
            m.role == MessageRole.AGENT,
            m.private.is_(False),
            m.event_id.is_not(None),
            m.purged_at.is_(None),
            m.ts >= turn.ts,
        )
        return self.db.all(q.order_by(m.ts, m.id))

    def pair(self, reply: ConversationMessage, suggestion_id: str) -> None:
        """Record that an agent reply answers `suggestion_id`: on its turn and on its `sent` event (a
        purged event keeps its pairing: its similarity was measured before its text was removed)."""
        with self.db.session() as s:
            s.execute(
                update(ConversationMessage)
                .where(ConversationMessage.id == reply.id)
                .values(suggestion_id=suggestion_id, result={**reply.result, "suggestion_id": suggestion_id})
            )
            s.execute(
                update(Event)
                .where(Event.id == reply.event_id, Event.kind == EventKind.SENT, Event.purged_at.is_(None))
                .values(suggestion_id=suggestion_id)
            )

    def get(self, turn_id: int) -> ConversationMessage | None:
        return self.db.get(ConversationMessage, turn_id)

    def turns(self, case_id: str) -> builtins.list[ConversationMessage]:
        """The case's turns in conversation order (private notes included)."""
        q = select(ConversationMessage).where(ConversationMessage.case_id == case_id)
        return self.db.all(q.order_by(ConversationMessage.ts, ConversationMessage.id))

    def page(self, case_id: str, limit: int, offset: int) -> builtins.list[ConversationMessage]:
        """`limit` of the case's turns from `offset`, in conversation order (private notes included):
        the `ix_messages_case_ts` index reads them in that order."""
        q = select(ConversationMessage).where(ConversationMessage.case_id == case_id)
        q = q.order_by(ConversationMessage.ts, ConversationMessage.id)
        return self.db.all(q.limit(limit).offset(offset))

    def followed(self, turn: ConversationMessage) -> bool:
        """Whether a later turn (the customer's or an agent's, not private) came after `turn` in its
        conversation (a bot's does not count: "let me get you an agent" awaits the agent's reply)."""
        q = select(ConversationMessage.id).where(
            ConversationMessage.case_id == turn.case_id,
            ConversationMessage.private.is_(False),
            ConversationMessage.role != MessageRole.BOT,
            _after(turn),
        )
        return self.db.first(q) is not None

    def counts(self, caller: str, answered_before: datetime) -> dict[str, int]:
        """Turns a help desk's caller sent: customer turns (not those kept as context only), agent
        replies (`sent` events), and of the customer turns before `answered_before`, how many an
        agent reply received later followed."""
        reply = aliased(ConversationMessage)
        m = ConversationMessage
        answered = (
            exists()
            .where(
                reply.case_id == m.case_id,
                reply.role == MessageRole.AGENT,
                reply.event_id.is_not(None),
                reply.ts > m.ts,
            )
            .correlate(m)
        )
        # a message to a bot (context only) awaits no agent's reply
        customer = (m.caller == caller) & (m.role == MessageRole.CUSTOMER) & m.context_only.is_(False)
        due = customer & (m.ts < answered_before)
        q = select(
            func.count().filter(customer),
            func.count().filter(
                (m.caller == caller) & (m.role == MessageRole.AGENT) & m.event_id.is_not(None)
            ),
            func.count().filter(due),
            func.count().filter(due & answered),
        ).select_from(m)
        with self.db.session() as s:
            row = s.execute(q).one()
        return {
            "customer_messages": int(row[0] or 0),
            "agent_replies": int(row[1] or 0),
            "customer_messages_due": int(row[2] or 0),
            "customer_messages_answered": int(row[3] or 0),
        }
