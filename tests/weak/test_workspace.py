"""Weak supervision over a workspace's store: functions from the workspace, answer-match, stored labels."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from supportcue.data.store import Store
from supportcue.errors import SettingsError
from supportcue.settings import Settings, init_workspace, load_settings
from supportcue.weak.workspace import analyze, apply_to_cases, label_cases, unknown_labels_warning

LFS = """
from supportcue.weak import keyword_lf, labeling_function

kw_refunds = keyword_lf("kw_refunds", ["refund"], "refunds")
kw_payouts = keyword_lf("kw_payouts", ["payout"], "payouts")

@labeling_function(task="topic")
def broken(x):
    raise RuntimeError("bug in a user's function")
"""


ONE_KEYWORD = "from supportcue.weak import keyword_lf\nkw = keyword_lf('kw', ['refund'], 'refunds')\n"


def _with_functions(tmp_path: Path, source: str) -> Settings:
    """The settings of the workspace at `tmp_path` (made by `init_workspace`) once its
    supportcue.toml lists `source` as its labeling functions (lfs.py)."""
    (tmp_path / "lfs.py").write_text(source)
    config = tmp_path / "supportcue.toml"
    config.write_text(
        config.read_text().replace("labeling_functions = []", 'labeling_functions = ["lfs.py"]')
    )
    return load_settings(tmp_path, environ={})


def test_apply_label_and_analyze(store: Store, tmp_path: Path) -> None:
    init_workspace(tmp_path)
    settings = _with_functions(tmp_path, LFS)
    t = datetime(2026, 10, 1, tzinfo=UTC)
    store.library.upsert_topics([{"key": k, "name": k} for k in ("refunds", "payouts", "fees")])
    store.library.upsert_answers(
        [
            {
                "id": "a-fee",
                "topic": "fees",
                "title": "Fees",
                "body": "Our fee is 2.9% + 30c per card payment.",
                "status": "approved",
            }
        ]
    )
    store.cases.upsert(
        [
            {"id": "c1", "message": "where is my refund", "created_at": t},
            {"id": "c2", "message": "payout missing", "created_at": t},
            {"id": "c3", "message": "how much do you charge", "created_at": t},
            {"id": "c4", "message": "hello", "created_at": t},
            {"id": "c5", "message": "refund please", "created_at": t},
        ]
    )
    store.events.add(
        {
            "idempotency_key": "s3",
            "case_id": "c3",
            "kind": "sent",
            "text": "Hi Ana, our fee is 2.9% + 30c per card payment.",
        }
    )
    store.labels.add(
        [{"case_id": "c1", "task": "topic", "value": "refunds", "source": "expert", "annotator": "e1"}]
    )

    run = apply_to_cases(store, settings, "topic", progress=False)
    assert run.applied.lf_names == ["kw_refunds", "kw_payouts", "broken", "answer_match"]
    assert run.applied.failures["broken"] == 5  # counted, not fatal
    summary = label_cases(store, settings, run)
    assert summary["stored"] == 4 and summary["accuracy_on_gold"] == 1.0
    # one person's label cannot be split into a half to choose on and a half to score on
    assert summary["accuracy_on_gold_held_out"] is None and summary["held_out_gold_cases"] == 0
    weak = {lb.case_id: lb for lb in store.labels.list("topic", sources=["weak"])}
    assert {k: v.value for k, v in weak.items()} == {
        "c1": "refunds",
        "c2": "payouts",
        "c3": "fees",
        "c5": "refunds",
    }
    assert all(
        lb.version == summary["version"] and 0 < lb.confidence <= 1 and lb.expires_at for lb in weak.values()
    )

    stats = analyze(run)
    by_name = {lf.name: lf for lf in stats.lfs}
    assert by_name["kw_refunds"].coverage == 2 / 5 and by_name["kw_refunds"].emp_accuracy == 1.0
    assert by_name["broken"].coverage == 0.0 and by_name["answer_match"].n_labeled == 1
    assert stats.coverage == 4 / 5 and stats.n_gold == 1
    # a second run with the same functions replaces, never duplicates, the weak labels
    label_cases(store, settings, apply_to_cases(store, settings, "topic", progress=False))
    assert len(store.labels.list("topic", sources=["weak"])) == 4


def test_propagation_stores_confident_weak_labels(store: Store, tmp_path: Path) -> None:
    from supportcue.embeddings import HashingEmbedder
    from supportcue.weak.workspace import propagate_labels

    init_workspace(tmp_path)
    settings = load_settings(tmp_path, environ={})
    t = datetime(2026, 10, 1, tzinfo=UTC)
    phrases = {"refunds": "where is my refund for order", "payouts": "my payout has not arrived in the bank"}
    cases, labels = [], []
    for topic, text in phrases.items():
        for i in range(12):
            cid = f"{topic}-{i}"
            cases.append({"id": cid, "message": f"{text} number {i}", "created_at": t})
            if i < 3:
                labels.append({"case_id": cid, "task": "topic", "value": topic, "source": "sme"})
    cases.append({"id": "hi", "message": "hi there refund", "created_at": t})
    labels.append({"case_id": "hi", "task": "validity", "value": "invalid", "source": "sme"})
    store.cases.upsert(cases)
    store.labels.add(labels)
    result = propagate_labels(store, settings, HashingEmbedder(dim=256), min_confidence=0.5)
    weak = store.labels.list("topic", sources=["weak"])
    assert result["labeled"] == 6 and result["unlabeled"] == 18 and result["stored"] == len(weak) > 0
    assert all(lb.annotator == "propagation" and lb.confidence >= 0.5 for lb in weak)
    assert all(lb.value == lb.case_id.split("-")[0] for lb in weak if lb.case_id)  # right topic
    assert "hi" not in {lb.case_id for lb in weak}  # a non-question gets no topic

    # A re-run replaces the earlier run's labels: a case people labeled since keeps none of its old
    # weak label (it used to keep it for 90 days, beside the people's), nor does a case that no
    # longer gets a confident one; another machine's label on a case stays.
    store.labels.add(
        [
            {"case_id": "refunds-5", "task": "topic", "value": "refunds", "source": "sme"},
            {
                "case_id": "payouts-7",
                "task": "topic",
                "value": "payouts",
                "source": "weak",
                "annotator": "batch",
            },
        ]
    )
    propagate_labels(store, settings, HashingEmbedder(dim=256), min_confidence=0.99)
    again = store.labels.list("topic", sources=["weak"])
    assert "refunds-5" not in {lb.case_id for lb in again if lb.annotator == "propagation"}
    assert all(lb.confidence >= 0.99 for lb in again if lb.annotator == "propagation")
    assert ("payouts-7", "batch") in {(lb.case_id, lb.annotator) for lb in again}
    store.labels.add(
        [
            {"case_id": c["id"], "task": "topic", "value": "refunds", "source": "sme"}
            for c in cases
            if c["id"] != "hi"
        ]
    )
    assert (
        propagate_labels(store, settings, HashingEmbedder(dim=256))["stored"] == 0
    )  # nothing left to spread to
    assert {lb.annotator for lb in store.labels.list("topic", sources=["weak"])} == {"batch"}


def test_one_function_labels_by_majority_vote_and_says_so(store: Store, tmp_path: Path) -> None:
    """Issue 10: `weak apply` crashed (snorkel: "L_train should have at least 3 labeling functions")."""
    init_workspace(tmp_path)
    with pytest.raises(SettingsError, match=r"no labeling functions for task 'topic'.*lists none"):
        apply_to_cases(store, load_settings(tmp_path, environ={}), "topic", progress=False)
    settings = _with_functions(tmp_path, ONE_KEYWORD)
    with pytest.raises(SettingsError, match=r"task 'validity'.*\(lfs\.py\) define none"):
        apply_to_cases(store, settings, "validity", progress=False)
    empty = label_cases(store, settings, apply_to_cases(store, settings, "topic", progress=False))
    assert empty["stored"] == 0 and "no cases to label" in empty["note"]
    t = datetime(2026, 10, 1, tzinfo=UTC)
    store.cases.upsert(
        [
            {"id": "c1", "message": "where is my refund", "created_at": t},
            {"id": "c2", "message": "payout missing", "created_at": t},
        ]
    )
    summary = label_cases(store, settings, apply_to_cases(store, settings, "topic", progress=False))
    assert summary["label_model"] == "majority" and summary["stored"] == 1
    assert summary["note"] == "majority vote: 1 labeling function, and the label model needs at least 3"
    weak = store.labels.list("topic", sources=["weak"])
    assert [(lb.case_id, lb.value, lb.annotator) for lb in weak] == [
        ("c1", "refunds", "label_model:majority")
    ]


def test_weak_apply_replaces_its_own_labels_and_keeps_propagated_ones(store: Store, tmp_path: Path) -> None:
    """`weak apply` deleted every weak label but `batch label`'s: the labels `weak propagate` had
    stored (annotator `propagation`) were lost on the next `weak apply`."""
    init_workspace(tmp_path)
    settings = _with_functions(tmp_path, ONE_KEYWORD)
    t = datetime(2026, 10, 1, tzinfo=UTC)
    store.cases.upsert(
        [
            {"id": "c1", "message": "where is my refund", "created_at": t},
            {"id": "c2", "message": "payout missing", "created_at": t},
        ]
    )

    def weak(case_id: str, annotator: str) -> dict[str, object]:
        return {
            "case_id": case_id,
            "task": "topic",
            "value": "payouts",
            "source": "weak",
            "annotator": annotator,
        }

    store.labels.add([weak("c2", "propagation"), weak("c2", "batch"), weak("c1", "label_model:label_model")])
    label_cases(store, settings, apply_to_cases(store, settings, "topic", progress=False))
    kept = {(lb.case_id, lb.annotator, lb.value) for lb in store.labels.list("topic", sources=["weak"])}
    assert kept == {
        ("c2", "propagation", "payouts"),
        ("c2", "batch", "payouts"),
        ("c1", "label_model:majority", "refunds"),  # the old label model's label replaced
    }


def test_a_tie_between_functions_stores_no_weak_label(store: Store, tmp_path: Path) -> None:
    """Two functions that disagree on a case, and nothing else to tell them apart, make a tie: it was
    stored as the label listed first (a coin flip always landing on the same side, with confidence
    0.5) instead of abstaining, as snorkel's label model does by default."""
    init_workspace(tmp_path)
    settings = _with_functions(
        tmp_path,
        "from supportcue.weak import keyword_lf\n"
        "kw_refunds = keyword_lf('kw_refunds', ['refund'], 'refunds')\n"
        "kw_payouts = keyword_lf('kw_payouts', ['payout'], 'payouts')\n",
    )
    t = datetime(2026, 10, 1, tzinfo=UTC)
    store.cases.upsert(
        [
            {"id": "c1", "message": "where is my refund", "created_at": t},
            {"id": "c2", "message": "my payout is late", "created_at": t},
            {"id": "c3", "message": "refund my payout fee", "created_at": t},
        ]
    )
    summary = label_cases(store, settings, apply_to_cases(store, settings, "topic", progress=False))
    weak = {lb.case_id: lb.value for lb in store.labels.list("topic", sources=["weak"])}
    assert weak == {"c1": "refunds", "c2": "payouts"}
    assert summary["stored"] == 2 and summary["coverage"] == 2 / 3


