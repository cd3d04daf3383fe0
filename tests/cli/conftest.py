"""CLI tests run many commands in one process: each test starts with no cached settings."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from supportcue.settings import get_settings


@pytest.fixture(autouse=True)
def fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
