"""Integration health: is each help desk connected, are its notes posted, do its replies come back?

Read from the store, so it survives restarts and counts every process:

- **received**: the customer messages and agent replies its webhook delivered (stored turns);
- **notes**: posted, skipped (nothing to show, notes off, a later message first), failed (given up),
  pending; failed attempts; when the last note was posted; how old the oldest pending one is, and the
  last error;
- **reply capture**: of its customer messages older than `ANSWER_WINDOW`, the share followed by an
  agent reply that arrived as a `sent` event. Agents answer nearly every message, so a low share
  means the replies are not reaching supportcue (the webhook does not send outgoing messages, or
  they are lost), and the match rate is then measured on too few of them.

`HealthCollector` gives Prometheus the same as gauges at each scrape (the counts since start are
the service's counters, `supportcue_webhooks_total` and `supportcue_helpdesk_notes_total`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from supportcue.data.store import Store
from supportcue.data.tables import utcnow
from supportcue.integrations.base import caller_id

ANSWER_WINDOW = timedelta(hours=1)
"""A customer message younger than this may still be waiting for its reply: not counted yet."""

log = logging.getLogger("supportcue.monitoring")


def helpdesk_health(store: Store, help_desk: str, now: datetime | None = None) -> dict[str, Any]:
    """The health of one help desk's connection (see the module docstring)."""
    now = now or utcnow()
    received = store.conversations.counts(caller_id(help_desk), now - ANSWER_WINDOW)
    notes = store.outbox.health(help_desk)
    due, answered = received["customer_messages_due"], received["customer_messages_answered"]
    return {
        "help_desk": help_desk,
        **received,
        "reply_capture": round(answered / due, 4) if due else None,
        "notes": notes,
    }


class HealthCollector(Collector):
    """`helpdesk_health` as Prometheus gauges, per help desk, read at each scrape."""

    def __init__(self, store: Store, help_desks: Sequence[str]) -> None:
        self.store = store
        self.help_desks = tuple(help_desks)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        pending = GaugeMetricFamily(
            "supportcue_helpdesk_notes_pending", "Notes waiting to be posted", labels=["help_desk"]
        )
        last = GaugeMetricFamily(
            "supportcue_helpdesk_last_posted_timestamp_seconds",
            "When the last note was posted (Unix time)",
            labels=["help_desk"],
        )
        capture = GaugeMetricFamily(
            "supportcue_helpdesk_reply_capture_ratio",
            "Of the customer messages older than an hour, the share followed by an agent reply "
            "received as a sent event",
            labels=["help_desk"],
        )
        for name in self.help_desks:
            try:
                health = helpdesk_health(self.store, name)
            except Exception as exc:  # a scrape must not fail because the database is down
                log.warning("integration health of %s: %s", name, type(exc).__name__)
                continue
            notes = health["notes"]
            pending.add_metric([name], notes["pending"])
            if notes["last_posted_at"] is not None:
                last.add_metric([name], notes["last_posted_at"].timestamp())
            if health["reply_capture"] is not None:
                capture.add_metric([name], health["reply_capture"])
        yield from (pending, last, capture)
