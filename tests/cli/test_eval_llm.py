"""`supportcue eval suggest --mode library|llm|hybrid`: the same files, the workspace's [llm] server
(a local chat-completions server over real HTTP here), the replies cached for a rerun."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from tests.cli.test_eval_settings import _write
from tests.llm.chat_server import Action, ChatServer, Reply
from typer.testing import CliRunner

from supportcue.cli import app
from supportcue.settings import init_workspace

N_TEST = 12


def quote_first_source(body: dict[str, Any], n: int) -> Action:
    """A faithful model: the first source of the prompt, cited."""
    user = body["messages"][-1]["content"]
    match = re.search(r"^\[([^\]\s]+)\] (.+)$", user, re.MULTILINE)
    return Reply(f"{match[2]} [{match[1]}]" if match else "CANNOT_ANSWER")


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    config = init_workspace(tmp_path / "ws")
    config.write_text(config.read_text().replace('model = "minilm"', 'model = "tfidf"'))
    monkeypatch.setenv("SUPPORTCUE_PIPELINE__TIMEOUT_MS", "20000")
    monkeypatch.setenv("SUPPORTCUE_LLM__API_KEY_ENV", "")
    return {
        "ws": tmp_path / "ws",
        "train": _write(tmp_path / "train.jsonl", range(12)),
        "test": _write(tmp_path / "test.jsonl", range(12, 16)),
    }


def run(files: dict[str, Path], mode: str) -> dict[str, Any]:
    args = ["--workspace", files["ws"], "eval", "suggest", "--train", files["train"], "--test", files["test"]]
    out = CliRunner().invoke(app, [str(a) for a in [*args, "--label-col", "label", "--mode", mode, "--json"]])
    assert out.exit_code == 0, out.output + repr(out.exception)
    result: dict[str, Any] = json.loads(out.output.splitlines()[-1])
    return result


def test_each_mode_on_the_same_files(workspace: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    with ChatServer(quote_first_source) as server:
        monkeypatch.setenv("SUPPORTCUE_LLM__BASE_URL", server.url)
        monkeypatch.setenv("SUPPORTCUE_LLM__MODEL", "scripted")
        library = run(workspace, "library")
        assert library["mode"] == "library" and library["llm_calls"] == 0 and not server.requests
        llm = run(workspace, "llm")
        assert llm["mode"] == "llm" and "draft:" in llm["pipeline"]
        assert llm["llm_calls"] == N_TEST == len(server.requests) and llm["drafts_shown"] == N_TEST
        assert llm["prompt_tokens"] == 120 * N_TEST and llm["match_rate"] == 1.0 and llm["coverage"] == 1.0
        again = run(workspace, "llm")  # the replies are cached in the workspace: no new calls
        assert again["match_rate"] == 1.0 and len(server.requests) == N_TEST
        assert again["llm_calls"] == 0 and again["llm_cached"] == N_TEST and again["prompt_tokens"] == 0
        assert llm["llm_cached"] == 0 and again["drafts_shown"] == N_TEST
        hybrid = run(workspace, "hybrid")  # the library answers qualify: no call
        assert hybrid["match_rate"] == library["match_rate"] and len(server.requests) == N_TEST


def test_a_mode_that_needs_a_model_says_which_setting(workspace: dict[str, Path]) -> None:
    args = ["--workspace", workspace["ws"], "eval", "suggest", "--train", workspace["train"]]
    out = CliRunner().invoke(app, [str(a) for a in [*args, "--test", workspace["test"], "--mode", "llm"]])
    assert out.exit_code != 0 and "llm.model" in str(out.exception) + out.output


def test_an_unknown_mode_is_refused(workspace: dict[str, Path]) -> None:
    args = ["--workspace", workspace["ws"], "eval", "suggest", "--train", workspace["train"]]
    out = CliRunner().invoke(app, [str(a) for a in [*args, "--test", workspace["test"], "--mode", "gpt"]])
    assert (
        out.exit_code != 0 and "--mode must be one of library, llm, hybrid" in str(out.exception) + out.output
    )
