"""`supportcue review stats`: the online precision of shown suggestions, from the reviews."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from supportcue.cli.context import state
from supportcue.cli.output import console, emit

review_app = typer.Typer(help="The review queue and what reviewers found.", no_args_is_help=True)


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


@review_app.command("stats")
def stats(
    ctx: typer.Context,
    since: Annotated[str | None, typer.Option(help="reviews since this ISO date, e.g. 2026-10-01")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="one JSON object (the last line)")] = False,
) -> None:
    """Online precision of shown suggestions with its 95% interval (from the random sample only),
    next to the match rate; Krippendorff's alpha of the blind-overlap reviews."""
    from supportcue.review.stats import review_report

    cli = state(ctx)
    try:
        result = review_report(cli.store, cli.settings, since, since_name="--since")
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    if json_out:
        emit(result, True)
        return
    _print(result)


def _print(r: dict[str, Any]) -> None:
    console.print(f"reviews: {r['n_reviewed']:,} ({r['n_random']:,} of the random sample)")
    console.print(
        f"judged correct by reviewers: {_pct(r['online_precision'])} "
        f"[95% CI {_pct(r['ci_low'])} to {_pct(r['ci_high'])}]"
    )
    since = (r.get("match_rate_since") or "")[:10]
    console.print(
        f"matched what the agent sent (a lower bound): {_pct(r['match_rate'])}"
        + (f" (suggestions since {since})" if since else "")
    )
    alpha = r["alpha"]
    console.print(f"Krippendorff's alpha (verdicts): {'-' if alpha is None else f'{alpha:.3f}'}")
    for topic, t in r["by_topic"].items():
        console.print(
            f"  {topic}: {_pct(t['precision'])} of {t['n']} [{_pct(t['ci_low'])}, {_pct(t['ci_high'])}]",
            highlight=False,
        )
    console.print(f"{r['method']}; {r['note']}", style="dim", highlight=False, markup=False)


def register(app: typer.Typer) -> None:
    app.add_typer(review_app, name="review")
