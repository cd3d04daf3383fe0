"""Online metrics: is the assistant used, and where does it fail?

Over the suggestions created in [since, until) (UTC; `until` exclusive):

- **match rate**: of the suggestions with a text whose case has a `sent` reply, the share whose text
  matches that reply (`monitoring.match`, `[match] threshold`); the similarity histogram goes with it.
  A suggestion followed by several agent messages is counted once, against the one most similar to
  it (`best_per_suggestion`): a follow-up ("anything else?") is not a second, missed suggestion;
- **adoption**: suggestions inserted / suggestions shown (`inserted` and `shown` events; a
  suggestion with a text that was inserted or dismissed was shown, one without a text never is);
- **coverage**: suggestions with a text / valid suggestions (all but those validation stopped or
  held out: a timeout or an error at the validation stage judged nothing, so it counts as valid);
- **funnel**: per stage, in order, how many suggestions reached it and how many it stopped;
- **edit**: 1 - similarity of the replies sent after inserting the suggestion (0: sent unchanged);
- **latency**: p50 / p99 of the pipeline's latency over live requests (not simulated history, not
  `supportcue suggest`); **dismissals** per reason;
- **shadow agreement**: per stage in shadow mode, the share of its would-be suggestions that match
  what the agent sent;
- **held out**: suggestions held back for an experiment's control arm (`abstained_at = "holdout"`,
  computed in shadow): outside coverage's denominator and the funnel; their would-be texts' match
  rate is `match_rate_held_out` (with `group_by=arm`, the control arm's match rate).

Each also per `group_by` = day | topic | stage (where the pipeline stopped, `suggested` when it did
not) | model (pipeline version) | arm | agent (adoption: of the suggestions shown to the agent; match
rate: of the replies the agent sent; see `facts.py`). `report` is a pure function over `Facts` (see
`facts.py`); `compute_report` reads them from the store.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from rich.console import Console
from rich.table import Table

from supportcue.boundary import MAX_TIME, MIN_TIME, check_time
from supportcue.data.store import Store
from supportcue.monitoring.facts import GROUPS, Counts, Facts, Pair, facts_from_rows, query_facts
from supportcue.monitoring.match import similarity
from supportcue.settings import OPTIONAL_STAGES, STAGES, Settings
from supportcue.vocab import HOLDOUT, ModelStatus

BUCKETS = 10
MAX_PAIRS = 10_000
"""Sent replies scored per report; beyond it an evenly spread sample is scored (and says so)."""
_CACHE: dict[tuple[int, str, int], tuple[float | None, float | None]] = {}
"""Similarities per (sent event id, suggestion id, digest of the texts compared): the ids alone
repeat across databases (each numbers its events from 1), and a process may read several."""
_CACHE_LIMIT = 500_000

Scored = tuple[Pair, float | None, float | None]
"""A pair with the similarity of its suggestion and of its shadow suggestion to the sent reply."""

__all__ = [
    "GROUPS",
    "compute_dashboard",
    "compute_report",
    "facts_from_rows",
    "parse_range",
    "parse_time",
    "print_report",
    "report",
]


_SPACED_OFFSET = re.compile(r"^(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}:?\d{2})$")
"""A time whose `+HH:MM` offset arrived as ` HH:MM`: a `+` left unescaped in a query string (curl
sends `?since=2026-10-01T11:00+02:00` so) is read as a space, and can have meant nothing else."""


def parse_time(value: str | date | datetime | None, name: str = "since") -> datetime | None:
    """An ISO date or datetime as aware UTC, within [MIN_TIME, MAX_TIME) (so window arithmetic cannot
    overflow); a ValueError names the parameter and the format or the range."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day, tzinfo=UTC)
    else:
        try:
            text = _SPACED_OFFSET.sub(r"\1+\2", value.strip())
            parsed = datetime.fromisoformat(re.sub("[zZ]$", "+00:00", text))  # RFC 3339 allows z
        except ValueError:
            raise ValueError(
                f"{name}={value!r} is not an ISO date or datetime (e.g. 2026-10-01 or 2026-10-01T12:00)"
            ) from None
    try:
        return check_time(parsed)
    except ValueError:
        raise ValueError(
            f"{name}={value} is out of range: give a time from {MIN_TIME:%Y-%m-%d} to before "
            f"{MAX_TIME:%Y-%m-%d}"
        ) from None


