"""What the pages show, as plain data for their templates: the case for the console's script, and the
dashboard's findings, histogram and charts (the geometry of inline SVG, drawn by dashboard.html) and
its experiments' result tables."""

from __future__ import annotations

import hashlib
import itertools
from datetime import date, datetime, time, timedelta
from typing import Any

from markupsafe import Markup, escape

from supportcue.boundary import hidden_characters
from supportcue.data.store import Store
from supportcue.data.tables import Case
from supportcue.monitoring.alerts import describe as describe_alerts
from supportcue.monitoring.freshness import REASON_NAMES, coverage_lost, describe, due_for_review
from supportcue.monitoring.metrics import parse_time
from supportcue.service.runtime import Runtime
from supportcue.settings import Settings
from supportcue.stages.placeholders import text_fields


def marked(value: object) -> Markup:
    """Free text (a customer's message) escaped for a page, each bidi control, zero-width space or
    BOM in it shown as `[U+202E]` (its name on hover) where it is: kept as typed, a right-to-left
    override made `invoice_\\u202efdp.exe` read as `invoice_exe.pdf`."""
    parts = hidden_characters(str(value))
    return Markup("").join(
        escape(before)
        + (
            Markup('<span class="hidden-char" title="{} {}">[{}]</span>').format(code, name, code)
            if code
            else ""
        )
        for before, code, name in parts
    )


