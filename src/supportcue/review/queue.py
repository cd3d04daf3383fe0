"""The review queue: which items reviewers see, chosen by active learning beside a random sample.

`refresh(store, settings)` adds new items from the last `[review] window_days`:

* the **random sample** (`random`): per topic, a share `[review] random_share` (at least one) of the live
  suggestions shown to agents, drawn by a hash of the suggestion id (so a refresh draws the same ones
  again). These alone feed the online precision estimate (`review/stats.py`);
* **active learning**, each with the reason it was chosen: suggestions whose shadow stages would have
  said something else (`shadow_disagreement`: a draft of the LLM mode run in shadow is one), dismissed
  ones (`dismissed`), replies an LLM drafted (`generated_draft`: the LLM mode's drafts get rated),
  suggestions made with low confidence (`low_confidence`) and abstentions that almost made one
  (`near_threshold`); customer
  messages whose sent reply matched no suggestion (`unmatched_reply`, a `message` item); and groups of
  messages no topic claimed (`no_topic_cluster`, a `cluster` item: TF-IDF + k-means, with top terms
  and examples), candidate new topics; and cases whose topic or validity labels all expired
  (`expired_label`, a `message` item: the labels left training, a review labels the case afresh).
  At most `[review] per_reason` new items per reason, most informative first.

Drift alerts add items of their own (`drift_alert`, each naming its alert: `review/alert_items.py`);
they are active learning too, and never part of the random sample.

A subject (a suggestion, a case's message, a cluster's cases) becomes one item whatever the reasons
it meets; the random sample is drawn first, so a sampled suggestion stays `random` (unbiased).
A share `[review] overlap_share` of items (by a hash of the item) want two reviewers: each sees the
item without the other's review (blind overlap), for Krippendorff's alpha.

`queue_for(store, settings, reviewer, limit)` refreshes, then gives the reviewer's open items: the best
active-learning items, the reasons taking turns, with random ones spread among them (`[review]
random_slots` of the page).
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from supportcue.data.store import Store
from supportcue.data.tables import ReviewItem, utcnow
from supportcue.llm.privacy import for_terms
from supportcue.monitoring.match import similarity
from supportcue.settings import Settings
from supportcue.vocab import HOLDOUT, LabelTask, ReviewKind, ReviewReason, SuggestionMode

MAX_CANDIDATES = 2000
"""Suggestions and sent replies read per refresh (the newest)."""
MAX_CLUSTER_MESSAGES = 400
MIN_CLUSTER = 3
WHY = {
    ReviewReason.RANDOM: "random sample of shown suggestions (measures online precision)",
    ReviewReason.LOW_CONFIDENCE: "suggested with low confidence",
    ReviewReason.NEAR_THRESHOLD: "no suggestion, but confidence was close to the bar",
    ReviewReason.SHADOW_DISAGREEMENT: "the shadow stages would have suggested something else",
    ReviewReason.DISMISSED: "the agent dismissed it",
    ReviewReason.UNMATCHED_REPLY: "the reply the agent sent matched no suggestion",
    ReviewReason.NO_TOPIC_CLUSTER: "messages no topic claims, grouped: a new topic?",
    ReviewReason.GENERATED_DRAFT: "an LLM drafted this reply from the sources: is every fact right?",
    ReviewReason.DRIFT_ALERT: "an example of a drift alert",
    ReviewReason.EXPIRED_LABEL: "its label expired and left training: what is it now?",
}


def unit(key: str) -> float:
    """A number in [0, 1) from a hash of `key`: the same key, the same number."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") / 2**64


def item_id(key: str) -> str:
    return "ri_" + hashlib.sha256(key.encode()).hexdigest()[:20]


def item_row(
    settings: Settings,
    key: str,
    kind: str,
    reason: str,
    score: float,
    now: datetime,
    **fields: Any,
) -> dict[str, Any]:
    wanted = 2 if unit("overlap:" + key) < settings.review.overlap_share else 1
    return {
        "id": item_id(key),
        "key": key,
        "kind": kind,
        "reason": reason,
        "score": round(float(score), 6),
        "reviews_wanted": wanted,
        "created_at": now,
        "case_id": fields.get("case_id"),
        "suggestion_id": fields.get("suggestion_id"),
        "topic": fields.get("topic"),
        "details": fields.get("details") or {},
        "simulated": bool(fields.get("simulated", False)),
        "alert_id": fields.get("alert_id"),
    }


