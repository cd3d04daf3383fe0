"""Label models: snorkel's and the majority vote share one API and agree where they must."""

from __future__ import annotations

import numpy as np
import pytest

from supportcue.errors import NotFittedError
from supportcue.weak import MIN_LFS_FOR_LABEL_MODEL, LabelModel, MajorityVoter, choose_label_model


def _unanimous(n: int = 60, m: int = 4, k: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, n)
    L = np.tile(truth[:, None], (1, m))
    L[rng.random((n, m)) < 0.3] = -1  # some abstentions, never a disagreement
    return L, truth


def test_unanimous_lfs_make_both_models_agree_with_the_vote() -> None:
    L, truth = _unanimous()
    covered = (L != -1).any(axis=1)
    for model in (MajorityVoter(3), LabelModel(3, n_epochs=200)):
        predicted, confidence = model.fit(L).predict_with_confidence(L)
        np.testing.assert_array_equal(predicted[covered], truth[covered])
        assert (predicted[~covered] == -1).all() and (confidence[~covered] == 0).all()
        assert ((confidence >= 0) & (confidence <= 1)).all()
        probs = model.predict_proba(L)
        np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-6)


def test_majority_ties() -> None:
    L = np.array([[0, 1, -1], [0, 0, 1], [-1, -1, -1]])
    voter = MajorityVoter(2).fit(L)
    assert voter.predict(L).tolist() == [-1, 0, -1]
    assert voter.predict(L, tie_break="first").tolist() == [0, 0, -1]
    assert voter.predict(L, tie_break="random")[0] in (0, 1)
    with pytest.raises(ValueError, match="tie_break"):
        voter.predict(L, tie_break="coin")  # type: ignore[arg-type]


def test_not_fitted_and_bad_matrix() -> None:
    with pytest.raises(NotFittedError):
        MajorityVoter().predict(np.zeros((1, 1), dtype=int))
    with pytest.raises(ValueError, match="out of range"):
        MajorityVoter(2).fit(np.array([[5]]))
    with pytest.raises(ValueError, match="2-d"):
        MajorityVoter(2).fit(np.array([1, 0]))


def test_choose_label_model_reports_both_scores() -> None:
    rng = np.random.default_rng(1)
    truth = rng.integers(0, 2, 300)
    accuracies = [0.9, 0.85, 0.6, 0.55, 0.55]  # three near-random LFs outvote the good two at times
    L = np.stack([np.where(rng.random(300) < acc, truth, 1 - truth) for acc in accuracies], axis=1).astype(
        np.int64
    )
    gold_idx = np.arange(100)
    choice = choose_label_model(L, gold_idx, truth[gold_idx], cardinality=2)
    assert set(choice.scores) == {"majority", "label_model"}
    assert choice.name in choice.scores and choice.n_gold_covered == 100
    assert choice.scores[choice.name] == max(choice.scores.values())
    assert choice.scores["label_model"] >= 0.8


@pytest.mark.parametrize("n_lfs", [1, 2])
def test_fewer_than_three_functions_fall_back_to_the_majority_vote_and_say_so(n_lfs: int) -> None:
    L, truth = _unanimous(m=n_lfs)
    with pytest.raises(ValueError, match=f"needs at least {MIN_LFS_FOR_LABEL_MODEL}"):
        LabelModel(3).fit(L)  # snorkel's own error was a bare "L_train should have at least 3 ..."
    choice = choose_label_model(L, np.arange(20), truth[:20], cardinality=3)
    assert choice.name == "majority" and isinstance(choice.model, MajorityVoter)
    assert set(choice.scores) == {"majority"} and choice.scores["majority"] == 1.0
    functions = "function" if n_lfs == 1 else "functions"
    assert choice.note == f"majority vote: {n_lfs} labeling {functions}, and the label model needs at least 3"
    covered = (L != -1).any(axis=1)
    np.testing.assert_array_equal(choice.model.predict(L)[covered], truth[covered])


def test_no_rows_or_no_gold_is_said_too() -> None:
    empty = choose_label_model(np.zeros((0, 4), dtype=np.int64), [], [], cardinality=2)
    assert empty.name == "majority" and empty.note == "majority vote: no rows to fit the label model on"
    L, _ = _unanimous(m=4)
    blind = choose_label_model(L, [], [], cardinality=3)
    assert blind.name == "majority" and blind.scores == {} and "no human label" in blind.note
    assert choose_label_model(L, np.arange(20), _unanimous(m=4)[1][:20], cardinality=3).note == ""


def test_cross_fitted_accuracy_scores_each_half_with_the_model_chosen_on_the_other() -> None:
    """`weak apply` chose the model on the people's labels and reported its accuracy on the same
    labels: a model lucky on those rows looked better than it is. Chosen on one half and scored on
    the other, the luck does not count."""
    from supportcue.weak.label_model import cross_fitted_accuracy

    truth = np.zeros(8, dtype=np.int64)
    first_half = np.array([True] * 4 + [False] * 4)
    majority = np.array([0, 0, 0, 0, 1, 1, 1, 1])  # right on the first half only
    label_model = np.array([1, 1, 1, 1, 0, 0, 0, 1])  # right on three of the second half only
    labels = {"majority": majority, "label_model": label_model}
    in_sample = max(float(np.mean(p == truth)) for p in labels.values())
    assert in_sample == 0.5
    accuracy, scored = cross_fitted_accuracy(labels, labels, truth, first_half)
    # chosen on the first half: majority, 0/4 on the second; on the second: label model, 0/4 on the first
    assert (accuracy, scored) == (0.0, 8)
    # a row the scored model leaves unlabeled (a tie) is not scored; no row scored is no figure
    abstains = {"majority": np.full(8, -1), "label_model": np.full(8, -1)}
    assert cross_fitted_accuracy(labels, abstains, truth, first_half) == (None, 0)


def test_held_out_accuracy_on_gold_is_no_better_than_luck_when_the_functions_are_noise() -> None:
    from supportcue.weak.label_model import held_out_accuracy

    rng = np.random.default_rng(3)
    truth = rng.integers(0, 2, 400)
    L = rng.integers(0, 2, (400, 5)).astype(np.int64)  # functions that know nothing
    choice = choose_label_model(L, np.arange(400), truth, cardinality=2)
    assert set(choice.candidates) == {"majority", "label_model"}
    accuracy, scored = held_out_accuracy(choice, L, np.arange(400), truth)
    assert accuracy is not None and scored > 300 and abs(accuracy - 0.5) < 0.1
    assert held_out_accuracy(choice, L, np.arange(1), truth[:1]) == (None, 0)
