"""Drift: what changed in the messages and in how well the answers fit, and the alerts it raises.

At each step (every day, or week: `[drift] every`) the last `window_days` are compared with the
`reference_days` before them. Four detectors, each a function over plain arrays, each alerting only
when its test reaches p < `alpha` *and* its effect reaches its threshold (a tiny shift in a big
sample is significant but not worth a person's time):

- **topic_volume**: Pearson's chi-square test of the topic counts (window vs reference, a 2 x K
  table); the effect is Cramér's V = sqrt(chi2 / n) (for 2 rows); the subject is the topic with the
  largest standardised residual.
- **embedding_shift**: a domain classifier (logistic regression on the message embeddings) learns
  to tell the window's messages from the reference's; its cross-validated ROC AUC is the score (0.5:
  indistinguishable), as in Evidently's default drift method for text. The p-value is the
  Mann-Whitney test the AUC is the statistic of.
- **new_topic_cluster**: the share of valid messages no topic claims (abstained at `topic`) rises
  (a one-sided two-proportion z-test); the window's unclaimed messages are then clustered
  (agglomerative, cosine distance on the embeddings) and each cluster big enough is a candidate new
  topic, named by its top terms (TF-IDF against the reference's unclaimed messages) with examples.
- **answer_match_drop**: per answer, its match rate (`monitoring/match.py`) in the window vs the
  reference, a one-sided two-proportion z-test, Holm-corrected over the answers tested at that step.

An alert lasts while consecutive steps raise it (same kind and subject; a new topic's subject is its
name, kept from the step that first saw it while the clusters share a top term); `first_seen` is
the end of the first window that raised it: the moment it could have been known. Each alert carries
in `details` what a reviewer needs (examples and case ids, the counts, the p-value), and `run_drift`
turns those into review items linked to the stored alert (`review/alert_items.py`). The statistics
themselves are in `drift_stats.py`.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from supportcue.data.alerts import DriftRow
from supportcue.data.store import Store
from supportcue.data.tables import DriftAlert, utcnow
from supportcue.embeddings import Embedder
from supportcue.llm.privacy import Masker, for_terms
from supportcue.monitoring.drift_stats import (
    clusters,
    domain_auc,
    holm,
    proportion_drop,
    top_terms,
    topic_shift,
)
from supportcue.monitoring.match import similarity
from supportcue.settings import DriftSettings, Settings

UNCLAIMED = "topic"
"""The `abstained_at` of a valid message no topic claimed."""
CLASSIFIER_DIMS = 32
"""The domain classifier reads the embeddings' first principal components (fewer dimensions: a
faster fit that overfits less)."""
EXAMPLES = 5
POST_RETRY = timedelta(days=7)
"""How long an alert the webhook did not take (the receiver down) is posted again by each run."""


@dataclass
class Alert:
    kind: str
    subject: str
    first_seen: datetime
    score: float
    threshold: float
    last_seen: datetime | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def public(self) -> dict[str, Any]:
        """The alert as `supportcue drift --json` prints it (`kind` is one of `monitoring.alerts.KINDS`)."""
        return {
            "kind": self.kind,
            "subject": self.subject,
            "first_seen": self.first_seen.isoformat(),
            "last_seen": (self.last_seen or self.first_seen).isoformat(),
            "score": round(self.score, 4),
            "threshold": self.threshold,
            "details": self.details,
        }

    def row(self) -> dict[str, Any]:
        """The alert as the store keeps it (`store.alerts.save`)."""
        return {
            "kind": self.kind,
            "subject": self.subject[:200],
            "first_seen": self.first_seen,
            "last_seen": self.last_seen or self.first_seen,
            "score": float(self.score),
            "threshold": float(self.threshold),
            "details": json.loads(json.dumps(self.details, default=str)),
        }


# -- one step: a window against its reference ----------------------------------------------------------


@dataclass
class Window:
    """The rows of one window (valid messages only), their embeddings, the embeddings' principal
    components, and whether the reply sent after each matched its suggestion (None: no pair)."""

    rows: list[DriftRow]
    vectors: npt.NDArray[Any]
    features: npt.NDArray[Any]
    matched: list[bool | None]

    def claimed(self) -> Counter[str]:
        return Counter(r.topic for r in self.rows if r.topic)

    def unclaimed(self) -> list[int]:
        return [i for i, r in enumerate(self.rows) if r.abstained_at == UNCLAIMED and not r.topic]


def matched(r: DriftRow, threshold: float) -> bool | None:
    """Whether the reply sent after the suggestion matched it (None: no suggestion or no reply)."""
    sim = r.similarity
    if sim is None and r.text and r.sent:
        sim = similarity(r.text, r.sent, r.customer_name)
    return None if sim is None or r.answer_id is None else sim >= threshold


def _matches(w: Window) -> dict[str, list[bool]]:
    """Per answer, whether each reply sent after its suggestion matched it."""
    out: dict[str, list[bool]] = {}
    for r, m in zip(w.rows, w.matched, strict=True):
        if r.answer_id is not None and m is not None:
            out.setdefault(r.answer_id, []).append(m)
    return out


def _masked(row: DriftRow, text: str) -> str:
    """`text` of `row`'s case with personal data masked (emails, cards, phones, order ids, the
    customer's name): an alert's details are stored, printed and posted to a webhook, and outlive a
    purge of the case, so they never hold personal data."""
    return Masker(customer_name=row.customer_name).mask(text)


def _for_terms(row: DriftRow) -> str:
    """`row`'s message masked, without the placeholders (no "[NAME_1]" becomes the term "name")."""
    return for_terms(row.message, row.customer_name)


