"""`supportcue eval classify`: fit the topic stage on a labeled file, measure it on another."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import f1_score

from supportcue.data.files import write_rows
from supportcue.embeddings import Embedder
from supportcue.errors import SupportcueError
from supportcue.eval.labeled import (
    check_labels,
    default_embedder,
    in_train,
    load_labeled,
    load_texts,
    messages,
    overlap_figures,
    sample_shots,
    unseen_label_figures,
)
from supportcue.stages.topic import TopicStage
from supportcue.weak.propagation import propagate


def run_classify(
    train: Path,
    test: Path,
    text_col: str = "text",
    label_col: str = "label",
    shots_per_label: int | None = None,
    seed: int = 0,
    use_unlabeled: bool = False,
    predictions: Path | None = None,
    embedder: Embedder | None = None,
    stage: TopicStage | None = None,
) -> dict[str, Any]:
    """Train the topic stage on `train` (optionally N shots per label), report metrics on `test`."""
    embedder = embedder or default_embedder()
    train_rows = load_labeled(train, text_col, label_col)
    check_labels(train, train_rows.labels, label_col)
    if shots_per_label is None:
        texts, labels = train_rows.texts, train_rows.labels
        unlabeled_texts: list[str] = []
    else:
        # Labels are read for sampling the shots only; the other rows are loaded as bare text.
        keep = sample_shots(train_rows.labels, shots_per_label, seed)
        texts = [train_rows.texts[i] for i in keep]
        labels = [train_rows.labels[i] for i in keep]
        kept = set(keep)
        all_texts = load_texts(train, text_col)
        unlabeled_texts = [t for i, t in enumerate(all_texts) if i not in kept]
        del train_rows
    test_rows = load_labeled(test, text_col, label_col)

    started = time.perf_counter()
    vectors = embedder.embed(texts)
    weights = np.ones(len(texts))
    n_pseudo = 0
    if use_unlabeled:
        if shots_per_label is None:
            raise SupportcueError(
                "--use-unlabeled needs --shots-per-label: the rest of --train is the unlabeled text"
            )
        if not unlabeled_texts:
            raise SupportcueError(
                f"--use-unlabeled: every row of {train} is one of the {shots_per_label} shots per label, "
                "so no row is left as unlabeled text; give fewer --shots-per-label"
            )
        unlabeled = embedder.embed(unlabeled_texts)
        pseudo, confidence = propagate(vectors, labels, unlabeled, seed=seed)
        chosen = [i for i, p in enumerate(pseudo) if p is not None]
        n_pseudo = len(chosen)
        texts = [*texts, *(unlabeled_texts[i] for i in chosen)]
        labels = [*labels, *(str(pseudo[i]) for i in chosen)]
        vectors = np.vstack([vectors, unlabeled[chosen]]) if chosen else vectors
        weights = np.concatenate([weights, np.clip(confidence[chosen], 0.0, 1.0)])
    stage = stage or TopicStage(seed=seed)
    stage.fit(messages(texts, vectors), labels, sample_weight=weights.tolist())
    train_seconds = time.perf_counter() - started

    test_vectors = embedder.embed(test_rows.texts)
    batch = messages(test_rows.texts, test_vectors)
    proba = stage.predict_proba(batch)
    topics = stage.topics_
    predicted = [topics[i] for i in proba.argmax(1)]
    confidence = proba.max(1)
    truth = test_rows.labels
    # One message at a time, embedding included and not from the cache: what a live request costs.
    live: Embedder = getattr(embedder, "inner", embedder)
    sample = test_rows.texts[:20]
    live.embed(sample[:1])  # loading the model is not a per-message cost
    started = time.perf_counter()
    for text in sample:
        stage.predict(messages([text], live.embed([text])))
    predict_ms = 1000 * (time.perf_counter() - started) / max(1, len(sample))

    if predictions is not None:
        write_rows(
            predictions,
            (
                {"text": t, "label": gold, "predicted": p, "confidence": round(float(c), 6)}
                for t, gold, p, c in zip(test_rows.texts, truth, predicted, confidence, strict=True)
            ),
        )
    right = [p == t for p, t in zip(predicted, truth, strict=True)]
    seen = in_train(texts, test_rows.texts)  # every text it was fitted on, pseudo-labeled ones too
    unseen = [r for r, s in zip(right, seen, strict=True) if not s]
    result: dict[str, Any] = {
        "accuracy": float(np.mean(right)),
        "macro_f1": float(f1_score(truth, predicted, average="macro", zero_division=0)),
        "n_train": len(labels) - n_pseudo,
        "n_test": len(truth),
        "n_labels": len(set(labels)),
        "train_seconds": round(train_seconds, 3),
        "predict_ms_per_text": round(predict_ms, 3),
        **overlap_figures(seen),
        **unseen_label_figures(labels, truth),
        # the accuracy on the test rows whose text --train does not hold: new messages
        "accuracy_unseen": float(np.mean(unseen)) if unseen else None,
    }
    if use_unlabeled:
        result["n_unlabeled"] = len(unlabeled_texts)
        result["n_pseudo_labeled"] = n_pseudo
    return result
