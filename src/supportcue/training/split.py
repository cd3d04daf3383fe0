"""How a backtest holds out its test cases: in time order when the history allows it, otherwise a
stratified sample. The split, and why it was chosen, is recorded with the figures it produced.

Training on the older cases and testing on the newer ones is the honest backtest: it is how a model
is used. It measures nothing when the cases' `created_at` do not span real time (a file imported
without a created_at column: every case carries the import time, so "newer" means "lower in the file")
or when a tested label has no older case (the model cannot know it: a file sorted by topic tests only
topics it never saw). Then `test_share` of each label's cases is held out, chosen by a hash of the
case id: the same cases whatever the order of the rows, and mostly the same ones as the data grows.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from supportcue.errors import SupportcueError
from supportcue.training.dataset import LabeledSet

TIME = "time"
STRATIFIED = "stratified"
MIN_LABELS = 10
"""A task with fewer labeled cases is neither trained nor backtested."""
MIN_PART = 5
"""A time cut that leaves fewer training or test cases than this is not used."""


@dataclass(frozen=True)
class Split:
    """A backtest's split: `kind` "time" (at `cut`) or "stratified" (`test_share` of each label)."""

    kind: str
    reason: str
    cut: datetime | None = None
    test_share: float = 0.2

    def parts(self, data: LabeledSet, gold: LabeledSet) -> tuple[LabeledSet, LabeledSet]:
        """(train, test): training cases from `data` (labels of every source), test cases from `gold`
        (the people's labels); no case is in both."""
        if self.cut is not None:
            return data.split(self.cut)[0], gold.split(self.cut)[1]
        held = held_out(gold, self.test_share)
        train = data.where(lambda i: data.case_ids[i] not in held)
        return train, gold.where(lambda i: gold.case_ids[i] in held)

    def trains_on(self, gold: LabeledSet) -> Callable[[str, datetime], bool]:
        """Whether a case (its id and `created_at`) is on the training side of this split, labeled
        or not: older than the cut, or not one of the test cases held out of `gold`."""
        if self.cut is not None:
            cut = self.cut
            return lambda case_id, created_at: created_at < cut
        held = held_out(gold, self.test_share)
        return lambda case_id, created_at: case_id not in held

    def describe(self) -> str:
        """One line for people: which split, and why."""
        if self.cut is not None:
            return (
                f"time-ordered split: trained on cases before {self.cut:%Y-%m-%d %H:%M}, "
                f"tested on the cases after ({self.reason})"
            )
        return f"stratified split: {self.test_share:.0%} of each label's cases held out ({self.reason})"

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "cut": self.cut.isoformat() if self.cut else None,
            "test_share": self.test_share,
            "reason": self.reason,
            "description": self.describe(),
        }

    @classmethod
    def recorded(cls, metrics: Mapping[str, Any]) -> Split | None:
        """The split of a model version's recorded backtest (versions written before splits were
        recorded were time-ordered at their `cut`), or None when it has no backtest."""
        split = metrics.get("split")
        if isinstance(split, Mapping):
            cut = split.get("cut")
            return cls(
                str(split.get("kind", STRATIFIED)),
                str(split.get("reason", "")),
                datetime.fromisoformat(cut) if cut else None,
                float(split.get("test_share", 0.2)),
            )
        if metrics.get("cut"):
            return cls(TIME, "recorded cut", datetime.fromisoformat(str(metrics["cut"])))
        return None


def _rank(case_id: str) -> str:
    return hashlib.sha256(case_id.encode()).hexdigest()


def held_out(data: LabeledSet, share: float) -> set[str]:
    """`share` of each label's cases (rounded; at least one of each label stays for training),
    chosen by a hash of the case id."""
    by_label: dict[str, list[str]] = defaultdict(list)
    for case_id, label in zip(data.case_ids, data.labels, strict=True):
        by_label[label].append(case_id)
    out: set[str] = set()
    for ids in by_label.values():
        ids.sort(key=_rank)
        out.update(ids[: min(len(ids) - 1, int(len(ids) * share + 0.5))])
    return out


def _duration(span: timedelta) -> str:
    hours = span.total_seconds() / 3600
    if hours >= 48:
        return f"{hours / 24:.0f} days"
    if hours >= 1:
        return f"{hours:.1f} hours"
    return f"{span.total_seconds():.0f} seconds"


def choose_split(
    data: LabeledSet,
    gold: LabeledSet,
    test_share: float = 0.2,
    min_spread_hours: float = 24.0,
    since: datetime | None = None,
) -> Split:
    """Time-ordered at the `1 - test_share` quantile of `created_at` when the cases span at least
    `min_spread_hours`, the cut leaves enough cases on both sides, and every label tested has training
    cases before the cut; a stratified split otherwise. `since` forces a time cut there."""
    if since is not None:
        return Split(TIME, "cut given with --since", since, test_share)
    if len(data) < MIN_LABELS:
        unmatched = (
            f"; {len(data.unmatched):,} labeled case id(s) match no imported case (e.g. "
            f"{data.unmatched[0]}): import the cases (`supportcue import cases FILE`) or fix the labels' "
            "case_id"
            if data.unmatched
            else "; import more (`supportcue import labels FILE`; its columns: docs/data-formats.md)"
        )
        raise SupportcueError(
            f"only {len(data)} {data.task} labels: need at least {MIN_LABELS} to train and backtest"
            + unmatched
        )

    def stratified(reason: str) -> Split:
        return Split(STRATIFIED, reason, None, test_share)

    ordered = sorted(data.created_at)
    span = ordered[-1] - ordered[0]
    if span < timedelta(hours=min_spread_hours):
        return stratified(
            f"the cases' created_at span only {_duration(span)}, under [gate] min_time_spread_hours = "
            f"{min_spread_hours:g}; imported without a created_at, every case has the import time"
        )
    cut = ordered[int(len(ordered) * (1 - test_share))]
    timed = Split(TIME, f"the cases span {_duration(span)}", cut, test_share)
    train, test = timed.parts(data, gold)
    if len(train) < MIN_PART or len(test) < MIN_PART:
        return stratified(f"a time cut at {cut:%Y-%m-%d} leaves {len(train)} train / {len(test)} test cases")
    unseen = sorted(set(test.labels) - set(train.labels))
    if unseen:
        shown = ", ".join(unseen[:5]) + (f" and {len(unseen) - 5} more" if len(unseen) > 5 else "")
        n = sum(1 for label in test.labels if label in set(unseen))
        return stratified(
            f"a time cut at {cut:%Y-%m-%d %H:%M} would test {n} of {len(test)} cases on labels with no "
            f"older case to learn from ({shown})"
        )
    return timed
