"""`supportcue import KIND FILE`, and its help: `import KIND --help` lists that kind's columns.

The help is generated from the importer's column definitions (`data/columns.py`), the same ones
that validate the rows, so it cannot disagree with what the importer accepts.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn
from typer.core import TyperCommand

from supportcue.cli.context import state
from supportcue.cli.output import emit, err_console, say, warn
from supportcue.data.columns import KINDS, MODELS, columns

if TYPE_CHECKING:
    from collections.abc import Sequence

    from supportcue.data.importer import ImportReport, Reject

SHOWN_REJECTS = 20
CASE_FIELDS_NOTE = "Any other column becomes a case field that fills answer placeholders such as {order_id}."


def overview() -> str:
    """Every kind's columns on one line each (`*` = required)."""
    lines = [
        f"{kind}: " + " ".join(("*" if c.required else "") + c.name for c in columns(kind)) for kind in KINDS
    ]
    return "\n".join(lines)


def kind_help(kind: str) -> list[tuple[str, str]]:
    """`(column, what it takes)` rows for `import KIND --help`."""
    rows = []
    for c in columns(kind):
        note = c.values + (f"; default: {c.default}" if c.default else "")
        rows.append((("*" if c.required else "") + c.name, f"{c.doc[0].upper()}{c.doc[1:]}. [{note}]"))
    return rows


def example(kind: str) -> tuple[str, str]:
    """The kind's example row as a CSV file (header and row) and as a JSONL line."""
    row = MODELS[kind].example
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([list(row), list(row.values())])
    return out.getvalue().rstrip("\n"), json.dumps(row, ensure_ascii=False)


class ImportCommand(TyperCommand):
    """Typer's command, with help that follows the KIND given before `--help`.

    (`ctx` and `formatter` are typed `Any`: Typer's click is vendored, and its types are private.)"""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        ctx.meta["import_kind"] = next((a for a in args if a in KINDS), None)
        return super().parse_args(ctx, args)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        super().format_help(ctx, formatter)  # Typer prints its own panels; ours follow
        kind = ctx.meta.get("import_kind")
        if kind is None:
            with formatter.section("Columns of each kind (csv header or jsonl keys; * = required)"):
                formatter.write_text("\b\n" + overview())
            formatter.write_paragraph()
            formatter.write_text("`supportcue import KIND --help` describes each column, with an example.")
            return
        with formatter.section(f"Columns of {kind} (csv header or jsonl keys; * = required)"):
            formatter.write_dl(kind_help(kind))
            if kind == "cases":
                formatter.write_paragraph()
                formatter.write_text(CASE_FIELDS_NOTE)
        as_csv, as_jsonl = example(kind)
        with formatter.section("Example (.csv)"):
            formatter.write_text("\b\n" + as_csv)
        with formatter.section("Example (.jsonl)"):
            formatter.write_text("\b\n" + as_jsonl)


def _pairs(kind: str, items: list[str], option: str, example_: str) -> dict[str, str]:
    """`FIELD=VALUE` items as a dict; a usage error for an item without `=` or a FIELD that `kind`
    cannot take (the error lists the fields it can)."""
    from supportcue.data.importer import field_problem

    pairs = {}
    for item in items:
        if "=" not in item:
            raise typer.BadParameter(f"{item!r}: use {example_}", param_hint=option)
        name, value = item.split("=", 1)
        problem = field_problem(kind, name.strip())
        if problem:
            raise typer.BadParameter(f"{item!r}: {problem}", param_hint=option)
        pairs[name.strip()] = value.strip()
    return pairs


def import_(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(help=" | ".join(KINDS))],
    file: Annotated[Path, typer.Argument(help=".csv or .jsonl file")],
    map_: Annotated[
        list[str], typer.Option("--map", help="FIELD=COLUMN: read FIELD from COLUMN; repeatable")
    ] = [],  # noqa: B006
    set_: Annotated[
        list[str], typer.Option("--set", help="FIELD=VALUE: every row gets VALUE; repeatable")
    ] = [],  # noqa: B006
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="validate and report; write nothing (no rejects file)")
    ] = False,
    encoding: Annotated[
        str, typer.Option(help="the file's text encoding, e.g. utf-16, cp1252 (a UTF-8 BOM is fine)")
    ] = "utf-8",
    strict: Annotated[bool, typer.Option(help="commit nothing if any row is bad")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="one JSON object (the last line)")] = False,
) -> None:
    """Import rows; bad rows are reported with file and line and written to FILE.rejects.jsonl.

    `supportcue import KIND --help` lists the columns of KIND. A file of only bad rows exits 1."""
    from supportcue.data.importer import import_file

    if kind not in KINDS:
        raise typer.BadParameter(f"{kind!r}; allowed: {', '.join(KINDS)}", param_hint="KIND")
    mapping = _pairs(kind, map_, "--map", "FIELD=COLUMN, e.g. message=body")
    constants = _pairs(kind, set_, "--set", "FIELD=VALUE, e.g. status=approved")
    store = state(ctx).store
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), transient=True, disable=json_out) as bar:
        task = bar.add_task(f"importing {file}")
        report = import_file(
            store,
            kind,
            file,
            mapping,
            strict=strict,
            progress=lambda n: bar.update(task, description=f"importing {file}: {n:,} rows read"),
            constants=constants,
            dry_run=dry_run,
            encoding=encoding,
            sme_label_days=state(ctx).settings.review.label_days,
        )
    _say(file, report)
    if kind == "articles" and report.stored and not dry_run and state(ctx).settings.uses_llm:
        _embed_articles(ctx, json_out)
    title = f"import {kind}" + (" (dry run: nothing written)" if dry_run else "")
    result = report.as_dict()
    emit(result if json_out else {k: v for k, v in result.items() if k != "warnings"}, json_out, title=title)
    if (strict and report.rejects) or (report.read and not report.valid):
        raise typer.Exit(1)


def _embed_articles(ctx: typer.Context, quiet: bool) -> None:
    """With an LLM mode on, embed the articles' passages now (into the workspace's embedding cache),
    so that serving finds their vectors ready."""
    from supportcue.providers import warm_articles
    from supportcue.training.loader import workspace_embedder

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), transient=True, disable=quiet) as bar:
        bar.add_task("embedding the articles' passages (the LLM modes' sources)")
        warm_articles(state(ctx).store, workspace_embedder(state(ctx).settings))


def say_rejects(file: Path, rejects: Sequence[Reject], total: int) -> None:
    """The first rejected rows on stderr (file, line and reason only), and how many more there were."""
    for r in rejects[:SHOWN_REJECTS]:
        say(f"{file}:{r.line}: {r.reason}", err_console)
    if total > SHOWN_REJECTS:
        err_console.print(f"... and {total - SHOWN_REJECTS} more rejected rows")


def _say(file: Path, report: ImportReport) -> None:
    """Rejects (position and reason only), warnings, and why nothing was imported."""
    say_rejects(file, report.rejects, len(report.rejects))
    for warning in report.warnings:
        warn(warning)
    if report.read and not report.valid:
        err_console.print(f"every row of {file} was rejected: nothing imported", highlight=False)
    elif report.rejects and not report.committed and not report.dry_run:
        err_console.print(f"--strict: nothing imported, {len(report.rejects)} bad row(s)")


def register(app: typer.Typer) -> None:
    app.command("import", cls=ImportCommand)(import_)
