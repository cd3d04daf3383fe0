"""Adapt the sentence encoder to a few labeled rows (SetFit-style contrastive fine-tuning), for
bench_adapt.py. Not in the product: on the tuning split it did not help enough (BENCHMARKS.md).

The frozen MiniLM space puts near-synonymous intents (e.g. "card not working" / "card swallowed")
close together; a few hundred steps of a supervised contrastive loss (Khosla et al., 2020) on the
shots pull each label's rows together and push the other labels' apart. The adapted copy then embeds
every text (shots, unlabeled rows, test rows) and the usual propagation and topic stage run on those
vectors. The bundled model itself is never modified: a fresh copy is loaded and fine-tuned.

Batches hold `classes_per_batch` labels x `per_class` rows, so every row has positives in its batch.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from supportcue.embeddings import MINILM_NAME, MiniLMEmbedder, minilm_path, quiet_hub


@dataclass(frozen=True)
class AdaptSettings:
    """Fine-tuning settings; the defaults are the best of those tried on bench_adapt.py's tuning
    split (BENCHMARKS.md, "10 shots + the rest of train unlabeled")."""

    steps: int = 150
    classes_per_batch: int = 16
    per_class: int = 4
    lr: float = 3e-5
    temperature: float = 0.1
    max_seq_length: int = 64
    seed: int = 0

    def __post_init__(self) -> None:
        if self.steps < 1 or self.classes_per_batch < 2 or self.per_class < 2:
            raise ValueError("adapting needs steps >= 1, classes_per_batch >= 2 and per_class >= 2")
        if self.lr <= 0 or self.temperature <= 0 or self.max_seq_length < 8:
            raise ValueError("adapting needs lr > 0, temperature > 0 and max_seq_length >= 8")


def _batches(labels: Sequence[str], settings: AdaptSettings) -> list[list[int]]:
    """Per step, row indices: `classes_per_batch` labels (drawn without replacement while they last)
    and `per_class` rows of each (with replacement only for labels with fewer rows)."""
    by_label: dict[str, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        by_label[label].append(i)
    names = sorted(by_label)
    rng = random.Random(settings.seed)
    queue: list[str] = []
    out: list[list[int]] = []
    for _ in range(settings.steps):
        chosen: list[str] = []
        while len(chosen) < min(settings.classes_per_batch, len(names)):
            if not queue:
                queue = names.copy()
                rng.shuffle(queue)
            name = queue.pop()
            if name not in chosen:
                chosen.append(name)
        batch: list[int] = []
        for name in chosen:
            rows = by_label[name]
            if len(rows) >= settings.per_class:
                batch += rng.sample(rows, settings.per_class)
            else:
                batch += [rng.choice(rows) for _ in range(settings.per_class)]
        out.append(batch)
    return out


def supcon_loss(embeddings: Any, targets: Any, temperature: float, weights: Any = None) -> Any:
    """Supervised contrastive loss on L2-normalised rows: each row's positives are the other rows of
    its label in the batch; the anchor's softmax runs over every other row. `weights` scale anchors."""
    import torch

    sims = embeddings @ embeddings.T / temperature
    n = sims.shape[0]
    self_mask = torch.eye(n, dtype=torch.bool, device=sims.device)
    sims = sims.masked_fill(self_mask, float("-inf"))
    log_prob = sims - torch.logsumexp(sims, dim=1, keepdim=True)
    positives = (targets[:, None] == targets[None, :]) & ~self_mask
    counts = positives.sum(dim=1)
    has = counts > 0
    per_row = -(log_prob.masked_fill(~positives, 0.0).sum(dim=1)[has] / counts[has])
    if weights is None:
        return per_row.mean()
    w = weights[has]
    return (per_row * w).sum() / w.sum().clamp_min(1e-12)


class AdaptedEncoder(MiniLMEmbedder):
    """`MiniLMEmbedder` over a fine-tuned copy of MiniLM (held here, not in the shared model cache).
    Its name differs from the base model's, so a cache keyed by embedder name never mixes the two; it
    is meant to be used uncached."""

    def __init__(self, model: Any, name: str, batch_size: int = 64) -> None:
        super().__init__(batch_size=batch_size, device="cpu")
        self.tuned_ = model
        self.name = name

    @property
    def model(self) -> Any:
        return self.tuned_


def adapt_encoder(
    texts: Sequence[str],
    labels: Sequence[str],
    settings: AdaptSettings | None = None,
    model_path: Path | None = None,
    sample_weight: Sequence[float] | None = None,
) -> AdaptedEncoder:
    """Fine-tune a fresh copy of MiniLM (or the sentence-transformers model at `model_path`) on the
    labeled `texts` and return it as an embedder. Deterministic for a given seed on CPU.

    `sample_weight` (e.g. pseudo-label confidences) scales each anchor's share of the loss."""
    settings = settings or AdaptSettings()
    if len(texts) != len(labels):
        raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
    if len(set(labels)) < 2:
        raise ValueError("adapting the encoder needs labeled rows of at least two labels")
    if sample_weight is not None and len(sample_weight) != len(texts):
        raise ValueError(f"{len(texts)} texts but {len(sample_weight)} sample weights")
    quiet_hub()
    import torch
    from sentence_transformers import SentenceTransformer

    torch.manual_seed(settings.seed)
    model = SentenceTransformer(str(model_path or minilm_path()), device="cpu")
    model.max_seq_length = settings.max_seq_length
    # The word-embedding table is half the weights: frozen, each step's optimizer update costs half,
    # and a few hundred rows cannot teach it much anyway.
    for name, parameter in model.named_parameters():
        if "word_embeddings" in name:
            parameter.requires_grad_(False)
    classes = {name: i for i, name in enumerate(sorted(set(labels)))}
    targets_all = torch.tensor([classes[label] for label in labels])
    weights_all = torch.tensor(list(sample_weight) if sample_weight is not None else [1.0] * len(texts))
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=settings.lr, weight_decay=0.01
    )
    batches = _batches(labels, settings)
    warmup = max(1, len(batches) // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda step: min((step + 1) / warmup, max(0.0, (len(batches) - step) / (len(batches) - warmup + 1))),
    )
    model.train()
    for batch in batches:
        features = model.preprocess([texts[i] for i in batch])
        embeddings = model(features)["sentence_embedding"]
        embeddings = torch.nn.functional.normalize(embeddings, dim=1)
        index = torch.tensor(batch)
        loss = supcon_loss(embeddings, targets_all[index], settings.temperature, weights_all[index])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
    model.eval()
    return AdaptedEncoder(model, f"{MINILM_NAME}-adapted-seed{settings.seed}")
