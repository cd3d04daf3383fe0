"""`supportcue drift`: topic-volume, embedding, new-topic and answer match-rate drift, as alerts."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from supportcue.cli.context import state
from supportcue.cli.output import console, emit


def _print(result: dict[str, Any]) -> None:
    alerts = result["alerts"]
    if not alerts:
        console.print("no drift alerts")
    table = Table("kind", "subject", "first seen", "last seen", "score", "threshold", title="drift alerts")
    for a in alerts:
        table.add_row(
            a["kind"],
            a["subject"],
            a["first_seen"][:10],
            a["last_seen"][:10],
            f"{a['score']:.3f}",
            f"{a['threshold']:g}",
        )
    if alerts:
        console.print(table)
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
        are stored (dashboard, /metrics) and posted to [drift] webhook_url."""
        from supportcue.monitoring.drift import run_drift
        from supportcue.monitoring.metrics import parse_time
        from supportcue.training.loader import workspace_embedder

        try:
            start, end = parse_time(since, "--since"), parse_time(until, "--until")
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
        cli = state(ctx)
        result = run_drift(cli.store, cli.settings, workspace_embedder(cli.settings), since=start, until=end)
        if json_out:
            emit(result, True)
            return
        _print(result)
