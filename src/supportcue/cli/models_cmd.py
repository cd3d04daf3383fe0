"""Training and the model registry: `train`, `backtest`, `models`, `promote`."""

from __future__ import annotations

import typer

from supportcue.errors import SupportcueError


def register(app: typer.Typer) -> None:
    @app.command()
    def train(stage: str | None = typer.Option(None, help="validation | topic | response")) -> None:
        """Fit stages from the labels in the store and write model versions."""
        raise SupportcueError("`train` is not yet available (classifier issue)")

    @app.command()
    def backtest(since: str | None = typer.Option(None, help="cut date: train before, test after")) -> None:
        """Time-ordered evaluation of the classifiers."""
        raise SupportcueError("`backtest` is not yet available (classifier issue)")

    @app.command()
    def models() -> None:
        """List model versions."""
        raise SupportcueError("`models` is not yet available (classifier issue)")

    @app.command()
    def promote(stage: str, version: str, force: bool = typer.Option(False, "--force")) -> None:
        """Make a model version live; the previous stays available for rollback."""
        raise SupportcueError("`promote` is not yet available (classifier issue)")
