"""The rules themselves, on hand-made cases: who includes whom, the token bucket, where a login may
send the browser next, and which hosts count as this machine only."""

from __future__ import annotations

import pytest

from supportcue.errors import SupportcueError
from supportcue.security.bind import check_exposure, is_loopback
from supportcue.security.ratelimit import RateLimiter
from supportcue.security.roles import allows, includes
from supportcue.security.sessions import safe_next
from supportcue.vocab import Role


def test_the_ladder_and_the_narrow_roles() -> None:
    assert includes(Role.ADMIN, Role.REVIEWER) and includes(Role.REVIEWER, Role.AGENT)
    assert not includes(Role.AGENT, Role.REVIEWER) and not includes(Role.REVIEWER, Role.ADMIN)
    assert all(includes(Role.ADMIN, r) for r in Role)  # admin: everything
    assert not includes(Role.METRICS, Role.AGENT) and not includes(Role.INTEGRATION, Role.AGENT)
    assert not includes(Role.AGENT, Role.INTEGRATION) and not includes(Role.REVIEWER, Role.METRICS)
    assert allows(Role.INTEGRATION, (Role.AGENT, Role.INTEGRATION))
    assert not allows(Role.METRICS, (Role.AGENT, Role.INTEGRATION))


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_allows_a_burst_then_the_rate() -> None:
    clock = Clock()
    limiter = RateLimiter(per_minute=30, burst=2, clock=clock)  # one token every 2 s
    assert [limiter.take("a"), limiter.take("a")] == [0, 0]
    assert limiter.take("a") == 2 and limiter.retry_after("a") == 2
    assert limiter.take("b") == 0  # each caller has its own bucket
    clock.now += 1.0
    assert limiter.take("a") == 1
    clock.now += 1.0
    assert limiter.take("a") == 0 and limiter.take("a") == 2
    clock.now += 3600
    assert limiter.retry_after("a") == 0 and limiter.take("a") == limiter.take("a") == 0


def test_a_rate_of_zero_is_no_limit() -> None:
    limiter = RateLimiter(per_minute=0, burst=1)
    assert all(limiter.take("a") == 0 for _ in range(1000))


def test_many_callers_do_not_grow_the_buckets_without_bound() -> None:
    clock = Clock()
    limiter = RateLimiter(per_minute=60, burst=5, clock=clock, max_keys=100)
    for i in range(1000):
        limiter.take(f"addr:{i}")
        clock.now += 0.01
    assert len(limiter._buckets) <= 101


@pytest.mark.parametrize(
    ("value", "goes"),
    [
        ("/cases/c1", "/cases/c1"),
        ("/dashboard?since=2026-10-01", "/dashboard?since=2026-10-01"),
        (None, "/"),
        ("", "/"),
        ("cases/c1", "/"),
        ("https://evil.example/x", "/"),
        ("//evil.example/x", "/"),
        ("/\\evil.example", "/"),
        ("/\tevil", "/"),
        ("/login?next=/x", "/"),
        ("javascript:alert(1)", "/"),
    ],
)
def test_only_same_site_paths_are_followed_after_login(value: str | None, goes: str) -> None:
    assert safe_next(value) == goes


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.5", False),
        ("example.com", False),
    ],
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_serving_beyond_this_machine_needs_a_caller() -> None:
    check_exposure("127.0.0.1", 0)
    check_exposure("0.0.0.0", 1)
    with pytest.raises(SupportcueError, match=r"refusing to serve on 0\.0\.0\.0"):
        check_exposure("0.0.0.0", 0)
