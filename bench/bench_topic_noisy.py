"""Topic accuracy without rejection on the noisy few-shot proxy, for topic-stage variants.

The splits are `bench_oos_transfer.py --shots K --noise`'s (same seeds, same rows); the topic stage is
fitted on the K clean training rows per intent and scored on the test's in-scope rows as typed. No
out-of-scope decision is made, so one run takes seconds once the vectors are cached, and every variant
sees the same vectors. Variants (2026-12-01, issue 15 part 1; see BENCHMARKS.md):

- `base`: the small-data path of `TopicStage` (5-fold CV over alpha and text weight, bandwidth 0.5);
- `bandwidths`: bandwidth 0.25 / 0.5 / 1.0 in the CV grid, chosen by accuracy (ties to 0.5);
- `bandwidths-nll`, `nll`: the same grid, or bandwidth 0.5 only, chosen by the CV log-loss;
- `view-average`: the mean of the scores of the spelling-normalised and the raw text's MiniLM vector;
- `raw`: the raw text's vector only (no spelling normalisation at test time);
- `tfidf-val`: the TF-IDF vocabulary and IDF fitted on the training texts plus --val's (unlabeled);
- `prototype-0.2`, `prototype-0.4`: the ridge scores blended with each topic's mean RBF kernel to its
  shots (scaled to the ridge scores' level), with that weight;
- `alpha-x3`, `alpha-x10`: the CV-chosen alpha times 3 or 10 in the final fit.

    PYTHONPATH=src:bench HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1 .venv/bin/python \\
        bench/bench_topic_noisy.py --seeds 10 11 --shots 10 20

`--adapt` (2026-12-01, issue 15 part 1, second round) runs `base` and the adapted-encoder variants
instead: a fresh copy of MiniLM fine-tuned on the shots (`finetune.py`, supervised contrastive,
`--adapt-steps` steps of 16 intents x 4 rows; by default one pass over the shots and their typed
copies), every text then read spelling-corrected by it as the product reads them:

- `adapted-clean`: fine-tuned on the clean shots only (the same number of steps: the control);
- `adapted-noise`: fine-tuned on the shots plus `--copies` typed copies of each (`noisy` from
  bench_oos_transfer.py, seeded apart from the test's typing; the shots are never test rows), spelling-
  corrected as the product would read them;
- `...+base`: the mean of that stage's scores and `base`'s (the fifth attempt's two-space average);
- `augment-stage`: no fine-tuning, the frozen-space stage fitted on the shots plus the same typed
  copies (is it the encoder or merely the training rows?).

Each topic stage is `base`'s fit (same CV grid) in that space; `adapt_seconds` is the fine-tuning,
`embed_seconds` the adapted copy's embedding of the shots and test rows, on `--threads` torch threads.

    PYTHONPATH=src:bench HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1 .venv/bin/python \\
        bench/bench_topic_noisy.py --seeds 10 --shots 10 --check hwu --adapt
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from collections.abc import Sequence

import numpy as np

from bench_oos_transfer import OOS, banking_check, clinc_check, few_shot, hwu_check, labeled, noisy
from supportcue.embeddings import SpellingEmbedder, make_embedder
from supportcue.eval.labeled import Labeled, cache_dir
from supportcue.spelling import correct
from supportcue.stages import topic as T
from supportcue.stages.calibration import fit_temperature, softmax

CHECKS = {"hwu": hwu_check, "banking": banking_check, "clinc": clinc_check}


def split(name: str, seed: int, shots: int) -> tuple[Labeled, Labeled, Labeled]:
    """`bench_oos_transfer.py --check name --seed seed --shots shots --noise`'s train, val and test."""
    train, val, test = CHECKS[name](seed)
    rng = random.Random(seed)
    train = labeled(train.path.name, few_shot(list(zip(train.texts, train.labels, strict=True)), shots, rng))
    inside = [i for i, label in enumerate(test.labels) if label != OOS]
    outside = [i for i, label in enumerate(test.labels) if label == OOS]
    keep = sorted(inside + rng.sample(outside, min(len(outside), round(1.5 * len(inside)))))
    test = Labeled(test.path, [test.texts[i] for i in keep], [test.labels[i] for i in keep])
    val, test = (
        Labeled(p.path, [noisy(t, random.Random(f"{seed} {t}")) for t in p.texts], p.labels)
        for p in (val, test)
    )
    return train, val, test


