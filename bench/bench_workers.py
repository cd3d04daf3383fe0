"""Throughput of POST /v1/suggest with `supportcue serve --workers N`, on PostgreSQL (issue 15, item 4).

    SUPPORTCUE_DATABASE_URL=postgresql://... .venv/bin/python bench/bench_workers.py \\
        --workspace pg-demo [--workers 1,2] [--clients 8] [--requests 400]

Builds the demo workspace in that database if the folder is missing (`supportcue demo --no-serve`),
then, for each worker count in one run: starts `supportcue serve --workers N`, waits until every
worker answers /readyz, and sends `--requests` suggestions from `--clients` concurrent clients, each
opening a new connection per request (so the requests spread over the workers). Prints suggestions
a second, how many each worker answered (from each worker's metrics file), the workers' resident
memory, and the throughput ratio to the first count.
The per-caller rate limit is off, so the figures are the server's capacity.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from prometheus_client.multiprocess import MultiProcessCollector

from bench_latency import bench_key, concurrent_throughput
from supportcue.demo.generator import generate


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def per_worker(folder: Path) -> dict[int, int]:
    """Suggestions each worker made, from its own metrics file."""
    out = {}
    for path in folder.glob("counter_*.db"):
        metrics = MultiProcessCollector.merge([str(path)], accumulate=False)  # type: ignore[no-untyped-call]
        made = sum(s.value for m in metrics for s in m.samples if s.name == "supportcue_suggestions_total")
        out[int(path.stem.split("_")[1])] = int(made)
    return out


def measure(
    cli: list[str],
    env: dict[str, str],
    auth: dict[str, str],
    workers: int,
    messages: list[str],
    args: argparse.Namespace,
) -> dict[str, float]:
    port, metrics = free_port(), Path(tempfile.mkdtemp(prefix="bench-workers-"))
    run_env = {**env, "PROMETHEUS_MULTIPROC_DIR": str(metrics)}
    server = subprocess.Popen(
        [*cli, "serve", "--port", str(port), "--workers", str(workers)], env=run_env, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        ready: dict[int, bool] = {}
        deadline = time.time() + 300
        while len(ready) < workers or not all(ready.values()):
            if server.poll() is not None or time.time() > deadline:
                raise SystemExit("`supportcue serve` did not become ready (see its output above)")
            try:
                r = httpx.get(f"{base}/readyz")
                ready[r.json()["pid"]] = r.status_code == 200
            except httpx.TransportError:
                time.sleep(0.3)
        for text in messages[:20]:  # warm up
            httpx.post(f"{base}/v1/suggest", json={"message": text}, headers=auth)
        throughput = concurrent_throughput(
            base, auth, messages, args.requests, args.clients, new_connections=True
        )
        counts = per_worker(metrics)
        memory = {pid: rss_mb(pid) for pid in ready}
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
    shares = ", ".join(f"{n}" for n in sorted(counts.values(), reverse=True))
    mem = ", ".join(f"{m:.0f}" for m in memory.values())
    print(
        f"--workers {workers}: {throughput:.1f} suggestions/s with {args.clients} clients "
        f"(answered per worker, warm-up included: {shares}; resident MB per worker: {mem})",
        flush=True,
    )
    return {"throughput": throughput}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workspace", type=Path, default=Path("pg-demo"))
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    if not os.environ.get("SUPPORTCUE_DATABASE_URL", "").startswith("postgresql"):
        raise SystemExit("set SUPPORTCUE_DATABASE_URL=postgresql://... (workers need PostgreSQL)")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "SUPPORTCUE_WORKSPACE": str(args.workspace)}
    env["SUPPORTCUE_SECURITY__RATE_PER_MINUTE"] = "0"  # measure capacity, not the limit
    cli = [sys.executable, "-m", "supportcue.cli"]
    if not (args.workspace / "supportcue.toml").exists():
        subprocess.run([*cli, "demo", "--no-serve", "--workspace", str(args.workspace)], env=env, check=True)
    key_name, auth = bench_key(cli, env)
    messages = [c.message for c in generate(7).cases if c.valid][:200]
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}", flush=True)
    try:
        results = [measure(cli, env, auth, int(n), messages, args) for n in args.workers.split(",")]
    finally:
        subprocess.run([*cli, "keys", "revoke", key_name], env=env, capture_output=True)
    first = results[0]["throughput"]
    print("throughput ratios to the first:", ", ".join(f"{r['throughput'] / first:.2f}x" for r in results))
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
