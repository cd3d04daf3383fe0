"""`supportcue review stats`: the online precision of shown suggestions, from the random sample only.

Online precision = the share of live suggestions shown to agents that reviewers judged `correct`
(`partially_correct` counts as not correct; its share is reported beside). It is computed ONLY from
the items of the random sample (`reason = random`, drawn per topic at the same rate, see
`review/queue.py`): the active-learning items are chosen for being doubtful (low confidence,
dismissed, disagreements, the examples of a drift alert), so they are biased toward errors and are
excluded. Each sampled
suggestion counts once, with its first review (a blind-overlap item's second review only feeds
agreement).

The interval is the 95% **Wilson score interval** on those reviews, unweighted: the sample takes the
same share of every topic (proportional allocation), so it is self-weighting, and the Wilson interval
behaves at the small n a review program has (it never leaves [0, 1], unlike the normal one). The
at-least-one-per-topic rounding over-samples topics with very few shown suggestions slightly.

Beside it: the match rate ("matched what the agent sent", a lower bound: an agent may send a correct
reply in other words) and Krippendorff's alpha of the blind-overlap reviews (per task and per
reviewer pair; verdicts as ordinal incorrect < partially_correct < correct, topics nominal).
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from supportcue.data.store import Store
from supportcue.review.agreement import alpha_by_pair, krippendorff_alpha
from supportcue.settings import Settings
from supportcue.vocab import ReviewKind, ReviewReason, Verdict

Z95 = 1.959963984540054
NOTE = (
    "online precision is computed only from the random sample of shown suggestions; the "
    "active-learning items (low confidence, dismissed, disagreements, drift alerts' examples, ...) "
    "are chosen for being doubtful, so they are biased and excluded"
)
METHOD = "Wilson score interval, 95%, on the random sample (proportional per-topic allocation)"
VERDICTS = (Verdict.INCORRECT, Verdict.PARTIALLY_CORRECT, Verdict.CORRECT)


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float | None, float | None]:
    """The Wilson score interval of a proportion; (None, None) without observations."""
    if n <= 0:
        return None, None
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def _precision(correct: int, partial: int, n: int) -> dict[str, Any]:
    low, high = wilson(correct, n)
    return {
        "n": n,
        "correct": correct,
        "partially_correct": partial,
        "precision": correct / n if n else None,
        "ci_low": low,
        "ci_high": high,
    }


def review_stats(
    store: Store,
    since: datetime | None = None,
    match_rate: float | None = None,
    suggested: tuple[datetime | None, datetime | None] | None = None,
) -> dict[str, Any]:
    """The figures of `supportcue review stats` (JSON-serialisable): of the reviews made since
    `since`; with `suggested` = (start, end), the precision counts only the sampled suggestions made
    in [start, end) (the dashboard's period, whose match rate it stands beside), whenever reviewed."""
    rows = store.reviews.list(since)
    first: dict[str, Any] = {}
    verdicts: list[tuple[str, str, str]] = []
    topics: list[tuple[str, str, str]] = []
    for review, item in rows:
        verdicts.append((item.id, review.reviewer, review.verdict))
        if review.topic:
            topics.append((item.id, review.reviewer, review.topic))
        if item.reason == ReviewReason.RANDOM and item.kind == ReviewKind.SUGGESTION:
            first.setdefault(item.id, (review, item))
    if suggested is not None and suggested != (None, None):
        start, end = suggested
        made = store.cases.suggestion_times(
            sorted({i.suggestion_id for _, i in first.values() if i.suggestion_id})
        )
        first = {
            k: (r, i)
            for k, (r, i) in first.items()
            if (t := made.get(i.suggestion_id or "")) is not None
            and (start is None or _utc(t) >= start)
            and (end is None or _utc(t) < end)
        }
    per_topic: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for review, item in first.values():
        counts = per_topic[item.topic or "(none)"]
        counts[0] += review.verdict == Verdict.CORRECT
        counts[1] += review.verdict == Verdict.PARTIALLY_CORRECT
        counts[2] += 1
    correct = sum(c[0] for c in per_topic.values())
    partial = sum(c[1] for c in per_topic.values())
    overall = _precision(correct, partial, len(first))
    by_task = {
        "verdict": krippendorff_alpha(verdicts, "ordinal", VERDICTS),
        "topic": krippendorff_alpha(topics, "nominal"),
    }
    pairs = alpha_by_pair("verdict", verdicts, "ordinal", VERDICTS) + alpha_by_pair("topic", topics)
    return {
        "since": since.isoformat() if since else None,
        "n_reviewed": len(rows),
        "n_items_reviewed": len({item.id for _, item in rows}),
        "n_random": overall["n"],
        "online_precision": overall["precision"],
        "ci_low": overall["ci_low"],
        "ci_high": overall["ci_high"],
        "partially_correct_share": partial / overall["n"] if overall["n"] else None,
        "method": METHOD,
        "note": NOTE,
        "match_rate": match_rate,
        "alpha": by_task["verdict"],
        "alpha_by_task": by_task,
        "alpha_by_pair": [vars(p) for p in pairs],
        "by_topic": {topic: _precision(*per_topic[topic]) for topic in sorted(per_topic)},
    }


def _utc(t: datetime) -> datetime:
    """A stored time as UTC (SQLite gives it back naive)."""
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def review_report(
    store: Store, settings: Settings, since: str | None = None, since_name: str = "since"
) -> dict[str, Any]:
    """`review_stats` since `since` (an ISO date; ValueError for a bad one), next to the match rate
    (`supportcue report`'s) of suggestions since `since`, or without it, since the random sample's
    first window began (so both figures are about the same suggestions); `match_rate_since` says
    which. A bad date's error calls it `since_name` (the CLI's is `--since`)."""
    from supportcue.monitoring.metrics import compute_report, parse_time

    start = parse_time(since, since_name)
    result = review_stats(store, start)
    window = start or store.reviews.sample_start(settings.review.window_days)
    result["match_rate"] = compute_report(store, settings, since=window)["match_rate"]
    result["match_rate_since"] = window.isoformat() if window else None
    return result
