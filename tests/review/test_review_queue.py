"""The review queue on a real store: what active learning picks and why, the random sample per topic,
blind overlap, the `sme` labels reviews become (and that `train` reads), and `review stats` against a
hand-computed Wilson interval and the `krippendorff` package."""

from __future__ import annotations

import math
from datetime import timedelta
from pathlib import Path

import krippendorff
import numpy as np
import pytest
from tests.review.seed import NOW, TOPICS, seed, stats_fixture

from supportcue.data.importer import import_file
from supportcue.data.store import Store
from supportcue.errors import ReviewConflict, ReviewError
from supportcue.review.queue import interleave, item_id, item_row, queue_for, random_sample, refresh
from supportcue.review.record import ReviewInput, submit
from supportcue.review.stats import NOTE, review_stats, wilson
from supportcue.settings import Settings
from supportcue.training.dataset import labeled_cases
from supportcue.vocab import ReviewFlag, ReviewKind, ReviewReason, Verdict


def settings(**review: float) -> Settings:
    s = Settings()
    s.review = s.review.model_copy(update=review)
    return s


def test_refresh_queues_each_kind_of_item_once_and_says_why(store: Store) -> None:
    data = seed(store)
    added = refresh(store, settings(overlap_share=0.0), NOW)
    items = {i.key: i for i in _all(store)}
    assert len(items) == added
    reasons = {i.key: i.reason for i in items.values()}
    assert reasons["suggestion:s-low"] == ReviewReason.LOW_CONFIDENCE
    assert reasons["suggestion:s-near"] == ReviewReason.NEAR_THRESHOLD
    assert reasons["suggestion:s-shadow"] == ReviewReason.SHADOW_DISAGREEMENT
    assert reasons["suggestion:s-dis"] == ReviewReason.DISMISSED
    assert reasons["message:c-unm"] == ReviewReason.UNMATCHED_REPLY
    assert items["message:c-unm"].details["similarity"] < 0.7
    clusters = [i for i in items.values() if i.kind == ReviewKind.CLUSTER]
    assert len(clusters) == 1 and clusters[0].reason == ReviewReason.NO_TOPIC_CLUSTER
    assert set(clusters[0].details["case_ids"]) == set(data["no_topic"])
    assert "crypto" in clusters[0].details["terms"] and "wallet" in clusters[0].details["terms"]
    # the random sample: ceil(5%) of each topic's shown suggestions (the special ones count too)
    randoms = [i for i in items.values() if i.reason == ReviewReason.RANDOM]
    shown = dict(TOPICS)
    shown["payouts"] += 2  # s-low, s-shadow
    shown["refunds"] += 1  # s-unm
    shown["login"] += 1  # s-dis
    per_topic = {t: sum(i.topic == t for i in randoms) for t in TOPICS}
    assert per_topic == {t: math.ceil(0.05 * n) for t, n in shown.items()}
    assert refresh(store, settings(overlap_share=0.0), NOW) == 0  # nothing new: nothing added


def test_a_dismissal_the_agent_undid_does_not_queue_the_suggestion(store: Store) -> None:
    """The console's Undo (an `undismissed` event after the dismissal): not a dismissed suggestion."""
    from tests.review.seed import _e

    seed(store)
    store.events.add(_e("undo", "c-dis", "undismissed", "s-dis", 112))
    refresh(store, settings(overlap_share=0.0), NOW)
    reasons = {i.key: i.reason for i in _all(store)}
    assert reasons.get("suggestion:s-dis") != ReviewReason.DISMISSED


def _all(store: Store) -> list:  # type: ignore[type-arg]
    return [i for kind in ReviewKind for i in store.reviews.items_of_kind(kind)]


def test_random_sample_is_proportional_per_topic_and_stable() -> None:
    shown = [(f"s{i}", "a" if i < 100 else "b", False) for i in range(130)]
    chosen = random_sample(shown, 0.1)
    assert sum(t == "a" for _, t, _ in chosen) == 10 and sum(t == "b" for _, t, _ in chosen) == 3
    assert set(random_sample(list(reversed(shown)), 0.1)) == set(chosen)  # the order read does not matter
    assert random_sample(shown, 0.0) == []


def test_interleave_spreads_random_items() -> None:
    assert interleave([1, 2, 3, 4, 5, 6], ["r1", "r2"]) == [1, 2, "r1", 3, 4, 5, "r2", 6]
    assert interleave([1, 2], []) == [1, 2]
    assert interleave([], ["r"]) == ["r"]


