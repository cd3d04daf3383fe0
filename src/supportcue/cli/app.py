"""The root of the `supportcue` command: workspace, import and export; other groups register here."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn

from supportcue.cli.context import install, state
from supportcue.cli.eval_cmd import eval_app
from supportcue.cli.output import emit, err_console
from supportcue.errors import SupportcueError

app = typer.Typer(
    name="supportcue",
    help="Reply suggestions for support agents, and the monitoring that shows whether they are used.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(eval_app, name="eval")


@app.callback()
def root(
    ctx: typer.Context,
    workspace: Annotated[
        Path | None,
        typer.Option("--workspace", "-w", envvar="SUPPORTCUE_WORKSPACE", help="the workspace folder"),
    ] = None,
) -> None:
    """supportcue: suggest replies, measure their use, keep the answer library and labels fresh."""
    from supportcue.security.redaction import install_log_redaction

    install_log_redaction()
    install(ctx, workspace)


@app.command()
def init(directory: Annotated[Path, typer.Argument(help="folder to create")]) -> None:
    """Create a workspace: supportcue.toml with documented defaults, the database, models/."""
    from supportcue.data.store import open_store
    from supportcue.settings import init_workspace, load_settings

    config = init_workspace(directory)
    # read afresh, not through the cached get_settings: the new file is about to be edited
    open_store(load_settings(directory).database_url).close()
    typer.echo(f"workspace ready: {config}")


def _parse_map(items: list[str]) -> dict[str, str]:
    mapping = {}
    for item in items:
        if "=" not in item:
            raise typer.BadParameter(f"{item!r}: use FIELD=COLUMN, e.g. text=body", param_hint="--map")
        name, column = item.split("=", 1)
        mapping[name.strip()] = column.strip()
    return mapping


def _columns_help() -> str:
    """The columns each kind takes (`*` = required), from the importer's row models."""
    from supportcue.data.importer import MODELS

    lines = ["Columns (csv header or jsonl keys; * = required):"]
    for kind, model in MODELS.items():
        names = [("*" if f.is_required() else "") + name for name, f in model.model_fields.items()]
        lines.append(f"{kind}: {' '.join(names)}")
    return "\n\n".join(lines)


@app.command("import", epilog=_columns_help())
def import_(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(help="cases | events | labels | answers | articles")],
    file: Annotated[Path, typer.Argument(help=".csv or .jsonl file")],
    map_: Annotated[list[str], typer.Option("--map", help="FIELD=COLUMN, repeatable")] = [],  # noqa: B006
    strict: Annotated[bool, typer.Option(help="commit nothing if any row is bad")] = False,
    json_out: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Import rows; bad rows are reported with file and line and written to FILE.rejects.jsonl."""
    from supportcue.data.importer import KINDS, import_file

    if kind not in KINDS:
        raise typer.BadParameter(f"{kind!r}; allowed: {', '.join(KINDS)}", param_hint="KIND")
    store = state(ctx).store
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), transient=True, disable=json_out) as bar:
        task = bar.add_task(f"importing {file}")
        report = import_file(
            store,
            kind,
            file,
            _parse_map(map_),
            strict=strict,
            progress=lambda n: bar.update(task, description=f"importing {file}: {n:,} rows read"),
        )
    for r in report.rejects[:20]:
        err_console.print(f"{file}:{r.line}: {r.reason}", highlight=False, markup=False, soft_wrap=True)
    if len(report.rejects) > 20:
        err_console.print(f"... and {len(report.rejects) - 20} more rejected rows")
    if strict and report.rejects:
        err_console.print(f"--strict: nothing imported, {len(report.rejects)} bad row(s)")
    emit(report.as_dict(), json_out, title=f"import {kind}")
    if strict and report.rejects:
        raise typer.Exit(1)


@app.command("export")
def export(
    ctx: typer.Context,
    table: Annotated[str, typer.Argument(help="a table name, e.g. cases, labels, suggestions")],
    file: Annotated[Path, typer.Argument(help=".csv or .jsonl file to write")],
) -> None:
    """Write a table to .csv or .jsonl."""
    from supportcue.data.exporter import export_table

    n = export_table(state(ctx).store, table, file)
    typer.echo(f"wrote {n:,} rows to {file}")


def _register() -> None:
    from supportcue.cli import experiment_cmd, models_cmd, run_cmd, security_cmd, weak_cmd

    experiment_cmd.register(app)
    models_cmd.register(app)
    run_cmd.register(app)
    security_cmd.register(app)
    weak_cmd.register(app)


_register()


def main() -> None:
    """Entry point: user-fixable errors print one clear line and exit 2, never a traceback."""
    try:
        app()
    except SupportcueError as exc:
        from supportcue.security.redaction import redact

        err_console.print(f"error: {redact(str(exc))}", highlight=False, markup=False, soft_wrap=True)
        sys.exit(2)
