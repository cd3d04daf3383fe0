"""`supportcue eval` inside a workspace uses its settings; outside one, the documented defaults."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from supportcue.cli import app
from supportcue.embeddings import MiniLMEmbedder, SpellingEmbedder
from supportcue.onnx_embedder import OnnxMiniLMEmbedder
from supportcue.settings import init_workspace

PAIRS = {
    "payouts": ("when is my payout {}", "Payouts arrive within 2 business days of the request."),
    "refunds": ("where is my refund {}", "Refunds take 5 to 10 business days to reach the card."),
    "close": ("close my account {}", "Open Settings > Account and choose Close account."),
}


def _write(path: Path, numbers: range) -> Path:
    rows = [
        {"text": question.format(i), "reply": reply, "label": topic}
        for i in numbers
        for topic, (question, reply) in PAIRS.items()
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    return _write(tmp_path / "train.jsonl", range(12)), _write(tmp_path / "test.jsonl", range(12, 16))


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Records what the CLI hands to run_suggest (and runs it unless told not to)."""
    import supportcue.eval.suggest as module

    seen: dict[str, Any] = {"run": True}
    real = module.run_suggest

    def recording(*args: Any, **kwargs: Any) -> dict[str, Any]:
        seen.update(kwargs)
        return real(*args, **kwargs) if seen["run"] else {"match_rate": 0.0}

    monkeypatch.setattr(module, "run_suggest", recording)
    return seen


def _invoke(files: tuple[Path, Path], *app_options: str, tail: tuple[str, ...] = ()) -> Result:
    """`supportcue [app_options] eval suggest --train F --test F [tail]`."""
    train, test = files
    args = [*app_options, "eval", "suggest", "--train", str(train), "--test", str(test), *tail]
    return CliRunner().invoke(app, args)


def _eval(files: tuple[Path, Path], *app_options: str) -> dict[str, Any]:
    result = _invoke(files, *app_options, tail=("--label-col", "label", "--json"))
    assert result.exit_code == 0, result.output + str(result.exception)
    parsed: dict[str, Any] = json.loads(result.output.splitlines()[-1])
    return parsed


def test_eval_inside_a_workspace_uses_its_settings(
    tmp_path: Path, files: tuple[Path, Path], spy: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = tmp_path / "ws"
    config = init_workspace(ws)
    config.write_text(
        config.read_text()
        .replace('model = "minilm"', 'model = "tfidf"')
        .replace("threshold = 0.7 ", "threshold = 0.55")
        .replace("min_score = 0.35", "min_score = 0.2 ")
    )
    monkeypatch.delenv("SUPPORTCUE_WORKSPACE", raising=False)
    monkeypatch.chdir(ws)
    result = _eval(files)
    assert (spy["threshold"], spy["settings"].response.min_score) == (0.55, 0.2)
    assert spy["embedder"].name == "hashing-ngrams"
    assert result["threshold"] == 0.55 and result["workspace"] == str(ws.resolve())
    assert result["n_test"] == 12 and result["coverage"] > 0
    # a named workspace and the environment count too
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SUPPORTCUE_RESPONSE__MIN_SCORE", "0.3")
    from supportcue.settings import get_settings

    get_settings.cache_clear()
    assert _eval(files, "--workspace", str(ws))["threshold"] == 0.55
    assert spy["settings"].response.min_score == 0.3


def test_eval_outside_a_workspace_uses_the_defaults(
    tmp_path: Path, files: tuple[Path, Path], spy: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    spy["run"] = False  # the default embedder is the real model: check what eval would run with
    monkeypatch.delenv("SUPPORTCUE_WORKSPACE", raising=False)
    monkeypatch.chdir(tmp_path)
    result = _eval(files)
    assert (spy["threshold"], spy["settings"].response.min_score) == (0.7, 0.35)
    inner = getattr(spy["embedder"], "inner", spy["embedder"])
    assert isinstance(inner, SpellingEmbedder)  # the default: MiniLM reads misspelt words corrected
    inner = inner.inner
    assert isinstance(inner, OnnxMiniLMEmbedder) and inner.name == MiniLMEmbedder.name  # the default
    assert result["workspace"] is None
    assert spy["drafts"] == "consensus"  # the library's first answers are consensus drafts
    assert _invoke(files, tail=("--drafts", "replies")).exit_code == 0 and spy["drafts"] == "replies"


def test_eval_in_a_named_folder_that_is_no_workspace_says_so(
    tmp_path: Path, files: tuple[Path, Path]
) -> None:
    result = _invoke(files, "--workspace", str(tmp_path / "none"))
    assert result.exit_code != 0 and "not a supportcue workspace" in str(result.exception)
