"""How the labels of one case are resolved to the one label training, `labels issues` and
`labels stats` use (`training/dataset.py`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from supportcue.data.store import Store
from supportcue.review.store_issues import label_stats
from supportcue.settings import init_workspace, load_settings
from supportcue.training.dataset import labeled_cases, resolve

T0 = datetime(2026, 9, 1, tzinfo=UTC)
WEIGHTS = {"expert": 1.0, "sme": 1.0, "weak": 0.5}


def label(value: str, source: str, annotator: str, days: float, case_id: str = "c1") -> dict[str, object]:
    return {
        "case_id": case_id,
        "task": "topic",
        "value": value,
        "source": source,
        "annotator": annotator,
        "confidence": 1.0,
        "created_at": T0 + timedelta(days=days),
    }


def test_of_values_that_tie_the_one_labeled_last_wins() -> None:
    """A later label of the same weight is a correction: it wins whatever the values' spelling (a
    tie went to the first value in sorted order, so a correction from "billing" to "refunds" lost)."""
    later, earlier = T0 + timedelta(days=5), T0
    assert resolve([("c1", "billing", 1.0, earlier), ("c1", "refunds", 1.0, later)]) == {
        "c1": ("refunds", 1.0)
    }
    assert resolve([("c1", "refunds", 1.0, earlier), ("c1", "billing", 1.0, later)]) == {
        "c1": ("billing", 1.0)
    }
    # more weight still wins over a later label, and votes without a time keep the sorted order
    assert resolve(
        [("c1", "billing", 1.0, earlier), ("c1", "billing", 0.5, earlier), ("c1", "refunds", 1.0, later)]
    ) == {"c1": ("billing", 1.0)}
    assert resolve([("c1", "refunds", 1.0), ("c1", "billing", 1.0)]) == {"c1": ("billing", 1.0)}


@pytest.mark.parametrize(("given", "corrected"), [("billing", "refunds"), ("refunds", "billing")])
def test_a_reviewers_correction_of_an_experts_label_is_what_the_next_fit_learns(
    store: Store, tmp_path: object, given: str, corrected: str
) -> None:
    """An SME who corrects an expert's topic (in /review, or a decisions file imported with
    source sme) is heard: training, `labels issues` and `labels stats` read the corrected topic."""
    store.cases.upsert([{"id": "c1", "message": "Where is my money back?", "created_at": T0}])
    store.labels.add([label(given, "expert", "chen", 0), label(corrected, "sme", "olga", 30)])
    assert labeled_cases(store, "topic", WEIGHTS).labels == [corrected]
    init_workspace(tmp_path)  # type: ignore[arg-type]
    settings = load_settings(tmp_path, environ={})  # type: ignore[arg-type]
    counts = {c["label"]: c["count"] for c in label_stats(store, settings, "topic")["counts"]}
    assert counts.get(corrected) == 1 and not counts.get(given)


def test_a_correction_is_heard_after_weak_apply_labeled_the_case_too(store: Store) -> None:
    """`weak apply` labels every case, the ones people labeled too, and its vote echoes the label it was
    fitted on: an SME's later correction of an expert's topic (1.0 against 1.0 + 0.5) lost, and so did
    any person's label against two machine votes. A case a person labeled is read from the people's
    labels alone; the machines' votes count where no person gave one."""
    weights = {**WEIGHTS, "agent": 0.8, "model": 0.3}
    store.cases.upsert(
        [
            {"id": "c1", "message": "Where is my money back?", "created_at": T0},
            {"id": "c2", "message": "My payout is late", "created_at": T0},
            {"id": "c3", "message": "I was charged twice", "created_at": T0},
        ]
    )
    store.labels.add(
        [
            label("billing", "expert", "chen", 0),
            label("billing", "weak", "lfs", 1),
            label("refunds", "sme", "olga", 30),
            label("payouts", "agent", "sam", 0, case_id="c2"),
            label("billing", "weak", "lfs", 1, case_id="c2"),
            label("billing", "model", "topic-v1", 1, case_id="c2"),
            label("billing", "weak", "lfs", 1, case_id="c3"),
        ]
    )
    data = labeled_cases(store, "topic", weights)
    assert dict(zip(data.case_ids, data.labels, strict=True)) == {
        "c1": "refunds",
        "c2": "payouts",
        "c3": "billing",
    }
