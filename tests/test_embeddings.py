"""The embedding cache: what a batch job's driver and its Ray workers rely on."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from supportcue.embeddings import CachedEmbedder, HashingEmbedder, Vectors


class Counting(HashingEmbedder):
    """The hashing embedder, counting the texts it is asked to embed."""

    def __init__(self) -> None:
        super().__init__(dim=64)
        self.asked: list[str] = []

    def embed(self, texts: Sequence[str]) -> Vectors:
        self.asked += list(texts)
        return super().embed(texts)


def test_missing_and_put_fill_the_cache_with_vectors_made_elsewhere(tmp_path: Path) -> None:
    inner = Counting()
    cache = CachedEmbedder(inner, tmp_path)
    texts = ["refund please", "where is my payout", "refund please"]
    assert cache.missing(texts) == ["refund please", "where is my payout"]
    cache.put(texts[:2], HashingEmbedder(dim=64).embed(texts[:2]))
    assert cache.missing(texts) == []
    assert np.allclose(cache.embed(texts), HashingEmbedder(dim=64).embed(texts))
    assert inner.asked == []
    cache.close()


def test_a_read_only_cache_reads_the_file_never_writes_it_and_embeds_a_text_once(tmp_path: Path) -> None:
    writer = CachedEmbedder(Counting(), tmp_path)
    writer.embed(["cached already"])
    writer.close()
    inner = Counting()
    reader = CachedEmbedder(inner, tmp_path, read_only=True)
    for _ in range(3):
        vectors = reader.embed(["cached already", "new text", "new text"])
    assert inner.asked == ["new text"]
    assert np.allclose(vectors, HashingEmbedder(dim=64).embed(["cached already", "new text", "new text"]))
    reader.close()
    fresh = CachedEmbedder(Counting(), tmp_path)
    assert fresh.missing(["cached already", "new text"]) == ["new text"]
    fresh.close()
