"""Label quality over a workspace's store: likely label errors, annotator agreement, counts vs target."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from datetime import UTC
from typing import Any

from supportcue.data.store import Store
from supportcue.data.tables import Label
from supportcue.embeddings import Embedder
from supportcue.errors import TrainingDataError
from supportcue.review.agreement import label_counts_vs_target, pairwise_agreement
from supportcue.review.label_issues import find_label_issues, out_of_sample_probs
from supportcue.settings import Settings
from supportcue.training.dataset import labeled_cases
from supportcue.vocab import HUMAN_SOURCES, MACHINE_SOURCES, LabelSource


@dataclass(frozen=True)
class LabelIssues:
    rows: list[dict[str, Any]]
    """Likely label errors, most suspicious first."""
    unchecked: list[str]
    """Labels of a single case, which cross-validation cannot check (it needs two)."""
    confirmed: int = 0
    """Flagged cases left out because a reviewer (source `sme`) gave the label they have."""


def label_issues(store: Store, settings: Settings, embedder: Embedder, task: str) -> LabelIssues:
    """Cases whose resolved label looks wrong given every other labeled case, most suspicious first.

    Probabilities come from cross-validation (each case scored by a model that never saw its label),
    then cleanlab's confident learning decides which labels to flag. A label of a single case is left
    out and named in `unchecked`. A case whose label a reviewer gave (source `sme`: a label kept or
    corrected in a review batch imported back, or in /review) is left out and counted in `confirmed`.
    Too few labels to compare is a `TrainingDataError`, not an empty list.
    """
    data = labeled_cases(store, task, settings.labels.source_weights)
    counts = Counter(data.labels)
    unchecked = sorted(label for label, n in counts.items() if n < 2)
    keep = [i for i, label in enumerate(data.labels) if counts[label] >= 2]
    if len({data.labels[i] for i in keep}) < 2:
        # "0 likely errors" would read as "the labels are fine" when nothing was checked
        raise TrainingDataError(
            f"nothing to check: {len(data.labels)} case(s) with a {task} label, and finding label "
            f"errors needs at least two {task} values with two labeled cases each; import labels "
            "first (`supportcue import labels FILE`)"
        )
    texts = [data.texts[i] for i in keep]
    labels = [data.labels[i] for i in keep]
    probs, classes = out_of_sample_probs(embedder.embed(texts), labels)
    index = {c: i for i, c in enumerate(classes)}
    found = find_label_issues([index[label] for label in labels], probs)
    # a label a reviewer gave (kept or corrected in a review batch, or in /review) is answered: the
    # model may still doubt it, but listing it again put the same cases at the top of every batch
    answered = {
        (lb.case_id or lb.subject, lb.value) for lb in store.labels.list(task, sources=[LabelSource.SME])
    }
    given_by = _given_by(store, task, {data.case_ids[keep[i]] for i in found.indices.tolist()})
    rows: list[dict[str, Any]] = []
    confirmed = 0
    for row, score, suggested in zip(
        found.indices.tolist(), found.scores.tolist(), found.suggested.tolist(), strict=True
    ):
        i = keep[row]
        if (data.case_ids[i], data.labels[i]) in answered:
            confirmed += 1
            continue
        rows.append(
            {
                "rank": len(rows) + 1,
                "case_id": data.case_ids[i],
                "text": data.texts[i],
                "given": data.labels[i],
                "suggested": classes[suggested],
                "quality": float(score),
                **_provenance(given_by.get((data.case_ids[i], data.labels[i]), [])),
            }
        )
    return LabelIssues(rows, unchecked, confirmed)


def _given_by(store: Store, task: str, subjects: set[str]) -> dict[tuple[str, str], list[Label]]:
    """(case id or subject, value) -> the live labels of `task` that say it, of the flagged cases."""
    out: dict[tuple[str, str], list[Label]] = defaultdict(list)
    for lb in store.labels.list(task):
        subject = lb.case_id or lb.subject
        if subject in subjects:
            out[(subject, lb.value)].append(lb)
    return out


def _provenance(labels: list[Label]) -> dict[str, Any]:
    """Who gave a flagged label (`given_by`: each `source:annotator`, sorted) and when (`given_at`:
    the newest of their times, ISO 8601): a label model's guess reads differently from an expert's."""
    if not labels:
        return {"given_by": "", "given_at": None}
    names = sorted({f"{lb.source}:{lb.annotator}" if lb.annotator else lb.source for lb in labels})
    newest = max(
        lb.created_at if lb.created_at.tzinfo else lb.created_at.replace(tzinfo=UTC) for lb in labels
    )
    return {"given_by": ", ".join(names), "given_at": newest.isoformat()}


def label_stats(store: Store, settings: Settings, task: str) -> dict[str, Any]:
    """Per-label counts of the people's labeled cases against `[labels] target_per_topic` (each
    under the label training resolves its labels to), and agreement."""
    labels = store.labels.list(task)
    human = [lb for lb in labels if lb.source in HUMAN_SOURCES]
    # each case (or text labeled without one) under the label training resolves the people's to
    people = labeled_cases(store, task, settings.labels.source_weights, exclude_sources=MACHINE_SOURCES)
    counts = Counter(people.labels)
    agreement = pairwise_agreement(
        (lb.case_id or lb.subject, lb.annotator, lb.value)
        for lb in human
        if (lb.case_id or lb.text) and lb.annotator
    )
    return {
        "task": task,
        "labeled_cases": len(people),
        "labels_by_source": dict(Counter(lb.source for lb in labels)),
        "target_per_label": settings.labels.target_per_topic,
        "counts": [asdict(c) for c in label_counts_vs_target(counts, settings.labels.target_per_topic)],
        "agreement": agreement.to_dict(),
    }
