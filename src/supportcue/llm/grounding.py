"""The grounding check: is every fact and every sentence of a drafted reply in its sources?

`GroundingCheck.check(draft, sources, message, known)` returns a `Grounding`. A draft passes when:

1. **Citations.** Every `[id]` marker names one of the sources, and the sentence that carries it is
   supported by that source (cosine >= the floor, and within `CITATION_MARGIN` of the best source).
2. **Facts.** Every fact-like token of the draft appears in the sources, the customer's message or
   the case's known values (the customer's name, the case's fields). The tokens are the fact
   guard's (`textfacts.facts`, the one extractor the tone stage uses too): amounts, percentages,
   numbers, dates and durations, weekdays and months, URLs, e-mail addresses, placeholders and the
   configured product names; plus every capitalised word inside a sentence (a plan, product or
   setting name the model may have made up: "the Premium plan", "Settings → Banking"). Numbers
   compare by value ("$49.00" is 49; "5-10" holds 5 and 10) and a percentage needs a percentage.
3. **Negations.** A sentence whose closest source sentence (cosine >= the floor) has the other
   parity of negations (`<neg>` of the same extractor: "not", "never", "can't" ...) contradicts it.
4. **Support.** Every sentence has a source passage, one sentence or two adjacent ones, whose
   embedding has cosine >= `floor` with it (`[llm] support_floor`; tuned in
   `bench/bench_grounding.py`). Greeting and sign-off lines, and courtesy sentences without a fact
   ("Thanks for your patience."), need none.

Otherwise the stage abstains and `Grounding.reason()` names what was unsupported. Cost: embedding the
draft's sentences and, once per distinct text (an LRU cache), the sources' passages.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from supportcue.embeddings import Embedder
from supportcue.monitoring.match import GREETING_LINE, SIGNOFF_LINE
from supportcue.security.redaction import redact
from supportcue.stages.tone import sentences
from supportcue.textfacts import facts

Vectors = npt.NDArray[np.float32]

CITATION = re.compile(r"\s*\[([A-Za-z0-9][\w.:#/-]*)\]")
_NAME = re.compile(r"(?<![\w'’-])(?:[A-Z][a-z]+[A-Za-z]*|[A-Z]{2,}[a-z]?)(?![\w'’-])")
_NOT_NAMES = frozenset({"I", "OK", "Ok", "FAQ"})
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_COURTESY = re.compile(
    r"^\W*(?:thanks|thank you|sorry|i'?m sorry|we'?re sorry|apologies|happy to help|glad to help|"
    r"i hope this helps|hope this helps|let (?:me|us) know|please let (?:me|us) know|feel free|"
    r"if you have (?:any )?(?:other|more|further) questions|i understand|great question|good news)\b",
    re.IGNORECASE,
)
NUMBER_WORDS = {
    "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7",
    "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12", "fifteen": "15",
    "twenty": "20", "thirty": "30", "forty": "40", "fifty": "50", "sixty": "60", "ninety": "90",
    "hundred": "100",
}  # fmt: skip
CITATION_MARGIN = 0.15
"""A cited source must support its sentence nearly as well as the best source does (cosine within
this), or the citation is wrong."""
MIN_CONTENT_WORDS = 4
"""A sentence shorter than this with no fact needs no support ("Here is how:")."""


@dataclass(frozen=True)
class Grounding:
    """The verdict on one draft; sentence numbers count from 1 over the draft's checked sentences."""

    supported: bool
    floor: float
    unsupported_facts: tuple[str, ...] = ()
    unsupported_sentences: tuple[tuple[int, float], ...] = ()
    """(sentence number, best similarity) of each sentence below the floor."""
    contradictions: tuple[str, ...] = ()
    bad_citations: tuple[str, ...] = ()
    citations: tuple[str, ...] = ()
    min_support: float | None = None

    def reason(self) -> str:
        """What was not supported, for the abstention (personal data redacted)."""
        parts = []
        if self.unsupported_facts:
            parts.append("facts not in the sources: " + ", ".join(self.unsupported_facts))
        parts += list(self.contradictions) + list(self.bad_citations)
        for n, score in self.unsupported_sentences:
            parts.append(f"sentence {n} is not supported by any source ({score:.2f} < {self.floor:.2f})")
        return redact("draft not grounded: " + "; ".join(parts)) if parts else "grounded"

    def as_dict(self) -> dict[str, Any]:
        """For the trace: the verdict and what failed, never the draft's sentences."""
        return {
            "passed": self.supported,
            "floor": self.floor,
            "min_support": None if self.min_support is None else round(self.min_support, 4),
            "citations": list(self.citations),
            "unsupported_facts": [redact(f) for f in self.unsupported_facts],
            "unsupported_sentences": [[n, round(s, 4)] for n, s in self.unsupported_sentences],
            "contradictions": list(self.contradictions),
            "bad_citations": list(self.bad_citations),
        }


