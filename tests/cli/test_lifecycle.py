"""A model lifecycle that cannot ship a bad model (issue 10, item 2), driven through the CLI on a
workspace of the project's own small data:

- a history imported without created_at and sorted by topic (as the Bitext file was) is backtested on
  a stratified split that says so, not on a time cut that tests only topics never trained on (which
  measured 0.036 accuracy, and put that model live);
- a topic model below the `[gate]` floors stays a candidate, and `train` says why and what to do;
- `promote` to an earlier version needs no new backtest, `--force` none at all, and `rollback` goes
  back one version at a time after several promotions.
"""

from __future__ import annotations

import csv
import io
import json
import random
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from supportcue.cli import app
from supportcue.data.store import open_store
from supportcue.settings import load_settings
from supportcue.training.split import TIME, Split

TOPICS = {
    "refunds": ["refund for my order", "refund not received", "cancel the refund", "money back to my card"],
    "payouts": ["payout is late", "when is my payout", "pause my payouts", "payout schedule weekly"],
    "login": ["cannot log in", "two factor code missing", "reset my password", "locked out of account"],
    "invoices": ["invoice is wrong", "download my invoice", "vat number on invoice", "invoice address"],
    "shipping": ["parcel not delivered", "track my parcel", "change delivery address", "courier lost it"],
}
CHITCHAT = ["hi", "thanks!", "hello there", "ok", "thank you so much"]
T0 = datetime(2026, 9, 1, tzinfo=UTC)


def cli(ws: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["--workspace", str(ws), *args], env={"COLUMNS": "250"})
    return result.exit_code, result.output + (str(result.exception) if result.exception else "")


def run(ws: Path, *args: str) -> str:
    code, out = cli(ws, *args)
    assert code == 0, out
    return out


def write_history(
    folder: Path, per_topic: int = 30, dated: bool = False, start: datetime = T0, noise: bool = False
) -> None:
    """cases.csv, labels.jsonl and answers.csv. `dated`: a created_at column, the topics interleaved
    and the cases 3 hours apart; otherwise no created_at (each case gets the import time) and the rows
    sorted by topic, then the chit-chat. `noise`: topic labels drawn at random, unrelated to the text
    (a model of them cannot be good)."""
    rng = random.Random(3)
    rows, labels = [], []
    for topic, phrases in TOPICS.items():
        for i in range(per_topic):
            rows.append((f"{topic}-{i:03d}", f"{rng.choice(phrases)} please, ref {i}", topic))
    rows += [(f"chat-{i:03d}", rng.choice(CHITCHAT), None) for i in range(20)]
    if dated:
        rows.sort(key=lambda row: row[0].split("-")[1])  # by number: the topics interleaved
    with (folder / "cases.csv").open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["id", "message", "customer_name", *(["created_at"] if dated else [])])
        for n, (case_id, text, _) in enumerate(rows):
            when = [(start + timedelta(hours=3 * n)).isoformat()] if dated else []
            out.writerow([case_id, text, "Ana", *when])
    for case_id, _, topic in rows:
        validity = "invalid" if topic is None else "valid"
        labels.append({"case_id": case_id, "task": "validity", "value": validity})
        if topic is not None:
            value = rng.choice(list(TOPICS)) if noise else topic
            labels.append({"case_id": case_id, "task": "topic", "value": value})
    (folder / "labels.jsonl").write_text("".join(json.dumps(lb) + "\n" for lb in labels))
    (folder / "answers.csv").write_text(
        "id,topic,title,body,status\n"
        + "".join(f"a-{t},{t},{t},About your {t}: we are on it.,approved\n" for t in TOPICS)
    )


