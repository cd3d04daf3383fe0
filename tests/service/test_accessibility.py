"""Accessibility of the pages agents and reviewers use all day, in real headless Chromium (see
test_browser.py) against a real server.

axe-core (bundled by axe-playwright-python) checks each kind of page in the states it is worked in,
against WCAG 2.2 A/AA and axe's best practices: no violation at all. What axe cannot see is asserted
directly: the console's main actions are reached by keyboard alone; the focus stays where the agent
works after an action (never dropped to the page's top: a disabled button, a replaced card or the
copy command's hidden text area lose it); the focus ring and the borders of the controls contrast
3:1 with the page; status messages are in live regions. The palette's contrast is in test_palette.py.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Frame, FrameLocator, Locator, Page, expect

from supportcue.data.store import Store
from supportcue.security.users import add_user
from tests.conftest import LiveServer
from tests.review.drift_seed import seed_drift
from tests.review.seed import seed
from tests.service.conftest import PAUSE_PAYOUTS, case
from tests.service.test_browser import PASSWORD, browser, fresh_page, log_in, page
from tests.service.test_embed import app, chatwoot, embed_key, extra_environ, open_in_chatwoot
from tests.service.test_palette import contrast

# the fixtures, shared with test_browser.py and test_embed.py (the app suggests a1 with an alternative)
__all__ = ["app", "browser", "chatwoot", "embed_key", "extra_environ", "fresh_page", "page"]
pytestmark = pytest.mark.browser
AXE = Axe()
RULES = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
"""axe's rules by tag: WCAG 2.2 A and AA (target size included) and axe's best practices."""


@pytest.fixture(autouse=True)
def _seeded(store: Store) -> None:
    store.library.upsert_answers([PAUSE_PAYOUTS])
    store.cases.upsert(
        [case("c1", "how do I pause a payout", "Ana"), case("c3", "where is my money", "Cy", hours=2)]
    )


def violations(target: Page | Frame) -> list[str]:
    """axe's violations in the page (or frame) as it is now: "rule (impact): the elements"."""
    found = AXE.run(target, options={"runOnly": {"type": "tag", "values": RULES}}).response
    return [f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']]}" for v in found["violations"]]


def test_the_login_form(server: LiveServer, store: Store, fresh_page: Page) -> None:
    page = fresh_page
    add_user(store, "rita", "admin", PASSWORD)
    page.goto(f"{server.url}/login")
    assert violations(page) == []
    page.get_by_label("Name").fill("rita")
    page.get_by_label("Password").fill("not her password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong name or password.")
    assert violations(page) == []


def test_the_inbox_and_a_case_from_suggestion_to_sent(server: LiveServer, page: Page) -> None:
    expect(page.get_by_role("link", name=re.compile("Ana"))).to_be_visible()
    assert violations(page) == []
    page.goto(f"{server.url}/cases/c1")
    expect(page.locator("#suggestion.live")).to_be_visible()
    page.get_by_text("Why this?").click()
    assert violations(page) == []
    page.get_by_role("button", name="Outdated").click()
    page.get_by_role("combobox", name="Search the approved answers").fill("pause")
    expect(page.get_by_role("option").first).to_be_visible()
    assert violations(page) == []
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#next")).to_be_visible()
    assert violations(page) == []
    page.goto(f"{server.url}/cases/c3")  # no suggestion: why, and the search
    expect(page.locator("#suggestion.none")).to_be_visible()
    assert violations(page) == []


def test_the_dashboard(server: LiveServer, page: Page) -> None:
    page.goto(f"{server.url}/dashboard")
    expect(page.locator("#tile-match")).to_be_visible()
    assert violations(page) == []
    page.goto(f"{server.url}/dashboard?since=2026-10-02&until=2026-10-01")
    expect(page.locator("#dates-error")).to_be_visible()
    assert violations(page) == []


def test_the_library_and_an_answer(server: LiveServer, store: Store, page: Page) -> None:
    seed_drift(store)
    page.goto(f"{server.url}/library")
    expect(page.locator("#attention")).to_be_visible()
    assert violations(page) == []
    page.goto(f"{server.url}/library/a1")
    expect(page.locator("#answer-facts")).to_be_visible()
    assert violations(page) == []


def test_the_admin_pages(server: LiveServer, store: Store, page: Page) -> None:
    add_user(store, "ana", "agent", PASSWORD)
    page.goto(f"{server.url}/admin/users")
    page.locator("#role-rita").select_option("agent")
    page.locator("#user-rita").get_by_role("button", name="Change role").click()
    expect(page.locator("#user-error")).to_be_focused()  # the last admin: refused, the reason by the row
    assert violations(page) == []
    page.goto(f"{server.url}/admin/keys")
    page.get_by_label("Name").fill("grafana")
    page.get_by_role("button", name="Create key").click()
    expect(page.locator("#new-key")).to_be_visible()
    assert violations(page) == []
    page.goto(f"{server.url}/admin/stages")
    expect(page.locator("#stages")).to_be_visible()
    assert violations(page) == []
    page.goto(f"{server.url}/admin/audit")
    expect(page.locator("#audit")).to_be_visible()  # the key just created is its first row
    assert violations(page) == []


def test_the_review_queue(server: LiveServer, store: Store, page: Page) -> None:
    seed(store)
    page.goto(f"{server.url}/review")
    expect(page.locator("#review-form")).to_be_visible()
    assert violations(page) == []
    page.get_by_label("partially correct").check()
    page.get_by_role("button", name="Save review").click()
    expect(page.get_by_role("status").filter(has_text="Saved:")).to_be_visible()
    assert violations(page) == []


def test_the_chatwoot_embed(
    fresh_page: Page, chatwoot: LiveServer, server: LiveServer, embed_key: str
) -> None:
    frame = open_in_chatwoot(fresh_page, chatwoot, server, embed_key)
    expect(frame.locator("#suggestion.live")).to_be_visible()
    embedded = fresh_page.frames[1]
    assert violations(embedded) == []
    frame.get_by_role("button", name="Outdated").click()
    expect(frame.get_by_role("combobox", name="Search the approved answers")).to_be_focused()
    assert violations(embedded) == []


def test_the_answer_search_offers_no_empty_list(server: LiveServer, page: Page) -> None:
    """An empty listbox is no list to offer (and invalid ARIA: a listbox needs options): it is hidden
    until a search finds answers, and again when Escape clears the search."""
    page.goto(f"{server.url}/cases/c3")
    search = page.get_by_role("combobox", name="Search the approved answers")
    results = page.locator("#library-results")
    expect(search).to_be_visible()
    expect(results).to_have_js_property("hidden", True)
    search.fill("pause")
    expect(page.get_by_role("option").first).to_be_visible()
    expect(results).to_have_js_property("hidden", False)
    expect(search).to_have_attribute("aria-expanded", "true")
    search.fill("no answer holds this")
    expect(page.get_by_role("status").filter(has_text="No approved answer")).to_be_visible()
    expect(results).to_have_js_property("hidden", True)
    search.fill("pause")
    expect(results).to_have_js_property("hidden", False)
    search.press("Escape")
    expect(results).to_have_js_property("hidden", True)
    expect(search).to_have_attribute("aria-expanded", "false")


def tab_to(page: Page, target: Locator, back: bool = False, most: int = 40) -> None:
    """Press Tab (Shift+Tab when `back`) until `target` has the focus."""
    for _ in range(most):
        page.keyboard.press("Shift+Tab" if back else "Tab")
        if target.evaluate("e => e === document.activeElement"):
            return
    raise AssertionError(f"{target} is not reached by {'Shift+' if back else ''}Tab")


def test_the_console_by_keyboard_alone(server: LiveServer, store: Store, page: Page) -> None:
    """Insert, dismiss with a reason, search the answers, send: each reached by (Shift+)Tab and
    worked with Enter, the focus back in the reply box after each, on the Next link after sending."""
    store.cases.upsert([case("c2", "can a payout be paused?", "Ana", hours=1)])
    reply = page.get_by_role("textbox", name="Your reply")
    page.goto(f"{server.url}/cases/c2")
    expect(page.locator("#suggestion.live")).to_be_visible()
    expect(reply).to_be_focused()
    tab_to(page, page.locator("#use-suggestion"), back=True)
    page.keyboard.press("Enter")
    expect(reply).to_have_value(re.compile("You can pause payouts in Settings."))
    expect(reply).to_be_focused()

    page.goto(f"{server.url}/cases/c1")
    expect(page.locator("#suggestion.live")).to_be_visible()
    tab_to(page, page.get_by_role("button", name="Outdated"), back=True)
    page.keyboard.press("Enter")
    expect(page.get_by_role("status").filter(has_text="Could not")).to_have_count(0)
    expect(reply).to_be_focused()
    tab_to(page, page.get_by_role("combobox", name="Search the approved answers"), back=True)
    page.keyboard.type("pause")
    expect(page.get_by_role("option").first).to_be_visible()
    page.keyboard.press("Enter")
    expect(reply).to_have_value(re.compile("pause payouts"))
    expect(reply).to_be_focused()
    tab_to(page, page.locator("#send"))
    page.keyboard.press("Enter")
    expect(page.locator("#next")).to_be_focused()
    expect(page.get_by_role("status").filter(has_text="Sent and resolved")).to_be_visible()


COLOURS = re.compile(r"rgba?\((\d+), (\d+), (\d+)(?:, ([\d.]+))?\)")


def colours(css: str) -> list[str]:
    """The opaque colours in a computed CSS value, as #rrggbb."""
    return [f"#{int(r):02x}{int(g):02x}{int(b):02x}" for r, g, b, a in COLOURS.findall(css) if a in ("", "1")]


def ring(page: Page | Frame) -> list[str]:
    """The colours of the focused element's focus ring (outline and box-shadow)."""
    style: dict[str, Any] = page.evaluate(
        "(() => { const s = getComputedStyle(document.activeElement);"
        " return {outline: `${s.outlineStyle} ${s.outlineColor}`, shadow: s.boxShadow}; })()"
    )
    assert not style["outline"].startswith("none"), "no focus ring"
    return colours(style["outline"]) + colours(style["shadow"])


def border(page: Page, selector: str) -> str:
    (colour,) = colours(page.locator(selector).first.evaluate("e => getComputedStyle(e).borderTopColor"))
    return colour


def test_the_focus_ring_and_the_controls_contrast_with_the_page(
    server: LiveServer, store: Store, fresh_page: Page
) -> None:
    """WCAG 1.4.11: a 3:1 contrast for the focus ring (on the white card and the grey page) and for
    the borders that show where a text box or a button is."""
    page = fresh_page
    page.goto(f"{server.url}/login")
    page.keyboard.press("Tab")  # the skip link, over the page's background
    assert max(contrast(c, "#f6f7f9") for c in ring(page)) >= 3
    assert contrast(border(page, "#name"), "#ffffff") >= 3
    add_user(store, "rita", "admin", PASSWORD)
    log_in(page, server.url, "rita", path="/cases/c1")
    expect(page.locator("#suggestion.live")).to_be_visible()
    tab_to(page, page.get_by_role("button", name="Outdated"), back=True)  # a button on the white card
    assert max(contrast(c, "#ffffff") for c in ring(page)) >= 3
    for control in ("#reply", "button[data-reason]"):
        assert contrast(border(page, control), "#ffffff") >= 3, control
        assert contrast(border(page, control), "#f6f7f9") >= 3, control
    tab_to(page, page.get_by_role("button", name="Log out"), back=True)  # on the dark header
    assert max(contrast(c, "#17202e") for c in ring(page)) >= 3


def test_a_send_that_failed_gives_the_focus_back_to_send(server: LiveServer, page: Page) -> None:
    page.route(
        "**/v1/events",
        lambda r: (
            r.fulfill(status=422, json={"detail": "no"})
            if "sent" in (r.request.post_data or "")
            else r.continue_()
        ),
    )
    page.goto(f"{server.url}/cases/c1")
    expect(page.locator("#suggestion.live")).to_be_visible()
    page.get_by_role("textbox", name="Your reply").fill("Here is how.")
    page.get_by_role("button", name="Send").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status").filter(has_text='Could not record "sent": no')).to_be_visible()
    expect(page.get_by_role("button", name="Send")).to_be_focused()


def test_an_answer_that_could_not_be_used_gives_the_focus_back_to_its_button(
    server: LiveServer, page: Page
) -> None:
    page.route("**/v1/answers/*/compose", lambda r: r.fulfill(status=409, json={"detail": "retired"}))
    page.goto(f"{server.url}/cases/c1")
    alternative = page.get_by_role("button", name="Insert: Pause payouts for a day")
    alternative.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status").filter(has_text="Could not use that answer: retired")).to_be_visible()
    expect(alternative).to_be_focused()


def opened_embed(page: Page, chatwoot: LiveServer, server: LiveServer, key: str) -> FrameLocator:
    frame = open_in_chatwoot(page, chatwoot, server, key)
    expect(frame.locator("#suggestion.live")).to_be_visible()
    return frame


def test_in_the_embed_copying_keeps_the_focus_on_the_copy_button(
    fresh_page: Page, chatwoot: LiveServer, server: LiveServer, embed_key: str
) -> None:
    """Copying selects a hidden text area, which takes the focus: it comes back to the button."""
    page = fresh_page
    frame = opened_embed(page, chatwoot, server, embed_key)
    copy = frame.locator("#use-suggestion")  # "Copy", then "Copied"
    copy.focus()
    page.keyboard.press("Enter")
    expect(frame.locator("#status")).to_contain_text("Copied: paste it")
    expect(copy).to_be_focused()
    alternative = frame.get_by_role("button", name="Copy: Pause payouts for a day")
    alternative.focus()
    page.keyboard.press("Enter")
    expect(frame.locator("#status")).to_contain_text("Copied: paste it into the reply box")
    page.wait_for_timeout(200)
    expect(alternative).to_be_focused()


def test_in_the_embed_a_refused_dismissal_gives_the_focus_to_the_card_back(
    fresh_page: Page, chatwoot: LiveServer, server: LiveServer, embed_key: str
) -> None:
    page = fresh_page
    page.route(
        "**/v1/events",
        lambda r: (
            r.fulfill(status=422, json={"detail": "not now"})
            if r.request.post_data_json["kind"] == "dismissed"
            else r.continue_()
        ),
    )
    frame = opened_embed(page, chatwoot, server, embed_key)
    frame.get_by_role("button", name="Tone").focus()
    page.keyboard.press("Enter")
    # the embed's status line (while the dismissal is pending the library search shows a status of its own)
    expect(frame.locator("#status")).to_contain_text('Could not record "dismissed": not now')
    expect(frame.get_by_role("button", name="Copy", exact=True)).to_be_focused()


def test_a_saved_review_takes_the_focus_to_the_next_item(
    server: LiveServer, store: Store, page: Page
) -> None:
    """Saved: the focus goes to the next item (read out from its start; Tab goes on to its verdict).
    Not saved: back to the Save button, to save again. Both said in the status live region."""
    seed(store)
    page.goto(f"{server.url}/review")
    item = page.locator("#item")
    expect(item).to_have_attribute("data-item-id", re.compile("^ri_"))
    first = item.get_attribute("data-item-id")
    page.get_by_label("partially correct").check()
    page.route("**/v1/reviews", lambda r: r.abort("connectionreset"))
    save = page.get_by_role("button", name="Save review")
    save.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status").filter(has_text="Not saved: the server did not answer")).to_be_visible()
    expect(save).to_be_focused()
    page.unroute("**/v1/reviews")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status").filter(has_text="Saved: ")).to_be_visible()
    expect(item).not_to_have_attribute("data-item-id", first or "")
    expect(item).to_be_focused()
    page.keyboard.press("Tab")
    assert page.evaluate("document.getElementById('review-form').contains(document.activeElement)")