def strip_citations(text: str) -> str:
    """The draft without its `[id]` markers (what the agent sees)."""
    return re.sub(r"[ \t]+([.,;:!?])", r"\1", CITATION.sub("", text)).strip()


def _atoms(token: str) -> list[str]:
    """The numbers in a token, by value: "$1,250.00" -> ["1250"], "5-10" -> ["5", "10"]."""
    out = []
    for raw in _NUMBER.findall(token):
        compact = raw.replace(",", "") if re.fullmatch(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?", raw) else raw
        try:
            value = float(compact.replace(",", "."))
        except ValueError:
            continue
        out.append(f"{value:g}")
    return out


@dataclass
class _Pool:
    """What the draft may state: the sources, the message and the known values, as facts."""

    tokens: set[str]
    numbers: set[str]
    percents: set[str]
    words: set[str]

    @classmethod
    def of(cls, texts: Iterable[str], product_names: Sequence[str]) -> _Pool:
        text = "\n".join(texts)
        tokens = {t.lower() for t in _fact_tokens(text, product_names)}
        numbers: set[str] = set()
        percents: set[str] = set()
        for token in tokens:
            (percents if "%" in token else numbers).update(_atoms(token))
        lowered = text.lower()
        for match in re.finditer(r"\b(\d+(?:\.\d+)?)\s*(?:percent|per cent)\b", lowered):
            percents.update(_atoms(match.group(1)))
        words = set(re.findall(r"[\w'’]+", lowered))
        numbers.update(NUMBER_WORDS[w] for w in words & NUMBER_WORDS.keys())
        return cls(tokens, numbers, percents, words)

    def has(self, token: str) -> bool:
        if token.lower() in self.tokens:
            return True
        atoms = _atoms(token)
        if atoms and re.search(r"\d", token):
            return all(a in (self.percents if "%" in token else self.numbers) for a in atoms)
        return False


def _content(sentence: str) -> str:
    """A sentence without bullets, quotes and surrounding space."""
    return re.sub(r"^[\s\-*•>\"'“(]+", "", sentence).strip()


def names(sentence: str) -> list[str]:
    """Capitalised words inside a sentence (not its first word): likely names of things."""
    body = _content(sentence)
    out = []
    for match in _NAME.finditer(body):
        before = body[: match.start()].rstrip()
        if not before or before[-1] in ".!?:\n" or match.group(0) in _NOT_NAMES:
            continue
        out.append(match.group(0))
    return out


class GroundingCheck:
    """Checks drafts against their sources (see the module docstring); thread-safe."""

    def __init__(
        self,
        embedder: Embedder,
        floor: float = 0.5,
        product_names: Sequence[str] = (),
        cache_size: int = 20_000,
    ) -> None:
        self.embedder = embedder
        self.floor = floor
        self.product_names = tuple(product_names)
        self.cache_size = cache_size
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, Vectors] = OrderedDict()

    def _embed(self, texts: Sequence[str]) -> Vectors:
        with self._lock:
            todo = list(dict.fromkeys(t for t in texts if t not in self._cache))
        fresh = self.embedder.embed(todo) if todo else None
        with self._lock:
            if fresh is not None:
                self._cache.update(zip(todo, fresh, strict=True))
            for t in texts:
                self._cache.move_to_end(t)
            rows = [self._cache[t] for t in texts]
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        if not rows:
            return np.zeros((0, self.embedder.dim), dtype=np.float32)
        return np.stack(rows).astype(np.float32)

    def check(
        self,
        draft: str,
        sources: Sequence[tuple[str, str]],
        message: str = "",
        known: Sequence[str] = (),
    ) -> Grounding:
        """`sources` are (id, text) pairs; `known` are values the draft may repeat (names, fields)."""
        ids = {sid for sid, _ in sources}
        pool = _Pool.of([t for _, t in sources] + [message, *known], self.product_names)
        checked, cites = _sentences(draft)
        citations = tuple(dict.fromkeys(c for cs in cites for c in cs))
        bad = [f"cites [{c}], which is not a source" for c in citations if c not in ids]
        passages, owners, singles = _passages(sources)
        sims = np.zeros((len(checked), len(passages)), dtype=np.float32)
        if checked and passages:
            vectors = self._embed([*checked, *passages])
            sims = vectors[: len(checked)] @ vectors[len(checked) :].T
        support: list[float] = []
        weak: list[tuple[int, float]] = []
        contradictions: list[str] = []
        for i, sentence in enumerate(checked):
            row = sims[i] if passages else np.zeros(1, dtype=np.float32)
            best = float(row.max())
            if _needs_support(sentence):
                support.append(best)
                if best < self.floor:
                    weak.append((i + 1, best))
            if singles:
                near = singles[int(np.argmax(row[singles]))]
                if row[near] >= self.floor and _negations(sentence) % 2 != _negations(passages[near]) % 2:
                    contradictions.append(f"sentence {i + 1} contradicts [{owners[near]}] (a negation)")
            for cited in (c for c in cites[i] if c in ids):
                said = max(float(row[k]) for k, owner in enumerate(owners) if owner == cited)
                if best >= self.floor and (said < self.floor or said < best - CITATION_MARGIN):
                    bad.append(f"sentence {i + 1} cites [{cited}], which does not say it")
        unsupported = self._unsupported_facts(checked, pool)
        return Grounding(
            supported=not (unsupported or weak or contradictions or bad),
            floor=self.floor,
            unsupported_facts=tuple(unsupported),
            unsupported_sentences=tuple(weak),
            contradictions=tuple(contradictions),
            bad_citations=tuple(dict.fromkeys(bad)),
            citations=citations,
            min_support=min(support) if support else None,
        )

    def _unsupported_facts(self, checked: Sequence[str], pool: _Pool) -> list[str]:
        found: list[str] = []
        for sentence in checked:
            found += [t for t in _fact_tokens(sentence, self.product_names) if not pool.has(t)]
            found += [n for n in names(sentence) if n.lower() not in pool.words]
        return list(dict.fromkeys(found))


