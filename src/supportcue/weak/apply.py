"""Apply labeling functions to many inputs: a label matrix, with failures counted, never fatal.

`L[i, j]` is the index (in `label_names`) of the label LF `j` gave input `i`, or -1 (`ABSTAIN_INDEX`)
when it abstained or raised. The label index is stable: the caller's `label_names` first, in their
order, then any new labels the LFs produced, sorted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from rich.progress import track

from supportcue.weak.lf import LabelingFunction, LFInput

ABSTAIN_INDEX = -1
LabelMatrix = npt.NDArray[np.int64]


@dataclass
class ApplyResult:
    """The label matrix and how to read it."""

    matrix: LabelMatrix
    label_names: list[str]
    lf_names: list[str]
    failures: dict[str, int]
    """Per LF, how many inputs made it raise (or return a non-string); those count as abstentions."""
    errors: dict[str, str] = field(default_factory=dict)
    """Per failing LF, the first error, for the person fixing it."""

    def labels(self, row: int) -> dict[str, str]:
        """LF name -> label for one input (abstentions left out)."""
        return {
            self.lf_names[j]: self.label_names[int(v)]
            for j, v in enumerate(self.matrix[row])
            if v != ABSTAIN_INDEX
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": int(self.matrix.shape[0]),
            "label_names": list(self.label_names),
            "lf_names": list(self.lf_names),
            "failures": dict(self.failures),
            "errors": dict(self.errors),
        }


def apply_lfs(
    lfs: Sequence[LabelingFunction],
    inputs: Sequence[LFInput],
    label_names: Sequence[str] = (),
    progress: bool = True,
) -> ApplyResult:
    """Run every LF on every input. An LF that raises abstains on that input and is counted.

    All LFs must share one task (one label matrix per task). `progress` shows a rich progress bar.
    """
    names = [lf.name for lf in lfs]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ValueError(f"labeling function names must be unique; repeated: {duplicated}")
    tasks = sorted({lf.task for lf in lfs})
    if len(tasks) > 1:
        raise ValueError(f"apply labeling functions of one task at a time; got tasks {tasks}")

    raw: list[list[str | None]] = []
    failures = dict.fromkeys(names, 0)
    errors: dict[str, str] = {}
    for x in track(inputs, description="Applying labeling functions", disable=not progress, transient=True):
        row: list[str | None] = []
        for lf in lfs:
            try:
                value = lf(x)
                if value is not None and not isinstance(value, str):
                    raise TypeError(f"returned {type(value).__name__} {value!r}, not a str or None")
            except Exception as exc:
                failures[lf.name] += 1
                errors.setdefault(lf.name, f"{type(exc).__name__}: {exc}")
                value = None
            row.append(value)
        raw.append(row)

    index = {name: i for i, name in enumerate(dict.fromkeys(label_names))}
    for new in sorted({v for row in raw for v in row if v is not None} - index.keys()):
        index[new] = len(index)
    matrix = np.full((len(inputs), len(lfs)), ABSTAIN_INDEX, dtype=np.int64)
    for i, row in enumerate(raw):
        for j, value in enumerate(row):
            if value is not None:
                matrix[i, j] = index[value]
    return ApplyResult(matrix, list(index), names, failures, errors)
