"""Adapting a topic's consensus draft to the customer's message, without an LLM (Bitext, offline check).

Issue 15 part 6 asks for ROUGE-L >= 1.25x the nearest-question baseline; whole-sentence consensus
drafts stop at ~1.20x even with the right intent (BENCHMARKS.md). Bitext replies restate the request
in the customer's words and echo the details it names, so this script measures, per held-out row,
the draft of its **gold** intent (train replies only, `consensus.consensus_draft`, no tone stage)
against the same draft edited by the row's question:

- `slots`: per topic, word pairs (draft word d, question word q) learned from history: replies whose
  question says q (and not d) say q and not d more often, by at least `--gap` each, over at least
  `--min-q` questions; d is replaced by q when this message says q and not d.
- `local`: the consensus draft of the replies of the `--k` training questions of the topic nearest
  to this one (word LCS ratio of the questions), instead of all of the topic's replies.
- `restate`: the draft's first sentence replaced by "I understand that " + the message with its
  pronouns turned ("my" -> "your").
- `neighbour`: the draft's first sentence replaced by the nearest question's reply's first sentence,
  its words that came from that question swapped for the aligned words of this one (difflib opcodes);
  kept only when every word is this message's or said in >= 5 of the topic's replies (so no other
  customer's details), else the draft.
- `numbers`: numbers, ids and amounts of the draft (case details of the replies it was built from)
  replaced by the message's first number, the draft's `$` / `#` kept.
- `oracle first`: the draft's first sentence replaced by the reference's own (a ceiling, not a method).
- `restate+numbers+slots`: the three edits one after the other.

    PYTHONPATH=$PWD/src:$PWD/bench HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1 nice .venv/bin/python \
        bench/bench_draft_edit.py --seeds 10 11

Prints each variant's mean ROUGE-L (rouge-score, no stemming) and its ratio to `--baseline` (the
nearest-question baseline's ROUGE-L of the same split as `bench_suggest.py` measured it; default the
dev seeds' 0.3659 / 0.3681). Dev seeds only: nothing here is wired into the product.
"""

from __future__ import annotations

import argparse
import re
import tempfile
from collections import Counter, defaultdict
from dataclasses import replace
from difflib import SequenceMatcher
from pathlib import Path

from rapidfuzz.distance import Indel
from rouge_score import rouge_scorer

from bench_suggest import DATA, split
from supportcue.consensus import consensus_draft, render, segments
from supportcue.data.files import read_rows
from supportcue.monitoring.match import normalise

BASELINES = {10: 0.3659, 11: 0.3681}
"""`baseline_rouge_l` of `bench_suggest.py --seeds 10 11` (BENCHMARKS.md, consensus drafts)."""
WORD = re.compile(r"[a-z]+")
TOKEN = re.compile(r"\{\{[^{}]*\}\}|[A-Za-z0-9$#'’.,-]*[A-Za-z0-9]|\S")
NUMBER = re.compile(r"[$#]?\d[\d,.]*\d")
TURN = {"i": "you", "me": "you", "my": "your", "mine": "yours", "am": "are", "i'm": "you're", "im": "you're"}
Row = dict[str, str]


def words(text: str) -> set[str]:
    return set(WORD.findall(text.lower()))


def learn_slots(rows: list[Row], draft: str, min_q: int, gap: float) -> dict[str, tuple[str, float]]:
    """Question word -> (draft word it replaces, strength), per the module docstring."""
    qs, rs = [words(r["text"]) for r in rows], [words(r["reply"]) for r in rows]
    counts = Counter(w for q in qs for w in q)
    in_draft = words(draft)
    table: dict[str, tuple[str, float]] = {}
    for q, c in counts.items():
        if c < min_q or q in in_draft:
            continue
        said = [i for i in range(len(rows)) if q in qs[i]]
        other = [i for i in range(len(rows)) if q not in qs[i]]
        if not other:
            continue
        echo = sum(q in rs[i] for i in said) / len(said) - sum(q in rs[i] for i in other) / len(other)
        if echo < gap:
            continue
        best: tuple[float, str] | None = None
        for d in sorted(in_draft):
            a = [i for i in said if d not in qs[i]]
            if len(a) < min_q:
                continue
            drop = sum(d in rs[i] for i in other) / len(other) - sum(d in rs[i] for i in a) / len(a)
            if drop >= gap and (best is None or drop > best[0]):
                best = (drop, d)
        if best:
            table[q] = (best[1], echo + best[0])
    return table


def apply_slots(draft: str, message: str, table: dict[str, tuple[str, float]]) -> str:
    said = words(message)
    subs: dict[str, tuple[str, float]] = {}
    for q in sorted(said & set(table)):
        d, strength = table[q]
        if d not in said and (d not in subs or strength > subs[d][1]):
            subs[d] = (q, strength)
    for d, (q, _) in sorted(subs.items()):
        draft = re.sub(rf"\b{re.escape(d)}\b", q, draft)
        draft = re.sub(rf"\b{re.escape(d.capitalize())}\b", q.capitalize(), draft)
    return draft


