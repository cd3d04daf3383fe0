"""`serve --workers N`: N uvicorn worker processes answer on one port, each a whole app (models,
micro-batcher, suggestion writer, outbox thread) that keeps nothing another worker needs.

uvicorn's supervisor binds the port once, starts the workers (each imports `create_worker_app`,
which reads the workspace `serve` named from `SUPPORTCUE_WORKSPACE` and every other setting from
the same file and `SUPPORTCUE_*` variables as `serve` did), restarts a worker that dies, replaces
them one at a time on SIGHUP (each new one once it is ready, within `STARTUP_S`), and on SIGTERM or
Ctrl-C stops them: a worker stops accepting, finishes the requests it holds (and answers one that
arrives on a connection it holds, `DrainingProtocol`), commits what its writer holds and exits. A
worker whose `serve` was killed outright stops itself the same way (`watch_parent`), rather than
keep the port with no supervisor. A worker accepts connections only
once its models are loaded, so one that (re)starts leaves the traffic to the others meanwhile.

What each piece of per-process state does across workers:

- the pipeline: each worker loads the live models and follows the registry (`runtime.py`);
- suggestions and events are committed before they are answered; an event's idempotency key is
  unique in the database, so a retry that reaches another worker is still a duplicate; a message
  asked about again (`case_id` + `message_id`) gets the stored suggestion from any worker;
- login sessions are rows in the database, CSRF tokens derive from the session id: any worker
  checks them; a key revoked or a session ended elsewhere stops working within the caller cache's
  2 seconds (`security/callers.py`);
- the Chatwoot outbox: every worker runs a delivery thread, and an item is claimed with a lease in
  the database, so one worker posts each note;
- the experiment's arms are recorded in the database (the same arm from any worker: it is a hash);
- Prometheus: each worker writes its counts to files in `$PROMETHEUS_MULTIPROC_DIR` (a temporary
  folder `serve` makes and removes, unless the variable is set), and /metrics adds them up;
- failed logins (`[security] login_attempts_per_minute`) are counted in the database, by every worker
  in the same bucket; the request rate limit (`rate_per_minute`, `burst`) is counted in memory by
  each worker: a caller spread over N workers may get up to N times that limit.

SQLite takes one writer at a time, across processes too: more than one worker on it is refused
(`check_workers`). Torch and BLAS in each worker use their share of the cores (`OMP_NUM_THREADS`,
unless it is set): N workers each using every core would only slow each other down.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import FrameType
from typing import TextIO

import uvicorn
from fastapi import FastAPI
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.supervisors.multiprocess import Multiprocess

from supportcue.errors import SupportcueError
from supportcue.settings import CONFIG_NAME, Settings, get_settings, require_workspace

log = logging.getLogger("supportcue.service")
APP = "supportcue.service.workers:create_worker_app"
METRICS_ENV = "PROMETHEUS_MULTIPROC_DIR"
THREADS_ENV = "OMP_NUM_THREADS"
PARENT_POLL_S = 1.0
"""How often a worker checks that `serve`, its parent, is still there (`watch_parent`)."""
STARTUP_S = 30
"""uvicorn's worker health-check timeout: how long the supervisor waits for a worker it starts on
SIGHUP to be ready (models loaded) before it stops the old one (it keeps the old one when the new one
is late), and at worst how long it takes to notice a worker that died in the middle of a check."""


LOG_FORMAT = "%(asctime)s %(levelname)s supportcue[%(process)d] %(name)s: %(message)s"
"""A line of `serve`'s log: when (UTC), how bad, which process (each worker of `--workers N` has its
own), then the message (personal data redacted, `security/redaction.py`)."""


def log_to_stderr(stream: TextIO | None = None) -> logging.Handler:
    """Give supportcue's log records a handler of their own in `serve` and in each of its workers
    (idempotent): lines in `LOG_FORMAT`, warnings and errors, and the service's `info` lines too (a
    worker following a promotion: "now serving models ..."). Without it they went to Python's
    last-resort handler: the bare message, no time, level or process, and no `info` line at all."""
    logger = logging.getLogger("supportcue")
    for handler in logger.handlers:
        if getattr(handler, "supportcue_serve", False):
            return handler
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    formatter = logging.Formatter(LOG_FORMAT, "%Y-%m-%dT%H:%M:%SZ")
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    handler.supportcue_serve = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.WARNING)
    service = logging.getLogger("supportcue.service")
    if service.level == logging.NOTSET:
        service.setLevel(logging.INFO)
    return handler


class DrainingProtocol(HttpToolsProtocol):
    """uvicorn's HTTP protocol, but a worker that stops (SIGHUP's replacement, SIGTERM) answers a
    request that arrives on a connection it holds idle, with `Connection: close`, instead of closing
    the connection at once: a client sends its next request on a kept-alive connection the moment
    it has its answer (and a new connection's request follows its accept), so the close crossed it
    and the client got "disconnected without a response" for a request nobody answered (2 in 6
    reloads under load). A connection that stays idle closes after uvicorn's keep-alive timeout
    (5 s), as any idle one does, and one whose request is not whole by then closes too, so a worker
    stops within that of its last answer."""

    draining = False
    idle_drain_s: float | None = None
    """How long an idle connection stays open once the stop begins; None: uvicorn's keep-alive timeout."""

    def shutdown(self) -> None:
        if self.cycle is None or self.cycle.response_complete:
            self.draining = True
            if self.idle_drain_s is not None:  # a shorter window than the keep-alive timer's
                if self.timeout_keep_alive_task is not None:
                    self.timeout_keep_alive_task.cancel()
                self.timeout_keep_alive_task = self.loop.call_later(
                    min(self.idle_drain_s, self.timeout_keep_alive), self.timeout_keep_alive_handler
                )
            elif self.timeout_keep_alive_task is None:  # accepted, no request yet: no timer armed
                self.timeout_keep_alive_task = self.loop.call_later(
                    self.timeout_keep_alive, self.timeout_keep_alive_handler
                )
        else:
            self.cycle.keep_alive = False

    def data_received(self, data: bytes) -> None:
        # uvicorn cancels the keep-alive timer when bytes arrive; while draining it stays armed until
        # a request's headers are complete, so a client that trickles them (or hangs halfway) cannot
        # keep a stopping worker alive: it gets the keep-alive time to send a whole request
        pending = self.timeout_keep_alive_task if self.draining else None
        self.timeout_keep_alive_task = None if pending is not None else self.timeout_keep_alive_task
        super().data_received(data)
        if pending is not None:
            if self.cycle is None or self.cycle.response_complete:  # the headers are not all here yet
                self.timeout_keep_alive_task = pending
            else:
                pending.cancel()

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        if self.draining and self.cycle is not None:
            self.cycle.keep_alive = False  # answered with Connection: close, then closed


def check_workers(settings: Settings, workers: int) -> None:
    """Refuse more than one worker on SQLite, saying what to use instead."""
    if workers > 1 and settings.database_url.startswith("sqlite"):
        raise SupportcueError(
            f"{workers} workers (--workers, or [service] workers) need PostgreSQL: this workspace's "
            "database is SQLite, which takes one writer at a time, so workers would queue for its "
            f"lock. Set [database] url in {CONFIG_NAME} or SUPPORTCUE_DATABASE_URL to "
            "postgresql://USER@HOST/DB (see docs/deployment.md), or serve one process (--workers 1)"
        )


def threads_per_worker(workers: int, cores: int | None = None) -> int:
    """Each worker's share of the machine's cores (at least one)."""
    return max(1, (cores if cores is not None else os.cpu_count() or 1) // workers)


def worker_environment(settings: Settings, workers: int, metrics_dir: str) -> dict[str, str]:
    """What the workers need beyond the environment `serve` runs in: the workspace (resolved), the
    host names it answers to (`serve --host` adds the address given), the metrics folder, and each
    worker's share of the cores unless `OMP_NUM_THREADS` says otherwise."""
    env = {
        "SUPPORTCUE_WORKSPACE": str(settings.workspace.resolve()),
        "SUPPORTCUE_SERVICE__ALLOWED_HOSTS": json.dumps(settings.service.allowed_hosts),
        METRICS_ENV: metrics_dir,
    }
    if not os.environ.get(THREADS_ENV):
        env[THREADS_ENV] = str(threads_per_worker(workers))
    return env


def create_worker_app() -> FastAPI:
    """The app of one worker (uvicorn's factory): the workspace in `SUPPORTCUE_WORKSPACE`. It starts
    accepting connections once its models are loaded (or failed to load, which /readyz then says)."""
    from sqlalchemy.exc import SQLAlchemyError

    from supportcue.cli.context import database_problem
    from supportcue.service.app import create_app

    log_to_stderr()
    watch_parent(os.getppid())
    try:
        settings = require_workspace(get_settings())
        try:
            return create_app(settings, start_loaded=True)
        except SQLAlchemyError as exc:  # the database is down, or its address wrong, since `serve` began
            raise database_problem(settings, exc) from exc
    except SupportcueError as exc:
        # A worker started by SIGHUP, or in place of one that died, reads supportcue.toml again and
        # opens the database: a mistake made in the file since, or a database that cannot be reached
        # now, is said as `serve` says it at start-up, in one line, not a traceback.
        print(
            f"error: worker {os.getpid()} cannot start: {exc}; the workers running keep serving (fix it, "
            "then send SIGHUP to serve again)",
            file=sys.stderr,
            flush=True,
        )
        raise SystemExit(1) from None


def watch_parent(parent: int, every_s: float = PARENT_POLL_S) -> threading.Thread:
    """Stop this worker (SIGTERM to itself: it finishes its requests and commits its writer's queue)
    once `serve`, its parent, is gone. A `serve` killed outright (SIGKILL, the OOM killer) cannot stop
    its workers, and an orphaned worker would keep the port and answer with no supervisor."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every_s)
        log.warning("serve (pid %d) is gone: worker %d stops", parent, os.getpid())
        os.kill(os.getpid(), signal.SIGTERM)

    thread = threading.Thread(target=watch, name="supportcue-parent-watch", daemon=True)
    thread.start()
    return thread


def _empty(folder: Path) -> None:
    """A metrics folder given by the user is emptied of an earlier run's files (as prometheus_client
    asks): a stopped run's counts would add to this one's."""
    for old in folder.glob("*.db"):
        old.unlink()


class StoppingProtocol(DrainingProtocol):
    """`serve` in one process: an idle kept-alive connection is held 1 s once the stop begins, not
    the keep-alive timeout's 5 s. A request that crosses the stop arrives within milliseconds of its
    connection's last answer, and nothing takes over after this process, so holding idle clients
    longer only delayed the stop (5.8 s with one idle client, 0.9 s without)."""

    idle_drain_s = 1.0


def one_process_server(config: uvicorn.Config) -> uvicorn.Server:
    """uvicorn's server for `serve` in one process, which exits with status 0 once SIGTERM or Ctrl-C
    has stopped it gracefully (it stops accepting, answers the requests under way within `[service]
    shutdown_grace_s`, the app's shutdown commits its writer's queue). uvicorn's own raises the
    signal again once it has stopped, so the process died of it: status 143 on SIGTERM, which
    systemd and Kubernetes count as a failed stop, though nothing had failed. A second Ctrl-C still
    cuts the requests under way off, as uvicorn's does. (`serve --workers N` is uvicorn's supervisor,
    which exits 0 by itself.)"""

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            # uvicorn's, less remembering the signal to raise again after the shutdown
            if self.should_exit and sig == signal.SIGINT:
                self.force_exit = True
            else:
                self.should_exit = True

    return Server(config)


def run_one_process(settings: Settings, app: FastAPI, host: str, port: int) -> None:
    """Serve `app` in this process until SIGTERM or Ctrl-C, then return (status 0 for `serve`)."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        http=StoppingProtocol,
        log_level="warning",
        timeout_graceful_shutdown=settings.service.shutdown_grace_s,
    )
    one_process_server(config).run()