def random_sample(
    shown: Iterable[tuple[str, str | None, bool]], share: float
) -> list[tuple[str, str | None, bool]]:
    """Per topic, the ceil(share * n) shown suggestions with the smallest hash (proportional
    allocation; a topic with any shown suggestion gets at least one). Nothing when share is 0."""
    if share <= 0:
        return []
    by_topic: dict[str | None, list[tuple[str, str | None, bool]]] = defaultdict(list)
    for row in shown:
        by_topic[row[1]].append(row)
    chosen: list[tuple[str, str | None, bool]] = []
    for rows in by_topic.values():
        n = math.ceil(share * len(rows))
        chosen += sorted(rows, key=lambda r: unit("random:" + r[0]))[:n]
    return chosen


def shadow_disagrees(s: Any, threshold: float) -> bool:
    """Whether the shadow stages would have suggested something else: another answer or topic when
    the shadow result names them, else a text that would not match the live one. An experiment's
    control arm is not one: its chain is the live pipeline held back, with no stage on trial."""
    if s.abstained_at == HOLDOUT:
        return False
    shadow = s.shadow or {}
    if "answer_id" in shadow or "topic" in shadow:
        named = shadow.get("answer_id", s.answer_id), shadow.get("topic", s.topic)
        return bool(shadow.get("text")) and named != (s.answer_id, s.topic)
    text = shadow.get("text")
    if not text:
        return False
    return not s.text or similarity(s.text, text) < threshold


def _suggestion_reason(s: Any, dismissed: bool, settings: Settings) -> tuple[str, float] | None:
    """The active-learning reason (and score) a suggestion meets first, if any."""
    if shadow_disagrees(s, settings.match.threshold):
        return ReviewReason.SHADOW_DISAGREEMENT, 0.9
    if s.mode != SuggestionMode.LIVE:
        return None
    if dismissed and s.text:
        return ReviewReason.DISMISSED, 0.8
    if s.text and s.answer_id is None and "draft:llm-" in (s.pipeline_version or ""):
        return ReviewReason.GENERATED_DRAFT, 0.75
    conf = s.confidence
    if conf is None:
        return None
    if s.text and conf < settings.review.low_confidence:
        return ReviewReason.LOW_CONFIDENCE, 1.0 - conf
    if not s.text and s.abstained_at in ("topic", "response") and conf >= settings.review.near_threshold:
        return ReviewReason.NEAR_THRESHOLD, conf
    return None


def _top(rows: Sequence[dict[str, Any]], per_reason: int) -> list[dict[str, Any]]:
    by_reason: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_reason[r["reason"]].append(r)
    out: list[dict[str, Any]] = []
    for items in by_reason.values():
        out += sorted(items, key=lambda r: (-r["score"], r["key"]))[:per_reason]
    return out


