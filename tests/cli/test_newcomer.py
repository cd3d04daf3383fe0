"""A new user's first hour (issue 10): every mistake gets a message that names what to fix, never a
traceback; `weak apply` works with one labeling function; `serve` says how to call it, truthfully."""

from __future__ import annotations

import json
import os
import queue
import re
import shlex
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import typer
from typer.testing import CliRunner

from supportcue.cli import app
from supportcue.cli.errors import run
from supportcue.cli.run_cmd import call_hint
from supportcue.demo.workspace import SAMPLE_REQUEST
from supportcue.errors import SupportcueError
from supportcue.settings import ServiceSettings, get_settings, hide_password, init_workspace

WIDE = {"COLUMNS": "250"}


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    init_workspace(ws)
    return ws


def entry_point(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str]:
    """Run `supportcue ARGS` as the installed command does (its `main`): (exit code, stderr)."""
    get_settings.cache_clear()
    monkeypatch.setattr(sys, "argv", ["supportcue", *args])
    with pytest.raises(SystemExit) as done:
        run(app)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return int(done.value.code or 0), " ".join(err.split())


def test_weak_apply_with_one_labeling_function_uses_the_majority_vote(
    workspace: Path, tmp_path: Path
) -> None:
    """It crashed with snorkel's "L_train should have at least 3 labeling functions" traceback."""
    (workspace / "lfs.py").write_text(
        "from supportcue.weak import keyword_lf\nkw = keyword_lf('kw_refunds', ['refund'], 'refunds')\n"
    )
    config = workspace / "supportcue.toml"
    config.write_text(
        config.read_text().replace("labeling_functions = []", 'labeling_functions = ["lfs.py"]')
    )
    (tmp_path / "cases.csv").write_text("id,message\nc1,where is my refund\nc2,payout missing\n")
    runner = CliRunner()
    ws = ["--workspace", str(workspace)]
    assert runner.invoke(app, [*ws, "import", "cases", str(tmp_path / "cases.csv")]).exit_code == 0
    applied = runner.invoke(app, [*ws, "weak", "apply", "--json"])
    assert applied.exit_code == 0, applied.output
    summary = json.loads(applied.stdout.strip().splitlines()[-1])
    assert summary["label_model"] == "majority" and summary["stored"] == 1
    assert summary["note"] == "majority vote: 1 labeling function, and the label model needs at least 3"
    shown = runner.invoke(app, [*ws, "weak", "analyze"], env=WIDE)
    assert shown.exit_code == 0 and "kw_refunds" in shown.stdout
    assert "note: `weak apply` will use a majority vote: 1 labeling function" in shown.stdout
    analyzed = json.loads(runner.invoke(app, [*ws, "weak", "analyze", "--json"]).stdout)
    assert analyzed["note"] == summary["note"] and analyzed["lfs"][0]["n_labeled"] == 1


def test_weak_apply_names_the_functions_that_failed(workspace: Path, tmp_path: Path) -> None:
    """`weak apply` printed every function's failure count as JSON cut at 200 characters: with the
    demo's 29 functions, the ones that failed (listed after the others) were not shown."""
    (workspace / "lfs.py").write_text(
        "from supportcue.weak import keyword_lf, labeling_function\n"
        + "".join(
            f"kw{i} = keyword_lf('keyword_function_{i:02d}', ['refund'], 'refunds')\n" for i in range(12)
        )
        + "@labeling_function\n"
        + "def zz_fails(x):\n"
        + "    if 'boom' in x.text:\n"
        + "        raise ValueError('no')\n"
        + "    return None\n"
    )
    config = workspace / "supportcue.toml"
    config.write_text(
        config.read_text().replace("labeling_functions = []", 'labeling_functions = ["lfs.py"]')
    )
    (tmp_path / "cases.csv").write_text("id,message\nc1,where is my refund\nc2,boom payout missing\n")
    ws = ["--workspace", str(workspace)]
    assert CliRunner().invoke(app, [*ws, "import", "cases", str(tmp_path / "cases.csv")]).exit_code == 0
    applied = CliRunner().invoke(app, [*ws, "weak", "apply"], env=WIDE)
    assert applied.exit_code == 0, applied.output
    assert "zz_fails: 1 case(s)" in applied.output and "keyword_function_00" not in applied.output
    quiet = CliRunner().invoke(app, [*ws, "weak", "apply", "--json"])
    assert json.loads(quiet.stdout.strip().splitlines()[-1])["failures"]["keyword_function_00"] == 0


