"""Personal data that has no checksum to find it by: national id numbers, postal addresses and names.

Shared by the log redaction (`redaction.redact`: `[id]`, `[address]`, `[name]`) and the suggestion
masking (`llm/privacy.Masker`: `[ID_1]`, `[ADDRESS_1]`, `[NAME_1]`), so a value masked in what a
suggestion stores is masked in the logs too.

- `NATIONAL_ID`: a US social security number, a Spanish DNI or NIE, a UK National Insurance number.
- `ADDRESS`: a street with its number (`221B Baker Street`, `12 rue de la Paix`, `Calle Mayor 5`,
  `Hauptstraße 12`) and postcodes (`NW1 6XE`, `CA 94043`, `10115 Berlin`).
- `given_names(text)`: a name the customer gives ("my name is ...", "je m'appelle ...", or alone on
  the line after a sign-off such as "Thanks,"); `name_variants(name)`: how a name is written (whole
  and each part, as written, Title-cased or in capitals, with or without its accents).
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["ADDRESS", "NATIONAL_ID", "given_names", "name_variants", "unaccented"]

NATIONAL_ID = re.compile(
    r"(?<![\w-])(?:"
    r"\d{3}-\d{2}-\d{4}"  # US social security number
    r"|[XYZ]?\d{7,8}[A-HJ-NP-TV-Z]"  # Spanish DNI / NIE
    r"|[A-CEGHJ-PR-TW-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]"  # UK National Insurance number
    r")(?![\w-])"
)

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
_COUNTED = (
    "(?:Rows|Cases|Messages|Labels|Events|Answers|Articles|Suggestions|Topics|Turns|Conversations"
    "|Tickets|Items|Records|Entries|Lines|Rejects|Errors|Warnings|Alerts|Notes|Requests|Calls|Retries"
    "|Attempts|Times|Tokens|Words|Characters|Chars|Bytes|Files|Users|Agents|Keys|Sessions|Samples"
    "|Examples|Clusters|Vectors|Batches|Steps|Epochs|Seconds|Milliseconds|Minutes|Hours|Days|Weeks)"
)
"""Plural nouns a count is of, in our own log lines ("10115 Rows"): no town is called so."""
_STATE = (
    "(?:AL|AK|AZ|AR|CA|CO|CT|DE|FL|GA|IA|KS|KY|LA|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|NY|NC|ND|OH|PA"
    "|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|DC|PR)"
)
_STATE_WORD = "(?:ID|IN|OK|OR|ME|HI)"
"""US states whose code is also a word of a log line ("case ID 12345", "OK 12345 rows"): a ZIP code
after one of them counts only after the town's comma ("Boise, ID 83702")."""
ADDRESS = re.compile(
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
            # Hauptstraße 12, Am Lindenweg 3a, Berliner Str. 5; started at the start of a hyphenated
            # word only (`\b` started at each of its parts, and read to its end from each: quadratic)
            r"(?<![\w-])(?:[A-ZÄÖÜ][\wäöüß-]*[ \t]+)?[A-ZÄÖÜ][\wäöüß-]*(?:straße|strasse|str\.|weg|platz"
            r"|gasse|allee|ring|damm|ufer|Straße|Strasse|Str\.|Weg|Platz|Gasse|Allee)[ \t]+\d{1,4}[a-z]?\b",
            # postcodes: NW1 6XE (UK), CA 94043 (US), 10115 Berlin (5 digits and a town)
            r"\b[A-Z]{1,2}\d[A-Z\d]?[ \t]?\d[A-Z]{2}\b",
            rf"(?:\b{_STATE}|(?<=,[ \t]){_STATE_WORD})[ \t]+\d{{5}}(?:-\d{{4}})?\b",
            rf"\b\d{{5}}[ \t]+(?!{_COUNTED}\b)[A-ZÀ-ÖØ-Þ][a-zß-ÿ]+(?:[ -][A-ZÀ-ÖØ-Þ][a-zß-ÿ]+)?\b",
        ]
    )
)
"""Postal addresses: a street with its number (English, French, Spanish, Portuguese, Italian and
German forms) and postcodes (UK, US state and ZIP, five digits before a town, unless the word is
one a count is of: "10115 Rows" is a count in a log line, "10115 Berlin" a postcode)."""


def unaccented(text: str) -> str:
    """`text` without its accents ("José Álvarez" -> "Jose Alvarez"), as customers often type it."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def name_variants(name: str) -> set[str]:
    """How `name` may be written: whole, and each part of two letters or more (each half of a
    hyphenated one too), as written, Title-cased or in capitals ("Will" is a name, "you will" is
    not), with or without accents, with a straight or a curly apostrophe ("O'Neil", "O’Neil")."""
    name = " ".join(name.split())
    found: set[str] = set()
    forms = [name, unaccented(name)]  # "José Álvarez", "Jose Alvarez"
    forms += [f.replace("'", "’") for f in forms] + [f.replace("’", "'") for f in forms]  # "O’Neil"
    for written in dict.fromkeys(forms):
        parts = written.split()
        parts += [p for w in parts if "-" in w for p in w.split("-")]  # "Mary" of "Mary-Jane"
        found |= {v for p in parts if len(p) >= 2 for v in (p, p.title(), p.upper())}
        if " " in written:
            found |= {written, written.title(), written.upper(), written.lower()}
    return found


def given_names(text: str) -> list[str]:
    """The names a customer gives in `text` ("my name is Ana Silva", "Thanks,\nAna"); a team's
    signature ("Best regards, The Tillwick Team") is not one."""
    return [
        m.group(1) for m in _GIVEN_NAME.finditer(text or "") if not _NOT_A_PERSON & set(m.group(1).split())
    ]
