"""A reviewer's review, checked and stored with the labels it becomes (source `sme`).

Every review becomes labels with source `sme`, the reviewer as annotator, and an expiry
(`[review] label_days` after the review), so `train` reads them with the `sme` weight
(`[labels.source_weights]`) until they expire:

* a `suggestion` item: `response_quality` = the verdict (subject `suggestion:<id>`); when the verdict is
  `correct`, `answer` = the suggested answer; `topic` = the topic the reviewer gave, else (verdict not
  `incorrect`, no `wrong_topic` flag) the suggestion's topic;
* a `message` item: `validity` = valid / invalid; `topic` = the topic given, else (valid, verdict
  `correct`) the topic proposed with it;
* a `cluster` item: with a topic given and a verdict other than `incorrect`, `topic` for each of its
  cases; a new topic named so becomes a topic of the workspace.

An item about a case supportcue never stored (a drift alert's example from a team that uses only the
API: `review/alert_items.py`) asks about the message its suggestion kept, masked; its labels are
labels on that text (subject `text:<sha1>`, no case), as `labels import` stores a label on free text;
a cluster none of whose cases is stored, labels on each message its suggestions kept.

A reviewer reviews an item once: a second review is refused (`ReviewConflict`, HTTP 409), since two
different verdicts from one person would make agreement and precision ambiguous; send a correction as
a new label instead (`supportcue labels import`).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from supportcue.data.store import Store
from supportcue.data.tables import Review, ReviewItem, utcnow
from supportcue.embeddings import text_key
from supportcue.errors import ReviewError
from supportcue.settings import Settings
from supportcue.vocab import LabelSource, LabelTask, ReviewFlag, ReviewKind, Verdict


@dataclass
class ReviewInput:
    item_id: str
    verdict: Verdict
    corrected_text: str | None = None
    topic: str | None = None
    flags: Sequence[ReviewFlag] = field(default_factory=list)
    valid: bool | None = None
    """For a message item: is it a question support answers? (default: yes)"""


def item_message(store: Store, item: ReviewItem) -> str | None:
    """The customer message an item asks about: its case's (None once purged), or else, for a case
    supportcue never stored, the one its suggestion (`details.message_from`) kept, masked."""
    case = store.cases.get(item.case_id) if item.case_id else None
    if case is not None:
        return case.message if case.purged_at is None else None
    sid = (item.details or {}).get("message_from")
    return store.cases.suggestion_messages([str(sid)]).get(str(sid)) if sid else None


def labels_for(
    item: ReviewItem,
    review: ReviewInput,
    reviewer: str,
    now: datetime,
    expires_at: datetime,
    answer_id: str | None = None,
    texts: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """The `sme` labels a review becomes (see the module docstring); with `texts` (the masked messages
    of an item whose cases supportcue never stored: one, or a cluster's), labels on those texts
    instead of its cases."""
    base = {
        "source": LabelSource.SME,
        "annotator": reviewer,
        "confidence": 1.0,
        "created_at": now,
        "expires_at": expires_at,
    }
    out: list[dict[str, Any]] = []

    def label(task: str, value: str, case_id: str | None, subject: str | None = None) -> None:
        if texts and subject is None:  # a label about the message(s), not about a suggestion
            for text in texts:
                row = {"subject": f"text:{text_key(text)}", "case_id": None, "text": text}
                out.append({**base, **row, "task": task, "value": value})
        elif case_id:
            row = {"subject": subject or case_id, "case_id": case_id, "task": task, "value": value}
            out.append({**base, **row})

    topic_ok = review.verdict != Verdict.INCORRECT and ReviewFlag.WRONG_TOPIC not in review.flags
    if item.kind == ReviewKind.SUGGESTION:
        label(
            LabelTask.RESPONSE_QUALITY,
            review.verdict,
            item.case_id,
            f"suggestion:{item.suggestion_id}",
        )
        if review.verdict == Verdict.CORRECT and answer_id:
            label(LabelTask.ANSWER, answer_id, item.case_id)
        topic = review.topic or (item.topic if topic_ok else None)
        if topic:
            label(LabelTask.TOPIC, topic, item.case_id)
    elif item.kind == ReviewKind.MESSAGE:
        valid = True if review.valid is None else review.valid
        label(LabelTask.VALIDITY, "valid" if valid else "invalid", item.case_id)
        topic = review.topic or (item.topic if review.verdict == Verdict.CORRECT else None)
        if valid and topic:
            label(LabelTask.TOPIC, topic, item.case_id)
    elif item.kind == ReviewKind.CLUSTER and review.topic and review.verdict != Verdict.INCORRECT:
        if texts:
            label(LabelTask.TOPIC, review.topic, None)
        for case_id in [] if texts else (item.details or {}).get("case_ids", []):
            label(LabelTask.TOPIC, review.topic, str(case_id))
    return out


def unstored_texts(store: Store, item: ReviewItem) -> list[str]:
    """The masked messages an item about cases supportcue never stored asks about (see the module
    docstring): a message item's one, or a cluster's when none of its cases is stored; else none."""
    details = item.details or {}
    if item.kind == ReviewKind.CLUSTER:
        if store.reviews.cases([str(c) for c in details.get("case_ids", [])]):
            return []
        kept = store.cases.suggestion_messages([str(s) for s in details.get("suggestion_ids", [])])
        return list(dict.fromkeys(kept.values()))
    if not details.get("message_from") or (item.case_id and store.cases.get(item.case_id)):
        return []
    text = item_message(store, item)
    return [text] if text else []


def submit(
    store: Store,
    settings: Settings,
    review: ReviewInput,
    reviewer: str,
    topics: Collection[str] | None = None,
    now: datetime | None = None,
) -> tuple[Review, list[dict[str, Any]]]:
    """Check and store a review and its labels; `LookupError` for an unknown item, `ReviewError` for a
    review that does not fit it, `ReviewConflict` when the reviewer reviewed the item before."""
    item = store.reviews.item(review.item_id)
    if item is None:
        raise LookupError(f"no review item {review.item_id[:60]!r}")
    if review.valid is not None and item.kind != ReviewKind.MESSAGE:
        raise ReviewError(f"`valid` is for message items; item {item.id} is a {item.kind}")
    if review.topic is not None:
        known = {t.key for t in store.library.topics()} if topics is None else set(topics)
        if review.topic not in known and item.kind != ReviewKind.CLUSTER:
            shown = ", ".join(sorted(known)[:20]) or "none yet"
            raise ReviewError(
                f"topic {review.topic[:100]!r} is not a topic of this workspace (topics: {shown})"
            )
    if item.kind == ReviewKind.CLUSTER and review.verdict != Verdict.INCORRECT and not review.topic:
        raise ReviewError("a cluster judged to be one topic needs `topic`: the topic (new or existing) it is")
    now = now or utcnow()
    expires = now + timedelta(days=settings.review.label_days)
    suggestion = store.cases.suggestion(item.suggestion_id) if item.suggestion_id else None
    answer_id = suggestion.answer_id if suggestion else None
    labels = labels_for(item, review, reviewer, now, expires, answer_id, unstored_texts(store, item))
    row = {
        "item_id": item.id,
        "reviewer": reviewer,
        "verdict": str(review.verdict),
        "valid": review.valid,
        "topic": review.topic,
        "corrected_text": review.corrected_text,
        "flags": [str(f) for f in dict.fromkeys(review.flags)],
        "created_at": now,
    }
    stored = store.reviews.record(row, labels)
    if item.kind == ReviewKind.CLUSTER and review.topic and review.verdict != Verdict.INCORRECT:
        store.library.ensure_topics([review.topic])  # a new topic named: reviewers may give it now
    return stored, labels
