"""Group commit for suggestions: a suggestion is answered only once it is committed.

Callers (the micro-batcher's thread with a whole batch, or a request finishing a slow stage) hand
their rows to `store` and wait; one thread commits whatever is queued in one transaction, so
concurrent requests share a commit and its fsync. If that transaction fails because of one row the
database refuses (a NUL character on PostgreSQL), the rows are written one by one and only that
row's request fails (`UnstorableValue`); if the database cannot take writes at all (down, full,
locked, its file gone), every waiting request gets `DatabaseUnavailable` (the service answers 503),
and the failure is kept for /readyz until a write succeeds again.

Events, which a client was promised, are committed by their own route before its 202.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any

from supportcue.data.database import unavailable_reason
from supportcue.errors import DatabaseUnavailable, UnstorableValue

log = logging.getLogger("supportcue.service")
Row = Mapping[str, Any]
Outcome = Exception | None
"""Per row: None once committed, else the error its request answers with."""


@dataclass(frozen=True)
class WriteFailure:
    reason: str
    at: float
    """`time.monotonic()` of the failure."""


def write_rows(write: Callable[[Sequence[Row]], object], rows: Sequence[Row]) -> list[Outcome]:
    """Write `rows` in one transaction; on an error about the data, one by one (so only the bad row
    fails). Errors are logged by kind and suggestion id only, never with the rows' text."""
    try:
        write(rows)
        return [None] * len(rows)
    except Exception as exc:
        reason = unavailable_reason(exc)
        if reason is not None:
            log.warning("storing %d suggestions failed: %s", len(rows), reason)
            return [DatabaseUnavailable(reason)] * len(rows)
        refused = f"the database refused a value ({type(exc).__name__})"
        if len(rows) == 1:
            log.warning("storing 1 suggestions failed: %s; suggestion %s", refused, rows[0].get("id"))
            return [_refused(exc)]
        log.warning("storing %d suggestions failed: %s; writing them one by one", len(rows), refused)
    return [write_rows(write, [row])[0] for row in rows]


def _refused(exc: Exception) -> Exception:
    cause = str(getattr(exc, "orig", "")).lower()
    nul = "0x00" in cause  # psycopg: "PostgreSQL text fields cannot contain NUL (0x00) bytes"
    what = "a NUL character" if nul else f"a value the database refuses ({type(exc).__name__})"
    return UnstorableValue(f"the suggestion was not stored: the request holds {what}")


class SuggestionWriter:
    """One thread that commits queued rows in groups; `store` waits for its rows' outcomes."""

    def __init__(
        self, write: Callable[[Sequence[Row]], object], max_batch: int = 500, timeout_s: float = 30.0
    ) -> None:
        self.write = write
        self.max_batch = max_batch
        self.timeout_s = timeout_s
        self.failure: WriteFailure | None = None
        """The last write's failure, cleared by the next write that succeeds."""
        self._backlog = 0
        self._lock = threading.Lock()
        self._queue: queue.Queue[tuple[Sequence[Row], Future[list[Outcome]]] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="suggestion-writer", daemon=True)
        self._thread.start()

    @property
    def backlog(self) -> int:
        """Rows handed over and not yet committed (or refused)."""
        return self._backlog

    def submit(self, rows: Sequence[Row]) -> Future[list[Outcome]]:
        """Hand `rows` over to be committed; the future gives one outcome per row."""
        future: Future[list[Outcome]] = Future()
        with self._lock:
            self._backlog += len(rows)
        self._queue.put((rows, future))
        return future

    def store(self, rows: Sequence[Row]) -> list[Outcome]:
        """Commit `rows`; one outcome per row. Waits at most `timeout_s` (then every row is
        `DatabaseUnavailable`: it may still be committed later, but it was not acknowledged)."""
        if not rows:
            return []
        future = self.submit(rows)
        try:
            return future.result(self.timeout_s)
        except FutureTimeout:
            reason = f"the database did not confirm the write within {self.timeout_s:g} s"
            return [DatabaseUnavailable(reason)] * len(rows)

    def flush(self, timeout: float = 30.0) -> None:
        """Block until everything handed over so far is written (tests, shutdown)."""
        future: Future[list[Outcome]] = Future()
        self._queue.put(((), future))
        future.result(timeout)

    def close(self) -> None:
        self.flush()
        self._queue.put(None)
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            group = [item]
            size = len(item[0])
            while size < self.max_batch:  # take what is already queued, without waiting
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._queue.put(None)
                    break
                group.append(more)
                size += len(more[0])
            self._commit(group)

    def _commit(self, group: list[tuple[Sequence[Row], Future[list[Outcome]]]]) -> None:
        rows = [row for part, _ in group for row in part]
        try:
            outcomes = write_rows(self.write, rows) if rows else []
        except BaseException as exc:  # never leave a caller waiting
            outcomes = [DatabaseUnavailable(f"storing failed ({type(exc).__name__})")] * len(rows)
        failed = next((o for o in outcomes if isinstance(o, DatabaseUnavailable)), None)
        if failed is not None:
            self.failure = WriteFailure(str(failed), time.monotonic())
        elif rows:
            self.failure = None
        with self._lock:
            self._backlog -= len(rows)
        start = 0
        for part, future in group:
            future.set_result(outcomes[start : start + len(part)])
            start += len(part)
