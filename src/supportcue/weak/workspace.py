"""Weak supervision over a workspace's cases: apply the labeling functions, combine their votes, store.

The functions are the workspace's own (Python modules listed in `supportcue.toml` under
`labeling_functions`) plus one built in: the answer-match heuristic (an agent's sent reply that matches
a library answer implies that answer's topic). Snorkel's label model and a majority vote are both fitted;
the one more accurate on the human gold labels is used, and the report says which. Labels are stored
with source `weak`, the function set's version and the label model's confidence, and expire after
`WEAK_LABEL_DAYS` so that stale rules stop feeding training.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np

from supportcue.data.columns import VALIDITY_VALUES
from supportcue.data.store import Store
from supportcue.data.tables import Case, utcnow
from supportcue.embeddings import Embedder
from supportcue.errors import SettingsError, TrainingDataError
from supportcue.settings import CONFIG_NAME, Settings
from supportcue.training.dataset import resolve
from supportcue.vocab import (
    HUMAN_SOURCES,
    PROPAGATION_ANNOTATOR,
    AnswerStatus,
    EventKind,
    LabelSource,
    LabelTask,
)
from supportcue.weak.analysis import LFAnalysis, analyze_lfs
from supportcue.weak.apply import ABSTAIN_INDEX, ApplyResult, apply_lfs
from supportcue.weak.label_model import choose_label_model, held_out_accuracy
from supportcue.weak.lf import LabelingFunction, LFInput, answer_match_lf, load_lfs_from_modules

WEAK_LABEL_DAYS = 90
BATCH_ANNOTATOR = "batch"
"""The annotator of `supportcue batch label`'s weak labels, which `weak apply` leaves in place."""
LABEL_MODELS = ("majority", "label_model")


def label_model_annotator(name: str) -> str:
    """The annotator of `weak apply`'s labels combined by the label model `name`."""
    return f"label_model:{name}"


@dataclass
class WeakRun:
    task: str
    cases: list[str]
    applied: ApplyResult
    gold: np.ndarray[Any, np.dtype[np.int64]]
    summary: dict[str, Any] = field(default_factory=dict)
    known: int = -1
    """How many of `applied.label_names` (the first ones) are labels the task may take; the others
    are values the functions gave that no topic (or validity value) has. -1: all of them."""

    def votes(self) -> np.ndarray[Any, np.dtype[np.int64]]:
        """The label matrix with every vote for an unknown label turned into an abstention."""
        return known_votes(self.applied.matrix, self.known)

    def unknown_labels(self) -> dict[str, dict[str, int]]:
        return unknown_votes(self.applied, self.known)


def known_labels(store: Store, task: str, people: PeopleLabels) -> list[str]:
    """The labels a task's weak labels may take, sorted: the topics of the workspace (its answers' and
    the people's labels') for `topic`, valid and invalid for `validity`, the people's values else.
    A function voting anything else is mistaken (a misspelt key, a topic nobody answers): its vote
    is not counted, and `unknown_votes` names it. An empty list (a workspace with no topic yet) checks
    nothing: every vote counts."""
    if task == LabelTask.TOPIC:
        return sorted({*people.values, *(t.key for t in store.library.topics())})
    if task == LabelTask.VALIDITY:
        return sorted({*people.values, *VALIDITY_VALUES})
    return sorted(people.values)


def known_votes(
    matrix: np.ndarray[Any, np.dtype[np.int64]], known: int
) -> np.ndarray[Any, np.dtype[np.int64]]:
    """`matrix` with the votes for a label index `known` or above (an unknown label) abstaining."""
    if known < 0:
        return matrix
    votes = matrix.copy()
    votes[votes >= known] = ABSTAIN_INDEX
    return votes


def unknown_votes(applied: ApplyResult, known: int) -> dict[str, dict[str, int]]:
    """Per function, the unknown labels it voted and on how many cases (functions with none left out)."""
    out: dict[str, dict[str, int]] = {}
    if known < 0:
        return out
    for j, name in enumerate(applied.lf_names):
        column = applied.matrix[:, j]
        values, counts = np.unique(column[column >= known], return_counts=True)
        if len(values):
            out[name] = {applied.label_names[int(v)]: int(n) for v, n in zip(values, counts, strict=True)}
    return out


