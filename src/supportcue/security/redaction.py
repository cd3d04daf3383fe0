"""Personal data out of logs, error messages and rejects files: `redact(text)`.

What is replaced, with a typed placeholder, in this order (so one value is never counted twice):

- `[email]`: `local@domain.tld`, in any script (`иван@почта.рф`), also written `local(at)domain(dot)tld`
  or `local [at] domain [dot] tld`, or spelled out: `jane dot doe at gmail dot com`, `jane.doe at
  gmail.com`, `jane@gmail dot com` (a spelled address needs a domain's tail, a dot and a top-level
  domain, and a spelled dot or a dotted name before "at": "meet at the cafe dot" and "bought it at
  amazon.com" stay; "bought it at amazon dot com" is taken for one, the safe side); not the user and
  host of a PostgreSQL URL (`postgresql://ops@db.example.com`, which an error naming the database
  must show).
- `[iban]`: a country code, two check digits and 11-30 letters or digits, in capitals or not
  (spaces allowed between groups of four), kept only when its ISO 13616 mod-97 checksum is 1.
- `[card]`: 13-19 digits, single spaces or dashes allowed between them, kept only when the Luhn
  checksum holds (in a longer run of digit groups, the longest Luhn-valid window of groups of
  four). Luhn passes one random number in ten: such a number is redacted too (the safe side).
- `[phone]`: 9-15 digits (E.164's maximum) with spaces, dots, dashes or parentheses between them,
  written as a phone number is: international (`+` or `00`), with a national trunk `0`, in
  parentheses, North American `555-123-4567` (or `555 123 4567`, `1-800-555-0199`), or Spanish
  and Portuguese mobiles `612 345 678`. Plain digit runs (order ids, amounts) and dates are left
  alone: logs need the ids.
- `[id]`: a national id number (a US social security number, a Spanish DNI or NIE, a UK National
  Insurance number); `[address]`: a street with its number, or a postcode (`security/personal.py`).

`replace_personal(text, label)` finds the same values and lets `label(kind, value)` say what replaces
each (the LLM mode's numbered, restorable placeholders: `llm/privacy.py`).

`redact` also replaces what the suggestion masking (`pipeline.masked_message`) replaces beyond these:

- `[name]`: a name the customer gives in the text ("my name is Ana Silva", "Thanks,\nAna"), and,
  within a `personal_scope` (one per HTTP request, per batch of suggestions), the customer's name
  the request carries (`remember_personal`), whole or in part, with or without its accents;
- `[field]`: the case's field values the request carries that can identify someone: those with a
  digit or a space (an order id, an account number, an address), of 4 characters or more, but not
  a date, a time or a version (`2026-10-01`, `3.11.2`), nor a single word (a plan, a country).

Request ids, versions, dates, times and a PostgreSQL URL's user and host stay: logs need them.

`hide_paths(text)` replaces absolute file paths by their last part (`…/v1.joblib`), for messages that
reach people other than the server's operator. `install_log_redaction()` applies `redact` to every
log record of the process.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from supportcue.security.personal import ADDRESS, NATIONAL_ID, given_names, name_variants

EMAIL = "[email]"
CARD = "[card]"
PHONE = "[phone]"
IBAN = "[iban]"
KINDS = ("email", "iban", "card", "phone", "id", "address")
"""The kinds of personal data found, in the order they are looked for."""

Label = Callable[[str, str], str]
"""`label(kind, value)`: what replaces a value of a kind (`redact` uses `[kind]`)."""

# letters of any script (internationalised addresses: jean@exämple.fr, иван@почта.рф)
_LABEL = r"[^\W_]+(?:-+[^\W_]+)*"
_AT = r"(?:@|[ \t]*[(\[{][ \t]*at[ \t]*[)\]}][ \t]*)"
_DOT = r"(?:\.|[ \t]*[(\[{][ \t]*dot[ \t]*[)\]}][ \t]*)"
# not the user and host of a database URL (`postgresql://supportcue@db.example.com/support`: an error
# naming the database must say which host it tried); any other URL's are redacted (a customer's
# `ftp://ana@example.com` may be her address)
_NOT_DATABASE_URL = "".join(
    f"(?<!{re.escape(scheme)}://)" for scheme in ("postgresql", "postgres", "postgresql+psycopg")
)
# also written to dodge spam bots: ana(at)example(dot)com, ana [at] example [dot] com
_EMAIL = re.compile(
    rf"(?<![\w.%+-]){_NOT_DATABASE_URL}[\w.%+-]+{_AT}{_LABEL}(?:{_DOT}{_LABEL})*{_DOT}[^\W\d_]{{2,}}\b",
    re.IGNORECASE,
)
# spelled out: jane dot doe at gmail dot com, jane.doe at gmail.com, jane@gmail dot com, jane dot doe
# (at) gmail (dot) com. A joiner is exactly " dot ", " at ", "(dot)", "[at]" (a space or tab either
# side, or none inside the brackets), so that the start of the pattern can refuse, with fixed-width
# lookbehinds, a word that follows a joiner: the pattern is tried from a chain's first word only, and
# a chain of 40,000 words is read once, not once from each of its words (quadratic)
_WORD_DOT = r"[ \t]dot[ \t]"
_BRACKET_DOT = r"[ \t]?[(\[{]dot[)\]}][ \t]?"
_BRACKET_AT = r"[ \t]?[(\[{]at[)\]}][ \t]?"
_ANY_DOT = rf"(?:\.|{_WORD_DOT}|{_BRACKET_DOT})"
_TLD = (
    r"(?:[^\W\d_]{2}|com|net|org|edu|gov|mil|int|info|biz|name|pro|mobi|app|dev|tech|online|shop"
    r"|store|site|xyz|club|email|mail|cloud|live|blog|page|digital|agency|group|media|news)"
)
"""A top-level domain after a spelled dot: two letters (a country's), or a common generic one (a word
such as "thirty" after " dot " is no domain: "at ten dot thirty")."""
_SPELLED_EMAIL = re.compile(
    r"(?<![\w.%+-])(?<![ \t]dot[ \t])(?<![(\[{]dot[)\]}])(?<![(\[{]dot[)\]}][ \t])"
    rf"(?P<local>[\w%+-]+(?:{_ANY_DOT}[\w%+-]+)*)"
    rf"(?P<at>@|[ \t]at[ \t]|{_BRACKET_AT})"
    rf"(?P<domain>{_LABEL}(?:{_ANY_DOT}{_LABEL})*)"
    rf"(?P<dot>{_ANY_DOT})(?P<tld>{_TLD})(?![\w-])",
    re.IGNORECASE,
)
_SPELLED_JOINER = re.compile(r"[ \t](?:at|dot)[ \t]|[(\[{](?:at|dot)[)\]}]", re.IGNORECASE)
"""Whether a text may hold a spelled-out address at all (most log lines do not: one quick pass)."""
_SPELLED_DOT = re.compile(rf"{_WORD_DOT}|{_BRACKET_DOT}", re.IGNORECASE)
# in capitals or not, grouped or not: people type "de89370400440532013000" too
_IBAN = re.compile(
    r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]{4}){2,7}(?: ?[A-Za-z0-9]{1,4})?(?![A-Za-z0-9])"
)
_DIGIT_RUN = re.compile(r"(?<![\w])\d+(?:[ -]\d+)*(?![\w])")
_PHONE = re.compile(
    r"(?<![\w+])(?:"
    r"\+\d[\d .()-]{6,}\d"  # international, +
    r"|\(\d{2,5}\)[ .-]?\d[\d .-]{4,}\d"  # (020) 7946 0958
    r"|(?<!\d[ .-])(?:"  # a number starting with a digit: its start, not its middle
    r"00\d[\d .()-]{6,}\d"  # international, 00
    r"|0\d[\d .-]{6,}\d"  # national, trunk prefix 0
    r"|(?:1([ .-]))?\d{3}([ .-])\d{3}\2\d{4}"  # 555-123-4567, 555 123 4567, 1-800-555-0199
    r"|[6-9]\d{2}([ .-])\d{3}\3\d{3}"  # Spanish and Portuguese mobiles: 612 345 678
    r"))(?![\w])(?![ .-]\d)"
)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_PATH = re.compile(r"(?<![\w.:/])(?:/|[A-Za-z]:\\)(?:[^\s/\\'\"]+[/\\])+([^\s/\\'\"]+)")


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum of a digit string (every card number satisfies it)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def iban_valid(candidate: str) -> bool:
    """ISO 13616: move the first four characters to the end, letters to 10..35; mod 97 must be 1."""
    compact = candidate.replace(" ", "").upper()
    if not 15 <= len(compact) <= 34 or not compact.isalnum():
        return False
    rearranged = compact[4:] + compact[:4]
    number = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(number) % 97 == 1


def _iban(match: re.Match[str], label: Label) -> str:
    text = match.group(0)
    parts = text.split(" ")
    # a trailing short group may be a following word ("... 00 OK"): try without it too
    for end in range(len(parts), 0, -1):
        head = " ".join(parts[:end])
        if iban_valid(head):
            return label("iban", head) + text[len(head) :]
    return text


def _card(match: re.Match[str], label: Label) -> str:
    text = match.group(0)
    digits = re.sub(r"\D", "", text)
    if 13 <= len(digits) <= 19 and luhn_valid(digits):
        return label("card", text)
    if len(digits) < 13:
        return text
    # a card number among other numbers: the longest Luhn-valid window of 4-digit groups
    groups = re.split(r"([ -])", text)  # numbers at even indexes, separators at odd ones
    numbers = groups[::2]
    best: tuple[int, int] | None = None
    for i in range(len(numbers)):
        window = ""
        for j in range(i + 1, len(numbers) + 1):
            if j - i > 1 and len(numbers[j - 2]) != 4:
                break  # only the last group of a card may be shorter than four digits
            window += numbers[j - 1]
            if len(window) > 19:
                break
            if len(window) >= 13 and luhn_valid(window) and (best is None or j - i > best[1] - best[0]):
                best = (i, j)
    if best is None:
        return text
    i, j = best
    card = "".join(groups[2 * i : 2 * j - 1])
    return "".join(groups[: 2 * i]) + label("card", card) + "".join(groups[2 * j - 1 :])


def _phone(match: re.Match[str], label: Label) -> str:
    text = match.group(0)
    digits = re.sub(r"\D", "", text)
    if not 9 <= len(digits) <= 15 or _ISO_DATE.fullmatch(text.strip()):
        return text
    return label("phone", text)


def _is_spelled_email(match: re.Match[str]) -> bool:
    """Whether a match of `_SPELLED_EMAIL` is an address written out: a spelled or bracketed dot in
    its domain ("jane at gmail dot com"), a bracketed at ("jane(at)example.com"), or a spelled at after
    a name with a dot in it ("jane.doe at gmail.com"); not a sentence's "at" before a site ("bought it
    at amazon.com"), nor an address written as usual (left to `_EMAIL`, which knows a database URL's
    user and host)."""
    local, at, domain, dot = match.group("local", "at", "domain", "dot")
    spelled_dot = dot != "." or _SPELLED_DOT.search(domain) is not None
    word_at = at != "@" and "[" not in at and "(" not in at and "{" not in at
    return bool(
        spelled_dot
        or (at != "@" and not word_at)
        or (word_at and ("." in local or _SPELLED_DOT.search(local)))
    )


def _spelled_email(match: re.Match[str], label: Label) -> str:
    return label("email", match.group(0)) if _is_spelled_email(match) else match.group(0)


_ANY_DOT_PATTERN = re.compile(_ANY_DOT, re.IGNORECASE)


def spelled_emails(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, address) of each address written out in `text`, as `redact` finds them ("jane dot
    doe at gmail dot com", "jane(at)example(dot)com"), the address as usually written
    ("jane.doe@gmail.com"): the grounding check's facts compare the two forms as one."""
    if not _SPELLED_JOINER.search(text):
        return
    for match in _SPELLED_EMAIL.finditer(text):
        if _is_spelled_email(match):
            local, domain, tld = (
                _ANY_DOT_PATTERN.sub(".", part) for part in match.group("local", "domain", "tld")
            )
            yield match.start(), match.end(), f"{local}@{domain}.{tld}"


