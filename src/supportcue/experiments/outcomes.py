"""What each case of an experiment measured: one value per case and metric, read from the store.

- `handle_seconds`: the `handle_seconds` of the case's last `resolved` event that has one (cases
  without are left out), when it is at most `max_handle_seconds` (`[experiments]`, 7 days by
  default, the longest `POST /v1/events` accepts): a conversation resolved after longer was left open
  and resolved when someone (or Chatwoot's auto-resolve) got to it, so its "handle time" is how long
  it was forgotten, which would swamp the mean of the minutes agents spend. Such cases are left out
  of this metric and counted per arm (`excluded`, `Outcomes.excluded`); they still count as resolved.
  Leaving cases out by their outcome is unbiased only if the arms lose alike, which the analysis
  tests (`report.py`);
- `resolved`: 1 when the case has a `resolved` event, else 0 (every assigned case counts);
- `first_reply_seconds`: from the case's creation (or its assignment, for a case the store has no
  row of) to its first `sent` event; cases without a reply are left out;
- `match_rate`: 1 when the pipeline's suggestion for the case's first reply matches that reply or
  another reply to the same suggestion (an agent's "let me check" before the answer, or "anything
  else?" after it; as the online metrics count it, `metrics.best_per_suggestion`)
  (`monitoring.match`, `[match] threshold`), else 0, over the cases with a sent reply and a
  suggestion with a text: the text shown, or for the control arm the one computed in shadow and never
  shown (this is what makes the match rate comparable across arms). The suggestion is the one the
  reply names, else the case's latest before the reply (none, and no value, when the reply came
  first); `batch suggest` back-fills are no arm's suggestions. For a reply whose text `purge`
  removed, the similarity measured before is used.

A stopped experiment counts what happened until it stopped: from then on every case is shown
suggestions (the control arm's too), so a reply, a resolution or a suggestion after the stop is no
arm's outcome, and neither is a case a server assigned in the second before it noticed the stop (the
result stops moving once the experiment has). A split imported from the help desk is stored as ending
just past its last case's creation, which chooses its cases only: their outcomes count whenever they
came (its last cases are resolved after that).

The CUPED covariate of a case is its agent's mean handle time over the `resolved` events before the
experiment started; the agent is the one on the case's `resolved` (else `sent`) event. A case whose
agent has no earlier cases gets the mean over the agents that have (CUPED then leaves it as it is).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from supportcue.data.experiments import Imported
from supportcue.data.store import Store
from supportcue.experiments.design import METRICS, Design
from supportcue.monitoring.match import DEFAULT_THRESHOLD, similarity
from supportcue.vocab import HOLDOUT, EventKind

MAX_HANDLE_SECONDS = 7 * 24 * 3600.0
"""The longest credible handle time (the default of `[experiments] max_handle_seconds`)."""


@dataclass
class CaseOutcome:
    case_id: str
    arm: str
    agent: str | None = None
    handle_seconds: float | None = None
    resolved: float = 0.0
    first_reply_seconds: float | None = None
    match_rate: float | None = None

    def value(self, metric: str) -> float | None:
        if metric not in METRICS:
            raise ValueError(f"unknown metric {metric!r}; allowed: {', '.join(METRICS)}")
        value: float | None = getattr(self, metric)
        return value


@dataclass
class Outcomes:
    """The experiment's cases with their outcomes, and what the guard rails need."""

    cases: list[CaseOutcome]
    agent_means: dict[str, float] = field(default_factory=dict)
    """Each agent's mean handle time before the experiment (the CUPED covariate)."""
    versions: dict[str, Counter[str]] = field(default_factory=dict)
    """Per arm: suggestions per pipeline version."""
    simulated: int = 0
    """Suggestions of the experiment's cases that were simulated (the demo)."""
    max_handle_seconds: float | None = MAX_HANDLE_SECONDS
    """Handle times above it are left out of `handle_seconds` (None: none is)."""

    def counts(self) -> Counter[str]:
        """Assigned cases per arm."""
        return Counter(c.arm for c in self.cases)

    def over_cap(self, case: CaseOutcome) -> bool:
        """Whether the case's handle time is over `max_handle_seconds` (no handle time: it is not)."""
        cap, handle = self.max_handle_seconds, case.handle_seconds
        return cap is not None and handle is not None and handle > cap

    def excluded(self, metric: str) -> Counter[str]:
        """Per arm, the cases `metric` leaves out for their value (handle times over the cap)."""
        if metric != "handle_seconds":
            return Counter()
        return Counter(c.arm for c in self.cases if self.over_cap(c))

    def values(self, metric: str, arm: str) -> tuple[list[float], list[float]]:
        """The arm's values of `metric` (cases without one, and handle times over the cap, left out)
        and their covariates."""
        fallback = _mean(list(self.agent_means.values()))
        ys, xs = [], []
        for c in self.cases:
            value = c.value(metric)
            if c.arm != arm or value is None or (metric == "handle_seconds" and self.over_cap(c)):
                continue
            ys.append(value)
            xs.append(self.agent_means.get(c.agent or "", fallback) if fallback is not None else 0.0)
        return ys, xs


def _mean(values: list[float]) -> float | None:
    return math.fsum(values) / len(values) if values else None