def _examples(rows: Sequence[DriftRow], picks: Sequence[int]) -> list[dict[str, Any]]:
    """The first picked rows as {case_id, suggestion_id, message (masked)}: `describe` reads the
    message again from the case, or from the suggestion when its case is not stored."""
    return [
        {
            "case_id": rows[i].case_id,
            "suggestion_id": rows[i].suggestion_id,
            "message": _masked(rows[i], rows[i].message),
        }
        for i in picks[:EXAMPLES]
    ]


def _cases(rows: Sequence[DriftRow], picks: Sequence[int]) -> list[dict[str, Any]]:
    """Up to `EXAMPLES` of the picked rows, spread evenly over them (oldest to newest), as
    {case_id, suggestion_id, topic}: the cases a reviewer is asked about (`review/alert_items.py`,
    which skips a suggestion made on no case) and the examples `describe` shows."""
    if len(picks) > EXAMPLES:
        picks = [picks[round(j * (len(picks) - 1) / (EXAMPLES - 1))] for j in range(EXAMPLES)]
    return [
        {"case_id": rows[i].case_id, "suggestion_id": rows[i].suggestion_id, "topic": rows[i].topic}
        for i in picks
    ]


def step_alerts(ref: Window, win: Window, at: datetime, s: DriftSettings) -> list[Alert]:
    """The alerts one window raises against its reference (`at`: the window's end)."""
    alerts: list[Alert] = []
    shift = topic_shift(ref.claimed(), win.claimed())
    if shift is not None:
        v, p, topic = shift
        if p < s.alpha and v >= s.min_topic_shift:
            r_n, w_n = sum(ref.claimed().values()), sum(win.claimed().values())
            detail = {
                "p_value": p,
                "topic": topic,
                "reference_share": round(ref.claimed()[topic] / r_n, 4),
                "window_share": round(win.claimed()[topic] / w_n, 4),
                "cases": _cases(win.rows, [i for i, r in enumerate(win.rows) if r.topic == topic]),
            }
            alerts.append(Alert("topic_volume", topic, at, v, s.min_topic_shift, details=detail))
    auc, p = domain_auc(ref.features, win.features)
    if p < s.alpha and auc >= s.min_auc:
        detail = {"p_value": p, "cases": _cases(win.rows, range(len(win.rows)))}
        alerts.append(Alert("embedding_shift", "messages", at, auc, s.min_auc, details=detail))
    alerts += _new_topics(ref, win, at, s)
    alerts += _match_drops(ref, win, at, s)
    return alerts


