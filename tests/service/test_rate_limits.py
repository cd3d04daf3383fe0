"""Per-caller token buckets over real HTTP: past `burst`, 429 with Retry-After, for that caller only;
failed logins bounded per name and per address, or per device cookie for a browser that logged in as
that name before."""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from supportcue.data.store import Store
from supportcue.data.tables import RateBucket, SigningKey
from supportcue.security import users
from supportcue.security.users import add_user
from supportcue.service.routes.login import PASSWORD_CHECKS
from supportcue.service.runtime import PipelineLoader
from tests.conftest import FAST_HASHER, LiveServer
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
    # the burst of 3, then one token a second: on a loaded machine the fourth request may come after
    # a token was added, so requests go on until the first 429, and at most that many are let through
    started, codes = time.monotonic(), []
    while len(codes) < 20 and 429 not in codes:
        over = httpx.post(url, json={"message": "thanks"}, headers=busy)
        codes.append(over.status_code)
    refilled = int(time.monotonic() - started)
    assert codes[-1] == 429 and set(codes[:-1]) == {200} and 3 <= len(codes) - 1 <= 3 + refilled, codes
    assert over.headers["retry-after"] == "1" and "retry in 1 s" in over.json()["detail"]
    assert httpx.post(url, json={"message": "thanks"}, headers=other).status_code == 200
    time.sleep(1.05)  # 60 a minute: one token a second
    assert httpx.post(url, json={"message": "thanks"}, headers=busy).status_code == 200


def test_callers_without_a_key_are_limited_by_address(server: LiveServer) -> None:
    codes = [httpx.get(f"{server.url}/v1/metrics").status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]


def test_made_up_keys_past_the_address_limit_get_429_and_a_real_key_from_there_still_gets_in(
    server: LiveServer, store: Store
) -> None:
    """A flood of made-up keys from an address gets 429s once its bucket is empty; a real key sent from
    the same address (a NAT, a proxy whose forwarded address is not trusted) is still looked up and let
    in, not refused with the flood (`tests/security/test_callers.py`: the flood never pushes it out of
    the callers' cache)."""
    real = authorize(store, "reviewer")
    url = f"{server.url}/v1/metrics"
    made_up = [secrets.token_urlsafe(24) for _ in range(4)]
    codes = [httpx.get(url, headers={"Authorization": f"Bearer {key}"}).status_code for key in made_up]
    assert codes == [401, 401, 401, 429]
    assert httpx.get(url, headers=real).status_code == 200
    again = httpx.get(url, headers={"Authorization": f"Bearer {made_up[0]}"})
    assert again.status_code == 429 and int(again.headers["retry-after"]) >= 1


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


class HeldHasher:
    """The tests' argon2 hasher, whose checks wait until `release` is set: logins that stay in their
    password check as long as a test needs, like a flood of them on a busy machine."""

    def __init__(self) -> None:
        self.checks = 0
        self.release = threading.Event()
        self._lock = threading.Lock()

    def hash(self, password: str) -> str:
        return FAST_HASHER.hash(password)

    def verify(self, hashed: str, password: str) -> bool:
        with self._lock:
            self.checks += 1
        self.release.wait(30)
        return FAST_HASHER.verify(hashed, password)


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> Iterator[HeldHasher]:
    hasher = HeldHasher()
    monkeypatch.setattr(users, "hasher", lambda: hasher)
    try:
        yield hasher
    finally:
        hasher.release.set()


def flood(server: LiveServer, names: list[str], pool: ThreadPoolExecutor) -> list[Future[httpx.Response]]:
    """A wrong login for each of `names` at once, each from an address of its own (127.0.x.y)."""

    def attempt(i: int) -> httpx.Response:
        transport = httpx.HTTPTransport(local_address=f"127.0.{i // 200 + 1}.{i % 200 + 2}")
        with httpx.Client(base_url=server.url, transport=transport, timeout=60) as client:
            return log_in(client, names[i], "a wrong guess")

    return [pool.submit(attempt, i) for i in range(len(names))]


def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)