def unknown_labels_warning(task: str, unknown: dict[str, dict[str, int]]) -> str | None:
    """One line naming the functions that voted unknown labels, for the CLI to print."""
    if not unknown:
        return None
    said = "; ".join(
        f"{lf}: " + ", ".join(f"{value!r} ({n:,} case(s))" for value, n in values.items())
        for lf, values in unknown.items()
    )
    allowed = (
        "a topic of the workspace (an answer's topic or a person's topic label)"
        if task == LabelTask.TOPIC
        else " or ".join(repr(v) for v in VALIDITY_VALUES)
        if task == LabelTask.VALIDITY
        else "a value people gave"
    )
    return (
        f"labeling functions voted labels that are not {allowed}, and those votes were not counted: "
        f"{said}. Fix the label in the function"
        + (", or import an answer or a person's label for that topic" if task == LabelTask.TOPIC else "")
    )


@dataclass
class PeopleLabels:
    """The people's labels of a task, per case, weighed as training weighs them."""

    gold: dict[str, str]
    """Case -> the value with the largest total weight (`[labels.source_weights]` x confidence);
    of values that tie, the one labeled last (as training reads it)."""
    cases: set[str]
    """Every case a person labeled."""
    values: set[str]
    """Every value people gave."""


def people_labels(store: Store, settings: Settings, task: str) -> PeopleLabels:
    """The gold of weak supervision: the people's label of each case, the value that weighs most (an
    agent's label stored after an expert's does not win by coming last), and of values that weigh the
    same the one labeled last: the rule training reads labels by (`training.dataset.resolve`), so a
    reviewer's correction of an expert's topic is the gold too (a tie was no gold)."""
    weights = settings.labels.source_weights
    people = [lb for lb in store.labels.list(task, sources=HUMAN_SOURCES) if lb.case_id]
    resolved = resolve(
        (lb.case_id, lb.value, weights.get(lb.source, 0.5) * lb.confidence, lb.created_at)
        for lb in people
        if lb.case_id
    )
    gold = {case_id: value for case_id, (value, _) in resolved.items()}
    return PeopleLabels(gold, {str(lb.case_id) for lb in people}, {lb.value for lb in people})


def workspace_lfs(store: Store, settings: Settings, task: str) -> list[LabelingFunction]:
    """The workspace's labeling functions for `task`, with the built-in answer-match heuristic."""
    lfs = [
        lf for lf in load_lfs_from_modules(settings.labeling_functions, settings.workspace) if lf.task == task
    ]
    if task == LabelTask.TOPIC:
        library = {a.id: (a.topic, a.body) for a in store.library.answers() if a.status != AnswerStatus.DRAFT}
        if library:
            lfs.append(answer_match_lf(library, threshold=settings.match.threshold))
    return lfs


def lf_set_version(lfs: list[LabelingFunction]) -> str:
    digest = hashlib.sha1("|".join(f"{lf.name}:{lf.version}" for lf in lfs).encode()).hexdigest()
    return f"lfs-{digest[:10]}"


def no_lfs_error(settings: Settings, task: str) -> SettingsError:
    """The error for a workspace with no labeling function for `task`: where to write and list one."""
    config = settings.workspace / CONFIG_NAME
    listed = ", ".join(settings.labeling_functions)
    found = f"the files listed in {config} ({listed}) define none" if listed else f"{config} lists none"
    builtin = " (the built-in answer match needs approved answers)" if task == LabelTask.TOPIC else ""
    return SettingsError(
        f"no labeling functions for task {task!r}{builtin}: {found}. Write them in a Python file "
        f"(keyword_lf, regex_lf or @labeling_function(task={task!r}) from supportcue.weak) and list "
        f"the file in labeling_functions"
    )


def apply_to_cases(
    store: Store, settings: Settings, task: str, embedder: Embedder | None = None, progress: bool = True
) -> WeakRun:
    """Apply the task's labeling functions to every case; gold = the human labels of the task."""
    lfs = workspace_lfs(store, settings, task)
    if not lfs:
        raise no_lfs_error(settings, task)
    cases = store.cases.list()
    sent = {e.case_id: e.text for e in store.events.list(kind=EventKind.SENT) if e.text}
    vectors = embedder.embed([c.message for c in cases]) if embedder is not None else None
    inputs = [
        LFInput(text=c.message, vector=None if vectors is None else vectors[i], sent_reply=sent.get(c.id))
        for i, c in enumerate(cases)
    ]
    people = people_labels(store, settings, task)
    human = people.gold
    label_names = known_labels(store, task, people)
    applied = apply_lfs(lfs, inputs, label_names=label_names, progress=progress)
    index = {name: i for i, name in enumerate(applied.label_names)}
    gold = np.array([index.get(human.get(c.id, ""), ABSTAIN_INDEX) for c in cases], dtype=np.int64)
    # a workspace with no topic yet (no answer, no person's label) has none to check the votes against
    return WeakRun(task, [c.id for c in cases], applied, gold, known=len(label_names) if label_names else -1)