def clusters(texts: Mapping[str, str], k_max: int = 10) -> list[dict[str, Any]]:
    """Messages (case id -> text) grouped by TF-IDF k-means: each group of at least `MIN_CLUSTER`
    as {case_ids, terms (top 5)}, largest first. (No text is kept in an item: the page reads the
    messages, the reply sent and the shadow text from their own rows, which `purge` empties.)"""
    if len(texts) < MIN_CLUSTER:
        return []
    from sklearn.cluster import KMeans
    from sklearn.feature_extraction.text import TfidfVectorizer

    ids = sorted(texts)
    vectorizer = TfidfVectorizer(stop_words="english", min_df=1, max_features=5000)
    try:
        X = vectorizer.fit_transform([texts[i] for i in ids])
    except ValueError:  # only stop words
        return []
    k = max(1, min(k_max, len(ids) // 8))
    labels = KMeans(n_clusters=k, n_init=3, random_state=0).fit_predict(X)
    terms = vectorizer.get_feature_names_out()
    out = []
    for c in range(k):
        members = [i for i, lab in zip(ids, labels, strict=True) if lab == c]
        if len(members) < MIN_CLUSTER:
            continue
        rows = [n for n, lab in enumerate(labels) if lab == c]
        weights = X[rows].mean(axis=0).A1
        top = [str(terms[j]) for j in weights.argsort()[::-1][:5] if weights[j] > 0]
        out.append({"case_ids": members, "terms": top})
    return sorted(out, key=lambda c: -len(c["case_ids"]))


def candidates(store: Store, settings: Settings, now: datetime) -> list[dict[str, Any]]:
    """The items a refresh would add (random sample first), before dropping subjects already queued."""
    since = now - timedelta(days=settings.review.window_days)
    shown = store.reviews.shown_live_since(since)
    items = [
        item_row(
            settings,
            f"suggestion:{sid}",
            ReviewKind.SUGGESTION,
            ReviewReason.RANDOM,
            0.0,
            now,
            suggestion_id=sid,
            topic=topic,
            simulated=sim,
        )
        for sid, topic, sim in random_sample(shown, settings.review.random_share)
    ]
    for i in items:  # the case, for the page
        s = store.cases.suggestion(i["suggestion_id"])
        i["case_id"] = s.case_id if s else None
    active: list[dict[str, Any]] = []
    no_topic: dict[str, str] = {}
    no_topic_sim: dict[str, bool] = {}
    for s in store.reviews.suggestions_since(since, MAX_CANDIDATES):
        if s.abstained_at == "topic" and s.case_id and len(no_topic) < MAX_CLUSTER_MESSAGES:
            no_topic[s.case_id] = ""
            no_topic_sim[s.case_id] = bool(s.simulated)
        found = _suggestion_reason(s, bool(s.dismissed), settings)
        if found:
            reason, score = found
            active.append(
                item_row(
                    settings,
                    f"suggestion:{s.id}",
                    ReviewKind.SUGGESTION,
                    reason,
                    score,
                    now,
                    case_id=s.case_id,
                    suggestion_id=s.id,
                    topic=s.topic,
                    simulated=s.simulated,
                    details={},
                )
            )
    threshold = settings.match.threshold
    replies = store.reviews.sent_since(since, MAX_CANDIDATES)
    scores = [similarity(r[4], r[2]) if r[4] else 0.0 for r in replies]
    # a suggestion is matched by its closest reply, as the match rate scores it (`best_per_suggestion`):
    # the agent's "let me check" before it, or "anything else?" after it, is no unmatched reply
    matched = {r[3] for r, score in zip(replies, scores, strict=True) if r[3] and score >= threshold}
    for (event_id, case_id, _, sid, _, topic, sim), score in zip(replies, scores, strict=True):
        if score >= threshold or sid in matched:
            continue
        active.append(
            item_row(
                settings,
                f"message:{case_id}",
                ReviewKind.MESSAGE,
                ReviewReason.UNMATCHED_REPLY,
                0.5 + 0.3 * (1.0 - score),
                now,
                case_id=case_id,
                suggestion_id=sid,
                topic=topic,
                simulated=sim,
                details={"event_id": event_id, "similarity": round(score, 4)},
            )
        )
    active += _cluster_items(store, settings, no_topic, no_topic_sim, now)
    active += _expired_items(store, settings, now)
    return items + _top(active, settings.review.per_reason)


def _expired_items(store: Store, settings: Settings, now: datetime) -> list[dict[str, Any]]:
    """Message items for cases whose topic or validity labels all expired, oldest expiry first (at
    most `[review] per_reason` a refresh). The key holds the expiry, so a case labeled afresh that
    expires again is queued again; a case whose message was purged is left out."""
    expired: dict[str, tuple[datetime, list[str]]] = {}
    for case_id, task, expiry in store.labels.expired_cases(now=now):
        known = str(case_id) in expired
        if task not in (LabelTask.TOPIC, LabelTask.VALIDITY) or (
            not known and len(expired) >= settings.review.per_reason
        ):
            continue
        when, tasks = expired.get(str(case_id), (expiry, []))
        expired[str(case_id)] = (max(when, expiry), [*tasks, str(task)])
    cases = store.reviews.cases(list(expired))
    # the topic it had, proposed: "correct" renews it (with none, the page said the assistant found
    # no topic, and a "correct" review renewed the case's validity but left its topic expired)
    topics = store.labels.expired_values(
        [c for c, (_, tasks) in expired.items() if LabelTask.TOPIC in tasks], LabelTask.TOPIC, now
    )
    out = []
    for case_id, (expiry, tasks) in expired.items():
        case = cases.get(case_id)
        if case is None or not case.message or case.purged_at is not None:
            continue
        out.append(
            item_row(
                settings,
                f"message:{case_id}:expired:{expiry.isoformat()}",
                ReviewKind.MESSAGE,
                ReviewReason.EXPIRED_LABEL,
                0.4,
                now,
                case_id=case_id,
                topic=topics.get(case_id),
                simulated=case.simulated,
                details={"expired": sorted(tasks), "expired_at": expiry.isoformat()}
                | ({"expired_topic": topics[case_id]} if case_id in topics else {}),
            )
        )
    return out


def _cluster_items(
    store: Store, settings: Settings, ids: Mapping[str, str], simulated: Mapping[str, bool], now: datetime
) -> list[dict[str, Any]]:
    """Cluster items over the no-topic messages not already in a queued cluster."""
    queued = {
        c for i in store.reviews.items_of_kind(ReviewKind.CLUSTER) for c in i.details.get("case_ids", [])
    }
    cases = store.reviews.cases([i for i in ids if i not in queued])
    # masked, as a drift alert's are: the terms are stored in the item, shown, and outlive a purge
    texts = {
        cid: for_terms(c.message, c.customer_name)
        for cid, c in cases.items()
        if c.message and c.purged_at is None
    }
    out = []
    for group in clusters(texts):
        members = group["case_ids"]
        key = "cluster:" + hashlib.sha256("\n".join(members).encode()).hexdigest()[:24]
        out.append(
            item_row(
                settings,
                key,
                ReviewKind.CLUSTER,
                ReviewReason.NO_TOPIC_CLUSTER,
                0.5 + min(0.4, len(members) / 100),
                now,
                case_id=members[0],
                simulated=all(simulated.get(m, False) for m in members),
                details=group,
            )
        )
    return out


def refresh(store: Store, settings: Settings, now: datetime | None = None) -> int:
    """Queue the new candidates; returns how many items were added."""
    now = now or utcnow()
    rows = candidates(store, settings, now)
    seen: set[str] = set()
    unique = [r for r in rows if not (r["key"] in seen or seen.add(r["key"]))]  # type: ignore[func-returns-value]
    known = store.reviews.known_keys([r["key"] for r in unique])
    fresh = [r for r in unique if r["key"] not in known]
    store.reviews.add_items(fresh)
    return len(fresh)


def queue_for(
    store: Store, settings: Settings, reviewer: str, limit: int, now: datetime | None = None
) -> list[ReviewItem]:
    """The reviewer's next `limit` open items: active-learning ones, best first, with random-sample
    items spread evenly among them (`[review] random_slots` of the page, at least one if any)."""
    refresh(store, settings, now)
    slots = max(1, round(limit * settings.review.random_slots)) if settings.review.random_slots > 0 else 0
    randoms = store.reviews.open_for(reviewer, min(slots, limit), random=True)
    active = by_turns(store.reviews.open_for(reviewer, limit * 8, random=False))[: limit - len(randoms)]
    if len(active) < limit - len(randoms):  # few active items: more random ones fill the page
        randoms = store.reviews.open_for(reviewer, limit - len(active), random=True)
    return interleave(active, randoms)


def by_turns(items: Sequence[ReviewItem]) -> list[ReviewItem]:
    """The items, best first, taking turns between reasons (so one reason cannot fill a page)."""
    queues: dict[str, list[ReviewItem]] = defaultdict(list)
    for item in items:
        queues[item.reason].append(item)
    out: list[ReviewItem] = []
    while any(queues.values()):
        turn = sorted((q[0] for q in queues.values() if q), key=lambda i: (-i.score, i.id))
        for item in turn:
            out.append(queues[item.reason].pop(0))
    return out


def interleave(first: Sequence[Any], second: Sequence[Any]) -> list[Any]:
    """`second`'s items spread evenly among `first`'s (both keep their order)."""
    total = len(first) + len(second)
    if not second:
        return list(first)
    step = total / len(second)
    spots = {int(step * n + step / 2) for n in range(len(second))}
    a, b = iter(first), iter(second)
    return [next(b) if n in spots else next(a) for n in range(total)]