def _new_topics(ref: Window, win: Window, at: datetime, s: DriftSettings) -> list[Alert]:
    r_idx, w_idx = ref.unclaimed(), win.unclaimed()
    n_ref, n_win = len(ref.rows), len(win.rows)
    if not n_ref or not n_win:
        return []
    rise = len(w_idx) / n_win - len(r_idx) / n_ref
    p = proportion_drop(len(w_idx), n_win, len(r_idx), n_ref)  # the reference's share is the lower one
    if p >= s.alpha or rise < s.min_unclaimed_rise:
        return []
    # masked, as the examples are: the terms name the alert (its subject, stored, a label on
    # /metrics, posted to the webhook), and customers' names were among them ("... / emma")
    background = [_for_terms(ref.rows[i]) for i in r_idx]
    found = []
    labels = clusters(win.vectors[w_idx])
    for label, size in Counter(labels).most_common():
        members = [w_idx[j] for j, c in enumerate(labels) if c == label]
        share = size / n_win
        if share < s.min_cluster_share:
            break
        texts = [_for_terms(win.rows[i]) for i in members]
        terms = top_terms(texts, background)
        if not terms:
            continue
        detail = {
            "top_terms": terms,
            "messages": size,
            "examples": _examples(win.rows, members),
            "case_ids": [win.rows[i].case_id for i in members],
            "suggestion_ids": [win.rows[i].suggestion_id for i in members],
            "unclaimed_share": round(len(w_idx) / n_win, 4),
            "reference_unclaimed_share": round(len(r_idx) / n_ref, 4),
            "p_value": p,
        }
        found.append(
            Alert("new_topic_cluster", " / ".join(terms), at, share, s.min_cluster_share, details=detail)
        )
    return found


def _match_drops(ref: Window, win: Window, at: datetime, s: DriftSettings) -> list[Alert]:
    before, now = _matches(ref), _matches(win)
    tested = [a for a in sorted(now) if len(now[a]) >= s.min_pairs and len(before.get(a, [])) >= s.min_pairs]
    raw = [proportion_drop(sum(before[a]), len(before[a]), sum(now[a]), len(now[a])) for a in tested]
    alerts = []
    for answer, p in zip(tested, holm(raw), strict=True):
        was, rate = sum(before[answer]) / len(before[answer]), sum(now[answer]) / len(now[answer])
        if p < s.alpha and was - rate >= s.min_match_drop:
            examples = [
                {
                    "case_id": r.case_id,
                    "suggestion_id": r.suggestion_id,
                    "message": _masked(r, r.message),
                    "sent": _masked(r, r.sent),
                }
                for r in win.rows
                if r.answer_id == answer and r.sent
            ][-EXAMPLES:]
            unmatched = [
                {"suggestion_id": r.suggestion_id, "case_id": r.case_id}
                for r, m in zip(win.rows, win.matched, strict=True)
                if r.answer_id == answer and m is False
            ][-EXAMPLES:]
            detail = {
                "answer_id": answer,
                "reference_match_rate": round(was, 4),
                "window_match_rate": round(rate, 4),
                "reference_pairs": len(before[answer]),
                "window_pairs": len(now[answer]),
                "p_value_holm": p,
                "answers_tested": len(tested),
                "examples": examples,
                "unmatched": unmatched,
            }
            alerts.append(
                Alert("answer_match_drop", answer, at, was - rate, s.min_match_drop, details=detail)
            )
    return alerts


# -- over a range ---------------------------------------------------------------------------------------


def _day(ts: datetime) -> datetime:
    return datetime(ts.year, ts.month, ts.day, tzinfo=UTC)


