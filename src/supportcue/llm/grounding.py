"""The grounding check: is every fact and every statement of a drafted reply in its sources?

`GroundingCheck.check(draft, sources, message, known)` returns a `Grounding`. The draft is cut into
*statements*: its sentences (greeting and sign-off lines aside), and a sentence that cites several
sources is cut after each group of citations ("A [x], and B [y]." is two statements, each checked
against its own source). Source texts are cut into *passages*: their sentences and each pair of
adjacent sentences. A draft passes when:

1. **Citations.** Every `[id]` marker names one of the sources, and the statement it ends is
   supported by that source (cosine >= the floor, and within `CITATION_MARGIN` of the best source).
2. **Facts.** Every fact-like token appears in the sources, the customer's message or the case's
   known values (the customer's name, the case's fields). The tokens are the fact guard's
   (`textfacts.facts`, the one extractor the tone stage uses too): amounts, percentages, numbers,
   dates and durations, weekdays and months, URLs, e-mail addresses, placeholders and the configured
   product names; plus every capitalised word inside a sentence (a plan, product or setting name
   the model may have made up: "the Premium plan", "Settings → Banking"). A number, a date or a name
   must be in one of the `NEAR_PASSAGES` passages closest to its statement, so a changed amount or a
   swapped name that appears elsewhere in the sources is still caught; a name as written, or in the
   same two-word phrase in another case ("Pay Out Funds" for "Pay out funds"). Numbers
   compare by value ("$49.00" is 49; "5-10" holds 5 and 10; "three" is 3, in the draft as in the
   sources) and a percentage needs a percentage; a duration keeps its unit ("10 business days" is
   not "10 weeks") and a price its period ("$1,250.00 a year" is not "... a month").
3. **Negations.** A statement whose closest passage (cosine >= the floor) has the other parity of
   negations (`<neg>` of the same extractor: "not", "never", "can't", "without" ...) contradicts it,
   and so does one that turns a contrast of that passage round: "not X but Y" said as "not Y but X"
   or "X, not Y" (a word the passage denies, affirmed, or the other way round; only when both hold
   a contrast, "not X but Y" or "Y, not X"; "not only X but also Y" is none).
4. **Support.** Every statement has a passage whose embedding has cosine >= `floor` with it
   (`[llm] support_floor`; tuned in `bench/bench_grounding.py`). Short courtesy statements without a
   fact ("Thanks for your patience.") and short ones without a fact ("Here is how:") need none; but a
   draft with no statement that needs one (courtesy alone, "I'm sorry, I don't have that
   information.") answers nothing, and fails.

Otherwise the stage abstains and `Grounding.reason()` names what was unsupported. Cost: embedding the
draft's statements and, once per distinct text (an LRU cache), the sources' passages.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import pairwise
from typing import Any

import numpy as np
import numpy.typing as npt

from supportcue.embeddings import Embedder
from supportcue.monitoring.match import GREETING_LINE, SIGNOFF_LINE
from supportcue.security.redaction import redact
from supportcue.stages.style import sentences
from supportcue.textfacts import fact_tokens, facts

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
_QUANTITY = re.compile(
    r"(?i)(?<![\w.,])(\d+(?:[.,]\d+)?|" + "|".join(NUMBER_WORDS) + r")[ \t]+"
    r"(?:(?:business|working|calendar|full)[ \t]+)?(minute|hour|day|week|month|year)s?\b"
)
_PER = re.compile(
    r"(?i)([$€£][ \t]?\d[\d,.]*\d|\d[\d,.]*[ \t]?(?:€|eur|usd|gbp)\b)[ \t]*(?:a|an|per|/|each)[ \t]*"
    r"(month|year|week|day)\b"
)


def quantities(text: str) -> dict[str, str]:
    """The durations ("10 business days") and prices per period ("$1,250.00 a year") of a text,
    by value and unit ("10 day", "1250 /year"), each with how to name it in a reason."""
    found: dict[str, str] = {}
    for match in _QUANTITY.finditer(text):
        raw, unit = match.group(1).lower(), match.group(2).lower()
        value = NUMBER_WORDS.get(raw) or next(iter(_atoms(raw)), raw)
        found[f"{value} {unit}"] = f"{raw} {unit}{'' if value == '1' else 's'}"
    for match in _PER.finditer(text):
        value, period = next(iter(_atoms(match.group(1))), match.group(1)), match.group(2).lower()
        found[f"{value} /{period}"] = f"{value} a {period}"
    return found


_COUNTED = NUMBER_WORDS.keys() - {"one"}
"""Number words a statement's facts include ("three business days"); "one" is too often not a
number ("no one", "the one you ordered")."""
CITATION_MARGIN = 0.15
"""A cited source must support its sentence nearly as well as the best source does (cosine within
this), or the citation is wrong."""
NEAR_PASSAGES = 4
"""A number, date or name of a statement must be in one of its this many closest source passages
(or the message)."""
WORD = re.compile(r"[\w'’]+")
"""A word, its apostrophes in it ("don't", "customer’s"): what a text's words are compared by, here and
in the tone rewrite's fact guard (`llm/rewrite.py`)."""
_PLACEHOLDERS = re.compile(r"\{[^{}]*\}")
_LOCAL = re.compile(
    r"\d|^(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec|Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*$"
)
MIN_CONTENT_WORDS = 4
MAX_COURTESY_WORDS = 10
"""A courtesy statement longer than this ("Let me know if a payout is later than ...") says
something, and needs support like any other."""
"""A sentence shorter than this with no fact needs no support ("Here is how:")."""