def _sentences(draft: str) -> tuple[list[str], list[list[str]]]:
    """The draft's sentences to check (no greeting or sign-off lines), citations removed, and the
    ids each one cited."""
    lines = [ln for ln in draft.strip().splitlines() if ln.strip()]
    if lines and GREETING_LINE.match(CITATION.sub("", lines[0])):
        lines = lines[1:]
    while lines and SIGNOFF_LINE.match(CITATION.sub("", lines[-1])):
        lines = lines[:-1]
    checked: list[str] = []
    cites: list[list[str]] = []
    for part in sentences("\n".join(lines)):
        cited = CITATION.findall(part)
        text = strip_citations(part)
        if not re.search(r"\w", text):
            if cited and cites:  # "... payouts. [kb-1]": the marker belongs to the sentence before
                cites[-1] += cited
            continue
        checked.append(text)
        cites.append(cited)
    return checked, cites


def _passages(sources: Sequence[tuple[str, str]]) -> tuple[list[str], list[str], list[int]]:
    """Each source's sentences and pairs of adjacent sentences, their source ids, and which of them
    are single sentences."""
    passages: list[str] = []
    owners: list[str] = []
    singles: list[int] = []
    for sid, text in sources:
        parts, _ = _sentences(text)
        for k, part in enumerate(parts):
            singles.append(len(passages))
            passages.append(part)
            owners.append(sid)
            if k + 1 < len(parts):
                passages.append(f"{part} {parts[k + 1]}")
                owners.append(sid)
    return passages, owners, singles


def _fact_tokens(text: str, product_names: Sequence[str] = ()) -> list[str]:
    """The literal facts of `text` (the shared extractor's tokens, without the negation count)."""
    return [t for t, n in facts(text, product_names).items() if n > 0 and t != "<neg>"]


def _needs_support(sentence: str) -> bool:
    if _fact_tokens(sentence):
        return True
    if _COURTESY.match(sentence):
        return False
    return len(re.findall(r"\w+", sentence)) >= MIN_CONTENT_WORDS


def _negations(text: str) -> int:
    return facts(text)["<neg>"]
