"""End to end, as a user would: `supportcue demo --no-serve` builds and trains the demo workspace, then
`supportcue serve` answers suggestions over HTTP with the real embedding model, to a caller with a key."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

CLI = [sys.executable, "-m", "supportcue.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.mark.slow
def test_demo_builds_trains_and_serves(tmp_path: Path) -> None:
    ws = tmp_path / "demo"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "SUPPORTCUE_WORKSPACE": str(ws)}
    built = subprocess.run(
        [*CLI, "demo", "--no-serve", "--workspace", str(ws)], env=env, capture_output=True, text=True
    )
    assert built.returncode == 0, built.stderr
    assert "3,200 cases" in built.stdout
    assert re.search(r"admin\s+name admin\s+password \S{12,}", built.stdout), built.stdout
    assert re.search(r"agent\s+name agent\s+password \S{12,}", built.stdout)
    made = subprocess.run(
        [*CLI, "keys", "create", "--name", "e2e", "--role", "integration", "--json"],
        env=env,
        capture_output=True,
        text=True,
    )
    key = json.loads(made.stdout.strip().splitlines()[-1])["key"]
    auth = {"authorization": f"Bearer {key}"}
    models = subprocess.run([*CLI, "models", "--json"], env=env, capture_output=True, text=True)
    live = {m["stage"] for m in json.loads(models.stdout) if m["status"] == "live"}
    assert live == {"validation", "topic", "response"}
    # the demo's simulated experts reviewed the queue: an online precision estimate with its interval
    stats = subprocess.run([*CLI, "review", "stats", "--json"], env=env, capture_output=True, text=True)
    review = json.loads(stats.stdout)
    assert review["n_random"] >= 10 and 0 < review["ci_low"] < review["online_precision"] < review["ci_high"]
    assert review["alpha"] is not None and review["alpha"] > 0.5

    port = free_port()
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(
        [*CLI, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while True:
            try:
                if httpx.get(f"{base}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, (tmp_path / "serve.log").read_text()
            assert time.time() < deadline, "the service did not become ready"
            time.sleep(0.5)
        assert httpx.post(f"{base}/v1/suggest", json={"message": "hi"}).status_code == 401
        r = httpx.post(
            f"{base}/v1/suggest",
            json={"message": "How can I pause my payouts?", "customer_name": "Ana"},
            headers=auth,
        )
        assert r.status_code == 200
        d = r.json()
        assert d["topic"] == "pausing_payouts" and d["text"] and "Ana" in d["text"]
        assert "{" not in d["text"]  # no unfilled placeholder reaches an agent
        hello = httpx.post(f"{base}/v1/suggest", json={"message": "hi"}, headers=auth).json()
        assert hello["text"] is None and hello["abstained_at"] == "validation"
        assert httpx.get(f"{base}/docs", headers=auth).status_code == 200
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        log.close()
