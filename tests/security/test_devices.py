"""Device cookies on both databases: a cookie verifies for the name it was issued for, at every
process sharing the database, until it expires; anything else (another name, an altered part, an old
or made-up value) is no device cookie."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from supportcue.data.store import Store, open_store
from supportcue.data.tables import SigningKey
from supportcue.security.devices import LIFETIME_S, DeviceCookies


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_cookie_verifies_for_its_name_only(store: Store) -> None:
    cookies = DeviceCookies(store.signing_keys)
    alice = cookies.issue("alice")
    device = cookies.device(alice, "alice")
    assert device is not None and device == alice.split(".")[0]
    assert cookies.device(alice, "bob") is None and cookies.device(alice, "Alice") is None
    assert "alice" not in alice
    other = cookies.issue("alice")  # every cookie its own device (its own bucket)
    assert other != alice and cookies.device(other, "alice") not in (None, device)


@pytest.mark.parametrize("part", [0, 1, 2])
def test_an_altered_cookie_is_no_cookie(store: Store, part: int) -> None:
    cookies = DeviceCookies(store.signing_keys)
    parts = cookies.issue("alice").split(".")
    original = parts[part]
    parts[part] = original[:-1] + ("1" if original[-1] == "0" else "0")
    assert parts[part] != original
    assert cookies.device(".".join(parts), "alice") is None


@pytest.mark.parametrize(
    "value", [None, "", "alice", "a.b.c", "é" * 30, "x" * 5000, "AAAAAAAAAAAAAAAAAAAAAA.1." + "0" * 64]
)
def test_made_up_values_are_no_cookie(store: Store, value: str | None) -> None:
    assert DeviceCookies(store.signing_keys).device(value, "alice") is None


def test_a_cookie_expires(store: Store) -> None:
    clock = Clock()
    cookies = DeviceCookies(store.signing_keys, clock=clock)
    value = cookies.issue("alice")
    clock.now += LIFETIME_S - 60
    assert cookies.device(value, "alice") is not None
    clock.now += 120
    assert cookies.device(value, "alice") is None


def test_every_process_sharing_the_database_signs_with_one_key_made_once(
    store: Store, database_url: str
) -> None:
    """Processes starting at once each read or make the key: they all end with the stored one."""
    others = [open_store(database_url) for _ in range(4)]
    try:
        with ThreadPoolExecutor(4) as pool:
            issued = list(pool.map(lambda s: DeviceCookies(s.signing_keys).issue("alice"), others))
        here = DeviceCookies(store.signing_keys)
        assert all(here.device(value, "alice") for value in issued)
    finally:
        for other in others:
            other.close()
    with store.db.session() as s:
        assert s.scalar(select(func.count()).select_from(SigningKey)) == 1