def fit_small(
    vectors: np.ndarray,
    texts: Sequence[str],
    target: np.ndarray,
    n_classes: int,
    bandwidths: Sequence[float] = (0.5,),
    select: str = "accuracy",
    extra_texts: Sequence[str] = (),
    alpha_factor: float = 1.0,
) -> T._KernelRidge:
    """`TopicStage`'s small-data fit, with the variants' knobs."""
    folds = T._folds(target, 5, 0)
    text = T._TextFeatures()
    tfidf = text.fit_transform([*texts, *extra_texts])[: len(texts)]
    text_kernel = np.asarray((tfidf @ tfidf.T).toarray(), dtype=np.float64)
    held = np.concatenate(folds)
    best: tuple[float, float, float, float] | None = None
    for bandwidth in bandwidths:
        vector_kernel = T._rbf(vectors, vectors, bandwidth)
        for alpha in T.SMALL_ALPHAS:
            for weight in T.SMALL_TEXT_WEIGHTS:
                kernel = vector_kernel + weight * text_kernel
                oof = np.zeros((len(target), n_classes))
                for fold in folds:
                    rows = np.setdiff1d(np.arange(len(target)), fold)
                    dual = T._solve(
                        kernel[np.ix_(rows, rows)], target[rows], n_classes, alpha * np.ones(len(rows))
                    )
                    oof[fold] = kernel[np.ix_(fold, rows)] @ dual
                scores, truth = oof[held], target[held]
                if select == "accuracy":
                    value = float(np.mean(scores.argmax(1) == truth))
                else:
                    proba = softmax(scores / fit_temperature(scores, truth))
                    value = float(np.mean(np.log(proba[np.arange(len(truth)), truth] + 1e-12)))
                if best is None or value > best[0] + 1e-12:
                    best = (value, bandwidth, alpha, weight)
    assert best is not None
    _, bandwidth, alpha, weight = best
    kernel = T._rbf(vectors, vectors, bandwidth) + weight * text_kernel
    dual = T._solve(kernel, target, n_classes, alpha * alpha_factor * np.ones(len(target)))
    return T._KernelRidge(bandwidth, weight, text).fit(vectors, tfidf, dual)


def typed_copies(
    texts: Sequence[str], labels: Sequence[str], seed: int, copies: int
) -> tuple[list[str], list[str]]:
    """`copies` typed versions of each training text (`noisy`), seeded apart from the test's typing
    (`f"{seed} {text}"`), so a test text is never typed as here even when train and test share it."""
    out_texts, out_labels = [], []
    for copy in range(copies):
        for text, label in zip(texts, labels, strict=True):
            out_texts.append(noisy(text, random.Random(f"augment {copy} {seed} {text}")))
            out_labels.append(label)
    return out_texts, out_labels