def _merge(
    open_alerts: dict[tuple[str, str], Alert], raised: list[Alert], at: datetime, out: list[Alert]
) -> None:
    """Extend the alerts still raised, close the others (into `out`), open the new ones."""
    still: dict[tuple[str, str], Alert] = {}
    for a in raised:
        key = (a.kind, a.subject)
        if a.kind == "new_topic_cluster":  # a cluster's name drifts a little from day to day
            terms = set(a.details["top_terms"])
            for k, other in open_alerts.items():
                if k[0] == a.kind and terms & set(other.details["top_terms"]) and k not in still:
                    key = k
                    break
        found = open_alerts.get(key)
        if found is None:
            still[key] = a
            continue
        old = found
        old.last_seen, old.score = at, max(old.score, a.score)
        old.details = (
            {**a.details, "top_terms": old.details.get("top_terms")}
            if a.kind == "new_topic_cluster"
            else a.details
        )
        still[key] = old
    out += [a for k, a in open_alerts.items() if k not in still]
    open_alerts.clear()
    open_alerts.update(still)


def _components(vectors: npt.NDArray[Any]) -> npt.NDArray[Any]:
    if vectors.shape[1] <= CLASSIFIER_DIMS or len(vectors) <= CLASSIFIER_DIMS:
        return vectors
    from sklearn.decomposition import PCA

    reduced: npt.NDArray[Any] = PCA(n_components=CLASSIFIER_DIMS, random_state=0).fit_transform(vectors)
    return reduced