def test_queue_gives_random_items_beside_active_ones_and_leaves_out_reviewed(store: Store) -> None:
    seed(store)
    s = settings(overlap_share=0.0, random_slots=0.2)
    page = queue_for(store, s, "user:rita", 5, NOW)
    assert [i.reason == ReviewReason.RANDOM for i in page] == [False, False, True, False, False]
    active = [i.score for i in page if i.reason != ReviewReason.RANDOM]
    assert active == sorted(active, reverse=True)  # most informative first
    assert page[0].reason == ReviewReason.SHADOW_DISAGREEMENT
    # six active-learning items in all: random ones fill the rest of a longer page
    page = queue_for(store, s, "user:rita", 10, NOW)
    assert sum(i.reason == ReviewReason.RANDOM for i in page) == 4
    first = page[0]
    submit(store, s, ReviewInput(first.id, Verdict.CORRECT, topic=None), "user:rita", now=NOW)
    again = queue_for(store, s, "user:rita", 50, NOW)
    assert first.id not in {i.id for i in again}
    assert first.id not in {i.id for i in queue_for(store, s, "user:sam", 50, NOW)}  # one review wanted


def test_blind_overlap_gives_an_item_to_two_reviewers(store: Store) -> None:
    seed(store)
    s = settings(overlap_share=1.0)
    item = queue_for(store, s, "user:rita", 1, NOW)[0]
    assert item.reviews_wanted == 2
    submit(store, s, ReviewInput(item.id, Verdict.CORRECT), "user:rita", now=NOW)
    assert item.id in {i.id for i in queue_for(store, s, "user:sam", 50, NOW)}
    submit(store, s, ReviewInput(item.id, Verdict.INCORRECT), "user:sam", now=NOW)
    assert item.id not in {i.id for i in queue_for(store, s, "user:tom", 50, NOW)}
    with pytest.raises(ReviewConflict, match=r"user:rita reviewed item \S+ already"):
        submit(store, s, ReviewInput(item.id, Verdict.INCORRECT), "user:rita", now=NOW)


def test_reviews_become_sme_labels_that_train_reads(store: Store) -> None:
    data = seed(store)
    s = settings(overlap_share=0.0, label_days=30)
    refresh(store, s, NOW)
    low = store.reviews.item(item_id("suggestion:s-low"))
    assert low is not None
    _, labels = submit(
        store,
        s,
        ReviewInput(low.id, Verdict.INCORRECT, topic="refunds", flags=[ReviewFlag.WRONG_TOPIC]),
        "user:rita",
        now=NOW,
    )
    assert {(lb["task"], lb["value"]) for lb in labels} == {
        ("response_quality", "incorrect"),
        ("topic", "refunds"),
    }
    stored = [lb for lb in store.labels.list("topic", now=NOW) if lb.case_id == "c-low"]
    assert [(lb.source, lb.annotator, lb.value) for lb in stored] == [("sme", "user:rita", "refunds")]
    assert stored[0].expires_at is not None and (stored[0].expires_at - NOW).days == 30
    message = store.reviews.item(item_id("message:c-unm"))
    assert message is not None
    submit(store, s, ReviewInput(message.id, Verdict.INCORRECT, valid=False), "user:rita", now=NOW)
    validity = [lb for lb in store.labels.list("validity", now=NOW) if lb.case_id == "c-unm"]
    assert [(lb.value, lb.source) for lb in validity] == [("invalid", "sme")]
    cluster = next(i for i in store.reviews.items_of_kind(ReviewKind.CLUSTER))
    submit(store, s, ReviewInput(cluster.id, Verdict.CORRECT, topic="crypto_wallet"), "user:rita", now=NOW)
    # train's data set: the sme topic labels, weighted by the sme weight
    trained = labeled_cases(store, "topic", s.labels.source_weights, now=NOW)
    assert set(data["no_topic"]) < set(trained.case_ids)
    assert trained.labels[trained.case_ids.index("c-low")] == "refunds"
    assert trained.sources == {"sme": 1 + len(data["no_topic"])}
    # and they leave training once expired
    later = NOW + timedelta(days=31)
    assert "c-low" not in labeled_cases(store, "topic", s.labels.source_weights, now=later).case_ids


