"""The dashboard and the library on a phone (390 px) and in a narrow window (600 px), in real Chromium
(see test_browser.py for the set-up), and the charts' values for those who cannot hover.

Below ~700 px the dashboard's tables (Topics, Agents, Coverage lost, Drift alerts...) and the
library's tables of answers scrolled sideways inside their panels: each row is now a card of
labelled values there. The charts gave their per-day values only in a tooltip on hover (no keyboard,
no screen reader, no touch): each is followed by a table of the same numbers behind a "Values" toggle."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from supportcue.data.store import Store
from tests.conftest import LiveServer
from tests.service.conftest import PAUSE_PAYOUTS
from tests.service.test_browser import browser, fresh_page, page

__all__ = ["browser", "fresh_page", "page"]
pytestmark = pytest.mark.browser

OWNERS = ["Devraj Menon (Compliance Ops)", "Hannah Lindqvist (Account Support)"]
TOPICS = ["account_verification", "checkout_integration", "payout_schedule"]
REASONS = ["not_needed", "tone", "wrong_topic", "outdated"]


def seed_dashboard(store: Store) -> None:
    """Three topics of 120 suggestions each over two days, shown to 12 agents, a third dismissed,
    a sixth inserted; answers due for review with long owners; a drift alert."""
    from tests.review.seed import NOW, _e, _s

    store.library.upsert_answers(
        [
            {
                **PAUSE_PAYOUTS,
                "id": f"ans-account_verification-{n + 1}",
                "topic": "account_verification",
                "title": title,
                "owner": OWNERS[n],
                "review_due_at": NOW + timedelta(days=3 if n else -3),
            }
            for n, title in enumerate(
                ["Why we need to verify your account", "Verification document rejected"]
            )
        ]
    )
    suggestions, events = [], []
    for t, topic in enumerate(TOPICS):
        for i in range(120):
            sid = f"s-{t}-{i}"
            answer = f"ans-{topic}-{i % 2 + 1}" if t == 0 else None
            minutes = i * 12  # 24 hours: two UTC days at most
            suggestions.append(_s(sid, "c1", minutes, topic=topic, text="x", answer_id=answer))
            agent = f"agent-{i % 12:02d}"
            events.append(_e(f"shown-{sid}", "c1", "shown", sid, minutes, agent_id=agent))
            if i % 3 == 0:
                reason = REASONS[(i // 3) % 4]
                events.append(
                    _e(f"dis-{sid}", "c1", "dismissed", sid, minutes, agent_id=agent, reason=reason)
                )
            elif i % 6 == 1:
                events.append(_e(f"ins-{sid}", "c1", "inserted", sid, minutes, agent_id=agent))
    store.cases.add_suggestions(suggestions)
    store.events.add_many(events)
    now = datetime.now(UTC)
    store.alerts.save(
        [
            {
                "kind": "answer_match_drop",
                "subject": "ans-payment_methods-2",
                "first_seen": now - timedelta(days=2),
                "last_seen": now,
                "score": 0.412,
                "threshold": 0.2,
                "details": {"answer_id": "ans-payment_methods-2", "examples": ["my card was declined twice"]},
            }
        ]
    )


PANELS = ["#topics", "#coverage-lost", "#due-for-review", "#drift-alerts", "#agents", "#models", "#shadow"]


def overflowing(page: Page, selector: str) -> list[str]:
    """The elements matching `selector` whose content is wider than their box (a sideways scroll)."""
    found: list[str] = page.locator(selector).evaluate_all(
        "els => els.filter(e => e.scrollWidth > e.clientWidth + 1)"
        ".map(e => `${e.id || e.className}: ${e.scrollWidth} > ${e.clientWidth}`)"
    )
    return found


@pytest.mark.parametrize("width", [390, 600])
def test_the_dashboard_and_library_tables_read_without_scrolling_sideways(
    server: LiveServer, store: Store, page: Page, width: int
) -> None:
    seed_dashboard(store)
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{server.url}/dashboard")
    expect(page.locator("#topics")).to_contain_text("checkout")
    assert overflowing(page, ".panel") == []
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    # a row reads as labelled values: the Agents table's "Dismissed" column is named beside its value
    row = page.locator("#agents tbody tr").first
    cell = row.locator("td").nth(3)
    label = cell.evaluate("c => getComputedStyle(c, '::before').content")
    assert label == '"Dismissed"', label
    expect(cell).to_be_visible()
    # still a table to a screen reader: Chromium's accessibility tree keeps its roles
    cdp = page.context.new_cdp_session(page)
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    table = cdp.send("DOM.querySelector", {"nodeId": root, "selector": "#agents table"})["nodeId"]
    ax = cdp.send("Accessibility.getPartialAXTree", {"nodeId": table, "fetchRelatives": False})
    assert ax["nodes"][0]["role"]["value"] == "table"
    full = cdp.send("Accessibility.getFullAXTree")["nodes"]
    assert sum(n.get("role", {}).get("value") == "columnheader" for n in full) >= 8
    page.goto(f"{server.url}/library")
    expect(page.locator("table.answers").first).to_contain_text("(Compliance Ops)")
    assert overflowing(page, ".scroll") == []
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    trend = page.locator("table.answers td.trend").first
    assert trend.evaluate("c => getComputedStyle(c, '::before').content") == '"Trend (weekly match rate)"'


def test_the_wide_layouts_keep_their_columns(server: LiveServer, store: Store, page: Page) -> None:
    """At 800 and 1280 px the tables stay tables: a row is one line of cells, the headings shown."""
    seed_dashboard(store)
    for width in (800, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{server.url}/dashboard")
        expect(page.locator("#topics thead")).to_be_visible()
        cells = page.locator("#topics tbody tr").first.locator("th, td")
        tops = {round(c.bounding_box()["y"]) for c in cells.all()}  # type: ignore[index]
        assert len(tops) == 1, (width, tops)
        page.goto(f"{server.url}/library")
        expect(page.locator("table.answers thead").first).to_be_visible()


def test_each_chart_gives_its_values_as_a_table(server: LiveServer, store: Store, page: Page) -> None:
    """The values behind a "Values" toggle, reachable by keyboard, are the chart's: one row per day with
    a rate, the rate with its numerator and denominator, as the dots' tooltips had them."""
    seed_dashboard(store)
    page.goto(f"{server.url}/dashboard")
    charts = page.locator(".grid3 section.panel")
    expect(charts).to_have_count(3)
    adoption = None
    for chart in charts.all():
        tips = [t.text_content() or "" for t in chart.locator("circle.dot title").all()]
        toggle = chart.locator("details.values summary")
        expect(toggle).to_have_text(re.compile(r"^Values of .+ per day$"))  # each named for its chart
        toggle.focus()
        page.keyboard.press("Enter")
        table = chart.locator("details table")
        expect(table).to_be_visible()
        rows = [
            [c.text_content() or "" for c in r.locator("th, td").all()]
            for r in table.locator("tbody tr").all()
        ]
        from_tips = []
        for tip in tips:
            m = re.fullmatch(r"(\S+): (\d+%) \(([\d,]+) / ([\d,]+) .*\)", tip)
            assert m, tip
            from_tips.append(list(m.groups()))
        assert [r for r in rows if r[1] != "–"] == from_tips  # a day without a rate has no dot
        if "Adoption" in (chart.locator("h2").text_content() or ""):
            adoption = rows
    # the seeded numbers: per day, inserted (i % 6 == 1) of shown, over the three topics
    from tests.review.seed import NOW

    shown: dict[str, int] = {}
    inserted: dict[str, int] = {}
    for i in range(120):
        day = (NOW - timedelta(days=2) + timedelta(minutes=i * 12)).date().isoformat()
        shown[day] = shown.get(day, 0) + 3
        inserted[day] = inserted.get(day, 0) + 3 * (i % 6 == 1)
    assert adoption == [
        [d, f"{inserted[d] / shown[d]:.0%}", f"{inserted[d]:,}", f"{shown[d]:,}"] for d in sorted(shown)
    ]
