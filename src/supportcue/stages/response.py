"""Stage 3, response (retrieval mode): pick the best approved library answer of the message's topic.

The ranker learns from history. Each past agent reply is matched to the library answer it came from
(`monitoring.match.similarity` >= `match_threshold`), or the answer ids are given as `y`; each answer
then gets the centroid of the questions it answered and a prior from how often it was sent within its
topic. A new message scores every approved answer of its topic by

    rank = cos(question, answer's question centroid) + prior_weight * log prior

(an answer with no history uses its body's vector when an embedder is given). `prior_weight` is 0.1:
the prior breaks near-ties but must not outweigh a clearly closer answer (at 0.3, on the demo, the
payout-timing answer, sent 28 times, lost to the schedule answer, sent 75 times, for "When will my
payout hit my bank account?" at cosine 0.79 vs 0.60; the demo's match rate went from 0.666 to 0.697).

When the history holds the replies agents sent (`replies`), a topic's answers are ranked instead by
their *expected similarity* to the reply an agent would send this message:

    rank = (sum_j w_j sim(answer, reply_j) + shrink * mean_j sim(answer, reply_j)) / (1 + shrink)

over the `neighbors` past messages of the topic closest to the new one (w_j a softmax of their
cosines, temperature `neighbor_temperature`) and all of the topic's past replies (at most
`max_history` kept per topic); `sim` is `monitoring.match.token_similarity`, the product's match.
The second term is the answer's typicality (a medoid-like prior); the first follows the wording
agents used for look-alike questions. An answer approved after training is scored against the same
kept replies on first use. This ranks what agents actually wrote rather than which questions an
answer was matched to (matches need similarity >= `match_threshold`, which paraphrased replies
rarely reach): on Bitext it raised ROUGE-L against the held-out replies (BENCHMARKS.md).

The confidence is the softmax of the ranks over the candidates; `extra["score"]` is the best cosine
among the topic's candidates (how well the message fits them at all), compared with `min_score`.

It abstains, with the reason, when the message has no topic, the topic has no approved answer, the
best cosine is below `min_score`, the best answer is overdue for review, or the answer has a
placeholder that neither the case nor the workspace's `[placeholders]` constants can fill (named in
the reason). The customer's name is never such a placeholder: without it, a greeting line becomes
`[tone] greeting_fallback` and the name is left out elsewhere (`placeholders.fill_answer`). Retired
and draft answers are never candidates.

The library is a service (`Services.library`), not learned state: the stage reads the current
snapshot at every prediction, so an answer approved, edited or retired after training is used at
once. `min_score`, `review_grace_days`, the `[placeholders]` constants and the greeting without a name
are policy, re-read from the settings whenever the stage is loaded; what is saved is what history
taught (centroids, priors).
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Self

import numpy as np
import numpy.typing as npt

from supportcue.monitoring.match import DEFAULT_THRESHOLD, normalise, token_similarity
from supportcue.stages.base import FitData, Message, Outcome, Services, Stage, StageResult, utcnow
from supportcue.stages.library import AnswerLibrary, LibraryAnswer, LibrarySnapshot, StaticLibrary
from supportcue.stages.placeholders import case_values, fill_answer
from supportcue.vocab import AnswerStatus

if TYPE_CHECKING:
    from supportcue.embeddings import Embedder
    from supportcue.settings import Settings

__all__ = ["AnswerResult", "LibraryAnswer", "ResponseStage"]

Vector = npt.NDArray[np.float32]


@dataclass(frozen=True)
class AnswerResult(StageResult):
    """The chosen answer (`label` is its id), filled from the case, with the runners-up."""

    text: str | None = None
    score: float | None = None
    alternatives: tuple[Mapping[str, Any], ...] | None = None
    title: str | None = None
    version: int | None = None

    def defers(self) -> bool:
        """No library answer qualifies: in `hybrid` mode the LLM draft stage may still write one."""
        return self.abstained

    def advance(self, message: Message, outcome: Outcome) -> tuple[Message, Outcome]:
        text = self.text or ""
        return message.but(answer_id=self.label, answer_text=text), Outcome(
            outcome.topic, outcome.confidence, self.label, text, tuple(self.alternatives or ())
        )


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _unit(vector: npt.NDArray[np.float64] | Vector) -> Vector:
    out = np.asarray(vector, dtype=np.float32)
    norm = float(np.linalg.norm(out))
    return out / norm if norm > 0 else out


class ResponseStage(Stage):
    """Retrieval over the approved answer library, ranked per topic by what agents sent before."""

    name = "response"
    services = ("embedder", "library", "clock")
    policy = ("min_score", "review_grace_days", "constants", "nameless_greeting")
    fit_data: ClassVar[FitData] = "history"
    fit_requests = ("library", "replies")

    embedder: Embedder | None
    library: AnswerLibrary | None
    clock: Callable[[], datetime]
    # Class-level defaults: a model saved before these parameters existed loads with them.
    constants: Mapping[str, str] | None = None
    nameless_greeting: str = "Hi there,"
    neighbors: int = 10
    neighbor_temperature: float = 0.05
    shrink: float = 3.0
    max_history: int = 300

    def __init__(
        self,
        min_score: float = 0.35,
        review_grace_days: int = 0,
        match_threshold: float = DEFAULT_THRESHOLD,
        prior_weight: float = 0.1,
        temperature: float = 0.05,
        require_filled_placeholders: bool = True,
        max_alternatives: int = 2,
        constants: Mapping[str, str] | None = None,
        nameless_greeting: str = "Hi there,",
        neighbors: int = 10,
        neighbor_temperature: float = 0.05,
        shrink: float = 3.0,
        max_history: int = 300,
    ) -> None:
        self.embedder = None
        self.library = None
        self.clock = utcnow
        self.min_score = min_score
        self.review_grace_days = review_grace_days
        self.match_threshold = match_threshold
        self.prior_weight = prior_weight
        self.temperature = temperature
        self.require_filled_placeholders = require_filled_placeholders
        self.max_alternatives = max_alternatives
        self.constants = constants
        self.nameless_greeting = nameless_greeting
        self.neighbors = neighbors
        self.neighbor_temperature = neighbor_temperature
        self.shrink = shrink
        self.max_history = max_history

    @classmethod
    def params_from(cls, settings: Settings) -> dict[str, Any]:
        return {
            "min_score": settings.response.min_score,
            "review_grace_days": settings.response.review_grace_days,
            "match_threshold": settings.match.threshold,
            "constants": dict(settings.placeholders),
            "nameless_greeting": settings.tone.greeting_fallback,
        }

    # ---- learning -------------------------------------------------------------------------------
    def fit(
        self,
        X: Sequence[Message],
        y: Sequence[str] | None = None,
        sample_weight: Sequence[float] | None = None,
        *,
        library: Sequence[LibraryAnswer] = (),
        replies: Sequence[str] | None = None,
    ) -> Self:
        """Learn each answer's question centroid and prior from history (`y` answer ids, or `replies`).

        `library` is the library the history is matched against; it also serves predictions until
        another library is bound."""
        n = len(X)
        for name, seq in (("y", y), ("sample_weight", sample_weight), ("replies", replies)):
            if seq is not None and len(seq) != n:
                raise ValueError(f"{name} has {len(seq)} items but X has {n}")
        fitted_library = StaticLibrary(library)  # checks that ids are unique
        missing_vec = [i for i, m in enumerate(X) if m.vector is None]
        if missing_vec:
            raise ValueError(f"messages {missing_vec[:5]} have no vector: embed them before this stage")
        weights = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)

        for key in [k for k in vars(self) if k.endswith("_") and not k.startswith("_")]:
            delattr(self, key)
        known = {a.id: a for a in library}
        assigned = self._assign(X, y, replies, known)
        sums: dict[str, npt.NDArray[np.float64]] = {}
        counts: dict[str, float] = defaultdict(float)
        topic_sums: dict[str, npt.NDArray[np.float64]] = {}
        for i, answer_id in enumerate(assigned):
            vec = np.asarray(X[i].vector, dtype=np.float64) * weights[i]
            topic = X[i].topic
            if topic is not None:
                topic_sums[topic] = topic_sums.get(topic, 0.0) + vec
            if answer_id is None:
                continue
            sums[answer_id] = sums.get(answer_id, 0.0) + vec
            counts[answer_id] += float(weights[i])
        self.centroids_: dict[str, Vector] = {k: _unit(v) for k, v in sums.items()}
        self.counts_: dict[str, float] = dict(counts)
        self.topic_centroids_: dict[str, Vector] = {k: _unit(v) for k, v in topic_sums.items()}
        self.n_matched_ = sum(a is not None for a in assigned)
        self.history_ = self._keep_history(X, replies)
        if self.library is None:
            self.library = fitted_library
        self._warm()
        return self

    def _warm(self) -> None:
        """Score the library's answers against the kept replies now rather than on the first request."""
        if self.library is not None and getattr(self, "history_", None):
            for answer in self.library.snapshot().answers:
                if answer.status == AnswerStatus.APPROVED:
                    self._reply_sims(answer)

    def _keep_history(
        self, X: Sequence[Message], replies: Sequence[str] | None
    ) -> dict[str, tuple[Vector, list[list[str]]]]:
        """Per topic, up to `max_history` past messages' vectors and their replies' words (evenly
        spaced, so the sample is deterministic and spans the history)."""
        if replies is None:
            return {}
        rows: dict[str, list[int]] = defaultdict(list)
        for i, (message, reply) in enumerate(zip(X, replies, strict=True)):
            if message.topic is not None and reply and reply.strip():
                rows[message.topic].append(i)
        kept: dict[str, tuple[Vector, list[list[str]]]] = {}
        for topic, ids in rows.items():
            if len(ids) > self.max_history:
                ids = [ids[int(k)] for k in np.linspace(0, len(ids) - 1, self.max_history)]
            vectors = np.stack([_unit(np.asarray(X[i].vector)) for i in ids])
            words = [normalise(replies[i], X[i].customer_name).split() for i in ids]
            kept[topic] = (vectors, words)
        return kept

    def _reply_sims(self, answer: LibraryAnswer) -> npt.NDArray[np.float64] | None:
        """Similarity of an answer to each kept past reply of its topic (cached per answer version)."""
        history = getattr(self, "history_", {}).get(answer.topic)
        if history is None:
            return None
        cache: dict[tuple[str, int, str], npt.NDArray[np.float64]] = self.__dict__.setdefault("_sims", {})
        key = (answer.id, answer.version, answer.body)
        if key not in cache:
            words = normalise(answer.body).split()
            cache[key] = np.array([token_similarity(words, r) if r else 0.0 for r in history[1]])
        return cache[key]

    def _expected(self, query: Vector, topic: str, sims: npt.NDArray[np.float64]) -> float:
        """Expected similarity of an answer to the reply for `query`: neighbours' replies + typicality."""
        vectors = self.history_[topic][0]
        cos = vectors @ query if vectors.shape[1] == query.shape[0] else np.zeros(len(vectors))
        k = min(self.neighbors, len(cos))
        near = np.argpartition(-cos, k - 1)[:k] if k else np.zeros(0, dtype=np.intp)
        weights = np.exp((cos[near] - cos[near].max(initial=0.0)) / max(self.neighbor_temperature, 1e-6))
        local = float(weights @ sims[near] / weights.sum()) if k else 0.0
        return (local + self.shrink * float(sims.mean())) / (1.0 + self.shrink)

    def _assign(
        self,
        X: Sequence[Message],
        y: Sequence[str] | None,
        replies: Sequence[str] | None,
        known: Mapping[str, LibraryAnswer],
    ) -> list[str | None]:
        """The library answer each past message was answered with, or None."""
        if y is not None:
            return [label if label in known else None for label in y]
        if replies is None:
            return [None] * len(X)
        by_topic: dict[str | None, list[tuple[str, list[str]]]] = defaultdict(list)
        for answer in known.values():
            words = normalise(answer.body).split()
            by_topic[answer.topic].append((answer.id, words))
            by_topic[None].append((answer.id, words))
        out: list[str | None] = []
        for message, reply in zip(X, replies, strict=True):
            sent = normalise(reply or "", message.customer_name).split()
            best, best_sim = None, self.match_threshold
            for answer_id, words in by_topic.get(message.topic, by_topic[None]):
                sim = token_similarity(words, sent) if sent else 0.0
                if sim >= best_sim:
                    best, best_sim = answer_id, sim
            out.append(best)
        return out

    def bind(self, services: Services) -> Self:
        super().bind(services)
        if self.is_fitted() and self.library is not None and self.embedder is not None:
            self._snapshot()  # embed the answers now rather than on the first request
        if self.is_fitted():
            self._warm()
        return self

    def _snapshot(self) -> tuple[LibrarySnapshot, Mapping[str, Vector]]:
        """The bound library's current snapshot and the body vectors of its answers (embedded once
        per answer version, when the snapshot changes; kept out of the saved artifact)."""
        if self.library is None:
            raise ValueError("the response stage has no answer library: bind one (Services.library)")
        snapshot = self.library.snapshot()
        lock = self.__dict__.setdefault("_lock", threading.Lock())
        with lock:
            cached: tuple[LibrarySnapshot, dict[tuple[str, int, str], Vector]] | None = getattr(
                self, "_bodies", None
            )
            if cached is not None and cached[0] is snapshot:
                return snapshot, {k[0]: v for k, v in cached[1].items()}
            bodies = dict(cached[1]) if cached else {}
            keys = {(a.id, a.version, a.body): a for a in snapshot.answers}
            todo = [a for k, a in keys.items() if k not in bodies]
            if todo and self.embedder is not None:
                vectors = self.embedder.embed([f"{a.title}\n{a.body}" for a in todo])
                bodies.update({(a.id, a.version, a.body): vectors[i] for i, a in enumerate(todo)})
            bodies = {k: v for k, v in bodies.items() if k in keys}
            self._bodies = (snapshot, bodies)
            return snapshot, {k[0]: v for k, v in bodies.items()}

    # ---- prediction -----------------------------------------------------------------------------
    def _answer_vector(self, answer: LibraryAnswer, bodies: Mapping[str, Vector]) -> Vector | None:
        if answer.id in self.centroids_:
            return self.centroids_[answer.id]
        if answer.id in bodies:
            return bodies[answer.id]
        return self.topic_centroids_.get(answer.topic)

    def _query(self, message: Message) -> Vector | None:
        if message.vector is not None:
            return np.asarray(message.vector, dtype=np.float32)
        if self.embedder is not None:
            return np.asarray(self.embedder.embed([message.text])[0], dtype=np.float32)
        return None

    def predict(self, batch: Sequence[Message]) -> list[StageResult]:
        """The best approved answer of each message's topic, filled from the case, or an abstention."""
        self.check_fitted()
        if not batch:
            return []
        snapshot, bodies = self._snapshot()
        by_topic: dict[str, list[LibraryAnswer]] = defaultdict(list)
        for answer in sorted(snapshot.answers, key=lambda a: a.id):
            if answer.status == AnswerStatus.APPROVED:
                by_topic[answer.topic].append(answer)
        return [self._predict_one(m, by_topic, bodies) for m in batch]

    def _predict_one(
        self, message: Message, by_topic: Mapping[str, list[LibraryAnswer]], bodies: Mapping[str, Vector]
    ) -> StageResult:
        if not message.topic:
            return AnswerResult.abstain("no topic: the topic stage did not decide")
        candidates = by_topic.get(message.topic, [])
        if not candidates:
            return AnswerResult.abstain(f"no approved answer for topic {message.topic!r}")
        query = self._query(message)
        if query is None:
            return AnswerResult.abstain("the message has no vector and the stage has no embedder")
        scored: list[tuple[float, float, LibraryAnswer]] = []
        total = sum(self.counts_.get(a.id, 0.0) for a in candidates) + len(candidates)
        unit = _unit(query)
        for answer in candidates:
            vec = self._answer_vector(answer, bodies)
            cos = float(np.dot(query, vec)) if vec is not None and vec.shape == query.shape else 0.0
            sims = self._reply_sims(answer)
            if sims is not None and len(sims):
                rank = self._expected(unit, answer.topic, sims)
            else:
                prior = (self.counts_.get(answer.id, 0.0) + 1.0) / total
                rank = cos + self.prior_weight * float(np.log(prior))
            scored.append((rank, cos, answer))
        scored.sort(key=lambda s: (-s[0], s[2].id))
        ranks = np.array([s[0] for s in scored]) / max(self.temperature, 1e-6)
        probs = np.exp(ranks - ranks.max())
        probs /= probs.sum()
        confidence = float(np.clip(probs[0], 0.0, 1.0))
        best = scored[0][2]
        # How well the message fits the topic's answers at all: the best cosine among them (the
        # chosen answer's own, unless expected similarity ranked another answer first).
        score = float(np.clip(max(s[1] for s in scored), 0.0, 1.0))
        alternatives = tuple(
            {"id": a.id, "title": a.title, "score": round(float(np.clip(c, 0.0, 1.0)), 4)}
            for _, c, a in scored[1 : 1 + self.max_alternatives]
        )
        info: dict[str, Any] = {
            "score": score,
            "alternatives": alternatives,
            "title": best.title,
            "version": best.version,
        }
        if score < self.min_score:
            return AnswerResult.abstain(
                f"best answer {best.id} scores {score:.2f} < min_score {self.min_score:.2f}",
                confidence=confidence,
                label=best.id,
                **info,
            )
        if best.review_due_at is not None:
            due = _aware(best.review_due_at)
            if due + timedelta(days=self.review_grace_days) < _aware(self.clock()):
                return AnswerResult.abstain(
                    f"answer {best.id} overdue for review since {due.date().isoformat()}",
                    confidence=confidence,
                    label=best.id,
                    **info,
                )
        values = {
            **(self.constants or {}),
            **case_values(message.customer_name, message.agent_name, message.fields),
        }
        filled = fill_answer(best.body, values, self.nameless_greeting)
        if filled.missing and self.require_filled_placeholders:
            return AnswerResult.abstain(
                f"answer {best.id} has placeholders the case cannot fill: {', '.join(filled.missing)}",
                confidence=confidence,
                label=best.id,
                **info,
            )
        return AnswerResult(label=best.id, confidence=confidence, text=filled.text, **info)
