"""Fit stages from the store's labels, backtest them in time order, version and promote them.

Every stage kind is fitted through the same interface, from what it declares (`stages/base.py`): a
kind trained on labels of its `label_task` gets every usable label (all sources, weighted; expired
labels excluded) and a time-ordered backtest; a kind trained on history gets the cases whose agent
reply is known; the inputs it names in `fit_requests` (the answer library, the replies) are routed
to its `fit` by keyword. `train` writes a candidate model version per kind, and embeds the KB
articles' passages into the workspace's embedding cache (the LLM modes retrieve them). The first
version of a stage goes live at once (there is nothing to compare it with); later ones go live through
`promote`, whose gate refits the live version's hyper-parameters on the same cut and refuses a
candidate that is worse unless forced.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from supportcue.data.store import Store
from supportcue.data.tables import ModelVersion
from supportcue.embeddings import Embedder
from supportcue.errors import PromotionRefused, SupportcueError
from supportcue.providers import library_answers, warm_articles
from supportcue.settings import Settings
from supportcue.stages import registry
from supportcue.stages.base import Message, Services, Stage
from supportcue.training import metrics
from supportcue.training.dataset import LabeledSet, labeled_cases
from supportcue.training.registry import get_version, load_live, save_version
from supportcue.vocab import MACHINE_SOURCES, EventKind, LabelSource

GATE_TOLERANCE = 0.002
"""A candidate may trail the live model by this much accuracy (noise) and still be promoted."""

Progress = Callable[[str], None]


def build_stage(name: str, params: dict[str, Any]) -> Stage:
    """A fresh, unfitted stage of kind `name` with the given hyper-parameters."""
    return registry.kind(name)(**params)


def stage_params(stage: Stage) -> dict[str, Any]:
    """The constructor settings of a stage that can be stored as JSON with its model version."""
    return {k: v for k, v in stage.get_params().items() if _plain(v)}


def _plain(value: Any) -> bool:
    """A value that can be stored as JSON in a model version's params."""
    if isinstance(value, list | tuple):
        return all(_plain(v) for v in value)
    return isinstance(value, int | float | str | bool | type(None))


@dataclass
class History:
    """Past cases whose agent reply is known: what `fit_data = "history"` stages learn from."""

    messages: list[Message]
    replies: list[str]


