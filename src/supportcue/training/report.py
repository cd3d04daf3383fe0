"""Backtest reports: a readable terminal table and a self-contained HTML page with the curve as SVG."""

from __future__ import annotations

import html
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table


def _worst_first(per_label: dict[str, dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """Labels by F1, worst first; those with no test rows (no F1) last."""
    return sorted(per_label.items(), key=lambda kv: (kv[1]["f1"] is None, kv[1]["f1"] or 0.0, kv[0]))


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def left_out(figures: dict[str, Any]) -> str:
    """The line saying how many labeled cases a time-ordered backtest neither trained nor tested: those
    after the cut that no person labeled ("" when none)."""
    n = int(figures.get("weak_after_cut") or 0)
    if not n:
        return ""
    return (
        f"{n:,} case(s) after the cut have only weak or machine labels: neither trained on nor tested "
        "(weak_after_cut; the model `train` writes learns from them too)"
    )


def print_backtest(result: dict[str, Any], console: Console) -> None:
    """The backtest of each stage as tables: summary, coverage at precision, worst topics, confusions."""
    console.print(f"[bold]backtest[/bold] ({result.get('embedder', '')})")
    for stage, r in result["stages"].items():
        s = r["summary"]
        console.print(
            f"\n[bold]{stage}[/bold]: accuracy {s['accuracy']:.3f}, macro-F1 {s['macro_f1']:.3f}, "
            f"coverage {r['coverage']:.1%}, precision when answering {r['precision_answered']:.3f} "
            f"(train {r['n_train']}, test {r['n_test']})"
        )
        console.print(f"  {r['split']['description']}", highlight=False, markup=False, soft_wrap=True)
        if left_out(r):
            console.print(f"  {left_out(r)}", highlight=False, markup=False, soft_wrap=True)
        for warning in r.get("warnings", []):
            console.print(f"  [yellow]warning[/yellow]: {escape(warning)}", highlight=False, soft_wrap=True)
        at = Table("target precision", "coverage", "threshold", title=f"{stage}: coverage at precision")
        for target, v in r["coverage_at_precision"].items():
            thr = "-" if v["threshold"] is None else f"{v['threshold']:.3f}"
            at.add_row(target, f"{v['coverage']:.1%}", thr)
        console.print(at)
        per = Table(
            "label", "precision", "recall", "F1", "support", title=f"{stage}: per label (worst F1 first)"
        )
        for label, m in _worst_first(r["per_label"])[:15]:
            per.add_row(label, _fmt(m["precision"]), _fmt(m["recall"]), _fmt(m["f1"]), f"{m['support']:.0f}")
        console.print(per)
        if r["confusions"]:
            conf = Table("true", "predicted", "count", title=f"{stage}: most frequent confusions")
            for c in r["confusions"][:8]:
                conf.add_row(c["true"], c["predicted"], str(c["count"]))
            console.print(conf)


def curve_svg(curve: list[dict[str, float]], width: int = 460, height: int = 300) -> str:
    """Precision (y) against coverage (x) as an inline SVG line chart."""
    pad = 40
    w, h = width - 2 * pad, height - 2 * pad

    def xy(p: dict[str, float]) -> str:
        y0 = min(0.5, min((q["precision"] for q in curve), default=0.5))
        y = (p["precision"] - y0) / (1 - y0 or 1)
        return f"{pad + p['coverage'] * w:.1f},{pad + (1 - y) * h:.1f}"

    points = " ".join(xy(p) for p in sorted(curve, key=lambda p: p["coverage"]))
    y0 = min(0.5, min((q["precision"] for q in curve), default=0.5))
    ticks = "".join(
        f'<text x="{pad - 6}" y="{pad + (1 - (v - y0) / (1 - y0 or 1)) * h + 4:.1f}" text-anchor="end" '
        f'font-size="10">{v:.2f}</text>'
        for v in (y0, (y0 + 1) / 2, 1.0)
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="precision against coverage">'
        f'<rect x="{pad}" y="{pad}" width="{w}" height="{h}" fill="#fafafa" stroke="#ccc"/>'
        f'<polyline fill="none" stroke="#2563eb" stroke-width="2" points="{points}"/>{ticks}'
        f'<text x="{pad + w / 2}" y="{height - 8}" text-anchor="middle" font-size="11">coverage</text>'
        f'<text x="12" y="{pad + h / 2}" font-size="11" transform="rotate(-90 12 {pad + h / 2})" '
        f'text-anchor="middle">precision</text>'
        f'<text x="{pad}" y="{height - pad + 14}" font-size="10">0%</text>'
        f'<text x="{pad + w}" y="{height - pad + 14}" font-size="10" text-anchor="end">100%</text></svg>'
    )


def backtest_html(result: dict[str, Any]) -> str:
    """A self-contained HTML report (no external assets)."""
    esc = html.escape
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>supportcue backtest</title>",
        "<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:980px}"
        "table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{border-bottom:1px solid #ddd;"
        "padding:.25rem .6rem;text-align:left}th{background:#f3f4f6}</style></head><body>",
        f"<h1>Backtest</h1><p>Embedder: {esc(str(result.get('embedder', '')))}.</p>",
    ]
    for stage, r in result["stages"].items():
        s = r["summary"]
        parts.append(
            f"<h2>{esc(stage)}</h2><p>accuracy {s['accuracy']:.3f} · macro-F1 {s['macro_f1']:.3f} · "
            f"coverage {r['coverage']:.1%} · train {r['n_train']} · test {r['n_test']}</p>"
            f"<p>{esc(r['split']['description'])}</p>"
        )
        parts.extend(f"<p><strong>warning</strong>: {esc(w)}</p>" for w in r.get("warnings", []))
        parts.append(curve_svg(r["curve"]))
        parts.append("<table><tr><th>target precision</th><th>coverage</th><th>threshold</th></tr>")
        for target, v in r["coverage_at_precision"].items():
            thr = "-" if v["threshold"] is None else f"{v['threshold']:.3f}"
            parts.append(f"<tr><td>{target}</td><td>{v['coverage']:.1%}</td><td>{thr}</td></tr>")
        parts.append(
            "</table><table><tr><th>label</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr>"
        )
        for label, m in _worst_first(r["per_label"]):
            parts.append(
                f"<tr><td>{esc(label)}</td><td>{_fmt(m['precision'])}</td><td>{_fmt(m['recall'])}</td>"
                f"<td>{_fmt(m['f1'])}</td><td>{m['support']:.0f}</td></tr>"
            )
        parts.append("</table>")
        if r["confusions"]:
            parts.append("<table><tr><th>true</th><th>predicted</th><th>count</th></tr>")
            for c in r["confusions"]:
                parts.append(
                    f"<tr><td>{esc(c['true'])}</td><td>{esc(c['predicted'])}</td><td>{c['count']}</td></tr>"
                )
            parts.append("</table>")
    parts.append("</body></html>")
    return "".join(parts)