def parse_range(
    since: str | date | datetime | None,
    until: str | date | datetime | None,
    names: tuple[str, str] = ("since", "until"),
) -> tuple[datetime | None, datetime | None]:
    """`parse_time` of both ends; a ValueError too when `since` is not before `until` (a range with
    nothing in it, whose figures would all read "no data"). The errors call the ends `names`: the
    API's query parameters by default, the CLI passes its options (`--since`, `--until`)."""
    start, end = parse_time(since, names[0]), parse_time(until, names[1])
    if start and end and start >= end:
        raise ValueError(f"{names[0]} ({since}) must be before {names[1]} ({until})")
    return start, end


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _score(pair: Pair) -> Scored:
    if pair.stored is not None:  # its texts were purged: the similarities measured before
        return (pair, *pair.stored)
    key = None
    if pair.cache_key is not None:
        texts = (pair.suggested, pair.sent, pair.shadow_text, pair.shadow_stages, pair.customer_name)
        key = (*pair.cache_key, hash(texts))
        if key in _CACHE:
            return (pair, *_CACHE[key])
    sim = similarity(pair.suggested, pair.sent, pair.customer_name) if pair.suggested else None
    shadow = (
        similarity(pair.shadow_text, pair.sent, pair.customer_name)
        if pair.shadow_text and pair.shadow_stages
        else None
    )
    if key is not None:
        if len(_CACHE) >= _CACHE_LIMIT:
            _CACHE.clear()
        _CACHE[key] = (sim, shadow)
    return pair, sim, shadow


def _percentiles(hist: Counter[float] | None) -> dict[str, float | None]:
    """Nearest-rank p50 / p99 of a latency histogram (values rounded down to 2 significant digits)."""
    n = sum(hist.values()) if hist else 0
    if not hist or not n:
        return {"n": 0, "p50": None, "p99": None}
    out: dict[str, float | None] = {"n": n}
    for name, q in (("p50", 0.5), ("p99", 0.99)):
        rank, seen = max(1, math.ceil(q * n)), 0
        for value in sorted(hist):
            seen += hist[value]
            if seen >= rank:
                out[name] = value
                break
    return out


def _similarity_summary(sims: Sequence[float], threshold: float) -> dict[str, Any]:
    histogram = [0] * BUCKETS
    for v in sims:
        histogram[min(BUCKETS - 1, int(v * BUCKETS))] += 1
    return {
        "n": len(sims),
        "matches": sum(v >= threshold for v in sims),
        "mean": round(statistics.fmean(sims), 4) if sims else None,
        "median": round(statistics.median(sims), 4) if sims else None,
        "buckets": [f"{i / BUCKETS:.1f}-{(i + 1) / BUCKETS:.1f}" for i in range(BUCKETS)],
        "histogram": histogram,
    }


def _funnel(by_stage: dict[str, int], total: int) -> list[dict[str, Any]]:
    rows, entered = [], total
    for stage in STAGES:
        stopped = by_stage.get(stage, 0)
        if stage in OPTIONAL_STAGES and not stopped:  # the LLM draft, in a workspace that may not use it
            continue
        rows.append({"stage": stage, "entered": entered, "stopped": stopped, "passed": entered - stopped})
        entered -= stopped
    return rows


def _shadow(scored: Iterable[Scored], threshold: float) -> list[dict[str, Any]]:
    n: Counter[str] = Counter()
    agree: Counter[str] = Counter()
    for pair, _, shadow in scored:
        if shadow is None or pair.keys.stage == HOLDOUT:  # a control arm's whole chain, not one stage
            continue
        for stage in pair.shadow_stages:
            n[stage] += 1
            agree[stage] += shadow >= threshold
    return [
        {"stage": s, "n": n[s], "agreements": agree[s], "agreement": _rate(agree[s], n[s])}
        for s in STAGES
        if n[s]
    ]


