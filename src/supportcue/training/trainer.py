"""Fit stages from the store's labels, backtest them, version them, and put them live through the gate.

Every stage kind is fitted through the same interface, from what it declares (`stages/base.py`): a
kind trained on labels of its `label_task` gets every usable label (all sources, weighted; expired
labels excluded) and a backtest, time-ordered when the history allows it and stratified otherwise
(`split.py`); a kind trained on history gets the cases whose agent reply is known; the inputs it names
in `fit_requests` (the answer library, the replies) are routed to its `fit` by keyword.

`train` writes a candidate model version per kind, and embeds the KB articles' passages into the
workspace's embedding cache (the LLM modes retrieve them). A stage's first version goes live when it clears
the floors of `[gate]` (`gate.py`); below them it stays a candidate and its metrics say why. Later
versions go live through `promote`, which applies the same floors and refuses a candidate that is
worse than the live model on the same backtest. `--force` skips the gate; a version that was live
before comes back without a new backtest (a rollback).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from supportcue.data.store import Store
from supportcue.data.tables import Label, ModelVersion, utcnow
from supportcue.embeddings import Embedder
from supportcue.errors import PromotionRefused, SupportcueError
from supportcue.eval.labeled import in_train, overlap_figures
from supportcue.providers import library_answers, warm_articles
from supportcue.settings import Settings
from supportcue.stages import registry
from supportcue.stages.base import Message, Services, Stage
from supportcue.training import metrics
from supportcue.training.dataset import LabeledSet, labeled_cases
from supportcue.training.gate import advice, class_warnings, floors
from supportcue.training.metrics import PRECISION_TARGETS
from supportcue.training.registry import get_version, save_version
from supportcue.training.split import MIN_PART, Split, choose_split
from supportcue.vocab import MACHINE_SOURCES, PROPAGATION_ANNOTATOR, EventKind, LabelSource, ModelStatus

WAS_LIVE = (ModelStatus.PREVIOUS, ModelStatus.RETIRED)
"""Statuses only a version that was live can have: promoting one back is a rollback."""
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

    def _spread_within(self, task: str, split: Split, gold: LabeledSet) -> LabeledSet:
        """`task`'s training labels with `weak propagate`'s replaced by labels spread again from the
        people's labels on the split's training side to its other cases. The stored ones were spread
        from every label, the test's too: a test case's label reached its training look-alikes, and
        the backtest scored the model on what it had been told (a topic only the test cases carry
        looked learnt). Spread with the stored run's lowest confidence, at least `weak propagate`'s
        default of 0.7 when it kept none."""
        from supportcue.weak.workspace import spread_labels

        stored = [
            lb.confidence
            for lb in self.store.labels.list(task, sources=[LabelSource.WEAK])
            if lb.annotator == PROPAGATION_ANNOTATOR
        ]
        side = split.trains_on(gold)
        spread = spread_labels(
            self.store,
            self.settings,
            self.embedder,
            task,
            min_confidence=min(stored, default=0.7),
            within=lambda case: side(case.id, case.created_at),
        )
        return labeled_cases(
            self.store,
            task,
            self.settings.labels.source_weights,
            min_confidence=self.settings.labels.min_confidence,
            exclude_annotators=[PROPAGATION_ANNOTATOR],
            extra=[Label(subject=row["case_id"], created_at=utcnow(), **row) for row in spread.rows],
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

    def choose_split(self, data: LabeledSet, gold: LabeledSet, since: datetime | None = None) -> Split:
        """The backtest's split of `data`: time-ordered when the history allows it (see `split.py`)."""
        gate = self.settings.gate
        return choose_split(data, gold, gate.test_share, gate.min_time_spread_hours, since)

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

    def evaluate(
        self,
        name: str,
        params: dict[str, Any],
        data: LabeledSet,
        split: Split,
        gold: LabeledSet | None = None,
    ) -> dict[str, Any]:
        """Fit on the split's training cases with `params` (labels of every source), predict its test
        cases, which people labeled (`gold`), and measure against the people's labels."""
        gold = gold if gold is not None else self.labeled(data.task, human_only=True)
        if data.spread:
            data = self._spread_within(data.task, split, gold)
        train, test = split.parts(data, gold)
        if len(train) < MIN_PART or len(test) < MIN_PART:
            # training reads labels of every source, testing the people's only: say which is which
            by_people = len(split.parts(gold, gold)[0])
            raise SupportcueError(
                f"the {split.kind} split leaves {len(train)} training {data.task} label(s) of any source "
                f"({by_people} labeled by people) and {len(test)} test label(s) labeled by people (at "
                f"least {MIN_PART} of each are needed; {split.describe()})"
            )
        # a time cut tests only the people's labels after it: a case after it that no person labeled
        # (a weak or other machine label) is neither trained on nor tested, and the report says so
        people = set(gold.case_ids)
        after_cut = data.split(split.cut)[1].case_ids if split.cut is not None else []
        weak_after_cut = sum(case_id not in people for case_id in after_cut)
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
        targets = sorted({*PRECISION_TARGETS, self.settings.gate.target_precision})
        unseen = sorted(set(test.labels) - set(train.labels))
        # test cases whose text a training case holds (case and spacing ignored), as `eval` counts
        # them: a history repeats itself, and those rows measure recall of what the model was fitted on
        seen = in_train(train.texts, test.texts)
        new = [t == p for t, p, s in zip(test.labels, predicted, seen, strict=True) if not s]
        return {
            **overlap_figures(seen),
            "accuracy_unseen": sum(new) / len(new) if new else None,
            "unseen_labels": unseen,
            "split": {**split.as_dict(), "test_fingerprint": test.fingerprint()},
            "n_train": len(train),
            "n_test": len(test),
            "weak_after_cut": weak_after_cut,
            "summary": metrics.summary(test.labels, predicted),
            "summary_no_abstain": metrics.summary(test.labels, raw),
            "coverage": n_answered / len(test),
            "precision_answered": precision_answered,
            "per_label": metrics.per_label_report(test.labels, predicted),
            # the answers' mistakes, as `per_label` counts them: a declined case is no confusion
            "confusions": metrics.confusion_pairs(test.labels, predicted),
            "curve": metrics.coverage_precision_curve(correct, confidence),
            "coverage_at_precision": metrics.coverage_at_precision(correct, confidence, targets),
        }

    def backtest(
        self,
        stages: Sequence[str] | None = None,
        since: datetime | None = None,
        exclude_weak: bool = False,
        splits: Mapping[str, Split] | None = None,
    ) -> dict[str, Any]:
        """Evaluate the stages trained on labels, with their live (or default) settings; each stage's
        result says which split it used (`split`) and warns of labels with few cases (`warnings`).
        `splits` gives a stage the split of another backtest (the same test cases), instead of the
        one its data would choose."""
        tasks = registry.labeled()
        out: dict[str, Any] = {"cut": None, "embedder": self.embedder.name, "stages": {}}
        for name in stages or list(tasks):
            if name not in tasks:
                raise SupportcueError(f"{name!r} is not trained on labels; allowed: {', '.join(tasks)}")
            live = self.store.models.live(name)
            params = dict(live.params) if live else self.default_params(name)
            split = (splits or {}).get(name)
            _, out["stages"][name] = self.measure(name, params, exclude_weak, since, split)
            out["cut"] = out["stages"][name]["split"]["cut"]
        return out

    def measure(
        self,
        name: str,
        params: dict[str, Any],
        exclude_weak: bool = False,
        since: datetime | None = None,
        split: Split | None = None,
    ) -> tuple[LabeledSet, dict[str, Any]]:
        """A stage's labeled cases and its backtest with `params`: the split chosen for the data (or
        cut at `since`, or `split` as given), and `warnings` about labels the figures cannot speak for."""
        task = registry.labeled()[name]
        data, gold = self.labeled(task, exclude_weak), self.labeled(task, human_only=True)
        split = split or self.choose_split(data, gold, since)
        self._say(f"backtest {name}: {len(data)} labeled cases, {split.describe()}")
        result = self.evaluate(name, params, data, split, gold)
        minimum = self.settings.gate.min_labels_per_class
        result["warnings"] = (
            _unseen_warning(result) + _repeat_warning(result) + class_warnings(task, data.counts(), minimum)
        )
        if data.unmatched:
            result["warnings"].append(
                f"{len(data.unmatched):,} labeled case id(s) match no imported case (e.g. "
                f"{data.unmatched[0]}), so their {task} labels are not learned from: import those cases "
                "(`supportcue import cases FILE`) or fix the labels' case_id"
            )
        return data, result

    def train(self, stages: Sequence[str] | None = None, exclude_weak: bool = False) -> list[ModelVersion]:
        """Fit each stage, backtest the ones trained on labels, and write a model version; a stage's
        first version goes live when it clears the gate's floors (`metrics["gate"]` says why not)."""
        written = []
        for name in stages or registry.trainable():
            self._say(f"training {name}")
            params = stage_params(build_stage(name, self.default_params(name)))
            refused: list[str] = []
            if name in registry.labeled():
                data, result = self.measure(name, params, exclude_weak)
                result.pop("curve")
                result["cut"] = result["split"]["cut"]
                result["sources"] = data.sources
                result["classes"] = data.counts()
                result["exclude_weak"] = exclude_weak
                refused = floors(name, result, self.settings.gate)
                warnings = result.pop("warnings")
                result["gate"] = {"passed": not refused, "refused": refused, "warnings": warnings}
                self._say(f"fitting {name} on all {len(data)} labeled cases")
                stage = self.fit(name, data, params)
                fingerprint = data.fingerprint()
            else:
                stage = self.fit(name, None, params)
                fingerprint, result = "history", {}
            # the embedder is recorded so that serving can refuse vectors the model was not trained on
            result["embedder"] = self.embedder.name
            version = save_version(
                self.store, self.settings.models_dir, stage, fingerprint, stage_params(stage), result
            )
            if self.store.models.live(name) is None and not refused:
                version = self.store.models.promote(name, version.version)
            written.append(version)
        if stages is None:
            self.warm_sources()
        return written

    def warm_sources(self) -> None:
        """Embed the KB articles' passages (the LLM modes' sources) into the workspace's cache now, so
        that the first drafts made with this embedder do not wait on them."""
        if self.store.library.articles():
            self._say("embedding the KB articles' passages (the LLM modes' sources)")
            warm_articles(self.store, self.embedder)

    def promote(self, stage: str, version: str, force: bool = False) -> tuple[ModelVersion, str]:
        """Make `version` live through the gate: it must clear the floors and be no worse than the live
        model on the same backtest. A version that was live before comes back without a new backtest
        (a rollback); `force` skips the gate."""
        candidate = get_version(self.store, stage, version)
        live = self.store.models.live(stage)
        if live is not None and live.version == version:
            return live, "it is live already"
        was_live = candidate.promoted_at is not None or candidate.status in WAS_LIVE
        if was_live or force:
            why = "it was live before, so no new backtest" if was_live else "forced: the gate was not applied"
            return self.store.models.promote(stage, version), why + _replacing(live)
        if stage not in registry.labeled():
            return self.store.models.promote(stage, version), "no backtest to gate on" + _replacing(live)
        refused = floors(stage, candidate.metrics, self.settings.gate)
        if refused:
            raise PromotionRefused(
                f"{stage} {version} stays a candidate: {'; '.join(refused)}. "
                f"What to do: {advice(stage, version)}"
            )
        if live is None:
            note = "it clears the gate; no live model to compare with"
            return self.store.models.promote(stage, version), note
        new, old, where = self.compare(stage, candidate, live)
        note = f"backtest accuracy ({where}): candidate {new:.4f}, live {live.version} {old:.4f}"
        if new < old - GATE_TOLERANCE:
            raise PromotionRefused(
                f"{stage} {version} is worse than the live model ({note}); use --force to promote anyway"
            )
        return self.store.models.promote(stage, version), note

    def compare(self, stage: str, candidate: ModelVersion, live: ModelVersion) -> tuple[float, float, str]:
        """Backtest accuracy of the candidate and the live version on the same test cases: the recorded
        figures when both backtests saw the same ones (they also reflect differences in training data,
        e.g. weak labels, which a refit would hide), else both refitted on the candidate's split of
        today's data (or a split chosen afresh when that one no longer works)."""
        mine, theirs = candidate.metrics.get("split") or {}, live.metrics.get("split") or {}
        cut = candidate.metrics.get("cut")
        same = mine.get("test_fingerprint") and mine.get("test_fingerprint") == theirs.get("test_fingerprint")
        if same or (not mine and not theirs and cut and cut == live.metrics.get("cut")):
            split = Split.recorded(candidate.metrics)
            where = split.describe() if split else "recorded"
            return (
                float(candidate.metrics["summary"]["accuracy"]),
                float(live.metrics["summary"]["accuracy"]),
                f"recorded, {where}",
            )
        task = registry.labeled()[stage]
        data, gold = self.labeled(task), self.labeled(task, human_only=True)
        split = Split.recorded(candidate.metrics)
        try:
            if split is None or min(len(part) for part in split.parts(data, gold)) < MIN_PART:
                split = self.choose_split(data, gold)
            if data.spread:  # once for both evaluations, not in each
                data = self._spread_within(task, split, gold)
            new = self.evaluate(stage, dict(candidate.params), data, split, gold)["summary"]["accuracy"]
            old = self.evaluate(stage, dict(live.params), data, split, gold)["summary"]["accuracy"]
        except SupportcueError as exc:
            raise PromotionRefused(
                f"{stage} {candidate.version} cannot be compared with the live {live.version}: {exc}; "
                "use --force to promote it without the comparison"
            ) from None
        return float(new), float(old), split.describe()


