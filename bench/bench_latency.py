"""Latency and throughput of POST /v1/suggest over real HTTP, against the bare embedding cost.

    .venv/bin/python bench/bench_latency.py [--workspace W] [--requests 400] [--backend onnx] [--ids]

Builds the demo workspace if it is missing, starts `supportcue serve` in a subprocess, then measures in
one run: the bare single-message embedding time of the same model in this process, sequential request
latency (p50/p99), and throughput with 8 concurrent clients (each with its own keep-alive connection).
With `--ids`, the sequential run also times requests carrying a new `case_id`, a new `case_id`
with a `message_id` (what the console and the Chatwoot connector send: the stored-suggestion lookup
and the claim row that keeps one suggestion per message across workers), and the `case_id` of a
stored case (whose fields and customer name the server reads), interleaved with the bare ones.
It calls with an API key made for the run (revoked after) and turns the per-caller rate limit off, so
the figures are the server's capacity, authentication included.

The bare embedding is sentence-transformers' encode of one message (the target's yardstick), timed
alternately with the ONNX Runtime one; the server embeds with its workspace's `[embedding] backend`
unless `--backend` overrides it.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from supportcue.data.store import open_store
from supportcue.demo.generator import generate
from supportcue.embeddings import MiniLMEmbedder
from supportcue.onnx_embedder import OnnxMiniLMEmbedder
from supportcue.settings import load_settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def bench_key(cli: list[str], env: dict[str, str]) -> tuple[str, dict[str, str]]:
    """An integration key made for this run: its name (to revoke it after) and the auth header."""
    name = f"bench-{os.getpid()}"
    made = subprocess.run(
        [*cli, "keys", "create", "--name", name, "--role", "integration", "--json"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return name, {"authorization": "Bearer " + json.loads(made.stdout.strip().splitlines()[-1])["key"]}


def concurrent_throughput(
    base: str,
    headers: dict[str, str],
    messages: list[str],
    requests: int,
    clients: int,
    new_connections: bool = False,
) -> float:
    """Suggestions a second from `clients` threads, each sending `requests // clients` messages one
    after another; with `new_connections` each request opens its own connection (so the workers of
    `serve --workers N` share them), otherwise each thread keeps one."""
    done = [0]
    lock = threading.Lock()

    def worker(offset: int) -> None:
        with httpx.Client(base_url=base, headers=headers) as client:
            for i in range(requests // clients):
                body = {"message": messages[(offset * 31 + i) % len(messages)]}
                if new_connections:
                    r = httpx.post(f"{base}/v1/suggest", json=body, headers=headers, timeout=60)
                else:
                    r = client.post("/v1/suggest", json=body)
                assert r.status_code == 200, r.text
                with lock:
                    done[0] += 1

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return done[0] / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workspace", type=Path, default=Path("demo-workspace"))
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--backend", choices=["onnx", "torch"], help="the server's [embedding] backend")
    parser.add_argument(
        "--ids",
        action="store_true",
        help="also time requests with a case_id, with case_id + message_id, and with a stored case's id",
    )
    args = parser.parse_args()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "SUPPORTCUE_WORKSPACE": str(args.workspace)}
    if args.backend:
        env["SUPPORTCUE_EMBEDDING__BACKEND"] = args.backend
    cli = [sys.executable, "-m", "supportcue.cli"]
    if not (args.workspace / "supportcue.toml").exists():
        subprocess.run([*cli, "demo", "--no-serve", "--workspace", str(args.workspace)], env=env, check=True)
    messages = [c.message for c in generate(7).cases if c.valid][:200]
    key_name, auth = bench_key(cli, env)
    store = open_store(load_settings(args.workspace, environ=env).database_url)
    stored_cases = [c.id for c in store.cases.list(limit=max(1, args.requests // 2))]
    store.close()
    env["SUPPORTCUE_SECURITY__RATE_PER_MINUTE"] = "0"  # measure capacity, not the limit

    embedder, onnx = MiniLMEmbedder(device="cpu"), OnnxMiniLMEmbedder(device="cpu")
    embedder.embed(["warm up"])
    onnx.embed(["warm up"])
    bare, bare_onnx = [], []
    for text in messages[:200]:
        t0 = time.perf_counter()
        embedder.embed([text])
        t1 = time.perf_counter()
        onnx.embed([text])
        bare.append((t1 - t0) * 1000)
        bare_onnx.append((time.perf_counter() - t1) * 1000)

    port = free_port()
    server = subprocess.Popen([*cli, "serve", "--port", str(port)], env=env, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 180
        while True:
            try:
                if httpx.get(f"{base}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.3)
            if server.poll() is not None or time.time() > deadline:
                raise SystemExit("`supportcue serve` did not become ready (see its output above)")
        # a plain keep-alive http.client connection: the lightest client, so the figure is the server's
        conn = http.client.HTTPConnection("127.0.0.1", port)
        headers = {"content-type": "application/json", **auth}

        def post(text: str, **ids: str) -> float:
            body = {"message": text, "customer_name": "Ana", **ids}
            t0 = time.perf_counter()
            conn.request("POST", "/v1/suggest", json.dumps(body), headers)
            response = conn.getresponse()
            response.read()
            assert response.status == 200, response.status
            return (time.perf_counter() - t0) * 1000

        for text in messages[:20]:
            post(text)
        # interleaved, so a busy moment costs the three kinds alike: a bare message; one with a new
        # case_id (the experiment's arm is looked up and recorded); one with a new case_id and
        # message_id (also the stored-suggestion lookup and the claim row, inserted and deleted)
        seq, with_case, with_message, with_stored = [], [], [], []
        run = f"{os.getpid()}-{time.time_ns()}"
        for i in range(args.requests // 2):
            text = messages[i % len(messages)]
            seq.append(post(text))
            if args.ids:
                with_case.append(post(text, case_id=f"b{run}-{i}"))
                with_message.append(post(text, case_id=f"m{run}-{i}", message_id="1"))
                with_stored.append(post(text, case_id=stored_cases[i % len(stored_cases)]))
        conn.close()

        throughput = concurrent_throughput(base, auth, messages, args.requests, args.clients)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        subprocess.run([*cli, "keys", "revoke", key_name], env=env, capture_output=True)

    b50, b99 = statistics.median(bare), pct(bare, 0.99)
    s50, s99 = statistics.median(seq), pct(seq, 0.99)
    print(f"bare single-message embedding ({embedder.name}): p50 {b50:.2f} ms, p99 {b99:.2f} ms")
    print(f"  the same on ONNX Runtime fp32: p50 {statistics.median(bare_onnx):.2f} ms")
    print(f"server's embedding backend: {args.backend or 'the workspace setting'}")
    print(f"POST /v1/suggest over HTTP, sequential: p50 {s50:.2f} ms, p99 {s99:.2f} ms")
    print(
        f"ratios vs bare embedding p50: p50 {s50 / b50:.2f}x (target <= 1.5x), "
        f"p99 {s99 / b50:.2f}x (target <= 3x)"
    )
    print(
        f"throughput with {args.clients} concurrent clients: {throughput:.0f} suggestions/s (target >= 100)"
    )
    if args.ids:
        c50, m50 = statistics.median(with_case), statistics.median(with_message)
        print(f"  with a new case_id: p50 {c50:.2f} ms, p99 {pct(with_case, 0.99):.2f} ms")
        print(
            f"  with a new case_id and message_id: p50 {m50:.2f} ms, p99 {pct(with_message, 0.99):.2f} ms "
            f"(+{m50 - c50:.2f} ms p50: stored-suggestion lookup and claim row)"
        )
        print(
            f"  with a stored case's case_id: p50 {statistics.median(with_stored):.2f} ms, "
            f"p99 {pct(with_stored, 0.99):.2f} ms (its fields and customer name read)"
        )


if __name__ == "__main__":
    main()
