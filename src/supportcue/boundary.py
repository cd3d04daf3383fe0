"""What every value from outside (an HTTP request, an imported file) must be before it goes further.

- **Text** has no NUL byte (PostgreSQL cannot store one, SQLite silently keeps it) and no lone UTF-16
  surrogate (`"\\ud800"` is a valid JSON escape but not a character: it cannot be encoded as UTF-8,
  so the embedder, the database and the JSON answer would each fail on it, far from the request).
- **Times** are ISO 8601 text (never a number of seconds), aware, in UTC, and between `MIN_TIME` and
  `MAX_TIME`, so that converting a time zone or moving a reporting window can never overflow
  `datetime` (year 1 and year 9999 do).
- **Ids and titles** (`Id`, `Title`) have no bidi control or zero-width character either: two ids
  that look the same in the inbox must be the same id. Free text (a message) keeps them as typed.
- **Numbers** are finite (the JSON parser of the service refuses NaN and overflowing numbers already).

The checks are pydantic annotations, declared once: `Text` for a string field, `CLEAN` for any other
field (a dict or list, checked through; keys too), `Timestamp` for a time. A failed check is a
`ValueError` naming the place, which pydantic reports under the field's name (a 422 in the service,
a reject naming file, line and field in the importer).
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BeforeValidator, Field

T = TypeVar("T")

MIN_TIME = datetime(1900, 1, 1, tzinfo=UTC)
MAX_TIME = datetime(2200, 1, 1, tzinfo=UTC)
_BAD_CHAR = re.compile("[\x00\ud800-\udfff]")
TEXT_PATTERN = "^[^\\u0000\\uD800-\\uDFFF]*$"
"""The rule for `Text` as a JSON-schema pattern, so the API's documentation says it too."""

__all__ = [
    "CLEAN",
    "MAX_TIME",
    "MIN_TIME",
    "TEXT_PATTERN",
    "Id",
    "Text",
    "Timestamp",
    "Title",
    "check_id",
    "check_text",
    "check_time",
    "check_title",
    "hidden_characters",
    "is_digits",
    "same_secret",
]


def is_digits(text: str) -> bool:
    """Whether `text` is one or more ASCII digits, a number `int()` takes. `str.isdigit` alone also
    says yes to characters such as "²", which `int()` refuses."""
    return text.isascii() and text.isdigit()


def same_secret(known: str, given: str) -> bool:
    """Constant-time equality of a secret and what a caller sent for it, whatever characters the
    caller's string holds (`hmac.compare_digest` raises TypeError for a non-ASCII str)."""
    return hmac.compare_digest(known.encode("utf-8", "surrogatepass"), given.encode("utf-8", "surrogatepass"))


def _problem(text: str) -> str | None:
    found = _BAD_CHAR.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return f"contains a NUL byte (at character {found.start()}); remove it"
    return (
        f"contains a lone surrogate (at character {found.start()}): not a character; send the text as UTF-8"
    )