def analyze(run: WeakRun) -> LFAnalysis:
    return analyze_lfs(run.applied.matrix, run.applied.lf_names, run.applied.label_names, gold=run.gold)


def label_cases(store: Store, settings: Settings, run: WeakRun, store_labels: bool = True) -> dict[str, Any]:
    """Combine the votes (label model or majority, whichever is better on gold) and store weak labels."""
    L = run.votes()  # a vote for a label no topic has (a misspelt key) is no vote
    cardinality = max(2, len(run.applied.label_names) if run.known < 0 else run.known)
    gold_rows = np.where(run.gold != ABSTAIN_INDEX)[0]
    choice = choose_label_model(L, gold_rows, run.gold[gold_rows], cardinality=cardinality)
    # a tie (two functions disagreeing, nothing to tell them apart) labels nothing, as in snorkel
    predicted, confidence = choice.model.predict_with_confidence(L, tie_break="abstain")
    voted = predicted != ABSTAIN_INDEX
    on_gold = voted & (run.gold != ABSTAIN_INDEX)
    accuracy = float((predicted[on_gold] == run.gold[on_gold]).mean()) if on_gold.any() else None
    # `accuracy` is read on the labels the model was chosen on: chosen on half, scored on the other
    held_out, held_out_cases = held_out_accuracy(choice, L, gold_rows, run.gold[gold_rows])
    version = lf_set_version(workspace_lfs(store, settings, run.task))
    eligible = np.ones(len(run.cases), dtype=bool)
    if run.task == LabelTask.TOPIC:  # a message people judged not to be a question gets no topic
        invalid = judged_invalid(store)
        eligible = np.array([c not in invalid for c in run.cases], dtype=bool)
        voted &= eligible
    unlabeled = voted & (run.gold == ABSTAIN_INDEX)
    rows = [
        {
            "case_id": run.cases[i],
            "task": run.task,
            "value": run.applied.label_names[int(predicted[i])],
            "source": LabelSource.WEAK,
            "annotator": label_model_annotator(choice.name),
            "confidence": float(confidence[i]),
            "expires_at": utcnow() + timedelta(days=WEAK_LABEL_DAYS),
            "version": version,
        }
        for i in np.where(voted)[0]
    ]
    if store_labels:
        # a new function set replaces its old labels, whichever model combined them; `batch label`'s
        # back-fill and `weak propagate`'s labels are theirs to replace
        mine = [label_model_annotator(name) for name in LABEL_MODELS]
        store.labels.replace(LabelSource.WEAK, run.task, mine, rows)
    n_unlabeled = int(((run.gold == ABSTAIN_INDEX) & eligible).sum())
    note = choice.note if run.cases else "no cases to label: import them with `supportcue import cases FILE`"
    return {
        "task": run.task,
        "cases": len(run.cases),
        "label_model": choice.name,
        "label_model_scores_on_gold": choice.scores,
        "note": note,
        "coverage": float(voted.mean()) if len(run.cases) else 0.0,
        "coverage_of_unlabeled": float(unlabeled.sum() / n_unlabeled) if n_unlabeled else 0.0,
        "accuracy_on_gold": accuracy,
        "accuracy_on_gold_held_out": held_out,
        "held_out_gold_cases": held_out_cases,
        "stored": len(rows) if store_labels else 0,
        "version": version,
        "failures": run.applied.failures,
        "unknown_labels": run.unknown_labels(),
    }


