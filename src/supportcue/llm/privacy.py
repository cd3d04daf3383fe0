"""Personal data out of everything sent to an LLM, and back into its reply: `Masker`.

One `Masker` per request. `mask(text)` replaces, with typed numbered placeholders that the model can
copy (`[EMAIL_1]`, `[CARD_1]`, `[PHONE_1]`, `[IBAN_1]`, `[ORDER_1]`, `[NAME_1]`, `[ADDRESS_1]`,
`[ID_1]`):

- emails, IBANs (mod-97 checked), card numbers (Luhn checked) and phone numbers, found by the same
  code that keeps them out of the logs (`security.redaction.replace_personal`);
- national id numbers (`[ID_1]`: a US social security number, a Spanish DNI or NIE, a UK National
  Insurance number), which, like cards and IBANs, never go back into a reply;
- postal addresses: a street with its number (`221B Baker Street`, `12 rue de la Paix`, `Calle
  Mayor 5`, `Hauptstraße 12`) and postcodes (`NW1 6XE`, `CA 94043`, `10115 Berlin`);
- order-like ids: the case's own field values (`order_id` ...), `#1234`, letter-and-digit codes such
  as `A-10293` or `ord_8842XK`, bare runs of 6 or more digits, and runs of 4 or more named as an id
  (`order 88213`, `commande n° 4471`, `pedido 12345`, `Bestellnummer: 55120`);
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
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from supportcue.security.redaction import replace_personal

NEVER_RESTORED = frozenset({"CARD", "IBAN", "ID"})
"""Kinds whose values never go back into a reply (a reply must not repeat them)."""

PLACEHOLDER = re.compile(r"\[(EMAIL|CARD|PHONE|IBAN|ORDER|NAME|ADDRESS|ID)_(\d+)\]")
_NATIONAL_ID = re.compile(
    r"(?<![\w-])(?:"
    r"\d{3}-\d{2}-\d{4}"  # US social security number
    r"|[XYZ]?\d{7,8}[A-HJ-NP-TV-Z]"  # Spanish DNI / NIE
    r"|[A-CEGHJ-PR-TW-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]"  # UK National Insurance number
    r")(?![\w-])"
)
_ORDER_LIKE = re.compile(
    r"(?<![\w$€£#/.\[-])(?:"
    r"#\d{3,}"  # #12345
    r"|(?=[A-Za-z0-9_-]*\d)(?=[A-Za-z0-9_-]*[A-Za-z])[A-Za-z][A-Za-z0-9]*[-_][A-Za-z0-9_-]*\d[A-Za-z0-9_-]*"
    r"|(?=[A-Z0-9]*\d{3})[A-Z]{1,4}\d[A-Z0-9]{3,}"  # AB12345, INV20260042
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

_CAP = r"[A-ZÀ-ÖØ-ÞĀ-ſ][\w'’-]*[^\W\d_]"
_GIVEN_NAME = re.compile(
    r"(?:\b(?i:my name is|my name's|my name’s|i'm|i’m|je m'appelle|je m’appelle|mon nom est"
    r"|me llamo|mi nombre es|mein name ist|ich heiße|ich heisse|mi chiamo|il mio nome è"
    r"|meu nome é|o meu nome é|chamo-me|mijn naam is|ik heet)[ \t]+"
    r"|(?:^|(?<=[.!?]))[ \t]*(?i:thanks|thank you|many thanks|regards|best regards|kind regards|best|cheers"
    r"|sincerely|merci|cordialement|bien à vous|gracias|saludos|un saludo|atentamente|danke"
    r"|viele grüße|mit freundlichen grüßen|grüße|liebe grüße|grazie|cordiali saluti|saluti"
    r"|obrigado|obrigada|atenciosamente|groeten|met vriendelijke groet)[ \t]*[,.!]?[ \t]*\n?[ \t]*)"
    rf"({_CAP}(?:[ \t]+{_CAP}){{0,2}})(?=[ \t]*(?:[.,;:!?()]|$)|[ \t]+(?:and|from|here|again)\b)",
    re.MULTILINE,
)
"""A name the customer gives: "my name is Ana Silva", "je m'appelle ...", "me llamo ...", or alone
on the line after a sign-off ("Thanks,\nAna Silva")."""

_NOT_A_PERSON = frozenset({"The", "Team", "Support", "Customer", "Service", "Care", "Help", "Desk"})

_UP = r"[A-ZÀ-ÖØ-Þ][\w'’.-]*"
_ADDRESS = re.compile(
    "|".join(
        [
            # 221B Baker Street, 1600 Amphitheatre Parkway
            rf"\b\d{{1,5}}[A-Za-z]?,?[ \t]+(?:{_UP}[ \t]+){{1,3}}(?:Street|St\.?|Road|Rd\.?|Avenue|Ave\.?"
            r"|Lane|Ln\.?|Drive|Dr\.?|Boulevard|Blvd\.?|Parkway|Pkwy|Way|Court|Ct\.?|Place|Pl\.?|Square"
            r"|Terrace|Close|Crescent|Gardens|Highway|Hwy)(?![\w])",
            # 12 rue de la Paix, 3 bis avenue Victor Hugo
            r"\b\d{1,4}(?:[ \t]*(?:bis|ter))?,?[ \t]+(?i:rue|avenue|av\.|boulevard|bd|chemin|allée|impasse"
            r"|place|quai|route|cours)[ \t]+(?:(?:de|du|des|la|le|l'|l’|d'|d’)[ \t]*)*"
            rf"[\w’'-]+(?:[ \t]+{_UP}){{0,3}}",
            # Calle Mayor 5, Rua Augusta 27, Via Roma 10, Avenida de la Paz, 3
            r"\b(?:Calle|C/|Avenida|Avda\.?|Paseo|Plaza|Carrer|Rua|Avenida|Travessa|Via|Viale|Piazza|Corso)"
            r"[ \t]+(?:(?:de|del|la|las|los|da|do|dos|das|di|della|dei)[ \t]+)*"
            rf"{_UP}(?:[ \t]+{_UP}){{0,3}},?[ \t]+(?:n[º°o]\.?[ \t]*)?\d{{1,5}}[A-Za-z]?\b",
            # Hauptstraße 12, Am Lindenweg 3a, Berliner Str. 5
            r"\b(?:[A-ZÄÖÜ][\wäöüß-]*[ \t]+)?[A-ZÄÖÜ][\wäöüß-]*(?:straße|strasse|str\.|weg|platz|gasse"
            r"|allee|ring|damm|ufer|Straße|Strasse|Str\.|Weg|Platz|Gasse|Allee)[ \t]+\d{1,4}[a-z]?\b",
            # postcodes: NW1 6XE (UK), CA 94043 (US), 10115 Berlin (5 digits and a town)
            r"\b[A-Z]{1,2}\d[A-Z\d]?[ \t]?\d[A-Z]{2}\b",
            r"\b[A-Z]{2}[ \t]+\d{5}(?:-\d{4})?\b",
            r"\b\d{5}[ \t]+[A-ZÀ-ÖØ-Þ][a-zß-ÿ]+(?:[ -][A-ZÀ-ÖØ-Þ][a-zß-ÿ]+)?\b",
        ]
    )
)
"""Postal addresses: a street with its number (English, French, Spanish, Portuguese, Italian and
German forms) and postcodes (UK, US state and ZIP, five digits before a town)."""


def _unaccented(text: str) -> str:
    """`text` without its accents ("José Álvarez" -> "Jose Alvarez"), as customers often type it."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


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
        name = " ".join(name.split())
        for written in dict.fromkeys([name, _unaccented(name)]):  # "José Álvarez", "Jose Alvarez"
            # Parts match as written, Title-cased or in capitals: "Will" is masked, "you will" is not.
            parts = {v for p in written.split() if len(p) >= 2 for v in (p, p.title(), p.upper())}
            whole = {written, written.title(), written.upper(), written.lower()} if " " in written else set()
            self._names = sorted(set(self._names) | parts | whole, key=len, reverse=True)

    def _given_names(self, text: str) -> None:
        for match in _GIVEN_NAME.finditer(text or ""):
            if not _NOT_A_PERSON & set(match.group(1).split()):  # "Best regards, The Tillwick Team"
                self._learn(match.group(1))

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
        text = replace_personal(text, self._label)
        text = _NATIONAL_ID.sub(lambda m: self._label("ID", m.group(0)), text)
        text = _ADDRESS.sub(lambda m: self._label("ADDRESS", m.group(0)), text)
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
        known = self._values
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
