"""`supportcue eval suggest`: suggest replies for --test from a library built on --train pairs only.

1. Topics: the --label-col of --train, or (without one) k-means clusters of the train replies.
2. Library: per topic, up to `answers_per_topic` canonical answers, chosen greedily among the train
   replies to cover as many other train replies of the topic as possible (a reply is covered when
   `similarity(answer, reply) >= threshold`, the product's match definition). Placeholders are kept.
   With `drafts="consensus"` (the default, `--drafts consensus`) the first of them is replaced by
   the topic's consensus draft (`supportcue.consensus`: whole sentences and list items shared by
   the topic's replies, in the outline of one of its most typical replies, chosen to be closest on
   average to all of them), as a team would review a drafted answer rather than copy one agent's
   reply; `--drafts replies` keeps the train replies only. Why the default: on Bitext dev splits
   (seeds 10 / 11) the consensus library raised ROUGE-L against the held-out replies from 1.06x /
   1.05x the nearest-question baseline to 1.17x / 1.15x, and the product's own mean similarity
   from 0.41 to 0.44 (BENCHMARKS.md, "ROUGE-L, an independent score").
3. Every registered stage kind that the files can train is fitted as `train` would fit it: kinds
   trained on topic labels on the train questions and topics, kinds trained on history on the train
   questions and replies (each reply matched to the answer it came from), kinds that learn nothing
   from the settings. A kind whose labels the files do not hold (validity) is off.
4. The test texts run through the same `Pipeline` that `serve` runs, with the workspace's settings
   when run inside one; each suggestion is scored against the test reply with `monitoring.match`.
   Abstentions count as misses (match_rate) and as similarity 0 (mean_similarity);
   `match_rate_answered` is over the rows with a suggestion, as the online match rate (`supportcue
   report`) is over suggestions with a text: the two `match_rate`s have different denominators.

`mode` (`--mode library|llm|hybrid`) sets `[response] mode` for the run: with `llm` or `hybrid` the
`draft` stage drafts replies through the workspace's `[llm]` server from the library built in step 2
(and the workspace's KB articles, when given), with the same prompts, privacy and grounding check as
`serve`; requests run concurrently, and the result counts the calls and tokens.

Baseline: the reply of the nearest training question (cosine of embeddings), scored the same way.

Independent score: with the `rouge-score` package installed (`pip install supportcue[bench]`, also
in `dev`), the result adds ROUGE-L F1 (Google's implementation, no stemming) of each suggestion and
of the baseline against the test reply (`rouge_l`, `baseline_rouge_l`, their ratio `rouge_l_ratio`;
an abstention scores 0), so gains are not only measured with the product's own `similarity`.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import Progress

from supportcue.consensus import consensus_draft
from supportcue.data.files import write_rows
from supportcue.embeddings import Embedder
from supportcue.errors import ImportDataError, SettingsError
from supportcue.eval.labeled import (
    blank,
    check_columns,
    check_labels,
    default_embedder,
    in_train,
    label_of,
    messages,
    overlap_figures,
    rows_of,
)
from supportcue.llm.client import ChatClient, make_client
from supportcue.monitoring.match import (
    DEFAULT_THRESHOLD,
    distribution,
    normalise,
    similarity,
    token_similarity,
)
from supportcue.pipeline import Pipeline, SuggestRequest
from supportcue.settings import Settings
from supportcue.stages import registry
from supportcue.stages.base import Message, Services, Stage
from supportcue.stages.library import KBArticle, LibraryAnswer, StaticArticles, StaticLibrary

MAX_CANDIDATES = 150
"""Per topic, at most this many train replies are tried as canonical answers (keeps it O(topic size))."""
MAX_TARGETS = 400
"""Per topic, coverage is counted over at most this many train replies."""


@dataclass
class Pairs:
    """Texts, replies and (optional) topics of one file, in file order."""

    texts: list[str]
    replies: list[str]
    labels: list[str] | None


def load_pairs(path: Path, text_col: str, reply_col: str, label_col: str | None) -> Pairs:
    """Rows with a non-empty text and reply (and label, when a label column is given)."""
    columns = check_columns(
        path,
        [text_col, reply_col, *([label_col] if label_col else [])],
        ("--text-col", "--reply-col", "--label-col"),
    )
    text_col, reply_col = columns[:2]
    label_col = columns[2] if label_col else None
    texts: list[str] = []
    replies: list[str] = []
    labels: list[str] = []
    for line, row in rows_of(path):
        for col in columns:
            if blank(row.get(col)):
                raise ImportDataError(f"{path}:{line}: empty {col!r}")
        texts.append(str(row[text_col]))
        replies.append(str(row[reply_col]))
        if label_col:
            labels.append(label_of(row[label_col]))
    if not texts:
        raise ImportDataError(f"{path}: no rows")
    return Pairs(texts, replies, labels if label_col else None)


def reply_topics(replies: Sequence[str], seed: int = 0) -> list[str]:
    """Topics without labels: k-means over TF-IDF of the normalised replies, k ~ sqrt(n / 2)."""
    from sklearn.cluster import KMeans
    from sklearn.feature_extraction.text import TfidfVectorizer

    n = len(replies)
    k = max(1, min(50, n // 2, round(math.sqrt(n / 2))))
    if k <= 1:
        return ["cluster-0"] * n
    matrix = TfidfVectorizer(min_df=1, sublinear_tf=True).fit_transform([normalise(r) for r in replies])
    ids = KMeans(n_clusters=k, n_init=3, random_state=seed).fit_predict(matrix)
    return [f"cluster-{int(i)}" for i in ids]


def canonical_answers(
    replies: Sequence[str], k: int, threshold: float = DEFAULT_THRESHOLD, seed: int = 0
) -> list[int]:
    """Indices of up to `k` replies that together match (cover) the most other replies; greedy."""
    rng = np.random.default_rng(seed)
    n = len(replies)
    cands = np.arange(n) if n <= MAX_CANDIDATES else np.sort(rng.choice(n, MAX_CANDIDATES, replace=False))
    targets = np.arange(n) if n <= MAX_TARGETS else np.sort(rng.choice(n, MAX_TARGETS, replace=False))
    words = [normalise(r).split() for r in replies]
    sims = np.array(
        [[token_similarity(words[c], words[t]) if c != t else 1.0 for t in targets] for c in cands]
    )
    covers = sims >= threshold
    chosen: list[int] = []
    covered = np.zeros(len(targets), dtype=bool)
    for _ in range(max(1, k)):
        # New replies covered first; mean similarity breaks ties (the most central reply).
        gain = (covers & ~covered).sum(axis=1) + sims.mean(axis=1) / 2
        gain[chosen] = -1.0
        best = int(gain.argmax())
        if chosen and gain[best] < 1.0:
            break
        chosen.append(best)
        covered |= covers[best]
    return [int(cands[i]) for i in chosen]


DRAFTS = ("consensus", "replies")


def build_library(
    replies: Sequence[str],
    topics: Sequence[str],
    answers_per_topic: int,
    threshold: float,
    seed: int = 0,
    drafts: str = "consensus",
) -> list[LibraryAnswer]:
    """The answer library of a history, approved, placeholders kept: per topic, with `drafts`
    "replies" the `answers_per_topic` canonical replies; with "consensus" the topic's consensus draft
    (`supportcue.consensus`) first, then the canonical replies after the first, up to the same count."""
    if drafts not in DRAFTS:
        raise SettingsError(f"--drafts must be one of {', '.join(DRAFTS)}, got {drafts!r}")
    by_topic: dict[str, list[int]] = defaultdict(list)
    for i, topic in enumerate(topics):
        by_topic[topic].append(i)
    answers: list[LibraryAnswer] = []
    console = Console(stderr=True)
    with Progress(console=console, transient=True, disable=not console.is_terminal) as progress:
        task = progress.add_task("building the answer library", total=len(by_topic))
        for topic in sorted(by_topic):
            texts = [replies[i] for i in by_topic[topic]]
            picked = canonical_answers(texts, answers_per_topic, threshold, seed)
            bodies = [texts[j] for j in picked]
            if drafts == "consensus":
                draft = consensus_draft(texts, seed=seed)
                bodies = [draft, *bodies[1:]] if draft else bodies
            for rank, body in enumerate(bodies):
                title = body.strip().splitlines()[0][:80] if body.strip() else topic
                answers.append(LibraryAnswer(f"{topic}#{rank}", topic, title, body))
            progress.advance(task)
    return answers


MODES = ("library", "llm", "hybrid")
TOPIC_TASK = "topic"
EVAL_PARAMS = {"require_filled_placeholders": False}
"""Held-out rows carry no case fields: placeholders stay in the suggestion instead of abstaining."""


def fit_stages(
    embedder: Embedder,
    settings: Settings,
    train_msgs: Sequence[Message],
    topics: Sequence[str],
    replies: Sequence[str],
    library: Sequence[LibraryAnswer],
    threshold: float,
    services: Services | None = None,
) -> dict[str, Stage | None]:
    """Every registered kind the train file can teach (and the settings ask for), fitted as `train`
    fits it; the rest off. `services` adds what the LLM modes need (the client, articles)."""
    routed: dict[str, Any] = {"library": library, "replies": replies}
    stages: dict[str, Stage | None] = {}
    bound = services or Services(embedder=embedder)
    for name in registry.names():
        kind = registry.kind(name)
        if not kind.enabled(settings):
            stages[name] = None
            continue
        stage = kind(**kind.params_from(settings)).bind(bound)
        overrides = {"match_threshold": threshold, **EVAL_PARAMS}
        stage.set_params(**{k: v for k, v in overrides.items() if k in stage.get_params()})
        extra = {r: routed[r] for r in kind.fit_requests}
        if kind.fit_data == "labels" and kind.label_task == TOPIC_TASK:
            stages[name] = stage.fit(train_msgs, list(topics), **extra)
        elif kind.fit_data == "history":
            stages[name] = stage.fit(train_msgs, None, None, **extra)
        elif kind.fit_data == "none":
            stages[name] = stage.fit([])
        else:
            stages[name] = None
    return stages


def run_suggest(
    train: Path,
    test: Path,
    text_col: str = "text",
    reply_col: str = "reply",
    label_col: str | None = None,
    predictions: Path | None = None,
    *,
    embedder: Embedder | None = None,
    settings: Settings | None = None,
    threshold: float | None = None,
    answers_per_topic: int = 3,
    seed: int = 0,
    drafts: str = "consensus",
    mode: str | None = None,
    llm: ChatClient | None = None,
    articles: Sequence[KBArticle] = (),
    concurrency: int = 8,
) -> dict[str, Any]:
    """Measure reply suggestion on a held-out file; keys as in DESIGN.md plus baseline figures."""
    started = time.perf_counter()
    settings = with_mode(settings or Settings(), mode)
    threshold = settings.match.threshold if threshold is None else threshold
    tr = load_pairs(train, text_col, reply_col, label_col)
    te = load_pairs(test, text_col, reply_col, label_col)
    embedder = embedder or default_embedder()
    train_vecs = embedder.embed(tr.texts)
    test_vecs = embedder.embed(te.texts)

    if tr.labels is not None:
        check_labels(train, tr.labels, str(label_col))
        topics = tr.labels
    else:
        topics = reply_topics(tr.replies, seed)
        if len(set(topics)) < 2:
            raise ImportDataError(
                f"{train}: the replies of its {len(tr.replies):,} row(s) make one topic only, and the "
                "topic stage needs two; give more rows, or the topics as --label-col"
            )
    library = build_library(tr.replies, topics, answers_per_topic, threshold, seed, drafts)
    train_msgs = [m.but(topic=t) for m, t in zip(messages(tr.texts, train_vecs), topics, strict=True)]
    services = Services(
        embedder=embedder,
        library=StaticLibrary(library),
        articles=StaticArticles(articles, embedder) if settings.uses_llm else None,
        llm=(llm or make_client(settings.llm)) if settings.uses_llm else None,
    )
    stages = fit_stages(embedder, settings, train_msgs, topics, tr.replies, library, threshold, services)
    pipeline = Pipeline(stages, embedder, settings.pipeline)
    fit_seconds = time.perf_counter() - started

    prepared = pipeline.prepare([SuggestRequest(t) for t in te.texts], test_vecs)
    if pipeline.has_blocking_stages:  # LLM calls wait on the network: run them side by side
        with ThreadPoolExecutor(max(1, concurrency)) as pool:
            suggestions = list(pool.map(pipeline.finish, prepared))
    else:
        suggestions = [pipeline.finish(p) for p in prepared]
    pipeline.close()
    topic_stage = next((n for n, s in stages.items() if s is not None and s.label_task == TOPIC_TASK), None)
    decided = [_decision(s.trace, topic_stage) for s in suggestions]

    sims: list[float] = []
    rows: list[dict[str, Any]] = []
    for i, suggestion in enumerate(suggestions):
        text = suggestion.text
        sim = similarity(text, te.replies[i]) if text else 0.0
        sims.append(sim)
        rows.append(
            {
                "text": te.texts[i],
                "reply": te.replies[i],
                "suggestion": text,
                "topic": decided[i],
                "similarity": round(sim, 4),
                "match": text is not None and sim >= threshold,
                "answer_id": suggestion.answer_id,
                "reason": suggestion.reason,
            }
        )

    nearest = (test_vecs @ train_vecs.T).argmax(axis=1) if len(tr.texts) else np.zeros(0, dtype=int)
    base = [similarity(tr.replies[int(j)], te.replies[i]) for i, j in enumerate(nearest)]
    ours, theirs = distribution(sims, threshold), distribution(base, threshold)
    matched = [getattr(s, "n_matched_", None) for s in stages.values() if s is not None]
    rouge = rouge_l([r["suggestion"] for r in rows], te.replies)
    base_rouge = rouge_l([tr.replies[int(j)] for j in nearest], te.replies)
    n_answered = sum(r["suggestion"] is not None for r in rows)
    result: dict[str, Any] = {
        "match_rate": ours.match_rate,
        "match_rate_answered": sum(r["match"] for r in rows) / n_answered if n_answered else None,
        "mean_similarity": ours.mean,
        "coverage": n_answered / max(1, len(rows)),
        "n_test": len(rows),
        "n_train": len(tr.texts),
        "threshold": threshold,
        "n_topics": len(set(topics)),
        "n_answers": len(library),
        "n_history_matched": next((m for m in matched if m is not None), 0),
        "baseline": "reply of the nearest training question",
        "baseline_match_rate": theirs.match_rate,
        "baseline_mean_similarity": theirs.mean,
        "relative_gain": (ours.match_rate / theirs.match_rate - 1.0) if theirs.match_rate else None,
        **rouge_figures(rouge, base_rouge, rows),
        "similarity_histogram": ours.histogram,
        "baseline_similarity_histogram": theirs.histogram,
        "pipeline": pipeline.version,
        "mode": settings.response.mode,
        **llm_usage(suggestions),
        "seconds": round(time.perf_counter() - started, 2),
        "fit_seconds": round(fit_seconds, 2),
        **overlap_figures(in_train(tr.texts, te.texts)),
    }
    if te.labels is not None:
        right = [d is not None and d == gold for d, gold in zip(decided, te.labels, strict=True)]
        result["topic_accuracy"] = sum(right) / max(1, len(right))
        result["topic_coverage"] = sum(d is not None for d in decided) / max(1, len(decided))
    if predictions is not None:
        write_rows(predictions, rows)
    return result


def rouge_l(suggestions: Sequence[str | None], references: Sequence[str]) -> list[float] | None:
    """ROUGE-L F1 of each suggestion against its reference (0 for None); None without `rouge-score`."""
    try:
        from rouge_score import rouge_scorer
    except ImportError:
        return None
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
    return [
        float(scorer.score(ref, text)["rougeL"].fmeasure) if text else 0.0
        for text, ref in zip(suggestions, references, strict=True)
    ]


def rouge_figures(
    ours: list[float] | None, baseline: list[float] | None, rows: list[dict[str, Any]]
) -> dict[str, Any]:
    """The result's ROUGE-L keys (and each prediction row's `rouge_l`); empty without `rouge-score`."""
    if ours is None or baseline is None:
        return {}
    for row, score in zip(rows, ours, strict=True):
        row["rouge_l"] = round(score, 4)
    mean, base = float(np.mean(ours)) if ours else 0.0, float(np.mean(baseline)) if baseline else 0.0
    return {"rouge_l": mean, "baseline_rouge_l": base, "rouge_l_ratio": mean / base if base else None}


def with_mode(settings: Settings, mode: str | None) -> Settings:
    """The settings with `[response] mode` set to `mode` (checked like a settings file)."""
    if mode is None:
        return settings
    if mode not in MODES:
        raise SettingsError(f"--mode must be one of {', '.join(MODES)}, got {mode!r}")
    changed = settings.model_copy(deep=True)
    changed.response.mode = mode  # type: ignore[assignment]
    problem = changed.llm_problem()
    if problem:
        raise SettingsError(f"--mode {mode}: {problem}")
    return changed


def llm_usage(suggestions: Sequence[Any]) -> dict[str, Any]:
    """LLM calls made, replies read from the cache instead (`llm_cached`: a rerun makes no call, and
    spends no token), drafts shown and tokens over a run's traces (zeros without LLM stages)."""
    calls = cached = shown = prompt = completion = 0
    for s in suggestions:
        for entry in s.trace:
            usage = (entry.get("extra") or {}).get("llm")
            if not usage:
                continue
            shown += entry["stage"] == "draft" and not entry["abstained"] and s.text is not None
            if usage.get("cached"):
                cached += 1
                continue
            calls += 1
            prompt += usage.get("prompt_tokens") or 0
            completion += usage.get("completion_tokens") or 0
    return {
        "llm_calls": calls,
        "llm_cached": cached,
        "drafts_shown": shown,
        "prompt_tokens": prompt,
        "completion_tokens": completion,
    }


def _decision(trace: Sequence[dict[str, Any]], stage: str | None) -> str | None:
    """The label a stage decided in a suggestion's trace (None when it abstained or did not run)."""
    for entry in trace:
        if entry["stage"] == stage and entry.get("mode") == "live":
            return None if entry["abstained"] else entry["label"]
    return None
