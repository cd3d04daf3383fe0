"""Weak supervision and label quality: `weak apply`, `weak analyze`, `labels issues`."""

from __future__ import annotations

import typer

from supportcue.errors import SupportcueError

weak_app = typer.Typer(help="Weak supervision: labeling functions and the label model.", no_args_is_help=True)
labels_app = typer.Typer(help="Label quality.", no_args_is_help=True)


@weak_app.command("apply")
def apply() -> None:
    """Apply the labeling functions to the cases and store the label model's labels."""
    raise SupportcueError("`weak apply` is not yet available (weak-supervision issue)")


@weak_app.command("analyze")
def analyze(json_out: bool = typer.Option(False, "--json")) -> None:
    """Coverage, overlaps, conflicts and accuracy of each labeling function."""
    raise SupportcueError("`weak analyze` is not yet available (weak-supervision issue)")


@labels_app.command("issues")
def issues() -> None:
    """Likely label errors, ranked, for review."""
    raise SupportcueError("`labels issues` is not yet available (weak-supervision issue)")


def register(app: typer.Typer) -> None:
    app.add_typer(weak_app, name="weak")
    app.add_typer(labels_app, name="labels")