def window_ends(
    valid: Sequence[DriftRow],
    settings: DriftSettings,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[datetime]:
    """The ends of the windows `detect` compares with their reference, over the valid rows (in time
    order): from the first day that has `reference_days` and `window_days` of history before it,
    every day (or week) until `until` (default: the day after the last row). None when the rows span
    less than that: nothing can be compared yet."""
    if not valid:
        return []
    window, reference = timedelta(days=settings.window_days), timedelta(days=settings.reference_days)
    step = timedelta(days=7 if settings.every == "week" else 1)
    at = _day(since or valid[0].created_at) + reference + window
    end = until or _day(valid[-1].created_at) + timedelta(days=1)
    ends = []
    while at <= end:
        ends.append(at)
        at += step
    return ends


def coverage_note(rows: Sequence[DriftRow], settings: DriftSettings, compared: int) -> str | None:
    """What a run without any window compared must say instead of "no drift alerts": that nothing
    could be compared yet, and why (too few days of suggestions with valid messages)."""
    if compared:
        return None
    need = settings.window_days + settings.reference_days
    valid = [r for r in rows if r.abstained_at != "validation"]
    if not valid:
        return (
            f"nothing compared: no suggestion with a valid message in the period (drift compares the "
            f"messages of the live suggestions, whatever their case, not `batch suggest` back-fills, over "
            f"{need} days: [drift] window_days + reference_days)"
        )
    days = (valid[-1].created_at - valid[0].created_at).total_seconds() / 86400
    return (
        f"nothing compared yet: drift needs {need} days of suggestions ([drift] window_days + "
        f"reference_days); the {len(valid):,} with a valid message span {days:.1f} days, from "
        f"{valid[0].created_at:%Y-%m-%d}"
    )


def detect(
    rows: Sequence[DriftRow],
    embedder: Embedder,
    settings: DriftSettings,
    match_threshold: float,
    since: datetime | None = None,
    until: datetime | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[Alert]:
    """Every alert over the rows (valid messages: those validation let through), stepping from the
    first window that has a full reference until `until` (default: the last row's day)."""
    valid = [r for r in rows if r.abstained_at != "validation"]
    ends = window_ends(valid, settings, since, until)
    if not ends:
        return []
    vectors = embedder.embed([r.message for r in valid])
    features = _components(vectors)
    matches = [matched(r, match_threshold) for r in valid]
    times = np.array([r.created_at.timestamp() for r in valid])
    window, reference = timedelta(days=settings.window_days), timedelta(days=settings.reference_days)

    def take(lo: datetime, hi: datetime) -> Window:
        idx = np.flatnonzero((times >= lo.timestamp()) & (times < hi.timestamp()))
        return Window([valid[i] for i in idx], vectors[idx], features[idx], [matches[i] for i in idx])

    out: list[Alert] = []
    open_alerts: dict[tuple[str, str], Alert] = {}
    for at in ends:
        if progress:
            progress(f"drift: window ending {at:%Y-%m-%d}")
        raised = step_alerts(take(at - window - reference, at - window), take(at - window, at), at, settings)
        _merge(open_alerts, raised, at, out)
    out += open_alerts.values()
    return sorted(out, key=lambda a: (a.first_seen, a.kind, a.subject))


def post_webhook(url: str, alerts: Sequence[dict[str, Any]], timeout: float = 5.0) -> None:
    """POST the alerts to `url` as {"alerts": [...]}: raises httpx.HTTPError when it fails."""
    import httpx

    httpx.post(url, json={"source": "supportcue", "alerts": list(alerts)}, timeout=timeout).raise_for_status()


def run_drift(
    store: Store,
    settings: Settings,
    embedder: Embedder,
    since: datetime | None = None,
    until: datetime | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Detect drift over [since, until) (the reference window reaches back before `since`), store the
    alerts, queue review items for them (`review/alert_items.py`: new alerts and those raised again),
    and post the new ones to `[drift] webhook_url`; returns `supportcue drift --json`'s object (each
    alert with its stored `id` and `review_item_ids`; `review_items`: how many items this run added;
    `windows`: how many windows were compared with their reference, and when none could be, `note`
    says why: "no drift alerts" would claim what was never checked)."""
    s = settings.drift
    back = timedelta(days=s.window_days + s.reference_days) if since else timedelta(0)
    rows = store.alerts.rows(since - back if since else None, until)
    alerts = detect(
        rows,
        embedder,
        s,
        settings.match.threshold,
        since=since - back if since else None,
        until=until,
        progress=progress,
    )
    valid = [r for r in rows if r.abstained_at != "validation"]
    compared = len(window_ends(valid, s, since=since - back if since else None, until=until))
    saved = store.alerts.save_each([a.row() for a in alerts]) if alerts else []
    fresh = [row for row, new in saved if new]
    from supportcue.review.alert_items import queue_alert_items

    added = queue_alert_items(store, settings, [row for row, _ in saved])
    item_ids = store.reviews.alert_item_ids([row.id for row, _ in saved])
    public = [
        {**a.public(), "id": row.id, "review_item_ids": item_ids.get(row.id, [])}
        for a, (row, _) in zip(alerts, saved, strict=True)
    ]
    posted: str | None = None
    failed = False
    # The new alerts, and those an earlier run could not post (the receiver was down): each is posted
    # until one post succeeds, for up to POST_RETRY after it was stored.
    this_run = {row.id for row, _ in saved}
    unposted = [a for a in store.alerts.unposted(utcnow() - POST_RETRY) if a.id not in this_run]
    to_post = [row for row, _ in saved if row.posted_at is None] + unposted
    if s.webhook_url and to_post:
        import httpx

        ids = store.reviews.alert_item_ids([a.id for a in unposted]) | item_ids
        try:
            post_webhook(s.webhook_url, [_stored_public(a, ids.get(a.id, [])) for a in to_post])
            store.alerts.mark_posted([a.id for a in to_post])
            posted = f"posted {len(to_post)} alert(s)"
        except httpx.HTTPError as exc:  # the alerts are stored either way; say why it failed
            posted = f"could not post to the webhook: {type(exc).__name__} (the next run tries again)"
            failed = True
    return {
        "alerts": public,
        "windows": compared,
        "note": coverage_note(rows, s, compared),
        "new": len(fresh),
        "review_items": added,
        "webhook": posted,
        "webhook_failed": failed,
        "settings": s.model_dump(exclude={"webhook_url"}),
    }


def _stored_public(a: DriftAlert, review_item_ids: Sequence[str]) -> dict[str, Any]:
    return {
        "id": a.id,
        "review_item_ids": list(review_item_ids),
        "kind": a.kind,
        "subject": a.subject,
        "first_seen": a.first_seen.isoformat(),
        "last_seen": a.last_seen.isoformat(),
        "score": a.score,
        "threshold": a.threshold,
        "details": a.details,
    }