def test_the_gold_of_a_case_people_disagree_on_is_weighed_as_training_weighs_it(
    store: Store, tmp_path: Path
) -> None:
    """The gold that scores the functions and picks the label model was the last human label stored
    for the case, whoever gave it: an agent's label imported after an expert's one won. Training
    (and its backtest) weigh them by `[labels.source_weights]`; weak supervision now does the same.
    Of values that weigh the same, the one labeled last is the gold, as training takes it (a tie was
    no gold: a reviewer's correction of an expert's topic left the case without one)."""
    init_workspace(tmp_path)
    settings = _with_functions(tmp_path, ONE_KEYWORD)
    t = datetime(2026, 10, 1, tzinfo=UTC)
    store.cases.upsert(
        [
            {"id": "c1", "message": "where is my refund", "created_at": t},
            {"id": "c2", "message": "refund of the payout", "created_at": t},
        ]
    )

    store.cases.upsert([{"id": "c3", "message": "refund please", "created_at": t}])

    def label(case_id: str, value: str, source: str, annotator: str, day: int = 0) -> dict[str, object]:
        when = t + timedelta(days=day)
        return {
            "case_id": case_id,
            "task": "topic",
            "value": value,
            "source": source,
            "annotator": annotator,
            "created_at": when,
        }

    store.labels.add(
        [
            label("c1", "refunds", "expert", "maya"),
            label("c1", "payouts", "agent", "lea", day=1),  # labeled last, weighs less
            label("c2", "refunds", "expert", "maya"),
            label("c2", "payouts", "sme", "olga", day=1),  # the same weight, later: a correction
            label("c3", "refunds", "sme", "olga", day=2),  # stored first, labeled last
            label("c3", "payouts", "expert", "jon", day=1),
        ]
    )
    run = apply_to_cases(store, settings, "topic", progress=False)
    gold = {case: run.applied.label_names[g] for case, g in zip(run.cases, run.gold, strict=True) if g >= 0}
    assert gold == {"c1": "refunds", "c2": "payouts", "c3": "refunds"}
    # training reads the same label of each case
    from supportcue.training.dataset import labeled_cases

    trained = labeled_cases(store, "topic", settings.labels.source_weights)
    assert dict(zip(trained.case_ids, trained.labels, strict=True)) == gold
    (kw,) = [lf for lf in analyze(run).lfs if lf.name == "kw"]
    assert (kw.correct, kw.incorrect) == (2, 1)


