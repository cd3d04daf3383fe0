"""`supportcue serve --workers 2` (issue 15, item 4): the real command as a process of its own, on
PostgreSQL, over real HTTP with a new connection per request, so both workers answer. Every
suggestion and event is stored exactly once whichever worker took it (a retried event reaching the
other worker is a duplicate, a message asked about again gets its stored suggestion), a login on
one worker is a session (and a CSRF token) on both, /metrics adds up both workers' counts, a
promotion and a rollback from the CLI are followed by both, a worker killed is replaced while the
other answers every request, and SIGTERM to the parent stops the workers with every answered
suggestion stored. On SQLite, more than one worker is refused with an error naming PostgreSQL."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import func, select

from supportcue.data.store import open_store
from supportcue.data.tables import Event, Suggestion
from supportcue.security.users import add_user
from supportcue.service.workers import LOG_FORMAT, log_to_stderr, threads_per_worker
from supportcue.settings import init_workspace
from tests.cli.test_lifecycle import run
from tests.cli.test_newcomer import entry_point
from tests.conftest import BACKENDS
from tests.service.test_auth import PASSWORD, log_in, page_token

ROOT = Path(__file__).resolve().parents[2]
ONLY_PG = [b for b in BACKENDS if b == "postgresql"]
WAIT_S = 120.0
"""How long to wait for a state (both workers up, both on a version): a busy CI machine is slow."""


class Served:
    """`python -m supportcue.cli serve --workers 2` (or `workers`) in a process of its own; its
    metrics folder is the test's, to read each worker's counts."""

    def __init__(self, workspace: Path, workers: int = 2) -> None:
        self.workspace = workspace
        self.workers = workers
        self.metrics = workspace / "metrics"
        self.metrics.mkdir(exist_ok=True)  # one process (--workers 1) uses it but does not make it
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
            "SUPPORTCUE_SERVICE__REGISTRY_POLL_S": "0.2",
            "PROMETHEUS_MULTIPROC_DIR": str(self.metrics),
        }
        args = [sys.executable, "-m", "supportcue.cli", "--workspace", str(workspace)]
        args += ["serve", "--workers", str(workers), "--port", str(self.port)]
        self.log = workspace / "serve.log"
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                args, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def output(self) -> str:
        return self.log.read_text()[-3000:]

    def readyz(self) -> dict[str, Any]:
        """/readyz over a new connection (so either worker may answer)."""
        r = httpx.get(f"{self.url}/readyz", timeout=30)
        body: dict[str, Any] = r.json()
        return {"code": r.status_code, **body}

    def until(self, what: str, done: Callable[[dict[int, dict[str, Any]]], bool]) -> dict[int, Any]:
        """Ask /readyz until `done` holds of the latest answer of each worker (by pid)."""
        latest: dict[int, dict[str, Any]] = {}
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"serve exited:\n{self.output()}"
            try:
                body = self.readyz()
            except httpx.TransportError:
                time.sleep(0.2)
                continue
            latest[body["pid"]] = body
            if done(latest):
                return latest
            time.sleep(0.05)
        raise AssertionError(f"not {what} within {WAIT_S:.0f} s: {latest}\n{self.output()}")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)

    def kill(self) -> None:
        """End `serve` and every worker at once (a fixture's teardown: a failed test leaves none)."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)


@pytest.fixture
def served(workspace: Path) -> Iterator[Served]:
    run(workspace, "train")
    run(workspace, "train", "--stage", "topic")  # v2, a candidate to promote
    server = Served(workspace)
    try:
        yield server
    finally:
        server.kill()


def both_ready(latest: dict[int, dict[str, Any]]) -> bool:
    return len(latest) == 2 and all(b["code"] == 200 for b in latest.values())


def both_on(version: str) -> Callable[[dict[int, dict[str, Any]]], bool]:
    return lambda latest: both_ready(latest) and all(b["models"]["topic"] == version for b in latest.values())


def per_worker(folder: Path, sample: str, **labels: str) -> dict[int, float]:
    """Each worker's value of a counter (summed over the samples with `labels`), read from its own
    metrics file."""
    counts = {}
    for path in folder.glob("counter_*.db"):
        metrics = MultiProcessCollector.merge([str(path)], accumulate=False)  # type: ignore[no-untyped-call]
        pid = int(path.stem.split("_")[1])
        counts[pid] = sum(
            s.value
            for m in metrics
            for s in m.samples
            if s.name == sample and labels.items() <= s.labels.items()
        )
    return counts


def query(stmt: Any) -> list[Any]:
    """The rows of `stmt`, read from the workspace's database."""
    store = open_store(os.environ["SUPPORTCUE_DATABASE_URL"])
    try:
        with store.db.session() as s:
            return list(s.execute(stmt).all())
    finally:
        store.close()


def counted(column: Any) -> dict[str, int]:
    """Rows per value of `column`."""
    return {value: n for value, n in query(select(column, func.count()).group_by(column))}


def scraped(text: str, sample: str) -> float:
    """A sample's value summed over its labels, from /metrics."""
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(sample + "{"))


