"""Write-behind for suggestions: the request returns as soon as the pipeline has answered, and a
background thread stores the suggestions (with their traces) in batches.

Suggestions are the system's own output, so writing them behind the response keeps a database commit
off every agent's wait; a clean shutdown flushes the queue. Events, which a client was promised, are
never written this way: `POST /v1/events` answers only after its commit.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

log = logging.getLogger("supportcue.service")
Row = Mapping[str, Any]


class SuggestionWriter:
    def __init__(self, write: Callable[[Sequence[Row]], object], max_batch: int = 500) -> None:
        self.write = write
        self.max_batch = max_batch
        self._queue: queue.Queue[Row | None] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="suggestion-writer", daemon=True)
        self._thread.start()

    def submit(self, rows: Sequence[Row]) -> None:
        for row in rows:
            self._queue.put(row)

    def flush(self, timeout: float = 30.0) -> None:
        """Block until everything submitted so far is written (tests, shutdown)."""
        done = threading.Event()
        self._queue.put({"__flush__": done})
        done.wait(timeout)

    def close(self) -> None:
        self.flush()
        self._queue.put(None)
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            batch: list[Row] = []
            waiters: list[threading.Event] = []
            stop = False
            while True:
                if item is None:
                    stop = True
                elif "__flush__" in item:
                    waiters.append(item["__flush__"])
                else:
                    batch.append(item)
                if stop or len(batch) >= self.max_batch or self._queue.empty():
                    break
                item = self._queue.get()
            if batch:
                self._write(batch)
            for waiter in waiters:
                waiter.set()
            if stop:
                return

    def _write(self, batch: list[Row]) -> None:
        for attempt in (1, 2, 3):
            try:
                self.write(batch)
                return
            except Exception:  # a failed write is retried, then reported, never raised into requests
                log.exception("storing %d suggestions failed (attempt %d of 3)", len(batch), attempt)
