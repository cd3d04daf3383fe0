"""`supportcue experiment create|list|stop|analyze`: controlled experiments of the suggestions."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from supportcue.cli.context import state
from supportcue.cli.output import console
from supportcue.errors import ExperimentError
from supportcue.experiments.design import METRICS

experiment_app = typer.Typer(
    help="Controlled experiments: cases split between arms; the control arm is shown no suggestion.",
    no_args_is_help=True,
)
NameArg = Annotated[str, typer.Argument(help="the experiment's name")]
JsonOption = Annotated[bool, typer.Option("--json", help="one JSON object (the last line)")]


@experiment_app.command("create")
def create(
    ctx: typer.Context,
    name: NameArg,
    arms: Annotated[
        str, typer.Option("--arms", help="comma-separated; `control` (or the first) sees no suggestion")
    ],
    weights: Annotated[
        str | None, typer.Option("--weights", help="shares per arm, e.g. 50,50 (default: equal)")
    ] = None,
    start: Annotated[
        str | None,
        typer.Option(
            "--start",
            help="ISO date or datetime (UTC), not in the past: cases are assigned from then; default: now",
        ),
    ] = None,
    coverage: Annotated[float, typer.Option("--coverage", help="share of new cases that enter it")] = 1.0,
    metrics: Annotated[
        str, typer.Option("--metrics", help=f"metrics of interest: {','.join(METRICS)}")
    ] = ",".join(METRICS),
    json_out: JsonOption = False,
) -> None:
    """Start an experiment (one runs at a time): new cases get an arm the first time they are seen."""
    from supportcue.experiments import Design, create_experiment
    from supportcue.experiments.design import parse_list, parse_weights
    from supportcue.monitoring.metrics import parse_time

    try:
        started = parse_time(start, "--start")
    except ValueError as exc:
        raise ExperimentError(str(exc)) from None
    design = Design.create(
        name,
        parse_list(arms, "--arms"),
        parse_weights(weights) if weights is not None else None,
        coverage=coverage,
        metrics=parse_list(metrics, "--metrics"),
        started_at=started,
    )
    design = create_experiment(state(ctx).store, design)
    if json_out:
        print(json.dumps(design.public()))
        return
    split = ", ".join(f"{a.name} {100 * a.weight:g}%" for a in design.arms)
    print(f"experiment {design.key!r} running since {design.started_at:%Y-%m-%d %H:%M} UTC: {split}")
    print(
        f"  the {design.control!r} arm is served no suggestion (computed in shadow); stop it with "
        f"`supportcue experiment stop {design.key}`"
    )


@experiment_app.command("list")
def list_(ctx: typer.Context, json_out: JsonOption = False) -> None:
    """Experiments, the newest first: status, arms and weights, start and stop."""
    from supportcue.experiments import list_experiments

    rows = [d.public() for d in list_experiments(state(ctx).store)]
    if json_out:
        print(json.dumps(rows))
        return
    if not rows:
        console.print("no experiments yet (`supportcue experiment create NAME --arms control,treatment`)")
        return
    table = Table(title="experiments")
    for column in ("name", "status", "arms", "weights", "start", "stop"):
        table.add_column(column)
    for r in rows:  # names as Text, not markup: "[/]x" stopped the command with rich's MarkupError
        table.add_row(
            Text(
                r["name"]
                + (" (simulated)" if r["simulated"] else "")
                + (" (imported)" if r["imported"] else "")
            ),
            r["status"],
            Text(",".join(r["arms"])),
            ",".join(f"{w:g}" for w in r["weights"]),
            (r["start"] or "")[:16],
            (r["stop"] or "")[:16],
        )
    console.print(table)


@experiment_app.command("stop")
def stop(ctx: typer.Context, name: NameArg, json_out: JsonOption = False) -> None:
    """Stop a running experiment: new cases are no longer assigned; its cases keep their arms."""
    from supportcue.experiments import stop_experiment

    design = stop_experiment(state(ctx).store, name)
    if json_out:
        print(json.dumps(design.public()))
        return
    print(f"experiment {name!r} stopped; analyse it with `supportcue experiment analyze {name}`")


@experiment_app.command("analyze")
def analyze(
    ctx: typer.Context,
    name: NameArg,
    metric: Annotated[str, typer.Option("--metric", help=" | ".join(METRICS))] = "handle_seconds",
    cuped: Annotated[
        bool, typer.Option("--cuped", help="adjust by each agent's handle time before the experiment")
    ] = False,
    sequential: Annotated[
        bool | None,
        typer.Option("--sequential/--fixed", help="interval kind (default: sequential while running)"),
    ] = None,
    mde: Annotated[float, typer.Option("--mde", help="relative minimum detectable effect")] = 0.05,
    alpha: Annotated[float, typer.Option("--alpha", help="1 - the intervals' confidence level")] = 0.05,
    arms_from: Annotated[
        str,
        typer.Option(
            "--arms-from",
            help="auto | assignments (supportcue's live split) | cases (the arm column imported with "
            "the cases: your own split); auto: the live assignments if the experiment has any",
        ),
    ] = "auto",
    arms: Annotated[
        str | None,
        typer.Option(
            "--arms",
            help="imported arms to compare under a name no experiment has, the control first "
            "(default: every arm, when one is named control)",
        ),
    ] = None,
    weights: Annotated[
        str | None,
        typer.Option(
            "--weights", help="the shares your own split promised, for the SRM check (default: equal)"
        ),
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="imported cases created from this date on")
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(
            "--until", help="imported cases created before this date (exclusive; a date is midnight UTC)"
        ),
    ] = None,
    max_handle_seconds: Annotated[
        float | None,
        typer.Option(
            "--max-handle-seconds",
            help="leave out (and count) handle times above this: conversations left open, not handled "
            "(default: \\[experiments] max_handle_seconds, 7 days; 0 keeps every one)",
        ),
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Per arm n and mean; the relative lift over the control arm with its interval and p-value;
    the sample-ratio check; warnings (too few cases, SRM, still running, mixed pipeline versions).
    NAME may also name a split your help desk ran itself, imported with the cases' `arm` column."""
    from supportcue.experiments import analyze as run
    from supportcue.experiments.design import parse_list, parse_weights
    from supportcue.monitoring.metrics import parse_range

    try:
        start, stop = parse_range(since, until, names=("--since", "--until"))
    except ValueError as exc:
        raise ExperimentError(str(exc)) from None
    if not 0 < alpha < 0.5:
        raise ExperimentError(f"--alpha must be in (0, 0.5), got {alpha}")
    if not 0 < mde < 10:
        raise ExperimentError(f"--mde is a relative change such as 0.05, got {mde}")
    if max_handle_seconds is not None and not 0 <= max_handle_seconds < float("inf"):
        raise ExperimentError(f"--max-handle-seconds must be 0 (no limit) or more, got {max_handle_seconds}")
    cli = state(ctx)
    cap = cli.settings.experiments.handle_cap if max_handle_seconds is None else max_handle_seconds or None
    result = run(
        cli.store,
        name,
        metric,
        cuped=cuped,
        threshold=cli.settings.match.threshold,
        alpha=alpha,
        mde=mde,
        sequential=sequential,
        arms_from=arms_from,
        arms=parse_list(arms, "--arms") if arms is not None else None,
        weights=parse_weights(weights) if weights is not None else None,
        since=start,
        until=stop,
        max_handle_seconds=cap,
    )
    if json_out:
        print(json.dumps(result))
        return
    _print(result)


