"""`eval suggest` on small hand-made files: the contract keys, the predictions file, the library."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from supportcue.data.files import write_rows
from supportcue.embeddings import HashingEmbedder
from supportcue.errors import ImportDataError, SettingsError
from supportcue.eval.suggest import build_library, canonical_answers, rouge_l, run_suggest

REPLIES = {
    "pause_payouts": [
        "Hi {{Customer Name}},\nYou can pause payouts under Settings > Payouts. Payments keep arriving.",
        "You can pause payouts under Settings > Payouts. Payments keep arriving while they are paused.",
    ],
    "refund_status": [
        "Refunds take 5 to 10 business days to reach the card. Follow each refund on the Payments page.",
        "Refunds take 5 to 10 business days to appear. Follow each refund on the Payments page.",
    ],
    "close_account": [
        "To close your account, open Settings > Account and choose Close account; records stay 7 years.",
        "Open Settings > Account and choose Close account. Records are kept for 7 years.",
    ],
}
QUESTIONS = {
    "pause_payouts": [
        "how do I pause payouts",
        "stop my payouts for now",
        "can payouts be paused",
        "hold payouts",
    ],
    "refund_status": [
        "where is my refund",
        "refund not arrived yet",
        "how long do refunds take",
        "refund status",
    ],
    "close_account": [
        "close my account",
        "delete my account please",
        "how to shut down my account",
        "cancel account",
    ],
}


def rows(n_per_label: int, seed: int) -> list[dict[str, str]]:
    rng = random.Random(seed)
    out = []
    for label, questions in QUESTIONS.items():
        for _ in range(n_per_label):
            question = rng.choice(questions) + rng.choice(["", "?", " thanks", " asap"])
            out.append({"text": question, "reply": rng.choice(REPLIES[label]), "intent": label})
    return out


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    train, test = tmp_path / "train.csv", tmp_path / "test.jsonl"
    write_rows(train, rows(12, seed=1))
    write_rows(test, rows(4, seed=2))
    return train, test


def test_contract_keys_and_predictions_file(files: tuple[Path, Path], tmp_path: Path) -> None:
    train, test = files
    out = tmp_path / "pred.jsonl"
    result = run_suggest(train, test, label_col="intent", predictions=out, embedder=HashingEmbedder(dim=512))
    for key in (
        "match_rate",
        "mean_similarity",
        "coverage",
        "n_test",
        "topic_accuracy",
        "baseline_match_rate",
    ):
        assert key in result, key
    assert result["n_test"] == 12 and result["n_train"] == 36 and result["n_topics"] == 3
    assert result["topic_accuracy"] >= 0.9 and result["coverage"] >= 0.9
    assert result["match_rate"] >= 0.9  # every reply of a topic matches its canonical answer here
    assert 0.0 <= result["mean_similarity"] <= 1.0
    json.dumps(result)  # the CLI prints it as one JSON line
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == 12
    assert set(lines[0]) >= {"text", "reply", "suggestion", "topic", "similarity", "match"}
    # match_rate counts an abstention as a miss (over every test row); match_rate_answered is over
    # the rows with a suggestion, as `report`'s match rate is over suggestions with a text
    answered = [line for line in lines if line["suggestion"] is not None]
    assert result["match_rate"] == pytest.approx(sum(line["match"] for line in lines) / len(lines))
    assert result["match_rate_answered"] == pytest.approx(
        sum(line["match"] for line in answered) / len(answered)
    )
    assert [line["text"] for line in lines] == [r["text"] for r in rows(4, seed=2)]  # test-file order
    # The independent score: each row's ROUGE-L, their mean, and the baseline's on the same rows.
    scores = [line["rouge_l"] for line in lines]
    assert all(0.0 <= x <= 1.0 for x in scores)
    assert result["rouge_l"] == pytest.approx(sum(scores) / len(scores), abs=1e-4)
    assert 0.0 < result["baseline_rouge_l"] <= 1.0
    assert result["rouge_l_ratio"] == pytest.approx(result["rouge_l"] / result["baseline_rouge_l"])


def test_rouge_l_on_a_hand_made_case() -> None:
    """ROUGE-L F1 = 2 LCS / (len a + len b) over lowercased words; an abstention scores 0."""
    scores = rouge_l(
        ["The cat sat on the mat.", None, "mat the on", "Refunds take 5 days"],
        ["the cat on the mat", "anything", "the mat on", "refunds take 5 days"],
    )
    assert scores is not None
    # LCS "the cat on the mat" = 5 words of 6 and 5: 2 * 5 / 11.
    assert scores[0] == pytest.approx(10 / 11)
    assert scores[1] == 0.0
    assert scores[2] == pytest.approx(2 * 2 / 6)  # "mat on" / "the on": LCS of 2 in 3 + 3 words
    assert scores[3] == pytest.approx(1.0)


def test_without_label_column_topics_come_from_reply_clusters(files: tuple[Path, Path]) -> None:
    train, test = files
    result = run_suggest(train, test, embedder=HashingEmbedder(dim=512))
    assert "topic_accuracy" not in result
    assert result["n_topics"] >= 2 and 0.0 <= result["match_rate"] <= 1.0 and result["n_test"] == 12


def test_canonical_answers_cover_the_replies() -> None:
    replies = REPLIES["pause_payouts"] * 3 + ["Something else entirely, about invoices and taxes."]
    picked = canonical_answers(replies, k=3)
    assert (
        len(picked) == 2 and replies[picked[0]] in REPLIES["pause_payouts"]
    )  # the odd one covers only itself
    library = build_library(
        replies, ["payouts"] * len(replies), answers_per_topic=1, threshold=0.7, drafts="replies"
    )
    assert [a.id for a in library] == ["payouts#0"] and library[0].status == "approved"
    assert library[0].body == replies[picked[0]]  # an existing reply, verbatim


def test_consensus_library_puts_the_topic_draft_first() -> None:
    """With drafts="consensus" (the default) answer #0 is the topic's consensus draft (whole shared
    sentences, the one-off left out), the other answers the canonical replies after the first."""
    one_off = "Also, our office dog Rex says hello to everyone today."
    replies = [*REPLIES["pause_payouts"] * 3, f"{REPLIES['pause_payouts'][1]} {one_off}"]
    replies += REPLIES["refund_status"] * 2
    topics = ["payouts"] * 7 + ["refunds"] * 4
    library = build_library(replies, topics, answers_per_topic=2, threshold=0.7)
    by_id = {a.id: a for a in library}
    assert set(by_id) >= {"payouts#0", "refunds#0"}
    payouts = by_id["payouts#0"].body
    assert "You can pause payouts under Settings > Payouts." in payouts and one_off not in payouts
    assert "Refunds take 5 to 10 business days" in by_id["refunds#0"].body
    assert all(a.status == "approved" for a in library)
    with pytest.raises(SettingsError, match="--drafts"):
        build_library(replies, topics, answers_per_topic=1, threshold=0.7, drafts="llm")


def test_missing_column_names_the_file_and_columns(files: tuple[Path, Path]) -> None:
    train, test = files
    with pytest.raises(ImportDataError, match="no column 'answer'"):
        run_suggest(train, test, reply_col="answer", embedder=HashingEmbedder(dim=64))


def test_a_train_file_of_one_topic_names_the_file(tmp_path: Path) -> None:
    """One topic in --label-col (or replies too few to make two clusters) stopped with the topic
    stage's "needs at least 2 topics with examples, got ['cluster-0']", naming no file and a topic
    the user never gave."""
    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    write_rows(train, [r for r in rows(3, seed=1) if r["intent"] == "refund_status"])
    write_rows(test, rows(1, seed=2))
    with pytest.raises(ImportDataError, match=r"train\.csv: every row's 'intent' is 'refund_status'"):
        run_suggest(train, test, label_col="intent", embedder=HashingEmbedder(dim=512))
    with pytest.raises(ImportDataError, match=r"train\.csv: .*one topic.*--label-col"):
        run_suggest(train, test, embedder=HashingEmbedder(dim=512))
