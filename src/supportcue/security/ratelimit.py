"""Token buckets per caller: each holds up to `burst` tokens, refilled at `per_minute` a minute; a
request takes one, and with none left it waits `retry_after` seconds (the 429's `Retry-After`).

In memory, per process: under `serve --workers N` each worker counts for itself, so a caller whose
requests are spread over the workers may get up to N times the rate and burst (`serve --help` and
docs/deployment.md say so). Full buckets are dropped when there are many, so addresses seen once do
not accumulate.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


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
        return 0 if tokens >= 1 else self._wait(tokens)

    def take(self, key: str) -> int:
        """Take a token: 0 when there was one, else the whole seconds to wait (nothing taken)."""
        if not self.enabled:
            return 0
        with self._lock:
            now = self.clock()
            tokens = self._level(key, now)
            if tokens < 1:
                return self._wait(tokens)
            self._buckets[key] = (tokens - 1, now)
            if len(self._buckets) > self.max_keys:
                self._prune(now)
        return 0

    def _wait(self, tokens: float) -> int:
        return max(1, math.ceil((1 - tokens) * 60.0 / self.per_minute))

    def _prune(self, now: float) -> None:
        full = [k for k in self._buckets if self._level(k, now) >= self.burst]
        for key in full:
            del self._buckets[key]
        if len(self._buckets) > self.max_keys:  # still too many: forget the oldest
            for key in sorted(self._buckets, key=lambda k: self._buckets[k][1])[: len(self._buckets) // 2]:
                del self._buckets[key]