def test_an_unexpected_error_is_one_line_and_a_details_file(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    broken = typer.Typer()

    @broken.command()
    def fail() -> None:
        raise RuntimeError("cannot frobnicate for ana@example.com\nsecond line")

    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    monkeypatch.setattr(sys, "argv", ["supportcue"])
    with pytest.raises(SystemExit) as done:
        run(broken)
    err = " ".join(capsys.readouterr().err.split())
    assert done.value.code == 1 and "Traceback" not in err
    assert err.startswith("error: an unexpected RuntimeError: cannot frobnicate for [email] supportcue")
    assert "second line" not in err and "ana@example.com" not in err
    found = re.search(r"the details are in (\S+)", err)
    assert found is not None
    details = Path(found.group(1))
    assert details.parent == tmp_path and stat.S_IMODE(details.stat().st_mode) == 0o600
    text = details.read_text()
    assert "Traceback (most recent call last)" in text and 'raise RuntimeError("cannot frobnicate' in text
    assert "[email]" in text and "ana@example.com" not in text


def test_a_details_file_has_no_customer_name_or_national_id_of_the_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """`supportcue suggest "..." --customer-name NAME` that failed wrote the command line (and the
    traceback) to the details file with the name and a national id in the message as typed."""
    from supportcue.pipeline import SuggestRequest

    broken = typer.Typer()

    @broken.command()
    def suggest(message: str, customer_name: str = "") -> None:
        raise RuntimeError(f"cannot answer {SuggestRequest(message, customer_name=customer_name)!r}")

    @broken.command()
    def other() -> None:
        """A second command: `suggest` is one of several, as in the real CLI."""

    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    argv = ["supportcue", "suggest", "my DNI is 12345678Z", "--customer-name", "Ana Silva"]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit):
        run(broken)
    err = capsys.readouterr().err
    found = re.search(r"the details are in (\S+)", " ".join(err.split()))
    assert found is not None
    text = Path(found.group(1)).read_text() + err
    assert "Silva" not in text and "12345678Z" not in text, text
    assert "--customer-name [name]" in text and "my DNI is [id]" in text


def test_user_errors_through_the_entry_point_name_what_to_fix(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], workspace: Path, tmp_path: Path
) -> None:
    ws = ["--workspace", str(workspace)]
    (tmp_path / "taken.csv").mkdir()
    code, err = entry_point(monkeypatch, capsys, *ws, "export", "cases", str(tmp_path / "taken.csv"))
    assert (code, err) == (2, f"error: {tmp_path / 'taken.csv'}: Is a directory")

    code, err = entry_point(monkeypatch, capsys, *ws, "weak", "apply")
    assert code == 2 and err.startswith("error: no labeling functions for task 'topic'")

    monkeypatch.setenv("SUPPORTCUE_SERVICE__PORT", "eighty")
    code, err = entry_point(monkeypatch, capsys, *ws, "keys", "list")
    assert code == 2 and err.startswith("error: SUPPORTCUE_SERVICE__PORT (environment variable): setting")
    assert "supportcue.toml" not in err
    monkeypatch.delenv("SUPPORTCUE_SERVICE__PORT")

    missing = tmp_path / "no-such-folder" / "x.db"
    monkeypatch.setenv("SUPPORTCUE_DATABASE_URL", f"sqlite:///{missing}")
    code, err = entry_point(monkeypatch, capsys, *ws, "keys", "list")
    assert code == 2 and err.startswith(
        f"error: cannot open the database sqlite:///{missing} (from environment variable "
        "SUPPORTCUE_DATABASE_URL): the database file cannot be opened: check that its folder exists"
    )
    code, err = entry_point(monkeypatch, capsys, "init", str(tmp_path / "new"))
    assert code == 2 and "SUPPORTCUE_DATABASE_URL" in err
    monkeypatch.delenv("SUPPORTCUE_DATABASE_URL")

    (workspace / "supportcue.db").write_text("not a database")
    code, err = entry_point(monkeypatch, capsys, *ws, "keys", "list")
    db_file = (workspace / "supportcue.db").resolve()
    assert (code, err) == (
        2,
        f"error: cannot open the database the workspace's SQLite file {db_file}: file is not a database",
    )


