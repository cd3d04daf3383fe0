"""Is a message written in English? A cheap check with the word lists `wordfreq` already ships.

The bundled sentence model (MiniLM) reads English only: a German, Spanish or French message still
lands near some English topic (shared sub-words such as "Passwort", numbers, product names) and can
get a confident, wrong suggestion. No suggestion beats a wrong one, so the validation stage abstains
on a message written in another language (`[validation] rules`, `other_language`).

`other_language(text)` votes word by word: each word (two letters or more, URLs and e-mail
addresses left out) goes to the language whose `wordfreq` "small" list has it most frequent, among
English and the Latin-script languages below; a word no list knows (a name, an order id, a typo)
does not vote, and a word English uses too (its English frequency at least a tenth of its
highest, "login", "app", "on", or a common English word, "hi", "die") votes English; each distinct
word votes once. The message is in another language when at least
`MIN_VOTES` words vote and fewer than half of them vote English; it is named after the language
whose word list explains its non-English words best (the product of their frequencies in it:
"Quiero cancelar mi pedido" is Spanish though "cancelar" and "pedido" are commoner in Portuguese).
On the 41,451 English messages and replies of Banking77, CLINC150, HWU64 and
Bitext it flags 1 ("costa mesa weather").
A message mostly in a non-Latin script (Cyrillic, Greek, Arabic, Hebrew, Han, kana, Hangul, Thai,
Devanagari...) is another language too, named by its script. Loading the lists takes about a
second once per process; a check takes microseconds per word.
"""

from __future__ import annotations

import math
import re
import unicodedata
from functools import lru_cache

ENGLISH = "en"
LANGUAGES = {
    "de": "German",
    "es": "Spanish",
    "fr": "French",
    "it": "Italian",
    "pt": "Portuguese",
    "nl": "Dutch",
    "ca": "Catalan",
    "sv": "Swedish",
    "da": "Danish",
    "nb": "Norwegian",
    "fi": "Finnish",
    "pl": "Polish",
    "cs": "Czech",
    "ro": "Romanian",
    "hu": "Hungarian",
    "tr": "Turkish",
    "id": "Indonesian",
}
"""The other languages a word can vote for (wordfreq codes and names)."""
MIN_VOTES = 3
SHARED = 10.0
"""A word votes English when its English frequency is at least 1/SHARED of its highest frequency."""
COMMON = 5e-5
"""... or when it is this common in English at least (Zipf 4.7: "hi", "die", "so")."""
UNSEEN = 1e-8
"""The frequency a language's list gives a word it lacks, when naming the language."""
_SKIP = re.compile(r"\b(?:https?://|www\.)\S+|\S+@\S+", re.IGNORECASE)
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")


@lru_cache(maxsize=1)
def _lists() -> dict[str, dict[str, float]]:
    from wordfreq import get_frequency_dict

    return {code: get_frequency_dict(code, "small") for code in (ENGLISH, *LANGUAGES)}


def _script(char: str) -> str | None:
    """The script of a letter outside the Latin alphabets, or None for a Latin letter."""
    if ord(char) < 0x250 or 0x1E00 <= ord(char) <= 0x1EFF:
        return None
    name = unicodedata.name(char, "").split(" ")[0]
    return {"CJK": "Han", "": None}.get(name, name.title())


def other_language(text: str) -> str | None:
    """The name of the language (or script) `text` is written in when it is not English, else None."""
    text = _SKIP.sub(" ", text)
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return None
    scripts = [s for s in map(_script, letters) if s is not None]
    if len(scripts) * 2 > len(letters):
        top = max(set(scripts), key=scripts.count)
        return f"{top} script"
    lists = _lists()
    votes: dict[str, int] = {}
    fit: dict[str, float] = dict.fromkeys(LANGUAGES, 0.0)
    for word in {w.replace("’", "'") for w in _WORD.findall(text.lower())}:
        if len(word) < 2:
            continue
        freqs = {code: words.get(word, 0.0) for code, words in lists.items()}
        best = max(freqs, key=lambda code: freqs[code])
        if freqs[best] <= 0.0:
            continue
        if freqs[ENGLISH] * SHARED >= freqs[best] or freqs[ENGLISH] >= COMMON:
            best = ENGLISH  # a word English uses too ("login", "app", "on", "hi"), if less than others
        votes[best] = votes.get(best, 0) + 1
        if best != ENGLISH:
            for code in LANGUAGES:
                fit[code] += math.log(freqs[code] + UNSEEN)
    total = sum(votes.values())
    if total < MIN_VOTES or votes.get(ENGLISH, 0) * 2 >= total:
        return None
    return LANGUAGES[max(LANGUAGES, key=lambda code: fit[code])]
