"""Loading labeled files for `supportcue eval`: text and label columns, with errors naming file and line."""

from __future__ import annotations

import math
import os
import random
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from supportcue.data.files import header_of, number_text, read_rows
from supportcue.embeddings import Embedder, make_embedder
from supportcue.errors import ImportDataError
from supportcue.stages.base import Message


@dataclass
class Labeled:
    """Texts and labels of one file, in file order."""

    path: Path
    texts: list[str]
    labels: list[str]


def check_columns(
    path: Path, columns: Sequence[str], options: Sequence[str] = ("--text-col", "--label-col")
) -> list[str]:
    """The file's names of `columns` (each given by the option of the same place in `options`), read
    as `import` reads column names: the exact name, else the one column of that name in any case
    (`--text-col message` reads a `Message` header). Fails naming the file: the missing columns, the
    file's columns and the options that pick them; or a name that matches two columns in any case."""
    header = header_of(path)
    if not header and next(read_rows(path), None) is None:
        raise ImportDataError(f"{path}: no rows (give a file with a header and at least one row)")
    found: list[str] = []
    missing: list[str] = []
    for i, name in enumerate(columns):
        if name in header:
            found.append(name)
            continue
        alike = [c for c in header if c.casefold() == name.casefold()]
        if len(alike) > 1:
            option = options[i] if i < len(options) else "the option"
            raise ImportDataError(
                f"{path}: {option} {name!r} matches columns {' and '.join(repr(c) for c in alike)} "
                "in any case; give the one to read as it is written"
            )
        if alike:
            found.append(alike[0])
        else:
            missing.append(name)
    if missing:
        raise ImportDataError(
            f"{path}: no column {', '.join(repr(c) for c in missing)}; columns are {header} "
            f"(use {' / '.join(options)})"
        )
    return found


def rows_of(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """`(line, row)` of a .csv / .jsonl file; a row that cannot be read stops with its file and line
    (a CSV row with more values than the header is most often a text with an unquoted comma, whose
    pieces would otherwise be read as the next columns: a wrong label, silently)."""
    for line, row in read_rows(path):
        if "__error__" in row:
            raise ImportDataError(f"{path}:{line}: {row['__error__']}")
        if "__extra__" in row:
            raise ImportDataError(
                f"{path}:{line}: more values than header columns (a comma in a text? quote the cell)"
            )
        yield line, row


def blank(value: Any) -> bool:
    """Whether a cell holds nothing: absent, JSON null, white space, or a JSON `NaN` (what
    `json.dumps` writes for a pandas frame's missing value; read as the text "nan" it became a label)."""
    if isinstance(value, float) and math.isnan(value):
        return True
    return value is None or not str(value).strip()


def label_of(value: Any) -> str:
    """A cell's label: a JSON number as one text per number (`3` and `3.0` are "3"), a string as
    typed, without the white space around it."""
    return str(number_text(value)).strip()


def load_texts(path: Path, text_col: str) -> list[str]:
    """Only the text column: used for unlabeled rows, whose labels must never be read."""
    (text_col,) = check_columns(path, [text_col])
    texts = []
    for line, row in rows_of(path):
        text = row.get(text_col)
        if blank(text):
            raise ImportDataError(f"{path}:{line}: empty {text_col!r}")
        texts.append(str(text))
    return texts


def load_labeled(path: Path, text_col: str, label_col: str) -> Labeled:
    """Every row must have a non-empty text and label."""
    text_col, label_col = check_columns(path, [text_col, label_col])
    texts, labels = [], []
    for line, row in rows_of(path):
        for col in (text_col, label_col):
            if blank(row.get(col)):
                raise ImportDataError(f"{path}:{line}: empty {col!r}")
        texts.append(str(row[text_col]))
        labels.append(label_of(row[label_col]))
    if not texts:
        raise ImportDataError(f"{path}: no rows")
    return Labeled(path, texts, labels)


def check_labels(path: Path, labels: Sequence[str], label_col: str, what: str = "row") -> None:
    """Fail naming the file when its rows have fewer than two labels: a classifier learns to tell
    labels apart (a wrong --label-col, or an export filtered to one topic, gives one)."""
    distinct = sorted(set(labels))
    if len(distinct) == 1:
        raise ImportDataError(
            f"{path}: every {what}'s {label_col!r} is {distinct[0]!r} ({len(labels):,} rows); a classifier "
            f"needs rows of at least two labels (is {label_col!r} the right --label-col?)"
        )


def same_text(text: str) -> str:
    """A text as `in_train` compares it: case and runs of white space ignored."""
    return " ".join(text.casefold().split())


def in_train(train_texts: Sequence[str], test_texts: Sequence[str]) -> list[bool]:
    """Per test text, whether --train holds the same text (`same_text`). A help desk's history repeats
    itself ("How do I reset my password?"), so a random split puts many test texts in train as well,
    and the figures then measure recall of those rows rather than the system on new messages."""
    seen = {same_text(t) for t in train_texts}
    return [same_text(t) in seen for t in test_texts]


def overlap_figures(flags: Sequence[bool]) -> dict[str, Any]:
    """`test_in_train`: how many test rows have their text in --train, and their share."""
    n = sum(flags)
    return {"test_in_train": n, "test_in_train_share": round(n / len(flags), 4) if flags else 0.0}


def unseen_label_figures(
    train_labels: Sequence[str], test_labels: Sequence[str], ignore: Sequence[str] = ()
) -> dict[str, Any]:
    """The --test labels that --train never has (`unseen_labels`, sorted) and how many test rows
    carry one (`n_test_unseen_label`): no model trained on --train can predict them, so those rows
    are errors whatever it does ("Refunds" against "refunds", a topic added after the train export).
    Labels in `ignore` (eval oos's out-of-scope label) are not topics and not counted."""
    known = set(train_labels) | set(ignore)
    unseen = [label for label in test_labels if label not in known]
    return {"unseen_labels": sorted(set(unseen)), "n_test_unseen_label": len(unseen)}


def sample_shots(labels: Sequence[str], shots: int, seed: int) -> list[int]:
    """Indices of `shots` rows per label chosen with `seed` (all rows of a smaller label), sorted."""
    by_label: dict[str, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        by_label[label].append(i)
    rng = random.Random(seed)
    keep: list[int] = []
    for label in sorted(by_label):
        rows = by_label[label]
        keep += rows if len(rows) <= shots else rng.sample(rows, shots)
    return sorted(keep)


def cache_dir() -> Path:
    """Where eval keeps embeddings between runs: `$SUPPORTCUE_CACHE_DIR`, else
    ~/.cache/supportcue/embeddings."""
    env = os.environ.get("SUPPORTCUE_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "supportcue" / "embeddings"


def default_embedder() -> Embedder:
    return make_embedder("minilm", cache_dir=cache_dir())


def embed(embedder: Embedder, texts: Sequence[str]) -> npt.NDArray[np.float32]:
    return embedder.embed(list(texts))


def messages(texts: Sequence[str], vectors: npt.NDArray[np.float32]) -> list[Message]:
    """Texts with their vectors, as the stages read them."""
    return [Message(text=t, vector=v) for t, v in zip(texts, vectors, strict=True)]