def test_a_review_that_does_not_fit_its_item_is_refused(store: Store) -> None:
    seed(store)
    s = settings(overlap_share=0.0)
    refresh(store, s, NOW)
    low = item_id("suggestion:s-low")
    with pytest.raises(ReviewError, match="topic 'nope' is not a topic of this workspace"):
        submit(store, s, ReviewInput(low, Verdict.CORRECT, topic="nope"), "user:rita", now=NOW)
    with pytest.raises(ReviewError, match="`valid` is for message items"):
        submit(store, s, ReviewInput(low, Verdict.CORRECT, valid=True), "user:rita", now=NOW)
    cluster = store.reviews.items_of_kind(ReviewKind.CLUSTER)[0].id
    with pytest.raises(ReviewError, match="needs `topic`"):
        submit(store, s, ReviewInput(cluster, Verdict.CORRECT), "user:rita", now=NOW)
    with pytest.raises(LookupError, match="no review item"):
        submit(store, s, ReviewInput("ri_missing", Verdict.CORRECT), "user:rita", now=NOW)
    assert store.reviews.list() == []  # nothing stored
    assert store.labels.list("topic", now=NOW) == []


# -- review stats -----------------------------------------------------------------------------------
def test_review_stats_against_a_hand_computed_wilson_interval(store: Store) -> None:
    stats_fixture(store)
    r = review_stats(store, match_rate=0.41)
    assert r["n_reviewed"] == 31
    assert r["n_random"] == 20
    assert r["online_precision"] == pytest.approx(0.8)  # 16 / 20; the 5 incorrect AL items left out
    # Wilson 95%, 16 of 20, computed by hand: centre (0.8 + z²/40) / (1 + z²/20), z = 1.96
    assert r["ci_low"] == pytest.approx(0.58398, abs=1e-4)
    assert r["ci_high"] == pytest.approx(0.91934, abs=1e-4)
    assert r["match_rate"] == 0.41
    assert r["note"] == NOTE and "random sample" in NOTE and "biased" in NOTE
    payouts = r["by_topic"]["payouts"]
    assert (payouts["n"], payouts["correct"], payouts["partially_correct"]) == (14, 14, 0)
    refunds = r["by_topic"]["refunds"]
    assert (refunds["n"], refunds["correct"]) == (6, 2)
    assert (refunds["ci_low"], refunds["ci_high"]) == pytest.approx(wilson(2, 6))
    assert set(r) >= {"n_reviewed", "online_precision", "ci_low", "ci_high", "alpha", "by_topic"}


def test_wilson_known_values() -> None:
    assert wilson(0, 0) == (None, None)
    low, high = wilson(0, 10)
    assert low == 0.0 and high == pytest.approx(0.27753, abs=1e-4)
    low, high = wilson(10, 10)
    assert low == pytest.approx(0.72247, abs=1e-4) and high == pytest.approx(1.0)


def test_alpha_matches_the_krippendorff_package(store: Store) -> None:
    _, matrix = stats_fixture(store)
    r = review_stats(store)
    expected = krippendorff.alpha(
        reliability_data=matrix, value_domain=[0, 1, 2], level_of_measurement="ordinal"
    )
    assert r["alpha"] == pytest.approx(float(expected))
    assert r["alpha_by_task"]["verdict"] == r["alpha"]
    assert r["alpha_by_task"]["topic"] is None  # no topic was given by two reviewers
    (pair,) = r["alpha_by_pair"]
    assert (pair["annotator_a"], pair["annotator_b"], pair["n_items"], pair["task"]) == (
        "user:rita",
        "user:sam",
        6,
        "verdict",
    )
    shared = ~np.isnan(matrix[1])
    pair_expected = krippendorff.alpha(
        reliability_data=matrix[:, shared], value_domain=[0, 1, 2], level_of_measurement="ordinal"
    )
    assert pair["alpha"] == pytest.approx(float(pair_expected))
    # nominal, by hand: 2 coders, 4 units, one disagreement (c vs b on unit 4)
    from supportcue.review.agreement import krippendorff_alpha

    pairs = [
        (1, "p", "a"),
        (1, "q", "a"),
        (2, "p", "b"),
        (2, "q", "b"),
        (3, "p", "a"),
        (3, "q", "a"),
        (4, "p", "c"),
        (4, "q", "b"),
    ]
    # pooled values: a a b b a a c b -> a:4, b:3, c:1; D_o = 2/8; D_e = 1 - (4*3 + 3*2 + 0)/(8*7)
    hand = 1 - (2 / 8) / (1 - (4 * 3 + 3 * 2) / 56)
    assert krippendorff_alpha(pairs) == pytest.approx(hand)


