"""The HTTP service: the suggestion API, events, metrics, and the agent-facing pages."""

from supportcue.service.app import create_app

__all__ = ["create_app"]