def test_a_database_that_cannot_be_reached_is_named_with_its_host(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], workspace: Path
) -> None:
    """The docs' own URL form, `postgresql://USER@HOST/DB`: the error printed `postgresql://[email]/support`
    (the user and host redacted as an email), so the operator could not tell which host was tried."""
    url = "postgresql://supportcue@db.invalid:5432/support"
    monkeypatch.setenv("SUPPORTCUE_DATABASE_URL", url)
    code, err = entry_point(monkeypatch, capsys, "--workspace", str(workspace), "keys", "list")
    assert code == 2 and err.startswith(f"error: cannot open the database {url} (from environment variable")
    assert "db.invalid" in err.split("):", 1)[1]  # the driver's reason names the host too


def test_data_a_stage_cannot_learn_from_and_impossible_days_are_user_errors(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], workspace: Path, tmp_path: Path
) -> None:
    """They ended as "an unexpected ValueError" (OverflowError for `--older-than inf`)."""
    one_topic = tmp_path / "one.csv"
    one_topic.write_text("text,label\nwhere is my refund,refunds\nrefund please,refunds\n")
    code, err = entry_point(
        monkeypatch, capsys, "eval", "classify", "--train", str(one_topic), "--test", str(one_topic)
    )
    assert code == 2 and err == (
        f"error: {one_topic}: every row's 'label' is 'refunds' (2 rows); a classifier needs rows of at "
        "least two labels (is 'label' the right --label-col?)"
    )
    for days in ("nan", "inf", "1e12", "-1"):
        purged = CliRunner().invoke(app, ["--workspace", str(workspace), "purge", "--older-than", days])
        assert purged.exit_code == 2 and "DAYS must be 0 or more, and at most 36,600" in " ".join(
            purged.output.split()
        )


def test_adding_a_user_with_no_password_typed_says_how(workspace: Path) -> None:
    added = CliRunner().invoke(app, ["--workspace", str(workspace), "users", "add", "ana", "--role", "agent"])
    assert isinstance(added.exception, SupportcueError)
    assert "no password given" in str(added.exception) and "--password-stdin" in str(added.exception)
    # one line piped without --password-stdin is the password, then no confirmation: it said "no
    # password given", and the help said the password is "read from stdin" without naming the option
    piped = CliRunner().invoke(
        app, ["--workspace", str(workspace), "users", "add", "ana", "--role", "agent"], input="s3cret-pass\n"
    )
    assert isinstance(piped.exception, SupportcueError)
    assert "twice" in str(piped.exception) and "once on standard input with --password-stdin" in str(
        piped.exception
    )
    for command in (["users", "add"], ["users", "set-password"]):
        shown = CliRunner().invoke(app, [*command, "--help"], env=WIDE)
        assert "read once from standard input with --password-stdin" in " ".join(shown.output.split())


def test_serve_help_shows_the_real_defaults() -> None:
    shown = CliRunner().invoke(app, ["serve", "--help"], env=WIDE)
    assert shown.exit_code == 0
    text = " ".join(shown.stdout.split())
    defaults = ServiceSettings()
    assert f"[default: ({defaults.host}, or [service] host in supportcue.toml)]" in text
    assert f"[default: ({defaults.port}, or [service] port in supportcue.toml)]" in text
    assert "None" not in text and "1<=x<=65535" in text


def test_serve_refuses_a_port_it_cannot_listen_on(workspace: Path) -> None:
    ws = ["--workspace", str(workspace)]
    assert CliRunner().invoke(app, [*ws, "serve", "--port", "70000"]).exit_code == 2
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = CliRunner().invoke(app, [*ws, "serve", "--port", str(port)])
    assert isinstance(busy.exception, SupportcueError)
    assert f"cannot listen on 127.0.0.1:{port}" in str(busy.exception) and "--port" in str(busy.exception)
    assert "serving" not in busy.stdout