def _summary(
    counts: Counts,
    scored: Sequence[Scored],
    reasons: Counter[str],
    latencies: Counter[float] | None,
    threshold: float,
) -> dict[str, Any]:
    sims = [sim for p, sim, _ in scored if p.suggested and sim is not None]
    matches = sum(v >= threshold for v in sims)
    edits = [1.0 - sim for p, sim, _ in scored if p.inserted and sim is not None]
    held = [shadow for p, _, shadow in scored if p.keys.stage == HOLDOUT and shadow is not None]
    return {
        "match_rate": _rate(matches, len(sims)),
        "match_rate_held_out": _rate(sum(v >= threshold for v in held), len(held)),
        "adoption": _rate(counts.inserted, counts.shown),
        "coverage": _rate(counts.suggested, counts.valid),
        "suggestions": counts.suggestions,
        "valid": counts.valid,
        "suggested": counts.suggested,
        "shown": counts.shown,
        "inserted": counts.inserted,
        "dismissed": counts.dismissed,
        "dismiss_rate": _rate(counts.dismissed, counts.shown),
        "dismiss_reasons": dict(reasons.most_common()),
        "sent_pairs": len(sims),
        "matches": matches,
        "mean_similarity": round(statistics.fmean(sims), 4) if sims else None,
        "mean_edit": round(statistics.fmean(edits), 4) if edits else None,
        "latency_p50_ms": _percentiles(latencies)["p50"],
        "latency_p99_ms": _percentiles(latencies)["p99"],
    }


def groups(facts: Facts, scored: Sequence[Scored], threshold: float, group_by: str) -> list[dict[str, Any]]:
    """One summary per value of `group_by`: by day in date order, otherwise by volume."""
    if group_by not in GROUPS:
        raise ValueError(f"group_by={group_by!r} is not one of: {', '.join(GROUPS)}")
    counts: dict[str, Counts] = defaultdict(Counts)
    for keys, c in facts.counts:
        counts[keys.get(group_by)].add(c)
    pairs: dict[str, list[Scored]] = defaultdict(list)
    for item in scored:
        pairs[item[0].keys.get(group_by)].append(item)
        counts.setdefault(item[0].keys.get(group_by), Counts())  # replies, and no suggestion shown
    reasons: dict[str, Counter[str]] = defaultdict(Counter)
    for keys, reason, n in facts.dismissals:
        reasons[keys.get(group_by)][reason] += n
    latencies = facts.latencies.get(group_by, {})
    rows = [
        {"key": k, **_summary(c, pairs[k], reasons[k], latencies.get(k), threshold)}
        for k, c in counts.items()
    ]
    if group_by == "day":
        return sorted(rows, key=lambda r: r["key"])
    if group_by == "agent":  # a help desk's agents may have replies and no suggestion shown
        return sorted(rows, key=lambda r: (-r["suggestions"], -r["sent_pairs"], r["key"]))
    return sorted(rows, key=lambda r: (-r["suggestions"], r["key"]))


def score(facts: Facts) -> list[Scored]:
    """Similarities of every pair (cached per sent event and suggestion across reports)."""
    return [_score(p) for p in facts.pairs]


def _higher(a: float | None, b: float | None) -> bool:
    return b is not None and (a is None or b > a)


