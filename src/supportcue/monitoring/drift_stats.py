"""The statistics of drift detection (monitoring/drift.py), as functions over plain counts and
arrays so each can be checked on hand-made numbers: the chi-square shift of topic counts, the
domain-classifier AUC, the one-sided two-proportion test, Holm's correction, and clustering and
naming of messages no topic claims.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

MAX_CLASSIFIER_ROWS = 1500
"""Messages per window the domain classifier reads at most (an even sample beyond): AUC needs few."""


def _normal_sf(z: float) -> float:
    return 0.5 * math.erfc(z / math.sqrt(2))


def topic_shift(reference: Counter[str], window: Counter[str]) -> tuple[float, float, str] | None:
    """(Cramér's V, chi-square p-value, most changed topic) of the topic counts; None when there is
    nothing to compare (an empty window or a single topic)."""
    from scipy.stats import chi2_contingency

    topics = sorted(set(reference) | set(window))
    n_ref, n_win = sum(reference.values()), sum(window.values())
    if len(topics) < 2 or not n_ref or not n_win:
        return None
    table = np.array([[reference[t] for t in topics], [window[t] for t in topics]], dtype=float)
    chi2, p, _, expected = chi2_contingency(table, correction=False)
    residual = (table[1] - expected[1]) / np.sqrt(expected[1])
    v = math.sqrt(float(chi2) / (n_ref + n_win))
    return v, float(p), topics[int(np.argmax(np.abs(residual)))]


def domain_auc(reference: npt.NDArray[Any], window: npt.NDArray[Any], seed: int = 0) -> tuple[float, float]:
    """(cross-validated ROC AUC, p-value) of a classifier telling `window` rows from `reference` rows.
    The p-value is the one-sided Mann-Whitney test of its out-of-fold scores (AUC = U / n1 n2)."""
    from scipy.stats import mannwhitneyu
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    rng = np.random.default_rng(seed)
    reference, window = (_sample(x, MAX_CLASSIFIER_ROWS, rng) for x in (reference, window))
    if min(len(reference), len(window)) < 10:
        return 0.5, 1.0
    x = np.vstack([reference, window])
    y = np.r_[np.zeros(len(reference)), np.ones(len(window))]
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
    scores = cross_val_predict(
        LogisticRegression(C=1.0, max_iter=300), x, y, cv=folds, method="decision_function"
    )
    u, p = mannwhitneyu(scores[y == 1], scores[y == 0], alternative="greater")
    return float(u) / (len(window) * len(reference)), float(p)


def _sample(x: npt.NDArray[Any], n: int, rng: np.random.Generator) -> npt.NDArray[Any]:
    return x if len(x) <= n else x[np.sort(rng.choice(len(x), n, replace=False))]


def proportion_drop(k_ref: int, n_ref: int, k_win: int, n_win: int) -> float:
    """One-sided p-value that the window's proportion is lower than the reference's (pooled
    two-proportion z-test)."""
    if not n_ref or not n_win:
        return 1.0
    pooled = (k_ref + k_win) / (n_ref + n_win)
    if pooled in (0.0, 1.0):
        return 1.0
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_ref + 1 / n_win))
    return _normal_sf((k_ref / n_ref - k_win / n_win) / se)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (family-wise error over many answers), in input order."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    adjusted = [1.0] * len(p_values)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def clusters(vectors: npt.NDArray[Any], max_distance: float = 0.6) -> list[int]:
    """Cluster labels: average-linkage agglomerative clustering on cosine distance."""
    if len(vectors) < 2:
        return [0] * len(vectors)
    from sklearn.cluster import AgglomerativeClustering

    model = AgglomerativeClustering(
        n_clusters=None, metric="cosine", linkage="average", distance_threshold=max_distance
    )
    return [int(c) for c in model.fit_predict(vectors)]


def top_terms(texts: Sequence[str], background: Sequence[str], n: int = 3) -> list[str]:
    """The words (and word pairs) most characteristic of `texts` against `background` (mean TF-IDF
    in `texts` minus in `background`)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(
        stop_words="english", ngram_range=(1, 2), min_df=2, token_pattern=r"[a-zA-Z]{3,}"
    )
    try:
        matrix = vectorizer.fit_transform([*texts, *background])
    except ValueError:  # no term occurs twice
        return []
    inside = np.asarray(matrix[: len(texts)].mean(axis=0)).ravel()
    outside = np.asarray(matrix[len(texts) :].mean(axis=0)).ravel() if background else 0 * inside
    terms = vectorizer.get_feature_names_out()
    picked: list[str] = []
    for i in np.argsort(-(inside - outside)):
        term = str(terms[i])
        if any(term in p or p in term for p in picked):
            continue
        picked.append(term)
        if len(picked) == n:
            break
    return picked
