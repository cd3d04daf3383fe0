"""Answer placeholders: `{customer_name}` (the library's style) and `{{Order Number}}` (imported history).

A placeholder's *key* is its name lowercased with runs of non-letters turned into `_`, so
`{{Order Number}}`, `{order_number}` and `{Order-Number}` all read the case field `order_number`.
Filling never guesses: a placeholder with no value is reported as missing, so the response stage can
abstain rather than show `{order_id}` to an agent. The customer's name is the exception
(`fill_answer`): a greeting addresses the customer by first name, and without a name a greeting line
becomes the workspace's greeting without a name ("Hi there,") and the name is left out elsewhere, so
an unknown name never costs a suggestion.

Values come from the case (its fields, the customer's and the agent's names: `case_values`) and, for
what the case does not say, from the workspace's `[placeholders]` constants (a support phone number,
a help-centre URL).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from supportcue.textfacts import PLACEHOLDER

__all__ = [
    "CUSTOMER_NAME_KEYS",
    "PLACEHOLDER",
    "Filled",
    "case_values",
    "fill",
    "fill_answer",
    "find_placeholders",
    "has_placeholders",
    "placeholder_key",
]


def placeholder_key(name: str) -> str:
    """`Order Number` -> `order_number`."""
    return re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_")


def _key(match: re.Match[str]) -> str:
    return placeholder_key(match.group(1) if match.group(1) is not None else match.group(2))


def find_placeholders(text: str) -> list[str]:
    """Keys of the placeholders in `text`, in order of first appearance, without repeats."""
    keys = (
        placeholder_key(m.group(1) if m.group(1) is not None else m.group(2))
        for m in PLACEHOLDER.finditer(text)
    )
    return list(dict.fromkeys(k for k in keys if k))


def has_placeholders(text: str) -> bool:
    return PLACEHOLDER.search(text) is not None


@dataclass(frozen=True)
class Filled:
    """The text with every known placeholder replaced, and the keys that had no value."""

    text: str
    missing: tuple[str, ...]

    @property
    def complete(self) -> bool:
        return not self.missing


def text_fields(fields: Mapping[str, Any] | None) -> dict[str, str]:
    """A stored case's fields as text, a null value left out (it fills nothing, and is no "None"):
    as the console, `GET /v1/cases` and a suggestion for a stored case read them."""
    return {str(k): str(v) for k, v in (fields or {}).items() if v is not None}


def case_values(
    customer_name: str | None = None, agent_name: str | None = None, fields: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The values a case offers to placeholders, keyed like `placeholder_key`; blanks are left out."""
    values: dict[str, str] = {}
    for key, value in (fields or {}).items():
        if value is not None and str(value).strip():
            values[placeholder_key(key)] = str(value).strip()
    if customer_name and customer_name.strip():
        values.setdefault("customer_name", customer_name.strip())
        values.setdefault("first_name", customer_name.strip().split()[0])
    if agent_name and agent_name.strip():
        values.setdefault("agent_name", agent_name.strip())
    return values


# The placeholders that hold the customer's name; `first_name` is its first word.
CUSTOMER_NAME_KEYS = frozenset({"customer_name", "first_name", "customer_first_name"})
# What may stand before the name that opens an answer: "Hi", "Dear", "Good morning", or nothing.
_GREETING_WORDS = re.compile(
    r"[ \t]*(?:(?:hi|hello|hey|dear|greetings|good[ \t]+(?:morning|afternoon|evening|day))"
    r"(?:[ \t]+[^\W\d_]+)?[ \t]+)?",
    re.IGNORECASE,
)
_LINE_END = re.compile(r"[ \t]*[,!.:]?[ \t]*(?:\n|$)")


def _first_name(values: Mapping[str, str]) -> str | None:
    name = values.get("first_name") or values.get("customer_first_name") or values.get("customer_name")
    return name.split()[0] if name and name.split() else None


def _without_name(text: str, start: int, end: int) -> str:
    """`text` with the name placeholder at [start, end) left out, and the comma that went with it:
    "Thanks, {customer_name}!" -> "Thanks!", "{customer_name}, your" -> "Your", "Hi {x}, ..." -> "Hi, ..."."""
    before, after = text[:start], text[end:]
    head = before.rstrip(" \t")
    if not head or head.endswith("\n"):
        after = after.lstrip(" \t")
        after = after[1:].lstrip(" \t") if after.startswith(",") else after
        return head + after[:1].upper() + after[1:]
    if head.endswith(","):
        return head[:-1] + (after[1:] if after.startswith(",") else after)
    return head + after


def fill_answer(text: str, values: Mapping[str, str], nameless_greeting: str = "Hi there,") -> Filled:
    """`fill`, but the customer's name is never missing: a name opening the answer ("Hi
    {customer_name},") is the first name; without a name, a greeting line is `nameless_greeting` and
    the name is left out elsewhere (`missing` then lists only the other placeholders)."""
    opening = PLACEHOLDER.search(text)
    if opening and _key(opening) in CUSTOMER_NAME_KEYS:
        lead = _GREETING_WORDS.fullmatch(text, 0, opening.start())
        if lead is not None and "\n" not in text[: opening.start()]:
            first = _first_name(values)
            line_end = _LINE_END.match(text, opening.end())
            if first is not None:
                text = text[: opening.start()] + first + text[opening.end() :]
            elif line_end is not None:  # the line is a greeting and nothing else
                rest = text[line_end.end() :].lstrip("\n")
                text = f"{nameless_greeting.strip()}\n\n{rest}" if nameless_greeting.strip() else rest
    while True:  # each unknown name, from the last, so earlier offsets stay
        unknown = [
            m for m in PLACEHOLDER.finditer(text) if _key(m) in CUSTOMER_NAME_KEYS and _key(m) not in values
        ]
        if not unknown:
            break
        text = _without_name(text, unknown[-1].start(), unknown[-1].end())
    return fill(text, values)


def fill(text: str, values: Mapping[str, str]) -> Filled:
    """Replace each placeholder whose key is in `values`; keep (and report) the others."""
    missing: list[str] = []

    def replace(match: re.Match[str]) -> str:
        key = _key(match)
        if key in values:
            return values[key]
        if key not in missing:
            missing.append(key)
        return match.group(0)

    return Filled(PLACEHOLDER.sub(replace, text), tuple(missing))
