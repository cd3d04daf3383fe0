"""A topic's consensus draft: one reply assembled from whole sentences of what agents sent on the topic.

When a team bootstraps or refreshes its answer library from history, the draft of a topic's
canonical answer is offered to a subject-matter expert for review. Copying one agent's reply
verbatim keeps that agent's wording, including sentences nobody else writes; the consensus draft
keeps the structure of the most typical reply and, sentence by sentence, the wording agents share:

1. **Segments.** Each reply is cut into list items (lines starting `1.`, `2)`, `-`, `*`, `•`) and
   sentences (the other lines, split after `.`, `!` or `?` before a capital, quote or
   placeholder). Segments are kept verbatim: placeholders (`{{Order Number}}`) and punctuation stay.
2. **Support.** Two segments are alike when both are list items or both sentences and the symmetric
   LCS ratio 2M / (|A| + |B|) of their normalised words (`monitoring.match.normalise`; M = longest
   common subsequence) is at least `cluster_threshold`. A segment's support is the share of the
   topic's replies holding a segment alike to it; below `min_support` a segment never enters the
   draft (one-off sentences stay out).
3. **Skeleton.** The `skeletons` replies closest on average to all of the topic's replies (the
   medoid first, by the same ratio over whole replies) are tried as skeletons. Each position of a
   skeleton holds its own segment, one of its `alternatives` most supported alike segments (a
   paraphrase other agents share more), or nothing. A hill climb takes, one position at a time, the
   change that most raises the draft's mean symmetric LCS ratio to the topic's replies (at most
   `MAX_TARGETS` of them), until none does; the best skeleton's draft wins. So the draft is the
   medoid reply generalised from "one of the replies" to "one reply's outline, each sentence in the
   wording closest to what agents write". The order, the list structure and the lead-in of each
   list are the skeleton's. The symmetric ratio counts missing and extra words alike (the match's
   own F-beta weights kept words 4:1 and would favour short drafts).
4. **Case values.** A kept segment is one reply's sentence, and may carry that case's own order
   number, amount or date ("The refund of €49.90 for order 88213 was sent on 2026-10-03."). Each
   figure of it (a date, an amount, a token with a digit) is compared with the figure in the same
   slot (after the same word, or before the same word) of its alike segments, one vote per reply:
   a value more than half of the voting replies share (two at least) is what agents write ("5 to
   10 business days") and is kept, or put in; otherwise it is the case's own and becomes a
   placeholder in the library's style: `{date}`, `{amount}`, `{order_id}` (after "order",
   "invoice", "ticket", ...: that word's `_id`), else `{number}`. A figure no other reply has in
   that slot stays (nothing says it varies).
5. **Text.** List items are renumbered (`1.`, `2.`, ...) or keep their bullet; the sentences
   between lists form one paragraph; blocks are separated by a blank line.

The draft is a proposal for review, not an approved answer: a sentence may still carry a detail of
the case it was written for that is no figure (a country), which the reviewer replaces.

Measured on Bitext (BENCHMARKS.md, "ROUGE-L, an independent score"): on dev splits (seeds 10 / 11)
the draft of each test row's own intent scores ROUGE-L 1.20x the nearest-question baseline, where
the best single reply per intent (the ROUGE medoid) scores 1.13x; as the first answer of each
topic in `eval suggest`'s library it lifts the product from 1.06x / 1.05x to 1.17x / 1.15x. The
constants were chosen on those dev splits; the figure hardly moves with them. Cost: about a second
a topic of ~120 replies (capped at `MAX_REPLIES` replies' segments and `MAX_TARGETS` replies scored).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from rapidfuzz.distance import LCSseq
from rapidfuzz.process import cdist

from supportcue.monitoring.match import normalise

CLUSTER_THRESHOLD = 0.5
MIN_SUPPORT = 0.05
ALTERNATIVES = 20
SKELETONS = 5
MAX_REPLIES = 150
"""Segments come from at most this many of the topic's replies (a seeded sample beyond)."""
MAX_TARGETS = 400
"""The draft is scored against at most this many of the topic's replies (a seeded sample beyond)."""

