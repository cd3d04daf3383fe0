"""Answer placeholders: `{customer_name}` (the library's style) and `{{Order Number}}` (imported history).

A placeholder's *key* is its name lowercased with runs of non-letters turned into `_`, so
`{{Order Number}}`, `{order_number}` and `{Order-Number}` all read the case field `order_number`.
Filling never guesses: a placeholder with no value is reported as missing, so the response stage can
abstain rather than show `{order_id}` to an agent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from supportcue.textfacts import PLACEHOLDER


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
