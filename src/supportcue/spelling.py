"""Spelling normalisation of typed messages: a misspelt word becomes the English word it most likely
meant, before the sentence model reads it.

Why: chat users type fast ("my payemnt was declned", "transfering money"). MiniLM's WordPiece
tokenizer shatters a misspelt word into unrelated pieces ("payemnt" -> "pay", "##em", "##nt"), and
with 8-25 examples a topic one shattered word in a short message moves its vector away from the
topic's examples. On the noisy few-shot proxy (`bench/bench_oos_transfer.py --noise`, dev seeds)
typos cost about 2.5 points of topic accuracy and this normalisation wins back about three quarters
of that (BENCHMARKS.md, "Spelling normalisation before MiniLM").

Only words unknown to the vocabulary are touched, so correctly spelled text is unchanged (and so are
its cached vectors). The vocabulary is general English, in three parts:
- the word-frequency list that ships with `symspellpy` (82,765 words with their Google Books
  frequencies, MIT licence), whose frequencies rank the corrections;
- every whole word of MiniLM's own tokenizer vocabulary;
- the words of `wordfreq`'s large English list (Wikipedia, subtitles, news, books, web text, Twitter
  and Reddit: a snapshot up to 2021 that its author will not update, pinned here, so the vocabulary
  stays fixed; code Apache-2.0, data CC BY-SA 4.0) used at least once per million words (`MIN_ZIPF`
  3): 1,261 words neither list above has, modern ones ("crypto", "gmail", "hotspot", "pinterest"),
  US forms ("dialing", "flavored", "canceling") and names ("lebron", "merkel"). The floor matters:
  web lists hold misspellings too, just below it ("thier" 2.99, "recieve" 2.75, "withdrawl" 1.79),
  while "rubles" is at 3.04 and "crypto" at 3.60.
The last two parts' words are known, and as corrections rank below every word of the first.
It holds no training data, so the normalisation is stateless: a text always reads the same, at fit
and at prediction time, in training, serving, `eval classify` and `eval oos` alike, and nothing is
saved with a model. (Adding the training texts' words to the vocabulary was measured on the dev seeds
and gave no more: 0.8195 against 0.8182 topic accuracy; a typo in the training texts, "recieve" 7
times in Banking77's, would then be kept as typed.)

A word is left alone when it is
- shorter than `MIN_LENGTH` (5) letters: a 4-letter string has many words one edit away, and
  lower-cased names and brands of that length ("todo", "amex", "siri", "ihop") were being rewritten
  ("too", "alex", "sir", "shop"); or it holds a digit or is part of an apostrophe contraction;
- known, or a known word plus "s" (a plural or possessive typed without its apostrophe), or an
  auxiliary verb plus "nt" ("wasnt", "didnt", "havent"; only those: "curent" and "amunt" are typos,
  not "cure" or "amu" plus "nt");
- written with a capital inside it ("iPhone", "ATMs"), or capitalised where no sentence starts (a
  name: "Lyft", "Olly"), or capitalised and signing the message: the text's last word or alone on
  its line after a sentence's end ("...late?\n\nFarid", "...late? Farid", "- Farid"), which was
  read as a sentence's first word and rewritten ("Fared");
- unknown with no known word one edit away that keeps its first letter (a name, a product word, a
  badly garbled word).

Otherwise it becomes the most frequent known word one edit away (a deleted, inserted, substituted or
swapped letter: Damerau-Levenshtein distance 1, which covers most typing slips) that starts with the
same letter, or swaps the first two ("roder" -> "order"), keeping a leading capital. People rarely
mistype a word's first letter, and on the public data sets' own texts nearly every correction that
changed it was wrong: names and brands ("topup" -> "popup", "gmail" -> "email", "zelle" -> "belle",
"lebron" -> "hebron", "wakeup" -> "makeup") or a worse guess than the same-letter one ("wating" ->
"rating" rather than "waiting", "mannual" -> "annual" rather than "manual").

A domain word rare even on the web and one edit from a commoner English word that starts with its
letter is rewritten ("venmo" -> "venom", "autopay" -> "autopsy", "revolut" -> "revolt"),
consistently at fit and prediction time, so the classifier still learns it but MiniLM loses its
meaning. A team lists its own such words in `[embedding] known_words` (`correct(text, known)`): kept
as typed, in every process that reads the settings (train, serve, batch, eval), so fit and
prediction still agree; models trained before the list changed read those words differently until
retrained. The list is not derived from the workspace's training texts or answer library by itself:
customers' typos are frequent in training texts ("recieve" 7 times in Banking77's), so their words
cannot all count as known, and a vocabulary that changes with the library would have to be saved with
each model version, and serving embeds a message once for stages trained at different times.
Instead `train` names the candidates (`rewritten_words`: words the workspace's training messages and
answers spell one way in more texts than the word they would become, "venmo" but not "recieve"), for
the team to list. Cost: a set look-up per
word; an unknown word builds its ~54n+25 one-edit variants once and the answer is cached (about 0.1
ms a message cold, 0.03 ms warm); the vocabulary loads once per process (about 0.6 s).
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources

__all__ = ["MIN_LENGTH", "MIN_ZIPF", "correct", "correct_word", "rewritten_words", "vocabulary"]

MIN_LENGTH = 5
"""Words shorter than this are never corrected."""
MIN_ZIPF = 3.0
"""`wordfreq` words at least this common (Zipf scale: once per million words) are known."""
_DICTIONARY = "frequency_dictionary_en_82_765.txt"
_LETTERS = "abcdefghijklmnopqrstuvwxyz"
# A run of ASCII letters that is a whole word: no letters, digits, underscores or apostrophes glued
# to either side ("card123", "don't" and "e-mail"'s parts are skipped or stay short).
_WORD = re.compile(rf"(?<![\w'’])[A-Za-z]{{{MIN_LENGTH},}}(?![\w'’])")
_ANY_WORD = re.compile(r"(?<![\w'’])[A-Za-z]+(?![\w'’])")
_SENTENCE_ENDS = ".!?:;\n"
# Verbs whose "n't" is typed as "nt" in words of MIN_LENGTH letters or more ("didnt", "havent").
_AUXILIARIES = frozenset(
    "are could dare did does had has have might must need ought should was were would".split()  # noqa: SIM905
)
_LOCK = threading.Lock()
_WORDS: dict[str, int] = {}


def vocabulary() -> dict[str, int]:
    """Known word -> frequency (0 for tokenizer words outside the frequency list), loaded once."""
    if not _WORDS:
        with _LOCK:
            if not _WORDS:
                _WORDS.update(_load())
    return _WORDS


def _load() -> dict[str, int]:
    words: dict[str, int] = {}
    text = resources.files("symspellpy").joinpath(_DICTIONARY).read_text(encoding="utf-8")
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0].isalpha():
            words[parts[0].lower()] = int(parts[1])
    try:
        from supportcue.embeddings import minilm_path

        tokens = (minilm_path() / "vocab.txt").read_text(encoding="utf-8").splitlines()
    except (ImportError, OSError):  # no MiniLM installed: the frequency list alone
        tokens = []
    for token in tokens:
        if token.isascii() and token.isalpha() and token.islower() and len(token) > 1:
            words.setdefault(token, 0)
    for word in _modern_words():
        words.setdefault(word, 0)
    return words


def _modern_words() -> list[str]:
    """The words of `wordfreq`'s large English list at least `MIN_ZIPF` common: its data files hold
    lists of words by frequency, the `i`-th of frequency 10 ** (-i / 100) (-i centibels)."""
    from wordfreq import available_languages, read_cBpack

    buckets = read_cBpack(available_languages("large")["en"])
    last = round(100 * (9 - MIN_ZIPF))  # Zipf = log10(frequency) + 9
    return [w for bucket in buckets[: last + 1] for w in bucket if w.isascii() and w.isalpha()]


def _known(word: str, words: dict[str, int]) -> bool:
    return (
        word in words
        or (word.endswith("s") and word[:-1] in words)
        or (word.endswith("nt") and word[:-2] in _AUXILIARIES)
    )


def _edits(word: str) -> set[str]:
    """Every string one deletion, substitution, insertion or swap of neighbours away from `word`."""
    out: set[str] = set()
    for i in range(len(word) + 1):
        head, tail = word[:i], word[i:]
        if tail:
            out.add(head + tail[1:])
            out.update(head + c + tail[1:] for c in _LETTERS)
        if len(tail) > 1:
            out.add(head + tail[1] + tail[0] + tail[2:])
        out.update(head + c + tail for c in _LETTERS)
    out.discard(word)
    return out


@lru_cache(maxsize=65_536)
def correct_word(word: str) -> str:
    """`word` (lower case) if it is known or nothing known is one edit away that keeps its first
    letter (or swaps its first two), else the most frequent such word (ties: alphabetical order, so
    the result never depends on hashing)."""
    words = vocabulary()
    if len(word) < MIN_LENGTH or _known(word, words):
        return word
    swapped = word[1] + word[0] + word[2:]
    candidates = [c for c in _edits(word) if c in words and (c[0] == word[0] or c == swapped)]
    if not candidates:
        return word
    return min(candidates, key=lambda c: (-words[c], c))


def _after_text(text: str, start: int) -> bool:
    """Whether something other than a sentence's end comes before `start` (spaces skipped): read
    back from the word, not by copying the text before it, which made a long text quadratic."""
    i = start - 1
    while i >= 0 and text[i].isspace():
        i -= 1
    return i >= 0 and text[i] not in _SENTENCE_ENDS


def _signs_off(text: str, start: int, end: int) -> bool:
    """Whether the word at `start:end` signs the message: nothing but punctuation and spaces after it
    on its line, and it is the text's last word or the first word on its line ("...late?\n\nFarid",
    "...late? Farid", "- Farid"), after some text: a message of one word ("Recieve?") is no
    sign-off, and is corrected."""
    if not any(c.isalnum() for c in text[:start]):
        return False
    line_end = text.find("\n", end)
    after = text[end:] if line_end < 0 else text[end:line_end]
    if any(c.isalnum() for c in after):
        return False
    if not any(c.isalnum() for c in text[end:]):
        return True
    return not any(c.isalnum() for c in text[text.rfind("\n", 0, start) + 1 : start])


def _as_typed(text: str, match: re.Match[str]) -> bool:
    """Whether `correct` leaves the word `match` holds as typed whatever it is: written with a capital
    inside it (an acronym, a camel-cased name), or capitalised mid-sentence or signing the message
    (a name)."""
    word = match.group(0)
    if any(c.isupper() for c in word[1:]):
        return True
    return word[0].isupper() and (
        _after_text(text, match.start()) or _signs_off(text, match.start(), match.end())
    )


def correct(text: str, known: frozenset[str] = frozenset()) -> str:
    """`text` with each misspelt word replaced (see the module docstring); everything else as typed.
    `known`: a team's own words (lower case, `[embedding] known_words`), kept as typed too."""
    vocabulary()  # loaded by the first text whatever its words, so a warm-up call takes the load time

    def fix(match: re.Match[str]) -> str:
        word = match.group(0)
        lower = word.lower()
        if known and (lower in known or (lower.endswith("s") and lower[:-1] in known)):
            return word
        if _as_typed(text, match):
            return word  # an acronym, or a name: capitalised mid-sentence or signing the message
        fixed = correct_word(word.lower())
        if fixed == word.lower():
            return word
        return fixed.capitalize() if word[0].isupper() else fixed

    return _WORD.sub(fix, text)