def post(url: str, path: str, key: str, body: dict[str, Any]) -> httpx.Response:
    """One request on a new connection."""
    return httpx.post(f"{url}{path}", json=body, headers={"Authorization": f"Bearer {key}"}, timeout=60)


def suggest(url: str, key: str, n: int, prefix: str = "c") -> httpx.Response:
    body = {"message": f"payout is late please, ref {n}", "case_id": f"{prefix}{n}", "message_id": f"m{n}"}
    return post(url, "/v1/suggest", key, body)


@pytest.mark.parametrize("database_url", ONLY_PG, indirect=True)
def test_two_workers_on_postgresql_store_everything_once_and_follow_the_registry(served: Served) -> None:
    ws = served.workspace
    key = json.loads(run(ws, "keys", "create", "--name", "w", "--role", "admin", "--json"))["key"]
    pids = set(served.until("both workers ready", both_ready))
    assert len(pids) == 2 and served.process.pid not in pids

    # suggestions from many connections at once, until both workers have made some (bounded)
    made: dict[str, str] = {}
    with ThreadPoolExecutor(6) as pool:
        for round_ in range(10):
            numbers = range(round_ * 12, round_ * 12 + 12)
            for r in pool.map(lambda n: suggest(served.url, key, n), numbers):
                assert r.status_code == 200, r.text
                made[r.json()["case_id"]] = r.json()["suggestion_id"]
            by_worker = per_worker(served.metrics, "supportcue_suggestions_total")
            if set(by_worker) == pids and all(by_worker.values()):
                break
    assert set(by_worker) == pids and all(by_worker.values()), f"one worker made them all: {by_worker}"
    # one new message asked on several connections at once, so that both workers get it: one
    # suggestion (the claim row), which every answer names
    with ThreadPoolExecutor(8) as pool:
        same = list(pool.map(lambda n: suggest(served.url, key, n // 4, prefix="d"), range(48)))
    assert all(r.status_code == 200 for r in same), [r.text for r in same]
    answered: dict[str, set[str]] = {}
    for r in same:
        answered.setdefault(r.json()["case_id"], set()).add(r.json()["suggestion_id"])
    assert all(len(ids) == 1 for ids in answered.values()), answered
    assert sorted(r.json()["reused"] for r in same) == [False] * 12 + [True] * 36
    made_at_once = {case: ids.pop() for case, ids in answered.items()}

    cases = len(made)
    # asked again, from any worker: the stored suggestion, not a new one
    with ThreadPoolExecutor(6) as pool:
        again = list(pool.map(lambda n: suggest(served.url, key, n), range(cases)))
    assert all(r.status_code == 200 and r.json()["reused"] for r in again), [r.text for r in again]
    assert {r.json()["case_id"]: r.json()["suggestion_id"] for r in again} == made

    # each event sent twice at once, on two connections: stored once, the other a duplicate
    def event(n: int) -> httpx.Response:
        body = {
            "idempotency_key": f"e{n}",
            "case_id": f"c{n}",
            "kind": "shown",
            "suggestion_id": made[f"c{n}"],
        }
        return post(served.url, "/v1/events", key, body)

    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(event, [n for n in range(cases) for _ in range(2)]))
    assert all(r.status_code == 202 for r in answers), [r.text for r in answers]
    duplicates = sorted(r.json()["duplicate"] for r in answers)
    assert duplicates == [False] * cases + [True] * cases

    assert counted(Suggestion.case_id) == {case: 1 for case in [*made, *made_at_once]}
    assert counted(Event.idempotency_key) == {f"e{n}": 1 for n in range(cases)}

    # a login on one worker is a session on both: the console page and a CSRF-checked event, each
    # on a new connection, until both workers have served the logged-in user
    store = open_store(os.environ["SUPPORTCUE_DATABASE_URL"])
    add_user(store, "ana", "agent", PASSWORD)
    store.close()
    client, answer = log_in(served.url)
    assert answer.status_code == 303
    cookies, token = dict(client.cookies), page_token(client)
    client.close()
    for n in range(40):
        page = httpx.get(f"{served.url}/", cookies=cookies, timeout=30)
        assert page.status_code == 200 and "csrf-token" in page.text
        body = {"idempotency_key": f"ana{n}", "case_id": "c0", "kind": "dismissed", "reason": "tone"}
        headers = {"x-csrf-token": token}
        sent = httpx.post(f"{served.url}/v1/events", json=body, cookies=cookies, headers=headers, timeout=30)
        assert sent.status_code == 202, sent.text
        pages = per_worker(served.metrics, "supportcue_http_requests_total", route="/", status="200")
        if set(pages) == pids and all(pages.values()):
            break
    assert set(pages) == pids and all(pages.values()), f"one worker served every page: {pages}"

    # /metrics counts both workers' suggestions and events, whichever worker answers (asked until
    # each worker has answered it at least once)
    auth = {"Authorization": f"Bearer {key}"}
    for _ in range(40):
        text = httpx.get(f"{served.url}/metrics", headers=auth, timeout=30).text
        assert scraped(text, "supportcue_suggestions_total") == cases + len(made_at_once)
        assert 'supportcue_events_total{kind="shown"} ' + f"{cases}.0" in text
        assert 'supportcue_events_total{kind="dismissed"} ' in text
        scrapes = per_worker(served.metrics, "supportcue_http_requests_total", route="/metrics")
        if set(scrapes) == pids and all(scrapes.values()):
            break
    assert set(scrapes) == pids and all(scrapes.values()), f"one worker answered every scrape: {scrapes}"
    made_now = cases + len(made_at_once)
    assert sum(per_worker(served.metrics, "supportcue_suggestions_total").values()) == made_now

    # a promotion and a rollback from the CLI: both workers follow
    assert "topic v2 is live" in run(ws, "promote", "topic", "v2")
    assert set(served.until("both on topic v2", both_on("v2"))) == pids
    assert "topic v1 is live again" in run(ws, "rollback", "topic")
    assert set(served.until("both on topic v1", both_on("v1"))) == pids
    # each worker logs that it followed, in a line with the time, the level and its process id
    followed = re.findall(
        r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ INFO supportcue\[(\d+)\] supportcue\.service: now serving models "
        r"\{.*'topic': 'v1'.*\} \(were \{.*'topic': 'v2'",
        served.log.read_text(),
        re.MULTILINE,
    )
    assert set(map(int, followed)) == pids, served.output()
    text = httpx.get(f"{served.url}/metrics", headers=auth, timeout=30).text
    assert 'supportcue_model_live{stage="topic",version="v1"} 1.0' in text
    assert 'supportcue_model_live{stage="topic",version="v2"} 0.0' in text

    # a worker that dies is replaced; the other answers every request meanwhile, and the new one
    # takes connections only once its models are loaded
    victim = min(pids)
    os.kill(victim, signal.SIGKILL)
    statuses: list[int] = []
    deadline = time.monotonic() + WAIT_S
    while not (new := served.readyz()["pid"]) or new in pids:
        assert time.monotonic() < deadline, f"no new worker within {WAIT_S:.0f} s:\n{served.output()}"
        statuses.append(suggest(served.url, key, len(statuses), prefix="k").status_code)
    pids = set(served.until("the new worker and the other ready", both_ready))
    assert victim not in pids and new in pids
    assert statuses and set(statuses) == {200}, statuses
    # and the log says so (uvicorn's own line was below serve's level: nothing was logged)
    said = rf"WARNING supportcue\[{served.process.pid}\] supportcue.service: worker {victim} died "
    assert re.search(said + rf"\(killed by SIGKILL\); worker {new} started in its place", served.output())

    # SIGTERM to the parent while suggestions are being sent: every one answered is stored
    def late(n: int) -> str | None:
        try:
            r = suggest(served.url, key, n, prefix="late")
        except httpx.TransportError:
            return None  # not accepted: the workers had stopped listening
        return str(r.json()["suggestion_id"]) if r.status_code == 200 else None

    with ThreadPoolExecutor(6) as pool:
        futures = [pool.submit(late, n) for n in range(24)]
        assert futures[0].result() is not None
        served.process.send_signal(signal.SIGTERM)
        answered = [s for f in futures if (s := f.result()) is not None]
    assert served.process.wait(timeout=60) == 0, served.output()
    for pid in pids:  # the workers are gone too
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert answered
    late_cases = {f"late{n}" for n in range(24)}
    stored = {row for (row,) in query(select(Suggestion.id).where(Suggestion.case_id.in_(late_cases)))}
    assert set(answered) <= stored


@pytest.mark.parametrize("database_url", ONLY_PG, indirect=True)
def test_workers_stop_themselves_when_serve_is_killed_outright(served: Served) -> None:
    pids = set(served.until("both workers ready", both_ready))
    served.process.kill()  # SIGKILL: serve cannot stop its workers
    served.process.wait(timeout=30)
    deadline = time.monotonic() + WAIT_S
    while alive := {pid for pid in pids if running(pid)}:
        assert time.monotonic() < deadline, f"workers {alive} still running:\n{served.output()}"
        time.sleep(0.2)
    assert "is gone: worker" in served.output()
    with pytest.raises(httpx.TransportError):  # nobody keeps the port
        httpx.get(f"{served.url}/readyz", timeout=5)


def running(pid: int) -> bool:
    """Whether process `pid` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):  # gone, or going while read
        return False


def test_more_than_one_worker_on_sqlite_is_refused_naming_postgresql(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    init_workspace(tmp_path / "ws")  # the default database: SQLite
    code, err = entry_point(monkeypatch, capsys, "-w", str(tmp_path / "ws"), "serve", "--workers", "2")
    assert code == 2 and err.startswith("error: 2 workers (--workers, or [service] workers) need PostgreSQL")
    assert "SUPPORTCUE_DATABASE_URL" in err and "--workers 1" in err


def test_each_worker_gets_its_share_of_the_cores() -> None:
    assert threads_per_worker(2, cores=8) == 4
    assert threads_per_worker(3, cores=2) == 1


def worker_refusal(environ: dict[str, str]) -> tuple[str, str]:
    """Start one worker as `serve --workers` does (its app factory) with `environ` added, and check it
    refused to start without a traceback: (the one line it wrote, all it wrote)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), **environ}
    code = "from supportcue.service.workers import create_worker_app; create_worker_app()"
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode != 0
    assert "Traceback" not in done.stderr, done.stderr
    (line,) = done.stderr.strip().splitlines()
    return line, done.stderr


