"""The README's "Bring your own data" runs as written: its commands, read from the README and run in
a fresh folder with the example files, end in a suggestion served over HTTP.

A plain `supportcue ...` line runs in this process (Typer's runner, with the same arguments and
environment: the CLI's start-up is paid once, not a dozen times); a line that needs a shell (`$(...)`,
a pipe, `&`, a loop, curl) runs in bash, and `serve` in a process of its own. Only the port changes
(a free one instead of 8000), and `[pipeline] timeout_ms` is raised through the environment so
that a loaded test machine cannot turn a slow first request into an abstention: latency is
measured in bench/, not here.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from supportcue.cli import app
from supportcue.settings import get_settings

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
COMMAND_TIMEOUT = 600


def walkthrough() -> list[str]:
    """The first code block of the README's "Bring your own data" section, one command a line."""
    section = README.split("## Bring your own data", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"(?ms)^```\n(.*?)^```", section)
    assert block, "the section has no code block"
    return [line for line in block[1].splitlines() if line.strip()]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(line: str, env: dict[str, str], cwd: Path) -> str:
    if line.startswith("supportcue ") and not re.search(r"[|$&;<>`]", line):
        get_settings.cache_clear()  # as a new process would
        result = CliRunner().invoke(app, shlex.split(line)[1:], env=env)
        assert result.exit_code == 0, f"{line}\n{result.output[-3000:]}\n{result.exception!r}"
        return result.stdout
    done = subprocess.run(
        ["bash", "-c", line], env=env, cwd=cwd, capture_output=True, text=True, timeout=COMMAND_TIMEOUT
    )
    assert done.returncode == 0, (
        f"{line}\nexit {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    )
    return done.stdout


@pytest.fixture
def server() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_the_walkthrough_covers_init_to_a_served_suggestion() -> None:
    lines = walkthrough()
    assert lines[0].startswith("supportcue init ")
    for kind in ("answers", "articles", "cases", "labels", "events"):
        assert any(f"supportcue import {kind} docs/examples/" in line for line in lines), kind
    assert any(line.startswith("supportcue train") for line in lines)
    assert any("keys create" in line for line in lines)
    assert any(line.startswith("supportcue serve") for line in lines)
    assert "/v1/suggest" in lines[-1]


@pytest.mark.slow
def test_the_readme_commands_serve_a_suggestion(
    tmp_path: Path, server: list[subprocess.Popen[bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    shutil.copytree(ROOT / "docs" / "examples", tmp_path / "docs" / "examples")
    port = str(_free_port())
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "SUPPORTCUE_PIPELINE__TIMEOUT_MS": "120000",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }
    env.pop("SUPPORTCUE_WORKSPACE", None)
    env.pop("SUPPORTCUE_DATABASE_URL", None)
    outputs = []
    for line in walkthrough():
        line = line.replace("8000", port)
        command = re.sub(r"\s{2,}#\s.*$", "", line).strip()
        if command.startswith("export "):
            name = command.removeprefix("export ").split("=", 1)[0]
            env[name] = _run(f'{command}\nprintf %s "${name}"', env, tmp_path)
            assert env[name], f"{line}: {name} is empty"
        elif command.endswith("&"):
            server.append(subprocess.Popen(["bash", "-c", "exec " + command[:-1]], env=env, cwd=tmp_path))
        else:
            if server:
                assert server[0].poll() is None, "the server stopped"
            outputs.append(_run(command, env, tmp_path))
    assert "late_delivery" in outputs[-3], outputs[-3]  # `supportcue suggest` found the topic
    result = json.loads(outputs[-1])
    assert result["abstained_at"] is None, (result["reason"], result["trace"])
    assert result["topic"] == "late_delivery" and result["answer_id"] == "ans-late-box"
    assert result["text"].startswith("Hi Ana,") and "on its way" in result["text"]
    get_settings.cache_clear()
