"""Weak supervision and label quality: `weak apply`, `weak analyze`, `labels issues`, `labels stats`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from supportcue.cli.context import state
from supportcue.cli.output import console, emit, fitted_table, say, warn
from supportcue.vocab import LabelTask

weak_app = typer.Typer(help="Weak supervision: labeling functions and the label model.", no_args_is_help=True)
labels_app = typer.Typer(
    help="Label quality: likely errors, agreement, counts against the target.", no_args_is_help=True
)

Task = Annotated[str, typer.Option(help="topic | validity")]
TASKS = (LabelTask.TOPIC, LabelTask.VALIDITY)


def _task(task: str) -> str:
    if task not in TASKS:
        raise typer.BadParameter(f"{task!r}; allowed: {', '.join(TASKS)}", param_hint="--task")
    return task


def _warn_unknown(run: Any) -> None:
    """Name, on stderr, the functions that voted labels no topic (or validity value) has."""
    from supportcue.weak.workspace import unknown_labels_warning

    warning = unknown_labels_warning(run.task, run.unknown_labels())
    if warning:
        warn(warning)


@weak_app.command("apply")
def apply(
    ctx: typer.Context,
    task: Task = "topic",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="report only, store nothing")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="one JSON object (the last line)")] = False,
) -> None:
    """Apply the labeling functions to the cases and store the label model's labels (source weak)."""
    from supportcue.weak.workspace import apply_to_cases, label_cases

    cli = state(ctx)
    store, settings = cli.store, cli.settings
    run = apply_to_cases(store, settings, _task(task), progress=not json_out)
    result = label_cases(store, settings, run, store_labels=not dry_run)
    _warn_unknown(run)
    if json_out:
        emit(result, True)
        return
    # a function per row would not fit the table's cell (cut at 200 characters): only those that failed
    failed = {name: n for name, n in result["failures"].items() if n}
    shown = ", ".join(f"{name}: {n} case(s)" for name, n in failed.items()) or "none"
    emit({**result, "failures": shown}, False, title=f"weak apply ({task})")


@weak_app.command("propagate")
def propagate(
    ctx: typer.Context,
    task: Task = "topic",
    min_confidence: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="store labels at least this sure")
    ] = 0.7,
    json_out: Annotated[bool, typer.Option("--json", help="one JSON object (the last line)")] = False,
) -> None:
    """Spread the people's labels to unlabeled cases through the embedding space (stored as weak)."""
    from supportcue.training.loader import workspace_embedder
    from supportcue.weak.workspace import propagate_labels

    cli = state(ctx)
    settings = cli.settings
    result = propagate_labels(cli.store, settings, workspace_embedder(settings), _task(task), min_confidence)
    emit(result, json_out, title=f"weak propagate ({task})")


@weak_app.command("analyze")
def analyze(
    ctx: typer.Context,
    task: Task = "topic",
    json_out: Annotated[bool, typer.Option("--json", help="one JSON object (the last line)")] = False,
) -> None:
    """Per function: coverage, overlaps, conflicts, accuracy on gold; and the conflict matrix."""
    from supportcue.weak.analysis import render_analysis
    from supportcue.weak.label_model import majority_only_reason
    from supportcue.weak.workspace import analyze as analyze_run
    from supportcue.weak.workspace import apply_to_cases

    cli = state(ctx)
    run = apply_to_cases(cli.store, cli.settings, _task(task), progress=not json_out)
    result = analyze_run(run)
    _warn_unknown(run)
    # what `weak apply` will combine the votes with, when it cannot be the label model
    note = majority_only_reason(*run.applied.matrix.shape)
    if json_out:
        print(json.dumps({**result.to_dict(), "note": note}, default=float))
        return
    console.print(render_analysis(result))
    if note:
        console.print(f"note: `weak apply` will use a {note}", highlight=False, markup=False)


