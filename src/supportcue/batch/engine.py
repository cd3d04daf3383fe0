"""Where a batch job runs: in this process, or on a Ray cluster (Ray Data, `supportcue[ray]`).

**In process** (no `--ray-address`): the file is read chunk by chunk; each chunk's pending cases go
through the job's worker (models loaded once) and its results are written before the next chunk is
read. Memory stays that of one chunk, and a stopped run, started again, skips what was stored.

**On Ray** (`--ray-address ADDRESS`, or `local` for a cluster of this machine alone): the driver
reads and validates the file chunk by chunk, as above, and puts each chunk's pending cases into
Ray's object store (which spills to disk), so the driver's own memory stays that of one chunk. One
Ray Data `map_batches` runs the job over them with an actor class: each actor (a Ray worker process)
loads the models once and keeps them for every batch it is given. The results stream back to the
driver, which writes them batch by batch, or, when the store is PostgreSQL (which takes concurrent
writers) and the job writes the store, the actors write their own batches and send back counts. A
SQLite store, and the embedding cache (a SQLite file), are only ever written by the driver.

The workers open the workspace themselves: on a cluster of several machines they need the workspace
folder at the same path (its settings, models and cache) and the database: PostgreSQL.
"""

from __future__ import annotations

import logging
import pickle
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from supportcue.batch.cases import BatchCase
from supportcue.batch.jobs import Job, JobSpec, write_results
from supportcue.boundary import is_digits
from supportcue.errors import BatchError

Progress = Callable[[int, int], None]
"""Called with (cases done so far, results written so far)."""
LOCAL = "local"
CONNECT_TIMEOUT_S = 5.0
"""How long `check_reachable` waits for the cluster's address to take a connection."""


def run_in_process(
    job: Job, chunks: Iterable[list[BatchCase]], progress: Progress | None = None
) -> dict[str, Any]:
    """Run `job` over `chunks` here, writing each chunk's results before reading the next."""
    start = time.perf_counter()
    worker = job.spec.worker(job.store)
    seen = done = written = 0
    for chunk in chunks:
        seen += len(chunk)
        todo = job.pending(chunk)
        if todo:
            written += job.write(worker(todo))
            done += len(todo)
        if progress:
            progress(seen, written)
    return _summary(job, "in-process", seen, done, written, start, workers=1)


class RayWorker:
    """Ray Data's callable class: one per actor, so the job's models load once per Ray worker."""

    def __init__(self, spec: JobSpec) -> None:
        from supportcue.data.store import Store, open_store

        self.spec = spec
        self.store: Store | None = None
        if spec.reads_store or spec.write_in_workers:
            self.store = open_store(spec.settings().database_url, migrate_schema=False)
        self.run = spec.worker(self.store)

    def close(self) -> None:
        """Close the worker's database connections (Ray ends the process with the actor anyway)."""
        if self.store is not None:
            self.store.close()

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        import numpy as np

        cases = [pickle.loads(b) for b in batch["case"]]
        start = time.perf_counter()
        results = self.run(cases)
        written = 0
        if self.spec.write_in_workers and self.store is not None:
            written = write_results(self.spec, self.store, results, None)
            results = [None] * len(cases)
        first = [1.0] + [0.0] * (len(cases) - 1)  # per batch figures ride on its first row
        return {
            "result": np.array([pickle.dumps(r) for r in results], dtype=object),
            "written": np.array(first, dtype=np.int64) * written,
            "seconds": np.array(first) * (time.perf_counter() - start),
        }


