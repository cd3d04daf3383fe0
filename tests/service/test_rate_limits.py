"""Per-caller token buckets over real HTTP: past `burst`, 429 with Retry-After, for that caller only;
failed logins bounded per name and per address."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from supportcue.data.store import Store
from supportcue.data.tables import RateBucket
from supportcue.security.users import add_user
from supportcue.service.runtime import PipelineLoader
from tests.conftest import LiveServer
from tests.service.conftest import authorize, fake_pipeline, wait_loaded

PASSWORD = "correct horse battery"


@pytest.fixture
def extra_environ() -> dict[str, str]:
    limits = {"RATE_PER_MINUTE": "60", "BURST": "3", "LOGIN_ATTEMPTS_PER_MINUTE": "3"}
    return {f"SUPPORTCUE_SECURITY__{k}": v for k, v in limits.items()}


def test_a_caller_over_its_limit_gets_429_with_retry_after_and_others_do_not(
    server: LiveServer, store: Store
) -> None:
    busy, other = authorize(store, "integration"), authorize(store, "integration")
    url = f"{server.url}/v1/suggest"
    codes = [httpx.post(url, json={"message": "thanks"}, headers=busy).status_code for _ in range(3)]
    over = httpx.post(url, json={"message": "thanks"}, headers=busy)
    assert codes == [200, 200, 200] and over.status_code == 429
    assert over.headers["retry-after"] == "1" and "retry in 1 s" in over.json()["detail"]
    assert httpx.post(url, json={"message": "thanks"}, headers=other).status_code == 200
    time.sleep(1.05)  # 60 a minute: one token a second
    assert httpx.post(url, json={"message": "thanks"}, headers=busy).status_code == 200


def test_callers_without_a_key_are_limited_by_address(server: LiveServer) -> None:
    codes = [httpx.get(f"{server.url}/v1/metrics").status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]


def log_in(client: httpx.Client, name: str, password: str) -> httpx.Response:
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert token
    return client.post("/login", data={"name": name, "password": password, "csrf_token": token[1]})


def test_failed_logins_are_bounded_per_name(server: LiveServer, store: Store) -> None:
    add_user(store, "ana", "agent", PASSWORD)
    with httpx.Client(base_url=server.url) as client:
        assert [log_in(client, "ana", "guess number x").status_code for _ in range(3)] == [401] * 3
        blocked = log_in(client, "ana", PASSWORD)  # even the right password waits now
        assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) >= 1
        assert "Too many failed logins" in blocked.text and "supportcue_session" not in client.cookies


def test_failed_logins_are_counted_across_processes_sharing_the_database(
    server: LiveServer, store: Store, make_app: Callable[[PipelineLoader], FastAPI]
) -> None:
    """Two apps on one database stand for two workers (or machines) behind a load balancer: a guesser
    spreading tries over both gets `login_attempts_per_minute` in all, not that many per process."""
    add_user(store, "bea", "agent", PASSWORD)
    other_app = make_app(fake_pipeline)
    with LiveServer(other_app) as other:
        wait_loaded(other_app)
        with httpx.Client(base_url=server.url) as a, httpx.Client(base_url=other.url) as b:
            tries = [log_in(client, "bea", f"guess {i}").status_code for i, client in enumerate((a, b, a))]
            assert tries == [401] * 3
            blocked = log_in(b, "bea", PASSWORD)
            assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) >= 1
    # What the database keeps: hashes, never the name or the address.
    with store.db.session() as s:
        keys = list(s.scalars(select(RateBucket.key)))
    assert len(keys) == 2 and all(re.fullmatch("[0-9a-f]{64}", k) for k in keys)
