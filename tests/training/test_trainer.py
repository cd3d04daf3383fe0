"""Training from the store's labels, time-ordered backtests, model versions and the promotion gate."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from supportcue.data.store import Store
from supportcue.embeddings import HashingEmbedder
from supportcue.errors import PromotionRefused
from supportcue.settings import Settings, init_workspace, load_settings
from supportcue.training.report import backtest_html
from supportcue.training.trainer import Trainer

PHRASES = {
    "refunds": ["refund for order", "refund not received", "cancel the refund", "refund to the card"],
    "payouts": ["payout is late", "when is my payout", "pause my payouts", "payout schedule weekly"],
    "login": ["cannot log in", "two factor code", "reset my password", "locked out of account"],
}
T0 = datetime(2026, 9, 1, tzinfo=UTC)


def seed_store(store: Store) -> None:
    rng = random.Random(0)
    cases, labels = [], []
    for i in range(150):
        topic = list(PHRASES)[i % 3]
        valid = i % 5 != 0
        text = (
            f"{rng.choice(PHRASES[topic])} please help {i}"
            if valid
            else rng.choice(["hi", "thanks!", "hello"])
        )
        cid = f"c{i:03d}"
        cases.append({"id": cid, "message": text, "created_at": T0 + timedelta(hours=i)})
        labels.append(
            {
                "case_id": cid,
                "task": "validity",
                "value": "valid" if valid else "invalid",
                "source": "expert",
                "annotator": "e1",
            }
        )
        if valid:
            labels.append(
                {"case_id": cid, "task": "topic", "value": topic, "source": "expert", "annotator": "e1"}
            )
    store.cases.upsert(cases)
    store.labels.add(labels)


@pytest.fixture
def trainer(store: Store, tmp_path: Path) -> Trainer:
    init_workspace(tmp_path)
    settings: Settings = load_settings(tmp_path, environ={})
    seed_store(store)
    return Trainer(store, settings, HashingEmbedder(dim=512))


def test_train_writes_versions_and_first_goes_live(trainer: Trainer) -> None:
    versions = trainer.train(["validation", "topic"])
    assert [(v.stage, v.version, v.status) for v in versions] == [
        ("validation", "v1", "live"),
        ("topic", "v1", "live"),
    ]
    topic = versions[1]
    assert Path(topic.artifact_path).exists() and len(topic.fingerprint) == 16
    assert topic.metrics["summary"]["accuracy"] > 0.8
    assert topic.metrics["n_test"] == 24 and topic.metrics["sources"] == {"expert": 120}
    assert topic.metrics["split"]["kind"] == "time"  # 150 hours of cases, every topic in both parts
    assert topic.metrics["gate"] == {"passed": True, "refused": [], "warnings": []}
    second = trainer.train(["topic"])[0]
    assert second.version == "v2" and second.status == "candidate"
    assert second.fingerprint == topic.fingerprint  # same labels, same fingerprint


def test_backtest_is_time_ordered_and_reports_the_curve(trainer: Trainer) -> None:
    cut = T0 + timedelta(hours=100)
    result = trainer.backtest(["topic"], since=cut)
    r = result["stages"]["topic"]
    assert r["n_train"] == 80 and r["n_test"] == 40  # 4 in 5 cases are valid questions
    assert r["split"]["kind"] == "time" and r["split"]["reason"] == "cut given with --since"
    assert set(r["per_label"]) == set(PHRASES)
    assert {"0.90", "0.95", "0.98"} == set(r["coverage_at_precision"])
    assert r["curve"] and r["curve"][-1]["coverage"] == 1.0
    html = backtest_html(result)
    assert "<svg" in html and "payouts" in html


def test_promotion_gate(trainer: Trainer, store: Store) -> None:
    live = trainer.train(["topic"])[0]
    worse = store.models.add(
        {
            "stage": "topic",
            "version": "v9",
            "artifact_path": live.artifact_path,
            "fingerprint": "x",
            "params": live.params,
            "metrics": {**live.metrics, "summary": {**live.metrics["summary"], "accuracy": 0.6}},
        }
    )
    with pytest.raises(PromotionRefused, match="worse than the live model") as refused:
        trainer.promote("topic", worse.version)
    assert "candidate 0.6000" in str(refused.value) and "time-ordered split" in str(refused.value)
    assert store.models.live("topic").version == "v1"  # type: ignore[union-attr]
    promoted, note = trainer.promote("topic", worse.version, force=True)
    assert promoted.status == "live" and "forced" in note
    statuses = {m.version: m.status for m in store.models.list("topic")}
    assert statuses == {"v1": "previous", "v9": "live"}


def test_expired_and_weak_labels(trainer: Trainer, store: Store) -> None:
    store.labels.add(
        [
            {
                "case_id": "c001",
                "task": "topic",
                "value": "login",
                "source": "weak",
                "annotator": "lm",
                "confidence": 0.9,
                "expires_at": T0,
            }
        ]
    )
    data = trainer.labeled("topic")
    assert data.sources == {"expert": 120}  # the expired weak label is not used
    store.labels.add(
        [
            {
                "case_id": "c001",
                "task": "topic",
                "value": "login",
                "source": "weak",
                "annotator": "lm2",
                "confidence": 0.4,
            }
        ]
    )
    assert trainer.labeled("topic").sources == {"expert": 120, "weak": 1}
    assert trainer.labeled("topic", exclude_weak=True).sources == {"expert": 120}


def test_users_rules_from_settings_win_over_the_model(trainer: Trainer) -> None:
    trainer.settings.validation.invalid_patterns = [r"^\s*test message"]
    version = trainer.train(["validation"])[0]
    assert version.params["custom_rules"] == [r"^\s*test message"]
    stage = trainer.fit("validation", trainer.labeled("validity"), dict(version.params))
    rule, model = stage.predict(
        trainer.messages(["test message refund for order", "refund for order please"])
    )
    assert rule.label == "invalid" and rule.reason and "rule" in rule.reason
    assert model.label == "valid"


def test_a_version_records_its_embedder_and_is_not_served_with_another(
    trainer: Trainer, store: Store
) -> None:
    from supportcue.errors import SettingsError
    from supportcue.training.loader import load_pipeline

    class Other(HashingEmbedder):
        name = "other-embedder"

    versions = trainer.train(["validation", "topic"])
    assert {v.metrics["embedder"] for v in versions} == {"hashing-ngrams"}
    assert load_pipeline(store, trainer.settings, trainer.embedder).embedder is trainer.embedder
    with pytest.raises(SettingsError, match=r"trained on hashing-ngrams vectors.*other-embedder"):
        load_pipeline(store, trainer.settings, Other(dim=512))


def test_texts_labeled_without_a_case_are_learned_from(store: Store, tmp_path: Path) -> None:
    """A labels file may label a text without a case (`text` instead of `case_id`, as docs/data-formats
    says); such labels were stored and then never read: `train` said "only 0 topic labels"."""
    from supportcue.data.importer import import_file
    from supportcue.review.store_issues import label_stats

    init_workspace(tmp_path)
    settings = load_settings(tmp_path, environ={})
    rows = ["text,task,value,annotator,created_at"]
    for topic, phrases in PHRASES.items():
        for n, phrase in enumerate(phrases * 3):
            rows.append(f"{phrase} number {n},topic,{topic},e1,2026-09-{1 + n:02d}")
    rows.append("refund for order number 0,topic,payouts,e2,2026-09-01")  # a second opinion
    path = tmp_path / "texts.csv"
    path.write_text("\n".join(rows) + "\n")
    assert import_file(store, "labels", path).stored == 37
    trainer = Trainer(store, settings, HashingEmbedder(dim=512))
    data = trainer.labeled("topic")
    assert len(data) == 36 and data.sources == {"expert": 37} and not data.unmatched
    assert data.labels[data.texts.index("refund for order number 0")] == "payouts"  # the tie, as for cases
    assert data.created_at == sorted(data.created_at)
    stats = label_stats(store, settings, "topic")
    assert stats["labeled_cases"] == 36 and stats["agreement"]["pairs"][0]["n_items"] == 1
    (version,) = trainer.train(["topic"])
    assert version.stage == "topic" and version.metrics["n_test"] > 0


def test_a_backtest_spreads_weak_labels_only_among_its_training_cases(trainer: Trainer, store: Store) -> None:
    """`weak propagate` spreads every label people gave, the backtest's test cases' too: a topic
    people labeled only after the cut reached its unlabeled look-alikes before it, and the backtest
    scored as learnt a topic no training case of its own carried."""
    from supportcue.weak.workspace import propagate_labels

    cut = T0 + timedelta(hours=200)
    early = [
        {
            "id": f"d-early-{i}",
            "message": f"dispute chargeback opened on payment {i}",
            "created_at": T0 + timedelta(hours=10 * i),
        }
        for i in range(10)
    ]
    late = [
        {
            "id": f"d-late-{i}",
            "message": f"dispute chargeback opened on payment {50 + i}",
            "created_at": cut + timedelta(hours=i),
        }
        for i in range(8)
    ]
    store.cases.upsert(early + late)
    store.labels.add(
        [{"case_id": c["id"], "task": "topic", "value": "disputes", "source": "expert"} for c in late]
    )
    propagate_labels(store, trainer.settings, trainer.embedder, min_confidence=0.5)
    spread = {lb.case_id: lb.value for lb in store.labels.list("topic", sources=["weak"])}
    assert {spread.get(c["id"]) for c in early} == {"disputes"}  # what production trains on

    result = trainer.backtest(["topic"], since=cut)["stages"]["topic"]
    assert result["n_test"] == 8 and result["unseen_labels"] == ["disputes"]
    assert result["summary_no_abstain"]["accuracy"] == 0.0


def test_train_names_the_words_of_the_teams_texts_that_spelling_rewrites(
    store: Store, tmp_path: Path
) -> None:
    """`train` (MiniLM with spelling, the default) names a word its texts spell one way while spelling
    reads it as another ("venmo" -> "venom": a brand), with where to keep it as typed."""
    from supportcue.cli.models_cmd import _rewritten_words
    from supportcue.spelling import known_words_hint

    init_workspace(tmp_path)
    settings = load_settings(tmp_path, environ={})
    rows = [{"id": f"v{i}", "message": f"my venmo payment {i} is late", "created_at": T0} for i in range(3)]
    store.cases.upsert(rows)
    store.labels.add(
        [
            {"case_id": r["id"], "task": "topic", "value": "payouts", "source": "expert", "annotator": "e1"}
            for r in rows
        ]
    )
    store.library.upsert_answers(
        [
            {
                "id": "a1",
                "topic": "payouts",
                "title": "Autopay",
                "body": "Autopay pays it.",
                "status": "approved",
            }
        ]
    )
    out = known_words_hint(_rewritten_words(Trainer(store, settings, HashingEmbedder()))) or ""
    assert "venmo -> venom (3 texts)" in out and "[embedding] known_words" in out
    assert "autopay" not in out  # one answer: under 3 texts
    kept = settings.model_copy(
        update={"embedding": settings.embedding.model_copy(update={"known_words": ["venmo"]})}
    )
    assert _rewritten_words(Trainer(store, kept, HashingEmbedder())) == []


def test_train_does_not_propose_the_customers_names_as_known_words(store: Store, tmp_path: Path) -> None:
    """The demo's hint proposed "farid -> fared": a customer's first name, typed in lower case."""
    from supportcue.cli.models_cmd import _rewritten_words

    init_workspace(tmp_path)
    settings = load_settings(tmp_path, environ={})
    rows = [
        {
            "id": f"f{i}",
            "message": f"hi its farid, payout {i} is late",
            "created_at": T0,
            "customer_name": "Farid Haddad",
        }
        for i in range(3)
    ]
    store.cases.upsert(rows)
    store.labels.add(
        [
            {"case_id": r["id"], "task": "topic", "value": "payouts", "source": "expert", "annotator": "e"}
            for r in rows
        ]
    )
    assert _rewritten_words(Trainer(store, settings, HashingEmbedder())) == []


def test_a_backtest_counts_the_test_texts_its_training_cases_hold(trainer: Trainer) -> None:
    """A help desk's history repeats itself ("hi", "thanks!", "How do I reset my password?"): a
    backtest's test cases whose text a training case holds too measure recall of what the model was
    fitted on. `eval` counted them (`test_in_train`); the backtest, whose figures the gate promotes
    on, did not. Here every tested greeting repeats an older one."""
    cut = T0 + timedelta(hours=100)
    result = trainer.backtest(["validation", "topic"], since=cut)
    validity, topic = result["stages"]["validation"], result["stages"]["topic"]
    assert (validity["n_test"], validity["test_in_train"], validity["test_in_train_share"]) == (50, 10, 0.2)
    assert 0.0 <= validity["accuracy_unseen"] <= 1.0
    assert any(
        "10 of the 50 test cases (20%) have a text that a training case holds" in w
        for w in validity["warnings"]
    )
    assert topic["test_in_train"] == 0 and topic["accuracy_unseen"] == topic["summary"]["accuracy"]


def test_a_time_ordered_backtest_counts_the_weak_labels_after_its_cut(
    trainer: Trainer, store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    """A time cut trains on the labels before it and tests on the people's labels after it: the weak
    labels after it were neither trained on nor tested (266 of 2,506 on the demo), and nothing said
    so. The backtest counts them (`weak_after_cut`) and its report and `train`'s say it."""
    import io

    from rich.console import Console

    from supportcue.training.report import print_backtest

    cut = T0 + timedelta(hours=100)
    late = [
        {
            "id": f"w{i}",
            "message": f"refund for order {i} please",
            "created_at": cut + timedelta(hours=100 + i),
        }
        for i in range(7)
    ]
    early = [{"id": "w-early", "message": "refund for order 99", "created_at": T0}]
    store.cases.upsert(late + early)
    store.labels.add(
        [
            {"case_id": c["id"], "task": "topic", "value": "refunds", "source": "weak", "annotator": "lm"}
            for c in late + early
        ]
    )
    # a case a person labeled too is tested, not left out
    store.labels.add(
        [{"case_id": "c121", "task": "topic", "value": "login", "source": "weak", "annotator": "lm"}]
    )
    result = trainer.backtest(["topic"], since=cut)
    r = result["stages"]["topic"]
    assert r["weak_after_cut"] == 7 and r["n_test"] == 40 and r["n_train"] == 81
    out = io.StringIO()
    print_backtest(result, Console(file=out, width=300))
    assert (
        "7 case(s) after the cut have only weak or machine labels: neither trained on nor tested"
        in out.getvalue()
    )
    trained = trainer.train(["topic"])[0]  # its own cut (the 80% quantile), the newest cases after it
    assert trained.metrics["split"]["kind"] == "time" and trained.metrics["weak_after_cut"] == 7
    from supportcue.cli.models_cmd import print_trained

    print_trained(trained, 0.9)
    assert "7 case(s) after the cut have only weak or machine labels" in capsys.readouterr().out
    stratified = trainer.backtest(["validation"])["stages"]["validation"]
    assert stratified["weak_after_cut"] == 0


