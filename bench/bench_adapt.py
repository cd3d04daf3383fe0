"""Benchmark adapting MiniLM to the shots (SetFit-style) before pseudo-labeling, on Banking77.

    .venv/bin/python bench/bench_adapt.py --split tune|last|random [--seeds 0 1 2] [--baseline]
        [--heads adapted.stage adapted.lr@C=10 adapted.stage+adapted.lr ...] [--cache DIR]
        [--layer-cache DIR]
        [--steps 150] [--lr 3e-5] [--classes-per-batch 16] [--per-class 4] [--temperature 0.1]
        [--rounds 1|2] [--pseudo-min 0.5] [--steps2 N] [--lr2 X]

Per seed: N shots per intent (`sample_shots`), the rest of the train part is unlabeled text. The
adapted space fine-tunes a fresh copy of MiniLM on the shots (`finetune.py`, supervised
contrastive loss) and embeds every text with it (not in the shared cache, which only ever holds
base-model vectors; `--cache DIR` keeps each seed's vectors in DIR, keyed by split, seed and
settings, so further heads reuse them). The `round2` space fine-tunes again (from the base model) on
the shots plus the adapted space's pseudo-labels at confidence >= `--pseudo-min`, weighted by
confidence. Each head (see `Head`) then classifies the test rows from one space's vectors; the
default, `adapted.stage`, is what `eval classify --use-unlabeled` runs (`propagate` and the topic
stage fit on the shots plus the weighted pseudo-labels) on the adapted vectors. `--baseline` adds
`frozen.stage` (today's path: frozen MiniLM, cached vectors), `--rounds 2` adds `round2.stage`.
The layer spaces (`LAYER_SPACES`, e.g. `layer5`, `layers-meanc`, `cat-layers-mean`) are the frozen
model's other hidden states from the same forward pass (`layers.py`; every Banking77 text's are kept
in `--layer-cache`, /tmp/layers-cache by default).

Splits: `last` / `random` are bench_classify.py's reported splits (80/20 per intent). `tune` is
the only one settings are chosen on: inside the `last` split's train part, a seeded (100) random
20% per intent is the tuning test set, the other 80% the tuning train part; the reported test rows
are never read. Results and commands: BENCHMARKS.md, "10 shots + the rest of train unlabeled".
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

import layers
from finetune import AdaptSettings, adapt_encoder
from splits import split_per_label
from supportcue.eval.labeled import default_embedder, load_labeled, messages, sample_shots
from supportcue.stages.topic import TopicStage
from supportcue.weak import propagation
from supportcue.weak.propagation import N_NEIGHBORS, propagate

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
Embed = Callable[[Sequence[str]], np.ndarray]


def split(how: str, out: Path) -> tuple[Path, Path]:
    cut = lambda n: max(1, int(n * 0.8))  # noqa: E731
    src = DATA / "banking77" / "train.csv"
    names = ("train", "test")
    if how != "tune":
        return split_per_label(src, "intent", out, names, cut, shuffle=how == "random", seed=0)
    (out / "pool").mkdir()
    pool, _ = split_per_label(src, "intent", out / "pool", names, cut, shuffle=False, seed=0)
    return split_per_label(pool, "intent", out, ("tune_train", "tune_test"), cut, shuffle=True, seed=100)


HEAD_KINDS = ("stage", "lr", "lr-shots")
SPACES = ("frozen", "adapted", "round2")
LAYER_SPACES = (*(f"layer{k}" for k in range(7)), "layers-mean", "layers-mean0")
"""Free spaces from the frozen model's one forward pass (`layers.py`): `layerK` is hidden state K
(0: the input embeddings, 6: the shipped vector's layer) mean-pooled and normalised; `layers-mean`
the normalised mean of the normalised layers 1..6 (`layers-mean0`: 0..6). A trailing `c` centres the
space on the mean of the split's train-part rows (shots + unlabeled text) before normalising;
`cat-X` is frozen and X concatenated, each over sqrt 2 (cosine: the mean of the two cosines)."""


def known_space(space: str) -> bool:
    base = space.removeprefix("cat-")
    if base != space and base in SPACES:
        return False
    return base in SPACES or base in LAYER_SPACES or (base.endswith("c") and base[:-1] in LAYER_SPACES)


@dataclass(frozen=True)
class Head:
    """One way to classify the test rows, parsed from `[space.]kind[@key=value,...]`: `space` is the
    vectors it reads (`frozen` MiniLM, `adapted` after fine-tuning on the shots, `round2` after
    fine-tuning again on the shots + round-1 pseudo-labels, or a frozen layer's, `LAYER_SPACES`);
    `kind` is `stage` (what `eval classify --use-unlabeled` fits: the topic stage on the shots +
    weighted pseudo-labels), `lr` (the SetFit head: multinomial logistic regression on the same rows
    and weights) or `lr-shots` (on the shots alone). Options: `k` (propagation's neighbours), `from`
    (the space whose propagation gives the pseudo-labels; default: `space`; `from=a/b` averages the
    propagation probabilities of spaces a and b before labels and confidences are taken),
    `bandwidth`, `text_weight`, `alpha` (stage), `C` (lr). `a+b` averages heads a and b's
    probabilities."""

    space: str
    kind: str
    options: tuple[tuple[str, float], ...]
    pseudo_space: str

    @classmethod
    def parse(cls, spec: str) -> Head:
        name, _, opts = spec.partition("@")
        space, _, kind = name.rpartition(".")
        space = space or "adapted"
        if not known_space(space) or kind not in HEAD_KINDS:
            raise SystemExit(
                f"unknown head {spec!r}: space in {SPACES} or {LAYER_SPACES}[c] or cat-LAYER, "
                f"kind in {HEAD_KINDS}"
            )
        options = []
        pseudo_space = space
        for item in filter(None, opts.split(",")):
            key, _, value = item.partition("=")
            if key == "from" and all(known_space(v) for v in value.split("/")):
                pseudo_space = value
                continue
            if key not in ("k", "bandwidth", "text_weight", "alpha", "C"):
                raise SystemExit(f"unknown option {key!r} in head {spec!r}")
            options.append((key, float(value)))
        return cls(space, kind, tuple(sorted(options)), pseudo_space)

    def __str__(self) -> str:
        opts = ",".join(f"{k}={v:g}" for k, v in self.options)
        if self.pseudo_space != self.space:
            opts = ",".join(filter(None, [opts, f"from={self.pseudo_space}"]))
        return f"{self.space}.{self.kind}" + (f"@{opts}" if opts else "")

    def option(self, key: str, default: float) -> float:
        return dict(self.options).get(key, default)


def pseudo_labels(
    vectors: np.ndarray, labels: list[str], unlab: np.ndarray, seed: int, k: int
) -> tuple[list[str | None], np.ndarray]:
    """`propagate` with its kNN graph's neighbours set to `k` (10 is the product's)."""
    original = propagation.knn_graph
    propagation.knn_graph = functools.partial(original, n_neighbors=k)  # type: ignore[assignment]
    try:
        return propagate(vectors, labels, unlab, seed=seed)
    finally:
        propagation.knn_graph = original  # type: ignore[assignment]


def pseudo_labels_mixed(
    views: Sequence[tuple[np.ndarray, np.ndarray]], labels: list[str], seed: int, k: int
) -> tuple[list[str | None], np.ndarray]:
    """`propagate` run in each (shots, unlabeled) view, its probabilities averaged, then labels and
    confidences taken as `propagate` takes them (None below 0.3)."""
    classes = sorted(set(labels))
    y = np.array([classes.index(v) for v in labels])
    original = propagation.knn_graph
    propagation.knn_graph = functools.partial(original, n_neighbors=k)  # type: ignore[assignment]
    try:
        probs = [
            propagation._self_train(_normalise(lab), y, _normalise(unlab), len(classes), seed)[1]
            for lab, unlab in views
        ]
    finally:
        propagation.knn_graph = original  # type: ignore[assignment]
    mixed = np.mean(probs, axis=0)
    confidence = mixed.max(axis=1)
    best = mixed.argmax(axis=1)
    values = [classes[int(c)] if p >= 0.3 else None for c, p in zip(best, confidence, strict=True)]
    return values, confidence


def _normalise(X: np.ndarray) -> np.ndarray:
    return X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)


def head_proba(
    head: Head,
    shots: list[str],
    labels: list[str],
    unlabeled: list[str],
    vectors: np.ndarray,
    unlab: np.ndarray,
    pseudo: tuple[list[str | None], np.ndarray],
    test: list[str],
    test_vectors: np.ndarray,
    seed: int,
) -> np.ndarray:
    """Test-row probabilities of `head`, one column per label in sorted order."""
    classes = sorted(set(labels))
    index = {c: i for i, c in enumerate(classes)}
    values, confidence = pseudo
    chosen = [i for i, p in enumerate(values) if p is not None]
    texts = [*shots, *(unlabeled[i] for i in chosen)]
    X = np.vstack([vectors, unlab[chosen]])
    y = [*labels, *(str(values[i]) for i in chosen)]
    weight = np.concatenate([np.ones(len(shots)), np.clip(confidence[chosen], 0, 1)])
    if head.kind == "stage":
        stage = TopicStage(
            seed=seed,
            bandwidth=head.option("bandwidth", 0.5),
            text_weight=head.option("text_weight", 0.4),
            alpha=head.option("alpha", 0.1),
        ).fit(messages(texts, X), y, sample_weight=weight.tolist())
        raw = stage.predict_proba(messages(test, test_vectors))
        order = [stage.topics_.index(c) for c in classes]
        return np.asarray(raw[:, order])
    from sklearn.linear_model import LogisticRegression

    if head.kind == "lr-shots":
        X, y, weight = vectors, labels, np.ones(len(labels))
    model = LogisticRegression(C=head.option("C", 1.0), max_iter=500, random_state=seed)
    model.fit(_normalise(X), [index[v] for v in y], sample_weight=weight)
    out = np.zeros((len(test), len(classes)))
    out[:, model.classes_] = model.predict_proba(_normalise(test_vectors))
    return out


def pseudo_accuracy(pseudo: list[str | None], hidden: list[str]) -> float:
    """Share of unlabeled rows with the right pseudo-label (None counts as wrong); scoring only."""
    return float(np.mean([p == h for p, h in zip(pseudo, hidden, strict=True)]))


def cache_key(args: argparse.Namespace, space: str, seed: int) -> str:
    key = (
        f"{args.split}-seed{seed}-shots{args.shots}-{space}-steps{args.steps}-lr{args.lr:g}"
        f"-{args.classes_per_batch}x{args.per_class}-t{args.temperature:g}"
    )
    if space == "round2":
        key += f"-pmin{args.pseudo_min:g}-steps2{args.steps2 or args.steps}-lr2{args.lr2 or args.lr:g}"
    return key


def run_seed(train: Path, test: Path, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    rows = load_labeled(train, "text", "intent")
    keep = sample_shots(rows.labels, args.shots, seed)
    kept = set(keep)
    rest = [i for i in range(len(rows.texts)) if i not in kept]
    shots, labels = [rows.texts[i] for i in keep], [rows.labels[i] for i in keep]
    unlabeled = [rows.texts[i] for i in rest]
    hidden = [rows.labels[i] for i in rest]  # scoring pseudo-labels only
    test_rows = load_labeled(test, "text", "intent")
    out: dict[str, Any] = {"seed": seed, "n_shots": len(shots), "n_unlabeled": len(unlabeled)}
    groups = [[Head.parse(part) for part in spec.split("+")] for spec in args.heads]
    needed = {s for group in groups for h in group for s in (h.space, *h.pseudo_space.split("/"))}
    needed |= set(args.vectors_only or [])
    if "round2" in needed:
        needed.add("adapted")
    derived = sorted(s for s in needed if s not in SPACES)
    if any(s.startswith("cat-") for s in derived):
        needed.add("frozen")
    spaces: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    pseudo: dict[tuple[str, int], tuple[list[str | None], np.ndarray]] = {}

    def labeled_by(space: str, k: int) -> tuple[list[str | None], np.ndarray]:
        if (space, k) not in pseudo:
            started = time.perf_counter()
            if "/" in space:
                views = [(spaces[s][0][keep], spaces[s][0][rest]) for s in space.split("/")]
                pseudo[space, k] = pseudo_labels_mixed(views, labels, seed, k)
            else:
                train_vectors = spaces[space][0]
                pseudo[space, k] = pseudo_labels(train_vectors[keep], labels, train_vectors[rest], seed, k)
            out.setdefault("pseudo_right", {})[f"{space}@k={k}"] = round(
                pseudo_accuracy(pseudo[space, k][0], hidden), 4
            )
            out.setdefault("seconds", {})[f"propagate {space}@k={k}"] = round(
                time.perf_counter() - started, 1
            )
        return pseudo[space, k]

    for space in [s for s in SPACES if s in needed]:
        path = args.cache / f"{cache_key(args, space, seed)}.npz" if args.cache else None
        started = time.perf_counter()
        if path is not None and path.exists():
            saved = np.load(path)
            spaces[space] = (saved["train"], saved["test"])
            continue
        if space == "frozen":
            base = default_embedder()
            spaces[space] = (base.embed(rows.texts), base.embed(test_rows.texts))
        else:
            settings = AdaptSettings(
                steps=args.steps,
                classes_per_batch=args.classes_per_batch,
                per_class=args.per_class,
                lr=args.lr,
                temperature=args.temperature,
                seed=seed,
            )
            if space == "adapted":
                encoder = adapt_encoder(shots, labels, settings)
            else:
                values, confidence = labeled_by("adapted", N_NEIGHBORS)
                chosen = [
                    i for i, p in enumerate(values) if p is not None and confidence[i] >= args.pseudo_min
                ]
                out["n_pseudo_in_round2"] = len(chosen)
                encoder = adapt_encoder(
                    [*shots, *(unlabeled[i] for i in chosen)],
                    [*labels, *(str(values[i]) for i in chosen)],
                    replace(settings, steps=args.steps2 or args.steps, lr=args.lr2 or args.lr),
                    sample_weight=[1.0] * len(shots) + [float(confidence[i]) for i in chosen],
                )
            spaces[space] = (encoder.embed(rows.texts), encoder.embed(test_rows.texts))
        out.setdefault("seconds", {})[f"vectors {space}"] = round(time.perf_counter() - started, 1)
        if path is not None:
            np.savez(path, train=spaces[space][0], test=spaces[space][1])
    if derived:
        started = time.perf_counter()
        n_train = len(rows.texts)
        pooled = layers.pooled(layers.banking77_cache(args.layer_cache), [*rows.texts, *test_rows.texts])
        for space in derived:
            base = space.removeprefix("cat-")
            both = layers.space_vectors(pooled, base, n_train)
            if base != space:
                frozen = np.vstack(spaces["frozen"])
                both = np.hstack([frozen, both]) / np.sqrt(2.0)
            spaces[space] = (both[:n_train], both[n_train:])
        out.setdefault("seconds", {})["vectors layers"] = round(time.perf_counter() - started, 1)
    if args.vectors_only:
        print(json.dumps(out), flush=True)
        return out
    probs: dict[Head, np.ndarray] = {}
    classes = sorted(set(labels))
    truth = np.array([classes.index(t) for t in test_rows.labels])
    out["accuracy"] = {}
    for spec, group in zip(args.heads, groups, strict=True):
        for head in group:
            if head not in probs:
                started = time.perf_counter()
                train_vectors, test_vectors = spaces[head.space]
                probs[head] = head_proba(
                    head,
                    shots,
                    labels,
                    unlabeled,
                    train_vectors[keep],
                    train_vectors[rest],
                    labeled_by(head.pseudo_space, int(head.option("k", N_NEIGHBORS))),
                    test_rows.texts,
                    test_vectors,
                    seed,
                )
                out.setdefault("seconds", {})[f"head {head}"] = round(time.perf_counter() - started, 1)
        mixed = np.mean([probs[h] for h in group], axis=0)
        out["accuracy"][spec] = round(float(np.mean(mixed.argmax(1) == truth)), 4)
    print(json.dumps(out), flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--split", choices=["tune", "last", "random"], default="tune")
    parser.add_argument("--shots", type=int, default=10)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--baseline", action="store_true", help="add the head frozen.stage")
    parser.add_argument("--heads", nargs="+", default=["adapted.stage"], help="see `Head`")
    parser.add_argument("--cache", type=Path, help="directory for each seed's vectors (reused)")
    parser.add_argument(
        "--layer-cache",
        type=Path,
        default=Path("/tmp/layers-cache"),
        help="directory for every Banking77 text's pooled hidden states (the layer spaces; reused)",
    )
    parser.add_argument(
        "--vectors-only", nargs="+", choices=SPACES, help="compute (and --cache) these spaces, no heads"
    )
    parser.add_argument("--steps", type=int, default=AdaptSettings.steps)
    parser.add_argument("--steps2", type=int, default=0, help="round-2 steps (default: --steps)")
    parser.add_argument("--lr", type=float, default=AdaptSettings.lr)
    parser.add_argument("--lr2", type=float, default=0.0, help="round-2 learning rate (default: --lr)")
    parser.add_argument("--classes-per-batch", type=int, default=AdaptSettings.classes_per_batch)
    parser.add_argument("--per-class", type=int, default=AdaptSettings.per_class)
    parser.add_argument("--temperature", type=float, default=AdaptSettings.temperature)
    parser.add_argument("--rounds", type=int, choices=[1, 2], default=1, help="2: add round2.stage")
    parser.add_argument("--pseudo-min", type=float, default=0.5)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the box is shared)")
    args = parser.parse_args()
    args.heads = [*(["frozen.stage"] if args.baseline else []), *args.heads]
    args.heads += ["round2.stage"] if args.rounds == 2 else []
    args.heads = list(dict.fromkeys(args.heads))
    torch.set_num_threads(args.threads)
    if args.cache:
        args.cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        train, test = split(args.split, Path(tmp))
        runs = [run_seed(train, test, seed, args) for seed in args.seeds]
    if args.vectors_only:
        return
    summary: dict[str, Any] = {"split": args.split, "settings": {k: str(v) for k, v in vars(args).items()}}
    summary["accuracy_mean"] = {
        spec: round(statistics.mean(r["accuracy"][spec] for r in runs), 4) for spec in args.heads
    }
    summary["accuracy_per_seed"] = {spec: [r["accuracy"][spec] for r in runs] for spec in args.heads}
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