def _repeat_warning(result: dict[str, Any]) -> list[str]:
    """Test cases whose text a training case holds: the figures partly measure what was fitted on."""
    n = int(result.get("test_in_train") or 0)
    if not n:
        return []
    unseen = result.get("accuracy_unseen")
    figure = f"; accuracy on the other test cases: {unseen:.3f}" if isinstance(unseen, float) else ""
    return [
        f"{n} of the {result['n_test']} test cases ({result['test_in_train_share']:.0%}) have a text "
        f"that a training case holds too (ignoring case and spacing), so the figures partly measure "
        f"cases the model was fitted on{figure}"
    ]


def _unseen_warning(result: dict[str, Any]) -> list[str]:
    unseen = set(result["unseen_labels"])
    if not unseen:
        return []
    n = sum(int(m["support"]) for label, m in result["per_label"].items() if label in unseen)
    shown = ", ".join(sorted(unseen)[:5]) + (f" and {len(unseen) - 5} more" if len(unseen) > 5 else "")
    return [
        f"{n} of the {result['n_test']} test cases have labels no training case has ({shown}): "
        "no model can get them right, so the figures say little about the model"
    ]


def _replacing(live: ModelVersion | None) -> str:
    return f" ({live.version} was live and is kept for rollback)" if live is not None else ""
