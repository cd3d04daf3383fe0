"""`supportcue purge --older-than DAYS`: remove old cases' text, keep the metrics.

The queries are `data/retention.py`'s (what is removed and what is kept is written there); this
module walks the old cases in chunks, one transaction each, and gives the store the scorer of the
online metrics, so a purged `sent` reply keeps the similarity `report` measured from its text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from supportcue.data.retention import SentPair
from supportcue.data.store import Store
from supportcue.monitoring.facts import NONE_KEY, Facts, Keys, Pair
from supportcue.monitoring.metrics import score

CHUNK = 500
"""Cases per transaction: short enough not to hold locks for long on a live database."""


def _scores(pairs: Sequence[SentPair]) -> list[tuple[float | None, float | None]]:
    """The similarities `report` computes for these pairs (the same function, so the same numbers)."""
    facts = Facts(
        pairs=[
            Pair(
                keys=Keys(day=NONE_KEY),
                suggested=p.suggested,
                sent=p.sent,
                customer_name=p.customer_name,
                shadow_text=p.shadow_text,
                shadow_stages=p.shadow_stages,
            )
            for p in pairs
        ]
    )
    return [(sim, shadow) for _, sim, shadow in score(facts)]


def purge(
    store: Store,
    older_than_days: float,
    now: datetime | None = None,
    dry_run: bool = False,
    chunk: int = CHUNK,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Purge the text of cases created more than `older_than_days` ago (and of their suggestions and
    events, and of suggestions made without a case); returns what was (or, dry, would be) purged."""
    if older_than_days < 0:
        raise ValueError(f"--older-than must be 0 or more days, not {older_than_days}")
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(days=older_than_days)
    result: dict[str, Any] = {"cutoff": cutoff.isoformat(), "dry_run": dry_run}
    if dry_run:
        return result | store.retention.count(cutoff)
    totals = dict.fromkeys(
        ("cases", "suggestions", "events", "messages", "caseless_suggestions", "transactions"), 0
    )
    while ids := store.retention.old_cases(cutoff, chunk):
        done = store.retention.purge_cases(ids, _scores, now)
        for key, n in done.items():
            totals[key] += n
        totals["transactions"] += 1
        if progress:
            progress(totals["cases"])
    while ids := store.retention.old_caseless_suggestions(cutoff, chunk):
        totals["caseless_suggestions"] += store.retention.purge_suggestions(ids, now)
        totals["transactions"] += 1
    return result | totals
