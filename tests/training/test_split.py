"""The backtest's split: time-ordered only when the history has real time spread and every tested
label has older cases; a stratified sample otherwise, with the reason recorded."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from supportcue.errors import SupportcueError
from supportcue.training.dataset import LabeledSet
from supportcue.training.split import STRATIFIED, TIME, Split, choose_split, held_out

T0 = datetime(2026, 9, 1, tzinfo=UTC)


def labeled(labels: list[str], step: timedelta) -> LabeledSet:
    """Cases c000, c001, ... with these labels, created `step` apart in list order."""
    out = LabeledSet("topic")
    for i, label in enumerate(labels):
        out.case_ids.append(f"c{i:03d}")
        out.texts.append(f"text {i}")
        out.labels.append(label)
        out.weights.append(1.0)
        out.created_at.append(T0 + i * step)
    return out


INTERLEAVED = ["a", "b", "c"] * 20
SORTED = ["a"] * 20 + ["b"] * 20 + ["c"] * 20


def test_real_time_spread_and_known_labels_give_a_time_ordered_split() -> None:
    data = labeled(INTERLEAVED, timedelta(hours=2))
    split = choose_split(data, data)
    assert split.kind == TIME and split.cut == T0 + 48 * timedelta(hours=2)
    train, test = split.parts(data, data)
    assert (len(train), len(test)) == (48, 12) and max(train.created_at) < min(test.created_at)
    assert "time-ordered split" in split.describe() and "the cases span 5 days" in split.describe()


def test_cases_that_all_carry_the_import_time_get_a_stratified_split() -> None:
    """A file imported without created_at: the rows are microseconds apart, in file order."""
    data = labeled(SORTED, timedelta(microseconds=3))
    split = choose_split(data, data)
    assert split.kind == STRATIFIED and split.cut is None
    assert "span only 0 seconds" in split.reason and "min_time_spread_hours = 24" in split.reason
    train, test = split.parts(data, data)
    assert Counter(test.labels) == {"a": 4, "b": 4, "c": 4} and set(train.labels) == {"a", "b", "c"}
    assert not set(train.case_ids) & set(test.case_ids)


def test_a_cut_that_would_test_only_unseen_labels_is_not_used() -> None:
    """A file sorted by topic with real dates (or an old topic retired, a new one started)."""
    data = labeled([t for t in "abcde" for _ in range(12)], timedelta(hours=2))
    split = choose_split(data, data)
    assert split.kind == STRATIFIED
    assert "would test 12 of 12 cases on labels with no older case to learn from (e)" in split.reason


def test_the_spread_needed_is_a_setting_and_since_forces_a_cut() -> None:
    data = labeled(INTERLEAVED, timedelta(minutes=10))
    assert choose_split(data, data).kind == STRATIFIED  # 10 hours < 24
    assert choose_split(data, data, min_spread_hours=1).kind == TIME
    forced = choose_split(labeled(SORTED, timedelta(hours=1)), data, since=T0 + timedelta(hours=50))
    assert forced.kind == TIME and forced.reason == "cut given with --since"


def test_too_few_labels_is_an_error() -> None:
    with pytest.raises(SupportcueError, match="only 9 topic labels: need at least 10"):
        choose_split(labeled(["a"] * 9, timedelta(days=1)), labeled([], timedelta(days=1)))


def test_held_out_cases_depend_on_the_ids_not_the_order() -> None:
    data = labeled([*SORTED, "d"], timedelta(hours=1))
    held = held_out(data, 0.25)
    assert Counter(data.labels[int(c[1:])] for c in held) == {
        "a": 5,
        "b": 5,
        "c": 5,
    }  # "d": its only case trains
    shuffled = labeled(list(reversed(data.labels)), timedelta(hours=1))
    shuffled.case_ids = list(reversed(data.case_ids))
    assert held_out(shuffled, 0.25) == held


def test_a_recorded_split_comes_back_from_the_metrics() -> None:
    split = Split(TIME, "the cases span 5 days", T0, 0.2)
    assert Split.recorded({"split": split.as_dict()}) == split
    assert Split.recorded({"cut": T0.isoformat()}) == Split(TIME, "recorded cut", T0)  # older versions
    assert Split.recorded({}) is None


def test_trains_on_puts_unlabeled_cases_on_the_side_the_parts_would() -> None:
    data = labeled(INTERLEAVED, timedelta(hours=2))
    for split in (choose_split(data, data), Split(STRATIFIED, "test", None, 0.2)):
        side = split.trains_on(data)
        train, test = split.parts(data, data)
        assert all(side(c, t) for c, t in zip(train.case_ids, train.created_at, strict=True))
        assert not any(side(c, t) for c, t in zip(test.case_ids, test.created_at, strict=True))
    timed = choose_split(data, data)
    assert timed.cut is not None and timed.trains_on(data)("unlabeled", timed.cut - timedelta(seconds=1))
    assert not timed.trains_on(data)("unlabeled", timed.cut)