@pytest.fixture
def workspace(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A new workspace (model-free embedder) on the test's database."""
    monkeypatch.setenv("SUPPORTCUE_DATABASE_URL", database_url)
    ws = tmp_path / "ws"
    run(tmp_path, "init", str(ws))
    config = ws / "supportcue.toml"
    config.write_text(config.read_text().replace('model = "minilm"', 'model = "tfidf"'))
    return ws


def last_json(out: str) -> dict[str, Any]:
    """The JSON object a `--json` command prints last (after its progress lines)."""
    found: dict[str, Any] = json.loads(out.splitlines()[-1])
    return found


def import_history(ws: Path) -> None:
    for kind, name in (("cases", "cases.csv"), ("labels", "labels.jsonl"), ("answers", "answers.csv")):
        run(ws, "import", kind, str(ws.parent / name))


def topic_versions(ws: Path) -> dict[str, str]:
    rows = json.loads(run(ws, "models", "--json"))
    return {m["version"]: m["status"] for m in rows if m["stage"] == "topic"}


def test_an_undated_history_sorted_by_topic_is_backtested_on_a_stratified_split(workspace: Path) -> None:
    ws = workspace
    write_history(ws.parent)
    import_history(ws)
    settings = load_settings(ws)
    store = open_store(settings.database_url)
    times = sorted(c.created_at for c in store.cases.list() if not c.id.startswith("chat"))
    store.close()
    assert times[-1] - times[0] < timedelta(minutes=1)  # every case carries the import time

    # the failure of the report: a time cut at 80% of the rows tests only the last topic in the file
    cut = times[int(len(times) * 0.8)]
    timed = last_json(run(ws, "backtest", "--stage", "topic", "--since", cut.isoformat(), "--json"))
    topic = timed["stages"]["topic"]
    assert topic["split"]["kind"] == TIME and topic["summary"]["accuracy"] == 0.0
    unseen = "30 of the 30 test cases have labels no training case has (shipping)"
    assert topic["warnings"][0].startswith(unseen)

    out = run(ws, "train")
    line = next(x for x in out.splitlines() if x.startswith("topic v1"))
    assert line.startswith("topic v1 (live) backtest accuracy"), out
    accuracy = float(re.search(r"accuracy (\d\.\d+)", line).group(1))  # type: ignore[union-attr]
    assert accuracy > 0.8, out
    assert "stratified split: 20% of each label's cases held out (the cases' created_at span only" in out
    backtest = last_json(run(ws, "backtest", "--json"))
    for name in ("validation", "topic"):
        assert backtest["stages"][name]["split"]["kind"] == "stratified"
    assert "stratified split" in run(ws, "backtest", "--stage", "topic")
    models = json.loads(run(ws, "models", "--json"))
    recorded = next(m for m in models if m["stage"] == "topic")["metrics"]
    assert recorded["split"]["kind"] == "stratified" and recorded["gate"]["passed"] is True
    assert "stratified" in run(ws, "models")

    # the same figures a time cut produced would not have passed the gate
    from supportcue.embeddings import make_embedder
    from supportcue.training.gate import floors
    from supportcue.training.trainer import Trainer

    store = open_store(settings.database_url)
    trainer = Trainer(store, settings, make_embedder("tfidf"))
    data = trainer.labeled("topic")
    metrics = trainer.evaluate("topic", {}, data, Split(TIME, "the report's cut", cut))
    store.close()
    assert floors("topic", metrics, settings.gate)[0].startswith("backtest accuracy 0.000 is below")


def test_a_model_below_the_floors_stays_a_candidate_and_train_says_why(workspace: Path) -> None:
    ws = workspace
    code, out = cli(ws, "suggest", "when is my payout")
    assert code != 0 and "no trained model: run supportcue train" in out and "abstained" not in out

    write_history(ws.parent, dated=True, noise=True)
    import_history(ws)
    out = run(ws, "train", "--stage", "topic")
    assert "topic v1 (candidate) backtest accuracy" in out, out
    assert "topic v1 stays a candidate" in out
    assert re.search(r"- backtest accuracy 0\.\d+ is below \[gate\] min_topic_accuracy = 0\.5", out), out
    assert "what to do: look at the backtest (`supportcue backtest --stage topic`)" in out
    assert "`supportcue promote topic v1 --force` puts it live anyway" in out
    assert "time-ordered split" in out  # real dates, every topic in both parts
    assert topic_versions(ws) == {"v1": "candidate"}

    code, out = cli(ws, "suggest", "when is my payout")
    assert code != 0 and "no live topic model: topic v1 is a candidate that did not clear the gate" in out
    code, out = cli(ws, "promote", "topic", "v1")
    assert code != 0 and "topic v1 stays a candidate: backtest accuracy" in out, out
    assert "forced: the gate was not applied" in run(ws, "promote", "topic", "v1", "--force")
    assert topic_versions(ws) == {"v1": "live"}


def test_validation_without_invalid_labels_stays_a_candidate(workspace: Path) -> None:
    ws = workspace
    write_history(ws.parent, dated=True)
    labels = ws.parent / "labels.jsonl"
    labels.write_text("".join(x + "\n" for x in labels.read_text().splitlines() if '"invalid"' not in x))
    import_history(ws)
    out = run(ws, "train", "--stage", "validation")
    assert "validation v1 (candidate)" in out
    assert "its validity labels have no invalid case (150 valid)" in out
    assert "what to do: label messages that are not questions (task validity, value invalid" in out


def test_promote_back_and_rollback_after_several_promotions(workspace: Path) -> None:
    ws = workspace
    write_history(ws.parent, dated=True)
    import_history(ws)
    run(ws, "train", "--stage", "topic")
    run(ws, "train", "--stage", "topic")
    assert topic_versions(ws) == {"v1": "live", "v2": "candidate"}
    # more history comes, and the dates are corrected a year back: v1's and v2's recorded cut
    # leaves no test case today
    write_history(ws.parent, per_topic=40, dated=True, start=T0 - timedelta(days=365))
    import_history(ws)
    assert "topic v3 (candidate)" in run(ws, "train", "--stage", "topic")

    assert "backtest accuracy (time-ordered split: trained on cases before 2025-" in run(
        ws, "promote", "topic", "v3"
    )
    out = run(ws, "promote", "topic", "v2")  # never live; its own cut cannot be used any more
    assert "topic v2 is live (backtest accuracy (time-ordered split: trained on cases before 2025-" in out
    out = run(ws, "promote", "topic", "v1", "--force")
    assert "it was live before, so no new backtest (v2 was live and is kept for rollback)" in out
    assert topic_versions(ws) == {"v1": "live", "v2": "previous", "v3": "previous"}

    assert "topic v2 is live again; v1 is retired" in run(ws, "rollback", "topic")
    assert "topic v3 is live again; v2 is retired" in run(ws, "rollback", "topic")
    code, out = cli(ws, "rollback", "topic")
    assert code != 0 and "topic v3 is live and no earlier version is kept to roll back to" in out
    assert "it was live before" in run(ws, "promote", "topic", "v1")  # retired, but once live
    assert topic_versions(ws) == {"v1": "live", "v2": "retired", "v3": "previous"}
    assert "it is live already" in run(ws, "promote", "topic", "v1")


@pytest.mark.parametrize("width", [80, 200])
def test_models_table_stays_readable_in_a_narrow_terminal(width: int) -> None:
    """At 80 columns (a small terminal, or a pipe, which rich renders at 80) the ten columns were
    squeezed until every cell was an ellipsis; the optional ones now make way (`--json` has them)."""
    from rich.console import Console

    from supportcue.cli.models_cmd import versions_table
    from supportcue.data.tables import ModelVersion

    made = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)
    versions = [
        ModelVersion(
            stage="validation",
            version="v12",
            status="candidate",
            created_at=made,
            fingerprint="f" * 64,
            sha256="a" * 64,
            metrics={
                "summary": {"accuracy": 0.95, "macro_f1": 0.94},
                "split": {"kind": "stratified"},
                "gate": {"passed": False},
            },
        ),
        ModelVersion(
            stage="response", version="v1", status="live", created_at=made, fingerprint="0" * 64, metrics={}
        ),
    ]
    out = Console(width=width, record=True, file=io.StringIO())
    out.print(versions_table(versions, out))
    text = out.export_text()
    assert "…" not in text and max(len(line) for line in text.splitlines()) <= width
    for shown in (
        "stage",
        "version",
        "status",
        "accuracy",
        "validation",
        "candidate",
        "stratified",
        "refused",
    ):
        assert shown in text
    assert "2026-11-30 18:00" in text and "0.950" in text and "refused" in text
    assert ("aaaaaaaaaaaa" in text and "unverified" in text) == (width == 200)