def refused(futures: list[Future[httpx.Response]]) -> int:
    return sum(1 for f in futures if f.done() and not f.exception() and f.result().status_code == 503)


def check_answers(futures: list[Future[httpx.Response]], allowed: set[int]) -> dict[int, int]:
    codes: dict[int, int] = {}
    for future in futures:
        response = future.result()
        codes[response.status_code] = codes.get(response.status_code, 0) + 1
        if response.status_code == 503:
            assert int(response.headers["retry-after"]) >= 1 and "try again in" in response.text
    assert set(codes) <= allowed, codes
    return codes


def test_a_flood_of_logins_does_not_hold_up_other_callers(
    server: LiveServer, store: Store, held: HeldHasher
) -> None:
    """Password checks (argon2id: 64 MiB and a core for a tenth of a second each) were run on the
    threads every route shares: 40 logins stuck in their checks left an API key's event waiting for
    them. Now a few run at once, a few more wait, the rest get 503 with Retry-After."""
    key = authorize(store, "integration")
    with ThreadPoolExecutor(60) as pool:
        logins = flood(server, [f"guesser{i}" for i in range(60)], pool)
        # the flood has arrived: it fills the shared threads (40), or some of it is turned away
        wait_for(lambda: held.checks >= 40 or refused(logins) > 0)
        event = {"idempotency_key": "during-flood", "case_id": "c1", "kind": "shown"}
        try:
            answer = httpx.post(f"{server.url}/v1/events", json=event, headers=key, timeout=10)
        finally:
            held.release.set()
        assert answer.status_code == 202
        codes = check_answers(logins, {401, 503})
    assert codes[503] > 0 and store.db.count("events") == 1


def test_logins_at_once_cannot_guess_past_the_limit(
    server: LiveServer, store: Store, held: HeldHasher
) -> None:
    """Each login read the failed-login limit before its password check and counted a failure after
    it, so guesses sent at once all passed the check before any was counted: 30 guesses at a name
    allowed 3 a minute were 30 password checks."""
    add_user(store, "ana", "agent", PASSWORD)
    with ThreadPoolExecutor(30) as pool:
        logins = flood(server, ["ana"] * 30, pool)
        wait_for(lambda: held.checks >= 30 or refused(logins) > 0)
        held.release.set()
        check_answers(logins, {401, 429, 503})
    assert held.checks <= 3 + PASSWORD_CHECKS - 1


# -- device cookies ----------------------------------------------------------------------------------


def elsewhere(server: LiveServer, host: int = 9) -> httpx.Client:
    """A browser at an address of its own (127.0.0.`host`), as a guesser on the network would be."""
    transport = httpx.HTTPTransport(local_address=f"127.0.0.{host}")
    return httpx.Client(base_url=server.url, transport=transport)


def guess(server: LiveServer, name: str, times: int, host: int = 9) -> list[int]:
    """`times` wrong passwords for `name` from a browser that never logged in."""
    with elsewhere(server, host) as guesser:
        return [log_in(guesser, name, f"guess number {i}").status_code for i in range(times)]


def test_a_guesser_does_not_lock_a_user_out_of_her_own_browser(server: LiveServer, store: Store) -> None:
    """Failed logins were counted per name: anyone on the network could keep "alice" out of the
    console by sending `login_attempts_per_minute` wrong passwords a minute for her name. The browser
    she logged in from before carries a device cookie, and its logins are limited per device cookie."""
    add_user(store, "alice", "agent", PASSWORD)
    with httpx.Client(base_url=server.url) as alice:
        assert log_in(alice, "alice", PASSWORD).status_code == 303
        assert guess(server, "alice", 5) == [401, 401, 401, 429, 429]
        assert log_in(alice, "alice", PASSWORD).status_code == 303
    with httpx.Client(base_url=server.url) as new_browser:  # no device cookie: limited as before
        blocked = log_in(new_browser, "alice", PASSWORD)
        assert blocked.status_code == 429 and "supportcue_session" not in new_browser.cookies