def test_demo_refuses_a_busy_port_before_building(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`make demo` with its port taken (another demo still running) built and trained for minutes,
    printed new passwords, and only then said it could not listen."""
    import supportcue.demo.workspace as demo_workspace

    def build(*args: object, **kwargs: object) -> str:
        raise AssertionError("built before checking the port")

    monkeypatch.setattr(demo_workspace, "build_demo_workspace", build)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = CliRunner().invoke(app, ["demo", "--workspace", str(tmp_path / "demo"), "--port", str(port)])
    assert isinstance(busy.exception, SupportcueError), busy.exception
    assert f"cannot listen on 127.0.0.1:{port}" in str(busy.exception)


def lines_of(process: subprocess.Popen[str]) -> queue.Queue[str]:
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    return lines


@pytest.fixture
def served(workspace: Path) -> Iterator[tuple[list[str], int]]:
    """`supportcue serve` on a new workspace (no demo data): its start-up lines and its port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "SUPPORTCUE_WORKSPACE": str(workspace)}
    server = subprocess.Popen(
        [sys.executable, "-m", "supportcue.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines = lines_of(server)
    shown: list[str] = []
    try:
        while not any("curl" in line for line in shown):
            shown.append(lines.get(timeout=120))
        yield shown, port
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        if server.stdout is not None:
            server.stdout.close()


def test_a_new_workspace_is_not_shown_the_demos_request(
    workspace: Path, served: tuple[list[str], int]
) -> None:
    """`serve` printed the demo's curl ("How can I pause my payouts?") for every workspace."""
    made = CliRunner().invoke(
        app,
        ["--workspace", str(workspace), "keys", "create", "--name", "t", "--role", "integration", "--json"],
    )
    key = json.loads(made.stdout.strip().splitlines()[-1])["key"]
    shown, port = served
    text = "".join(shown)
    assert SAMPLE_REQUEST["message"] not in text and "Ana" not in text
    assert "supportcue keys create --name NAME --role integration" in text
    # the hint's request is one this service takes: the key in its header, its body valid
    curl = next(line for line in shown if "curl" in line)
    url = re.search(r"curl -s (\S+)", curl)
    body = re.search(r"-d '(.+)'", curl)
    assert url is not None and body is not None and url.group(1) == f"http://127.0.0.1:{port}/v1/suggest"
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while True:  # until the models are loaded, or failed to (the hint holds either way)
        try:
            if httpx.get(f"{base}/readyz").json().get("status") != "loading":
                break
        except httpx.TransportError:
            pass
        assert time.time() < deadline, "the service did not start"
        time.sleep(0.5)
    answer = httpx.post(url.group(1), content=body.group(1), headers=request_headers(curl, key))
    assert answer.status_code in (200, 503), answer.text  # 503: no trained model yet (never 401 or 422)


def request_headers(curl: str, key: str) -> dict[str, str]:
    headers = dict(re.findall(r"-H '([^:]+): ([^']+)'", curl))
    assert headers["authorization"] == "Bearer KEY"
    return {**headers, "authorization": f"Bearer {key}"}


def test_the_demo_shows_its_own_question() -> None:
    hint = call_hint("http://127.0.0.1:8000", SAMPLE_REQUEST)
    assert json.dumps(SAMPLE_REQUEST) in hint and "keys create" not in hint


def test_the_demo_says_how_to_make_its_key_in_a_command_that_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`make demo` printed `curl ... -H 'authorization: Bearer KEY'` and no word on where KEY comes
    from; its progress lines were cut at 80 columns in a log (`supportcue experiment analyze ...` over
    two lines); `--no-serve` said `supportcue --workspace ... serve`: no port, and after `make demo`
    no `supportcue` on PATH (it is .venv/bin/supportcue)."""
    import supportcue.demo.workspace as demo_workspace

    ws = tmp_path / "demo ws"
    said = "simulated experiment 'x': " + "effect " * 30 + "(see `supportcue experiment analyze x`)"

    def build(folder: Path, seed: int = 7, train: bool = True, progress: object = None) -> str:
        init_workspace(folder)
        assert callable(progress)
        progress(said)
        return "demo workspace: " + "cases, " * 30 + "28 topics"

    monkeypatch.setattr(demo_workspace, "build_demo_workspace", build)
    monkeypatch.setattr(demo_workspace, "demo_users", lambda folder: [("admin", "admin", "pw-admin")])
    monkeypatch.setattr(sys, "argv", [".venv/bin/supportcue", "demo"])  # as `make demo` runs it
    done = CliRunner().invoke(app, ["demo", "--workspace", str(ws), "--no-serve", "--port", "8765"])
    assert done.exit_code == 0, done.output
    lines = done.output.splitlines()
    assert said in lines and "demo workspace: " + "cases, " * 30 + "28 topics" in lines
    serve = shlex.split(next(line for line in lines if line.startswith("built; serve it with: "))[22:])
    assert serve == [".venv/bin/supportcue", "--workspace", str(ws), "serve", "--port", "8765"]
    keys = next(line for line in lines if "keys create" in line)
    command = shlex.split(keys.split(": ", 1)[1])
    assert command[:3] == [".venv/bin/supportcue", "--workspace", str(ws)]
    get_settings.cache_clear()
    made = CliRunner().invoke(app, [*command[1:], "--json"])
    assert made.exit_code == 0, made.output
    assert json.loads(made.stdout.strip().splitlines()[-1])["key"].startswith("sc_")


def test_labels_stats_shows_every_label_and_annotator_pair(workspace: Path) -> None:
    """`labels stats` printed its counts and agreement as JSON cut at 200 characters: on the demo,
    five topics of 28 ("pausing_payout" cut mid-name) and one annotator pair of 21."""
    from supportcue.data.store import open_store

    topics = [f"topic_number_{i:02d}" for i in range(12)]
    store = open_store(get_settings(workspace).database_url)
    try:
        store.cases.upsert([{"id": f"c{i}", "message": f"question {i}"} for i in range(24)])
        store.labels.add(
            [
                {
                    "case_id": f"c{i}",
                    "task": "topic",
                    "value": topics[i % 12],
                    "source": "expert",
                    "annotator": who,
                }
                for i in range(24)
                for who in ("expert-anika", "expert-bruno")
            ]
        )
    finally:
        store.close()
    get_settings.cache_clear()
    done = CliRunner().invoke(app, ["--workspace", str(workspace), "labels", "stats"])
    assert done.exit_code == 0, done.output
    for topic in topics:
        assert re.search(rf"(?m)^{topic}\s+2\s+500\s+498\s", done.output), done.output
    assert re.search(r"(?m)^expert-anika\s+expert-bruno\s+24\s+100.0%\s+1.000", done.output), done.output
    assert "24 case(s) labeled by people" in done.output


def test_a_new_workspace_says_what_comes_next(tmp_path: Path) -> None:
    """`init` said "workspace ready" and nothing more; `train` on it said "only 0 validity labels:
    need at least 10" without saying how labels get there."""
    ws = tmp_path / "my team"
    made = CliRunner().invoke(app, ["init", str(ws)])
    assert made.exit_code == 0, made.output
    said = " ".join(made.output.split())
    assert f"export SUPPORTCUE_WORKSPACE='{ws}'" in said and "supportcue import KIND FILE" in said
    assert "then `supportcue train`" in said
    get_settings.cache_clear()
    trained = CliRunner().invoke(app, ["--workspace", str(ws), "train"])
    assert isinstance(trained.exception, SupportcueError), trained.output
    assert "only 0 validity labels: need at least 10" in str(trained.exception)
    assert "supportcue import labels FILE" in str(trained.exception)


def test_models_names_the_file_a_moved_workspace_loads(workspace: Path, tmp_path: Path) -> None:
    """After `mv`, `models --json` named the file where it was written, not the one loaded."""
    from tests.stages.test_contract import LABELS, TEXTS, msgs

    from supportcue.data.store import open_store
    from supportcue.stages.topic import TopicStage
    from supportcue.training.registry import save_version

    store = open_store(get_settings(workspace).database_url)
    try:
        save_version(store, workspace / "models", TopicStage().fit(msgs(TEXTS), LABELS), "fp", {}, {})
    finally:
        store.close()
    moved = workspace.rename(tmp_path / "moved")
    get_settings.cache_clear()
    listed = CliRunner().invoke(app, ["--workspace", str(moved), "models", "--json"])
    assert listed.exit_code == 0, listed.output
    [topic] = json.loads(listed.stdout.strip().splitlines()[-1])
    assert topic["artifact"] == str(moved / "models" / "topic" / "v1.joblib")


def test_labels_issues_without_labels_says_so_instead_of_finding_none(workspace: Path) -> None:
    """With no labels it printed "0 likely errors", as if the labels had been checked and were fine."""
    from supportcue.errors import TrainingDataError

    done = CliRunner().invoke(app, ["--workspace", str(workspace), "labels", "issues"])
    assert isinstance(done.exception, TrainingDataError), done.output
    assert "0 case(s) with a topic label" in str(done.exception) and "import labels" in str(done.exception)
    assert "likely errors" not in done.output


def test_labels_issues_names_the_labels_it_could_not_check(workspace: Path, tmp_path: Path) -> None:
    """A label of a single case was left out of `labels issues` without a word: "0 likely errors" read
    as if every label had been checked. Now the command names them (and --json lists them)."""
    examples = Path(__file__).resolve().parents[2] / "docs" / "examples"
    config = workspace / "supportcue.toml"
    config.write_text(config.read_text().replace('model = "minilm"', 'model = "tfidf"'))
    labels = (examples / "labels.csv").read_text(encoding="utf-8")
    labels = labels.replace("SS-2001,topic,cancel_subscription", "SS-2001,topic,data_export_request")
    (tmp_path / "labels.csv").write_text(labels, encoding="utf-8")
    ws = ["--workspace", str(workspace)]
    for kind, path in (("cases", examples / "cases.csv"), ("labels", tmp_path / "labels.csv")):
        assert CliRunner().invoke(app, [*ws, "import", kind, str(path)]).exit_code == 0
    done = CliRunner().invoke(app, [*ws, "labels", "issues"])
    assert done.exit_code == 0, done.output
    assert "not checked: 1 topic label(s) with a single labeled case ('data_export_request')" in done.output
    as_json = CliRunner().invoke(app, [*ws, "labels", "issues", "--json"])
    assert json.loads(as_json.stdout.strip().splitlines()[-1])["unchecked_labels"] == ["data_export_request"]


def test_train_on_labels_whose_cases_were_not_imported_says_so(workspace: Path) -> None:
    """Labels imported without their cases: train said "only 0 validity labels" right after 380 labels
    were imported, without a word about the missing cases."""
    examples = Path(__file__).resolve().parents[2] / "docs" / "examples"
    ws = ["--workspace", str(workspace)]
    assert CliRunner().invoke(app, [*ws, "import", "labels", str(examples / "labels.csv")]).exit_code == 0
    done = CliRunner().invoke(app, [*ws, "train"])
    said = str(done.exception)
    assert isinstance(done.exception, SupportcueError), done.output
    assert "202 labeled case id(s) match no imported case (e.g. SS-2001)" in said, said
    assert "supportcue import cases FILE" in said


def test_train_warns_of_labels_whose_cases_are_missing(workspace: Path, tmp_path: Path) -> None:
    """Some labels' cases not imported: train learned from the rest and never said so."""
    examples = Path(__file__).resolve().parents[2] / "docs" / "examples"
    config = workspace / "supportcue.toml"
    config.write_text(config.read_text().replace('model = "minilm"', 'model = "tfidf"'))
    lines = (examples / "cases.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (tmp_path / "some.csv").write_text("".join(lines[:150]), encoding="utf-8")
    ws = ["--workspace", str(workspace)]
    for kind, path in (("cases", tmp_path / "some.csv"), ("labels", examples / "labels.csv")):
        assert CliRunner().invoke(app, [*ws, "import", kind, str(path)]).exit_code == 0
    done = CliRunner().invoke(app, [*ws, "train", "--stage", "topic"], env=WIDE)
    assert done.exit_code == 0, done.output
    said = " ".join(done.output.split())
    assert "labeled case id(s) match no imported case (e.g. SS-2151), so their topic labels" in said, said


def test_labels_of_purged_cases_are_not_called_missing(workspace: Path) -> None:
    examples = Path(__file__).resolve().parents[2] / "docs" / "examples"
    ws = ["--workspace", str(workspace)]
    for kind, name in (("cases", "cases.csv"), ("labels", "labels.csv")):
        assert CliRunner().invoke(app, [*ws, "import", kind, str(examples / name)]).exit_code == 0
    assert CliRunner().invoke(app, [*ws, "purge", "--older-than", "1"]).exit_code == 0
    done = CliRunner().invoke(app, [*ws, "train"])
    assert "only 0 validity labels" in str(done.exception) and "no imported case" not in str(done.exception)


@pytest.mark.parametrize(
    ("args", "summary"),
    [
        ([], "topic volumes, embeddings, messages no topic claims (clustered into candidate new topics)"),
        (["eval"], "on --val and on negatives (built-in, the demo's, --negatives); the threshold aims at"),
    ],
)
def test_command_lists_show_each_summary_as_flowing_text(
    monkeypatch: pytest.MonkeyPatch, args: list[str], summary: str
) -> None:
    """In rich mode Typer kept a docstring's line breaks in the command lists, so a summary broke
    mid-sentence ("...topic volumes, embeddings," then "messages no topic claims ...")."""
    monkeypatch.setattr("typer.rich_utils.MAX_WIDTH", 250)
    result = CliRunner().invoke(app, [*args, "--help"])
    assert result.exit_code == 0 and summary in result.output


def test_init_says_which_database_it_set_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`init` said "workspace ready" only: with SUPPORTCUE_DATABASE_URL set (or left over in the
    shell) the tables went to that database, and nothing said which one."""
    monkeypatch.delenv("SUPPORTCUE_DATABASE_URL", raising=False)
    done = CliRunner().invoke(app, ["init", str(tmp_path / "ws")], env=WIDE)
    assert done.exit_code == 0, done.output
    database = tmp_path / "ws" / "supportcue.db"
    assert f"database: the workspace's SQLite file {database}, its tables up to date" in done.output
    other = tmp_path / "elsewhere.db"
    get_settings.cache_clear()
    done = CliRunner().invoke(
        app, ["init", str(tmp_path / "ws2")], env={**WIDE, "SUPPORTCUE_DATABASE_URL": f"sqlite:///{other}"}
    )
    assert done.exit_code == 0 and other.exists(), done.output
    assert f"database: sqlite:///{other} (from environment variable SUPPORTCUE_DATABASE_URL)" in done.output


def test_models_on_a_workspace_never_trained_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`supportcue models` before any `train` printed a blank line."""
    monkeypatch.delenv("SUPPORTCUE_DATABASE_URL", raising=False)
    init_workspace(tmp_path)
    get_settings.cache_clear()
    shown = CliRunner().invoke(app, ["--workspace", str(tmp_path), "models"], env=WIDE)
    assert shown.exit_code == 0 and "no model versions yet: run `supportcue train`" in shown.output, (
        shown.output
    )
    listed = CliRunner().invoke(app, ["--workspace", str(tmp_path), "models", "--json"], env=WIDE)
    assert listed.exit_code == 0 and listed.output.strip() == "[]"


@pytest.mark.parametrize(
    ("url", "secret"),
    [
        ("postgresql://ops:pa/ss@127.0.0.1:1/support", "pa/ss"),  # "/" in the password
        ("postgresql://ops:p@ss@127.0.0.1:1/support", "p@ss"),  # "@" unencoded
        ("postgresql://ops:p%40ss@127.0.0.1:1/support", "p%40ss"),
        ("postgresql://ops:p?s#s@127.0.0.1:1/support", "p?s#s"),
        ("postgresql://ops@127.0.0.1:1/support?password=hunter2", "hunter2"),  # libpq's query form
        ("postgresql://127.0.0.1:1/support?user=ops&sslpassword=hunter2#x&sslmode=disable", "hunter2#x"),
    ],
)
def test_a_database_url_shown_hides_its_password_however_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str, secret: str
) -> None:
    """`init` (and serve's outage lines, `database_named`) print the database URL with its password
    hidden: a password holding "/" or given as `?password=` was printed as it was."""
    assert secret not in hide_password(url) and "***" in hide_password(url)
    get_settings.cache_clear()
    done = CliRunner().invoke(
        app, ["init", str(tmp_path / "ws")], env={**WIDE, "SUPPORTCUE_DATABASE_URL": url}
    )
    said = f"{done.output}{done.exception or ''}"
    assert "cannot open the database postgresql://" in said, said
    assert secret not in said, said
    get_settings.cache_clear()


def test_hide_password_keeps_urls_without_one() -> None:
    for url in ("sqlite:////tmp/a@b/x.db", "postgresql://ops@db:5432/support?sslmode=require"):
        assert hide_password(url) == url
    assert hide_password("postgresql+psycopg://ops:pw@db:5432/s") == "postgresql+psycopg://ops:***@db:5432/s"


def test_python_dash_m_supportcue_runs_the_command(tmp_path: Path) -> None:
    """`python -m supportcue` (what one types with a virtualenv not on PATH) stopped with "No module
    named supportcue.__main__"."""
    ws = tmp_path / "ws"
    done = subprocess.run(
        [sys.executable, "-m", "supportcue", "init", str(ws)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "workspace ready" in done.stdout and (ws / "supportcue.toml").is_file()
