"""Labels past their expiry leave training, and their cases are listed for review again
(`review/queue.py` queues them as `expired_label` items)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from supportcue.data.store import Store

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def test_cases_whose_labels_expired_can_be_requeued(store: Store) -> None:
    store.cases.upsert([{"id": c, "message": "m"} for c in ("c1", "c2", "c3", "c4")])
    day = timedelta(days=1)
    store.labels.add(
        [
            {"case_id": "c1", "task": "topic", "value": "a", "source": "sme", "expires_at": NOW - 3 * day},
            {"case_id": "c2", "task": "topic", "value": "b", "source": "sme", "expires_at": NOW - day},
            # c3: an expired label, but a newer one still holds
            {"case_id": "c3", "task": "topic", "value": "a", "source": "sme", "expires_at": NOW - day},
            {"case_id": "c3", "task": "topic", "value": "a", "source": "expert"},
            {"case_id": "c4", "task": "validity", "value": "valid", "source": "sme", "expires_at": NOW + day},
        ]
    )
    expired = store.labels.expired_cases(now=NOW)
    assert [(r[0], r[1]) for r in expired] == [("c1", "topic"), ("c2", "topic")]  # oldest expiry first
    assert {lb.case_id for lb in store.labels.list("topic", now=NOW)} == {"c3"}  # they left training
    assert store.labels.expired_cases(task="validity", now=NOW + 2 * day)[0][0] == "c4"