@labels_app.command("issues")
def issues(
    ctx: typer.Context,
    task: Task = "topic",
    out: Annotated[
        Path | None, typer.Option(help="export the ranked issues (.csv or .jsonl) for review")
    ] = None,
    top: Annotated[int, typer.Option(help="rows to show")] = 20,
    json_out: Annotated[bool, typer.Option("--json", help="one JSON object (the last line)")] = False,
) -> None:
    """Likely label errors (cleanlab on cross-validated probabilities), ranked, for review."""
    from supportcue.review.store_issues import label_issues
    from supportcue.training.loader import workspace_embedder

    cli = state(ctx)
    settings = cli.settings
    found = label_issues(cli.store, settings, workspace_embedder(settings), _task(task))
    rows, unchecked = found.rows, found.unchecked
    if out is not None:
        from supportcue.data.files import write_rows

        write_rows(out, rows)
    if json_out:
        print(
            json.dumps(
                {
                    "task": task,
                    "n_issues": len(rows),
                    "issues": rows[:top],
                    "exported": str(out or ""),
                    "unchecked_labels": unchecked,
                    "confirmed": found.confirmed,
                }
            )
        )
        return
    console.print(issues_table(rows[:top], task))
    console.print(f"{len(rows)} likely errors" + (f"; exported to {out}" if out else ""))
    if found.confirmed:  # "why is case X gone?": a reviewer answered it
        console.print(
            f"left out: {found.confirmed} flagged case(s) whose label a reviewer gave (source sme)",
            highlight=False,
            markup=False,
        )
    if unchecked:  # "0 likely errors" must not read as "every label was checked"
        shown = ", ".join(repr(v) for v in unchecked[:10]) + (", ..." if len(unchecked) > 10 else "")
        say(
            f"not checked: {len(unchecked)} {task} label(s) with a single labeled case ({shown}); "
            "label a second case of each to check them"
        )


def issues_table(rows: list[dict[str, Any]], task: str) -> Table:
    """Customers' words and label names as plain text (a message with "[/]" in it stopped the
    command with a rich markup error, "[b]" turned bold)."""
    return fitted_table(
        [
            {
                "rank": str(r["rank"]),
                "case": r["case_id"],
                "given": r["given"],
                "suggested": r["suggested"],
                "quality": f"{r['quality']:.3f}",
                "message": " ".join(r["text"].split())[:60],  # one line: a greeting took rows of its own
            }
            for r in rows
        ],
        wrap=("message",),
        title=f"likely {task} label errors",
    )


@labels_app.command("stats")
def stats(
    ctx: typer.Context,
    task: Task = "topic",
    json_out: Annotated[bool, typer.Option("--json", help="one JSON object (the last line)")] = False,
) -> None:
    """Labels per topic against the target, and agreement between annotators (Cohen's kappa)."""
    from supportcue.review.store_issues import label_stats

    cli = state(ctx)
    settings = cli.settings
    result = label_stats(cli.store, settings, _task(task))
    if json_out:
        emit(result, True)
        return
    print_label_stats(result)


def print_label_stats(r: dict[str, Any]) -> None:
    """Every label's count and every annotator pair, in tables: as one key/value table, each JSON
    list was cut at 200 characters (five topics of 28 shown, the rest and the kappas lost)."""
    sources = ", ".join(f"{source} {n:,}" for source, n in r["labels_by_source"].items()) or "none"
    console.print(
        f"{r['task']}: {r['labeled_cases']:,} case(s) labeled by people; labels by source: {sources}",
        highlight=False,
        markup=False,
    )
    counts = [
        {
            "label": c["label"],
            "cases": f"{c['count']:,}",
            "target": f"{c['target']:,}",
            "missing": f"{c['missing']:,}",
            "of target": f"{c['fraction']:.0%}",
        }
        for c in r["counts"]
    ]
    if counts:
        console.print(fitted_table(counts, title=f"{r['task']} labels against the target, fewest first"))
    agreement = r["agreement"]

    def share(value: float | None) -> str:
        return "-" if value is None else f"{value:.1%}"

    console.print(
        f"agreement: {agreement['n_items']:,} item(s) labeled by two or more people, "
        f"{share(agreement['percent_agreement'])} the same",
        highlight=False,
        markup=False,
    )
    pairs = [
        {
            "annotator a": p["annotator_a"],
            "annotator b": p["annotator_b"],
            "items": f"{p['n_items']:,}",
            "agreement": share(p["percent_agreement"]),
            "kappa": "-" if p["kappa"] is None else f"{p['kappa']:.3f}",
        }
        for p in agreement["pairs"]
        if p["n_items"]
    ]
    if pairs:
        console.print(fitted_table(pairs, title="Cohen's kappa per annotator pair (pairs sharing items)"))


def register(app: typer.Typer) -> None:
    app.add_typer(weak_app, name="weak")
    app.add_typer(labels_app, name="labels")
