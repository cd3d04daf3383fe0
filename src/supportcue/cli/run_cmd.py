"""Running the product: `demo`, `serve`, `suggest`, `report`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from supportcue.errors import SupportcueError


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        workspace: Annotated[Path, typer.Option("--workspace", help="folder to build")] = Path(
            "demo-workspace"
        ),
        no_serve: Annotated[bool, typer.Option("--no-serve", help="build only, do not serve")] = False,
        port: Annotated[int, typer.Option(help="port to serve on")] = 8000,
        seed: Annotated[int, typer.Option(help="seed of the generated data")] = 7,
    ) -> None:
        """Build the demo workspace (a fictional payments platform), then serve it."""
        from supportcue.demo.workspace import build_demo_workspace

        summary = build_demo_workspace(workspace, seed=seed)
        typer.echo(summary)
        if not no_serve:
            typer.echo("serving is not yet available (pipeline issue): the workspace is built.")

    @app.command()
    def serve(host: str = typer.Option("127.0.0.1"), port: int = typer.Option(8000)) -> None:
        """Serve the suggestion API, console and dashboard."""
        raise SupportcueError("`serve` is not yet available (pipeline issue)")

    @app.command()
    def suggest(message: str, json_out: bool = typer.Option(False, "--json")) -> None:
        """Run the pipeline on one message."""
        raise SupportcueError("`suggest` is not yet available (pipeline issue)")

    @app.command()
    def report(
        since: str | None = typer.Option(None), json_out: bool = typer.Option(False, "--json")
    ) -> None:
        """Online metrics: match rate, adoption, coverage, latency."""
        raise SupportcueError("`report` is not yet available (online-loop issue)")