def rewritten_words(
    texts: Iterable[str],
    known: frozenset[str] = frozenset(),
    min_texts: int = 3,
    names: frozenset[str] = frozenset(),
) -> list[tuple[str, str, int]]:
    """Words `correct` rewrites although `texts` (a workspace's own: its training messages, its
    answers) spell them that way in at least `min_texts` texts and in more texts than the word they
    would become: likely the team's own words ("venmo", read as "venom"), for `[embedding]
    known_words`. A typo is rarer than its correction in the same texts ("recieve" and "receive")
    and is not listed. Only the places `correct` would rewrite count (not a name signing a message,
    "...\n\nFarid"), and `names` (lower case: the customers' names) are never listed: a person's
    name is no word of the team's. (word, correction, texts) tuples, the most frequent first."""
    seen: Counter[str] = Counter()
    every: Counter[str] = Counter()  # the words a correction may become, of any length ("haave" -> "have")
    for text in texts:
        seen.update({m.group(0).lower() for m in _WORD.finditer(text) if not _as_typed(text, m)})
        every.update({m.group(0).lower() for m in _ANY_WORD.finditer(text)})
    found = []
    for word, n in seen.items():
        if n < min_texts or word in known or (word.endswith("s") and word[:-1] in known) or word in names:
            continue
        fixed = correct_word(word)
        if fixed != word and n > every[fixed]:
            found.append((word, fixed, n))
    return sorted(found, key=lambda f: (-f[2], f[0]))


def known_words_hint(found: list[tuple[str, str, int]], limit: int = 8) -> str | None:
    """A line naming `rewritten_words`' findings and where to keep them; None when there are none."""
    if not found:
        return None
    shown = ", ".join(f"{w} -> {c} ({n} texts)" for w, c, n in found[:limit])
    more = f" and {len(found) - limit} more" if len(found) > limit else ""
    return (
        f"spelling reads words of your own texts as others: {shown}{more}. If they are your words "
        "(a brand, a product), list them in [embedding] known_words in supportcue.toml and train again"
    )