def test_cases_the_machine_labels_call_chit_chat_get_no_propagated_topic(
    store: Store, tmp_path: Path
) -> None:
    """Propagation gave unlabeled chit-chat the topic of the nearest question ("ok" -> cancel_account
    at 0.70) though the workspace's weak validity labels called it invalid: only a person's `invalid`
    kept a case out. Now a case no person judged is kept out when its live machine validity labels
    say invalid (by majority); a person's `valid` outranks the machine's."""
    from supportcue.embeddings import HashingEmbedder
    from supportcue.weak.workspace import judged_invalid, propagate_labels

    init_workspace(tmp_path)
    settings = load_settings(tmp_path, environ={})
    t = datetime(2026, 10, 1, tzinfo=UTC)
    phrases = {
        "r": ("refunds", "where is my refund for order"),
        "p": ("payouts", "my payout has not arrived"),
    }
    cases, labels = [], []
    for prefix, (topic, text) in phrases.items():
        cases += [{"id": f"{prefix}{i}", "message": f"{text} number {i}", "created_at": t} for i in range(8)]
        labels += [
            {"case_id": f"{prefix}{i}", "task": "topic", "value": topic, "source": "sme"} for i in range(3)
        ]
    # Chit-chat that looks like the topic's messages to the embedding (shared words).
    chat = {
        "ok": "ok refund for order",
        "thanks": "thanks for the refund order",
        "kept": "refund for order ok",
    }
    cases += [{"id": cid, "message": message, "created_at": t} for cid, message in chat.items()]
    machine = {"source": "weak", "task": "validity", "value": "invalid"}
    labels += [
        {**machine, "case_id": "ok", "annotator": "label_model"},
        {**machine, "case_id": "thanks", "annotator": "label_model"},
        {**machine, "case_id": "thanks", "annotator": "batch", "value": "valid"},
        {**machine, "case_id": "thanks", "annotator": "lf_thanks"},
        {**machine, "case_id": "kept", "annotator": "label_model"},
        {"case_id": "kept", "task": "validity", "value": "valid", "source": "agent"},
    ]
    store.cases.upsert(cases)
    store.labels.add(labels)
    assert judged_invalid(store) == {"ok", "thanks"}

    propagate_labels(store, settings, HashingEmbedder(dim=256), min_confidence=0.3)
    topics = {lb.case_id: lb.value for lb in store.labels.list("topic", sources=["weak"])}
    assert "ok" not in topics and "thanks" not in topics
    assert topics.get("kept") == "refunds" and topics.get("r7") == "refunds"


