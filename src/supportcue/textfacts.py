"""The facts of a text: the literal tokens a rewrite must keep, and the spans it must never touch.

One definition shared by the tone stage (which may restyle an answer but never change a fact) and the
LLM mode's grounding check (a generated reply may state only facts its sources state).

- `fact_tokens(text)`: the fact-like tokens in text order: placeholders, URLs, e-mail addresses (one
  written out, "jane dot doe at gmail dot com", as the privacy masker finds them, is the address as
  usually written, "jane.doe@gmail.com"),
  code-like tokens (`:risk_score:` gives `risk_score`, a backtick span its inside, snake_case, dotted
  and camelCase identifiers), comparison operators standing alone (`!=`, `>`), quoted UI labels
  (`"Can't access your device?"`, curly quotes too, up to 60 characters, as `"..."`), numbers,
  amounts, percentages, dates and ids (any token with a digit), month and weekday names, and the
  workspace's product names.
- `facts(text)`: the same as a multiset, plus `<neg>` once per negation (not, never, n't, ...);
  `facts_kept(before, after)` is true when `after` keeps every fact of `before`.
- `protected_spans(text)`: where a style rule must not edit at all: the spans of the fact-like
  tokens as written (with their colons, backticks and quotes), whole quoted passages, and punctuation
  runs (`...`, `→`, `!=`, `->`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Sequence
from functools import lru_cache

from supportcue.security.redaction import spelled_emails

__all__ = ["PLACEHOLDER", "fact_tokens", "facts", "facts_kept", "is_subsequence", "protected_spans"]

# `{customer_name}` (the answer library's style) and `{{Order Number}}` (imported history).
PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}|\{\s*([A-Za-z_][^{}]*?)\s*\}")

_URL = re.compile(r"(?:https?://|www\.)[^\s<>()\"'“”‘’«»]+", re.IGNORECASE)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# A quoted passage on one line; single quotes only where they cannot be apostrophes (an apostrophe
# inside one is followed by a letter).
_QUOTED = re.compile(
    r"\"[^\"\n]{1,200}\"|“[^”\n]{1,200}”|„[^“”\n]{1,200}[“”]|«[^»\n]{1,200}»"
    r"|‘(?:[^’\n]|’(?=\w)){1,200}’(?!\w)"  # ‘Can’t access your device?’
    r"|(?<![\w'’])'(?=\S)(?:[^'\n]|'(?=\w)){1,200}(?<=\S)'(?![\w'’])"
)
_LABEL_CHARS = 60
_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_CODE = re.compile(
    r"`[^`\n]+`"  # `inline code`
    rf"|:{_IDENT}(?:\.{_IDENT})*:"  # :risk_score:
    rf"|(?<![\w.])(?:{_IDENT}(?:\.{_IDENT})+)(?![\w])(?<![A-Za-z]\.[A-Za-z])"  # charge.refunded
    r"|(?<!\w)\w*_\w*"  # card_country, acct_1Nv0, pk_live_
    r"|(?<!\w)[a-z]+(?:[A-Z][a-z0-9]*)+(?!\w)"  # paymentIntent
)
_OPERATOR = re.compile(r"(?<!\S)(?:!=|==|<=|>=|<|>)(?!\S)")
_PUNCT_RUN = re.compile(r"\.{2,}|…|->|=>|<-|!=|==|<=|>=|&&|\|\||::|[→←↔⇒⇐]")
_DIGIT_TOKEN = re.compile(r"(?<!\S)\S*\d\S*")  # whole tokens: never retried inside a word
_MONTH = re.compile(
    r"\b(?:Jan(?:uary)?|Feb(?:ruary)?|March|April|May|June|July|Aug(?:ust)?|Sep(?:tember)?|Oct(?:ober)?|"
    r"Nov(?:ember)?|Dec(?:ember)?|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b"
)
_NEGATION = re.compile(r"\b(?:not|no|never|cannot|none|nothing|neither|nor|without)\b|n't\b", re.IGNORECASE)
_EDGE_PUNCT = ".,;:!?)(\"'[]“”‘’«»„"
_QUOTE_CHARS = "\"'“”‘’«»„"


def _strip_edges(text: str, start: int, end: int) -> tuple[int, int]:
    """The span without the sentence punctuation around it ("$15." -> "$15")."""
    while start < end and text[start] in _EDGE_PUNCT:
        start += 1
    while end > start and text[end - 1] in _EDGE_PUNCT:
        end -= 1
    return start, end


def _blank(text: str, start: int, end: int) -> str:
    """`text` with [start, end) turned into spaces, so later patterns skip it and offsets stay."""
    return text[:start] + " " * (end - start) + text[end:]


def _code_token(written: str) -> str:
    """The fact a code-like token states: `:risk_score:` and `risk_score` both state `risk_score`."""
    if written.startswith("`"):
        return written[1:-1].strip()
    if written.startswith(":") and written.endswith(":") and len(written) > 2:
        return written[1:-1]
    return written


def _label(written: str) -> str | None:
    inner = written[1:-1].strip()
    return f'"{inner}"' if inner and len(inner) <= _LABEL_CHARS else None


def _scan(text: str, product_names: Sequence[str] = ()) -> tuple[tuple[int, int, str], ...]:
    """(start, end, fact) for each fact-like token, in text order; [start, end) is the token as
    written. Cached: a rewrite's guard asks for the same text's facts again and again."""
    return _scan_cached(text, tuple(product_names))


@lru_cache(maxsize=1024)
def _scan_cached(text: str, product_names: tuple[str, ...]) -> tuple[tuple[int, int, str], ...]:
    return tuple(sorted(_find(text, product_names), key=lambda s: (s[0], -s[1])))


def _find(text: str, product_names: Sequence[str]) -> Iterator[tuple[int, int, str]]:
    for match in _QUOTED.finditer(text):  # the label, and (below) the facts inside it too
        label = _label(match.group(0))
        if label:
            yield match.start(), match.end(), label
    rest = text
    for start, end, address in spelled_emails(rest):  # "jane dot doe at gmail dot com" states the address
        yield start, end, address
        rest = _blank(rest, start, end)
    has_url = "//" in text or "www." in text.lower()
    for pattern in [PLACEHOLDER] * ("{" in text) + [_URL] * has_url + [_EMAIL] * ("@" in text):
        for match in pattern.finditer(rest):
            start, end = match.start(), match.end()
            while end > start and rest[end - 1] in _EDGE_PUNCT:  # "see https://x.example/a."
                end -= 1
            yield start, end, rest[start:end]
            rest = _blank(rest, start, end)
    for match in _CODE.finditer(rest):
        token = _code_token(match.group(0))
        if token:
            yield match.start(), match.end(), token
        rest = _blank(rest, match.start(), match.end())
    for match in _OPERATOR.finditer(rest):
        yield match.start(), match.end(), match.group(0)
    for match in _DIGIT_TOKEN.finditer(rest):
        start, end = _strip_edges(rest, match.start(), match.end())
        if start < end:
            yield start, end, rest[start:end]
    for match in _MONTH.finditer(rest):
        yield match.start(), match.end(), match.group(0)
    for name in product_names:
        if name:
            for match in re.finditer(rf"(?<!\w){re.escape(name)}(?!\w)", text):
                yield match.start(), match.end(), name


def fact_tokens(text: str, product_names: Sequence[str] = ()) -> list[str]:
    """The fact-like tokens of `text`, in the order they appear (negations are not among them)."""
    return [token for _, _, token in _scan(text, product_names)]


def facts(text: str, product_names: Sequence[str] = ()) -> Counter[str]:
    """The facts a rewrite must keep: a multiset of the fact-like tokens, plus `<neg>` per negation."""
    found = Counter(token for _, _, token in _scan(text, product_names))
    found["<neg>"] = len(_NEGATION.findall(text))
    return +found if found["<neg>"] == 0 else found


def facts_kept(before: str, after: str, product_names: Sequence[str] = (), negations: bool = True) -> bool:
    """True when `after` keeps every fact of `before` (and, with `negations`, as many negations)."""
    old, new = facts(before, product_names), facts(after, product_names)
    if not negations:
        return not (old - new) or set(old - new) == {"<neg>"}
    return not (old - new) and old["<neg>"] == new["<neg>"]


def is_subsequence(needles: Sequence[str], haystack: Sequence[str]) -> bool:
    """True when every item of `needles` is in `haystack`, in the same order."""
    items = iter(haystack)
    return all(any(item == needle for item in items) for needle in needles)


def protected_spans(text: str) -> list[tuple[int, int]]:
    """Sorted, non-overlapping [start, end) spans no style rule may edit (see the module docstring)."""
    spans = [(start, end) for start, end, _ in _scan(text)]
    spans += [m.span() for m in _QUOTED.finditer(text)]
    spans += [m.span() for m in _PUNCT_RUN.finditer(text)]
    merged: list[tuple[int, int]] = []
    for start, end in sorted(s for s in spans if s[0] < s[1]):
        if merged and start <= merged[-1][1]:  # overlapping or touching: one span
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged
