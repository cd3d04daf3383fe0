"""Do annotators agree, and are there enough labels? Cohen's kappa per pair, counts against a target.

Functions over plain values (annotation triples, label counts), returning dataclasses that
serialise to JSON, so the review page, the CLI and tests all read the same numbers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from itertools import combinations
from typing import Any, Literal

Level = Literal["nominal", "ordinal"]
"""Krippendorff's levels of measurement the review uses (verdicts are ordinal, topics nominal)."""


def cohen_kappa(a: Sequence[Hashable], b: Sequence[Hashable]) -> float:
    """Cohen's kappa of two annotators' labels on the same items (scikit-learn's).

    When both gave one and the same label to every item, kappa is undefined (0/0); we return 1.0,
    perfect agreement, rather than NaN.
    """
    from sklearn.metrics import cohen_kappa_score

    if len(a) != len(b):
        raise ValueError(f"the two annotators labeled different numbers of items: {len(a)} vs {len(b)}")
    if not a:
        raise ValueError("kappa needs at least one item labeled by both annotators")
    left, right = [str(x) for x in a], [str(x) for x in b]
    if len(set(left) | set(right)) == 1:
        return 1.0
    return float(cohen_kappa_score(left, right))


@dataclass
class PairAgreement:
    """Two annotators on the items both labeled."""

    annotator_a: str
    annotator_b: str
    n_items: int
    percent_agreement: float | None
    kappa: float | None
    """Both None when the pair shares no item (nothing to agree on is not 0% agreement)."""


@dataclass
class AgreementReport:
    """Kappa per annotator pair and the overall percent agreement."""

    n_items: int
    """Items labeled by at least two annotators."""
    percent_agreement: float | None
    """Over those items, the share of annotator pairs that gave the same label."""
    pairs: list[PairAgreement] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def pairwise_agreement(annotations: Iterable[tuple[Hashable, str, Hashable]]) -> AgreementReport:
    """Agreement from `(item, annotator, label)` triples; an annotator's last label on an item wins."""
    by_item: dict[Hashable, dict[str, str]] = defaultdict(dict)
    for item, annotator, label in annotations:
        by_item[item][str(annotator)] = str(label)
    annotators = sorted({a for labels in by_item.values() for a in labels})
    pairs: list[PairAgreement] = []
    for first, second in combinations(annotators, 2):
        shared = [labels for labels in by_item.values() if first in labels and second in labels]
        a = [labels[first] for labels in shared]
        b = [labels[second] for labels in shared]
        same = sum(x == y for x, y in zip(a, b, strict=True))
        pairs.append(
            PairAgreement(
                first,
                second,
                len(shared),
                same / len(shared) if shared else None,
                cohen_kappa(a, b) if shared else None,
            )
        )
    agreeing = total = 0
    multi = [labels for labels in by_item.values() if len(labels) >= 2]
    for labels in multi:
        for x, y in combinations(labels.values(), 2):
            agreeing += x == y
            total += 1
    return AgreementReport(len(multi), agreeing / total if total else None, pairs)


@dataclass
class LabelCount:
    """How many labels a class has against the target."""

    label: str
    count: int
    target: int
    missing: int
    fraction: float
    """count / target, capped at 1."""


def label_counts_vs_target(counts: Mapping[str, int], target: int = 500) -> list[LabelCount]:
    """Per label, how far it is from `target` labels (`[labels] target_per_topic`); neediest first."""
    if target < 1:
        raise ValueError(f"target must be at least 1, got {target}")
    rows = [
        LabelCount(label, int(n), target, max(0, target - int(n)), min(1.0, int(n) / target))
        for label, n in counts.items()
    ]
    return sorted(rows, key=lambda r: (-r.missing, r.label))


def krippendorff_alpha(
    annotations: Iterable[tuple[Hashable, str, Hashable]],
    level: Level = "nominal",
    domain: Sequence[Hashable] | None = None,
) -> float | None:
    """Krippendorff's alpha (the `krippendorff` package) of `(item, annotator, value)` triples; an
    annotator's last value on an item wins. `level` "ordinal" needs `domain`, the values in order.

    None when alpha is undefined: no item has two values, or every value given is the same one (no
    variation to agree on)."""
    import krippendorff
    import numpy as np

    by_item: dict[Hashable, dict[str, Hashable]] = defaultdict(dict)
    for item, annotator, value in annotations:
        by_item[item][str(annotator)] = value
    units = [labels for labels in by_item.values() if len(labels) >= 2]
    values = {v for labels in units for v in labels.values()}
    if not units or len(values) < 2:
        return None
    order = list(domain) if domain is not None else sorted(values, key=str)
    unknown = values - set(order)
    if unknown:
        raise ValueError(f"values outside the domain: {sorted(map(str, unknown))}")
    index = {v: n for n, v in enumerate(order)}
    annotators = sorted({a for labels in units for a in labels})
    matrix = np.full((len(annotators), len(units)), np.nan)
    for col, labels in enumerate(units):
        for row, annotator in enumerate(annotators):
            if annotator in labels:
                matrix[row, col] = index[labels[annotator]]
    return float(
        krippendorff.alpha(
            reliability_data=matrix, value_domain=list(range(len(order))), level_of_measurement=level
        )
    )


@dataclass
class PairAlpha:
    """Krippendorff's alpha of two annotators on one task, over the items both labeled."""

    task: str
    annotator_a: str
    annotator_b: str
    n_items: int
    alpha: float | None


def alpha_by_pair(
    task: str,
    annotations: Sequence[tuple[Hashable, str, Hashable]],
    level: Level = "nominal",
    domain: Sequence[Hashable] | None = None,
) -> list[PairAlpha]:
    """Alpha for every pair of annotators who share at least one item on `task`."""
    by_item: dict[Hashable, dict[str, Hashable]] = defaultdict(dict)
    for item, annotator, value in annotations:
        by_item[item][str(annotator)] = value
    annotators = sorted({a for labels in by_item.values() for a in labels})
    out = []
    for first, second in combinations(annotators, 2):
        shared = [(i, labels) for i, labels in by_item.items() if first in labels and second in labels]
        if not shared:
            continue
        pairs = [(i, a, labels[a]) for i, labels in shared for a in (first, second)]
        out.append(PairAlpha(task, first, second, len(shared), krippendorff_alpha(pairs, level, domain)))
    return out