def test_propagation_from_one_topic_is_a_clear_error(store: Store, tmp_path: Path) -> None:
    """With people's labels of one topic only, `weak propagate` died with "an unexpected ValueError"
    and a traceback file; it now says what to label, and stores nothing."""
    from supportcue.embeddings import HashingEmbedder
    from supportcue.errors import TrainingDataError
    from supportcue.weak.workspace import propagate_labels, spread_labels

    init_workspace(tmp_path)
    settings = load_settings(tmp_path, environ={})
    t = datetime(2026, 10, 1, tzinfo=UTC)
    store.cases.upsert(
        [{"id": f"c{i}", "message": f"where is my refund {i}", "created_at": t} for i in range(6)]
    )
    store.labels.add(
        [{"case_id": f"c{i}", "task": "topic", "value": "refunds", "source": "sme"} for i in range(2)]
    )
    with pytest.raises(TrainingDataError, match=r"all say 'refunds' \(2 cases\).*another topic"):
        propagate_labels(store, settings, HashingEmbedder(dim=64))
    assert store.labels.list("topic", sources=["weak"]) == []
    # A backtest's training side with one topic spreads nothing rather than failing.
    assert spread_labels(store, settings, HashingEmbedder(dim=64)).rows == []


def test_coverage_of_unlabeled_counts_only_cases_that_can_get_a_label(store: Store, tmp_path: Path) -> None:
    """A message people judged not a question gets no topic, yet it counted in `coverage_of_unlabeled`
    (as covered when a function voted on it), so the figure did not describe the labels stored."""
    init_workspace(tmp_path)
    settings = _with_functions(tmp_path, ONE_KEYWORD)
    t = datetime(2026, 10, 1, tzinfo=UTC)
    store.cases.upsert(
        [
            {"id": "c1", "message": "where is my refund", "created_at": t},
            {"id": "c2", "message": "payout missing", "created_at": t},
            {"id": "c3", "message": "thanks for the refund!", "created_at": t},
        ]
    )
    store.labels.add([{"case_id": "c3", "task": "validity", "value": "invalid", "source": "expert"}])
    summary = label_cases(store, settings, apply_to_cases(store, settings, "topic", progress=False))
    assert summary["stored"] == 1 and summary["coverage_of_unlabeled"] == 1 / 2