@dataclass(frozen=True)
class Grounding:
    """The verdict on one draft; sentence numbers count from 1 over the draft's checked sentences."""

    supported: bool
    floor: float
    unsupported_facts: tuple[str, ...] = ()
    unsupported_statements: tuple[tuple[int, float], ...] = ()
    """(sentence number, best similarity) of each sentence below the floor."""
    contradictions: tuple[str, ...] = ()
    bad_citations: tuple[str, ...] = ()
    citations: tuple[str, ...] = ()
    min_support: float | None = None
    empty: bool = False
    """No statement of the draft needs a source (courtesy alone, "I don't have that information"):
    it answers nothing, so it fails."""

    def reason(self) -> str:
        """What was not supported, for the abstention (personal data redacted)."""
        parts = ["the draft states nothing from its sources (courtesy alone)"] if self.empty else []
        if self.unsupported_facts:
            parts.append("facts not in the sources: " + ", ".join(self.unsupported_facts))
        parts += list(self.contradictions) + list(self.bad_citations)
        for n, score in self.unsupported_statements:
            parts.append(f"statement {n} is not supported by any source ({score:.2f} < {self.floor:.2f})")
        return redact("draft not grounded: " + "; ".join(parts)) if parts else "grounded"

    def as_dict(self) -> dict[str, Any]:
        """For the trace: the verdict and what failed, never the draft's sentences."""
        return {
            "passed": self.supported,
            "floor": self.floor,
            "min_support": None if self.min_support is None else round(self.min_support, 4),
            "citations": list(self.citations),
            "unsupported_facts": [redact(f) for f in self.unsupported_facts],
            "unsupported_statements": [[n, round(s, 4)] for n, s in self.unsupported_statements],
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
    cased: set[str]
    text: str

    @cached_property
    def phrases(self) -> set[str]:
        words = WORD.findall(self.text)
        return {f"{a} {b}" for a, b in pairwise(words)}

    @classmethod
    def of(cls, texts: Iterable[str], product_names: Sequence[str]) -> _Pool:
        text = "\n".join(texts)
        tokens = {t.lower() for t in fact_tokens(text, product_names)}
        numbers: set[str] = set()
        percents: set[str] = set()
        for token in tokens:
            (percents if "%" in token else numbers).update(_atoms(token))
        lowered = text.lower()
        for match in re.finditer(r"\b(\d+(?:\.\d+)?)\s*(?:percent|per cent)\b", lowered):
            percents.update(_atoms(match.group(1)))
        words = set(WORD.findall(lowered))
        numbers.update(NUMBER_WORDS[w] for w in words & NUMBER_WORDS.keys())
        return cls(tokens, numbers, percents, words, set(WORD.findall(text)), lowered)

    def names(self, name: str, before: str) -> bool:
        """A capitalised word is here as written, or in the same two-word phrase in any case (the
        model wrote "Pay Out Funds" for "Pay out funds"; "Tillwick Links" is not "payment links")."""
        return name in self.cased or f"{before} {name.lower()}" in self.phrases

    def has(self, token: str) -> bool:
        if token.lower() in self.tokens:
            return True
        if token[:1] == '"' and token[-1:] == '"':  # a quoted label: its words, quoted or not
            return token[1:-1].lower() in self.text
        atoms = _atoms(token)
        if atoms and re.search(r"\d", token):
            return all(a in (self.percents if "%" in token else self.numbers) for a in atoms)
        return False


def _content(sentence: str) -> str:
    """A sentence without bullets, quotes and surrounding space."""
    return re.sub(r"^[\s\-*•>\"'“(]+", "", sentence).strip()


def named(sentence: str) -> list[tuple[str, str]]:
    """Capitalised words inside a sentence (not its first word), each with the word before it."""
    body = _content(sentence)
    out = []
    for match in _NAME.finditer(body):
        before = body[: match.start()].rstrip()
        if not before or before[-1] in ".!?:\n" or match.group(0) in _NOT_NAMES:
            continue
        previous = WORD.findall(before[-40:])
        out.append((match.group(0), previous[-1].lower() if previous else ""))
    return out


def names(sentence: str) -> list[str]:
    """Capitalised words inside a sentence (not its first word): likely names of things."""
    return [name for name, _ in named(sentence)]


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
        context = [message, *known]
        pool = _Pool.of([t for _, t in sources] + context, self.product_names)
        claims = _claims(draft)
        citations = tuple(dict.fromkeys(c for _, cs in claims for c in cs))
        bad = [f"cites [{c}], which is not a source" for c in citations if c not in ids]
        passages, owners = _passages(sources)
        sims = np.zeros((len(claims), len(passages)), dtype=np.float32)
        if claims and passages:
            vectors = self._embed([*(text for text, _ in claims), *passages])
            sims = vectors[: len(claims)] @ vectors[len(claims) :].T
        support: list[float] = []
        weak: list[tuple[int, float]] = []
        contradictions: list[str] = []
        for i, (text, cited) in enumerate(claims):
            row = sims[i] if passages else np.zeros(1, dtype=np.float32)
            j = int(np.argmax(row))
            best = float(row[j])
            if _needs_support(text):
                support.append(best)
                if best < self.floor:
                    weak.append((i + 1, best))
            if passages and best >= self.floor and _contradicts(text, passages[j]):
                contradictions.append(f"statement {i + 1} contradicts [{owners[j]}] (a negation)")
            for c in (c for c in cited if c in ids):
                said = max(float(row[k]) for k, owner in enumerate(owners) if owner == c)
                if best >= self.floor and (said < self.floor or said < best - CITATION_MARGIN):
                    bad.append(f"statement {i + 1} cites [{c}], which does not say it")
        unsupported = self._unsupported_facts([t for t, _ in claims], pool, sims, passages, context)
        return Grounding(
            supported=bool(support) and not (unsupported or weak or contradictions or bad),
            floor=self.floor,
            unsupported_facts=tuple(unsupported),
            unsupported_statements=tuple(weak),
            contradictions=tuple(contradictions),
            bad_citations=tuple(dict.fromkeys(bad)),
            citations=citations,
            min_support=min(support) if support else None,
            empty=not support,
        )

    def _unsupported_facts(
        self,
        claims: Sequence[str],
        pool: _Pool,
        sims: Vectors,
        passages: Sequence[str],
        context: Sequence[str],
    ) -> list[str]:
        """Facts of each statement missing from the sources. A number, a date or a name must be in
        one of the passages closest to its statement (or the message), as written: a changed amount
        or a swapped name that happens to appear elsewhere in the sources is still caught."""
        found: list[str] = []
        for i, claim in enumerate(claims):
            near = [int(k) for k in np.argsort(-sims[i], kind="stable")[:NEAR_PASSAGES]] if passages else []
            local = _Pool.of([passages[k] for k in near] + list(context), self.product_names)
            for token in fact_tokens(claim, self.product_names):
                if not (local if _LOCAL.search(token) else pool).has(token):
                    found.append(token)
            found += [n for n, before in named(claim) if not local.names(n, before)]
            found += [
                w
                for w in re.findall(r"[A-Za-z]+", claim)
                if w.lower() in _COUNTED and NUMBER_WORDS[w.lower()] not in local.numbers and w not in found
            ]
            known = quantities(local.text)
            found += [  # the number is there (else it is reported above) but with another unit
                shown
                for key, shown in quantities(claim).items()
                if key not in known and key.split()[0] in local.numbers
            ]
        return list(dict.fromkeys(found))


_CITATIONS = re.compile(r"(?:\s*\[[A-Za-z0-9][\w.:#/-]*\])+")
_LEAD = re.compile(r"^[\s,;:–—-]*(?:(?:and|but|so|while|then|also)\b[\s,]*)?", re.IGNORECASE)


def _claims(draft: str) -> list[tuple[str, list[str]]]:
    """The draft's statements to check, each with the ids it cites: its sentences (no greeting or
    sign-off lines), a sentence cut after each group of citations ("A [x], and B [y]." is two
    statements, each checked against its own source)."""
    lines = [ln for ln in draft.strip().splitlines() if ln.strip()]
    if lines and GREETING_LINE.match(_PLACEHOLDERS.sub("x", CITATION.sub("", lines[0]))):
        lines = lines[1:]
    while lines and SIGNOFF_LINE.match(CITATION.sub("", lines[-1])):
        lines = lines[:-1]
    claims: list[tuple[str, list[str]]] = []
    for part in sentences("\n".join(lines)):
        pos = 0
        pieces: list[tuple[str, list[str]]] = []
        for group in _CITATIONS.finditer(part):
            pieces.append((part[pos : group.start()], CITATION.findall(group.group(0))))
            pos = group.end()
        pieces.append((part[pos:], []))
        for text, cited in pieces:
            text = _LEAD.sub("", text).strip()
            if re.search(r"\w", text):
                claims.append((text, cited))
            elif cited and claims:  # "... payouts. [kb-1]": the marker belongs to the statement before
                claims[-1][1].extend(cited)
    return claims


def _passages(sources: Sequence[tuple[str, str]]) -> tuple[list[str], list[str]]:
    """Each source's sentences and pairs of adjacent sentences, with their source ids."""
    passages: list[str] = []
    owners: list[str] = []
    for sid, text in sources:
        parts = [t for t, _ in _claims(text)]
        for k, part in enumerate(parts):
            passages.append(part)
            owners.append(sid)
            if k + 1 < len(parts):
                passages.append(f"{part} {parts[k + 1]}")
                owners.append(sid)
    return passages, owners


def _needs_support(sentence: str) -> bool:
    if fact_tokens(sentence):
        return True
    words = len(re.findall(r"\w+", sentence))
    if _COURTESY.match(sentence) and words <= MAX_COURTESY_WORDS:
        return False
    return words >= MIN_CONTENT_WORDS


def _negations(text: str) -> int:
    return facts(text)["<neg>"]


_NOT = r"\bnot\s+(?!only\b|just\b|merely\b|simply\b)"  # "not only X but also Y" denies nothing
_NOT_BUT = re.compile(
    _NOT + r"(?P<neg>[^.;:!?]{1,300}?),?\s+but\s+(?:rather\s+|instead\s+)?(?P<aff>[^.;:!?,]{1,300})", re.I
)
_COMMA_NOT = re.compile(
    r"(?P<aff>[^.;:!?,]{1,300}),\s*(?:and\s+|but\s+)?" + _NOT + r"(?P<neg>[^.;:!?,]{1,300})", re.I
)
_CONTRAST_WORD = re.compile(r"[a-z]{3,}")
_STOPWORD_LIST = (
    "the and for you your our are was were not but with from that this will can its has have had been "
    "being into onto than then they them their there here who what which when where how all any via "
    "per also just only"
)
_STOPWORDS = frozenset(_STOPWORD_LIST.split())


def _contrast(text: str) -> tuple[frozenset[str], frozenset[str]]:
    """The words a text denies and those it affirms in a contrast ("not X but Y", "Y, not X"): each
    side's content words, less those on both sides."""
    denied: set[str] = set()
    affirmed: set[str] = set()
    if "not" not in text.lower():
        return frozenset(), frozenset()
    for pattern in (_NOT_BUT, _COMMA_NOT):
        for m in pattern.finditer(text):
            denied.update(_CONTRAST_WORD.findall(m.group("neg").lower()))
            affirmed.update(_CONTRAST_WORD.findall(m.group("aff").lower()))
    denied -= _STOPWORDS
    affirmed -= _STOPWORDS
    return frozenset(denied - affirmed), frozenset(affirmed - denied)


def _contradicts(statement: str, passage: str) -> bool:
    """A statement says the opposite of its closest passage: the other parity of negations, or a
    contrast turned round ("not X but Y" as "not Y but X" or "X, not Y": one negation each, so the
    parity alone took them for the same statement)."""
    if _negations(statement) % 2 != _negations(passage) % 2:
        return True
    denied, affirmed = _contrast(statement)
    if not (denied or affirmed):
        return False
    source_denied, source_affirmed = _contrast(passage)
    return bool(denied & source_affirmed or affirmed & source_denied)
