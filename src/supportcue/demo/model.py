"""The demo workspace's records: frozen, typed rows the lead loads into the store.

All datetimes are timezone-aware UTC, like the store's `UTCDateTime` columns.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

AnswerStatus = Literal["approved", "retired", "draft"]
LabelTask = Literal["validity", "topic"]


@dataclass(frozen=True)
class Topic:
    """A kind of question the support desk answers; `launched_at` is set for products launched mid-demo."""

    key: str
    name: str
    description: str
    launched_at: datetime | None = None


@dataclass(frozen=True)
class Answer:
    """One entry of the answer library; `body` may hold placeholders such as `{customer_name}`."""

    id: str
    topic: str
    title: str
    body: str
    status: AnswerStatus
    owner: str
    reviewed_at: datetime
    review_due_at: datetime
    version: int


@dataclass(frozen=True)
class Article:
    """A knowledge-base article, the context the LLM response mode may quote."""

    id: str
    topic: str
    title: str
    body: str


@dataclass(frozen=True)
class Agent:
    """A fictional support agent; `DemoCase.agent_id` refers to `id`."""

    id: str
    name: str
    team: str


@dataclass(frozen=True)
class DemoCase:
    """A customer message, its ground-truth labels and what the agent actually did.

    `valid` / `invalid_kind` / `topic` are the truth (experts' labels in `DemoData.labels` may be
    noisy); `sent_answer_id` is the library answer the agent started from, None for free text.
    """

    id: str
    created_at: datetime
    channel: str
    customer_name: str
    message: str
    fields: dict[str, str]
    valid: bool
    invalid_kind: str | None
    topic: str | None
    sent_reply: str | None
    sent_answer_id: str | None
    agent_id: str
    handle_seconds: int
    week: int


@dataclass(frozen=True)
class DemoLabel:
    """An expert's label of one case for one task (`validity`: "valid"/"invalid"; `topic`: a topic key)."""

    case_id: str
    task: LabelTask
    value: str
    annotator: str
    source: str
    confidence: float
    created_at: datetime


@dataclass(frozen=True)
class DemoData:
    """Everything the demo workspace holds, generated from `seed` (see `supportcue.demo.generate`)."""

    seed: int
    start: datetime
    end: datetime
    topics: tuple[Topic, ...]
    answers: tuple[Answer, ...]
    articles: tuple[Article, ...]
    cases: tuple[DemoCase, ...]
    labels: tuple[DemoLabel, ...]
    new_topic_key: str
    outdated_answer_id: str
    policy_change_at: datetime
    agents: tuple[Agent, ...] = field(default=())

    def stats(self) -> dict[str, object]:
        """Headline counts for reports: volumes per topic and week, non-questions, library use, labels."""
        n = len(self.cases)
        invalid = [c for c in self.cases if not c.valid]
        replies = [c for c in self.cases if c.sent_reply is not None]
        actionable_replies = [c for c in replies if c.valid]
        from_library = [c for c in replies if c.sent_answer_id is not None]
        labeled_per_case = Counter((lb.case_id, lb.annotator) for lb in self.labels if lb.task == "validity")
        annotators_per_case = Counter(case_id for case_id, _ in labeled_per_case)
        due = self.end
        return {
            "seed": self.seed,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "cases": n,
            "topics": len(self.topics),
            "articles": len(self.articles),
            "answers": dict(sorted(Counter(a.status for a in self.answers).items())),
            "answers_overdue_for_review": sum(
                1 for a in self.answers if a.status == "approved" and a.review_due_at < due
            ),
            "cases_per_topic": dict(
                sorted(Counter(c.topic for c in self.cases if c.topic is not None).items())
            ),
            "cases_per_week": dict(sorted(Counter(c.week for c in self.cases).items())),
            "cases_per_channel": dict(sorted(Counter(c.channel for c in self.cases).items())),
            "non_question_share": _share(len(invalid), n),
            "non_question_kinds": dict(sorted(Counter(str(c.invalid_kind) for c in invalid).items())),
            "replies_sent": len(replies),
            "library_reply_share": _share(len(from_library), len(replies)),
            "library_reply_share_actionable": _share(
                sum(1 for c in actionable_replies if c.sent_answer_id is not None), len(actionable_replies)
            ),
            "distinct_message_share": _share(len({c.message for c in self.cases}), n),
            "median_handle_seconds": _median([c.handle_seconds for c in self.cases]),
            "expert_labeled_share": _share(len(annotators_per_case), n),
            "double_labeled_cases": sum(1 for k in annotators_per_case.values() if k >= 2),
            "labels": len(self.labels),
            "new_topic": self.new_topic_key,
            "outdated_answer_id": self.outdated_answer_id,
            "policy_change_at": self.policy_change_at.isoformat(),
        }


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _median(values: list[int]) -> int:
    if not values:
        return 0
    ordered = sorted(values)
    return ordered[len(ordered) // 2]
