"""Which arm a case is in: a deterministic hash, recorded the first time the case is seen.

The hash is GrowthBook's (version 2), so it is the same in every process, on every machine and after
every restart, and the same as GrowthBook's SDKs compute for the same seed and id:

    bucket(seed, id) = fnv1a32(str(fnv1a32(seed + id))) % 10000 / 10000        in [0, 1)

with FNV-1a over the string's characters (32 bits) and the experiment's name as the seed. The arms
own side-by-side ranges of [0, 1) in proportion to their weights, each range shrunk to `coverage` of
its width (GrowthBook's `getBucketRanges`): with weights 50/50 and coverage 0.8, the first arm is
[0, 0.4), the second [0.5, 0.9), and a case whose bucket falls in a gap stays out of the experiment.

`assign_case(store, case_id)` is the one entry point for every route that sees a case (/v1/suggest,
`supportcue suggest`, conversations and help-desk webhooks): while an experiment runs, a case that
was not seen before the experiment started gets its arm recorded (`assignments`, and the case's
`arm` column when the case exists); later calls return the recorded arm. A case seen before the
start (created, suggested for or assigned earlier) never enters the experiment. The running
experiment is re-read when the store's `experiments` counter moves, checked at most once per
`CACHE_TTL_S`, so `experiment stop` reaches a running server within about a second.

`with_assignment(request, assignment)` gives a suggestion request its arm; for the control arm it
also sets `holdout`, which makes the pipeline run every live stage in shadow (and a stage in shadow
not at all): the suggestion the other arm would be shown is computed and stored (so both arms'
match rates are measured) but not shown.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from supportcue.data.store import Store
from supportcue.data.tables import utcnow
from supportcue.experiments.design import Design
from supportcue.pipeline import SuggestRequest

FNV_OFFSET = 0x811C9DC5
FNV_PRIME = 0x01000193
BUCKETS = 10_000
CACHE_TTL_S = 1.0
"""The running experiment is re-checked (one primary-key read) at most this often per process."""
CACHE_CASES = 200_000
"""Recorded arms kept in memory per process before the cache starts over."""


def fnv1a32(text: str) -> int:
    """32-bit FNV-1a over the characters of `text` (as GrowthBook's Python SDK computes it)."""
    h = FNV_OFFSET
    for ch in text:
        h = ((h ^ ord(ch)) * FNV_PRIME) & 0xFFFFFFFF
    return h


def bucket(seed: str, unit: str) -> float:
    """Where `unit` falls in [0, 1) for `seed`: GrowthBook's hash version 2."""
    return fnv1a32(str(fnv1a32(seed + unit))) % BUCKETS / BUCKETS


def bucket_ranges(weights: Sequence[float], coverage: float = 1.0) -> list[tuple[float, float]]:
    """Each arm's [start, end) of [0, 1): side by side by weight, each `coverage` of its width."""
    coverage = min(1.0, max(0.0, coverage))
    ranges, start = [], 0.0
    for w in weights:
        ranges.append((start, start + coverage * w))
        start += w
    return ranges


def choose_arm(design: Design, case_id: str) -> str | None:
    """The arm of `case_id` in the experiment `design`, or None when it falls outside the coverage."""
    n = bucket(design.key, case_id)
    for arm, (start, end) in zip(design.arms, bucket_ranges(design.weights, design.coverage), strict=True):
        if start <= n < end:
            return arm.name
    return None


@dataclass(frozen=True)
class Assignment:
    """A case's place in the running experiment."""

    experiment: str
    arm: str
    control: bool
    """True for the arm that is served no suggestion."""

    @property
    def holdout(self) -> str | None:
        """Why no suggestion is shown (the control arm), else None."""
        if not self.control:
            return None
        return f"experiment {self.experiment!r}: the {self.arm!r} arm sees no suggestion (computed in shadow)"


def with_assignment(request: SuggestRequest, assignment: Assignment | None) -> SuggestRequest:
    """`request` with the case's arm (stored with the suggestion) and, for the control arm, `holdout`."""
    if assignment is None:
        return request
    return replace(request, arm=assignment.arm, holdout=assignment.holdout)


@dataclass
class _Cache:
    """Per store: the running experiment as last read, and the arms recorded so far."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    checked: float = float("-inf")
    version: int = -1
    design: Design | None = None
    arms: dict[tuple[str, str], str | None] = field(default_factory=dict)


_CACHES: weakref.WeakKeyDictionary[Store, _Cache] = weakref.WeakKeyDictionary()
_CACHES_LOCK = threading.Lock()


def _cache(store: Store) -> _Cache:
    with _CACHES_LOCK:
        found = _CACHES.get(store)
        if found is None:
            found = _CACHES[store] = _Cache()
        return found


def running_experiment(store: Store, ttl: float = CACHE_TTL_S) -> Design | None:
    """The experiment running in the store's workspace, if any (re-read when the counter moved)."""
    cache = _cache(store)
    now = time.monotonic()
    if now - cache.checked < ttl:
        return cache.design
    with cache.lock:
        if now - cache.checked >= ttl:
            version = store.experiments.version()
            if version != cache.version:
                row = store.experiments.running()
                cache.design, cache.version = (Design.of(row) if row is not None else None), version
            cache.checked = now
        return cache.design


def assign_case(
    store: Store, case_id: str | None, *, seen_at: datetime | None = None, ttl: float = CACHE_TTL_S
) -> Assignment | None:
    """The case's arm in the running experiment, recorded now if this is the first time the case is
    seen while it runs; None when no experiment runs, the case was seen before it started, or it
    falls outside the coverage. `seen_at` (default: now) is when the case was seen."""
    if not case_id:
        return None
    design = running_experiment(store, ttl)
    if design is None:
        return None
    at = seen_at or utcnow()
    if design.started_at is not None and at < design.started_at:
        return None  # created with a later --start: not running yet
    cache = _cache(store)
    key = (design.key, case_id)
    if key in cache.arms:
        arm = cache.arms[key]
    else:
        arm = store.experiments.arm_of(design.key, case_id)
        if arm is None:
            arm = _first_sight(store, design, case_id, at)
        if len(cache.arms) >= CACHE_CASES:
            cache.arms.clear()
        cache.arms[key] = arm
    return None if arm is None else Assignment(design.key, arm, arm == design.control)


def _first_sight(store: Store, design: Design, case_id: str, at: datetime) -> str | None:
    started = design.started_at or at
    if store.experiments.seen_before(case_id, started):
        return None
    arm = choose_arm(design, case_id)
    if arm is not None:
        store.experiments.record(design.key, [{"case_id": case_id, "arm": arm, "assigned_at": at}])
        # another process may have recorded it first (with the same arm: the hash is deterministic)
    return arm