def run_on_ray(
    job: Job,
    chunks: Iterable[list[BatchCase]],
    address: str,
    workers: int | None = None,
    batch_size: int = 1000,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Run `job` on the Ray cluster at `address` (`local`: start one on this machine; an already
    connected `ray` is used as it is). `workers` actors (default: one per CPU of the cluster)."""
    ray = _import_ray()
    import pandas as pd

    start = time.perf_counter()
    started_here = not ray.is_initialized()
    if started_here:
        check_reachable(address)
        try:
            ray.init(
                address=None if address == LOCAL else address,
                include_dashboard=False,
                log_to_driver=False,
                logging_level=logging.WARNING,
            )
        except (ConnectionError, ValueError, RuntimeError) as exc:
            raise BatchError(f"cannot reach a Ray cluster at {address!r}: {exc}") from None
    try:
        from ray.data import DataContext

        logging.getLogger("ray.data").setLevel(logging.ERROR)  # its progress lines are ours to show
        DataContext.get_current().enable_progress_bars = False
        spec = job.spec
        if job.store.db.dialect == "postgresql" and spec.kind != "embed":
            spec = replace(spec, write_in_workers=True)
        spec = replace(spec, read_only_cache=True)
        refs, seen, done = [], 0, 0
        for chunk in chunks:
            seen += len(chunk)
            todo = job.pending(chunk)
            done += len(todo)
            for at in range(0, len(todo), batch_size):  # a block per batch: every actor gets some
                part = todo[at : at + batch_size]
                refs.append(ray.put(pd.DataFrame({"case": [pickle.dumps(c) for c in part]})))
            if progress:
                progress(seen, 0)
        size = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        written, busy = 0, 0.0
        if refs:
            dataset = ray.data.from_pandas_refs(refs).map_batches(
                RayWorker,
                fn_constructor_args=(spec,),
                batch_size=batch_size,
                compute=ray.data.ActorPoolStrategy(size=size),
                num_cpus=1,
                batch_format="pandas",
            )
            try:
                for batch in dataset.iter_batches(batch_size=batch_size, batch_format="pandas"):
                    busy += float(batch["seconds"].sum())
                    if spec.write_in_workers:
                        written += int(batch["written"].sum())
                    else:
                        written += job.write([pickle.loads(b) for b in batch["result"]])
                    if progress:
                        progress(seen, written)
            except ray.exceptions.RayError as exc:  # a worker's error, e.g. the live models changed
                said = next((line for line in reversed(str(exc).strip().splitlines()) if line.strip()), "")
                raise BatchError(
                    f"the job failed on the Ray cluster after {written:,} results were written "
                    f"(run it again: it goes on where it stopped): {said.strip()}"
                ) from exc
        extra = {"workers": size, "address": address, "worker_seconds": round(busy, 3)}
        return _summary(job, "ray", seen, done, written, start, **extra)
    finally:
        if started_here:
            ray.shutdown()


def check_reachable(address: str, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    """A BatchError at once when `address` (`host:port` or `ray://host:port`) takes no TCP connection:
    Ray itself retries an unreachable cluster for minutes before it gives up. `local` and `auto` (the
    cluster this machine belongs to, found by Ray) are left to Ray."""
    if address in (LOCAL, "auto"):
        return
    target = address.removeprefix("ray://")
    host, sep, port = target.rpartition(":")
    if not sep or not host or not is_digits(port):
        raise BatchError(f"--ray-address {address!r}: give HOST:PORT (or ray://HOST:PORT, local, auto)")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
    except OSError as exc:
        raise BatchError(f"cannot reach a Ray cluster at {address!r}: {exc}") from None


def _import_ray() -> Any:
    try:
        import ray
        import ray.data
    except ImportError:
        raise BatchError(
            "--ray-address needs Ray: pip install 'supportcue[ray]' (or run without --ray-address, in "
            "this process)"
        ) from None
    return ray


def _summary(
    job: Job, engine: str, seen: int, done: int, written: int, start: float, **extra: Any
) -> dict[str, Any]:
    seconds = time.perf_counter() - start
    return {
        "job": job.spec.kind,
        "engine": engine,
        **extra,
        "cases": seen,
        "skipped": seen - done,
        "processed": done,
        "written": written,
        "seconds": round(seconds, 3),
        "cases_per_second": round(done / seconds, 1) if seconds > 0 else None,
        **job.summary,
    }
