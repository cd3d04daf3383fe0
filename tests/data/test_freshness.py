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


def test_only_peoples_expired_labels_ask_for_a_person_again(store: Store) -> None:
    """A machine's label (weak: `weak apply`, `weak propagate`, `batch label`) expiring asks for no
    review: it is refreshed by running the machine again, and a back-fill's expiry would flood the
    SME queue with cases no person ever labeled. Nor does a live machine label stand in for a
    person's expired one: `weak apply` labels nearly every case, so no SME label would ever be
    offered again."""
    store.cases.upsert([{"id": c, "message": "m"} for c in ("c1", "c2", "c3")])
    day = timedelta(days=1)
    store.labels.add(
        [
            # c1: a person's label expired; weak apply's label of the case is live
            {"case_id": "c1", "task": "topic", "value": "a", "source": "sme", "expires_at": NOW - day},
            {
                "case_id": "c1",
                "task": "topic",
                "value": "a",
                "source": "weak",
                "annotator": "label_model:majority",
                "expires_at": NOW + 30 * day,
            },
            # c2: only a back-fill's weak label, expired
            {
                "case_id": "c2",
                "task": "topic",
                "value": "b",
                "source": "weak",
                "annotator": "batch",
                "expires_at": NOW - 2 * day,
            },
            # c3: an agent's label expired
            {
                "case_id": "c3",
                "task": "validity",
                "value": "valid",
                "source": "agent",
                "expires_at": NOW - 3 * day,
            },
        ]
    )
    assert [(r[0], r[1]) for r in store.labels.expired_cases(now=NOW)] == [
        ("c3", "validity"),
        ("c1", "topic"),
    ]
