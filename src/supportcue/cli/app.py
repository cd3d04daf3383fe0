"""The root of the `supportcue` command: workspace and export; import and the other groups register here."""

from __future__ import annotations

import inspect
import shlex
from pathlib import Path
from typing import Annotated

import typer

from supportcue.cli.context import install, state
from supportcue.cli.eval_cmd import eval_app

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
    from supportcue.cli.context import database_named, open_workspace_store
    from supportcue.settings import init_workspace, load_settings

    config = init_workspace(directory)
    # read afresh, not through the cached get_settings: the new file is about to be edited
    settings = load_settings(directory)
    open_workspace_store(settings).close()
    typer.echo(f"workspace ready: {config}")
    # which database got the tables: SUPPORTCUE_DATABASE_URL, set or left over in the shell, wins
    # over the file, and nothing else said which one was used
    typer.echo(f"database: {database_named(settings)}, its tables up to date")
    folder = shlex.quote(str(directory))
    typer.echo(
        f"next: export SUPPORTCUE_WORKSPACE={folder}; import your answers, cases and labels "
        '(`supportcue import KIND FILE`, README "Bring your own data"), then `supportcue train`'
    )


@app.command("export")
def export(
    ctx: typer.Context,
    table: Annotated[str, typer.Argument(help="a table name, e.g. cases, labels, suggestions")],
    file: Annotated[Path, typer.Argument(help=".csv or .jsonl file to write")],
) -> None:
    """Write a table to .csv or .jsonl (never a password, key or session hash)."""
    from supportcue.data.exporter import SECRET_COLUMNS, export_table

    n = export_table(state(ctx).store, table, file)
    withheld = SECRET_COLUMNS.get(table)
    note = f" (without {', '.join(withheld)}: secrets stay in the database)" if withheld else ""
    typer.echo(f"wrote {n:,} rows to {file}{note}")


def _register() -> None:
    from supportcue.cli import (
        batch_cmd,
        drift_cmd,
        experiment_cmd,
        import_cmd,
        models_cmd,
        review_cmd,
        run_cmd,
        security_cmd,
        topics_cmd,
        weak_cmd,
    )

    batch_cmd.register(app)
    drift_cmd.register(app)

    experiment_cmd.register(app)
    import_cmd.register(app)
    models_cmd.register(app)
    review_cmd.register(app)
    run_cmd.register(app)
    security_cmd.register(app)
    topics_cmd.register(app)
    weak_cmd.register(app)


def _one_line_summaries(typer_app: typer.Typer) -> None:
    """Give each command its docstring's first paragraph as one line for the command lists
    (`supportcue --help`, `supportcue batch --help`): in rich mode Typer keeps a docstring's line
    breaks there, which broke the lists' sentences mid-line. The command's own --help is unchanged."""
    for command in typer_app.registered_commands:
        doc = command.help or (command.callback.__doc__ if command.callback else None)
        if command.short_help is None and doc:
            command.short_help = " ".join(inspect.cleandoc(doc).split("\n\n")[0].split())
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            _one_line_summaries(group.typer_instance)


_register()
_one_line_summaries(app)


def main() -> None:
    """Entry point: an error prints a short message, never a traceback (see `cli/errors.py`)."""
    from supportcue.cli.errors import run

    run(app)
