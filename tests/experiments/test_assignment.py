"""Assignment: GrowthBook's hash (its published value), stable across processes, the split within a
chi-square bound over 100k ids, coverage; `assign_case` records a case's arm the first time it is
seen while an experiment runs, on both databases."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from scipy import stats

from supportcue.data.store import Store
from supportcue.experiments import (
    Design,
    assign_case,
    bucket,
    bucket_ranges,
    choose_arm,
    create_experiment,
    fnv1a32,
    stop_experiment,
)

T0 = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
IDS = [f"case-{i:06d}" for i in range(100_000)]
ROOT = Path(__file__).resolve().parents[2]


def test_the_hash_is_growthbooks() -> None:
    # FNV-1a 32 of the empty string is the offset basis; of "a", the published test vector
    assert fnv1a32("") == 0x811C9DC5 and fnv1a32("a") == 0xE40C292C
    # GrowthBook's SDK test cases: seed "feature", id "123", hash version 2 -> bucket 0.5231
    assert bucket("feature", "123") == 0.5231
    # and the forced-rule case: id "1" falls in [0.96, 0.97) for seed "feature"
    assert 0.96 <= bucket("feature", "1") < 0.97


def test_bucket_ranges_follow_weights_and_coverage() -> None:
    assert bucket_ranges([0.5, 0.5]) == [(0.0, 0.5), (0.5, 1.0)]
    assert bucket_ranges([0.5, 0.5], 0.8) == [(0.0, 0.4), (0.5, 0.9)]
    flat = [x for r in bucket_ranges([0.2, 0.3, 0.5], 1.0) for x in r]
    assert flat == pytest.approx([0.0, 0.2, 0.2, 0.5, 0.5, 1.0])


@pytest.mark.parametrize(
    ("weights", "shares"),
    [([1e308, 1e308], [0.5, 0.5]), ([1e-320, 1e-320], [0.5, 0.5]), ([5e-324, 1e-323], [1 / 3, 2 / 3])],
)
def test_weights_at_the_ends_of_floats_still_split_every_case(
    weights: list[float], shares: list[float]
) -> None:
    """(their sum overflowed to infinity: every share 0, and no case in any arm)"""
    design = Design.create("extreme", ["control", "treatment"], weights)
    assert design.weights == pytest.approx(shares)
    assert all(choose_arm(design, case) is not None for case in IDS[:1000])


@pytest.mark.parametrize(("weights", "coverage"), [([50, 50], 1.0), ([20, 80], 1.0), ([1, 1, 2], 0.6)])
def test_split_matches_the_weights_within_a_chi_square_bound(weights: list[int], coverage: float) -> None:
    arms = ["control", "treatment", "third"][: len(weights)]
    design = Design.create("split-test", arms, weights, coverage=coverage)
    counts = Counter(choose_arm(design, i) for i in IDS)
    inside = [counts[a] for a in arms]
    # the share left out by coverage
    assert abs(counts[None] / len(IDS) - (1 - coverage)) < 0.01
    expected = [w / sum(weights) * sum(inside) for w in weights]
    assert stats.chisquare(inside, f_exp=expected).pvalue > 0.001, (inside, expected)


def test_a_case_never_changes_arm_when_coverage_grows() -> None:
    # GrowthBook's ranges shrink from each arm's start: an id inside at 50% is inside, same arm, at 100%
    half = Design.create("grow", ["control", "treatment"], coverage=0.5)
    full = Design.create("grow", ["control", "treatment"], coverage=1.0)
    for i in IDS[:5000]:
        arm = choose_arm(half, i)
        assert arm is None or arm == choose_arm(full, i)


def test_assignment_is_the_same_in_another_process() -> None:
    design = Design.create("cross-process", ["control", "treatment"], [30, 70])
    here = [choose_arm(design, i) for i in IDS[:3000]]
    code = (
        "import json, sys\n"
        "from supportcue.experiments import Design, choose_arm\n"
        "d = Design.create('cross-process', ['control', 'treatment'], [30, 70])\n"
        f"print(json.dumps([choose_arm(d, f'case-{{i:06d}}') for i in range({3000})]))\n"
    )
    # a fresh interpreter with its own (randomised) str hash seed: nothing may depend on hash()
    env = {"PYTHONPATH": str(ROOT / "src"), "PYTHONHASHSEED": "12345", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert json.loads(out.stdout) == here
    assert 0.25 < here.count("control") / len(here) < 0.35


# -- recording the first sight -------------------------------------------------------------------


def _running(store: Store, start: datetime = T0, coverage: float = 1.0) -> Design:
    design = Design.create("holdout", ["control", "treatment"], started_at=start, coverage=coverage)
    return create_experiment(store, design, now=start)


def test_no_experiment_no_arm(store: Store) -> None:
    assert assign_case(store, "c1", ttl=0) is None
    assert store.db.count("assignments") == 0


def test_a_case_is_recorded_once_and_keeps_its_arm(store: Store) -> None:
    design = _running(store)
    store.cases.upsert([{"id": "c-new", "message": "hi", "created_at": T0 + timedelta(hours=1)}])
    first = assign_case(store, "c-new", seen_at=T0 + timedelta(hours=1), ttl=0)
    assert first is not None and first.arm == choose_arm(design, "c-new")
    assert first.control == (first.arm == "control")
    assert (first.holdout is not None) == first.control
    again = assign_case(store, "c-new", seen_at=T0 + timedelta(days=3), ttl=0)
    assert again == first
    (row,) = store.experiments.assignments("holdout")
    assert (row.case_id, row.arm, row.assigned_at) == ("c-new", first.arm, T0 + timedelta(hours=1))
    case = store.cases.get("c-new")
    assert case is not None and case.arm == first.arm  # what `export cases` shows


def test_a_case_seen_before_the_start_never_enters(store: Store) -> None:
    store.cases.upsert([{"id": "old-case", "message": "hi", "created_at": T0 - timedelta(days=1)}])
    store.cases.add_suggestions(
        [
            {
                "id": "s-old",
                "case_id": "old-suggested",
                "pipeline_version": "v",
                "created_at": T0 - timedelta(hours=2),
            }
        ]
    )
    _running(store)
    assert assign_case(store, "old-case", seen_at=T0 + timedelta(hours=1), ttl=0) is None
    assert assign_case(store, "old-suggested", seen_at=T0 + timedelta(hours=1), ttl=0) is None
    assert store.db.count("assignments") == 0


def test_nothing_is_assigned_before_a_later_start_or_after_the_stop(store: Store) -> None:
    _running(store, start=T0 + timedelta(days=2))
    assert assign_case(store, "early", seen_at=T0, ttl=0) is None
    assert assign_case(store, "later", seen_at=T0 + timedelta(days=3), ttl=0) is not None
    stop_experiment(store, "holdout", at=T0 + timedelta(days=4))
    assert assign_case(store, "after", ttl=0) is None
    # a case assigned while it ran keeps its recorded arm
    assert store.experiments.arm_of("holdout", "later") is not None


def test_coverage_leaves_cases_out(store: Store) -> None:
    design = _running(store, coverage=0.3)
    got = [assign_case(store, f"k{i}", seen_at=T0 + timedelta(hours=1), ttl=0) for i in range(400)]
    inside = [a for a in got if a is not None]
    assert 0.2 < len(inside) / len(got) < 0.4
    assert all(a.arm == choose_arm(design, f"k{i}") for i, a in enumerate(got) if a is not None)
    assert store.db.count("assignments") == len(inside)


@pytest.mark.parametrize(
    "csv", ["id,message\nknown,where is my payout\n", "id,message,created_at\nknown,payout?, \n"]
)
def test_a_case_imported_before_the_start_stays_out_when_imported_again(
    store: Store, tmp_path: Path, csv: str
) -> None:
    """A cases file without `created_at` (no column, or a blank cell) dates each new case at its
    import; importing it again (a nightly sync) dated the stored cases again, after the experiment's
    start, so a case known for weeks entered the experiment as if it were new (and its first reply
    time started over)."""
    from supportcue.data.importer import import_file

    path = tmp_path / "cases.csv"
    path.write_text(csv)
    import_file(store, "cases", path)
    first = store.cases.get("known")
    assert first is not None
    start = first.created_at + timedelta(microseconds=1)  # the next import comes later still
    create_experiment(store, Design.create("h", ["control", "treatment"], started_at=start), now=start)
    import_file(store, "cases", path)
    again = store.cases.get("known")
    assert again is not None and again.created_at == first.created_at
    assert assign_case(store, "known", ttl=0) is None