def test_reasons_take_turns_on_a_page(store: Store) -> None:
    seed(store)
    s = settings(overlap_share=0.0, random_slots=0.0)
    extra = [
        {
            "id": f"ri_x{n}",
            "key": f"suggestion:x{n}",
            "kind": "suggestion",
            "reason": "shadow_disagreement",
            "score": 0.95,
            "created_at": NOW,
        }
        for n in range(10)
    ]
    store.reviews.add_items(extra)
    page = queue_for(store, s, "user:rita", 4, NOW)
    assert page[0].id.startswith("ri_x")  # the best item first
    assert len({i.reason for i in page}) == 4  # then the other reasons, not nine more of the same


def test_a_case_whose_labels_expired_is_queued_and_its_review_labels_it_afresh(store: Store) -> None:
    """Labels leave training when they expire; the queue offers the case again, oldest expiry first,
    and once reviewed it is not offered again until its new labels expire in turn."""
    day = timedelta(days=1)
    store.library.upsert_topics([{"key": t, "name": t.title()} for t in ("payouts", "refunds")])
    store.cases.upsert([{"id": c, "message": f"where is my refund {c}?"} for c in ("c1", "c2", "c3")])

    def label(case_id: str, task: str, value: str, expires_in: timedelta) -> dict[str, object]:
        expires_at = NOW + expires_in
        return {"case_id": case_id, "task": task, "value": value, "source": "sme", "expires_at": expires_at}

    store.labels.add(
        [
            label("c1", "topic", "payouts", -day),
            label("c2", "topic", "payouts", -3 * day),
            label("c2", "validity", "valid", -2 * day),
            label("c3", "topic", "payouts", day),  # still live
        ]
    )

    def expired_items() -> list:  # type: ignore[type-arg]
        items = (i for i in _all(store) if i.reason == ReviewReason.EXPIRED_LABEL)
        return sorted(items, key=lambda i: i.case_id)

    refresh(store, settings(per_reason=1), now=NOW)  # one a refresh: the oldest expiry first
    assert [(i.case_id, i.kind, i.details["expired"]) for i in expired_items()] == [
        ("c2", ReviewKind.MESSAGE, ["topic", "validity"])
    ]
    s = settings()
    refresh(store, s, now=NOW)
    items = expired_items()
    assert [i.case_id for i in items] == ["c1", "c2"]
    assert refresh(store, s, now=NOW) == 0  # the same expiry is queued once

    review = ReviewInput(item_id=items[1].id, verdict=Verdict.CORRECT, topic="refunds")
    submit(store, s, review, "ana", now=NOW)
    assert [r[0] for r in store.labels.expired_cases(now=NOW)] == ["c1"]
    live = {(lb.task, lb.value) for lb in store.labels.list(now=NOW) if lb.case_id == "c2"}
    assert live == {("topic", "refunds"), ("validity", "valid")}


def test_a_workspace_built_by_import_knows_its_topics_so_reviewers_can_correct_one(
    store: Store, tmp_path: Path
) -> None:
    """Outside the demo nothing but the imported answers and labels name the topics: a reviewer's
    topic must be checked against those, not refused because the topics table stayed empty."""
    store.library.upsert_topics([{"key": "refunds", "name": "Refunds", "description": "money back"}])
    files = {
        "answers": "id,topic,title,body\na1,refunds,Refund,We refund in 5 days.\n"
        "a2,payouts,Payout,Payouts go out daily.\n",
        "cases": "id,message\nc1,where is my box?\nc2,hello\n",
        "labels": "case_id,task,value,source\nc1,topic,late_delivery,expert\nc1,validity,valid,expert\n"
        "c2,topic,weak_guess,weak\n",
    }
    for kind, text in files.items():
        path = tmp_path / f"{kind}.csv"
        path.write_text(text)
        assert import_file(store, kind, path).committed
    topics = {t.key: t for t in store.library.topics()}
    assert sorted(topics) == ["late_delivery", "payouts", "refunds"]
    assert (topics["refunds"].name, topics["refunds"].description) == ("Refunds", "money back")
    s = settings()
    store.reviews.add_items(
        [item_row(s, "message:c1", ReviewKind.MESSAGE, ReviewReason.RANDOM, 0.5, NOW, case_id="c1")]
    )
    _, labels = submit(
        store, s, ReviewInput(item_id("message:c1"), Verdict.INCORRECT, topic="payouts"), "ana", now=NOW
    )
    assert ("topic", "payouts") in {(lb["task"], lb["value"]) for lb in labels}
    with pytest.raises(ReviewError, match="weak_guess"):
        submit(
            store, s, ReviewInput(item_id("message:c1"), Verdict.INCORRECT, topic="weak_guess"), "bo", now=NOW
        )