def case_data(case: Case) -> dict[str, Any]:
    """The case as the console's script reads it (embedded as JSON in the case page): its earlier
    turns as {role, text} (an imported turn may be a bare string, or say `content`), and an id of its
    latest message (a hash of the text), so the case opened again gets the same suggestion. A null
    field is left out, as the API and the CLI leave it (it showed as the text "None")."""
    digest = hashlib.sha256(case.message.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return {
        "case_id": case.id,
        "message_id": f"text:{digest}",
        "message": case.message,
        "customer_name": case.customer_name,
        "context": [turn for turn in map(_turn, case.context or []) if turn["text"]],
        "fields": text_fields(case.fields),
    }


def case_turns(case: Case) -> list[dict[str, str]]:
    """An imported case's conversation as the console shows it: its earlier turns (as {role, text},
    those without text left out), then its message, the customer's."""
    earlier = [turn for turn in map(_turn, case.context or []) if turn["text"]]
    return [*earlier, {"role": "customer", "text": case.message}]


def _turn(item: Any) -> dict[str, str]:
    if isinstance(item, dict):
        text = item.get("text") or item.get("content") or ""
        return {"role": str(item.get("role") or "customer"), "text": str(text).strip()}
    return {"role": "customer", "text": str(item).strip()}


def served_models(runtime: Runtime) -> dict[str, Any]:
    """What this server process serves: {"versions": {stage: version}, "problem": why the registry's
    newest live versions are not served, or None}."""
    pipeline = runtime.pipeline  # read once: a promotion may swap it meanwhile
    versions = pipeline.versions if pipeline is not None else {}
    problem = runtime.error if pipeline is not None else runtime.not_ready_reason
    return {"versions": dict(versions), "problem": problem}


def dashboard_context(
    data: dict[str, Any],
    since: str | None,
    until: str | None,
    served: dict[str, Any] | None = None,
    experiments: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The dashboard template's context from `compute_dashboard`'s result, `served_models` and the
    experiments' overview (`experiments.report.overview`)."""
    days = data["by_day"]
    return {
        "experiments": [experiment_view(e) for e in experiments or []],
        "r": data,
        "served": served or {"versions": {}, "problem": None},
        "charts": [
            line_chart(days, "match_rate", "matches", "sent_pairs", "Match rate", "sent replies", "Matched"),
            line_chart(days, "adoption", "inserted", "shown", "Adoption", "shown", "Inserted"),
            line_chart(days, "coverage", "suggested", "valid", "Coverage", "valid cases", "Suggested"),
        ],
        "findings": findings(data),
        "since": since or "",
        "until": until or "",
        "histogram": histogram(data["similarity"]),
    }


def _day_index(days: list[dict[str, Any]]) -> list[int]:
    """Each day's place on the axis: days since the first (a day with no data keeps its place)."""
    if not days:
        return []
    first = date.fromisoformat(days[0]["key"][:10])
    return [(date.fromisoformat(d["key"][:10]) - first).days for d in days]


def freshness_panels(
    store: Store, settings: Settings, since: datetime | None, until: datetime | None
) -> dict[str, Any]:
    """The dashboard's coverage-lost, due-for-review and drift-alert panels, and the findings that
    name the topics the answer library silenced (read before any other finding)."""
    lost = coverage_lost(store, settings, since, until)
    return {
        "coverage_lost": lost,
        "reason_names": REASON_NAMES,
        "library_findings": [describe(t) for t in lost if t["library"]][:3],
        "due_for_review": due_for_review(store, settings),
        "warning_days": settings.drift.review_warning_days,
        "expired_labels": len(store.labels.expired_cases()),
        "alerts": describe_alerts(store, store.alerts.list(since, until)[-20:]),
    }


def line_chart(
    days: list[dict[str, Any]],
    rate: str,
    num: str,
    den: str,
    title: str,
    unit: str,
    counted: str | None = None,
) -> dict[str, Any]:
    """Geometry of a rate over days (a line, 0-100%) over its denominator (grey bars). The axis is to
    scale: a day without data is a gap, the line broken across it, never a neighbour moved closer.

    Across, a place is a percentage of the plot's width; down, pixels of a plot `height` px tall (the
    style sheet gives the axis its margins, 40 px left and 8 right): the SVG is drawn at its own size, never
    scaled, so its text is as large as the page's (drawn in a 560-wide viewBox scaled down to a third
    of the page, the axis text was 7 px at 1280 px).

    `table` holds the same numbers as rows of a table (day, rate, `num` and `den`, headed `counted` and
    `unit`): the page gives them beside the chart, where the dots' tooltips need a mouse."""
    height, top, bottom = 170, 10, 24
    h = height - top - bottom
    places = _day_index(days)
    n = max(1, places[-1] + 1 if places else 1)
    step = 100 / n
    peak = max([d[den] for d in days] + [1])
    bars, dots, ticks, runs, values = [], [], [], [], []
    run: list[tuple[float, float]] = []
    previous = None
    for i, d in zip(places, days, strict=True):
        x = (i + 0.5) * step
        bh = 0.35 * h * d[den] / peak
        bars.append({"x": x - step * 0.35, "y": top + h - bh, "w": max(0.2, step * 0.7), "h": bh})
        value = d[rate]
        values.append(
            {"day": d["key"], "rate": "–" if value is None else f"{value:.0%}", "num": d[num], "den": d[den]}
        )
        if value is not None:
            tip = f"{d['key']}: {value:.0%} ({d[num]:,} / {d[den]:,} {unit})"
            dots.append({"x": x, "y": top + (1 - value) * h, "tip": tip})
            if previous is not None and i != previous + 1 and run:
                runs.append(run)
                run = []
            run.append((x, top + (1 - value) * h))
            previous = i
    if run:
        runs.append(run)
    if days:
        first = date.fromisoformat(days[0]["key"][:10])
        for i in sorted({0, (n - 1) // 2, n - 1}):
            tick = first + timedelta(days=i)
            x, anchor = (i + 0.5) * step, "middle"
            if i == n - 1 and n > 1:  # the last date ends at the plot's edge: centred, it ran off the chart
                x, anchor = 100.0, "end"
            ticks.append({"x": x, "label": tick.isoformat()[5:], "anchor": anchor})
    last = next((d for d in reversed(days) if d[rate] is not None), None)
    return {
        "title": title,
        "height": height,
        "lines": [
            [{"x1": a[0], "y1": a[1], "x2": b[0], "y2": b[1]} for a, b in itertools.pairwise(r)]
            for r in runs
            if len(r) > 1
        ],
        "bars": bars,
        "dots": dots,
        "ticks": ticks,
        "grid": [{"y": top + (1 - v) * h, "label": f"{v:.0%}"} for v in (0.0, 0.5, 1.0)],
        "base": top + h,
        "label": f"{title} per day; latest {last['key']}: {last[rate]:.0%}" if last else f"{title}: no data",
        "unit": unit,
        "table": values,
        "counted": counted or num,
    }


def histogram(sim: dict[str, Any]) -> list[dict[str, Any]]:
    """Bars of the similarity histogram, as percentages of the tallest bucket."""
    peak = max(sim["histogram"] + [1])
    return [
        {"bucket": b, "n": n, "pct": 100 * n / peak}
        for b, n in zip(sim["buckets"], sim["histogram"], strict=True)
    ]


def findings(r: dict[str, Any]) -> list[str]:
    """A few sentences a person reads first: is it used, and where it fails."""
    out = []
    if r["adoption"] is not None:
        out.append(f"Agents inserted {r['adoption']:.0%} of the {r['shown']:,} suggestions shown to them.")
    if r["match_rate"] is not None:
        out.append(
            f"{r['match_rate']:.0%} of suggestions matched the reply the agent sent"
            f" ({r['sent_pairs']:,} replies)."
        )
    topics = [t for t in r["by_topic"] if t["shown"] >= 10 and t["adoption"] is not None]
    if topics:
        worst = min(topics, key=lambda t: t["adoption"])
        reasons = ", ".join(
            f"{k.replace('_', ' ')} {v}" for k, v in list(worst["dismiss_reasons"].items())[:2]
        )
        out.append(
            f"Least used topic: {worst['key']} ({worst['adoption']:.0%} adoption"
            + (f"; dismissed as {reasons}" if reasons else "")
            + ")."
        )
    funnel = [f for f in r["funnel"] if f["entered"]]
    if funnel:
        top = max(funnel, key=lambda f: f["stopped"])
        if top["stopped"]:
            out.append(
                f"Most abstentions at the {top['stage']} stage ({top['stopped']:,} of {top['entered']:,})."
            )
    return out


METRIC_NAMES = {
    "handle_seconds": "Handle time",
    "resolved": "Resolved",
    "first_reply_seconds": "First reply",
    "match_rate": "Match rate",
}


def _value(metric: str, value: float | None) -> str:
    if value is None:
        return "–"
    if metric in ("resolved", "match_rate"):
        return f"{value:.0%}"
    return f"{value:,.0f} s"


def _lift(value: float | None) -> str:
    return "–" if value is None else f"{value:+.1%}"


def experiment_view(e: dict[str, Any]) -> dict[str, Any]:
    """An experiment of the overview as the dashboard's table shows it: means per arm, the lift of
    the treatment arm with its interval, and whether the interval excludes no change."""
    control, treatment = e["control"], e["treatment"]
    rows = []
    for r in e["results"]:
        low, high = r["ci_low"], r["ci_high"]
        decisive = low is not None and high is not None and (low > 0 or high < 0)
        rows.append(
            {
                "metric": METRIC_NAMES.get(r["metric"], r["metric"]),
                "control": _value(r["metric"], r["means"].get(control)),
                "treatment": _value(r["metric"], r["means"].get(treatment)),
                "n": f"{r['n'].get(control, 0):,} / {r['n'].get(treatment, 0):,}",
                "lift": _lift(r["lift"]),
                "interval": f"[{_lift(low)}, {_lift(high)}]" if low is not None else "–",
                "p": "–" if r["p_value"] is None else f"{r['p_value']:.3g}",
                "decisive": decisive,
            }
        )
    split = ", ".join(f"{arm} {n:,}" for arm, n in e["assigned"].items())
    return {**e, "rows": rows, "split": split}


def helpdesk_panel(
    health: dict[str, Any], webhooks: dict[str, int], unable_to_post: str | None, webhook_url: str
) -> dict[str, Any]:
    """A help desk's panel on the dashboard: its health (from the store), the webhooks the service
    received since it started, whether notes can be posted, and the URL to give the help desk."""
    notes = health["notes"]
    last = notes["last_posted_at"]
    return {
        **health,
        "name": health["help_desk"].capitalize(),
        "webhooks": {
            k: webhooks.get(k, 0)
            for k in ("accepted", "duplicate", "ignored", "other_account", "refused", "too_large", "invalid")
        },
        "webhooks_total": sum(webhooks.values()),
        "unable_to_post": unable_to_post,
        "webhook_url": webhook_url,
        "last_posted": last.strftime("%Y-%m-%d %H:%M UTC") if last else None,
    }


def date_box(value: str) -> dict[str, str]:
    """The dashboard's date box for a `since`/`until` value: a date box for a date (or midnight UTC),
    a date-and-time box for a time of day, so applying the form again keeps the range the page shows
    (a date box alone cut "2026-10-01T12:00" to the whole day). A value that is no time is a text
    box holding it, beside the message saying what is wrong, to be corrected in place (a date box
    cannot hold "yesterday": it showed nothing, and the browser warned in its console)."""
    try:
        when = parse_time(value)
    except ValueError:
        return {"type": "text", "value": value[:100], "step": ""}
    if when is None or when.time() == time(0):
        return {"type": "date", "value": f"{when:%Y-%m-%d}" if when else "", "step": ""}
    seconds = when.second or when.microsecond
    shown = f"{when:%Y-%m-%dT%H:%M:%S}" if seconds else f"{when:%Y-%m-%dT%H:%M}"
    return {"type": "datetime-local", "value": shown, "step": "1" if seconds else ""}
