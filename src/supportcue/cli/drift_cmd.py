"""`supportcue drift`: topic-volume, embedding, new-topic and answer match-rate drift, as alerts."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape

from supportcue.cli.context import state
from supportcue.cli.errors import NOT_DELIVERED
from supportcue.cli.output import console, emit, fitted_table


def _print(result: dict[str, Any]) -> None:
    alerts = result["alerts"]
    if result["note"]:
        console.print(f"[yellow]{escape(result['note'])}[/yellow]", highlight=False)
    elif not alerts:
        console.print(f"no drift alerts ({result['windows']:,} window(s) compared)", highlight=False)
    table = fitted_table(
        [
            {
                "id": str(a["id"]),
                "kind": a["kind"],
                "subject": a["subject"],
                "first seen": a["first_seen"][:10],
                "last seen": a["last_seen"][:10],
                "score": f"{a['score']:.3f}",
                "threshold": f"{a['threshold']:g}",
                "review items": str(len(a["review_item_ids"])),
            }
            for a in alerts
        ],
        optional=("first seen", "threshold", "review items"),
        wrap=("subject",),
        title="drift alerts",
    )
    if alerts:
        console.print(table)
        console.print(
            f"{result['review_items']} new review item(s) queued (reason drift_alert); "
            "one alert's: /review?alert=ID"
        )
    if result["webhook"]:
        console.print(result["webhook"])


def register(app: typer.Typer) -> None:
    @app.command()
    def drift(
        ctx: typer.Context,
        since: Annotated[str | None, typer.Option(help="ISO date: alerts from then on")] = None,
        until: Annotated[str | None, typer.Option(help="ISO date (exclusive)")] = None,
        json_out: Annotated[bool, typer.Option("--json", help="one JSON object (the last line)")] = False,
    ) -> None:
        """Compare each day's last week of messages with the weeks before: topic volumes, embeddings,
        messages no topic claims (clustered into candidate new topics), answers' match rates. Alerts
        are stored (dashboard, /library, /metrics), their examples queued for review (reason
        drift_alert, at most \\[drift] review_items per alert), and new ones posted to \\[drift]
        webhook_url (exit 3 when it does not take them: they are posted again by the next runs)."""
        from supportcue.monitoring.drift import run_drift
        from supportcue.monitoring.metrics import parse_time
        from supportcue.training.loader import workspace_embedder

        try:
            start, end = parse_time(since, "--since"), parse_time(until, "--until")
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
        if start and end and start >= end:  # no day to look at: not "no drift alerts"
            raise typer.BadParameter(f"--since ({since}) must be before --until ({until})")
        cli = state(ctx)
        result = run_drift(cli.store, cli.settings, workspace_embedder(cli.settings), since=start, until=end)
        if json_out:
            emit(result, True)
        else:
            _print(result)
        if result["webhook_failed"]:  # stored, but nobody was told: cron should say so
            raise typer.Exit(NOT_DELIVERED)
