"""`supportcue topics list|merge|rename`: the workspace's topics, and folding a mistaken one (a typo
in an import, "refnd") into the right one.

A topic key lives in the topic labels (every source), the answers and the articles, and the `topics`
table names it; a merge moves all of them in one transaction (each moved answer gets a new version,
the old one kept), removes the old topic and says what to train again: the live topic model still
knows the old key until `supportcue train --stage topic`. Past suggestions keep the topic they were
made with (what an agent was shown).
"""

from __future__ import annotations

import json
import re
import shlex
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from supportcue.cli.context import state
from supportcue.cli.output import console, warn
from supportcue.data.store import Store
from supportcue.errors import TopicError

topics_app = typer.Typer(
    help="Topics: list them with what uses them; merge or rename a mistaken one.", no_args_is_help=True
)
JsonOption = Annotated[bool, typer.Option("--json", help="one JSON object (the last line)")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="say what would move; change nothing")]
KEY = re.compile(r"\S(.*\S)?")
EDITOR = "cli:topics"


@topics_app.command("list")
def list_(ctx: typer.Context, json_out: JsonOption = False) -> None:
    """Every topic key, with its topic labels, answers and articles (a typo shows as a key few use)."""
    usage = state(ctx).store.library.topic_usage()
    if json_out:
        print(json.dumps({"topics": [{"key": k, **v} for k, v in usage.items()]}))
        return
    table = Table(title="topics")
    for column in ("topic", "labels", "answers", "articles"):
        table.add_column(column, justify="left" if column == "topic" else "right")
    for key, v in usage.items():  # the key as Text, not markup: an imported key may hold "[/]"
        table.add_row(Text(key), f"{v['labels']:,}", f"{v['answers']:,}", f"{v['articles']:,}")
    console.print(table)


@topics_app.command("merge")
def merge(
    ctx: typer.Context,
    old: Annotated[str, typer.Argument(help="the topic to fold in and remove, e.g. refnd")],
    into: Annotated[str, typer.Argument(help="the topic that takes its labels, answers and articles")],
    dry_run: DryRun = False,
    json_out: JsonOption = False,
) -> None:
    """Move a topic's labels, answers (a new version each) and articles to another topic; remove it."""
    _move(ctx, old, into, rename=False, dry_run=dry_run, json_out=json_out)


@topics_app.command("rename")
def rename(
    ctx: typer.Context,
    old: Annotated[str, typer.Argument(help="the topic's key now")],
    new: Annotated[str, typer.Argument(help="its new key (not a topic yet)")],
    dry_run: DryRun = False,
    json_out: JsonOption = False,
) -> None:
    """Give a topic a new key: its labels, answers (a new version each) and articles follow."""
    _move(ctx, old, new, rename=True, dry_run=dry_run, json_out=json_out)


def _move(ctx: typer.Context, old: str, into: str, *, rename: bool, dry_run: bool, json_out: bool) -> None:
    store = state(ctx).store
    _check(store, old, into, rename)
    verb = "renamed" if rename else "merged"
    note = f"topic {old!r} {verb} into {into!r} (supportcue topics {'rename' if rename else 'merge'})"
    moved = store.library.merge_topic(old, into, EDITOR, note, dry_run=dry_run)
    result: dict[str, Any] = {"from": old, "into": into, **moved, "dry_run": dry_run}
    live = store.models.live("topic")
    stale = live is not None and old in (live.metrics.get("classes") or {})
    result["retrain"] = stale and not dry_run
    if json_out:
        print(json.dumps(result))
        return
    what = f"{moved['labels']:,} topic labels, {moved['answers']:,} answers, {moved['articles']:,} articles"
    if dry_run:
        console.print(
            f"would move {what} from {old!r} to {into!r} (a dry run: nothing changed)", markup=False
        )
        return
    console.print(f"topic {old!r} {verb} into {into!r}: moved {what}", markup=False, highlight=False)
    if stale and live is not None:
        warn(
            f"the live topic model ({live.version}) still predicts {old!r}: train it again "
            "(`supportcue train --stage topic`)"
        )


def _check(store: Store, old: str, into: str, rename: bool) -> None:
    """A `TopicError` naming what is wrong: an unknown `old`, a merge into an unknown topic (a second
    typo), a rename onto a topic that exists (a merge), a key of blanks."""
    usage = store.library.topic_usage()
    known = ", ".join(list(usage)[:20]) or "none yet"
    if not KEY.fullmatch(into) or len(into) > 100:
        raise TopicError(
            f"{into[:120]!r} is not a topic key: give 1-100 characters, not starting or ending in a blank"
        )
    if old not in usage:
        raise TopicError(f"no topic {old[:120]!r} (topics: {known})")
    if old == into:
        raise TopicError(f"topic {old!r} cannot be merged into itself")
    # the keys quoted for a shell: an imported key may hold "$(...)" or blanks
    keys = f"{shlex.quote(old)} {shlex.quote(into)}"
    if rename and into in usage:
        raise TopicError(
            f"{into!r} is a topic already: to fold {old!r} into it, `supportcue topics merge {keys}`"
        )
    if not rename and into not in usage:
        raise TopicError(
            f"no topic {into[:120]!r} to merge into (topics: {known}); to give {old!r} a new key, "
            f"`supportcue topics rename {keys}`"
        )


def register(app: typer.Typer) -> None:
    app.add_typer(topics_app, name="topics")
