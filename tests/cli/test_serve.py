"""`supportcue serve` on a network address: the address it binds to is answered, and on all addresses
it says how to allow the host names people use (instead of turning them away with no word)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from supportcue.cli.run_cmd import base_url, bound_hosts
from supportcue.service import create_app
from supportcue.settings import Settings, load_settings

DEFAULT = ["127.0.0.1", "localhost", "::1", "testserver"]


def test_a_specific_address_is_answered(tmp_path: Path) -> None:
    settings, hint = bound_hosts(Settings(), "192.168.1.5")
    assert settings.service.allowed_hosts == [*DEFAULT, "192.168.1.5"] and hint is None
    assert Settings().service.allowed_hosts == DEFAULT  # the settings given are left alone
    assert bound_hosts(Settings(), "[::1]")[0].service.allowed_hosts == DEFAULT
    (tmp_path / "supportcue.toml").write_text("")
    app = create_app(bound_hosts(load_settings(tmp_path, environ={}), "192.168.1.5")[0], load_models=False)
    with TestClient(app) as client:
        assert client.get("/healthz", headers={"host": "192.168.1.5:8000"}).status_code == 200
        assert client.get("/healthz", headers={"host": "192.168.1.6:8000"}).status_code == 400


def test_all_addresses_come_with_a_hint_unless_any_host_is_allowed() -> None:
    settings, hint = bound_hosts(Settings(), "0.0.0.0")
    assert settings.service.allowed_hosts == DEFAULT
    assert hint is not None and "SUPPORTCUE_SERVICE__ALLOWED_HOSTS=support.example.com" in hint
    anyone = Settings.model_validate({"service": {"allowed_hosts": ["*"]}})
    assert bound_hosts(anyone, "::") == (anyone, None)


def test_the_address_serve_prints_is_one_it_answers(tmp_path: Path) -> None:
    """On all addresses `serve` printed http://0.0.0.0:8000/..., whose host name it turns away (400)."""
    (tmp_path / "supportcue.toml").write_text("")
    plain = load_settings(tmp_path, environ={})
    named = load_settings(tmp_path, environ={"SUPPORTCUE_SERVICE__ALLOWED_HOSTS": "support.example.com"})
    cases = [(plain, "0.0.0.0"), (plain, "::"), (plain, "::1"), (plain, "192.168.1.5"), (named, "0.0.0.0")]
    for settings, host in cases:
        base = base_url(settings, host, 8000)
        app = create_app(bound_hosts(settings, host)[0], load_models=False)
        with TestClient(app, base_url=base) as client:
            assert client.get("/healthz").status_code == 200, (host, base)
    assert base_url(plain, "0.0.0.0", 8000) == "http://127.0.0.1:8000"
    assert base_url(plain, "::1", 8000) == "http://[::1]:8000"
    assert base_url(named, "0.0.0.0", 8000) == "http://support.example.com:8000"


def test_sighup_to_one_process_does_not_stop_it(tmp_path: Path) -> None:
    """SIGHUP replaces the workers of `serve --workers N`; to the one process of the default `serve`
    (no supervisor to start a replacement) it was death on the spot: requests under way cut off, the
    service down. It now keeps serving, and says that a restart reads supportcue.toml again."""
    import os
    import signal
    import socket
    import subprocess
    import sys
    import time

    import httpx

    from supportcue.settings import init_workspace

    root = Path(__file__).resolve().parents[2]
    init_workspace(tmp_path / "ws")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(root / "src"), "SUPPORTCUE_DATABASE_URL": ""}
    args = [sys.executable, "-m", "supportcue.cli", "-w", str(tmp_path / "ws"), "serve", "--port", str(port)]
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        served = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}/healthz"
        deadline = time.monotonic() + 120
        while True:
            assert served.poll() is None and time.monotonic() < deadline, log.read_text()
            try:
                if httpx.get(url, timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        served.send_signal(signal.SIGHUP)
        time.sleep(1.5)
        assert served.poll() is None, log.read_text()
        assert httpx.get(url, timeout=5).status_code == 200
        assert "SIGHUP" in log.read_text() and "restart" in log.read_text()
    finally:
        served.terminate()
        served.wait(timeout=60)
