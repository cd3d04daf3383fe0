"""The README's own example, `supportcue suggest "How can I pause my payouts?"`, run exactly as written
on a small workspace trained from the demo's answers and messages (three topics, about 200 cases, the
shipped MiniLM model), gives a suggestion, though the command names no customer (it once abstained:
`{customer_name}` could not be filled)."""

from __future__ import annotations

import csv
import json
import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from supportcue.cli import app
from supportcue.demo.catalog import body
from supportcue.demo.catalog_answers import APPROVED
from supportcue.demo.catalog_messages import MESSAGES
from supportcue.demo.catalog_replies import INVALID_MESSAGES

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
TOPICS = ("pausing_payouts", "payout_schedule", "refunds")
AROUND = [
    ("", ""),
    ("Hi, ", ""),
    ("Hello! ", " Thanks!"),
    ("Quick question: ", " Thank you."),
    ("", " Please help."),
]


def run(ws: Path, *args: str) -> str:
    result = CliRunner().invoke(app, ["--workspace", str(ws), *args], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output + str(result.exception)
    return result.output


def small_workspace(tmp_path: Path) -> Path:
    """The demo's library (answers open with "Hi {customer_name},") for three topics, and labeled
    cases from the demo's message templates with the replies sent, imported and trained as a user
    would."""
    ws = tmp_path / "ws"
    run(ws, "init", str(ws))
    with (tmp_path / "answers.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "topic", "title", "body", "status"])
        for topic in TOPICS:
            for i, spec in enumerate(APPROVED[topic]):
                writer.writerow([f"{topic}-{i}", topic, spec.title, body(spec), "approved"])
    rows: list[tuple[str, str, str, str]] = []  # message, the reply sent, task, value
    for topic in TOPICS:
        for templates, spec in zip(MESSAGES[topic], APPROVED[topic], strict=True):
            sent = body(spec).replace("{customer_name}", "Sam")
            for template in (t for t in templates if "{" not in t):
                rows += [(before + template + after, sent, "topic", topic) for before, after in AROUND]
    rows += [(text, "", "validity", "invalid") for texts in INVALID_MESSAGES.values() for text in texts]
    labels = []
    with (tmp_path / "cases.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "message", "created_at", "reply"])
        for n, (message, sent, task, value) in enumerate(rows):
            writer.writerow([f"c{n}", message, f"2026-09-{1 + n % 28:02d}T10:00:00Z", sent])
            labels.append({"case_id": f"c{n}", "task": task, "value": value, "source": "expert"})
            if task == "topic":
                labels.append({"case_id": f"c{n}", "task": "validity", "value": "valid", "source": "expert"})
    (tmp_path / "labels.jsonl").write_text("".join(json.dumps(label) + "\n" for label in labels))
    for kind, name in (("answers", "answers.csv"), ("cases", "cases.csv"), ("labels", "labels.jsonl")):
        run(ws, "import", kind, str(tmp_path / name))
    run(ws, "train")
    return ws


@pytest.mark.slow
def test_the_readme_suggest_example_gives_a_suggestion(tmp_path: Path) -> None:
    ws = small_workspace(tmp_path)
    line = next(ln for ln in README.splitlines() if ln.startswith("supportcue suggest "))
    args = shlex.split(line, comments=True)[1:]
    assert args == ["suggest", "How can I pause my payouts?"]
    result = CliRunner().invoke(app, args, env={"SUPPORTCUE_WORKSPACE": str(ws), "COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "no suggestion" not in result.output, result.output
    assert re.search(r"topic pausing_payouts \(\d\.\d\d\), answer pausing_payouts-0", result.output)
    assert "Hi there,\n\nTo pause payouts, go to Settings → Payouts → Payout schedule" in result.output
    assert "{" not in result.output.split("{", 1)[0] and "{customer_name}" not in result.output

    named = json.loads(
        run(ws, "suggest", "How can I pause my payouts?", "--customer-name", "Ana Lee", "--json")
    )
    assert named["text"].startswith("Hi Ana,\n\nTo pause payouts")
