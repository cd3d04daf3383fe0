"""A trained workspace (hashing embedder, two topics) made once per module and copied for each test,
and a history file to back-fill: `history.csv` with the ids `h000`... and one bad row on line 5."""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from supportcue.cli import app
from supportcue.settings import get_settings

TOPICS = {
    "refunds": ["refund for my order", "refund not received yet", "cancel a refund", "refund to the card"],
    "payouts": ["payout is late", "when is my payout", "payout schedule weekly", "payout did not arrive"],
}
LFS = """
from supportcue.weak import keyword_lf

refund_words = keyword_lf("refund_words", ["refund", "refunded"], "refunds")
payout_words = keyword_lf("payout_words", ["payout", "payouts"], "payouts")
"""
N_HISTORY = 60
BAD_LINE = 5


def run(ws: Path, *args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, ["--workspace", str(ws), *args], env={"COLUMNS": "200"})
    assert result.exit_code == code, result.output + str(result.exception)
    return result.output


def last_json(output: str) -> dict[str, object]:
    return dict(json.loads(output.strip().splitlines()[-1]))


@pytest.fixture(autouse=True)
def fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    get_settings.cache_clear()
    base = tmp_path_factory.mktemp("trained")
    ws = base / "ws"
    run(base, "init", str(ws))
    config = ws / "supportcue.toml"
    text = config.read_text().replace('model = "minilm"', 'model = "tfidf"')
    text = text.replace("min_score = 0.35", "min_score = 0.0").replace("margin = 0.05", "margin = 0.0")
    config.write_text(text.replace("labeling_functions = []", 'labeling_functions = ["lfs.py"]'))
    (ws / "lfs.py").write_text(LFS)
    rng = random.Random(1)
    lines = ["id,message,customer_name,created_at,reply"]
    labels = []
    for i in range(80):
        topic = list(TOPICS)[i % 2]
        lines.append(
            f"c{i:03d},{rng.choice(TOPICS[topic])} please {i},Ana,2026-09-{1 + i // 5:02d}T10:00:00Z,"
        )
        labels.append(json.dumps({"case_id": f"c{i:03d}", "task": "topic", "value": topic}))
        labels.append(json.dumps({"case_id": f"c{i:03d}", "task": "validity", "value": "valid"}))
    for i in range(16):
        lines.append(f"x{i:03d},{rng.choice(['hi', 'thanks!', 'ok'])},Ana,2026-09-{1 + i:02d}T11:00:00Z,")
        labels.append(json.dumps({"case_id": f"x{i:03d}", "task": "validity", "value": "invalid"}))
    (base / "cases.csv").write_text("\n".join(lines) + "\n")
    (base / "labels.jsonl").write_text("\n".join(labels) + "\n")
    (base / "answers.csv").write_text(
        "id,topic,title,body,status\n"
        "a-ref,refunds,Refunds,Hi {customer_name}! Refunds take 5-10 days.,approved\n"
        "a-pay,payouts,Payouts,Hi {customer_name}! Payouts arrive in 2 business days.,approved\n"
    )
    run(ws, "import", "cases", str(base / "cases.csv"))
    run(ws, "import", "labels", str(base / "labels.jsonl"))
    run(ws, "import", "answers", str(base / "answers.csv"))
    run(ws, "train")
    get_settings.cache_clear()
    return ws


def history_file(folder: Path, n: int = N_HISTORY) -> Path:
    """Historical cases with the agents' replies; line BAD_LINE has no message (rejected)."""
    rng = random.Random(2)
    lines = ["id,message,customer_name,reply"]
    for i in range(n):
        topic = list(TOPICS)[i % 2]
        lines.append(f"h{i:03d},{rng.choice(TOPICS[topic])} please {100 + i},Bo,We sorted your {topic}.")
    lines.insert(BAD_LINE - 1, "hbad,,Bo,")
    path = folder / "history.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def workspace(trained: Path, tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    shutil.copytree(trained, ws)
    return ws
