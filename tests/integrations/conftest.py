"""The Chatwoot tests' app: the service tests' app (fake pipeline, both databases, real uvicorn)
configured for a `FakeChatwoot` on a local port, with fast retries."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.integrations.chatwoot_api import SECRET, TOKEN, FakeChatwoot, free_port
from tests.service.conftest import admin_key, api, app, make_app, server, service_settings, store

__all__ = ["admin_key", "api", "app", "make_app", "server", "service_settings", "store"]


@pytest.fixture
def chatwoot_port() -> int:
    return free_port()


@pytest.fixture
def chatwoot(chatwoot_port: int) -> Iterator[FakeChatwoot]:
    """Chatwoot's messages API, up (a test that wants it down starts it later, on the same port)."""
    fake = FakeChatwoot(chatwoot_port)
    yield fake
    fake.stop()


@pytest.fixture
def chatwoot_settings() -> dict[str, Any]:
    return {}


@pytest.fixture
def extra_environ(chatwoot_port: int, chatwoot_settings: dict[str, Any]) -> dict[str, str]:
    settings = {
        "base_url": f"http://127.0.0.1:{chatwoot_port}",
        "account_id": "1",
        "api_token": TOKEN,
        "webhook_secret": SECRET,
        "retry_seconds": "0.05",
        "timeout_seconds": "0.5",
        "max_attempts": "8",
        **chatwoot_settings,
    }
    return {f"SUPPORTCUE_CHATWOOT__{k.upper()}": str(v) for k, v in settings.items()}