def test_votes_for_labels_no_topic_has_are_not_counted_and_are_named(store: Store, tmp_path: Path) -> None:
    """A labeling function with a misspelt topic key ("refnds") or a validity value the task does not
    take ("chitchat") had its votes stored as weak labels: a topic with no answer for training to
    learn, and validity labels that made `train` fail ("validity labels must be 'valid' or
    'invalid'") far from their cause. Such votes are now no votes, and the report names them."""
    init_workspace(tmp_path)
    settings = _with_functions(
        tmp_path,
        "from supportcue.weak import keyword_lf, labeling_function\n"
        "kw_refunds = keyword_lf('kw_refunds', ['refund'], 'refunds')\n"
        "typo = keyword_lf('typo', ['invoice'], 'refnds')\n"
        "@labeling_function(task='validity')\n"
        "def chit(x):\n"
        "    return 'chitchat' if len(x.text.split()) <= 2 else None\n"
        "@labeling_function(task='validity')\n"
        "def question(x):\n"
        "    return 'valid' if x.text.endswith('?') else None\n",
    )
    store.library.upsert_topics([{"key": k, "name": k} for k in ("refunds", "payouts")])
    t = datetime(2026, 10, 1, tzinfo=UTC)
    store.cases.upsert(
        [
            {"id": "c1", "message": "where is my refund?", "created_at": t},
            {"id": "c2", "message": "a question about my invoice", "created_at": t},
            {"id": "c3", "message": "thanks!", "created_at": t},
            {"id": "c4", "message": "ok", "created_at": t},
        ]
    )
    topic = apply_to_cases(store, settings, "topic", progress=False)
    summary = label_cases(store, settings, topic)
    assert summary["unknown_labels"] == {"typo": {"refnds": 1}}
    assert {(lb.case_id, lb.value) for lb in store.labels.list("topic", sources=["weak"])} == {
        ("c1", "refunds")
    }
    validity = apply_to_cases(store, settings, "validity", progress=False)
    summary = label_cases(store, settings, validity)
    assert summary["unknown_labels"] == {"chit": {"chitchat": 2}}
    assert {(lb.case_id, lb.value) for lb in store.labels.list("validity", sources=["weak"])} == {
        ("c1", "valid")
    }
    warning = unknown_labels_warning("validity", validity.unknown_labels())
    assert (
        warning is not None
        and "chit: 'chitchat' (2 case(s))" in warning
        and "'valid' or 'invalid'" in warning
    )
    # `weak analyze` still shows what the function voted, for the person fixing it
    assert "refnds" in analyze(topic).to_dict()["lfs"][1]["polarity"]


def test_weak_apply_reports_an_accuracy_on_gold_the_choice_did_not_see(store: Store, tmp_path: Path) -> None:
    """`weak apply` chose between the label model and the majority vote on the people's labels and
    reported `accuracy_on_gold` on the same labels, an optimistic figure. It now also reports the
    accuracy of the model chosen on half of those labels, scored on the other half (both ways)."""
    init_workspace(tmp_path)
    settings = _with_functions(tmp_path, LFS)
    t = datetime(2026, 10, 1, tzinfo=UTC)
    messages = ["where is my refund", "refund please", "payout missing", "my payout is late"]
    store.cases.upsert([{"id": f"c{i}", "message": m, "created_at": t} for i, m in enumerate(messages * 3)])
    truth = ["refunds", "refunds", "payouts", "refunds"]  # the last: a payout message about a refund
    store.labels.add(
        [
            {"case_id": f"c{i}", "task": "topic", "value": truth[i % 4], "source": "expert", "annotator": "e"}
            for i in range(12)
        ]
    )
    summary = label_cases(store, settings, apply_to_cases(store, settings, "topic", progress=False))
    assert summary["accuracy_on_gold"] == 0.75
    assert summary["accuracy_on_gold_held_out"] == 0.75 and summary["held_out_gold_cases"] == 12
