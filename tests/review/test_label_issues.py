"""The label issue finder flags planted flips on separable synthetic data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from supportcue.data.store import Store
from supportcue.review import find_label_issues, out_of_sample_probs


def _data(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n_classes, per_class, dim = 4, 50, 8
    centres = rng.normal(size=(n_classes, dim)) * 4
    X = np.concatenate([c + rng.normal(size=(per_class, dim)) for c in centres])
    X /= np.linalg.norm(X, axis=1, keepdims=True)  # like the product's embeddings
    truth = np.repeat(np.arange(n_classes), per_class)
    noisy = truth.copy()
    flipped = rng.choice(len(truth), size=10, replace=False)
    noisy[flipped] = (truth[flipped] + rng.integers(1, n_classes, size=10)) % n_classes
    return X, truth, noisy, np.sort(flipped)


def _refund(n: int) -> str:
    return f"where is the refund for my order number {n}, it was refunded days ago"


def _two_topics() -> list[tuple[str, str, str]]:
    """Twenty cases of each of two topics that hashed words tell apart: (case id, message, topic)."""
    payouts = [f"when does my payout {n} reach the bank account, payout schedule please" for n in range(20)]
    return [(f"r{n}", _refund(n), "refunds") for n in range(20)] + [
        (f"p{n}", t, "payouts") for n, t in enumerate(payouts)
    ]


def test_flags_planted_flips() -> None:
    X, truth, noisy, flipped = _data()
    names = np.array(["a", "b", "c", "d"])[noisy]
    probs, classes = out_of_sample_probs(X, names, n_splits=5, seed=0)
    assert classes == ["a", "b", "c", "d"] and probs.shape == (200, 4)
    issues = find_label_issues(noisy, probs)
    found = set(issues.indices.tolist())
    assert len(found & set(flipped.tolist())) >= 9
    assert len(found - set(flipped.tolist())) <= 2
    assert (np.diff(issues.scores) >= 0).all()  # most suspicious first
    hits = np.isin(issues.indices, flipped)
    assert (issues.suggested[hits] == truth[issues.indices[hits]]).mean() >= 0.9
    assert issues.to_dict()["indices"] == issues.indices.tolist()


def test_validation() -> None:
    with pytest.raises(ValueError, match="shape"):
        find_label_issues([0, 1], np.ones((3, 2)) / 2)
    with pytest.raises(ValueError, match="indices"):
        find_label_issues([0, 5], np.ones((2, 2)) / 2)
    assert find_label_issues([], np.zeros((0, 2))).indices.size == 0
    with pytest.raises(ValueError, match="at least two rows"):
        out_of_sample_probs(np.zeros((3, 2)), ["a", "a", "b"])


def test_label_stats_counts_each_case_under_the_label_training_learns(store: Store, tmp_path: Path) -> None:
    """`labels stats` counted a case under whichever person's label was stored last (an agent's
    after an expert's), not the label training resolves it to; a machine's label is not counted."""
    from supportcue.review.store_issues import label_stats
    from supportcue.settings import init_workspace, load_settings

    init_workspace(tmp_path)
    settings = load_settings(tmp_path, environ={})
    store.cases.upsert([{"id": c, "message": "m"} for c in ("c1", "c2", "c3")])

    def label(case_id: str, value: str, source: str, annotator: str) -> dict[str, object]:
        return {"case_id": case_id, "task": "topic", "value": value, "source": source, "annotator": annotator}

    store.labels.add(
        [
            label("c1", "refunds", "expert", "maya"),
            label("c1", "payouts", "agent", "lea"),
            label("c2", "payouts", "expert", "maya"),
            label("c3", "payouts", "weak", "label_model:majority"),
        ]
    )
    stats = label_stats(store, settings, "topic")
    assert stats["labeled_cases"] == 2
    assert {c["label"]: c["count"] for c in stats["counts"]} == {"refunds": 1, "payouts": 1}


def test_a_label_a_reviewer_confirmed_is_not_flagged_again(store: Store, tmp_path: Path) -> None:
    """An SME who reviewed a `labels issues` batch and kept a flagged label (imported back with
    source sme) found it at the top of the next batch: the model still doubts it, but a person has
    answered, so it is left out (and counted) until their label expires. A correction leaves too."""
    from supportcue.embeddings import HashingEmbedder
    from supportcue.review.store_issues import label_issues
    from supportcue.settings import init_workspace, load_settings

    init_workspace(tmp_path)
    settings = load_settings(tmp_path, environ={})
    odd = [_refund(n) for n in (77, 78)]
    cases = _two_topics()
    cases += [("x1", odd[0], "payouts"), ("x2", odd[1], "payouts")]  # refunds, labeled payouts
    store.cases.upsert([{"id": c, "message": t} for c, t, _ in cases])
    expert = {"task": "topic", "source": "expert", "annotator": "maya"}
    store.labels.add([{"case_id": c, "value": v, **expert} for c, _, v in cases])
    found = label_issues(store, settings, HashingEmbedder(), "topic")
    assert {"x1", "x2"} <= {r["case_id"] for r in found.rows} and found.confirmed == 0
    sme = {"task": "topic", "source": "sme", "annotator": "olga"}
    store.labels.add(
        [{"case_id": "x1", "value": "payouts", **sme}, {"case_id": "x2", "value": "refunds", **sme}]
    )
    again = label_issues(store, settings, HashingEmbedder(), "topic")
    flagged = {r["case_id"] for r in again.rows}
    assert "x1" not in flagged and "x2" not in flagged  # kept by olga; corrected by olga
    assert again.confirmed == 1
    assert [r["rank"] for r in again.rows] == list(range(1, len(again.rows) + 1))


def test_a_flagged_label_says_who_gave_it_and_when(store: Store, tmp_path: Path) -> None:
    """`labels issues` listed the case, its label and the suggested one, but not whose label it is:
    a reviewer (and the exported batch) could not tell a label model's guess from an expert's call, or
    an old label from one given yesterday. Each row now names the labels that say the flagged value
    (`given_by`: source:annotator, and `given_at`: the newest of their times)."""
    from datetime import UTC, datetime

    from supportcue.embeddings import HashingEmbedder
    from supportcue.review.store_issues import label_issues
    from supportcue.settings import init_workspace, load_settings

    init_workspace(tmp_path)
    settings = load_settings(tmp_path, environ={})
    cases = _two_topics()
    odd = _refund(77)
    store.cases.upsert([{"id": c, "message": t} for c, t, _ in [*cases, ("x1", odd, "")]])
    expert = {"task": "topic", "source": "expert", "annotator": "maya"}
    store.labels.add([{"case_id": c, "value": v, **expert} for c, _, v in cases])
    when = datetime(2026, 11, 3, 9, 30, tzinfo=UTC)
    store.labels.add(
        [
            {
                "case_id": "x1",
                "value": "payouts",
                "task": "topic",
                "source": "weak",
                "annotator": "lm",
                "confidence": 0.9,
                "created_at": when,
            },
            {
                "case_id": "x1",
                "value": "payouts",
                "task": "topic",
                "source": "agent",
                "annotator": "lea",
                "created_at": datetime(2026, 10, 1, tzinfo=UTC),
            },
        ]
    )
    found = label_issues(store, settings, HashingEmbedder(), "topic")
    (row,) = [r for r in found.rows if r["case_id"] == "x1"]
    assert row["given"] == "payouts"
    assert row["given_by"] == "agent:lea, weak:lm"
    assert row["given_at"] == when.isoformat()


def test_a_reviewed_issues_batch_imports_back_without_a_warning(store: Store, tmp_path: Path) -> None:
    """The documented round trip (`labels issues --out`, the SME adds a decision, `import labels
    --map value=decision --set ...`) warned every time that `rank`, `given`, `suggested`, `quality`,
    `given_by` and `given_at` are not read: columns of our own batch that the import leaves out on
    purpose. They are passed over quietly; a column the SME added with a typo is still named."""
    from supportcue.data.files import write_rows
    from supportcue.data.importer import import_file
    from supportcue.embeddings import HashingEmbedder
    from supportcue.review.store_issues import label_issues
    from supportcue.settings import init_workspace, load_settings

    init_workspace(tmp_path)
    settings = load_settings(tmp_path, environ={})
    cases = [*_two_topics(), ("x1", _refund(77), "payouts")]
    store.cases.upsert([{"id": c, "message": t} for c, t, _ in cases])
    expert = {"task": "topic", "source": "expert", "annotator": "maya"}
    store.labels.add([{"case_id": c, "value": v, **expert} for c, _, v in cases])
    rows = label_issues(store, settings, HashingEmbedder(), "topic").rows
    assert rows and {"rank", "given", "suggested", "quality", "given_by", "given_at"} <= set(rows[0])
    batch = tmp_path / "review.csv"
    write_rows(batch, [{**r, "decision": r["suggested"]} for r in rows])
    sme = {"task": "topic", "source": "sme", "annotator": "olga"}
    report = import_file(store, "labels", batch, {"value": "decision"}, constants=sme)
    assert report.stored == len(rows) and report.warnings == []
    typo = tmp_path / "typo.csv"
    write_rows(typo, [{**r, "decision": r["suggested"], "coment": "sure"} for r in rows])
    report = import_file(store, "labels", typo, {"value": "decision"}, constants=sme)
    assert [w.split(" are not read")[0] for w in report.warnings] == ["column(s) coment"]
