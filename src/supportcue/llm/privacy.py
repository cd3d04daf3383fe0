"""Personal data out of everything sent to an LLM, and back into its reply: `Masker`.

One `Masker` per request. `mask(text)` replaces, with typed numbered placeholders that the model can
copy (`[EMAIL_1]`, `[CARD_1]`, `[PHONE_1]`, `[IBAN_1]`, `[ORDER_1]`, `[NAME_1]`, `[ADDRESS_1]`,
`[ID_1]`):

- emails, IBANs (mod-97 checked), card numbers (Luhn checked), phone numbers, national ids and
  postal addresses, found by the same code that keeps them out of the logs
  (`security.redaction.replace_personal`, `security/personal.py`);
- national id numbers (`[ID_1]`: a US social security number, a Spanish DNI or NIE, a UK National
  Insurance number), which, like cards and IBANs, never go back into a reply;
- postal addresses: a street with its number (`221B Baker Street`, `12 rue de la Paix`, `Calle
  Mayor 5`, `Hauptstraße 12`) and postcodes (`NW1 6XE`, `CA 94043`, `10115 Berlin`);
- order-like ids: the case's own field values (`order_id` ...), `#1234`, letter-and-digit codes such
  as `A-10293` or `ord_8842XK` (also after a `#`: `#A10293`; or starting with digits, 8 characters
  or more: `1Z999AA10123456784`), bare runs of 6 or more digits, and
  runs of 4 or more named as an id (`order 88213`, `commande n° 4471`, `pedido 12345`,
  `Bestellnummer: 55120`);
- the customer's name, whole and each part of it (`Ana Silva`, `Ana`, `Silva`), as written,
  Title-cased or in capitals (so a customer called Will does not mask "you will"), with or without
  its accents (`José`, `Jose`); and so is a name
  the customer gives in a text ("my name is ...", "je m'appelle ...", "me llamo ...", "mein Name
  ist ...", or alone on the line after a sign-off such as "Thanks,"), for cases without a name.

The same value always gets the same placeholder, in every text of the request, so the sources, the
conversation and the message stay consistent. `unmask(reply)` puts the values back, except card
numbers, IBANs and national ids, which a suggested reply must never repeat (the stage refuses such
a draft), and reports placeholders the model made up. The mapping lives in the `Masker` only: it
is never logged, stored or sent.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from supportcue.security.personal import given_names, name_variants
from supportcue.security.redaction import replace_personal

NEVER_RESTORED = frozenset({"CARD", "IBAN", "ID"})
"""Kinds whose values never go back into a reply (a reply must not repeat them)."""

PLACEHOLDER = re.compile(r"\[(EMAIL|CARD|PHONE|IBAN|ORDER|NAME|ADDRESS|ID)_(\d+)\]")
_ORDER_LIKE = re.compile(
    r"(?<![\w$€£#/.\[-])(?:"
    r"#\d{3,}"  # #12345
    r"|#(?=[A-Za-z0-9_-]*[A-Za-z])(?=[A-Za-z0-9_-]*\d{3})[A-Za-z0-9][A-Za-z0-9_-]*"  # #A10293, #ORD-88213
    r"|(?=[A-Za-z0-9_-]*\d)(?=[A-Za-z0-9_-]*[A-Za-z])[A-Za-z][A-Za-z0-9]*[-_][A-Za-z0-9_-]*\d[A-Za-z0-9_-]*"
    r"|(?=[A-Z0-9]*\d{3})[A-Z]{1,4}\d[A-Z0-9]{3,}"  # AB12345, INV20260042
    r"|(?=(?:[A-Z]*\d){5})(?=\d*[A-Z])\d[A-Z0-9]{7,}"  # 1Z999AA10123456784, 2026ABC12345
    r"|\d{6,}"  # 884213 (amounts are written with separators or units)
    r")(?![\w%-]|[.,]\d)"
)

_ID_WORDS = (
    "order|invoice|ticket|case|booking|reservation|tracking|reference|ref|account|contract|customer"
    "|commande|facture|dossier|pedido|factura|reserva|bestellung|bestellnummer|rechnung"
    "|rechnungsnummer|kundennummer|auftrag|ordine|fattura|bestelling|factuur|encomenda|fatura"
)
_NAMED_ID = re.compile(
    rf"(?i)\b(?:{_ID_WORDS})\b"
    r"(?:[\s:#.-]*(?:(?:number|num|no|nr|nummer|numéro|número|numero|id|de|du)\b|n[°º]))*"
    r"[\s:#°º.-]*(\d{4,})(?![\w%]|[.,]\d)"
)
"""A number of 4 digits or more named as an id: "order 88213", "commande n° 4471", "Bestellnummer:
55120" (a bare run needs 6 digits to be taken for one)."""


