"""Token buckets per caller: each holds up to `burst` tokens, refilled at `per_minute` a minute; a
request takes one, and with none left it waits `retry_after` seconds (the 429's `Retry-After`).

Two kinds, with one interface (`enabled`, `retry_after`, `take`):

- `RateLimiter`, in memory, per process: the per-request limit (`[security] rate_per_minute`,
  `burst`), checked on every request, where a database round trip would cost every caller. Under
  `serve --workers N` each worker counts for itself, so a caller whose requests are spread over the
  workers may get up to N times the rate and burst (`serve --help` and docs/deployment.md say so).
  Full buckets are dropped when there are many, so addresses seen once do not accumulate.
- `SharedRateLimiter`, in the database (`store.rate_buckets`): failed logins per user name and per
  address, or per device cookie for a browser the user logged in from before (`security.devices`;
  `login_attempts_per_minute`). A password guesser gets the limit once across every worker and
  machine, not once per process; a failed login is rare enough to pay the write. Keys are stored as
  SHA-256 hashes, never as names, addresses or cookies.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from supportcue.data.security import RateBuckets


@dataclass
class RateLimiter:
    per_minute: float
    burst: int
    clock: Callable[[], float] = time.monotonic
    max_keys: int = 10_000
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    @property
    def enabled(self) -> bool:
        return self.per_minute > 0

    def _level(self, key: str, now: float) -> float:
        tokens, at = self._buckets.get(key, (float(self.burst), now))
        return min(float(self.burst), tokens + (now - at) * self.per_minute / 60.0)

    def retry_after(self, key: str) -> int:
        """0 when `key` has a token left; else the whole seconds until it has one (nothing taken)."""
        if not self.enabled:
            return 0
        with self._lock:
            tokens = self._level(key, self.clock())
        return 0 if tokens >= 1 else _wait(tokens, self.per_minute)

    def take(self, key: str) -> int:
        """Take a token: 0 when there was one, else the whole seconds to wait (nothing taken)."""
        if not self.enabled:
            return 0
        with self._lock:
            now = self.clock()
            tokens = self._level(key, now)
            if tokens < 1:
                return _wait(tokens, self.per_minute)
            self._buckets[key] = (tokens - 1, now)
            if len(self._buckets) > self.max_keys:
                self._prune(now)
        return 0

    def _prune(self, now: float) -> None:
        full = [k for k in self._buckets if self._level(k, now) >= self.burst]
        for key in full:
            del self._buckets[key]
        if len(self._buckets) > self.max_keys:  # still too many: forget the oldest
            for key in sorted(self._buckets, key=lambda k: self._buckets[k][1])[: len(self._buckets) // 2]:
                del self._buckets[key]


def _wait(tokens: float, per_minute: float) -> int:
    """Whole seconds until a bucket at `tokens` holds one token."""
    return max(1, math.ceil((1 - tokens) * 60.0 / per_minute))


@dataclass
class SharedRateLimiter:
    """`RateLimiter`'s buckets kept in the database, counted by every process that shares it."""

    buckets: RateBuckets
    per_minute: float
    burst: int
    clock: Callable[[], float] = time.time
    """Seconds since the epoch: processes on different machines compare their readings."""

    @property
    def enabled(self) -> bool:
        return self.per_minute > 0

    @staticmethod
    def _hash(key: str) -> str:
        return hashlib.sha256(key.encode("utf-8")).hexdigest()

    def retry_after(self, key: str) -> int:
        """0 when `key` has a token left; else the whole seconds until it has one (nothing taken)."""
        if not self.enabled:
            return 0
        tokens = self.buckets.level(self._hash(key), self.per_minute / 60.0, self.burst, self.clock())
        return 0 if tokens >= 1 else _wait(tokens, self.per_minute)

    def take(self, key: str) -> int:
        """Take a token: 0 when there was one, else the whole seconds to wait (nothing taken)."""
        if not self.enabled:
            return 0
        hashed, per_second = self._hash(key), self.per_minute / 60.0
        if self.buckets.take(hashed, per_second, self.burst, self.clock()):
            return 0
        return _wait(self.buckets.level(hashed, per_second, self.burst, self.clock()), self.per_minute)