def test_a_split_too_small_to_backtest_counts_the_peoples_training_labels_as_it_says(
    trainer: Trainer, store: Store
) -> None:
    """The error said "3 train / 120 test topic labels labeled by people" when no training label was a
    person's: the training count was of labels of every source. It now gives both."""
    from supportcue.errors import SupportcueError

    early = [
        {"id": f"w{i}", "message": f"refund for order {i}", "created_at": T0 - timedelta(hours=i + 1)}
        for i in range(3)
    ]
    store.cases.upsert(early)
    store.labels.add(
        [
            {"case_id": c["id"], "task": "topic", "value": "refunds", "source": "weak", "annotator": "lm"}
            for c in early
        ]
    )
    with pytest.raises(SupportcueError) as failed:
        trainer.backtest(["topic"], since=T0 + timedelta(minutes=30))
    assert (
        "leaves 3 training topic label(s) of any source (0 labeled by people) and 120 test label(s) "
        "labeled by people" in str(failed.value)
    )


def test_a_backtests_confusions_leave_out_the_cases_the_model_declined(
    trainer: Trainer, store: Store
) -> None:
    """The "most frequent confusions" table listed a test case the model declined to answer (its best
    guess, below the threshold) as a confusion, while the guessed topic's precision, which counts
    answers only, read 1.000. A declined case is no confusion: it counts against recall (and
    coverage) only."""
    cut = T0 + timedelta(hours=100)
    odd = [
        {
            "id": f"odd{i}",
            "message": f"zq blorf vexx quib {i} snarl",
            "created_at": cut + timedelta(minutes=i),
        }
        for i in range(4)
    ]
    store.cases.upsert(odd)
    store.labels.add(
        [{"case_id": c["id"], "task": "topic", "value": "refunds", "source": "expert"} for c in odd]
    )
    r = trainer.backtest(["topic"], since=cut)["stages"]["topic"]
    assert r["coverage"] < 1.0  # the odd cases are declined
    assert r["per_label"]["payouts"]["precision"] == 1.0
    assert r["confusions"] == []
