"""Fit stages from the store's labels, backtest them in time order, version and promote them.

`train` fits each stage on every usable label (all sources, weighted; expired labels excluded), runs
the time-ordered backtest to record its metrics, and writes a candidate model version. The first
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
from supportcue.settings import Settings
from supportcue.stages.base import Message, Stage
from supportcue.training import metrics
from supportcue.training.dataset import LabeledSet, labeled_cases
from supportcue.training.registry import get_version, load_live, save_version
from supportcue.vocab import MACHINE_SOURCES, EventKind, LabelSource

CLASSIFIER_STAGES = {"validation": "validity", "topic": "topic"}
TRAINABLE = ("validation", "topic", "response")
GATE_TOLERANCE = 0.002
"""A candidate may trail the live model by this much accuracy (noise) and still be promoted."""

Progress = Callable[[str], None]


def build_stage(name: str, params: dict[str, Any]) -> Stage:
    """A fresh, unfitted stage of `name` with the given hyper-parameters."""
    if name == "topic":
        from supportcue.stages.topic import TopicStage

        return TopicStage(**params)
    if name == "validation":
        from supportcue.stages.validation import ValidationStage

        return ValidationStage(**params)
    if name == "response":
        from supportcue.stages.response import ResponseStage

        return ResponseStage(**params)
    raise SupportcueError(f"unknown stage {name!r}; allowed: {', '.join(TRAINABLE)}")


def stage_params(stage: Stage) -> dict[str, Any]:
    """The constructor settings of a stage (sklearn style: public attributes not ending in `_`)."""
    getter = getattr(stage, "get_params", None)
    if callable(getter):
        return dict(getter())
    return {
        k: v for k, v in vars(stage).items() if not k.endswith("_") and not k.startswith("_") and _plain(v)
    }


def _plain(value: Any) -> bool:
    """A value that can be stored as JSON in a model version's params."""
    if isinstance(value, list | tuple):
        return all(_plain(v) for v in value)
    return isinstance(value, int | float | str | bool | type(None))


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
        if name == "validation":
            v = self.settings.validation
            return {
                "rules": list(v.rules),
                "custom_rules": list(v.invalid_patterns),
                "valid_recall": v.valid_recall,
                "margin": v.margin,
            }
        if name == "response":
            return {
                "min_score": self.settings.response.min_score,
                "review_grace_days": self.settings.response.review_grace_days,
                "match_threshold": self.settings.match.threshold,
            }
        return {}

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

    def default_cut(self, data: LabeledSet, test_share: float = 0.2) -> datetime:
        if len(data) < 10:
            raise SupportcueError(
                f"only {len(data)} {data.task} labels: need at least 10 to train and backtest"
            )
        ordered = sorted(data.created_at)
        return ordered[int(len(ordered) * (1 - test_share))]

    def fit(self, name: str, data: LabeledSet, params: dict[str, Any] | None = None) -> Stage:
        stage = build_stage(name, params or {})
        if name == "validation":
            topics = self.labeled("topic")
            stage.fit(self.messages(data.texts), data.labels, data.weights)
            fit_topics = getattr(stage, "fit_topics", None)
            if callable(fit_topics) and len(topics):
                fit_topics(self.messages(topics.texts), topics.labels)
            return stage
        if name == "response":
            stage.embedder = self.embedder  # type: ignore[attr-defined]
            return self.fit_response(stage)
        return stage.fit(self.messages(data.texts), data.labels, data.weights)

    def fit_response(self, stage: Stage) -> Stage:
        """Learn from history: every case whose agent reply is known, against the answer library."""
        from supportcue.training.loader import library_of

        library = library_of(self.store)
        sent = {e.case_id: e.text for e in self.store.events.list(kind=EventKind.SENT) if e.text}
        cases = [c for c in self.store.cases.list() if c.id in sent]
        messages = self.messages([c.message for c in cases])
        for message, case in zip(messages, cases, strict=True):
            message.customer_name = case.customer_name
        stage.fit(messages, None, None, library=library, replies=[sent[c.id] for c in cases])  # type: ignore[call-arg]
        return stage

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
        stages: Sequence[str] = ("validation", "topic"),
        since: datetime | None = None,
        exclude_weak: bool = False,
    ) -> dict[str, Any]:
        """Time-ordered evaluation of the classifier stages with their live (or default) settings."""
        out: dict[str, Any] = {"cut": None, "embedder": self.embedder.name, "stages": {}}
        for name in stages:
            data = self.labeled(CLASSIFIER_STAGES[name], exclude_weak)
            cut = since or self.default_cut(data)
            out["cut"] = cut.isoformat()
            live = self.store.models.live(name)
            self._say(f"backtest {name}: {len(data)} labeled cases, cut {cut:%Y-%m-%d}")
            params = dict(live.params) if live else self.default_params(name)
            out["stages"][name] = self.evaluate(name, params, data, cut)
        return out

    def train(self, stages: Sequence[str] = TRAINABLE, exclude_weak: bool = False) -> list[ModelVersion]:
        """Fit each stage on all its labels, backtest it, and write a model version."""
        written = []
        for name in stages:
            self._say(f"training {name}")
            if name == "response":
                stage = self.fit("response", LabeledSet("answer"), self.default_params("response"))
                version = save_version(
                    self.store, self.settings.models_dir, stage, "history", stage_params(stage), {}
                )
            else:
                data = self.labeled(CLASSIFIER_STAGES[name], exclude_weak)
                cut = self.default_cut(data)
                params = stage_params(build_stage(name, self.default_params(name)))
                self._say(f"backtest {name}: {len(data)} labeled cases, cut {cut:%Y-%m-%d}")
                result = self.evaluate(name, params, data, cut)
                result.pop("curve")
                result["cut"] = cut.isoformat()
                result["sources"] = data.sources
                result["exclude_weak"] = exclude_weak
                self._say(f"fitting {name} on all {len(data)} labeled cases")
                stage = self.fit(name, data, params)
                version = save_version(
                    self.store,
                    self.settings.models_dir,
                    stage,
                    data.fingerprint(),
                    stage_params(stage),
                    result,
                )
            if self.store.models.live(name) is None:
                version = self.store.models.promote(name, version.version)
            written.append(version)
        return written

    def promote(self, stage: str, version: str, force: bool = False) -> tuple[ModelVersion, str]:
        """Make `version` live unless it is worse than the live model on the same backtest."""
        candidate = get_version(self.store, stage, version)
        live = load_live(self.store, stage)
        note = "no live model to compare with"
        if live is not None and stage in CLASSIFIER_STAGES and live[1].version != version:
            data = self.labeled(CLASSIFIER_STAGES[stage])
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
