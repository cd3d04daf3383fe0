"""Training data from the store: labels of every source, weighted, with a fingerprint.

A case may carry several labels for a task (two experts, a weak label, an agent's feedback). Each
label weighs `source_weights[source] * confidence`; the case's label is the value with the largest
total weight, and its sample weight is that total (capped at 1); of values that tie, the one labeled
last (a reviewer's correction of an expert's label weighs the same, and must win). Expired labels are
never used.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from supportcue.data.store import Store
from supportcue.data.tables import Label
from supportcue.vocab import MACHINE_SOURCES, PROPAGATION_ANNOTATOR, LabelSource


@dataclass
class LabeledSet:
    """Case ids, texts, labels and weights for one task, in time order."""

    task: str
    case_ids: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    weights: list[float] = field(default_factory=list)
    created_at: list[datetime] = field(default_factory=list)
    sources: dict[str, int] = field(default_factory=dict)
    unmatched: list[str] = field(default_factory=list)
    """Labeled case ids that match no case in the store (never imported): never learned from."""
    spread: int = 0
    """How many of the stored labels were spread from the people's by `weak propagate` (annotator
    `propagation`): a backtest spreads them again among its own training cases (given as `extra`,
    which this does not count: such a set needs no second spreading)."""

    def __len__(self) -> int:
        return len(self.labels)

    def fingerprint(self) -> str:
        """Changes whenever a case, its label or its weight changes."""
        digest = hashlib.sha256()
        for cid, text, label, weight in zip(
            self.case_ids, self.texts, self.labels, self.weights, strict=True
        ):
            digest.update(f"{cid}\x1f{label}\x1f{weight:.4f}\x1f{text}\x1e".encode())
        return digest.hexdigest()[:16]

    def split(self, cut: datetime) -> tuple[LabeledSet, LabeledSet]:
        """Cases created before `cut`, and the rest."""
        return self.where(lambda i: self.created_at[i] < cut), self.where(lambda i: self.created_at[i] >= cut)

    def where(self, keep: Callable[[int], bool]) -> LabeledSet:
        """The cases whose index `keep` accepts, in the same order."""
        out = LabeledSet(self.task)
        for i in range(len(self)):
            if keep(i):
                out.case_ids.append(self.case_ids[i])
                out.texts.append(self.texts[i])
                out.labels.append(self.labels[i])
                out.weights.append(self.weights[i])
                out.created_at.append(self.created_at[i])
        return out

    def counts(self) -> dict[str, int]:
        """Cases per label, most frequent first."""
        return dict(Counter(self.labels).most_common())


def weigh(votes: Iterable[tuple[str, str, float]]) -> dict[str, dict[str, float]]:
    """(subject, value, weight) votes -> subject: value: total weight."""
    totals: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for subject, value, weight in votes:
        totals[subject][value] += weight
    return totals


TIE = 1e-9
"""Totals closer than this tie (1.0 + 0.5 and 0.5 + 1.0 differ in their last bits)."""
Vote = tuple[str, str, float] | tuple[str, str, float, datetime]
"""(subject, value, weight) or (subject, value, weight, when it was labeled)."""


def resolve(votes: Iterable[Vote]) -> dict[str, tuple[str, float]]:
    """Votes -> subject: (winning value, its weight capped at 1). Of values that tie, the one labeled
    last (a correction: an SME's label, which weighs what the expert's it corrects weighs, lost to it
    whenever the expert's value came first in sorted order), then the first in sorted order."""
    newest: dict[tuple[str, str], datetime] = {}
    plain: list[tuple[str, str, float]] = []
    for vote in votes:
        subject, value, weight = vote[0], vote[1], vote[2]
        plain.append((subject, value, weight))
        if len(vote) > 3:
            when = _aware(vote[3])
            newest[subject, value] = max(newest.get((subject, value), when), when)
    out = {}
    for subject, by_value in weigh(plain).items():
        top = max(by_value.values())
        tied = sorted(v for v, w in by_value.items() if top - w <= TIE)
        # max keeps the first of equals: the first in sorted order among the newest
        value = max(tied, key=lambda v: newest.get((subject, v)) or datetime.min.replace(tzinfo=UTC))
        out[subject] = (value, min(1.0, by_value[value]))
    return out


def _aware(when: datetime) -> datetime:
    """A stored time as UTC (SQLite gives them back without a zone)."""
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def labeled_cases(
    store: Store,
    task: str,
    source_weights: Mapping[str, float],
    exclude_sources: Iterable[str] = (),
    now: datetime | None = None,
    min_confidence: float = 0.0,
    exclude_annotators: Iterable[str] = (),
    extra: Iterable[Label] = (),
) -> LabeledSet:
    """The training set of `task` (e.g. "topic", "validity") from every label source: the labeled
    cases, and the texts labeled without a case (their id is the label's subject, `text:...`, and
    their time the earliest of their labels' `created_at`, as a case's is when it was written).
    `exclude_annotators` leaves out the labels of some annotators; `extra` adds labels that are not
    stored (a backtest's own propagation)."""
    excluded, not_by = set(exclude_sources), set(exclude_annotators)

    def usable(lb: Label) -> bool:
        return bool(lb.case_id or lb.text) and (
            lb.source not in excluded and lb.annotator not in not_by and lb.confidence >= min_confidence
        )

    kept = [lb for lb in store.labels.list(task, now=now) if usable(lb)]
    labels = kept + [lb for lb in extra if usable(lb)]
    # a case a person labeled is read from the people's labels: a machine's vote there (`weak apply`
    # labels every case, echoing the label it was fitted on) outvoted a reviewer's later correction
    by_people = {lb.case_id or lb.subject for lb in labels if lb.source not in MACHINE_SOURCES}
    votes = [
        (
            lb.case_id or lb.subject,
            lb.value,
            source_weights.get(lb.source, 0.5) * lb.confidence,
            lb.created_at,
        )
        for lb in labels
        if lb.source not in MACHINE_SOURCES or (lb.case_id or lb.subject) not in by_people
    ]
    resolved = resolve(v for v in votes if v[2] > 0)
    stored = {c.id: c for c in store.cases.list(include_purged=True) if c.id in resolved}
    # (subject, created_at, text) of each example: the cases (nothing learns from purged text) and
    # the texts labeled without one
    examples = [(c.id, c.created_at, c.message) for c in stored.values() if c.purged_at is None]
    texts: dict[str, tuple[datetime, str]] = {}
    for lb in labels:
        if not lb.case_id and lb.text and lb.subject in resolved:
            first = texts.get(lb.subject, (lb.created_at, lb.text))
            texts[lb.subject] = (min(first[0], lb.created_at), lb.text)
    examples += [(subject, when, text) for subject, (when, text) in texts.items()]
    out = LabeledSet(task)
    for lb in labels:
        out.sources[lb.source] = out.sources.get(lb.source, 0) + 1
    out.spread = sum(lb.source == LabelSource.WEAK and lb.annotator == PROPAGATION_ANNOTATOR for lb in kept)
    out.unmatched = sorted(set(resolved) - set(stored) - set(texts))
    for subject, created_at, text in sorted(examples, key=lambda e: (e[1], e[0])):
        value, weight = resolved[subject]
        out.case_ids.append(subject)
        out.texts.append(text)
        out.labels.append(value)
        out.weights.append(weight)
        out.created_at.append(created_at)
    return out