@dataclass
class Trainer:
    store: Store
    settings: Settings
    embedder: Embedder
    progress: Progress | None = None

    def _say(self, text: str) -> None:
        if self.progress:
            self.progress(text)

    def default_params(self, name: str) -> dict[str, Any]:
        """Hyper-parameters that come from the workspace's settings."""
        return registry.kind(name).params_from(self.settings)

    def messages(self, texts: Sequence[str]) -> list[Message]:
        vectors = self.embedder.embed(list(texts))
        return [Message(text=t, vector=v) for t, v in zip(texts, vectors, strict=True)]

    def labeled(self, task: str, exclude_weak: bool = False, human_only: bool = False) -> LabeledSet:
        """Training labels of a task; `human_only` keeps the people's labels (the backtests' gold)."""
        excluded = MACHINE_SOURCES if human_only else ((LabelSource.WEAK,) if exclude_weak else ())
        return labeled_cases(
            self.store,
            task,
            self.settings.labels.source_weights,
            exclude_sources=excluded,
            min_confidence=self.settings.labels.min_confidence,
        )

    def history(self) -> History:
        """Every case whose agent reply is known, embedded, with its customer's name."""
        sent = {e.case_id: e.text for e in self.store.events.list(kind=EventKind.SENT) if e.text}
        cases = [c for c in self.store.cases.list() if c.id in sent]
        messages = [
            m.but(customer_name=c.customer_name)
            for m, c in zip(self.messages([c.message for c in cases]), cases, strict=True)
        ]
        return History(messages, [sent[c.id] for c in cases])

    def default_cut(self, data: LabeledSet, test_share: float = 0.2) -> datetime:
        if len(data) < 10:
            raise SupportcueError(
                f"only {len(data)} {data.task} labels: need at least 10 to train and backtest"
            )
        ordered = sorted(data.created_at)
        return ordered[int(len(ordered) * (1 - test_share))]

    def fit(self, name: str, data: LabeledSet | None = None, params: dict[str, Any] | None = None) -> Stage:
        """Fit a stage of kind `name` on what it declares: labels (`data`), history, or nothing.

        The inputs a kind asks for in `fit_requests` are routed to its `fit` by keyword."""
        kind = registry.kind(name)
        stage = kind(**(params or {})).bind(Services(embedder=self.embedder))
        available: dict[str, Callable[[], Any]] = {"library": lambda: library_answers(self.store)}
        if kind.fit_data == "labels":
            if data is None:
                raise SupportcueError(f"the {name} stage learns from {kind.label_task} labels: none given")
            X, y, weights = self.messages(data.texts), data.labels, data.weights
        elif kind.fit_data == "history":
            past = self.history()
            X, y, weights = past.messages, None, None
            available["replies"] = lambda: past.replies
        else:
            X, y, weights = [], None, None
        missing = [r for r in kind.fit_requests if r not in available]
        if missing:
            raise SupportcueError(f"the {name} stage asks for fit inputs {missing} that training cannot give")
        routed = {r: available[r]() for r in kind.fit_requests}
        return stage.fit(X, y, weights, **routed)

    def evaluate(self, name: str, params: dict[str, Any], data: LabeledSet, cut: datetime) -> dict[str, Any]:
        """Fit on cases before `cut` with `params` (labels of every source), predict the cases after
        that people labeled, and measure against the people's labels."""
        train, _ = data.split(cut)
        _, test = self.labeled(data.task, human_only=True).split(cut)
        if len(train) < 5 or len(test) < 5:
            raise SupportcueError(
                f"cut {cut:%Y-%m-%d} leaves {len(train)} train / {len(test)} test {data.task} labels"
            )
        stage = self.fit(name, train, params)
        results = stage.predict(self.messages(test.texts))
        predicted = [None if r.abstained else r.label for r in results]
        raw = [r.label for r in results]
        answered = [p is not None for p in predicted]
        correct = [t == p for t, p in zip(test.labels, raw, strict=True)]
        confidence = [r.confidence for r in results]
        n_answered = sum(answered)
        precision_answered = (
            sum(c for c, a in zip(correct, answered, strict=True) if a) / n_answered if n_answered else 0.0
        )
        return {
            "n_train": len(train),
            "n_test": len(test),
            "summary": metrics.summary(test.labels, predicted),
            "summary_no_abstain": metrics.summary(test.labels, raw),
            "coverage": n_answered / len(test),
            "precision_answered": precision_answered,
            "per_label": metrics.per_label_report(test.labels, predicted),
            "confusions": metrics.confusion_pairs(test.labels, raw),
            "curve": metrics.coverage_precision_curve(correct, confidence),
            "coverage_at_precision": metrics.coverage_at_precision(correct, confidence),
        }

    def backtest(
        self,
        stages: Sequence[str] | None = None,
        since: datetime | None = None,
        exclude_weak: bool = False,
    ) -> dict[str, Any]:
        """Time-ordered evaluation of the stages trained on labels, with their live (or default) settings."""
        tasks = registry.labeled()
        out: dict[str, Any] = {"cut": None, "embedder": self.embedder.name, "stages": {}}
        for name in stages or list(tasks):
            if name not in tasks:
                raise SupportcueError(f"{name!r} is not trained on labels; allowed: {', '.join(tasks)}")
            data = self.labeled(tasks[name], exclude_weak)
            cut = since or self.default_cut(data)
            out["cut"] = cut.isoformat()
            live = self.store.models.live(name)
            self._say(f"backtest {name}: {len(data)} labeled cases, cut {cut:%Y-%m-%d}")
            params = dict(live.params) if live else self.default_params(name)
            out["stages"][name] = self.evaluate(name, params, data, cut)
        return out

    def train(self, stages: Sequence[str] | None = None, exclude_weak: bool = False) -> list[ModelVersion]:
        """Fit each stage, backtest the ones trained on labels, and write a model version."""
        tasks = registry.labeled()
        written = []
        for name in stages or registry.trainable():
            self._say(f"training {name}")
            params = stage_params(build_stage(name, self.default_params(name)))
            if name in tasks:
                data = self.labeled(tasks[name], exclude_weak)
                cut = self.default_cut(data)
                self._say(f"backtest {name}: {len(data)} labeled cases, cut {cut:%Y-%m-%d}")
                result = self.evaluate(name, params, data, cut)
                result.pop("curve")
                result["cut"] = cut.isoformat()
                result["sources"] = data.sources
                result["exclude_weak"] = exclude_weak
                self._say(f"fitting {name} on all {len(data)} labeled cases")
                stage = self.fit(name, data, params)
                fingerprint = data.fingerprint()
            else:
                stage = self.fit(name, None, params)
                fingerprint, result = "history", {}
            version = save_version(
                self.store, self.settings.models_dir, stage, fingerprint, stage_params(stage), result
            )
            if self.store.models.live(name) is None:
                version = self.store.models.promote(name, version.version)
            written.append(version)
        if stages is None and self.store.library.articles():
            self._say("embedding the KB articles' passages (the LLM modes' sources)")
            warm_articles(self.store, self.embedder)
        return written

    def promote(self, stage: str, version: str, force: bool = False) -> tuple[ModelVersion, str]:
        """Make `version` live unless it is worse than the live model on the same backtest."""
        candidate = get_version(self.store, stage, version)
        live = load_live(self.store, stage)
        note = "no live model to compare with"
        tasks = registry.labeled()
        if live is not None and stage in tasks and live[1].version != version:
            data = self.labeled(tasks[stage])
            recorded = candidate.metrics.get("cut")
            cut = datetime.fromisoformat(recorded) if recorded else self.default_cut(data)
            if recorded and live[1].metrics.get("cut") == recorded:
                # same cut: the recorded backtests saw the same test cases, and they also reflect
                # differences in training data (e.g. weak labels), which a refit would hide
                new = float(candidate.metrics["summary"]["accuracy"])
                old = float(live[1].metrics["summary"]["accuracy"])
            else:
                new = self.evaluate(stage, dict(candidate.params), data, cut)["summary"]["accuracy"]
                old = self.evaluate(stage, dict(live[1].params), data, cut)["summary"]["accuracy"]
            note = (
                f"backtest accuracy at cut {cut:%Y-%m-%d}: candidate {new:.4f}, "
                f"live {live[1].version} {old:.4f}"
            )
            if new < old - GATE_TOLERANCE and not force:
                raise PromotionRefused(
                    f"{stage} {version} is worse than the live model ({note}); use --force to promote anyway"
                )
        return self.store.models.promote(stage, version), note