def test_a_new_topic_named_for_a_cluster_is_a_topic_reviewers_can_then_give(store: Store) -> None:
    """A cluster's review may name a new topic; its cases were labeled with it, but it stayed unknown,
    so correcting any other message to that topic was refused."""
    seed(store)
    s = settings(overlap_share=0.0)
    refresh(store, s, NOW)
    cluster = next(i for i in store.reviews.items_of_kind(ReviewKind.CLUSTER))
    submit(store, s, ReviewInput(cluster.id, Verdict.CORRECT, topic="crypto_wallet"), "user:rita", now=NOW)
    assert "crypto_wallet" in {t.key for t in store.library.topics()}
    message = store.reviews.item(item_id("message:c-unm"))
    assert message is not None
    _, labels = submit(
        store, s, ReviewInput(message.id, Verdict.INCORRECT, topic="crypto_wallet"), "user:rita", now=NOW
    )
    assert ("topic", "crypto_wallet") in {(lb["task"], lb["value"]) for lb in labels}


def test_an_expired_label_is_shown_for_review_and_correct_renews_it(store: Store) -> None:
    """An expired-label item named no topic, so the page said "Proposed topic: none (the assistant
    found no topic for it)" about a case an expert had labeled `payouts`, and a reviewer who judged
    it "correct" renewed its validity but not its topic: the case stayed out of topic training. The
    item proposes the expired topic now, and says when it expired."""
    store.cases.upsert([{"id": "c1", "message": "when is my payout?", "created_at": NOW - timedelta(days=9)}])
    old = {"case_id": "c1", "source": "expert", "annotator": "maya", "expires_at": NOW - timedelta(days=1)}
    store.labels.add(
        [{**old, "task": "topic", "value": "payouts"}, {**old, "task": "validity", "value": "valid"}]
    )
    s = settings()
    refresh(store, s, now=NOW)
    (item,) = [i for i in _all(store) if i.reason == ReviewReason.EXPIRED_LABEL]
    assert item.topic == "payouts" and item.details["expired_topic"] == "payouts"
    submit(store, s, ReviewInput(item_id=item.id, verdict=Verdict.CORRECT), "ana", now=NOW)
    live = {(lb.task, lb.value) for lb in store.labels.list(now=NOW) if lb.case_id == "c1"}
    assert live == {("topic", "payouts"), ("validity", "valid")}
    assert store.labels.expired_cases(now=NOW) == []


def _named_cluster(store: Store) -> list[str]:
    """Eight messages no topic claims, each signed with the customer's name (Zelda Quist)."""
    from tests.review.seed import NO_TOPIC, _s

    ids = [f"c-z-{i}" for i in range(len(NO_TOPIC))]
    store.cases.upsert(
        [
            {"id": cid, "message": f"Zelda here: {text}. Thanks, Zelda Quist", "customer_name": "Zelda Quist"}
            for cid, text in zip(ids, NO_TOPIC, strict=True)
        ]
    )
    store.cases.add_suggestions(
        [
            _s(f"s-z-{i}", cid, 120 + i, abstained_at="topic", mode="none", confidence=0.2)
            for i, cid in enumerate(ids)
        ]
    )
    return ids


def test_a_no_topic_clusters_terms_come_from_masked_messages(store: Store) -> None:
    """A cluster item's terms are stored (and outlive a purge): the customer's name was one."""
    ids = _named_cluster(store)
    refresh(store, settings(overlap_share=0.0), NOW)
    (cluster,) = store.reviews.items_of_kind(ReviewKind.CLUSTER)
    assert set(cluster.details["case_ids"]) == set(ids)
    terms = cluster.details["terms"]
    assert "crypto" in terms and "wallet" in terms
    assert not {"zelda", "quist", "name"} & set(terms), terms


