"""How good are the labeling functions? Coverage, overlaps, conflicts and accuracy, over arrays.

Definitions follow snorkel's `LFAnalysis`: an LF's *coverage* is the share of rows it labels; its
*overlaps* the share it labels together with another LF; its *conflicts* the share where another LF
gave a different label. *Empirical accuracy* is measured on the rows that have gold (gold -1 = none)
and that the LF labeled. `conflict_matrix[j, k]` is the share of all rows where LFs j and k both voted
and disagreed. Everything serialises to JSON through `to_dict()`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from rich.table import Table

from supportcue.weak.apply import ABSTAIN_INDEX


@dataclass
class LFStats:
    """One labeling function's numbers."""

    name: str
    polarity: list[str]
    coverage: float
    overlaps: float
    conflicts: float
    n_labeled: int
    correct: int | None = None
    incorrect: int | None = None
    emp_accuracy: float | None = None
    """None when the LF labeled no gold row."""


@dataclass
class LFAnalysis:
    """Per-LF statistics, the totals over the matrix, and the pairwise conflict matrix."""

    n: int
    lfs: list[LFStats]
    coverage: float
    """Share of rows with at least one vote."""
    overlap: float
    """Share of rows with at least two votes."""
    conflict: float
    """Share of rows with at least two different labels."""
    conflict_matrix: list[list[float]] = field(default_factory=list)
    n_gold: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _row_conflicts(L: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    voted = L != ABSTAIN_INDEX
    high = np.where(voted, L, np.iinfo(np.int64).min).max(axis=1, initial=np.iinfo(np.int64).min)
    low = np.where(voted, L, np.iinfo(np.int64).max).min(axis=1, initial=np.iinfo(np.int64).max)
    result: npt.NDArray[np.bool_] = (voted.sum(axis=1) >= 2) & (high != low)
    return result


def conflict_matrix(L: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """m x m: the share of rows where LFs j and k both voted and disagreed (0 on the diagonal)."""
    matrix = np.asarray(L, dtype=np.int64)
    n, m = matrix.shape
    voted = matrix != ABSTAIN_INDEX
    out = np.zeros((m, m), dtype=np.float64)
    if n == 0:
        return out
    for j in range(m):
        both = voted[:, [j]] & voted
        out[j] = (both & (matrix[:, [j]] != matrix)).sum(axis=0) / n
    return out


def analyze_lfs(
    L: npt.ArrayLike,
    lf_names: Sequence[str],
    label_names: Sequence[str] = (),
    gold: npt.ArrayLike | None = None,
) -> LFAnalysis:
    """Statistics of a label matrix; `gold` holds a label index per row, or -1 where unknown."""
    matrix = np.asarray(L, dtype=np.int64)
    if matrix.ndim != 2 or matrix.shape[1] != len(lf_names):
        raise ValueError(f"L has shape {matrix.shape}; expected (n, {len(lf_names)}) for {len(lf_names)} LFs")
    n = matrix.shape[0]
    truth = np.full(n, ABSTAIN_INDEX, dtype=np.int64) if gold is None else np.asarray(gold, dtype=np.int64)
    if truth.shape != (n,):
        raise ValueError(f"gold has shape {truth.shape}; expected ({n},)")
    has_gold = truth != ABSTAIN_INDEX
    voted = matrix != ABSTAIN_INDEX
    votes_per_row = voted.sum(axis=1)
    row_conflict = _row_conflicts(matrix)

    def name_of(index: int) -> str:
        return label_names[index] if index < len(label_names) else str(index)

    stats: list[LFStats] = []
    for j, name in enumerate(lf_names):
        mine = voted[:, j]
        others_disagree = (voted & (matrix != matrix[:, [j]])).any(axis=1) & mine
        item = LFStats(
            name=name,
            polarity=[name_of(int(v)) for v in np.unique(matrix[mine, j])],
            coverage=float(mine.mean()) if n else 0.0,
            overlaps=float((mine & (votes_per_row >= 2)).mean()) if n else 0.0,
            conflicts=float(others_disagree.mean()) if n else 0.0,
            n_labeled=int(mine.sum()),
        )
        scored = mine & has_gold
        if scored.any():
            item.correct = int((matrix[scored, j] == truth[scored]).sum())
            item.incorrect = int(scored.sum()) - item.correct
            item.emp_accuracy = item.correct / int(scored.sum())
        stats.append(item)
    return LFAnalysis(
        n=n,
        lfs=stats,
        coverage=float((votes_per_row >= 1).mean()) if n else 0.0,
        overlap=float((votes_per_row >= 2).mean()) if n else 0.0,
        conflict=float(row_conflict.mean()) if n else 0.0,
        conflict_matrix=conflict_matrix(matrix).tolist(),
        n_gold=int(has_gold.sum()),
    )


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def render_analysis(analysis: LFAnalysis) -> Table:
    """A rich table, one row per LF, with the totals in the caption."""
    table = Table(title=f"Labeling functions on {analysis.n} rows ({analysis.n_gold} with gold)")
    for column in ("LF", "polarity", "coverage", "overlaps", "conflicts", "accuracy (gold)"):
        table.add_column(column, justify="left" if column in ("LF", "polarity") else "right")
    for lf in analysis.lfs:
        polarity = ", ".join(lf.polarity[:3]) + (" ..." if len(lf.polarity) > 3 else "")
        accuracy = _pct(lf.emp_accuracy)
        if lf.correct is not None and lf.incorrect is not None:
            accuracy += f" ({lf.correct}/{lf.correct + lf.incorrect})"
        table.add_row(lf.name, polarity, _pct(lf.coverage), _pct(lf.overlaps), _pct(lf.conflicts), accuracy)
    table.caption = (
        f"any vote {_pct(analysis.coverage)} · 2+ votes {_pct(analysis.overlap)} · "
        f"conflicting {_pct(analysis.conflict)}"
    )
    return table