def device_cookie(client: httpx.Client) -> str:
    value = client.cookies.get("supportcue_device")
    assert value
    return value


def browser(server: LiveServer, device: str) -> httpx.Client:
    """A browser at the usual address whose device cookie is `device`."""
    return httpx.Client(base_url=server.url, cookies={"supportcue_device": device})


def altered(value: str, at: int) -> str:
    """`value` with the character at `at` changed (to another of the same kind)."""
    swap = {"0": "1", "1": "0", "a": "b", "b": "a", "A": "B", "B": "A", "-": "_", "_": "-"}
    return value[:at] + swap.get(value[at], "0" if not value[at].isdigit() else "a") + value[at + 1 :]


def test_a_forged_altered_or_borrowed_device_cookie_gives_no_exemption(
    server: LiveServer, store: Store
) -> None:
    add_user(store, "alice", "agent", PASSWORD)
    add_user(store, "bob", "agent", PASSWORD)
    cookies = {}
    for name in ("alice", "bob"):
        with httpx.Client(base_url=server.url) as client:
            assert log_in(client, name, PASSWORD).status_code == 303
            cookies[name] = device_cookie(client)
    assert guess(server, "alice", 4) == [401, 401, 401, 429]
    nonce, issued, mac = cookies["alice"].split(".")
    refused = [
        cookies["bob"],  # issued for another name
        altered(cookies["alice"], len(cookies["alice"]) - 1),  # the signature
        altered(cookies["alice"], 0),  # the nonce
        f"{nonce}.{int(issued) + 1}.{mac}",  # the issue time
        f"{nonce}.{issued}",
        "alice",
        "",
    ]
    for forged in refused:
        with browser(server, forged) as client:
            answer = log_in(client, "alice", PASSWORD)
            assert answer.status_code == 429, forged
            assert "supportcue_session" not in client.cookies
    with browser(server, cookies["alice"]) as client:  # the real one still does
        assert log_in(client, "alice", PASSWORD).status_code == 303


def test_failures_with_a_device_cookie_lock_out_that_cookie_not_the_name(
    server: LiveServer, store: Store
) -> None:
    add_user(store, "alice", "agent", PASSWORD)
    with httpx.Client(base_url=server.url) as laptop, httpx.Client(base_url=server.url) as phone:
        assert log_in(laptop, "alice", PASSWORD).status_code == 303
        assert log_in(phone, "alice", PASSWORD).status_code == 303
        assert [log_in(laptop, "alice", f"guess {i}").status_code for i in range(3)] == [401] * 3
        blocked = log_in(laptop, "alice", PASSWORD)
        assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) >= 1
        assert log_in(phone, "alice", PASSWORD).status_code == 303  # her other device cookie
    # Neither the name's bucket nor the address's was counted: a new browser at the same address,
    # without a device cookie, logs in.
    with httpx.Client(base_url=server.url) as new_browser:
        assert log_in(new_browser, "alice", PASSWORD).status_code == 303


def test_a_device_cookie_holds_at_every_process_sharing_the_database(
    server: LiveServer, store: Store, make_app: Callable[[PipelineLoader], FastAPI]
) -> None:
    add_user(store, "alice", "agent", PASSWORD)
    with httpx.Client(base_url=server.url) as alice:
        assert log_in(alice, "alice", PASSWORD).status_code == 303
        cookie = device_cookie(alice)
    other_app = make_app(fake_pipeline)
    with LiveServer(other_app) as other:
        wait_loaded(other_app)
        assert guess(server, "alice", 4) == [401, 401, 401, 429]
        with httpx.Client(base_url=other.url, cookies={"supportcue_device": cookie}) as alice:
            assert log_in(alice, "alice", PASSWORD).status_code == 303
        with httpx.Client(base_url=other.url) as new_browser:
            assert log_in(new_browser, "alice", PASSWORD).status_code == 429
    assert store.db.first(select(SigningKey.name)) == "device-cookies"
    with store.db.session() as s:
        assert s.scalar(select(func.count()).select_from(SigningKey)) == 1  # made once
