"""`eval oos` on small files with the model-free embedder: metrics, the held-out calibration, the fitted
combiner and the recall-targeted threshold."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tests.examples import TOPIC_EXAMPLES
from typer.testing import CliRunner

from supportcue.cli import app
from supportcue.embeddings import HashingEmbedder
from supportcue.errors import ImportDataError, SupportcueError
from supportcue.eval.labeled import Labeled
from supportcue.eval.oos import Negatives, OosDetector, oos_metrics, run_oos
from supportcue.settings import init_workspace
from supportcue.stages.topic import TopicStage
from supportcue.stages.validation import ScoreCombiner, balanced_threshold, recall_threshold

EMBEDDER = HashingEmbedder(dim=512)
IN_SCOPE = {k: TOPIC_EXAMPLES[k] for k in ("payouts", "refunds")}
OOS = [
    "what is the weather",
    "tell me a joke",
    "play some jazz music",
    "who won the game",
    "book a flight",
    "order a pizza",
    "set an alarm",
    "translate hello to french",
]


def write(path: Path, rows: list[tuple[str, str]]) -> Path:
    path.write_text("".join(json.dumps({"text": t, "label": label}) + "\n" for t, label in rows))
    return path


def test_oos_metrics_definition() -> None:
    labels = ["a", "b", "oos", "oos"]
    predicted = ["a", "a", "oos", "b"]
    rejected = np.array([False, False, True, False])
    metrics = oos_metrics(labels, predicted, rejected, "oos")
    assert metrics == {"in_scope_accuracy": 0.5, "oos_recall": 0.5, "oos_precision": 1.0}
    # A right label that is rejected does not count as in-scope accurate.
    assert oos_metrics(["a"], ["a"], np.array([True]), "oos")["in_scope_accuracy"] == 0.0
    # A figure with nothing to count is unknown, not 0: no out-of-scope rows, nothing rejected.
    assert oos_metrics(["a", "b"], ["a", "a"], np.array([False, False]), "oos") == {
        "in_scope_accuracy": 0.5,
        "oos_recall": None,
        "oos_precision": None,
    }
    assert oos_metrics(["oos"], ["oos"], np.array([True]), "oos")["in_scope_accuracy"] is None


def test_run_oos_end_to_end(tmp_path: Path) -> None:
    train = [(t, k) for k, ts in IN_SCOPE.items() for t in ts[:5]] + [(t, "oos") for t in OOS[:2]]
    val = [(t, k) for k, ts in IN_SCOPE.items() for t in ts[5:7]] + [(t, "oos") for t in OOS[2:5]]
    test = [(t, k) for k, ts in IN_SCOPE.items() for t in ts[7:]] + [(t, "oos") for t in OOS[5:]]
    out = tmp_path / "pred.jsonl"
    result = run_oos(
        write(tmp_path / "train.jsonl", train),
        write(tmp_path / "val.jsonl", val),
        write(tmp_path / "test.jsonl", test),
        predictions=out,
        embedder=EMBEDDER,
    )
    assert {"in_scope_accuracy", "oos_recall", "oos_precision", "threshold", "n_test"} <= result.keys()
    assert result["n_test"] == len(test) and result["n_train_oos"] == 2
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["text"] for r in rows] == [t for t, _ in test]
    assert all(set(r) == {"text", "label", "predicted", "confidence", "rejected"} for r in rows)
    assert all((r["predicted"] == "oos") == r["rejected"] for r in rows)
    assert result["oos_recall"] > 0.0 and result["in_scope_accuracy"] > 0.0


def test_val_without_oos_rows_is_refused(tmp_path: Path) -> None:
    rows = [(t, k) for k, ts in IN_SCOPE.items() for t in ts]
    path = write(tmp_path / "rows.jsonl", rows)
    with pytest.raises(SupportcueError, match="no row has label = 'oos'"):
        run_oos(path, path, path, embedder=EMBEDDER)


def test_recall_threshold_every_group_reaches_the_target_with_margin() -> None:
    easy = np.linspace(-5.0, -1.0, 40)  # far below the in-scope scores
    hard = np.linspace(-1.0, 1.0, 40)
    scores = np.r_[easy, hard]
    groups = ["easy"] * 40 + ["hard"] * 40
    threshold = recall_threshold(scores, groups, target=0.9, margin=0.05)
    assert np.mean(hard < threshold) >= 0.95 and np.mean(easy < threshold) == 1.0
    assert np.mean(hard < threshold - 0.06) < 0.95  # the lowest such threshold
    # Groups below min_group are pooled: 5 + 5 rows decide together, not each on its own.
    pooled = recall_threshold(np.r_[np.zeros(5), np.ones(5)], ["a"] * 5 + ["b"] * 5, target=0.5, margin=0.0)
    assert 0.0 < pooled < 1.0


def test_score_combiner_learns_which_feature_separates() -> None:
    rng = np.random.default_rng(0)
    positive = np.r_[np.ones(200, dtype=bool), np.zeros(100, dtype=bool)]
    informative = np.where(positive, 1.0, -1.0) + rng.normal(0, 0.3, 300)
    noise = rng.normal(0, 1, 300)
    features = np.column_stack([noise, informative])
    combiner = ScoreCombiner().fit(features, positive, ["in"] * 200 + ["a"] * 50 + ["b"] * 50)
    weights = combiner.weights()
    assert weights[1] > 1.0 and abs(weights[0]) < 0.5
    assert np.mean((combiner.logit(features) > 0) == positive) > 0.95


def test_spline_combiner_fits_an_effect_a_line_cannot_and_holds_it_beyond_the_data() -> None:
    rng = np.random.default_rng(1)
    # In scope when the score is near the middle: both tails are out of scope (not a line on the logit).
    score = rng.uniform(-3, 3, 600)
    positive = np.abs(score) < 1.0
    features = np.column_stack([rng.normal(0, 1, 600), score])
    groups = ["in" if p else "out" for p in positive]
    linear = ScoreCombiner().fit(features, positive, groups)
    spline = ScoreCombiner(knots=5).fit(features, positive, groups)
    assert np.mean((linear.logit(features) > 0) == positive) < 0.75
    assert np.mean((spline.logit(features) > 0) == positive) > 0.9
    # The report: the informative feature moves the logit far across its range, the noise hardly.
    effects = spline.weights()
    assert abs(effects[1]) > 3.0 and abs(effects[0]) < 1.0
    # Beyond the fitted range the score's effect stays at the edge's value instead of growing.
    edge = spline.logit(np.array([[0.0, score.max()]]))
    far = spline.logit(np.array([[0.0, 1e6]]))
    np.testing.assert_allclose(far, edge, atol=1e-6)


def test_a_combiner_saved_before_splines_existed_loads_as_the_linear_one() -> None:
    rng = np.random.default_rng(2)
    positive = np.r_[np.ones(100, dtype=bool), np.zeros(100, dtype=bool)]
    features = np.column_stack([np.where(positive, 1.0, -1.0) + rng.normal(0, 0.5, 200)])
    combiner = ScoreCombiner().fit(features, positive, ["in"] * 100 + ["out"] * 100)
    expected = combiner.logit(features)
    state = pickle.dumps(combiner)
    old = pickle.loads(state)
    for name in ("knots", "spline_", "range_"):  # what an older version's pickle does not hold
        del old.__dict__[name]
    np.testing.assert_allclose(old.logit(features), expected)
    assert old.weights() == combiner.weights()


def test_run_oos_calibrates_on_held_out_rows_and_negatives(tmp_path: Path) -> None:
    train = [(t, k) for k, ts in IN_SCOPE.items() for t in ts[:7]] + [(t, "oos") for t in OOS[:2]]
    train += [
        ("hi", "greeting"),
        ("hello", "greeting"),
        ("hey there", "greeting"),
        ("good morning", "greeting"),
    ]
    val = [(t, k) for k, ts in IN_SCOPE.items() for t in ts[7:]] + [(t, "oos") for t in OOS[2:5]]
    test = [(t, k) for k, ts in IN_SCOPE.items() for t in ts[7:]] + [(t, "oos") for t in OOS[5:]]
    chitchat = tmp_path / "chitchat.csv"
    chitchat.write_text(
        "text\n" + "".join(f"{t}\n" for t in [*OOS, "sing me a song", "who are you", "good night"])
    )
    result = run_oos(
        write(tmp_path / "train.jsonl", train),
        write(tmp_path / "val.jsonl", val),
        write(tmp_path / "test.jsonl", test),
        embedder=EMBEDDER,
        negatives=chitchat,
        target_recall=0.8,
    )
    calibration = result["calibration"]
    assert set(result["negative_sources"]) == {
        "built-in",
        "demo non-questions",
        "negatives file chitchat.csv",
    }
    # "hi", "hello" are a topic here: the generic negatives that say them are dropped, not learnt.
    assert calibration["negatives_dropped_as_in_scope"]["built-in"] >= 2
    # The threshold is set on the data's own out-of-scope rows (train slice + val) and the file;
    # both reach the target with the margin on the held-out scores.
    assert calibration["oos_recall"]["labeled oos"] >= 0.83
    # Together they hold fewer than 20 held-out rows: the threshold leans partly on the generic lists.
    assert 0.0 < calibration["threshold_weight_of_labeled_oos"] < 1.0
    # --train holds out-of-scope rows: cross-fitted, so both get a held-out score, then a refit.
    assert calibration["crossfit_folds"] == 5 and calibration["refit_on_all_rows"]
    assert set(calibration["combiner_weights"]) == {
        "p_top",
        "score_top",
        "score_second",
        "p_oos",
        "density",
        "validity",
    }
    assert 0.0 < result["threshold"] < 1.0


def test_bad_target_recall_is_refused(tmp_path: Path) -> None:
    rows = [(t, k) for k, ts in IN_SCOPE.items() for t in ts] + [(t, "oos") for t in OOS]
    path = write(tmp_path / "rows.jsonl", rows)
    with pytest.raises(SupportcueError, match="--target-recall"):
        run_oos(path, path, path, embedder=EMBEDDER, target_recall=1.5)


def test_cli_passes_negatives_and_target_recall(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = tmp_path / "ws"
    config = init_workspace(ws)
    config.write_text(config.read_text().replace('model = "minilm"', 'model = "tfidf"'))
    monkeypatch.delenv("SUPPORTCUE_WORKSPACE", raising=False)
    rows = [(t, k) for k, ts in IN_SCOPE.items() for t in ts] + [(t, "oos") for t in OOS]
    path = write(tmp_path / "rows.jsonl", rows)
    chitchat = tmp_path / "chitchat.csv"
    chitchat.write_text("text\nsing me a song\nwho are you\ngood night\n")
    common = [
        "--workspace",
        str(ws),
        "eval",
        "oos",
        "--train",
        str(path),
        "--val",
        str(path),
        "--test",
        str(path),
    ]
    result = CliRunner().invoke(
        app, [*common, "--negatives", str(chitchat), "--target-recall", "0.8", "--json"]
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.output.strip().splitlines()[-1])
    assert out["target_recall"] == 0.8 and out["n_test"] == len(rows)
    assert out["negative_sources"]["negatives file chitchat.csv"] == 3
    bad = CliRunner().invoke(app, [*common, "--target-recall", "1.5", "--json"])
    assert bad.exit_code != 0 and "--target-recall must be between 0 and 1" in str(bad.exception) + bad.output


def labeled(rows: list[tuple[str, str]]) -> Labeled:
    return Labeled(Path("rows"), [t for t, _ in rows], [label for _, label in rows])


def negatives() -> list[Negatives]:
    texts = ["hi there", "thanks a lot", "ok", "lol", "good night", "bye now", "hmm", "cool story"]
    return [Negatives("generic", texts, EMBEDDER.embed(texts), sets_threshold=False)]


def fit_detector(train: list[tuple[str, str]], val: list[tuple[str, str]], **kwargs: Any) -> OosDetector:
    t, v = labeled(train), labeled(val)
    return OosDetector(**kwargs).fit(
        t, EMBEDDER.embed(t.texts), v, EMBEDDER.embed(v.texts), negatives(), "oos"
    )


def test_crossfitting_calibrates_on_every_training_row_and_refits_on_all() -> None:
    train = [(t, k) for k, ts in TOPIC_EXAMPLES.items() for t in ts[:6]] + [(t, "oos") for t in OOS[:3]]
    val = [(t, k) for k, ts in TOPIC_EXAMPLES.items() for t in ts[6:]] + [(t, "oos") for t in OOS[3:]]
    detector = fit_detector(train, val, crossfit_rows=3000)
    assert detector.crossfit_folds_ == 5 and detector.refit_
    # Every training row got a held-out score (calibration rows: train + val + half the negatives) ...
    assert detector.calibration_["rows"] == len(train) + len(val) + 4
    # ... and the final topic stage and density were fitted on every training row.
    assert detector.stage.landmarks_ == len(train)
    assert len(detector.density_.vectors_) == len(train) - 3
    decision = detector.decide([t for t, _ in val], EMBEDDER.embed([t for t, _ in val]))
    assert len(decision.topics) == len(val) and set(decision.topics) <= set(TOPIC_EXAMPLES)


def test_one_held_out_slice_then_a_refit_on_every_row() -> None:
    # No out-of-scope row in --train: one slice is held out (cross-fitting would only add in-scope rows).
    train = [(t, k) for k, ts in TOPIC_EXAMPLES.items() for t in ts[:6]]
    val = [(t, k) for k, ts in TOPIC_EXAMPLES.items() for t in ts[6:]] + [(t, "oos") for t in OOS]
    detector = fit_detector(train, val)
    assert detector.crossfit_folds_ == 1 and detector.refit_
    held = detector.calibration_["rows"] - len(val) - 4
    assert 0 < held < len(train) and detector.stage.landmarks_ == len(train)


def labeled_oos_rows(detector: OosDetector) -> int:
    return detector.calibration_scores_[1].count("labeled oos")


def test_every_labeled_oos_training_row_calibrates_the_threshold() -> None:
    """The threshold is set on the labeled out-of-scope rows; when --train holds some, every one of
    them gets a held-out score (cross-fitting), not only the fifth one slice would hold out."""
    oos = [f"{t} {w}" for t in OOS for w in ("now", "please", "today", "for me")]  # 32 rows
    train = [(t, k) for k, ts in TOPIC_EXAMPLES.items() for t in ts[:6]] + [(t, "oos") for t in oos[:20]]
    val = [(t, k) for k, ts in TOPIC_EXAMPLES.items() for t in ts[6:]] + [(t, "oos") for t in oos[20:]]
    detector = fit_detector(train, val)
    assert detector.crossfit_folds_ == 5 and detector.refit_
    assert labeled_oos_rows(detector) == 20 + 12
    assert detector.stage.landmarks_ == len(train)  # the final scorers still see every row
    # Switched off (or past the exact solver): one slice, a fifth of the 20 training rows.
    sliced = fit_detector(train, val, crossfit_labeled_oos=False)
    assert sliced.crossfit_folds_ == 1 and labeled_oos_rows(sliced) == 4 + 12
    small_exact = fit_detector(train, val, stage=TopicStage(max_exact_rows=len(train) - 1))
    assert small_exact.crossfit_folds_ == 1 and not small_exact.refit_


def test_tiny_training_set_with_fewer_rows_per_label_than_folds() -> None:
    train = [(t, k) for k, ts in IN_SCOPE.items() for t in ts[:2]] + [(OOS[0], "oos")]
    val = [(t, k) for k, ts in IN_SCOPE.items() for t in ts[2:4]] + [(t, "oos") for t in OOS[1:4]]
    for crossfit_rows in (0, 3000):
        detector = fit_detector(train, val, crossfit_rows=crossfit_rows)
        assert np.isfinite(detector.threshold_) and 0.0 < detector.threshold < 1.0
        assert detector.stage.landmarks_ == len(train)
    assert detector.crossfit_folds_ >= 2


def test_tiny_labeled_oos_source_is_shrunk_toward_the_generic_threshold() -> None:
    detector = OosDetector(target_recall=0.9, margin=0.0, min_oos_rows=20)
    generic = list(np.linspace(-4.0, 0.0, 40))
    groups = ["in"] * 10 + ["labeled oos"] * 2 + ["generic"] * 40
    logit = np.array([3.0] * 10 + [2.5, 2.9] + generic)  # two labeled rows that look in scope
    threshold = detector._threshold(logit, groups, {"labeled oos"}, {"generic"})
    own = recall_threshold(logit[10:12], ["labeled oos"] * 2, 0.9, 0.0)
    prior = recall_threshold(np.array(generic), ["generic"] * 40, 0.9, 0.0)
    assert detector.threshold_weight_ == 2 / 20
    assert threshold == pytest.approx(0.1 * own + 0.9 * prior)
    # Two odd rows do not set a threshold that rejects all the in-scope rows.
    assert threshold < 3.0 and own > 2.9
    # With enough labeled rows, they alone set it.
    many = np.array([3.0] * 10 + list(np.linspace(-3.0, 1.0, 30)) + generic)
    groups = ["in"] * 10 + ["labeled oos"] * 30 + ["generic"] * 40
    alone = detector._threshold(many, groups, {"labeled oos"}, {"generic"})
    assert detector.threshold_weight_ == 1.0
    assert alone == recall_threshold(many[10:40], ["labeled oos"] * 30, 0.9, 0.0)


@pytest.mark.parametrize(
    ("which", "says"),
    [("in-scope only", "no row has label = 'oos'"), ("out-of-scope only", "no in-scope row")],
)
def test_a_test_file_missing_one_side_is_refused_not_scored_zero(
    tmp_path: Path, which: str, says: str
) -> None:
    """A --test file without out-of-scope rows reported oos_recall 0.0 (nothing to recall, not a
    detector that recalls nothing); one without in-scope rows reported in_scope_accuracy 0.0."""
    train = [(t, k) for k, ts in IN_SCOPE.items() for t in ts[:5]] + [(t, "oos") for t in OOS[:2]]
    val = [(t, k) for k, ts in IN_SCOPE.items() for t in ts[5:7]] + [(t, "oos") for t in OOS[2:5]]
    if which == "in-scope only":
        test = [(t, k) for k, ts in IN_SCOPE.items() for t in ts[7:]]
    else:
        test = [(t, "oos") for t in OOS[5:]]
    test_path = write(tmp_path / "test.jsonl", test)
    with pytest.raises(SupportcueError, match=rf"{test_path}: {says}"):
        run_oos(
            write(tmp_path / "train.jsonl", train),
            write(tmp_path / "val.jsonl", val),
            test_path,
            embedder=EMBEDDER,
        )


def test_balanced_threshold_where_in_scope_accuracy_meets_out_of_scope_recall() -> None:
    inside = np.linspace(0.0, 10.0, 101)  # in-scope rows' scores, every one routed right
    right = np.ones(101, dtype=bool)
    outside = np.linspace(-5.0, 5.0, 101)  # overlapping out-of-scope rows
    threshold = balanced_threshold(inside, right, outside, ["oos"] * 101)
    accuracy, recall = np.mean(inside >= threshold), np.mean(outside < threshold)
    assert abs(accuracy - recall) < 0.03 and 0.7 < recall < 0.8
    # Rows given the wrong topic are errors kept or not: rejecting them costs nothing, so the
    # threshold rises past them (ties go to the highest threshold) and recall rises with it.
    wrong = inside < 3.0
    higher = balanced_threshold(inside, ~wrong, outside, ["oos"] * 101)
    assert higher > threshold and np.mean(outside < higher) > recall
    assert np.mean(~wrong & (inside >= higher)) == pytest.approx(np.mean(~wrong))
    # The worst source of out-of-scope rows sets the recall.
    far = np.linspace(-9.0, -6.0, 40)
    both = balanced_threshold(inside, right, np.r_[outside, far], ["near"] * 101 + ["far"] * 40)
    assert both == threshold


def test_threshold_never_buys_recall_with_more_in_scope_accuracy_than_it_gains() -> None:
    groups = ["in"] * 100 + ["labeled oos"] * 100
    right = np.r_[np.ones(100, dtype=bool), np.zeros(100, dtype=bool)]
    positive = right.copy()
    # Overlapping scores: 0.93 recall would stop most in-scope rows; the balanced point is lower.
    overlap = np.r_[np.linspace(0.0, 10.0, 100), np.linspace(-5.0, 5.0, 100)]
    balanced = OosDetector(target_recall=0.9)._threshold(
        overlap, groups, {"labeled oos"}, set(), (positive, right)
    )
    by_recall = recall_threshold(overlap[100:], ["labeled oos"] * 100, 0.9, 0.03)
    assert balanced < by_recall
    assert np.mean(overlap[:100] >= balanced) > np.mean(overlap[:100] >= by_recall) + 0.15
    # Scores that separate (CLINC150-like): the recall target costs nothing, the rule is unchanged.
    apart = np.r_[np.linspace(2.0, 10.0, 100), np.linspace(-6.0, 2.5, 100)]
    kept = OosDetector(target_recall=0.9)._threshold(apart, groups, {"labeled oos"}, set(), (positive, right))
    assert kept == recall_threshold(apart[100:], ["labeled oos"] * 100, 0.9, 0.03)
    # `balance=False`: the recall target alone, as before.
    unbalanced = OosDetector(target_recall=0.9, balance=False)
    off = unbalanced._threshold(overlap, groups, {"labeled oos"}, set(), (positive, right))
    assert off == by_recall


def test_a_train_file_of_one_in_scope_label_names_the_file(tmp_path: Path) -> None:
    """The topic stage's "needs at least 2 topics" named no file."""
    train = [(t, "payouts") for t in IN_SCOPE["payouts"]] + [(t, "oos") for t in OOS[:2]]
    rows = [(t, k) for k, ts in IN_SCOPE.items() for t in ts[:3]] + [(t, "oos") for t in OOS[2:5]]
    other = write(tmp_path / "val.jsonl", rows)
    with pytest.raises(ImportDataError, match=r"train\.jsonl: every in-scope row's 'label' is 'payouts'"):
        run_oos(write(tmp_path / "train.jsonl", train), other, other, embedder=EMBEDDER)