_ITEM = re.compile(r"^\s*(?:(\d+)[.)]|([-*•]))\s+")
_MONTH = r"\b(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_FIGURE = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2}|\d{1,2}[./]\d{1,2}[./]\d{2,4}"
    rf"|{_MONTH}\s\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s\d{{4}})?(?!\d)"
    rf"|\b\d{{1,2}}(?:st|nd|rd|th)?\s(?:of\s)?{_MONTH}(?:\s\d{{4}})?(?!\d))"
    r"|(?P<amount>[$€£]\s?\d[\d,]*(?:\.\d+)?|\b\d[\d,]*(?:\.\d+)?\s?(?:€|£|\$|EUR|USD|GBP)(?!\w))"
    r"|(?P<id>(?<![\w#{])#?[A-Za-z]*\d(?:[\w-]*\w)?)"
    r"|(?P<word>[^\W\d_]+)"
)
"""The figures of a sentence (a date, an amount, any token with a digit), and its words, which say
where a figure stands."""
_ID_WORDS = frozenset(
    [
        "order",
        "invoice",
        "ticket",
        "case",
        "booking",
        "reservation",
        "tracking",
        "reference",
        "account",
        "contract",
        "customer",
        "payment",
        "refund",
        "transaction",
        "subscription",
        "charge",
        "payout",
        "dispute",
        "parcel",
        "shipment",
    ]
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z{\"'(“‘])")


@dataclass(frozen=True)
class Segment:
    """A sentence or list item of a reply; `bullet` is the item's bullet ("" for numbered items)."""

    text: str
    item: bool
    bullet: str
    position: float
    reply: int


def segments(reply: str, index: int = 0) -> list[Segment]:
    """The list items and sentences of a reply, in order, each with its relative position."""
    parts: list[tuple[str, bool, str]] = []
    for line in reply.splitlines():
        if not line.strip():
            continue
        marker = _ITEM.match(line)
        if marker:
            parts.append((line[marker.end() :].strip(), True, marker.group(2) or ""))
        else:
            parts.extend((s.strip(), False, "") for s in _SENTENCE_END.split(line.strip()) if s.strip())
    n = len(parts)
    return [Segment(text, item, bullet, (i + 0.5) / n, index) for i, (text, item, bullet) in enumerate(parts)]


@dataclass(frozen=True)
class _Figure:
    kind: str
    value: str
    start: int
    end: int
    before: tuple[str, int] | None
    """The word before it, and how many figures stand between them ("at 10:30": 0 for 10, 1 for 30)."""
    after: tuple[str, int] | None
    name: str


def _figures(text: str) -> list[_Figure]:
    """The figures of `text`, each with the word before and after it and its placeholder's name."""
    tokens = list(_FIGURE.finditer(text))
    words = [i for i, t in enumerate(tokens) if t.lastgroup == "word"]
    found = []
    for i, m in enumerate(tokens):
        kind = m.lastgroup or "word"
        if kind == "word":
            continue
        prev = max((w for w in words if w < i), default=None)
        nxt = min((w for w in words if w > i), default=None)
        before = (tokens[prev].group().lower(), i - prev - 1) if prev is not None else None
        after = (tokens[nxt].group().lower(), nxt - i - 1) if nxt is not None else None
        name = kind
        if kind == "id":
            near = [t.group().lower() for t in tokens[max(0, i - 2) : i] if t.lastgroup == "word"]
            name = next((f"{w}_id" for w in reversed(near) if w in _ID_WORDS), "number")
        found.append(_Figure(kind, " ".join(m.group().split()), m.start(), m.end(), before, after, name))
    return found


def _slot(figure: _Figure, others: Sequence[_Figure]) -> str | None:
    """The value of `others` standing where `figure` stands in its sentence (as far after the same
    word, or as far before it), if any."""
    for o in others:
        if figure.before is not None and o.before == figure.before:
            return o.value
    for o in others:
        if figure.after is not None and o.after == figure.after:
            return o.value
    return None


def generalise(segment: Segment, alike: Sequence[Segment]) -> Segment:
    """`segment` with each figure that its alike segments (of other replies) do not share turned into
    the figure most of them write, or a placeholder (module docstring, step 4)."""
    figures = _figures(segment.text)
    if not figures:
        return segment
    per_reply: dict[int, list[_Figure]] = {}
    for other in alike:
        if other.reply != segment.reply:
            per_reply.setdefault(other.reply, []).extend(_figures(other.text))
    text = segment.text
    for figure in reversed(figures):  # from the end: the earlier positions stay valid
        votes = Counter([figure.value])
        for others in per_reply.values():
            value = _slot(figure, others)
            if value is not None:
                votes[value] += 1
        if sum(votes.values()) < 2:
            continue  # no other reply has a figure there
        value, count = votes.most_common(1)[0]
        shared = count >= 2 and count * 2 > sum(votes.values())
        new = value if shared else "{" + figure.name + "}"
        text = text[: figure.start] + new + text[figure.end :]
    return replace(segment, text=text) if text != segment.text else segment


def render(chosen: Sequence[Segment]) -> str:
    """Segments as a reply: sentence runs as paragraphs, item runs as a (renumbered) list."""
    blocks: list[list[str]] = []
    number = 0
    bullet = ""  # a list keeps its first item's style: numbered, or that bullet
    previous: bool | None = None
    for seg in chosen:
        if seg.item:
            number += 1
            if previous is not True:
                bullet = seg.bullet
                blocks.append([])
            blocks[-1].append(f"{bullet} {seg.text}" if bullet else f"{number}. {seg.text}")
        elif previous is False:
            blocks[-1][-1] += " " + seg.text
        else:
            blocks.append([seg.text])
        previous = seg.item
    return "\n\n".join("\n".join(block) for block in blocks)


def _ratios(a: Sequence[Sequence[str]], b: Sequence[Sequence[str]]) -> np.ndarray:
    """Symmetric LCS ratio 2M / (|A| + |B|) of every pair of word lists (0 when both are empty)."""
    lcs = cdist(a, b, scorer=LCSseq.similarity, workers=1).astype(np.float64)
    la = np.array([len(x) for x in a], dtype=np.float64)
    lb = np.array([len(x) for x in b], dtype=np.float64)
    return np.asarray(2.0 * lcs / np.maximum(1.0, la[:, None] + lb[None, :]))


def consensus_draft(
    replies: Sequence[str],
    *,
    cluster_threshold: float = CLUSTER_THRESHOLD,
    min_support: float = MIN_SUPPORT,
    alternatives: int = ALTERNATIVES,
    skeletons: int = SKELETONS,
    seed: int = 0,
) -> str:
    """The consensus draft of a topic's replies (module docstring); "" when they hold no text."""
    replies = [r for r in replies if r and r.strip()]
    if not replies:
        return ""
    rng = np.random.default_rng(seed)
    n = len(replies)
    pool = list(range(n)) if n <= MAX_REPLIES else sorted(rng.choice(n, MAX_REPLIES, replace=False).tolist())
    segs = [s for i in pool for s in segments(replies[i], i)]
    words = [normalise(s.text).split() for s in segs]
    keep = [i for i, w in enumerate(words) if w]  # a lone placeholder carries no words to compare
    segs, words = [segs[i] for i in keep], [words[i] for i in keep]
    if not segs:
        return replies[0].strip()
    items = np.array([s.item for s in segs])
    alike = (_ratios(words, words) >= cluster_threshold) & (items[:, None] == items[None, :])
    owner = np.array([s.reply for s in segs])
    support = np.array([len(set(owner[row].tolist())) for row in alike]) / len(pool)

    targets_at = range(n) if n <= MAX_TARGETS else rng.choice(n, MAX_TARGETS, replace=False).tolist()
    targets = [normalise(replies[i]).split() for i in targets_at]
    target_len = np.array([len(t) for t in targets], dtype=np.float64)

    def value(state: Sequence[int | None]) -> float:
        text = [w for s in state if s is not None for w in words[s]]
        if not text:
            return 0.0
        lcs = cdist([text], targets, scorer=LCSseq.similarity, workers=1)[0]
        return float(np.mean(2.0 * lcs / np.maximum(1.0, len(text) + target_len)))

    typical = _ratios([normalise(replies[i]).split() for i in pool], targets).mean(axis=1)
    best: tuple[float, list[int | None]] = (-1.0, [])
    for skeleton in [pool[j] for j in np.argsort(-typical, kind="stable")[: max(1, skeletons)]]:
        options: list[list[int]] = []
        for i in (i for i, s in enumerate(segs) if s.reply == skeleton):
            shared = [int(m) for m in np.flatnonzero(alike[i]) if support[m] >= min_support]
            ranked = sorted(shared, key=lambda m: (-support[m], m != i, m))
            options.append(
                ([i] if i in shared else []) + [m for m in ranked if m != i][: max(1, alternatives)]
            )
        state: list[int | None] = [opts[0] if opts else None for opts in options]
        score = value(state)
        while True:
            move: tuple[int, int | None] | None = None
            for k, opts in enumerate(options):
                for alt in [None, *opts]:
                    if (
                        alt != state[k]
                        and (trial := value([*state[:k], alt, *state[k + 1 :]])) > score + 1e-9
                    ):
                        score, move = trial, (k, alt)
            if move is None:
                break
            state[move[0]] = move[1]
        if score > best[0]:
            best = (score, state)
    chosen = [s for s in best[1] if s is not None]
    return render([generalise(segs[s], [segs[m] for m in np.flatnonzero(alike[s])]) for s in chosen])