def best_per_suggestion(scored: Sequence[Scored]) -> list[Scored]:
    """One item per suggestion, in the order of their first pairs. An agent often sends several
    messages after one suggestion ("let me check", the answer, "anything else?"), each paired with
    it: the suggestion is scored against the reply most similar to it (whose agent and keys the item
    keeps; the first of equals), and its shadow text against the reply most similar to that. So a
    follow-up message is not counted as a second, missed suggestion, and a suggestion sent after a
    holding message still matches. Pairs without a suggestion id stay as they are."""
    best: dict[str | int, Scored] = {}
    for i, item in enumerate(scored):
        key = item[0].suggestion_id or i
        kept = best.get(key)
        if kept is None:
            best[key] = item
            continue
        pair, sim = (item[0], item[1]) if _higher(kept[1], item[1]) else (kept[0], kept[1])
        best[key] = (pair, sim, item[2] if _higher(kept[2], item[2]) else kept[2])
    return list(best.values())


def report(
    facts: Facts, threshold: float = 0.7, group_by: str | None = None, scored: Sequence[Scored] | None = None
) -> dict[str, Any]:
    """The metrics of `facts` (pure: no store): overall, and per `group_by` value under `groups`."""
    if group_by is not None and group_by not in GROUPS:
        raise ValueError(f"group_by={group_by!r} is not one of: {', '.join(GROUPS)}")
    scored = best_per_suggestion(score(facts) if scored is None else scored)
    total = Counts()
    by_stage: Counter[str] = Counter()
    for keys, c in facts.counts:
        total.add(c)
        by_stage[keys.stage] += c.suggestions
    reasons: Counter[str] = Counter()
    for _, reason, n in facts.dismissals:
        reasons[reason] += n
    latencies = facts.latencies.get("all", {}).get("all")
    result = _summary(total, scored, reasons, latencies, threshold)
    sims = [sim for p, sim, _ in scored if p.suggested and sim is not None]
    edits = [1.0 - sim for p, sim, _ in scored if p.inserted and sim is not None]
    all_sent = [sim or 0.0 for _, sim, _ in scored]
    result.update(
        {
            "threshold": threshold,
            "match_rate_all_sent": _rate(sum(v >= threshold for v in all_sent), len(all_sent)),
            "similarity": _similarity_summary(sims, threshold),
            "edit": {
                "n": len(edits),
                "mean": round(statistics.fmean(edits), 4) if edits else None,
                "median": round(statistics.median(edits), 4) if edits else None,
                "unchanged_share": _rate(sum(e <= 0.05 for e in edits), len(edits)),
            },
            "funnel": _funnel(by_stage, total.suggestions - by_stage[HOLDOUT]),
            "held_out": by_stage[HOLDOUT],
            "latency_ms": _percentiles(latencies),
            "shadow": _shadow(scored, threshold),
            "match_sampled": facts.pairs_total > len(facts.pairs),
            "sent_pairs_total": facts.pairs_total,
            "simulated_suggestions": total.simulated,
            "group_by": group_by,
        }
    )
    if group_by is not None:
        result["groups"] = groups(facts, scored, threshold, group_by)
    return result


def _live_models(store: Store) -> list[dict[str, Any]]:
    return [
        {"stage": m.stage, "version": m.version, "promoted_at": m.promoted_at, "metrics": m.metrics}
        for m in store.models.list()
        if m.status == ModelStatus.LIVE
    ]


def compute_report(
    store: Store,
    settings: Settings,
    since: str | date | datetime | None = None,
    until: str | date | datetime | None = None,
    group_by: str | None = None,
    max_pairs: int = MAX_PAIRS,
) -> dict[str, Any]:
    """The online metrics of the store (JSON-serialisable); ValueError for a bad date or group_by."""
    start, end = parse_range(since, until)
    if group_by is not None and group_by not in GROUPS:
        raise ValueError(f"group_by={group_by!r} is not one of: {', '.join(GROUPS)}")
    groups_wanted = (group_by,) if group_by else ()
    facts = query_facts(
        store.reporting,
        start,
        end,
        max_pairs=max_pairs,
        latency_groups=groups_wanted,
        agents=group_by == "agent",
    )
    result = report(facts, settings.match.threshold, group_by)
    result["since"] = start.isoformat() if start else None
    result["until"] = end.isoformat() if end else None
    result["models_live"] = [
        {**m, "promoted_at": m["promoted_at"].isoformat() if m["promoted_at"] else None}
        for m in _live_models(store)
    ]
    return result


