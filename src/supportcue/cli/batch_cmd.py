"""`supportcue batch suggest|embed|label FILE`: back-fills over historical cases (see `batch/`)."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from supportcue.cli.context import state
from supportcue.cli.import_cmd import _pairs, say_rejects
from supportcue.cli.output import emit, err_console, warn
from supportcue.vocab import LabelTask

batch_app = typer.Typer(
    help="Back-fills over a cases file (the import's columns), in this process or on Ray "
    "(--ray-address): suggestions, embeddings, weak labels.",
    no_args_is_help=True,
)

File = Annotated[Path, typer.Argument(help="a cases file, .csv or .jsonl (`supportcue import cases --help`)")]
RayAddress = Annotated[
    str | None,
    typer.Option(
        "--ray-address",
        envvar="SUPPORTCUE_RAY_ADDRESS",
        help="run on this Ray cluster (e.g. ray://head:10001, auto; `local` starts one on this "
        "machine); needs `pip install 'supportcue\\[ray]'`. Without it: in this process",
    ),
]
Workers = Annotated[int | None, typer.Option(min=1, help="Ray actors (default: one per CPU of the cluster)")]
ChunkSize = Annotated[int, typer.Option(min=1, help="cases read, checked and written at a time")]
BatchSize = Annotated[int, typer.Option(min=1, help="cases per Ray batch (each actor takes one at a time)")]
Map = Annotated[list[str], typer.Option("--map", help="FIELD=COLUMN: read FIELD from COLUMN; repeatable")]
Set = Annotated[list[str], typer.Option("--set", help="FIELD=VALUE: every row gets VALUE; repeatable")]
Encoding = Annotated[str, typer.Option(help="the file's text encoding (a UTF-8 BOM is fine)")]
Json = Annotated[bool, typer.Option("--json", help="one JSON object (the last line)")]


def _run(
    ctx: typer.Context,
    kind: str,
    file: Path,
    ray_address: str | None,
    workers: int | None,
    chunk_size: int,
    batch_size: int,
    map_: list[str],
    set_: list[str],
    encoding: str,
    json_out: bool,
    **options: Any,
) -> None:
    from supportcue.batch import run_batch

    # batch files are read as cases (`batch/cases.py`)
    mapping = _pairs("cases", map_, "--map", "FIELD=COLUMN, e.g. message=body")
    constants = _pairs("cases", set_, "--set", "FIELD=VALUE, e.g. channel=email")
    cli = state(ctx)
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, transient=True, disable=json_out) as bar:
        task = bar.add_task(f"batch {kind} {file}: loading the models")

        def progress(seen: int, written: int) -> None:
            bar.update(task, description=f"batch {kind} {file}: {seen:,} cases read, {written:,} written")

        summary, report = run_batch(
            kind,
            file,
            cli.settings,
            cli.store,
            ray_address=ray_address,
            workers=workers,
            chunk_size=chunk_size,
            batch_size=batch_size,
            mapping=mapping,
            constants=constants,
            encoding=encoding,
            progress=progress,
            **options,
        )
    say_rejects(file, report.rejects, int(summary["rejected"]))  # the report keeps only the first few
    emit(summary, json_out, title=f"batch {kind}")
    if summary.get("unknown_labels"):
        from supportcue.weak.workspace import unknown_labels_warning

        warning = unknown_labels_warning(str(summary["task"]), summary["unknown_labels"])
        if warning:
            warn(warning)
    if report.read and not report.valid:
        err_console.print(f"every row of {file} was rejected: nothing done", highlight=False)
        raise typer.Exit(1)


def _job_command(kind: str, doc: str) -> None:
    """Register `batch KIND FILE` with the options every job takes."""

    def command(
        ctx: typer.Context,
        file: File,
        ray_address: RayAddress = None,
        workers: Workers = None,
        chunk_size: ChunkSize = 1000,
        batch_size: BatchSize = 1000,
        map_: Map = [],  # noqa: B006
        set_: Set = [],  # noqa: B006
        encoding: Encoding = "utf-8",
        json_out: Json = False,
    ) -> None:
        _run(ctx, kind, file, ray_address, workers, chunk_size, batch_size, map_, set_, encoding, json_out)

    command.__doc__ = inspect.cleandoc(doc)
    batch_app.command(kind)(command)


_job_command(
    "suggest",
    """Suggest for every case with the live models; store the suggestions as a back-fill.

    They are stored with origin batch: left out of the live metrics. A re-run skips the cases already
    done with these models.""",
)
_job_command(
    "embed",
    """Embed every case message into the workspace's embedding cache.

    So train, backtest and the weak jobs never embed them again. Texts already cached are skipped.""",
)


@batch_app.command("label")
def label(
    ctx: typer.Context,
    file: File,
    task: Annotated[str, typer.Option(help="topic | validity")] = LabelTask.TOPIC,
    fit_rows: Annotated[
        int,
        typer.Option(
            min=1,
            help="fit the label model on this many cases from the file's start "
            "(rejected rows, repeated ids among them, do not count)",
        ),
    ] = 20_000,
    ray_address: RayAddress = None,
    workers: Workers = None,
    chunk_size: ChunkSize = 1000,
    batch_size: BatchSize = 1000,
    map_: Map = [],  # noqa: B006
    set_: Set = [],  # noqa: B006
    encoding: Encoding = "utf-8",
    json_out: Json = False,
) -> None:
    """Label every case with the labeling functions and a label model; store weak labels.

    The label model is fitted on the file's first cases (--fit-rows), with the people's labels of
    those cases as gold; the labels are stored as source weak, annotator batch. A re-run replaces them."""
    if task not in (LabelTask.TOPIC, LabelTask.VALIDITY):
        raise typer.BadParameter(f"{task!r}; allowed: topic, validity", param_hint="--task")
    _run(
        ctx,
        "label",
        file,
        ray_address,
        workers,
        chunk_size,
        batch_size,
        map_,
        set_,
        encoding,
        json_out,
        task=task,
        fit_rows=fit_rows,
    )


def register(app: typer.Typer) -> None:
    app.add_typer(batch_app, name="batch")
