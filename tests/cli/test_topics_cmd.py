"""`supportcue topics list|merge|rename`: a topic made by a typo in an import ("refnd") is folded into
the right one, its labels, answers and articles with it, on both databases."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from supportcue.cli import app
from supportcue.data.store import open_store
from supportcue.errors import TopicError
from supportcue.settings import init_workspace

Workspace = tuple[Path, dict[str, str]]


@pytest.fixture
def workspace(tmp_path: Path, database_url: str) -> Workspace:
    init_workspace(tmp_path)
    store = open_store(database_url)
    store.cases.upsert([{"id": f"c{i}", "message": f"refund please {i}"} for i in range(6)])
    labels = [
        {"case_id": f"c{i}", "task": "topic", "value": "refunds", "source": "expert", "annotator": "e1"}
        for i in range(3)
    ]
    labels += [
        {"case_id": f"c{i}", "task": "topic", "value": "refnd", "source": "expert", "annotator": "e1"}
        for i in (3, 4)
    ]
    labels.append({"case_id": "c5", "task": "topic", "value": "refnd", "source": "weak", "annotator": "lf"})
    store.labels.add(labels)
    store.library.ensure_topics(["refunds", "refnd"])
    store.library.upsert_answers(
        [
            {"id": "a-ref", "topic": "refunds", "title": "Refunds", "body": "5 days.", "status": "approved"},
            {"id": "a-typo", "topic": "refnd", "title": "Refund", "body": "Soon.", "status": "approved"},
        ]
    )
    store.library.upsert_articles([{"id": "k1", "title": "K", "body": "text", "topic": "refnd"}])
    store.close()
    return tmp_path, {"SUPPORTCUE_DATABASE_URL": database_url}


def run(ws: Workspace, *args: str) -> Result:
    folder, env = ws
    return CliRunner().invoke(app, ["--workspace", str(folder), *args], env={**env, "COLUMNS": "200"})


def last_json(result: Result) -> Any:
    assert result.exit_code == 0, result.output + repr(result.exception)
    return json.loads(result.stdout.strip().splitlines()[-1])


def _topic_labels(ws: Workspace) -> dict[str, int]:
    store = open_store(ws[1]["SUPPORTCUE_DATABASE_URL"])
    try:
        out: dict[str, int] = {}
        for label in store.labels.list(task="topic"):
            out[label.value] = out.get(label.value, 0) + 1
        return out
    finally:
        store.close()


def test_list_shows_each_topic_with_what_uses_it(workspace: Workspace) -> None:
    rows = {r["key"]: r for r in last_json(run(workspace, "topics", "list", "--json"))["topics"]}
    assert (rows["refnd"]["labels"], rows["refnd"]["answers"], rows["refnd"]["articles"]) == (3, 1, 1)
    assert (rows["refunds"]["labels"], rows["refunds"]["answers"]) == (3, 1)
    text = run(workspace, "topics", "list")
    assert text.exit_code == 0 and "refnd" in text.stdout


def test_merge_folds_a_typo_topic_into_the_right_one(workspace: Workspace) -> None:
    dry = last_json(run(workspace, "topics", "merge", "refnd", "refunds", "--dry-run", "--json"))
    assert (dry["labels"], dry["answers"], dry["articles"], dry["dry_run"]) == (3, 1, 1, True)
    assert _topic_labels(workspace) == {"refunds": 3, "refnd": 3}  # a dry run changes nothing

    done = last_json(run(workspace, "topics", "merge", "refnd", "refunds", "--json"))
    assert (done["from"], done["into"], done["labels"], done["answers"], done["articles"]) == (
        "refnd",
        "refunds",
        3,
        1,
        1,
    )
    assert _topic_labels(workspace) == {"refunds": 6}
    store = open_store(workspace[1]["SUPPORTCUE_DATABASE_URL"])
    try:
        assert [t.key for t in store.library.topics()] == ["refunds"]
        answer = next(a for a in store.library.answers() if a.id == "a-typo")
        assert (answer.topic, answer.version, answer.status) == ("refunds", 2, "approved")
        newest, first = store.library.versions("a-typo")
        assert (first.topic, newest.topic) == ("refnd", "refunds")  # the history is kept
        assert "merged" in (newest.note or "") and newest.body == first.body
        assert [a.topic for a in store.library.articles()] == ["refunds"]
    finally:
        store.close()
    again = run(workspace, "topics", "merge", "refnd", "refunds")
    assert isinstance(again.exception, TopicError) and "no topic 'refnd'" in str(again.exception)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["merge", "refnd", "refund"], "no topic 'refund' to merge into"),
        (["merge", "nope", "refunds"], "no topic 'nope'"),
        (["merge", "refunds", "refunds"], "into itself"),
        (["rename", "refnd", "refunds"], "'refunds' is a topic already"),
        (["rename", "refnd", " "], "a topic key"),
    ],
)
def test_mistakes_are_clear_errors_that_change_nothing(
    workspace: Workspace, args: list[str], says: str
) -> None:
    out = run(workspace, "topics", *args)
    assert isinstance(out.exception, TopicError), out.output
    assert says in str(out.exception)
    assert _topic_labels(workspace) == {"refunds": 3, "refnd": 3}


def test_rename_gives_a_topic_a_new_key(workspace: Workspace) -> None:
    done = last_json(run(workspace, "topics", "rename", "refnd", "refund_request", "--json"))
    assert (done["into"], done["labels"], done["answers"]) == ("refund_request", 3, 1)
    assert _topic_labels(workspace) == {"refunds": 3, "refund_request": 3}
    store = open_store(workspace[1]["SUPPORTCUE_DATABASE_URL"])
    try:
        assert [t.key for t in store.library.topics()] == ["refund_request", "refunds"]
    finally:
        store.close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_topics_list_prints_a_key_with_brackets_as_it_is(workspace: Workspace) -> None:
    """A topic key is free text from an import: "[/]refunds" stopped `topics list` with rich's
    MarkupError, and "[b]x" would have printed as a bold "x"."""
    store = open_store(workspace[1]["SUPPORTCUE_DATABASE_URL"])
    store.library.ensure_topics(["[/]refunds", "[b]x"])
    store.close()
    listed = run(workspace, "topics", "list")
    assert listed.exit_code == 0, listed.output + repr(listed.exception)
    assert "[/]refunds" in listed.stdout and "[b]x" in listed.stdout


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_command_an_error_suggests_runs_as_written_in_a_shell(workspace: Workspace) -> None:
    """The commands an error suggests put the keys in as they are: a key imported as free text
    ("refnd $(touch pwned)", "my refunds") gave a line that, pasted into a shell, ran what the key
    held, or split it in two. Each key is quoted for the shell now."""
    import shlex

    odd = "refnd $(touch pwned)"
    store = open_store(workspace[1]["SUPPORTCUE_DATABASE_URL"])
    store.library.ensure_topics([odd])
    store.close()
    renamed = run(workspace, "topics", "rename", odd, "refunds")
    assert isinstance(renamed.exception, TopicError)
    command = str(renamed.exception).split("`")[1]
    assert shlex.split(command) == ["supportcue", "topics", "merge", odd, "refunds"], command
    merged = run(workspace, "topics", "merge", odd, "my refunds")
    assert isinstance(merged.exception, TopicError)
    command = str(merged.exception).split("`")[1]
    assert shlex.split(command) == ["supportcue", "topics", "rename", odd, "my refunds"], command