def test_a_worker_started_on_a_broken_settings_file_says_why_in_one_line(tmp_path: Path) -> None:
    """SIGHUP (or a worker replaced after it died) starts a worker that reads supportcue.toml again:
    a mistake made in it since is said in one line naming the file, as `serve` itself says it at
    start-up, not with a traceback, and the worker exits (the workers running keep serving)."""
    init_workspace(tmp_path)
    with (tmp_path / "supportcue.toml").open("a") as f:
        f.write("\n[service]\nport = 1\n")  # a second [service] table: not valid TOML
    line, _ = worker_refusal({"SUPPORTCUE_WORKSPACE": str(tmp_path)})
    assert "supportcue.toml: not valid TOML" in line and "keep serving" in line, line


@pytest.mark.parametrize(
    ("userinfo", "query", "shown"),
    [
        ("ops:S3cret@", "", "ops:***@"),
        ("ops:S3/cret@", "", "ops:***@"),  # a "/" in the password: it was logged whole
        ("ops@", "?password=S3cret", "ops@"),  # libpq's query form: it was logged whole
    ],
)
def test_a_worker_started_while_the_database_is_unreachable_says_why_in_one_line(
    tmp_path: Path, userinfo: str, query: str, shown: str
) -> None:
    """A worker started by SIGHUP (or in place of one that died) while the database is down, or its
    address wrong, exited with a traceback of some 80 lines; it now says so in one line naming the
    database (its password hidden, however the URL gives it) and where its URL was set, as `serve`
    does at start-up."""
    init_workspace(tmp_path)
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    line, stderr = worker_refusal(
        {
            "SUPPORTCUE_WORKSPACE": str(tmp_path),
            "SUPPORTCUE_DATABASE_URL": f"postgresql://{userinfo}127.0.0.1:{port}/support{query}",
        }
    )
    assert f"cannot open the database postgresql://{shown}127.0.0.1:{port}/support" in line, line
    assert "SUPPORTCUE_DATABASE_URL" in line and "cannot be reached" in line and "keep serving" in line
    assert "S3cret" not in stderr