def _pct(value: Any) -> str:
    return "-" if value is None else f"{100 * value:+.1f}%"


def _print(r: dict[str, Any]) -> None:
    title = f"experiment {r['name']} ({r['status']}) on {r['metric']}" + (
        " - simulated data" if r["simulated"] else ""
    )
    table = Table(title=Text(title))  # names as Text: an arm imported as free text may hold "[/]"
    # with --cuped the lift is of the adjusted means: show them, or the means would imply another lift
    adjusted = any("mean_adjusted" in a for a in r["arms"])
    columns = ("arm", "assigned", "n", "mean", *(("adjusted mean",) if adjusted else ()), "variance")
    for column in columns:
        table.add_column(column, justify="left" if column == "arm" else "right")

    def number(value: float | None) -> str:
        return "-" if value is None else f"{value:.4g}"

    for a in r["arms"]:
        means = [number(a["mean"]), *([number(a.get("mean_adjusted"))] if adjusted else [])]
        label = a["name"] + (" (control)" if a["control"] and a["name"] != "control" else "")
        table.add_row(Text(label), f"{a['assigned']:,}", f"{a['n']:,}", *means, number(a["variance"]))
    console.print(table)
    console.print(f"arms from {r['arms_source']}", markup=False, highlight=False)
    for c in r["comparisons"]:
        if c["lift"] is None:
            console.print(f"{c['arm']} vs {r['control']}: {c.get('error', 'not enough data')}", markup=False)
            continue
        console.print(
            f"{c['arm']} vs {r['control']}: lift {_pct(c['lift'])} "
            f"[{_pct(c['ci_low'])}, {_pct(c['ci_high'])}], p = {c['p_value']:.3g}",
            markup=False,
        )
    console.print(f"sample ratio check: p = {r['srm_p_value']:.3g}" + (" (MISMATCH)" if r["srm"] else ""))
    console.print(f"method: {r['method']}", style="dim", highlight=False, markup=False)
    for w in r["warnings"]:
        console.print(f"[yellow]warning[/yellow]: {escape(w)}", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(experiment_app, name="experiment")
