"""Freshness and lost coverage: which answers are (nearly) overdue for review, and which topics show
nothing, and why.

An answer overdue for review is not suggested (`[response] review_grace_days`), so its topic goes
silent: the dashboard must say so by name rather than let another topic look like the weak spot.
`coverage_lost` counts, per topic, the suggestions that showed nothing by reason
(`data.reporting.LOST_REASONS`: overdue answer, no approved answer, validation, low confidence,
other) and joins the library's state: the topic's overdue answers with their owners, and whether it
has any approved answer at all. `due_for_review` lists the approved answers due within `[drift]
review_warning_days`, overdue ones first, with their owner, before they switch their topic off.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from supportcue.data.reporting import LOST_REASONS
from supportcue.data.store import Store
from supportcue.data.tables import utcnow
from supportcue.settings import Settings
from supportcue.vocab import AnswerStatus

NO_TOPIC = "(no topic)"
LIBRARY_REASONS = ("overdue_answer", "no_approved_answer")
"""The reasons the answer library is to blame for (fixed by reviewing or approving an answer)."""


def due_for_review(store: Store, settings: Settings, now: datetime | None = None) -> list[dict[str, Any]]:
    """Approved answers overdue for review or due within the warning window, soonest first."""
    now = now or utcnow()
    window = timedelta(days=settings.drift.review_warning_days)
    return [
        {
            "answer_id": a.id,
            "topic": a.topic,
            "title": a.title,
            "owner": a.owner or "(no owner)",
            "review_due_at": a.review_due_at,
            "overdue": a.review_due_at is not None and a.review_due_at < now,
            "days_left": (a.review_due_at - now).days if a.review_due_at is not None else None,
        }
        for a in store.library.answers_due_for_review(now + window)
    ]


def coverage_lost(
    store: Store,
    settings: Settings,
    since: datetime | None = None,
    until: datetime | None = None,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Per topic that lost suggestions: how many it had, how many were shown, the lost ones by
    reason, the main reason, and the library's part (overdue answers with owners, no approved
    answer); the topics the library is to blame for first, then by lost suggestions."""
    now = now or utcnow()
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for topic, why, n in store.reporting.lost_coverage(since, until):
        counts[topic or NO_TOPIC][why] += int(n)
    approved: dict[str, list[Any]] = defaultdict(list)
    for a in store.library.answers(status=AnswerStatus.APPROVED):
        approved[a.topic].append(a)
    overdue = {a.id for a in store.library.answers_due_for_review(now)}
    out = []
    for topic, by in counts.items():
        lost = {r: by[r] for r in LOST_REASONS if by.get(r)}
        if not lost:
            continue
        main = max(lost, key=lambda r: (lost[r], r in LIBRARY_REASONS))
        answers = approved.get(topic, [])
        stale = [
            {"answer_id": a.id, "owner": a.owner or "(no owner)", "review_due_at": a.review_due_at}
            for a in answers
            if a.id in overdue
        ]
        out.append(
            {
                "topic": topic,
                "suggestions": sum(by.values()),
                "shown": by.get("shown", 0),
                "lost": sum(lost.values()),
                "reasons": lost,
                "main_reason": main,
                "library": main in LIBRARY_REASONS,
                "overdue_answers": stale,
                # None: the suggestions that found no topic, for which no answer is to be approved
                "approved_answers": None if topic == NO_TOPIC else len(answers),
            }
        )
    return sorted(out, key=lambda t: (not t["library"], -t["lost"], t["topic"]))


REASON_NAMES = {
    "overdue_answer": "answer overdue for review",
    "no_approved_answer": "no approved answer",
    "validation": "stopped by validation",
    "low_confidence": "low confidence",
    "other": "other",
}


def describe(t: dict[str, Any]) -> str:
    """One sentence on a topic's lost coverage, naming the answer and owner to act on."""
    shown = "none" if not t["shown"] else f"{t['shown']:,}"
    text = f"{t['topic']}: {t['suggestions']:,} suggestions, {shown} shown; {t['lost']:,} lost"
    text += f", mostly {REASON_NAMES[t['main_reason']]}"
    if t["main_reason"] == "overdue_answer" and t["overdue_answers"]:
        a = t["overdue_answers"][0]
        due = a["review_due_at"].date().isoformat() if a["review_due_at"] else "?"
        text += f" ({a['answer_id']}, due {due}, owner {a['owner']})"
    elif t["main_reason"] == "no_approved_answer":
        text += " (approve or write one)"
    return text + "."