def test_a_retrained_response_stage_says_how_it_goes_live(workspace: Path) -> None:
    """The response stage has no backtest to gate on: its first version goes live, and one trained on
    history imported since stays a candidate. `train` printed "response v2 (candidate) -> PATH" and
    nothing else, so a team that imported its new replies and trained again believed they were used;
    it says that the live version keeps serving and how to put the new one live."""
    ws = workspace
    write_history(ws.parent, dated=True)
    import_history(ws)
    out = run(ws, "train")
    assert "response v1 (live)" in out and "supportcue promote response" not in out, out
    out = run(ws, "train")
    assert "response v2 (candidate)" in out, out
    assert "response v1 keeps serving; put v2 live with `supportcue promote response v2`" in out, out
    run(ws, "promote", "response", "v2")


def test_train_with_topic_labels_only_trains_the_stages_it_can(workspace: Path) -> None:
    """A team that labeled topics but no validity stopped at the first stage: `train` said "only 0
    validity labels: need at least 10" and exited, so the topic and response stages its labels could
    teach were never trained and `suggest` said "no trained model". Training every stage, one without
    enough labels is named with the reason and left out (the pipeline runs without it), and the others
    are trained; with no stage learned from labels at all it is still an error, and nothing is written."""
    ws = workspace
    write_history(ws.parent, dated=True)
    run(ws, "import", "cases", str(ws.parent / "cases.csv"))
    run(ws, "import", "answers", str(ws.parent / "answers.csv"))
    code, out = cli(ws, "train")
    assert code != 0 and "only 0 validity labels" in out, out
    assert json.loads(run(ws, "models", "--json")) == []
    code, out = cli(ws, "train", "--stage", "topic")
    assert code != 0 and "only 0 topic labels" in out, out

    labels = ws.parent / "labels.jsonl"
    topic_only = [x for x in labels.read_text().splitlines() if '"validity"' not in x]
    labels.write_text("".join(x + "\n" for x in topic_only))
    run(ws, "import", "labels", str(labels))
    out = run(ws, "train")
    assert "validation not trained: only 0 validity labels: need at least 10" in out, out
    assert "topic v1 (live)" in out and "response v1 (live)" in out, out
    said = last_json(run(ws, "train", "--json"))
    assert [s["stage"] for s in said["not_trained"]] == ["validation"], said
    assert "only 0 validity labels" in said["not_trained"][0]["reason"]
    suggestion = last_json(run(ws, "suggest", "when is my payout please", "--json"))
    assert suggestion["topic"] == "payouts", suggestion


def test_train_embeds_the_kb_articles_passages(workspace: Path) -> None:
    """The README says the articles' passages (the LLM modes' sources) are embedded at `import
    articles` and at `train`, so that a changed embedder's first drafts do not wait on them; the
    command's `train` never did (only a run of every stage through the library did, which the command
    never made). Training every stage embeds them, and says so."""
    ws = workspace
    write_history(ws.parent, dated=True)
    import_history(ws)
    articles = ws.parent / "articles.jsonl"
    articles.write_text(
        json.dumps({"id": "kb-pay", "title": "Payouts", "body": "Payouts arrive in 2 business days."}) + "\n"
    )
    run(ws, "import", "articles", str(articles))
    assert "embedding the KB articles' passages" in run(ws, "train")
    assert "embedding the KB articles' passages" not in run(ws, "train", "--stage", "topic")