def judged_invalid(store: Store) -> set[str]:
    """Cases judged not to be a question: they get no topic (`weak apply`, `batch label`, `weak
    propagate`). A person's `invalid` decides (as it always did); on cases no person judged, the
    live machine labels (`weak apply --task validity`, `batch label`) do, by majority. Without them,
    propagation gave "ok", "thanks!" or a thumbs-up the topic of the nearest labeled question at
    0.7-0.8 confidence, and those rows then trained the topic stage, though the workspace's own
    validity labels called them chit-chat."""
    people: dict[str, set[str]] = defaultdict(set)
    machines: dict[str, Counter[str]] = defaultdict(Counter)
    for lb in store.labels.list(LabelTask.VALIDITY):
        if not lb.case_id:
            continue
        if lb.source in HUMAN_SOURCES:
            people[lb.case_id].add(lb.value)
        else:
            machines[lb.case_id][lb.value] += 1
    judged = {case_id for case_id, values in people.items() if "invalid" in values}
    judged.update(
        case_id
        for case_id, votes in machines.items()
        if case_id not in people and votes["invalid"] > votes["valid"]
    )
    return judged


@dataclass
class Spread:
    """What one propagation gives: the weak label rows, and how many cases it spread from and to."""

    rows: list[dict[str, Any]]
    labeled: int
    unlabeled: int
    values: list[str] = field(default_factory=list)
    """The labels the people's cases carry (two at least, or nothing spread)."""


def spread_labels(
    store: Store,
    settings: Settings,
    embedder: Embedder,
    task: str = LabelTask.TOPIC,
    min_confidence: float = 0.7,
    within: Callable[[Case], bool] | None = None,
) -> Spread:
    """The people's labels spread to unlabeled cases through the embedding space (not stored).

    `within` limits both ends to some cases: a backtest spreads only among its training cases, so
    that no label it tests on reaches its training set through a look-alike case."""
    from supportcue.weak.propagation import propagate

    human = people_labels(store, settings, task)
    invalid = judged_invalid(store)
    cases = [c for c in store.cases.list() if within is None or within(c)]
    labeled = [c for c in cases if c.id in human.gold]
    unlabeled = [c for c in cases if c.id not in human.cases and c.id not in invalid]
    kinds = sorted({human.gold[c.id] for c in labeled})
    if len(kinds) < 2 or not unlabeled:  # one label alone would go to every case: nothing spreads
        return Spread([], len(labeled), len(unlabeled), kinds)
    values, confidence = propagate(
        embedder.embed([c.message for c in labeled]),
        [human.gold[c.id] for c in labeled],
        embedder.embed([c.message for c in unlabeled]),
        min_confidence=min_confidence,
    )
    expires = utcnow() + timedelta(days=WEAK_LABEL_DAYS)
    rows = [
        {
            "case_id": case.id,
            "task": task,
            "value": value,
            "source": LabelSource.WEAK,
            "annotator": PROPAGATION_ANNOTATOR,
            "confidence": float(conf),
            "expires_at": expires,
            "version": f"propagation-{len(labeled)}",
        }
        for case, value, conf in zip(unlabeled, values, confidence, strict=True)
        if value is not None
    ]
    return Spread(rows, len(labeled), len(unlabeled), kinds)


def propagate_labels(
    store: Store,
    settings: Settings,
    embedder: Embedder,
    task: str = LabelTask.TOPIC,
    min_confidence: float = 0.7,
) -> dict[str, Any]:
    """Spread the people's labels to unlabeled cases through the embedding space; store the confident
    ones as weak labels (annotator `propagation`), which `train --exclude-weak` leaves out. They
    replace the earlier run's: a case people labeled since, or that no longer gets a confident label,
    keeps none. Backtests spread again among their own training cases (`Trainer.evaluate`)."""
    spread = spread_labels(store, settings, embedder, task, min_confidence)
    if len(spread.values) == 1 and spread.unlabeled:
        raise TrainingDataError(
            f"weak propagate spreads people's {task} labels to look-alike cases, and needs labels of at "
            f"least two values: this workspace's people's labels all say {spread.values[0]!r} "
            f"({spread.labeled} cases); label cases of another {task} first (`supportcue import labels`)"
        )
    rows = spread.rows
    if not spread.labeled or not spread.unlabeled:  # nothing spreads: the earlier run's are stale
        store.labels.replace(LabelSource.WEAK, task, [PROPAGATION_ANNOTATOR], [])
        return {"task": task, "stored": 0, "unlabeled": spread.unlabeled, "labeled": spread.labeled}
    store.labels.replace(LabelSource.WEAK, task, [PROPAGATION_ANNOTATOR], rows)  # this run's, only
    return {
        "task": task,
        "labeled": spread.labeled,
        "unlabeled": spread.unlabeled,
        "stored": len(rows),
        "coverage_of_unlabeled": len(rows) / spread.unlabeled,
        "min_confidence": min_confidence,
    }
