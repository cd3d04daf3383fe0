"""Without `[chatwoot] webhook_secret`, the webhook refuses everything (Chatwoot sends no API key)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from supportcue.data.store import Store
from tests.conftest import LiveServer
from tests.integrations.chatwoot_api import message_created, signed


@pytest.fixture
def chatwoot_settings() -> dict[str, Any]:
    return {"webhook_secret": ""}


def test_no_secret_no_webhook_not_even_with_an_api_key(
    server: LiveServer, store: Store, admin_key: dict[str, str]
) -> None:
    body = json.dumps(message_created(1, "How do I pause a payout?")).encode()
    for headers in (signed(body), {**signed(body), **admin_key}):
        r = httpx.post(f"{server.url}/integrations/chatwoot/webhook", content=body, headers=headers)
        assert r.status_code == 401 and "set [chatwoot] webhook_secret" in r.json()["detail"]
    assert store.db.count("messages") == 0
    assert server.app.state.note_workers == {}  # type: ignore[attr-defined]