def compute_dashboard(
    store: Store,
    settings: Settings,
    since: str | date | datetime | None = None,
    until: str | date | datetime | None = None,
) -> dict[str, Any]:
    """`compute_report` plus the day series and the topic and agent tables, from one read of the store."""
    start, end = parse_range(since, until)
    facts = query_facts(store.reporting, start, end, max_pairs=MAX_PAIRS, agents=True)
    scored = best_per_suggestion(score(facts))  # each suggestion once in every table, as in `report`
    threshold = settings.match.threshold
    result = report(facts, threshold, None, scored)
    result["by_day"] = groups(facts, scored, threshold, "day")
    result["by_topic"] = groups(facts, scored, threshold, "topic")
    result["by_model"] = groups(facts, scored, threshold, "model")
    result["by_agent"] = groups(facts, scored, threshold, "agent")
    result["models_live"] = _live_models(store)
    return result


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def print_report(result: dict[str, Any], console: Console) -> None:
    """The report as rich tables: headline, funnel, similarity, latency, dismissals, shadow, groups."""
    head = Table(
        title="Online metrics"
        + (" (includes simulated history)" if result.get("simulated_suggestions") else "")
    )
    for col in ("metric", "value", "counts"):
        head.add_column(col)
    sampled = " (sampled)" if result.get("match_sampled") else ""
    head.add_row(
        "match rate",
        _pct(result["match_rate"]),
        f"{result['matches']:,} / {result['sent_pairs']:,} answered{sampled}",
    )
    head.add_row(
        "adoption", _pct(result["adoption"]), f"{result['inserted']:,} inserted / {result['shown']:,} shown"
    )
    head.add_row(
        "coverage", _pct(result["coverage"]), f"{result['suggested']:,} suggested / {result['valid']:,} valid"
    )
    head.add_row(
        "dismissed",
        _pct(result["dismiss_rate"]),
        ", ".join(f"{k} {v}" for k, v in result["dismiss_reasons"].items()),
    )
    lat = result["latency_ms"]
    if lat["n"]:
        head.add_row("latency", f"p50 {lat['p50']} ms", f"p99 {lat['p99']} ms over {lat['n']:,}")
    else:
        head.add_row("latency", "-", "no live request yet")
    edit = result["edit"]
    head.add_row(
        "edit after insert",
        "-" if edit["mean"] is None else f"{edit['mean']:.2f}",
        f"{edit['n']:,} inserted then sent",
    )
    console.print(head)
    funnel = Table(title="Abstention funnel")
    for col in ("stage", "entered", "stopped", "passed"):
        funnel.add_column(col, justify="right" if col != "stage" else "left")
    for row in result["funnel"]:
        funnel.add_row(row["stage"], f"{row['entered']:,}", f"{row['stopped']:,}", f"{row['passed']:,}")
    console.print(funnel)
    sim = result["similarity"]
    console.print(  # one line however wide the terminal (or a log, 80 columns) is
        "similarity histogram: "
        + "  ".join(f"{b} {n}" for b, n in zip(sim["buckets"], sim["histogram"], strict=True)),
        soft_wrap=True,
        highlight=False,
    )
    for row in result["shadow"]:
        console.print(
            f"shadow {row['stage']}: agreement {_pct(row['agreement'])} over {row['n']:,}", soft_wrap=True
        )
    if result.get("groups"):
        table = Table(title=f"by {result['group_by']}")
        for col in ("key", "suggestions", "match rate", "adoption", "coverage", "dismissed", "p50 ms"):
            table.add_column(col)
        for g in result["groups"]:
            table.add_row(
                g["key"],
                f"{g['suggestions']:,}",
                _pct(g["match_rate"]),
                _pct(g["adoption"]),
                _pct(g["coverage"]),
                f"{g['dismissed']:,}",
                "-" if g["latency_p50_ms"] is None else str(g["latency_p50_ms"]),
            )
        console.print(table)
