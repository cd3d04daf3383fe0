"""The tone stage's style rules, each an edit that is local and says what it changed.

A rule sees the answer *masked*: every protected span (`textfacts.protected_spans`: code-like tokens,
URLs, numbers, amounts, ids, quoted labels, punctuation runs) is one private-use character, so no
rule can match inside one, and a question mark inside a quoted label is no sentence end. A rule edits
only what it matched: the spacing and capitals around an edit are fixed at that edit and nowhere else
("Block if :risk_score: > 80" keeps its spaces). Each rule returns the new text and the changes it
made, in words, which become the result's `flags`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from supportcue.monitoring.match import GREETING_LINE, SIGNATURE_LINE, SIGNOFF_LINE
from supportcue.textfacts import protected_spans

# Expanded form -> contraction. Left out on purpose: "let us" ("let us know"), "I/you/we have"
# ("you've 3 days" reads badly).
CONTRACTIONS: dict[str, str] = {
    "do not": "don't",
    "does not": "doesn't",
    "did not": "didn't",
    "is not": "isn't",
    "are not": "aren't",
    "was not": "wasn't",
    "were not": "weren't",
    "cannot": "can't",
    "can not": "can't",
    "will not": "won't",
    "would not": "wouldn't",
    "should not": "shouldn't",
    "could not": "couldn't",
    "have not": "haven't",
    "has not": "hasn't",
    "you will": "you'll",
    "we will": "we'll",
    "i will": "I'll",
    "i am": "I'm",
    "it is": "it's",
    "that is": "that's",
    "there is": "there's",
    "you are": "you're",
    "we are": "we're",
    "they are": "they're",
}
# Known rewrites of phrases a policy commonly avoids; other avoided phrases are dropped with their
# sentence when that loses no fact.
AVOID_REWRITES: dict[str, str] = {"as per": "under", "per our policy": "under our policy"}

_BOUNDARY = re.compile(r"[.!?]+[\"')\]]*(?=\s)|\n")
_NOT_AN_END = re.compile(
    r"(?:^|\s)(?:\d{1,3}|[a-z]|e\.g|i\.e|etc|vs|approx|mr|mrs|ms|dr|no)\.$", re.IGNORECASE
)
_ENDS_SENTENCE = re.compile(r"[.!?][\"')\]]*$")
# Supplementary Private Use Area-A: one character per protected span (never in a real answer).
_FIRST, _LAST = 0xF0000, 0xFFFFD
_MASK_CHAR = re.compile("[\U000f0000-\U000ffffd]")


def _identity(text: str) -> str:
    return text


@dataclass(frozen=True)
class Masked:
    """A text whose protected spans are each replaced by one private-use character; `restore` puts
    them back. `None` from `of` when the text cannot be masked (it holds such characters itself)."""

    text: str
    originals: tuple[str, ...]

    @classmethod
    def of(cls, text: str) -> Masked | None:
        if _MASK_CHAR.search(text):
            return None
        spans = protected_spans(text)
        if len(spans) > _LAST - _FIRST:
            return None
        parts: list[str] = []
        last = 0
        for i, (start, end) in enumerate(spans):
            parts += [text[last:start], chr(_FIRST + i)]
            last = end
        parts.append(text[last:])
        return cls("".join(parts), tuple(text[s:e] for s, e in spans))

    def restore(self, text: str) -> str:
        return _MASK_CHAR.sub(lambda m: self.originals[ord(m.group(0)) - _FIRST], text)


_SPACES = re.compile(r"[ \t]*")


def _goes_on(text: str, start: int, end: int, restore: Callable[[str], str]) -> bool:
    """True when the punctuation ending at `end` closes no sentence: an abbreviation, a list number,
    or a lowercase word after it."""
    after = _SPACES.match(text, end)
    following = text[after.end() : after.end() + 1] if after else ""
    return following.islower() or bool(_NOT_AN_END.search(restore(text[start:end])))


def sentences(text: str, restore: Callable[[str], str] = _identity) -> list[str]:
    """Split into sentences, each keeping its trailing whitespace, so ''.join() gives the text back.

    A lowercase word after the punctuation goes on with the sentence ("click Can't access your
    device? on the sign-in page"); `restore` unmasks a masked text for the abbreviation check."""
    out: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        end = match.end()
        if match.group(0) != "\n" and _goes_on(text, start, end, restore):
            continue
        while end < len(text) and text[end].isspace():
            end += 1
        if text[start:end].strip():
            out.append(text[start:end])
            start = end
    if start < len(text):
        if out and not text[start:].strip():
            out[-1] += text[start:]
        else:
            out.append(text[start:])
    return out


def cased(original: str, replacement: str) -> str:
    """`replacement` with the first letter's case of `original` (a capital moves with the phrase)."""
    if original[:1].isupper() and replacement:
        return replacement[0].upper() + replacement[1:]
    return replacement


def _at_sentence_start(before: str) -> bool:
    head = before.rstrip(" \t")
    if not head or head.endswith("\n"):
        return True
    return bool(_ENDS_SENTENCE.search(head)) and not _NOT_AN_END.search(head)


def splice(text: str, start: int, end: int, new: str) -> str:
    """`text` with [start, end) replaced by `new`, tidied at that edit only: a removed phrase takes
    one space (or the space before its punctuation) with it, and hands its capital to the next word."""
    before, removed, after = text[:start], text[start:end], text[end:]
    if not new:
        if not before or before.endswith((" ", "\t", "\n")):
            after = after.lstrip(" \t")
            if after[:1] == "," and _at_sentence_start(before):
                after = after[1:].lstrip(" \t")
        if after[:1] in (",", ".", ";", ":", "!", "?") and before.endswith((" ", "\t")):
            before = before.rstrip(" \t")
        if removed[:1].isupper() and after[:1].islower() and _at_sentence_start(before):
            after = after[0].upper() + after[1:]
    return before + new + after


def _phrase(phrase: str) -> re.Pattern[str]:
    return re.compile(rf"(?<!\w){re.escape(phrase)}(?!\w)", re.IGNORECASE)


def replace_phrase(text: str, phrase: str, value: str) -> tuple[str, list[str]]:
    """Every whole-word `phrase` (any case) becomes `value`; an empty `value` removes it."""
    matches = list(_phrase(phrase).finditer(text))
    for match in reversed(matches):
        text = splice(text, match.start(), match.end(), cased(match.group(0), value))
    if not matches:
        return text, []
    return text, [f"replaced: {phrase} -> {value}" if value else f"removed: {phrase}"]


# Only before a following word: "as it is." must stay.
CONTRACTIBLE = re.compile(
    r"(?<!\w)(?:"
    + "|".join(re.escape(k).replace(r"\ ", r"\s+") for k in sorted(CONTRACTIONS, key=len, reverse=True))
    + r")(?=[ \t]+\w)",
    re.IGNORECASE,
)
CONTRACTED = re.compile(r"\w(?:n't|'ll|'m|'re|'s)\b")


def contract(text: str) -> tuple[str, list[str]]:
    """Use contractions, keeping the case; an all-capitals "DO NOT" is emphasis and stays."""
    changes: list[str] = []

    def one(match: re.Match[str]) -> str:
        original = match.group(0)
        if original.isupper() and len(original) > 2:
            return original
        expanded = re.sub(r"\s+", " ", original.lower())
        change = f"contraction: {expanded} -> {CONTRACTIONS[expanded]}"
        if change not in changes:
            changes.append(change)
        return cased(original, CONTRACTIONS[expanded])

    return CONTRACTIBLE.sub(one, text), changes


def drop_phrase(sentence: str, phrase: str) -> tuple[str, str] | None:
    """The sentence without `phrase` when it is a detachable marker or has a known rewrite, and the
    change in words; None when neither."""
    p = re.escape(phrase)
    lead = re.compile(rf"^(\s*){p}\s*,\s*(\S)", re.IGNORECASE)
    if lead.search(sentence):
        new = lead.sub(lambda m: m.group(1) + m.group(2).upper(), sentence, count=1)
        return new, f"avoided phrase removed: {phrase}"
    inner = re.compile(rf",\s*{p}\s*,", re.IGNORECASE)
    if inner.search(sentence):
        return inner.sub(",", sentence, count=1), f"avoided phrase removed: {phrase}"
    rewrite = AVOID_REWRITES.get(phrase.lower())
    if rewrite is not None:
        new = _phrase(phrase).sub(lambda m: cased(m.group(0), rewrite), sentence)
        return new, f"avoided phrase rewritten: {phrase} -> {rewrite}"
    return None


def mentions(text: str, phrase: str) -> bool:
    return _phrase(phrase).search(text) is not None


def strip_salutations(text: str, greetings: Sequence[str] = ()) -> tuple[str, list[str]]:
    """Drop a greeting line (one like "Hi Ana," or one of `greetings`) and a sign-off (with its
    signature line) already in the answer."""
    lines = text.strip().splitlines()
    changes: list[str] = []
    if lines and (GREETING_LINE.match(lines[0]) or lines[0].strip() in {g.strip() for g in greetings if g}):
        lines = lines[1:]
        changes.append("greeting removed")
    if len(lines) >= 2 and SIGNOFF_LINE.match(lines[-2]) and SIGNATURE_LINE.match(lines[-1]):
        lines = lines[:-2]
        changes.append("sign-off removed")
    elif lines and SIGNOFF_LINE.match(lines[-1]):
        lines = lines[:-1]
        changes.append("sign-off removed")
    return "\n".join(lines).strip(), changes
