"""Calibration helpers shared by the stages: softmax, temperature scaling, precision-targeted thresholds.

Functions over arrays (labels, scores, probabilities), so they work with any model.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize_scalar
from threadpoolctl import ThreadpoolController  # type: ignore[import-untyped]

Floats = npt.NDArray[np.float64]


def softmax(logits: npt.NDArray[np.floating]) -> Floats:
    """Row-wise softmax, numerically stable."""
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    out: Floats = z
    return out


def fit_temperature(logits: npt.NDArray[np.floating], target: npt.NDArray[np.intp]) -> float:
    """The temperature T minimising the log loss of softmax(logits / T) (Guo et al., 2017)."""
    z = np.asarray(logits, dtype=np.float64)
    if len(z) == 0:
        return 1.0
    rows = np.arange(len(z))

    def nll(log_t: float) -> float:
        scaled = z / np.exp(log_t)
        scaled = scaled - scaled.max(axis=1, keepdims=True)
        log_norm = np.log(np.exp(scaled).sum(axis=1))
        return float(np.mean(log_norm - scaled[rows, target]))

    best = minimize_scalar(nll, bounds=(-4.0, 4.0), method="bounded")
    return float(np.exp(best.x))


def precision_threshold(
    confidence: Floats, correct: npt.NDArray[np.bool_], target_precision: float
) -> float | None:
    """Lowest threshold t such that the predictions with confidence >= t reach `target_precision`.

    None when no threshold reaches it; 0 when accepting everything already does.
    """
    if len(confidence) == 0:
        return None
    order = np.argsort(-confidence, kind="stable")
    conf = confidence[order]
    hits = np.cumsum(correct[order])
    precision = hits / np.arange(1, len(conf) + 1)
    # Only cut between distinct confidence values: all ties are accepted together.
    last_of_tie = np.r_[conf[1:] != conf[:-1], True]
    ok = np.flatnonzero((precision >= target_precision) & last_of_tie)
    if len(ok) == 0:
        return None
    cut = int(ok.max())
    # Halfway to the next lower confidence (0 when everything is accepted): robust to float noise.
    return float((conf[cut] + conf[cut + 1]) / 2) if cut + 1 < len(conf) else 0.0


def per_class_thresholds(
    classes: Sequence[str],
    predicted: npt.NDArray[np.intp],
    confidence: Floats,
    correct: npt.NDArray[np.bool_],
    target_precision: float,
    default: float,
    min_support: int = 5,
) -> dict[str, float]:
    """For each class, the lowest threshold reaching `target_precision` on its (out-of-fold) predictions.

    Classes with fewer than `min_support` predictions, or that never reach the target, get `default`.
    """
    out: dict[str, float] = {}
    for index, key in enumerate(classes):
        mask = predicted == index
        if mask.sum() < min_support:
            out[key] = default
            continue
        found = precision_threshold(confidence[mask], correct[mask], target_precision)
        out[key] = default if found is None else found
    return out


_CONTROLLER: ThreadpoolController | None = None


def blas_threads(n_rows: int, small: int = 3000) -> AbstractContextManager[object]:
    """One BLAS thread for small problems (single messages, few-shot fits), the default otherwise.

    Small matrix products gain nothing from threads, and on a busy machine spinning BLAS threads make
    them several times slower (measured: 130 ms vs 16 ms for one message on a loaded 2-core box).
    """
    global _CONTROLLER
    if n_rows > small:
        return nullcontext()
    if _CONTROLLER is None:
        _CONTROLLER = ThreadpoolController()
    limited: AbstractContextManager[object] = _CONTROLLER.limit(limits=1, user_api="blas")
    return limited
