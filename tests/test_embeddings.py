"""The embedding cache: what a batch job's driver and its Ray workers rely on."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from supportcue.embeddings import CachedEmbedder, HashingEmbedder, SpellingEmbedder, Vectors, make_embedder
from supportcue.errors import WorkspaceError


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


def test_the_spelling_embedder_reads_misspelt_words_as_corrected(tmp_path: Path) -> None:
    inner = Counting()
    spelled = SpellingEmbedder(inner)
    assert (spelled.name, spelled.dim) == (inner.name, inner.dim)
    plain = HashingEmbedder(dim=64)
    assert np.allclose(spelled.embed(["my payemnt was declned"]), plain.embed(["my payment was declined"]))
    assert np.allclose(spelled.embed(["refund please"]), plain.embed(["refund please"]))
    assert inner.asked == ["my payment was declined", "refund please"]


def test_a_cache_over_the_spelling_embedder_keys_the_text_the_model_read(tmp_path: Path) -> None:
    inner = Counting()
    cache = CachedEmbedder(SpellingEmbedder(inner), tmp_path)
    cache.embed(["my payment was declined"])
    # The misspelt message is the same text to the model: no second embedding.
    assert np.allclose(cache.embed(["my payemnt was declned"]), cache.embed(["my payment was declined"]))
    assert inner.asked == ["my payment was declined"]
    # A batch job's worker embeds the raw message and the driver puts it under its corrected text.
    cache.put(["refundd please"], HashingEmbedder(dim=64).embed(["refund please"]))
    assert cache.missing(["refundd please", "refund please", "new text"]) == ["new text"]
    cache.close()
    # The file maps each text to the model's vector of that very text, for a reader without spelling.
    plain = CachedEmbedder(Counting(), tmp_path)
    assert plain.missing(["my payment was declined", "my payemnt was declned"]) == ["my payemnt was declned"]
    plain.close()


def test_a_cache_filled_when_a_domain_word_was_rewritten_keeps_it_apart(tmp_path: Path) -> None:
    # Before domain words were known, "crypto" was read, embedded and cached as "crypt": that entry
    # still holds the vector of "crypt", and "crypto" now reaches the model under its own key.
    old = CachedEmbedder(Counting(), tmp_path)
    old.embed(["can i buy crypt here"])
    old.close()
    inner = Counting()
    cache = CachedEmbedder(SpellingEmbedder(inner), tmp_path)
    plain = HashingEmbedder(dim=64)
    assert cache.missing(["can i buy crypto here", "can i buy crypt here"]) == ["can i buy crypto here"]
    assert np.allclose(cache.embed(["can i buy crypto here"]), plain.embed(["can i buy crypto here"]))
    assert np.allclose(cache.embed(["can i buy crypt here"]), plain.embed(["can i buy crypt here"]))
    assert inner.asked == ["can i buy crypto here"]
    cache.close()


def test_make_embedder_corrects_spelling_for_minilm_only_and_on_request() -> None:
    assert isinstance(make_embedder("minilm"), SpellingEmbedder)
    assert not isinstance(make_embedder("minilm", spelling=False), SpellingEmbedder)
    assert isinstance(make_embedder("tfidf"), HashingEmbedder)


@pytest.mark.parametrize("blocked", ["folder", "file"])
def test_a_cache_it_cannot_open_is_an_error_naming_the_file_and_the_setting(
    tmp_path: Path, blocked: str
) -> None:
    """A workspace on a read-only mount (or whose cache/ belongs to another user) stopped `suggest`,
    `train` and `backtest` with "an unexpected OperationalError: unable to open database file" and a
    traceback file; it is a path to fix, said in one line (exit 2) with the way round it."""
    inner = HashingEmbedder(dim=64)
    cache_dir = tmp_path / "cache"
    if blocked == "folder":  # a file where the folder should be
        cache_dir.write_text("not a folder")
    else:  # a folder where the cache's file should be: SQLite cannot open it
        (cache_dir / f"embeddings-{inner.name}.sqlite").mkdir(parents=True)
    with pytest.raises(WorkspaceError) as caught:
        CachedEmbedder(inner, cache_dir)
    message = str(caught.value)
    assert f"embeddings-{inner.name}.sqlite" in message and "cannot open the embedding cache" in message
    assert "[embedding] cache = false" in message
