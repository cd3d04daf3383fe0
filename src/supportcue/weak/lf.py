"""Labeling functions, like snorkel's: a plain function made into a named, versioned object.

A labeling function (LF) reads one `LFInput` and returns a label (a string such as a topic key) or
`ABSTAIN` (None). `@labeling_function()` wraps a function; the factories build the common kinds:
keywords, a regular expression, cosine similarity to a few seed examples, and "the agent's sent
reply matches a library answer, so the case has that answer's topic".

An LF's `version` is a hash of its source (or of the factory's parameters), so labels it produced can
be traced to the exact rule and recomputed when the rule changes.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import re
import sys
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, overload

import numpy as np
import numpy.typing as npt
from rapidfuzz.distance import Indel

from supportcue.embeddings import Embedder
from supportcue.errors import SettingsError
from supportcue.monitoring.match import normalise, token_similarity

ABSTAIN: None = None
"""What a labeling function returns when it has no opinion."""

Similarity = Callable[[str, str], float]


@dataclass(frozen=True)
class LFInput:
    """What a labeling function may read about one case."""

    text: str
    vector: npt.NDArray[np.float32] | None = None
    """The message's embedding (L2-normalised), when the caller computed it."""
    sent_reply: str | None = None
    """The reply the agent sent, when known."""


def _digest(*parts: object) -> str:
    return hashlib.sha1(repr(parts).encode("utf-8")).hexdigest()[:12]


def _source_version(func: Callable[..., Any]) -> str:
    try:
        return _digest(inspect.getsource(func))
    except (OSError, TypeError):
        code = getattr(func, "__code__", None)
        return _digest(code.co_code if code is not None else repr(func))


class LabelingFunction:
    """A named rule `f(LFInput) -> label | None`; calling the object calls the rule."""

    def __init__(
        self,
        name: str,
        func: Callable[[LFInput], str | None],
        task: str = "topic",
        version: str | None = None,
    ) -> None:
        if not name or not name.strip():
            raise ValueError("a labeling function needs a non-empty name")
        self.name = name
        self.func = func
        self.task = task
        self.version = version or _source_version(func)

    def __call__(self, x: LFInput) -> str | None:
        return self.func(x)

    def __repr__(self) -> str:
        return f"LabelingFunction(name={self.name!r}, task={self.task!r}, version={self.version!r})"


@overload
def labeling_function(
    func: Callable[[LFInput], str | None], /, *, name: str | None = None, task: str = "topic"
) -> LabelingFunction: ...
@overload
def labeling_function(
    func: None = None, /, *, name: str | None = None, task: str = "topic"
) -> Callable[[Callable[[LFInput], str | None]], LabelingFunction]: ...
def labeling_function(
    func: Callable[[LFInput], str | None] | None = None,
    /,
    *,
    name: str | None = None,
    task: str = "topic",
) -> LabelingFunction | Callable[[Callable[[LFInput], str | None]], LabelingFunction]:
    """Make a function a `LabelingFunction`; usable as `@labeling_function` or `@labeling_function(...)`.

    The name defaults to the function's name; `task` is the label task (`topic`, `validity`, ...).
    """

    def wrap(f: Callable[[LFInput], str | None]) -> LabelingFunction:
        return LabelingFunction(name or f.__name__, f, task=task)

    return wrap(func) if func is not None else wrap


def keyword_lf(name: str, keywords: Iterable[str], label: str, task: str = "topic") -> LabelingFunction:
    """`label` when the text contains any of `keywords` as whole words (case-insensitive)."""
    words = sorted({k.strip() for k in keywords if k.strip()})
    if not words:
        raise ValueError(f"keyword_lf {name!r}: no keywords")
    pattern = re.compile(r"\b(?:" + "|".join(re.escape(w) for w in words) + r")\b", re.IGNORECASE)

    def rule(x: LFInput) -> str | None:
        return label if pattern.search(x.text) else ABSTAIN

    return LabelingFunction(name, rule, task=task, version=_digest("keyword", words, label))


def regex_lf(
    name: str, pattern: str, label: str, task: str = "topic", flags: int = re.IGNORECASE
) -> LabelingFunction:
    """`label` when `pattern` is found in the text (case-insensitive unless `flags` says otherwise)."""
    try:
        compiled = re.compile(pattern, flags)
    except re.error as exc:
        raise ValueError(f"regex_lf {name!r}: bad pattern {pattern!r}: {exc}") from exc

    def rule(x: LFInput) -> str | None:
        return label if compiled.search(x.text) else ABSTAIN

    return LabelingFunction(name, rule, task=task, version=_digest("regex", pattern, flags, label))