def test_purge_scrubs_the_customers_name_from_a_cluster_items_terms(store: Store) -> None:
    """An item queued before its terms were masked keeps them until its cases are purged: the
    purge takes the purged customers' names out of them (the other terms stay, as do the counts)."""
    from supportcue.monitoring.retention import purge

    ids = _named_cluster(store)
    legacy = item_row(
        settings(overlap_share=0.0),
        "cluster:legacy",
        ReviewKind.CLUSTER,
        ReviewReason.NO_TOPIC_CLUSTER,
        0.5,
        NOW - timedelta(days=2),
        case_id=ids[0],
        details={"case_ids": ids, "terms": ["zelda", "crypto", "wallet", "quist"]},
    )
    drift = item_row(
        settings(overlap_share=0.0),
        "alert:1:cluster",
        ReviewKind.CLUSTER,
        ReviewReason.DRIFT_ALERT,
        0.85,
        NOW - timedelta(days=2),
        case_id=None,
        details={"case_ids": [ids[3]], "terms": ["quist", "wallet"], "suggestion_ids": []},
    )
    store.reviews.add_items([legacy, drift])
    purge(store, 1.0, now=NOW + timedelta(days=10))
    by_key = {i.key: i for i in store.reviews.items_of_kind(ReviewKind.CLUSTER)}
    assert by_key["cluster:legacy"].details["terms"] == ["crypto", "wallet"]
    assert by_key["cluster:legacy"].details["case_ids"] == ids
    assert by_key["alert:1:cluster"].details["terms"] == ["wallet"]


def test_purge_scrubs_the_customers_name_from_a_drift_alerts_subject_and_terms(store: Store) -> None:
    """A new-topic alert raised before its terms were masked is named after them ("crypto / wallet /
    zelda"): the purge of its cases takes the customer's name out of the terms and the subject; an
    alert of other cases, and an alert whose name gives no customer, stay as they were."""
    from supportcue.monitoring.retention import purge

    ids = _named_cluster(store)

    def alert(subject: str, cases: list[str], day: int) -> dict[str, object]:
        return {
            "kind": "new_topic_cluster",
            "subject": subject,
            "first_seen": NOW - timedelta(days=day),
            "last_seen": NOW - timedelta(days=day),
            "score": 0.2,
            "threshold": 0.1,
            "details": {"top_terms": subject.split(" / "), "case_ids": cases, "messages": len(cases)},
        }

    store.alerts.save(
        [
            alert("crypto / wallet / zelda", ids[:4], 3),
            alert("zelda / quist", ids[4:], 2),
            alert("zelda / refund", ["other-case"], 1),
            alert("crypto / staking", ids[:2], 4),
        ]
    )
    purge(store, 1.0, now=NOW + timedelta(days=10))
    by_days = {(NOW - a.first_seen).days: a for a in store.alerts.list()}
    assert (by_days[3].subject, by_days[3].details["top_terms"]) == ("crypto / wallet", ["crypto", "wallet"])
    assert by_days[3].details["case_ids"] == ids[:4]
    assert by_days[2].subject == f"[purged] {by_days[2].id}" and by_days[2].details["top_terms"] == []
    assert by_days[1].subject == "zelda / refund"  # not a purged case's alert
    assert by_days[4].subject == "crypto / staking"


def test_a_reply_matched_as_the_metrics_match_it_queues_no_unmatched_reply(store: Store) -> None:
    """The agent held ("Let me check that for you, Ana.") and then sent the suggestion: the match rate
    counts the case's suggestion as matched (against its closest reply, `best_per_suggestion`), yet
    the queue offered the case for review as a reply that matched no suggestion: the holding message."""
    from tests.review.seed import _e, _s

    from supportcue.monitoring.metrics import compute_report
    from supportcue.review.queue import candidates

    answer = "Sure Ana, you can pause payouts in Settings at any time."
    store.cases.upsert([{"id": "c-held", "message": "can I pause my payouts?", "customer_name": "Ana"}])
    suggested = "Sure {customer_name}, you can pause payouts in Settings at any time."
    store.cases.add_suggestions([_s("s-held", "c-held", 0, topic="payouts", text=suggested)])
    store.events.add(_e("held-1", "c-held", "sent", None, 5, text="Let me check that for you, Ana."))
    store.events.add(_e("held-2", "c-held", "sent", None, 6, text=answer))
    assert compute_report(store, Settings())["match_rate"] == 1.0
    items = candidates(store, settings(overlap_share=0.0), NOW)
    assert [i["key"] for i in items if i["reason"] == ReviewReason.UNMATCHED_REPLY] == []