def _typed(kind: str, value: str) -> str:
    return f"[{kind}]"


def replace_personal(text: str, label: Label) -> str:
    """`text` with each email, IBAN, card number, phone number, national id and postal address
    replaced by `label(kind, value)`."""
    if not text:
        return text
    if _SPELLED_JOINER.search(text):
        text = _SPELLED_EMAIL.sub(lambda m: _spelled_email(m, label), text)
    text = _EMAIL.sub(lambda m: label("email", m.group(0)), text)
    text = _IBAN.sub(lambda m: _iban(m, label), text)
    text = _DIGIT_RUN.sub(lambda m: _card(m, label), text)
    text = _PHONE.sub(lambda m: _phone(m, label), text)
    text = NATIONAL_ID.sub(lambda m: label("id", m.group(0)), text)
    return ADDRESS.sub(lambda m: label("address", m.group(0)), text)


def holds_personal(text: str) -> bool:
    """Whether `text` holds what `replace_personal` replaces (an email, IBAN, card number, phone
    number, national id or postal address)."""
    found: list[str] = []

    def note(kind: str, value: str) -> str:
        found.append(kind)
        return value

    replace_personal(text, note)
    return bool(found)


MAX_KNOWN = 10_000
"""The most names' spellings, and the most field values, a `personal_scope` keeps (the latest): a
command such as `supportcue batch` runs a whole file of cases in one scope, and a record is checked
against every value kept."""