def died(exitcode: int | None) -> str:
    """How a worker process ended, for the log: the signal that killed it, or its exit status."""
    if exitcode is not None and exitcode < 0:
        try:
            return f"killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exit status {exitcode}" if exitcode is not None else "no longer answering"


class Supervisor(Multiprocess):
    """uvicorn's supervisor, which also logs a worker that died and the one started in its place, as
    a warning: it said so at uvicorn's INFO level only, below `serve`'s, so a worker killed (by the
    out-of-memory killer, say) and replaced left no line at all in the log."""

    def keep_subprocess_alive(self) -> None:
        before = list(self.processes)
        super().keep_subprocess_alive()
        for old, new in zip(before, self.processes, strict=True):
            if new is not old and not self.should_exit.is_set():
                log.warning(
                    "worker %s died (%s); worker %s started in its place",
                    old.pid,
                    died(old.exitcode),
                    new.pid,
                )


def run_workers(settings: Settings, host: str, port: int, workers: int) -> None:
    """Serve with `workers` processes until SIGTERM or Ctrl-C (`check_workers` first)."""
    given = os.environ.get(METRICS_ENV)
    if given:
        Path(given).mkdir(parents=True, exist_ok=True)
        _empty(Path(given))
    metrics_dir = given or tempfile.mkdtemp(prefix="supportcue-metrics-")
    os.environ.update(worker_environment(settings, workers, metrics_dir))
    try:
        config = uvicorn.Config(
            APP,
            factory=True,
            host=host,
            port=port,
            workers=workers,
            http=DrainingProtocol,
            log_level="warning",
            timeout_worker_healthcheck=STARTUP_S,
            timeout_graceful_shutdown=settings.service.shutdown_grace_s,
        )
        log_to_stderr()
        Supervisor(config, sockets=[config.bind_socket()]).run()  # what uvicorn.run does for workers
    finally:
        if not given:
            shutil.rmtree(metrics_dir, ignore_errors=True)