def check_text(value: T) -> T:
    """`value` unchanged when every string in it (dict keys too, at any depth) is storable text;
    else a `ValueError` saying what and where (`[0].text: contains a NUL byte ...`)."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            problem = _problem(item)
            if problem:
                raise ValueError(f"{where}: {problem}" if where else problem)
        elif isinstance(item, dict):
            for key, inner in item.items():
                path = f"{where}.{key}" if where else str(key)
                if isinstance(key, str) and (problem := _problem(key)):
                    raise ValueError(f"{where}: a key {problem}" if where else f"a key {problem}")
                stack.append((path, inner))
        elif isinstance(item, list | tuple):
            stack.extend((f"{where}[{i}]", inner) for i, inner in enumerate(item))
    return value


def check_time(value: datetime) -> datetime:
    """`value` in UTC (a naive time is taken as UTC); a `ValueError` when it is outside
    [MIN_TIME, MAX_TIME)."""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    try:
        utc = aware.astimezone(UTC)
    except OverflowError:
        utc = None
    if utc is None or not MIN_TIME <= utc < MAX_TIME:
        raise ValueError(
            f"{value.isoformat()} is out of range: give a time from {MIN_TIME:%Y-%m-%d} "
            f"to before {MAX_TIME:%Y-%m-%d} (UTC)"
        )
    return utc


CLEAN = BeforeValidator(check_text)
"""Checks every string inside a field (for dicts, lists and unions of them), before pydantic converts
it (whose own message for a lone surrogate would not say what is wrong)."""
Text = Annotated[str, CLEAN, Field(json_schema_extra={"pattern": TEXT_PATTERN})]
"""A string without NUL bytes or lone surrogates."""


_HIDDEN = {
    "\u200b": "zero-width space",
    "\u200c": "zero-width non-joiner",
    "\u200d": "zero-width joiner",
    "\ufeff": "zero-width no-break space",
    **dict.fromkeys("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069", "bidi control"),
}
_NAMES = {
    "\u202a": "left-to-right embedding",
    "\u202b": "right-to-left embedding",
    "\u202c": "pop directional formatting",
    "\u202d": "left-to-right override",
    "\u202e": "right-to-left override",
    "\u2066": "left-to-right isolate",
    "\u2067": "right-to-left isolate",
    "\u2068": "first strong isolate",
    "\u2069": "pop directional isolate",
}
_IN_IDS = re.compile("[" + "".join(_HIDDEN) + "]")
_IN_TITLES = re.compile("[\u200b\ufeff\u202a-\u202e\u2066-\u2069]")
"""A title keeps the joiners, which some scripts (Persian's ZWNJ) and emoji sequences need."""


def _visible(pattern: re.Pattern[str], what: str) -> Any:
    def check(value: T) -> T:
        found = pattern.search(value) if isinstance(value, str) else None
        if found is not None:
            char = found.group()
            raise ValueError(
                f"contains an invisible character (U+{ord(char):04X}, {_HIDDEN[char]}, at character "
                f"{found.start()}): {what} with one can look the same as another without it; remove it"
            )
        return value

    return check


check_id = _visible(_IN_IDS, "an id")
"""`value` unchanged unless it holds a bidi control (U+202A-U+202E, U+2066-U+2069) or a zero-width
character (U+200B-U+200D, U+FEFF): a `ValueError` naming it. Ids are shown and compared by eye (the
inbox, `cases list`): `c-1\\u200b` and `c-1` look the same, a bidi override shows `1-c` as `c-1`."""
check_title = _visible(_IN_TITLES, "a title")
"""As `check_id` for a name people tell answers apart by, but the joiners U+200C and U+200D are kept."""


def hidden_characters(text: str) -> list[tuple[str, str, str]]:
    """`text` cut at each bidi control, zero-width space or BOM it holds (the characters a title may
    not hold): (text before, the character's code point `U+202E`, its name) for each, then
    (the rest, "", ""). Free text keeps them as typed; a page shows them marked (`views.marked`)."""
    parts, start = [], 0
    for found in _IN_TITLES.finditer(text):
        char = found.group()
        parts.append((text[start : found.start()], f"U+{ord(char):04X}", _NAMES.get(char, _HIDDEN[char])))
        start = found.end()
    parts.append((text[start:], "", ""))
    return parts


Id = Annotated[str, CLEAN, AfterValidator(check_id), Field(json_schema_extra={"pattern": TEXT_PATTERN})]
"""`Text` for an id (a case's, an answer's, a topic): no bidi control or zero-width character."""
Title = Annotated[str, CLEAN, AfterValidator(check_title), Field(json_schema_extra={"pattern": TEXT_PATTERN})]
"""`Text` for an answer's title: no bidi control, zero-width space or BOM."""


def lf_lines(value: Any) -> Any:
    """Line breaks as "\n": a browser sends a textarea's lines with "\r\n" (the HTML form encoding),
    and a file written on Windows has them too; kept so, the same text read as a change (a new answer
    version at each "Save and approve" of an untouched form) and went out with "\r" in it."""
    return value.replace("\r\n", "\n").replace("\r", "\n") if isinstance(value, str) else value


Lines = Annotated[str, BeforeValidator(lf_lines), CLEAN, Field(json_schema_extra={"pattern": TEXT_PATTERN})]
"""Text of several lines (an answer's body, a corrected reply): as `Text`, its line breaks "\n" before
its length is checked."""


def _written_time(value: Any) -> Any:
    """A time from outside is ISO 8601 text (its JSON-schema `format: date-time`), never a number: 0 or
    1760000000 would otherwise be read as seconds since 1970 without a word."""
    if isinstance(value, int | float):
        raise ValueError("give the time as ISO 8601 text, e.g. 2026-10-01T09:00:00Z")
    return value


Timestamp = Annotated[datetime, BeforeValidator(_written_time), AfterValidator(check_time)]
"""An aware UTC datetime within [MIN_TIME, MAX_TIME), given as ISO 8601 text."""


def error_words(err: Mapping[str, Any]) -> str:
    """A pydantic error's message in the words a person reads: text that is empty once its blanks
    are stripped is "must not be blank" (pydantic says "Value should have at least 1 item after
    validation, not 0", its words for a list, when a text field's validator runs first)."""
    blank = err.get("type") in ("too_short", "string_too_short") and isinstance(err.get("input"), str)
    if blank and (err.get("ctx") or {}).get("min_length") == 1:
        return "must not be blank"
    return str(err.get("msg", "invalid"))
