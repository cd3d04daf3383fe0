"""The `supportcue` command."""

from supportcue.cli.app import app, main

__all__ = ["app", "main"]