@dataclass(frozen=True)
class Unmasked:
    """A reply with the values restored; placeholders withheld (cards, IBANs) or unknown."""

    text: str
    withheld: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()


@dataclass
class Masker:
    """Masks one request's texts consistently; `enabled=False` passes texts through unchanged."""

    customer_name: str | None = None
    ids: Iterable[str] = ()
    """Known personal values (the case's field values, e.g. an order id), masked as `ORDER`."""
    enabled: bool = True
    _placeholders: dict[tuple[str, str], str] = field(default_factory=dict, repr=False)
    _values: dict[str, str] = field(default_factory=dict, repr=False)

    seen: Iterable[str] = ()
    """The request's customer texts, read up front for a name the customer gives in them (masked
    in every text, also those masked before the one that gives it)."""

    def __post_init__(self) -> None:
        self.ids = tuple(v.strip() for v in self.ids if v and len(v.strip()) >= 3)
        self._names: list[str] = []
        self._learn(self.customer_name or "")
        for text in self.seen:
            self._given_names(text)

    def _learn(self, name: str) -> None:
        self._names = sorted(set(self._names) | name_variants(name), key=len, reverse=True)

    def _given_names(self, text: str) -> None:
        for name in given_names(text):
            self._learn(name)

    @property
    def mapping(self) -> Mapping[str, str]:
        """Placeholder -> value (a read-only view: the values never leave the process)."""
        return MappingProxyType(self._values)

    def _label(self, kind: str, value: str) -> str:
        kind = kind.upper()
        placeholder = self._placeholders.get((kind, value))
        if placeholder is None:
            n = 1 + sum(k == kind for k, _ in self._placeholders)
            placeholder = self._placeholders[kind, value] = f"[{kind}_{n}]"
            self._values[placeholder] = value
        return placeholder

    def mask(self, text: str) -> str:
        """`text` with personal data replaced by placeholders (recorded for `unmask`)."""
        if not self.enabled or not text:
            return text
        for value in sorted(self.ids, key=len, reverse=True):
            text = re.sub(
                rf"(?<!\w){re.escape(value)}(?!\w)", lambda m: self._label("ORDER", m.group(0)), text
            )
        self._given_names(text)
        text = replace_personal(text, self._label)  # national ids and addresses too
        text = _ORDER_LIKE.sub(lambda m: self._label("ORDER", m.group(0)), text)
        text = _NAMED_ID.sub(
            lambda m: m.group(0)[: m.start(1) - m.start()] + self._label("ORDER", m.group(1)), text
        )
        for name in self._names:
            text = re.sub(
                rf"(?<![\w\[]){re.escape(name)}(?!\w)", lambda m: self._label("NAME", m.group(0)), text
            )
        return text

    def unmask(self, text: str) -> Unmasked:
        """`text` with the placeholders this masker made put back (cards and IBANs withheld)."""
        if not self.enabled:
            return Unmasked(text)
        known = dict(self._values)
        if self.customer_name and not any(k == "NAME" for k, _ in self._placeholders):
            # no text the LLM saw named anyone, so a [NAME_1] it writes ("Hi [NAME_1],", as the
            # prompt says placeholders stand for the customer's data) can only mean the customer
            known["[NAME_1]"] = self.customer_name
        withheld: list[str] = []
        unknown: list[str] = []

        def restore(match: re.Match[str]) -> str:
            placeholder = match.group(0)
            if placeholder not in known:
                unknown.append(placeholder)
                return placeholder
            if match.group(1) in NEVER_RESTORED:
                withheld.append(placeholder)
                return placeholder
            return known[placeholder]

        restored = PLACEHOLDER.sub(restore, text)
        return Unmasked(restored, tuple(dict.fromkeys(withheld)), tuple(dict.fromkeys(unknown)))


def for_terms(text: str, customer_name: str | None) -> str:
    """`text` masked (its customer's name too), without the placeholders: what top terms are
    computed from (a drift alert's, a review queue cluster's), so no "[NAME_1]" becomes the term
    "name" and no customer's name or address names a cluster."""
    return PLACEHOLDER.sub(" ", Masker(customer_name=customer_name).mask(text))


def personal_terms(customer_name: str | None, text: str = "") -> set[str]:
    """The lower-case words of `customer_name` and of any name the customer gives in `text`: the
    terms `purge` takes out of a review item's stored terms (computed, before they were masked,
    from the purged messages)."""
    names = [customer_name or "", *given_names(text)]
    return {w.lower() for n in names for v in name_variants(n) for w in v.split() if len(w) >= 2}
