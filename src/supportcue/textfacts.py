"""The facts of a text: the literal tokens a rewrite must keep (numbers, amounts, dates, ids, URLs, ...).

One definition shared by the tone stage (which may restyle an answer but never change a fact) and the
LLM mode's grounding check (a generated reply may state only facts its sources state). `facts` is a
multiset of tokens plus `<neg>` once per negation; `facts_kept` compares two texts by it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

__all__ = ["PLACEHOLDER", "facts", "facts_kept"]

# `{customer_name}` (the answer library's style) and `{{Order Number}}` (imported history).
PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}|\{\s*([A-Za-z_][^{}]*?)\s*\}")

_URL = re.compile(r"(?:https?://|www\.)[^\s<>()\"']+", re.IGNORECASE)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_DIGIT_TOKEN = re.compile(r"\S*\d\S*")
_MONTH = re.compile(
    r"\b(?:Jan(?:uary)?|Feb(?:ruary)?|March|April|May|June|July|Aug(?:ust)?|Sep(?:tember)?|Oct(?:ober)?|"
    r"Nov(?:ember)?|Dec(?:ember)?|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b"
)
_NEGATION = re.compile(r"\b(?:not|no|never|cannot|none|nothing|neither|nor|without)\b|n't\b", re.IGNORECASE)
_EDGE_PUNCT = ".,;:!?)(\"'[]"


def facts(text: str, product_names: Sequence[str] = ()) -> Counter[str]:
    """The facts a rewrite must keep: a multiset of literal tokens, plus `<neg>` per negation."""
    found: Counter[str] = Counter()
    rest = text
    for pattern in (PLACEHOLDER, _URL, _EMAIL):
        for match in pattern.finditer(rest):
            found[match.group(0).rstrip(_EDGE_PUNCT)] += 1
        rest = pattern.sub(" ", rest)
    for match in _DIGIT_TOKEN.finditer(rest):
        token = match.group(0).strip(_EDGE_PUNCT)
        if token:
            found[token] += 1
    found.update(m.group(0) for m in _MONTH.finditer(rest))
    for name in product_names:
        if name:
            found[name] += len(re.findall(rf"(?<!\w){re.escape(name)}(?!\w)", text))
    found["<neg>"] = len(_NEGATION.findall(text))
    return +found if found["<neg>"] == 0 else found


def facts_kept(before: str, after: str, product_names: Sequence[str] = (), negations: bool = True) -> bool:
    """True when `after` keeps every fact of `before` (and, with `negations`, as many negations)."""
    old, new = facts(before, product_names), facts(after, product_names)
    if not negations:
        return not (old - new) or set(old - new) == {"<neg>"}
    return not (old - new) and old["<neg>"] == new["<neg>"]