def adapted_variants(
    args: argparse.Namespace,
    seed: int,
    train: Labeled,
    texts: list[str],
    target: np.ndarray,
    n: int,
    base: np.ndarray,
    vectors: np.ndarray,
    test_vectors: np.ndarray,
    spelled: object,
    accuracy: object,
) -> dict[str, float]:
    """`--adapt`'s variants for one run (see the module docstring)."""
    from finetune import AdaptSettings, adapt_encoder

    assert callable(accuracy)
    typed, typed_labels = typed_copies(train.texts, train.labels, seed, args.copies)
    classes = sorted(set(train.labels))
    typed_target = np.concatenate([target, [classes.index(label) for label in typed_labels]])
    result: dict[str, float] = {}
    augmented_texts = [*train.texts, *typed]
    augmented_vectors = np.vstack([vectors, spelled.embed(typed)])  # type: ignore[attr-defined]
    result["augment-stage"] = accuracy(
        fit_small(augmented_vectors, augmented_texts, typed_target, n).scores(test_vectors, texts)
    )
    steps = args.adapt_steps or math.ceil(len(augmented_texts) / 64)
    settings = AdaptSettings(steps=steps, seed=seed)
    # What MiniLM reads at serving: the spelling-corrected text.
    fixed = [correct(t) for t in augmented_texts]
    result["adapt_steps"] = steps
    for name, rows in (("adapted-clean", len(train.texts)), ("adapted-noise", len(fixed))):
        started = time.perf_counter()
        encoder = adapt_encoder(fixed[:rows], [*train.labels, *typed_labels][:rows], settings)
        result[f"{name}_adapt_seconds"] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        adapted = SpellingEmbedder(encoder)
        own, own_test = adapted.embed(train.texts), adapted.embed(texts)
        result[f"{name}_embed_seconds"] = round(time.perf_counter() - started, 1)
        scores = fit_small(own, train.texts, target, n).scores(own_test, texts)
        result[name] = accuracy(scores)
        result[f"{name}+base"] = accuracy((scores + base) / 2)
        del encoder, adapted
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, nargs="+", default=[10, 11])
    parser.add_argument("--shots", type=int, nargs="+", default=[10, 20])
    parser.add_argument("--check", choices=(*CHECKS, "all"), default="all")
    parser.add_argument("--adapt", action="store_true", help="base and the adapted-encoder variants only")
    parser.add_argument(
        "--adapt-steps", type=int, help="fine-tuning steps (default: one pass, 64 rows a step)"
    )
    parser.add_argument("--copies", type=int, default=1, help="typed copies of each shot (--adapt)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the box is shared)")
    args = parser.parse_args()
    if args.adapt:
        import torch

        torch.set_num_threads(args.threads)
    spelled = make_embedder("minilm", cache_dir=cache_dir())
    raw = make_embedder("minilm", cache_dir=cache_dir(), spelling=False)
    for seed in args.seeds:
        for shots in args.shots:
            for name in CHECKS if args.check == "all" else [args.check]:
                train, val, test = split(name, seed, shots)
                classes = sorted(set(train.labels))
                index = {c: i for i, c in enumerate(classes)}
                target = np.array([index[label] for label in train.labels])
                inside = [i for i, label in enumerate(test.labels) if label != OOS]
                texts = [test.texts[i] for i in inside]
                truth = np.array([index[test.labels[i]] for i in inside])
                vectors, test_vectors = spelled.embed(train.texts), spelled.embed(texts)
                n = len(classes)

                def accuracy(scores: np.ndarray) -> float:
                    return round(float(np.mean(scores.argmax(1) == truth)), 4)  # noqa: B023

                model = fit_small(vectors, train.texts, target, n)
                base = model.scores(test_vectors, texts)
                raw_scores = model.scores(raw.embed(texts), texts)
                kernel = model.vector_kernel(test_vectors, vectors)
                prototype = np.column_stack([kernel[:, target == c].mean(1) for c in range(n)])
                prototype /= max(float(prototype.max(1).mean()), 1e-9)
                result = {"check": name, "seed": seed, "shots": shots, "n_test_in_scope": len(truth)}
                result["base"] = accuracy(base)
                if args.adapt:
                    started = time.perf_counter()
                    result.update(
                        adapted_variants(
                            args,
                            seed,
                            train,
                            texts,
                            target,
                            n,
                            base,
                            vectors,
                            test_vectors,
                            spelled,
                            accuracy,
                        )
                    )
                    result["seconds"] = round(time.perf_counter() - started, 1)
                    print(json.dumps(result), flush=True)
                    continue
                result["bandwidths"] = accuracy(
                    fit_small(vectors, train.texts, target, n, (0.5, 0.25, 1.0)).scores(test_vectors, texts)
                )
                result["bandwidths-nll"] = accuracy(
                    fit_small(vectors, train.texts, target, n, (0.5, 0.25, 1.0), "nll").scores(
                        test_vectors, texts
                    )
                )
                result["nll"] = accuracy(
                    fit_small(vectors, train.texts, target, n, select="nll").scores(test_vectors, texts)
                )
                result["view-average"] = accuracy((base + raw_scores) / 2)
                result["raw"] = accuracy(raw_scores)
                result["tfidf-val"] = accuracy(
                    fit_small(vectors, train.texts, target, n, extra_texts=val.texts).scores(
                        test_vectors, texts
                    )
                )
                for weight in (0.2, 0.4):
                    result[f"prototype-{weight}"] = accuracy((1 - weight) * base + weight * prototype)
                for factor in (3, 10):
                    fitted = fit_small(vectors, train.texts, target, n, alpha_factor=factor)
                    result[f"alpha-x{factor}"] = accuracy(fitted.scores(test_vectors, texts))
                print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
