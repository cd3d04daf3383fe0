"""The ONNX Runtime MiniLM: the same vectors as sentence-transformers (fp32), close ones under its own
name (int8), the execution provider and torch device choice, and the fallback without onnxruntime."""

from __future__ import annotations

import builtins
import importlib.util
import logging
import os
from typing import Any

import numpy as np
import pytest

from supportcue import embeddings
from supportcue.embeddings import (
    CachedEmbedder,
    MiniLMEmbedder,
    SpellingEmbedder,
    make_embedder,
    minilm_embedder,
    torch_device,
)
from supportcue.errors import SettingsError
from supportcue.onnx_embedder import CPU, CUDA, OnnxMiniLMEmbedder, build, model_files, select_providers
from supportcue.settings import EmbeddingSettings

TEXTS = [
    "",
    "hi",
    "   I still have not received my new card, what should I do?   ",
    "Ünïcödé çafé: 日本語のテキスト, emoji 🙂 and Ελληνικά",
    "my transfer was declined " * 120,  # far past the 256-token limit
    "Why is there an extra fee on my statement?",
]


@pytest.fixture(scope="module")
def reference() -> np.ndarray[Any, np.dtype[np.float32]]:
    return MiniLMEmbedder(device="cpu").embed(TEXTS)


@pytest.mark.slow
def test_fp32_vectors_equal_sentence_transformers(reference: np.ndarray[Any, Any]) -> None:
    onnx = OnnxMiniLMEmbedder(batch_size=4, device="cpu")  # two batches, padded differently
    vectors = onnx.embed(TEXTS)
    assert onnx.name == MiniLMEmbedder.name  # same vectors, so the same name and cache
    assert vectors.shape == (len(TEXTS), 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.all(np.sum(vectors * reference, axis=1) > 1 - 1e-4)
    assert onnx.embed([]).shape == (0, 384)


@pytest.mark.slow
def test_tokenisation_matches_sentence_transformers() -> None:
    model = MiniLMEmbedder(device="cpu").model
    expected = model.tokenize(TEXTS)["input_ids"].numpy()
    ids = OnnxMiniLMEmbedder(device="cpu").tokenize(TEXTS)["input_ids"]
    assert ids.shape[1] == model.max_seq_length == 256
    np.testing.assert_array_equal(ids, expected)


@pytest.mark.slow
def test_int8_vectors_close_under_their_own_name(reference: np.ndarray[Any, Any], tmp_path: Any) -> None:
    int8 = OnnxMiniLMEmbedder(int8=True, device="cpu")
    vectors = int8.embed(TEXTS)
    assert int8.name == "all-MiniLM-L6-v2-int8"
    assert np.all(np.sum(vectors * reference, axis=1) > 0.98)
    assert not np.allclose(vectors, reference, atol=1e-4)  # really quantised
    fp32_file, int8_file = model_files()
    assert int8_file.stat().st_size < fp32_file.stat().st_size * 0.85
    cached = make_embedder(cache_dir=tmp_path, quantize=True)
    plain = make_embedder(cache_dir=tmp_path)
    assert isinstance(cached, CachedEmbedder) and isinstance(plain, CachedEmbedder)
    assert cached.path != plain.path  # the int8 vectors never mix with the fp32 ones


def test_an_unwritable_model_folder_is_a_clear_error(tmp_path: Any) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    with pytest.raises(RuntimeError, match=r"cannot write the ONNX model to .*SUPPORTCUE_ONNX_DIR"):
        build(root=blocked)


def test_providers_take_cuda_only_when_onnxruntime_offers_it() -> None:
    assert select_providers([CPU]) == [CPU]
    assert select_providers([CUDA, CPU]) == [CUDA, CPU]
    assert select_providers(["AzureExecutionProvider", CPU, CUDA]) == [CUDA, CPU]
    assert select_providers([CUDA, CPU], device="cpu") == [CPU]
    assert select_providers([CUDA, CPU], device="cuda") == [CUDA, CPU]
    with pytest.raises(RuntimeError, match="no CUDAExecutionProvider"):
        select_providers([CPU], device="cuda")
    with pytest.raises(ValueError, match="allowed: auto, cpu, cuda"):
        select_providers([CPU], device="tpu")


def test_torch_device_is_cuda_only_when_torch_sees_a_gpu() -> None:
    assert torch_device("auto", cuda_available=True) == "cuda"
    assert torch_device("auto", cuda_available=False) == "cpu"
    assert torch_device("cpu", cuda_available=True) == "cpu"
    assert torch_device("cuda", cuda_available=True) == "cuda"
    with pytest.raises(RuntimeError, match="no CUDA GPU"):
        torch_device("cuda", cuda_available=False)
    assert torch_device("auto") in ("cpu", "cuda")  # asks torch itself


def test_without_onnxruntime_falls_back_to_torch_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, *args: Any) -> Any:
        return None if name == "onnxruntime" else real_find_spec(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    real_import = builtins.__import__

    def no_onnxruntime(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.split(".")[0] == "onnxruntime":
            raise ModuleNotFoundError("No module named 'onnxruntime'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_onnxruntime)
    monkeypatch.setattr(embeddings, "_FALLBACK_WARNED", type(embeddings._FALLBACK_WARNED)())
    with caplog.at_level(logging.WARNING, logger="supportcue.embeddings"):
        first = minilm_embedder(backend="onnx")
        second = make_embedder("minilm", backend="onnx")
    assert isinstance(first, MiniLMEmbedder)
    assert isinstance(second, SpellingEmbedder) and isinstance(second.inner, MiniLMEmbedder)
    warnings = [r for r in caplog.records if "onnxruntime is not installed" in r.getMessage()]
    assert len(warnings) == 1
    with pytest.raises(RuntimeError, match="quantize = true needs onnxruntime"):
        minilm_embedder(backend="onnx", quantize=True)


def test_backend_choice_and_settings() -> None:
    assert isinstance(minilm_embedder(backend="torch"), MiniLMEmbedder)
    onnx = minilm_embedder(backend="onnx", quantize=True)
    assert isinstance(onnx, OnnxMiniLMEmbedder) and onnx.name.endswith("-int8")
    with pytest.raises(ValueError, match="allowed: onnx, torch"):
        minilm_embedder(backend="tensorflow")
    with pytest.raises(ValueError, match="needs backend = onnx"):
        minilm_embedder(backend="torch", quantize=True)
    assert EmbeddingSettings().backend == "onnx" and not EmbeddingSettings().quantize
    with pytest.raises(ValueError, match="needs backend = onnx"):
        EmbeddingSettings(backend="torch", quantize=True)


def test_a_model_is_not_served_with_other_vectors() -> None:
    from supportcue.training.loader import check_embedder

    int8 = OnnxMiniLMEmbedder(int8=True, device="cpu")
    check_embedder("topic", "v1", {"embedder": "all-MiniLM-L6-v2-int8"}, int8)
    check_embedder("topic", "v1", {}, int8)  # written before the embedder was recorded
    with pytest.raises(SettingsError, match=r"topic v2 was trained on all-MiniLM-L6-v2 vectors.*retrain"):
        check_embedder("topic", "v2", {"embedder": "all-MiniLM-L6-v2"}, int8)


def test_onnx_threads_follow_omp_num_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    """`serve --workers N` gives each worker its share of the cores through OMP_NUM_THREADS."""
    from supportcue.onnx_embedder import cpu_threads

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert cpu_threads() == 1
    for value in ("not a number", "²"):  # "²" passes str.isdigit, not int()
        monkeypatch.setenv("OMP_NUM_THREADS", value)
        assert cpu_threads() == len(os.sched_getaffinity(0))
