"""LF analysis numbers on a hand-made label matrix."""

from __future__ import annotations

import json

import numpy as np
import pytest
from rich.console import Console

from supportcue.weak import analyze_lfs, conflict_matrix, render_analysis

#        lf0 lf1 lf2
L = np.array(
    [
        [0, 0, -1],  # overlap, agree
        [0, 1, -1],  # conflict lf0/lf1
        [-1, 1, 1],  # overlap, agree
        [-1, -1, 0],  # lf2 alone
        [-1, -1, -1],  # nothing
    ]
)
GOLD = np.array([0, 1, 1, -1, 0])


def test_per_lf_and_total_numbers() -> None:
    result = analyze_lfs(L, ["lf0", "lf1", "lf2"], ["a", "b"], gold=GOLD)
    lf0, lf1, lf2 = result.lfs
    assert (lf0.coverage, lf1.coverage, lf2.coverage) == (0.4, 0.6, 0.4)
    assert (lf0.overlaps, lf1.overlaps, lf2.overlaps) == (0.4, 0.6, 0.2)
    assert (lf0.conflicts, lf1.conflicts, lf2.conflicts) == (0.2, 0.2, 0.0)
    assert lf0.polarity == ["a"] and lf1.polarity == ["a", "b"] and lf2.polarity == ["a", "b"]
    assert (lf0.correct, lf0.incorrect, lf0.emp_accuracy) == (1, 1, 0.5)
    assert (lf1.correct, lf1.incorrect) == (3, 0)
    assert (lf2.correct, lf2.incorrect) == (1, 0)  # row 3 has no gold
    assert (result.coverage, result.overlap, result.conflict) == (0.8, 0.6, 0.2)
    assert result.n_gold == 4
    json.dumps(result.to_dict())


def test_conflict_matrix_is_symmetric() -> None:
    C = conflict_matrix(L)
    expected = np.zeros((3, 3))
    expected[0, 1] = expected[1, 0] = 0.2
    np.testing.assert_allclose(C, expected)


def test_no_gold_and_table() -> None:
    result = analyze_lfs(L, ["lf0", "lf1", "lf2"])
    assert all(lf.emp_accuracy is None for lf in result.lfs)
    console = Console(record=True, width=120)
    console.print(render_analysis(result))
    assert "lf1" in console.export_text()
    with pytest.raises(ValueError, match="expected"):
        analyze_lfs(L, ["only_one"])