class _Known:
    """The personal values one request (or one batch of them) carries, for its log records."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._names: dict[str, None] = {}  # ordered sets: the oldest go first past MAX_KNOWN
        self._values: dict[str, None] = {}
        self._sorted: tuple[list[str], list[str]] | None = None

    def add(self, customer_name: str | None, values: Iterable[object]) -> None:
        # a part in capitals is left out: a customer called Post would blank "POST /v1/suggest failed"
        variants = name_variants(customer_name) if customer_name else set()
        names = [v for v in variants if " " in v or not v.isupper()]
        kept = [v for v in (" ".join(str(x).split()) for x in values if x is not None) if _identifying(v)]
        if not names and not kept:
            return
        with self._lock:
            for known, new in ((self._names, names), (self._values, kept)):
                for v in new:
                    known.pop(v, None)
                    known[v] = None
                while len(known) > MAX_KNOWN:
                    del known[next(iter(known))]
            self._sorted = None

    def snapshot(self) -> tuple[list[str], list[str]]:
        with self._lock:
            if self._sorted is None:
                self._sorted = (
                    sorted(self._names, key=len, reverse=True),
                    sorted(self._values, key=len, reverse=True),
                )
            return self._sorted


_HARMLESS = re.compile(
    r"v?\d+(?:\.\d+)+"  # a version, an amount
    r"|\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"  # a date, a time
    r"|(?i:true|false|none|null|yes|no)"
)
_KNOWN: ContextVar[_Known | None] = ContextVar("supportcue_personal_values", default=None)


def _identifying(value: str) -> bool:
    """Whether a case's field value can identify someone (an order id, an address), so its log
    records must not show it; a plan, a country, a date or a version cannot."""
    return (
        len(value) >= 4 and any(c.isdigit() or c.isspace() for c in value) and not _HARMLESS.fullmatch(value)
    )


@contextmanager
def personal_scope() -> Iterator[None]:
    """Log records written inside (in this context, and the threads and tasks it starts) are also
    redacted of the values given to `remember_personal` inside it."""
    token = _KNOWN.set(_Known())
    try:
        yield
    finally:
        _KNOWN.reset(token)


def remember_personal(customer_name: str | None, values: Iterable[object] = ()) -> None:
    """Within a `personal_scope`: the customer's name and the case's field values of the request at
    hand, which `redact` replaces from now on (`[name]`, `[field]`); nothing outside a scope."""
    known = _KNOWN.get()
    if known is not None and (customer_name or values):
        known.add(customer_name, values)


def _replace_all(text: str, values: Iterable[str], placeholder: str) -> str:
    for value in values:
        if value in text:
            text = re.sub(rf"(?<![\w\[]){re.escape(value)}(?!\w)", placeholder, text)
    return text


def redact(text: str) -> str:
    """`text` with emails, IBANs, card numbers, phone numbers, national ids, postal addresses, the
    names a customer gives and (in a `personal_scope`) the request's customer name and identifying
    field values replaced by typed placeholders."""
    if not text:
        return text
    names: set[str] = set()
    for given in given_names(text):
        names |= name_variants(given)
    values: list[str] = []
    known = _KNOWN.get()
    if known is not None:
        more, values = known.snapshot()
        names.update(more)
    text = _replace_all(text, values, "[field]")
    text = replace_personal(text, _typed)
    return _replace_all(text, sorted(names, key=len, reverse=True), "[name]")


def hide_paths(text: str) -> str:
    """Absolute paths replaced by `…/` and their last part: the name says what, not where."""
    return _PATH.sub(lambda m: "…/" + m.group(1), text)


class RedactingFilter(logging.Filter):
    """Redacts a record's message, arguments and traceback text in place (and lets it through)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "redacted", False):
            return True
        try:
            message = record.getMessage()
        except Exception:  # arguments that do not fit the format: keep both, redacted
            message = f"{record.msg} {record.args!r}"
        record.msg = redact(message)
        record.args = None
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        record.redacted = True
        return True


_FILTER = RedactingFilter()


def install_log_redaction() -> None:
    """Redact every log record of the process from now on (idempotent).

    The filter runs in the record factory rather than on loggers or handlers: a logger's filters
    miss records propagated from its children, and handlers come and go (uvicorn configures its own
    at start, pytest adds some), so only the factory sees every record, SQLAlchemy's included.
    """
    previous = logging.getLogRecordFactory()
    if getattr(previous, "redacting", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        _FILTER.filter(record)
        return record

    factory.redacting = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