def similarity_lf(
    name: str,
    seed_examples: Sequence[str],
    label: str,
    embedder: Embedder,
    threshold: float = 0.6,
    task: str = "topic",
) -> LabelingFunction:
    """`label` when the message's cosine similarity to any seed example is at least `threshold`.

    Uses `LFInput.vector` when present (it must come from the same embedder), else embeds the text.
    """
    if not seed_examples:
        raise ValueError(f"similarity_lf {name!r}: no seed examples")
    seeds = embedder.embed(list(seed_examples))

    def rule(x: LFInput) -> str | None:
        if x.vector is not None and x.vector.shape[-1] == seeds.shape[1]:
            vector = np.asarray(x.vector, dtype=np.float32).reshape(-1)
        else:
            vector = embedder.embed([x.text])[0]
        return label if float(np.max(seeds @ vector)) >= threshold else ABSTAIN

    version = _digest("similarity", embedder.name, list(seed_examples), label, threshold)
    return LabelingFunction(name, rule, task=task, version=version)


_PLACEHOLDER = re.compile(r"\{\{[^{}]*\}\}|\{[^{}]*\}")
_WORD = re.compile(r"\w+")


def token_ratio(a: str, b: str) -> float:
    """The Indel ratio 2 LCS / (|A| + |B|) of the lowercased word sequences, placeholders removed
    (what difflib's ratio approximates, in C): the fallback similarity."""
    wa = _WORD.findall(_PLACEHOLDER.sub(" ", a).lower())
    wb = _WORD.findall(_PLACEHOLDER.sub(" ", b).lower())
    if not wa and not wb:
        return 0.0
    return float(Indel.normalized_similarity(wa, wb))


def answer_match_lf(
    library: Mapping[str, tuple[str, str]],
    threshold: float = 0.7,
    similarity: Similarity | None = None,
    name: str = "answer_match",
    task: str = "topic",
) -> LabelingFunction:
    """The topic of the library answer the agent's sent reply matches best, if it matches at all.

    `library` maps answer id -> (topic, body). `similarity(answer_body, sent_reply)` defaults to the
    product's match definition (`supportcue.monitoring.match`), with each answer normalised once
    rather than once per case.
    """
    answers = [(topic, body) for topic, body in library.values() if body.strip()]
    words_of = [(topic, normalise(body).split()) for topic, body in answers] if similarity is None else []

    def rule(x: LFInput) -> str | None:
        if not x.sent_reply or not answers:
            return ABSTAIN
        if similarity is not None:
            score, topic = max((similarity(body, x.sent_reply), topic) for topic, body in answers)
            return topic if score >= threshold else ABSTAIN
        sent = normalise(x.sent_reply).split()
        if not sent:
            return ABSTAIN
        scores = ((token_similarity(words, sent) if words else 0.0, topic) for topic, words in words_of)
        score, topic = max(scores)
        return topic if score >= threshold else ABSTAIN

    # "product-lcs": the product's definition counts the longest common subsequence since 2026-11-30
    fn_name = getattr(similarity, "__qualname__", "product") if similarity else "product-lcs"
    version = _digest("answer_match", sorted(library.items()), threshold, fn_name)
    return LabelingFunction(name, rule, task=task, version=version)


def _module_files(paths: Iterable[str | Path], base_dir: Path | None) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if base_dir is not None and not path.is_absolute():
            path = base_dir / path
        if path.is_dir():
            files.extend(sorted(p for p in path.glob("*.py") if not p.name.startswith("_")))
        elif path.is_file() and path.suffix == ".py":
            files.append(path)
        else:
            raise SettingsError(f"labeling_functions: {path} is not a Python file or a folder of them")
    return files


def _failed_line(exc: Exception, file: Path) -> str:
    """`file:line` where importing `file` failed (the innermost line of that file), else `file`."""
    if isinstance(exc, SyntaxError) and exc.lineno:
        return f"{file}:{exc.lineno}"
    lines = [
        f.lineno
        for f in traceback.extract_tb(exc.__traceback__)
        if Path(f.filename).resolve() == file.resolve()
    ]
    return f"{file}:{lines[-1]}" if lines else str(file)


def load_lfs_from_modules(
    paths: Iterable[str | Path], base_dir: Path | None = None
) -> list[LabelingFunction]:
    """Import Python files (or folders of them) and collect their module-level `LabelingFunction`s.

    Relative paths are resolved against `base_dir` (the workspace). Order: file order, then definition
    order. Two LFs with one name is an error naming both files.
    """
    found: dict[str, tuple[LabelingFunction, Path]] = {}
    for file in _module_files(paths, base_dir):
        module_name = f"_supportcue_lfs_{_digest(str(file.resolve()))}"
        spec = importlib.util.spec_from_file_location(module_name, file)
        if spec is None or spec.loader is None:
            raise SettingsError(f"labeling_functions: cannot import {file}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            sys.modules.pop(module_name, None)
            raise SettingsError(
                f"labeling_functions: importing {_failed_line(exc, file)} failed: {type(exc).__name__}: "
                f"{exc.msg if isinstance(exc, SyntaxError) else exc}"
            ) from exc
        for value in vars(module).values():
            if not isinstance(value, LabelingFunction):
                continue
            if value.name in found and found[value.name][0] is not value:
                raise SettingsError(
                    f"labeling_functions: two LFs named {value.name!r}, in {found[value.name][1]} and {file}"
                )
            found[value.name] = (value, file)
    return [lf for lf, _ in found.values()]
