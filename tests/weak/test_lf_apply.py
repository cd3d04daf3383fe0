"""The applier: label matrix, stable label index, failures counted per function and not fatal."""

from __future__ import annotations

import numpy as np
import pytest

from supportcue.weak import LFInput, apply_lfs, keyword_lf, labeling_function


@labeling_function()
def fragile(x: LFInput) -> str | None:
    if "boom" in x.text:
        raise RuntimeError("cannot parse")
    return "greeting" if x.text.startswith("hi") else None


@labeling_function()
def wrong_type(x: LFInput) -> str | None:
    return 3  # type: ignore[return-value]


def test_matrix_failures_and_label_index() -> None:
    lfs = [keyword_lf("refund", ["refund"], "refund"), fragile, wrong_type]
    inputs = [LFInput("hi, refund please"), LFInput("boom refund"), LFInput("nothing here")]
    result = apply_lfs(lfs, inputs, label_names=["zzz_known"], progress=False)
    assert result.label_names == ["zzz_known", "greeting", "refund"]
    np.testing.assert_array_equal(result.matrix, [[2, 1, -1], [2, -1, -1], [-1, -1, -1]])
    assert result.failures == {"refund": 0, "fragile": 1, "wrong_type": 3}
    assert "RuntimeError" in result.errors["fragile"] and "TypeError" in result.errors["wrong_type"]
    assert result.labels(0) == {"refund": "refund", "fragile": "greeting"}
    assert result.to_dict()["failures"]["fragile"] == 1


def test_progress_bar_and_empty_inputs() -> None:
    result = apply_lfs([fragile], [], progress=True)
    assert result.matrix.shape == (0, 1) and result.label_names == []


def test_rejects_duplicate_names_and_mixed_tasks() -> None:
    with pytest.raises(ValueError, match="unique"):
        apply_lfs([fragile, fragile], [LFInput("x")], progress=False)
    other = keyword_lf("valid", ["hello"], "invalid", task="validity")
    with pytest.raises(ValueError, match="one task"):
        apply_lfs([fragile, other], [LFInput("x")], progress=False)
