"""Every layer of the frozen MiniLM from one forward pass, mean-pooled, for bench_adapt.py's layer
spaces. Not in the product (BENCHMARKS.md, "10 shots + the rest of train unlabeled", sixth attempt).

The shipped vector is hidden state 6 (the last of the 6 transformer layers) mean-pooled over the
attention mask and L2-normalised (sentence-transformers' Pooling + Normalize). With
`output_hidden_states=True` the same forward pass gives hidden states 0 (the input embeddings) to 6;
each is pooled and normalised the same way, so hidden state 6 reproduces the shipped vector. Texts are
read as the product reads them: spelling-corrected first (`SpellingEmbedder`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from supportcue.embeddings import minilm_path, quiet_hub
from supportcue.spelling import correct

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
N_STATES = 7


class LayerCache:
    """Pooled, normalised hidden states 0..6 (n x 7 x 384, float32) by corrected text."""

    def __init__(self, texts: list[str], vectors: np.ndarray) -> None:
        self.index = {t: i for i, t in enumerate(texts)}
        self.vectors = vectors


def embed_layers(texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
    """(n, 7, 384): each hidden state mean-pooled over the attention mask, L2-normalised."""
    quiet_hub()
    import torch
    from transformers import AutoModel, AutoTokenizer

    path = minilm_path()
    config = json.loads((path / "sentence_bert_config.json").read_text())
    tokenizer = AutoTokenizer.from_pretrained(str(path))
    model = AutoModel.from_pretrained(str(path)).eval()
    out = np.zeros((len(texts), N_STATES, model.config.hidden_size), dtype=np.float32)
    order = np.argsort([len(t) for t in texts], kind="stable")
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            rows = order[start : start + batch_size]
            batch = tokenizer(
                [texts[i] for i in rows],
                padding=True,
                truncation=True,
                max_length=int(config.get("max_seq_length", 256)),
                return_tensors="pt",
            )
            states = model(**batch, output_hidden_states=True).hidden_states
            mask = batch["attention_mask"].unsqueeze(-1).float()
            for k, state in enumerate(states):
                mean = (state * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                out[rows, k] = torch.nn.functional.normalize(mean, dim=1).numpy()
    return out


def banking77_cache(directory: Path) -> LayerCache:
    """Every Banking77 text's pooled hidden states (train.csv: the benchmark cuts every split from
    it), embedded once into `directory` and read from there afterwards."""
    import csv

    path = directory / "banking77-minilm-layers.npz"
    if path.exists():
        saved = np.load(path, allow_pickle=False)
        return LayerCache([str(t) for t in saved["texts"]], saved["vectors"])
    texts: list[str] = []
    with (DATA / "banking77" / "train.csv").open(encoding="utf-8") as handle:
        texts += [correct(row["text"], frozenset()) for row in csv.DictReader(handle)]
    texts = list(dict.fromkeys(texts))
    vectors = embed_layers(texts)
    directory.mkdir(parents=True, exist_ok=True)
    np.savez(path, texts=np.array(texts), vectors=vectors)
    return LayerCache(texts, vectors)


def pooled(cache: LayerCache, texts: Sequence[str]) -> np.ndarray:
    """(n, 7, 384) for `texts` (raw; corrected here), from the cache or embedded now."""
    corrected = [correct(t, frozenset()) for t in texts]
    missing = list(dict.fromkeys(t for t in corrected if t not in cache.index))
    extra = embed_layers(missing) if missing else np.zeros((0, *cache.vectors.shape[1:]), np.float32)
    where = {t: i for i, t in enumerate(missing)}
    return np.stack(
        [cache.vectors[cache.index[t]] if t in cache.index else extra[where[t]] for t in corrected]
    )


def _normalise(X: np.ndarray) -> np.ndarray:
    out: np.ndarray = X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)
    return out.astype(np.float32)


def space_vectors(states: np.ndarray, space: str, n_train: int) -> np.ndarray:
    """The rows of a layer space (`bench_adapt.LAYER_SPACES`, optionally ending in `c`: centred on
    the mean of the first `n_train` rows, the train part, then renormalised)."""
    centre = space.endswith("c")
    name = space[:-1] if centre else space
    if name.startswith("layers-mean"):
        first = 0 if name == "layers-mean0" else 1
        X = states[:, first:].mean(axis=1)
    else:
        X = states[:, int(name.removeprefix("layer"))]
    X = _normalise(X)
    if centre:
        X = _normalise(X - X[:n_train].mean(axis=0))
    return X
