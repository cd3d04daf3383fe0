"""Drift alerts put review items in the queue (reason `drift_alert`, each naming its alert), once
however often `supportcue drift` runs, and those items never enter the random sample behind the
online precision estimate. A small history (tests/review/drift_seed.py), the model-free embedder."""

from __future__ import annotations

from collections import Counter

from tests.review.drift_seed import seed_drift

from supportcue.data.store import Store
from supportcue.embeddings import HashingEmbedder
from supportcue.monitoring.drift import run_drift
from supportcue.review.queue import queue_for, refresh
from supportcue.review.record import ReviewInput, submit
from supportcue.review.stats import review_stats
from supportcue.settings import Settings
from supportcue.vocab import ReviewKind, ReviewReason, Verdict


def _settings(review_items: int = 5) -> Settings:
    s = Settings()
    s.drift = s.drift.model_copy(update={"review_items": review_items})
    s.review = s.review.model_copy(update={"overlap_share": 0.0})
    return s


def _alert_items(store: Store) -> list:  # type: ignore[type-arg]
    return [i for kind in ReviewKind for i in store.reviews.items_of_kind(kind) if i.alert_id is not None]


def test_an_alert_queues_review_items_linked_to_it_and_a_rerun_adds_none(store: Store) -> None:
    data = seed_drift(store)
    s = _settings()
    result = run_drift(store, s, HashingEmbedder())
    by_kind = {a["kind"]: a for a in result["alerts"]}
    assert {"answer_match_drop", "new_topic_cluster"} <= set(by_kind)
    items = _alert_items(store)
    assert result["review_items"] == len(items) > 0
    assert all(i.reason == ReviewReason.DRIFT_ALERT for i in items)
    # the JSON names each alert's stored id and exactly the items linked to it
    for a in result["alerts"]:
        linked = sorted(i.id for i in items if i.alert_id == a["id"])
        assert sorted(a["review_item_ids"]) == linked and 0 < len(linked) <= 5
    # a dropping answer: suggestions of it whose sent reply did not match, the reply beside them
    drop = [i for i in items if i.alert_id == by_kind["answer_match_drop"]["id"]]
    assert {i.kind for i in drop} == {ReviewKind.SUGGESTION}
    assert {i.suggestion_id for i in drop} <= set(data["unmatched"])
    assert all(i.topic == "payouts" and "event_id" in i.details for i in drop)
    # a candidate new topic: its cluster (terms, cases) and its example messages, all wallet cases
    new = [i for i in items if i.alert_id == by_kind["new_topic_cluster"]["id"]]
    kinds = Counter(i.kind for i in new)
    assert kinds[ReviewKind.CLUSTER] == 1 and kinds[ReviewKind.MESSAGE] >= 1
    assert {i.case_id for i in new} <= set(data["wallet"])
    cluster = next(i for i in new if i.kind == ReviewKind.CLUSTER)
    assert set(cluster.details["case_ids"]) <= set(data["wallet"]) and cluster.details["terms"]
    # running drift again (the same alerts, raised again) adds no item and no alert
    again = run_drift(store, s, HashingEmbedder())
    assert again["new"] == 0 and again["review_items"] == 0
    assert sorted(i.id for i in _alert_items(store)) == sorted(i.id for i in items)
    assert [a["review_item_ids"] for a in again["alerts"]] == [a["review_item_ids"] for a in result["alerts"]]


def test_alert_items_stay_out_of_the_random_sample_and_the_precision_estimate(store: Store) -> None:
    seed_drift(store)
    s = _settings(review_items=2)
    s.review = s.review.model_copy(update={"random_share": 0.1, "window_days": 30})
    run_drift(store, s, HashingEmbedder())
    refresh(store, s)
    alert_items = _alert_items(store)
    assert alert_items and max(Counter(i.alert_id for i in alert_items).values()) <= 2  # the cap
    randoms = store.reviews.open_for("user:rita", 500, random=True)
    assert randoms and not {i.id for i in randoms} & {i.id for i in alert_items}
    # the queue serves alert items as active learning, never in the random slots
    page = queue_for(store, s, "user:rita", 50)
    assert {i.id for i in alert_items} <= {i.id for i in page if i.reason != ReviewReason.RANDOM}
    # alert items judged incorrect, random ones correct: the estimate reads the random ones only
    for i in alert_items:
        submit(store, s, ReviewInput(i.id, Verdict.INCORRECT), "user:rita")
    for i in randoms:
        submit(store, s, ReviewInput(i.id, Verdict.CORRECT), "user:rita")
    stats = review_stats(store)
    assert stats["n_reviewed"] == len(alert_items) + len(randoms)
    assert stats["n_random"] == len(randoms) and stats["online_precision"] == 1.0