def first_replaced(draft: str, sentence: str) -> str:
    segs = segments(draft)
    return render([replace(segs[0], text=sentence), *segs[1:]]) if segs else sentence


def restate(message: str) -> str:
    turned = [TURN.get(w.lower(), w) for w in message.strip().rstrip("?.!").split()]
    return "I understand that " + " ".join(turned) + "."


def neighbour_first(near: Row, message: str, vocabulary: set[str]) -> str | None:
    """The neighbour reply's first sentence with its question's words swapped for this message's."""
    theirs = [t.lower() for t in TOKEN.findall(near["text"])]
    ours = TOKEN.findall(message)
    swaps = {
        tuple(theirs[i1:i2]): ours[j1:j2]
        for op, i1, i2, j1, j2 in SequenceMatcher(
            None, theirs, [t.lower() for t in ours], autojunk=False
        ).get_opcodes()
        if op == "replace"
    }
    segs = segments(near["reply"])
    sentence = TOKEN.findall(segs[0].text) if segs else []
    lowered = [t.lower() for t in sentence]
    out: list[str] = []
    i = 0
    while i < len(sentence):
        hit = next(
            (k for k in sorted(swaps, key=len, reverse=True) if tuple(lowered[i : i + len(k)]) == k), None
        )
        if hit:
            out += swaps[hit]
            i += len(hit)
        else:
            out.append(sentence[i])
            i += 1
    own = {t.lower() for t in ours} | {TURN.get(t.lower(), t.lower()) for t in ours}
    if any(any(ch.isalnum() for ch in t) and t.lower() not in vocabulary | own for t in out):
        return None
    return re.sub(r" ([.,!?;:'’)])", r"\1", " ".join(out))


def numbers_echoed(draft: str, message: str) -> str:
    theirs = [m.group(0) for m in NUMBER.finditer(message)]
    if not theirs:
        return draft
    value = theirs[0].lstrip("$#")
    for x in dict.fromkeys(m.group(0) for m in NUMBER.finditer(draft)):
        draft = re.sub(rf"(?<![\w$#]){re.escape(x)}(?!\w)", (x[0] if x[0] in "$#" else "") + value, draft)
    return draft


def run(seed: int, k: int, min_q: int, gap: float, baseline: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        train_path, test_path = split(DATA, Path(tmp), 0.2, seed, "intent")
        train = [r for _, r in read_rows(train_path)]
        test = [r for _, r in read_rows(test_path)]
    by: dict[str, list[Row]] = defaultdict(list)
    for r in train:
        by[r["intent"]].append(r)
    drafts = {t: consensus_draft([r["reply"] for r in rows], seed=seed) for t, rows in sorted(by.items())}
    slots = {t: learn_slots(rows, drafts[t], min_q, gap) for t, rows in by.items()}
    vocabulary = {}
    for t, rows in by.items():
        said = Counter(w for r in rows for w in {x.lower() for x in TOKEN.findall(r["reply"])})
        vocabulary[t] = {w for w, c in said.items() if c >= 5 and not any(ch.isdigit() for ch in w)}
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
    totals: Counter[str] = Counter()
    changed: Counter[str] = Counter()
    for row in test:
        topic, reference, message = row["intent"], row["reply"], row["text"]
        draft = drafts[topic]
        asked = normalise(message).split()
        ranked = sorted(
            by[topic], key=lambda h: -Indel.normalized_similarity(normalise(h["text"]).split(), asked)
        )
        edited = neighbour_first(ranked[0], message, vocabulary[topic])
        variants = {
            "draft": draft,
            "slots": apply_slots(draft, message, slots[topic]),
            f"local (k={k})": consensus_draft([h["reply"] for h in ranked[:k]], seed=seed),
            "restate": first_replaced(draft, restate(message)),
            "neighbour": first_replaced(draft, edited) if edited else draft,
            "numbers": numbers_echoed(draft, message),
            "oracle first": first_replaced(draft, segments(reference)[0].text),
        }
        variants["restate+numbers+slots"] = apply_slots(
            numbers_echoed(variants["restate"], message), message, slots[topic]
        )
        for name, text in variants.items():
            totals[name] += scorer.score(reference, text)["rougeL"].fmeasure
            changed[name] += text != draft
    n = len(test)
    for name, total in totals.items():
        print(
            f"seed {seed} {name:>21}: ROUGE-L {total / n:.4f} = {total / n / baseline:.3f}x "
            f"(changed {changed[name]} of {n})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[10, 11])
    parser.add_argument("--k", type=int, default=20, help="neighbours of the local consensus")
    parser.add_argument("--min-q", type=int, default=3)
    parser.add_argument("--gap", type=float, default=0.3)
    parser.add_argument("--baseline", type=float, nargs="*", help="baseline ROUGE-L per seed")
    args = parser.parse_args()
    for i, seed in enumerate(args.seeds):
        baseline = args.baseline[i] if args.baseline else BASELINES.get(seed)
        if baseline is None:
            parser.error(f"no baseline ROUGE-L known for seed {seed}: give --baseline")
        run(seed, args.k, args.min_q, args.gap, baseline)


if __name__ == "__main__":
    main()
