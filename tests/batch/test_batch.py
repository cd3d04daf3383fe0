"""`supportcue batch suggest|embed|label FILE` in this process: rows land in the store as ordinary
rows, a re-run does nothing twice, bad rows name the file and line, and back-filled suggestions stay
out of the live metrics."""

from __future__ import annotations

import json
import socket
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from supportcue.cli import app
from supportcue.data.store import open_store
from supportcue.data.tables import Suggestion
from supportcue.embeddings import CachedEmbedder, HashingEmbedder
from supportcue.errors import BatchError, ImportDataError
from supportcue.monitoring.facts import facts_from_rows
from supportcue.settings import load_settings
from supportcue.vocab import LabelSource, SuggestionOrigin
from tests.batch.conftest import BAD_LINE, LFS, N_HISTORY, history_file, last_json, run

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def _suggestions(ws: Path) -> list[Suggestion]:
    store = open_store(load_settings(ws, environ={}).database_url)
    try:
        return store.db.all(select(Suggestion).order_by(Suggestion.id))
    finally:
        store.close()


def test_suggest_backfills_once_and_resumes(workspace: Path, tmp_path: Path) -> None:
    history = history_file(tmp_path)
    result = CliRunnerResult.of(workspace, "batch", "suggest", str(history), "--chunk-size", "16", "--json")
    summary = last_json(result.stdout)
    assert summary["engine"] == "in-process"
    assert (summary["read"], summary["rejected"]) == (N_HISTORY + 1, 1)
    assert summary["processed"] == summary["written"] == N_HISTORY
    assert f"{history}:{BAD_LINE}: message: missing or empty" in result.stderr
    assert json.loads(Path(str(summary["rejects_file"])).read_text().splitlines()[0])["line"] == BAD_LINE
    stored = _suggestions(workspace)
    assert len(stored) == N_HISTORY and {s.origin for s in stored} == {SuggestionOrigin.BATCH}
    shown = [s for s in stored if s.text is not None]
    assert len(shown) > N_HISTORY // 2 and all("Hi Bo!" in str(s.text) for s in shown)  # placeholders
    for case_id in ("h000", "h001", "h002"):  # what `supportcue suggest` makes of the same message
        message = next(line.split(",")[1] for line in history.read_text().splitlines() if line[:4] == case_id)
        one = json.loads(run(workspace, "suggest", message, "--customer-name", "Bo", "--json"))
        backfill = next(s for s in stored if s.case_id == case_id)
        assert (backfill.topic, backfill.text, backfill.abstained_at) == (
            one["topic"],
            one["text"],
            one["abstained_at"],
        )
    assert all(s.pipeline_version == summary["pipeline_version"] for s in stored)

    again = last_json(run(workspace, "batch", "suggest", str(history), "--json"))
    assert (again["skipped"], again["processed"], again["written"]) == (N_HISTORY, 0, 0)
    batch = [s.id for s in _suggestions(workspace) if s.origin == SuggestionOrigin.BATCH]
    assert batch == [s.id for s in stored]

    # a stopped run: half the suggestions lost; the next run does only those
    store = open_store(load_settings(workspace, environ={}).database_url)
    with store.db.session() as s:
        for row in s.scalars(select(Suggestion).where(Suggestion.case_id.like("h0%"))):
            if int(row.case_id[1:]) % 2:
                s.delete(row)
    store.close()
    resumed = last_json(run(workspace, "batch", "suggest", str(history), "--json"))
    assert (resumed["skipped"], resumed["written"]) == (N_HISTORY // 2, N_HISTORY // 2)
    assert sum(s.origin == SuggestionOrigin.BATCH for s in _suggestions(workspace)) == N_HISTORY


def test_backfilled_suggestions_are_not_live_traffic(workspace: Path, tmp_path: Path) -> None:
    """Never shown: not counted in adoption or coverage, never the suggestion a reply is paired with,
    and not what the console's `sent` pairing or the review queue reads."""
    from supportcue.data.reporting import Reporting

    history = history_file(tmp_path)
    live = json.loads(run(workspace, "suggest", "when is my payout", "--case-id", "h001", "--json"))
    run(workspace, "batch", "suggest", str(history))
    store = open_store(load_settings(workspace, environ={}).database_url)
    try:
        counts = Reporting(store.db).suggestion_counts(None, None)
        assert sum(row[6] for row in counts) == 1  # the one `supportcue suggest` made
        assert store.cases.latest_suggestion("h001").id == live["suggestion_id"]  # type: ignore[union-attr]
        assert store.cases.latest_suggestion("h002") is None
        store.events.add(
            {"idempotency_key": "s1", "case_id": "h002", "kind": "sent", "text": "We sorted it."}
        )
        pairs, total, _ = Reporting(store.db).sent_pairs(None, None, max_pairs=100)
        assert total == 1 and pairs == []  # the back-fill for h002 is no suggestion the agent saw
        assert all(r[0] == live["suggestion_id"] for r in store.reviews.suggestions_since(EPOCH, 100))
    finally:
        store.close()
    rows = [
        {"id": "b", "case_id": "h2", "created_at": EPOCH, "text": "x", "origin": SuggestionOrigin.BATCH},
        {"id": "s", "case_id": "h3", "created_at": EPOCH, "text": "x", "origin": SuggestionOrigin.SERVICE},
    ]
    facts = facts_from_rows(rows, [{"kind": "sent", "case_id": "h2", "text": "x", "ts": EPOCH}])
    assert sum(c.suggestions for _, c in facts.counts) == 1 and facts.pairs == []


def test_embed_fills_the_cache_the_other_jobs_read(workspace: Path, tmp_path: Path) -> None:
    history = history_file(tmp_path)
    summary = last_json(run(workspace, "batch", "embed", str(history), "--json"))
    messages = [line.split(",")[1] for line in history.read_text().splitlines()[1:]]
    messages = [m for m in messages if m]
    assert summary["written"] == len(set(messages)) == summary["processed"]
    cache = CachedEmbedder(HashingEmbedder(), workspace / "cache")
    try:
        assert cache.missing(messages) == []
        assert np.allclose(cache.embed(messages[:3]), HashingEmbedder().embed(messages[:3]), atol=1e-6)
    finally:
        cache.close()
    again = last_json(run(workspace, "batch", "embed", str(history), "--json"))
    assert (again["processed"], again["written"]) == (0, 0)


def test_label_stores_weak_labels_that_weak_apply_keeps(workspace: Path, tmp_path: Path) -> None:
    history = history_file(tmp_path)
    summary = last_json(run(workspace, "batch", "label", str(history), "--json"))
    assert summary["written"] == N_HISTORY and summary["label_model"] == "majority"
    store = open_store(load_settings(workspace, environ={}).database_url)
    try:
        labels = {lb.case_id: lb for lb in store.labels.list("topic", sources=[LabelSource.WEAK])}
        backfill = {k: v for k, v in labels.items() if v.annotator == "batch"}
        assert len(backfill) == N_HISTORY
        assert backfill["h000"].value == "refunds" and backfill["h001"].value == "payouts"
        assert str(backfill["h000"].version).endswith("+majority")
        again = last_json(run(workspace, "batch", "label", str(history), "--json"))
        assert again["written"] == N_HISTORY
        run(workspace, "weak", "apply")  # replaces its own weak labels, not the back-fill's
        after = store.labels.list("topic", sources=[LabelSource.WEAK])
        assert sum(lb.annotator == "batch" for lb in after) == N_HISTORY
    finally:
        store.close()


def test_files_that_cannot_be_read_are_clear_errors(workspace: Path, tmp_path: Path) -> None:
    (tmp_path / "cases.txt").write_text("id,message\n1,hi\n")
    error = failure(workspace, "batch", "embed", str(tmp_path / "cases.txt"))
    assert isinstance(error, ImportDataError) and "unsupported file type .txt" in str(error)
    (tmp_path / "nomsg.csv").write_text("id,text_body\n1,hi\n")
    error = failure(workspace, "batch", "label", str(tmp_path / "nomsg.csv"))
    assert isinstance(error, ImportDataError) and "missing column(s) message" in str(error)
    assert "--map" in str(error)
    (tmp_path / "bad.jsonl").write_text('{"id": "1"}\nnot json\n')
    out = run(workspace, "batch", "suggest", str(tmp_path / "bad.jsonl"), code=1)
    assert f"{tmp_path / 'bad.jsonl'}:1: message: missing or empty" in out
    assert f"{tmp_path / 'bad.jsonl'}:2: not valid JSON" in out and "every row" in out
    out = run(workspace, "batch", "embed", str(tmp_path / "nomsg.csv"), "--set", "=1", code=2)
    assert "Invalid value for --set: '=1': the field name is empty; cases have: id, message" in out


def failure(ws: Path, *args: str) -> BaseException | None:
    """The error a command stops with (`supportcue`'s entry point prints it as one line, exit 2)."""
    from typer.testing import CliRunner

    from supportcue.cli import app

    return CliRunner().invoke(app, ["--workspace", str(ws), *args]).exception


def test_ray_address_without_ray_installed_says_how_to_install(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # what `import ray` meets without the extra
    error = failure(workspace, "batch", "embed", str(history_file(tmp_path)), "--ray-address", "local")
    assert isinstance(error, BatchError) and "pip install 'supportcue[ray]'" in str(error)


class CliRunnerResult:
    """A command's stdout and stderr apart (the rejects go to stderr, the JSON to stdout)."""

    def __init__(self, stdout: str, stderr: str) -> None:
        self.stdout, self.stderr = stdout, stderr

    @classmethod
    def of(cls, ws: Path, *args: str) -> CliRunnerResult:
        from typer.testing import CliRunner

        from supportcue.cli import app

        result = CliRunner().invoke(app, ["--workspace", str(ws), *args], env={"COLUMNS": "200"})
        assert result.exit_code == 0, result.output
        return cls(result.stdout, result.stderr)


def test_an_unreachable_ray_address_fails_at_once_naming_it(workspace: Path, tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{sock.getsockname()[1]}"
    history = str(history_file(tmp_path))
    error = failure(workspace, "batch", "suggest", history, "--ray-address", address)
    assert isinstance(error, BatchError) and f"cannot reach a Ray cluster at '{address}'" in str(error)
    for bad in ("cluster-without-port", "127.0.0.1:\u00b2"):  # "²" passes str.isdigit, not int()
        malformed = failure(workspace, "batch", "suggest", history, "--ray-address", bad)
        assert isinstance(malformed, BatchError) and "give HOST:PORT" in str(malformed)


def test_bad_rows_go_to_the_rejects_file_as_they_are_read(workspace: Path, tmp_path: Path) -> None:
    """The memory of a back-fill is that of one chunk whatever the file's size, bad rows included: a
    file whose every row has a date the import does not read was gathered row by row in memory (a
    few hundred bytes a row) before anything was written."""
    from supportcue.batch import run_batch

    kept = 20  # the rejects kept to show (`batch.cases.KEPT_REJECTS`, as many as the command shows)
    path = tmp_path / "dates.csv"
    rows = [f"d{i},refund please {i},31/12/2025" for i in range(3 * kept)]
    path.write_text("id,message,created_at\n" + "\n".join(["ok,refund please,", *rows]) + "\n")
    settings = load_settings(workspace, environ={})
    store = open_store(settings.database_url)
    try:
        summary, report = run_batch("embed", path, settings, store, chunk_size=4)
    finally:
        store.close()
    assert (summary["read"], summary["rejected"], summary["processed"]) == (1 + len(rows), len(rows), 1)
    assert [r.line for r in report.rejects] == list(range(3, 3 + kept))  # only the first few
    written = [json.loads(line) for line in Path(str(summary["rejects_file"])).read_text().splitlines()]
    assert [r["line"] for r in written] == list(range(3, 3 + len(rows)))
    assert written[0]["row"] == {"id": "d0"} and "created_at" in written[0]["reason"]
    out = run(workspace, "batch", "embed", str(path))
    assert f"{path}:3: created_at" in out and f"... and {len(rows) - kept} more rejected rows" in out


def test_a_batch_run_keeps_the_import_rejects_of_the_same_file(workspace: Path, tmp_path: Path) -> None:
    """`batch` over a file that was imported wrote the same FILE.rejects.jsonl, so the import's list
    was overwritten; each now has its own (both reject the repeated id)."""
    path = tmp_path / "cases.csv"
    path.write_text("id,message,created_at\na1,refund please,\na1,refund again,\nb1,where is it,31/12/2025\n")
    run(workspace, "import", "cases", str(path))
    imported = (tmp_path / "cases.csv.rejects.jsonl").read_text()
    assert [json.loads(line)["line"] for line in imported.splitlines()] == [3, 4]  # repeated id, bad date
    run(workspace, "batch", "embed", str(path))
    assert (tmp_path / "cases.csv.rejects.jsonl").read_text() == imported
    batch = (tmp_path / "cases.csv.batch-rejects.jsonl").read_text()
    assert [json.loads(line)["line"] for line in batch.splitlines()] == [3, 4]


def test_label_counts_no_vote_for_a_label_no_topic_has(workspace: Path, tmp_path: Path) -> None:
    """A function with a misspelt topic key had its votes stored by `batch label` as weak labels of a
    topic no answer or person names (training then learned it); now they are no votes, named."""
    (workspace / "lfs.py").write_text(LFS + 'typo = keyword_lf("typo", ["late"], "payuots")\n')
    folder = tmp_path / "late"
    folder.mkdir()
    history = folder / "history.csv"
    history.write_text("id,message\nl1,my payout is late\nl2,the refund is late\nl3,late again\n")
    result = CliRunner().invoke(
        app, ["--workspace", str(workspace), "batch", "label", str(history), "--json"], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["unknown_labels"] == {"typo": {"payuots": 3}}
    assert "typo: 'payuots' (3 case(s))" in result.stderr
    store = open_store(load_settings(workspace, environ={}).database_url)
    try:
        stored = {lb.case_id: lb.value for lb in store.labels.list("topic", sources=[LabelSource.WEAK])}
        # l1 and l2 by their keyword alone (the typo's vote is none, so no tie); l3 by nothing
        assert (stored.get("l1"), stored.get("l2"), stored.get("l3")) == ("payouts", "refunds", None)
    finally:
        store.close()


@pytest.mark.parametrize("chunk_size", ["1000", "1"])
def test_a_repeated_case_id_is_a_rejected_row_not_a_second_suggestion(
    workspace: Path, tmp_path: Path, chunk_size: str
) -> None:
    """A file naming a case twice had it counted twice in `written` (3 suggestions written for 2
    cases); the repeat is now a rejected row naming the first line, as `import cases` rejects it, in
    one chunk or across chunks."""
    path = tmp_path / "cases.csv"
    path.write_text(
        "id,message\na1,refund for my order\nb1,when is my payout\na1,refund for my order\n"
        "a1,refund not received yet\n"
    )
    result = CliRunnerResult.of(
        workspace, "batch", "suggest", str(path), "--chunk-size", chunk_size, "--json"
    )
    summary = last_json(result.stdout)
    assert (summary["read"], summary["rejected"], summary["cases"]) == (4, 2, 2)
    assert summary["processed"] == summary["written"] == 2
    assert f"{path}:4: duplicate id: line 2 has the same id (the first one is kept)" in result.stderr
    rejects = [json.loads(line) for line in Path(str(summary["rejects_file"])).read_text().splitlines()]
    assert [(r["line"], r["row"]) for r in rejects] == [(4, {"id": "a1"}), (5, {"id": "a1"})]
    stored = _suggestions(workspace)
    assert sorted(s.case_id for s in stored) == ["a1", "b1"]


def test_fit_rows_counts_the_cases_accepted_not_the_repeated_ids(workspace: Path, tmp_path: Path) -> None:
    """`--fit-rows 3` fitted the label model on 2 cases when a repeated id (a rejected row) came among
    the first three: the repeat was counted toward N. N counts the accepted cases."""
    path = tmp_path / "cases.csv"
    path.write_text(
        "id,message\na1,refund for my order\na1,refund for my order\nb1,when is my payout\n"
        "c1,refund not received yet\nd1,payout is late\n"
    )
    result = CliRunnerResult.of(workspace, "batch", "label", str(path), "--fit-rows", "3", "--json")
    summary = last_json(result.stdout)
    assert summary["fitted_on"] == 3
    assert (summary["read"], summary["rejected"], summary["processed"]) == (5, 1, 4)