_SIMILARITIES: dict[tuple[str, int, str, int], float | None] = {}
"""Similarity per (database, sent event id, suggestion id, digest of the texts compared): a reply and
a suggestion never change (a purge keeps the similarity), so each pair is scored once per process;
the texts are in the key because a database rebuilt at the same address numbers its events from 1
again."""
_CACHE_LIMIT = 200_000


def read_outcomes(
    store: Store,
    design: Design,
    threshold: float = DEFAULT_THRESHOLD,
    match: bool = True,
    imported: Imported | None = None,
    max_handle_seconds: float | None = MAX_HANDLE_SECONDS,
) -> Outcomes:
    """The outcomes of every case assigned in `design`'s experiment (`match=False` skips the match
    rate, which compares texts: about a millisecond a case the first time); with `imported`, of the
    cases whose own `arm` column puts them in an arm (a team's own split, `report.py`). Handle times
    over `max_handle_seconds` (None: no limit) are left out of `handle_seconds` and of the agents'
    earlier means (the CUPED covariate)."""
    key = design.key
    # A split the help desk ran is stored as ending just past its last case's creation: that bounds
    # which cases are in it, not their outcomes (the last cases are resolved after it). A stop in
    # supportcue bounds both: from then on every case is shown suggestions.
    until = None if design.imported else design.ended_at
    cases: dict[str, CaseOutcome] = {}
    start: dict[str, datetime] = {}
    names: dict[str, str | None] = {}
    for case_id, arm, assigned_at, created_at, customer_name in store.experiments.cases_of(
        key, until=until, imported=imported
    ):
        cases[case_id] = CaseOutcome(case_id, arm)
        start[case_id] = created_at or assigned_at
        names[case_id] = customer_name
    suggestions: dict[str, Any] = {}
    by_case: dict[str, list[Any]] = defaultdict(list)
    versions: dict[str, Counter[str]] = defaultdict(Counter)
    simulated = 0
    for row in store.experiments.suggestions_of(key, until=until, imported=imported):
        suggestions[row.id] = row
        by_case[row.case_id].append(row)
        versions[cases[row.case_id].arm][row.pipeline_version] += 1
        simulated += bool(row.simulated)
    first_sent: dict[str, Any] = {}
    sent_on: dict[str, list[Any]] = defaultdict(list)
    database = store.db.engine.url.render_as_string()
    for e in store.experiments.events_of(key, until=until, imported=imported):
        c = cases[e.case_id]
        if e.kind == EventKind.RESOLVED:
            c.resolved = 1.0
            if e.handle_seconds is not None:
                c.handle_seconds = float(e.handle_seconds)
            c.agent = e.agent_id or c.agent
            continue
        sent_on[e.case_id].append(e)
        if e.case_id not in first_sent:
            first_sent[e.case_id] = e
            c.agent = c.agent or e.agent_id
            c.first_reply_seconds = max(0.0, (e.ts - start[e.case_id]).total_seconds())

    def answers(sent: Any) -> Any | None:
        return suggestions.get(sent.suggestion_id or "") or _latest_before(by_case[sent.case_id], sent.ts)

    for case_id, first in first_sent.items() if match else ():
        suggestion = answers(first)
        if suggestion is None:
            continue
        sims = []
        for sent in sent_on[case_id]:  # the replies to that suggestion: "let me check", the answer, ...
            if sent is not first and answers(sent) is not suggestion:
                continue
            texts = (_would_be_text(suggestion), sent.text, sent.purged_at is not None, names[case_id])
            pair = (database, int(sent.id), str(suggestion.id), hash(texts))
            if pair not in _SIMILARITIES:
                if len(_SIMILARITIES) >= _CACHE_LIMIT:
                    _SIMILARITIES.clear()
                _SIMILARITIES[pair] = _similarity(suggestion, sent, names[case_id])
            sims.append(_SIMILARITIES[pair])
        best = max((x for x in sims if x is not None), default=None)
        cases[case_id].match_rate = None if best is None else float(best >= threshold)
    means = store.experiments.agent_means(design.started_at, max_handle_seconds) if design.started_at else {}
    return Outcomes(
        cases=list(cases.values()),
        agent_means={agent: mean for agent, (_, mean) in means.items()},
        versions=dict(versions),
        simulated=simulated,
        max_handle_seconds=max_handle_seconds,
    )


def _latest_before(rows: list[Any], ts: datetime) -> Any | None:
    """The newest of the case's suggestions (oldest first) made by `ts`; None when all came later (a
    reply sent before the pipeline suggested anything answers none of them)."""
    earlier = [r for r in rows if r.created_at <= ts]
    return earlier[-1] if earlier else None


def _would_be_text(suggestion: Any) -> tuple[str | None, bool]:
    """The suggestion's text and whether it was shown (False: the control arm's shadow text)."""
    if suggestion.text is not None:
        return suggestion.text, True
    shadow: Mapping[str, Any] = suggestion.shadow or {}
    if suggestion.abstained_at == HOLDOUT and shadow.get("text"):
        return str(shadow["text"]), False
    return None, False


def _similarity(suggestion: Any, sent: Any, customer_name: str | None) -> float | None:
    text, shown = _would_be_text(suggestion)
    if text is None:
        return None
    if sent.purged_at is not None:  # the texts are gone: the similarity measured before
        kept = sent.similarity if shown else sent.shadow_similarity
        return None if kept is None else float(kept)
    if not sent.text:
        return None
    return similarity(text, sent.text, customer_name)
