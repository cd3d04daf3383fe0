"""Annotator agreement and label counts on hand-made data with known values."""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest

from supportcue.review import cohen_kappa, label_counts_vs_target, pairwise_agreement


def test_kappa_known_value() -> None:
    # 10 items: both "yes" 4, both "no" 3, disagree 3. po = 0.7; pe = 0.6*0.5 + 0.4*0.5 = 0.5.
    a = ["yes"] * 4 + ["no"] * 3 + ["yes", "yes", "no"]
    b = ["yes"] * 4 + ["no"] * 3 + ["no", "no", "yes"]
    assert cohen_kappa(a, b) == pytest.approx(0.4)
    assert cohen_kappa(["x", "x"], ["x", "x"]) == 1.0
    with pytest.raises(ValueError, match="different numbers"):
        cohen_kappa(["a"], ["a", "b"])


def test_pairwise_agreement() -> None:
    annotations = [
        ("c1", "ann", "refund"),
        ("c1", "bob", "refund"),
        ("c1", "cid", "card"),
        ("c2", "ann", "card"),
        ("c2", "bob", "card"),
        ("c3", "ann", "card"),
        ("c3", "bob", "refund"),
        ("c4", "cid", "card"),
    ]
    report = pairwise_agreement(annotations)
    assert report.n_items == 3
    # c1: 3 pairs, 1 agreeing; c2: 1 of 1; c3: 0 of 1 -> 2 / 5
    assert report.percent_agreement == pytest.approx(0.4)
    pairs = {(p.annotator_a, p.annotator_b): p for p in report.pairs}
    ann_bob = pairs[("ann", "bob")]
    assert ann_bob.n_items == 3 and ann_bob.percent_agreement == pytest.approx(2 / 3)
    assert ann_bob.kappa == pytest.approx(
        cohen_kappa(["refund", "card", "card"], ["refund", "card", "refund"])
    )
    assert pairs[("ann", "cid")].n_items == 1
    json.dumps(report.to_dict())
    assert pairwise_agreement([]).percent_agreement is None


def test_a_pair_that_shares_no_item_has_no_agreement_figure() -> None:
    """Two experts who labeled different cases (docs/examples) were reported 0% in agreement."""
    report = pairwise_agreement([("c1", "maya", "refund"), ("c2", "jon", "card")])
    (pair,) = report.pairs
    assert (pair.n_items, pair.percent_agreement, pair.kappa) == (0, None, None)


def test_label_counts_vs_target() -> None:
    rows = label_counts_vs_target({"card": 600, "refund": 120, "fees": 0}, target=500)
    assert [r.label for r in rows] == ["fees", "refund", "card"]
    assert asdict(rows[1]) == {
        "label": "refund",
        "count": 120,
        "target": 500,
        "missing": 380,
        "fraction": 0.24,
    }
    assert rows[2].missing == 0 and rows[2].fraction == 1.0
    with pytest.raises(ValueError, match="target"):
        label_counts_vs_target({}, target=0)