def test_the_service_logs_lines_with_time_level_and_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """`serve`'s log lines went to Python's last-resort handler: the bare message (no time, no level,
    no worker's pid: which of N workers could not reach the database, and when?), and the service's
    info lines ("now serving models ...", a promotion followed) not at all."""
    import io
    import logging

    from supportcue.security.redaction import install_log_redaction

    install_log_redaction()
    logger, service = logging.getLogger("supportcue"), logging.getLogger("supportcue.service")
    monkeypatch.setattr(logger, "handlers", [])
    monkeypatch.setattr(logger, "level", logging.NOTSET)
    monkeypatch.setattr(service, "level", logging.NOTSET)
    stream = io.StringIO()
    handler = log_to_stderr(stream)
    assert log_to_stderr(io.StringIO()) is handler and logger.handlers == [handler]  # once per process
    service.info("now serving models %s", {"topic": "v2"})
    logging.getLogger("supportcue.monitoring").info("not shown: below the warning level")
    service.warning("storing 1 suggestions failed for ana@example.com")
    lines = stream.getvalue().splitlines()
    pid = os.getpid()
    assert re.fullmatch(
        rf"\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\dZ INFO supportcue\[{pid}\] supportcue\.service: now serving "
        r"models \{'topic': 'v2'\}",
        lines[0],
    ), lines
    assert len(lines) == 2 and f" WARNING supportcue[{pid}] " in lines[1] and lines[1].endswith("for [email]")
    assert LOG_FORMAT.startswith("%(asctime)s %(levelname)s")
