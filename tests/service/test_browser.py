"""The agent console, the dashboard and the API docs in real headless Chromium (Playwright) against a
real server, under the service's Content-Security-Policy (a violation fails the test), logged in
through the /login form (as an admin, or as an agent to see what an agent may not).

Fails, never skips, when /usr/bin/chromium is missing. Run as a script to save the docs' screenshots
of a workspace (the demo's when built): `python -m tests.service.test_browser WORKSPACE [docs]`.
"""

from __future__ import annotations

import html
import re
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi import Request
from fastapi.responses import HTMLResponse
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright
from starlette.applications import Starlette
from starlette.routing import Route

from supportcue.data.library import AnswerChange
from supportcue.data.store import Store
from supportcue.security.users import add_user
from supportcue.service import create_app
from supportcue.settings import load_settings
from tests.conftest import LiveServer
from tests.service.conftest import PAUSE_PAYOUTS, case

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SUGGESTED = "Hi Ana,\nYou can pause payouts in Settings."
PASSWORD = "correct horse battery"

pytestmark = pytest.mark.browser
# Playwright's expectations wait 5 s by default; on a loaded 2-core CI machine running two test
# processes, a page's answer (a refused event, a re-rendered card) took longer now and then. They
# still fail on what never comes; they only wait longer for it.
expect.set_options(timeout=15_000)


def launch(p: Playwright) -> Browser:
    return p.chromium.launch(executable_path=CHROMIUM, args=ARGS)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()


@pytest.fixture(autouse=True)
def _seeded(store: Store) -> None:
    store.library.upsert_answers([PAUSE_PAYOUTS])
    store.cases.upsert(
        [
            case("c1", "how do I pause a payout", "Ana"),
            case("c2", "can a payout be paused?", "Ana", hours=1),
            case("c3", "where is my money", "Cy", hours=2),
        ]
    )


def csp_violations(page: Page) -> list[str]:
    """Collects the Content-Security-Policy violations Chromium reports in the page's console."""
    found: list[str] = []
    page.on("console", lambda m: found.append(m.text) if "Content Security Policy" in m.text else None)
    return found


def log_in(page: Page, base_url: str, name: str, password: str = PASSWORD, path: str = "/") -> None:
    """Go to `path`, be sent to the login form, fill it in, and land back on `path`."""
    page.goto(f"{base_url}{path}")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{base_url}{path}")


def log_in_in_a_new_tab(page: Page, base_url: str, name: str, lands: str) -> None:
    """Follow the page's "log in again in a new tab" link, log in there and close that tab (landing
    on `lands`): the page itself keeps what was typed in it."""
    with page.context.expect_page() as opened:
        page.get_by_role("link", name="log in again in a new tab").click()
    other = opened.value
    other.get_by_label("Name").fill(name)
    other.get_by_label("Password").fill(PASSWORD)
    other.get_by_role("button", name="Log in").click()
    expect(other).to_have_url(f"{base_url}{lands}")
    other.close()


@pytest.fixture
def fresh_page(browser: Browser) -> Iterator[Page]:
    """A page of its own browser context (no cookies) that fails its test on a JavaScript error or a
    CSP violation."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    p = context.new_page()
    errors: list[str] = []
    p.on("pageerror", lambda e: errors.append(str(e)))
    violations = csp_violations(p)
    yield p
    context.close()
    assert not errors, f"JavaScript errors: {errors}"
    assert not violations, f"CSP violations: {violations}"


@pytest.fixture
def page(fresh_page: Page, server: LiveServer, store: Store) -> Page:
    """A page logged in as an admin (who may see everything)."""
    add_user(store, "rita", "admin", PASSWORD)
    log_in(fresh_page, server.url, "rita")
    return fresh_page


def wait_for(check: Callable[[], Any], timeout: float = 10.0, page: Page | None = None) -> Any:
    """Poll `check`; with a page, let Playwright dispatch its events (route handlers) meanwhile."""
    deadline = time.time() + timeout
    while True:
        value = check()
        if value or time.time() > deadline:
            return value
        if page is not None:
            page.wait_for_timeout(50)
        else:
            time.sleep(0.05)


def kinds(store: Store, case_id: str) -> list[str]:
    return sorted(e.kind for e in store.events.list(case_id=case_id))


def tile(page: Page, name: str) -> str:
    return page.locator(f"#tile-{name}").inner_text()


def test_see_insert_edit_send_and_the_dashboard_follows(server: LiveServer, store: Store, page: Page) -> None:
    page.goto(f"{server.url}/dashboard")
    assert "0 inserted of 0 shown" in tile(page, "adoption")

    page.goto(f"{server.url}/")
    page.get_by_role("link", name="Ana").first.click()  # the newest open case first: c2
    expect(page).to_have_url(f"{server.url}/cases/c2")
    suggestion = page.locator("#suggestion.live")
    expect(suggestion).to_contain_text("You can pause payouts in Settings.")
    expect(suggestion.locator(".topic")).to_have_text("payouts")
    suggestion.get_by_text("Why this?").click()
    expect(suggestion.locator("dl")).to_contain_text("Pause payouts · a1")

    reply = page.get_by_role("textbox", name="Your reply")
    page.keyboard.press("Alt+i")
    expect(reply).to_have_value(SUGGESTED)
    expect(reply).to_be_focused()
    reply.press("End")
    reply.type(" It takes effect at once.")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#next")).to_have_text("Next case →")

    assert wait_for(lambda: kinds(store, "c2") == ["inserted", "resolved", "sent", "shown"])
    sent = store.events.list(case_id="c2", kind="sent")[0]
    assert sent.text == SUGGESTED + " It takes effect at once." and sent.suggestion_id
    resolved = store.events.list(case_id="c2", kind="resolved")[0]
    assert resolved.handle_seconds is not None and resolved.handle_seconds > 0
    assert store.cases.get("c2") is not None and store.cases.get("c2").status == "resolved"  # type: ignore[union-attr]
    assert len({e.idempotency_key for e in store.events.list(case_id="c2")}) == 4

    page.goto(f"{server.url}/dashboard")
    assert "1 inserted of 1 shown" in tile(page, "adoption") and "100%" in tile(page, "adoption")
    assert "1 of 1 answered suggestions" in tile(page, "match")
    assert "1 suggested of 1 valid" in tile(page, "coverage")


def test_the_dashboard_keeps_its_dates_and_due_answers_in_view(
    server: LiveServer, store: Store, page: Page
) -> None:
    """At 1280, 1024 and 800 px: the charts' last date ran off their right edge, and a long owner name
    pushed the due date of "Answers due for review" out of its panel (reached only by scrolling the
    table sideways); each due answer links to its page in the library."""
    from datetime import timedelta

    from tests.review.seed import NOW, _s

    owner = "Devraj Menon-Castellanos (Compliance and Risk Operations, EMEA)"
    due = {**PAUSE_PAYOUTS, "owner": owner, "review_due_at": NOW - timedelta(days=3)}
    longer = {  # as the demo's: an id and a topic of 20 characters, due in days
        **PAUSE_PAYOUTS,
        "id": "ans-payment_methods-2",
        "topic": "payment_methods",
        "owner": "Ingrid Solberg (Payments Support)",
        "review_due_at": NOW + timedelta(days=3),
    }
    store.library.upsert_answers([due, longer])
    store.cases.add_suggestions(
        [
            {**_s(f"s-day-{d}", "c1", 0, topic="payouts", text="x"), "created_at": NOW - timedelta(days=d)}
            for d in range(1, 60)
        ]
    )
    for width in (1280, 1024, 800):  # at 1024 px its panel is half as wide
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{server.url}/dashboard")
        for chart in page.locator(".chart[role=img]").all():
            frame = chart.bounding_box()
            assert frame is not None
            for label in chart.locator("text.axis").all():
                box = label.bounding_box()
                assert box is not None
                assert (
                    frame["x"] - 0.5 <= box["x"]
                    and box["x"] + box["width"] <= frame["x"] + frame["width"] + 0.5
                ), (
                    width,
                    label.text_content(),
                    box,
                    frame,
                )
        panel = page.locator("#due-for-review")
        expect(panel).to_contain_text("(overdue)")
        assert panel.evaluate("p => p.scrollWidth <= p.clientWidth"), width
        panel.get_by_role("link", name="a1").click()
        expect(page).to_have_url(f"{server.url}/library/a1")


def test_dismiss_with_a_reason_then_write_and_send(server: LiveServer, store: Store, page: Page) -> None:
    page.goto(f"{server.url}/cases/c1")
    expect(page.locator("#suggestion.live")).to_be_visible()
    page.get_by_role("button", name="Outdated").click()
    expect(page.locator("#suggestion")).to_contain_text("Suggestion dismissed (outdated)")
    reply = page.get_by_role("textbox", name="Your reply")
    expect(reply).to_be_focused()
    reply.fill("Payouts can no longer be paused; here is what to do instead.")
    reply.press("Control+Enter")
    expect(page.locator("#next")).to_be_visible()
    assert wait_for(lambda: kinds(store, "c1") == ["dismissed", "resolved", "sent", "shown"])
    assert store.events.list(case_id="c1", kind="dismissed")[0].reason == "outdated"
    page.goto(f"{server.url}/dashboard")
    assert "1 of 1 shown" in tile(page, "dismissed")
    expect(page.locator("#topics")).to_contain_text("outdated 1")


def test_no_suggestion_says_why_and_nothing_is_shown(server: LiveServer, store: Store, page: Page) -> None:
    page.goto(f"{server.url}/cases/c3")
    expect(page.locator("#suggestion")).to_contain_text("No topic fits this message well enough.")
    expect(page.get_by_role("button", name="Insert")).to_have_count(0)
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#status")).to_have_text("Write a reply first.")
    assert store.events.list(case_id="c3") == []


def test_a_failed_post_is_retried_with_the_same_key(server: LiveServer, store: Store, page: Page) -> None:
    keys: list[str] = []

    def flaky(route: Any) -> None:
        keys.append(route.request.post_data_json["idempotency_key"])
        if len(keys) == 1:
            route.abort("connectionreset")  # the network drops the first attempt
        else:
            route.continue_()

    page.route("**/v1/events", flaky)
    page.goto(f"{server.url}/cases/c1")
    expect(page.locator("#suggestion.live")).to_be_visible()
    assert wait_for(lambda: kinds(store, "c1") == ["shown"], page=page)
    assert len(keys) == 2 and keys[0] == keys[1]


def test_an_agent_logs_in_works_a_case_as_itself_and_may_not_see_the_dashboard(
    server: LiveServer, store: Store, fresh_page: Page
) -> None:
    page = fresh_page
    add_user(store, "ana", "agent", PASSWORD)
    page.goto(f"{server.url}/cases/c2")
    expect(page).to_have_url(f"{server.url}/login?next=/cases/c2")
    page.get_by_label("Name").fill("ana")
    page.get_by_label("Password").fill("not her password")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#login-error")).to_have_text("Wrong name or password.")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{server.url}/cases/c2")  # back where she was going
    expect(page.locator("#me")).to_contain_text("ana")
    expect(page.get_by_role("link", name="Dashboard")).to_have_count(0)

    expect(page.locator("#suggestion.live")).to_be_visible()
    page.keyboard.press("Alt+i")
    reply = page.get_by_role("textbox", name="Your reply")
    expect(reply).to_have_value(SUGGESTED)
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#next")).to_be_visible()
    assert wait_for(lambda: kinds(store, "c2") == ["inserted", "resolved", "sent", "shown"])
    assert {e.agent_id for e in store.events.list(case_id="c2")} == {"ana"}
    assert store.cases.get("c2").status == "resolved"  # type: ignore[union-attr]

    response = page.goto(f"{server.url}/dashboard")
    assert response is not None and response.status == 403
    expect(page.locator("#forbidden")).to_contain_text("this needs the reviewer role")

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(f"{server.url}/login")
    page.goto(f"{server.url}/")
    expect(page).to_have_url(f"{server.url}/login?next=/")


def test_the_console_and_the_dashboard_work_under_the_csp(server: LiveServer, page: Page) -> None:
    response = page.goto(f"{server.url}/cases/c1")
    assert response is not None and "script-src 'self';" in response.headers["content-security-policy"]
    expect(page.locator("#suggestion.live")).to_be_visible()  # the console's script runs
    # one frame: the library's .card style drew a second, inset box inside the suggestion's
    inner = "e => [getComputedStyle(e).borderTopWidth, getComputedStyle(e).marginBottom]"
    assert page.locator("#suggestion .card").evaluate(inner) == ["0px", "0px"]
    page.keyboard.press("Alt+i")
    expect(page.get_by_role("textbox", name="Your reply")).to_have_value(SUGGESTED)
    page.get_by_role("button", name="Not needed").click()
    page.goto(f"{server.url}/dashboard")
    stopped = page.locator("#funnel svg.track rect").first  # bars drawn without a style attribute
    expect(stopped).to_be_attached()
    box = page.locator("#funnel svg.track").first.bounding_box()
    assert box is not None and box["width"] > 100 and box["height"] == 14
    color = page.locator("#similarity rect.fill").first.evaluate("e => getComputedStyle(e).fill")
    assert color == "rgb(31, 95, 191)"  # the style sheet applies (style-src 'self')
    # the page fixture asserts that Chromium reported no CSP violation on any of these


async def _framer_page(request: Request) -> HTMLResponse:
    src = html.escape(request.query_params["src"])
    return HTMLResponse(f'<!doctype html><h1>framer</h1><iframe src="{src}"></iframe>')


@pytest.fixture(scope="module")
def framer() -> Iterator[LiveServer]:
    """Another site (another origin: another port), which shows a page in an iframe: /?src=URL."""
    with LiveServer(Starlette(routes=[Route("/", _framer_page)])) as live:
        yield live


def framing(
    browser: Browser, framer: LiveServer, url: str, server: LiveServer, store: Store
) -> tuple[str, list[str]]:
    """Open the framer's page showing `url` in an iframe, logged in to `server` (so what is refused is
    the page itself, not the login form): (the iframe's text, the CSP violations)."""
    context = browser.new_context()
    try:
        p = context.new_page()
        name = f"framed-{uuid.uuid4().hex[:6]}"
        add_user(store, name, "admin", PASSWORD)
        log_in(p, server.url, name)
        violations = csp_violations(p)
        p.goto(f"{framer.url}/?{urlencode({'src': url})}")
        frame = p.frames[1]
        frame.wait_for_load_state()
        p.wait_for_timeout(300)
        text = frame.evaluate("document.body ? document.body.innerText : ''")
        return str(text), violations
    finally:
        context.close()


def test_another_site_cannot_frame_the_console(
    browser: Browser, framer: LiveServer, server: LiveServer, store: Store
) -> None:
    text, violations = framing(browser, framer, f"{server.url}/cases/c1", server, store)
    assert "how do I pause a payout" not in text and "Your reply" not in text
    assert any("frame-ancestors 'none'" in v for v in violations), violations


class TestChatwootEmbed:
    @pytest.fixture
    def extra_environ(self, framer: LiveServer) -> dict[str, str]:
        return {"SUPPORTCUE_CHATWOOT__BASE_URL": f"{framer.url}/app/accounts/1"}

    def test_the_chatwoot_origin_may_frame_the_embed_page_only(
        self, browser: Browser, framer: LiveServer, server: LiveServer, store: Store
    ) -> None:
        text, violations = framing(browser, framer, f"{server.url}/embed/chatwoot", server, store)
        assert "supportcue reply suggestions" in text and violations == []
        text, violations = framing(browser, framer, f"{server.url}/", server, store)
        assert "Inbox" not in text and any("frame-ancestors 'none'" in v for v in violations)


def test_the_api_docs_render_offline_under_the_csp(server: LiveServer, page: Page) -> None:
    elsewhere: list[str] = []

    def local_only(route: Any) -> None:
        if route.request.url.startswith(server.url):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort("internetdisconnected")

    page.route("**/*", local_only)
    page.goto(f"{server.url}/docs")
    operation = page.locator(".opblock-summary-path", has_text="/v1/suggest").first
    expect(operation).to_be_visible(timeout=15_000)
    back = page.get_by_role("link", name="Back to the console")  # /docs had no way back
    expect(back).to_be_visible()
    expect(page.locator(".opblock")).to_have_count(len(page.locator(".opblock").all()))
    assert page.locator(".opblock").count() >= 5
    operation.click()  # expands: the schema and "Try it out" come from /openapi.json
    expect(page.get_by_role("button", name="Try it out").first).to_be_visible()
    assert elsewhere == []


def test_the_api_docs_try_it_out_works_logged_in_and_offer_a_key(server: LiveServer, page: Page) -> None:
    """Logged in, "Try it out" on POST /v1/suggest was refused: 403 "missing or wrong CSRF token:
    reload the page" (reloading changed nothing); and there was no Authorize button for a key."""
    page.goto(f"{server.url}/docs")
    operation = page.locator(".opblock-summary-path", has_text="/v1/suggest").first
    expect(operation).to_be_visible(timeout=15_000)
    expect(page.locator(".btn.authorize").first).to_be_visible()
    operation.click()
    block = page.locator(".opblock", has=page.locator(".opblock-summary-path", has_text="/v1/suggest")).first
    block.get_by_role("button", name="Try it out").click()
    block.locator("textarea.body-param__text").fill('{"message": "how do I pause a payout"}')
    block.get_by_role("button", name="Execute").click()
    status = block.locator(".live-responses-table tbody .response-col_status").first
    expect(status).to_have_text("200", timeout=15_000)


def shoot(base_url: str, docs: Path, name: str, password: str) -> None:
    """Save the newest open case (with "why this?" open) and the dashboard as PNGs in `docs`."""
    with sync_playwright() as p:
        b = launch(p)
        page = b.new_page(viewport={"width": 1280, "height": 860})
        log_in(page, base_url, name, password)
        links = [a.get_attribute("href") for a in page.locator("ol.inbox a").all()[:10]]
        for href in links:  # the newest open case that gets a suggestion
            page.goto(f"{base_url}{href}")
            page.locator("#suggestion:not(.loading)").wait_for(timeout=30_000)
            if page.locator("#suggestion.live").count():
                page.locator("details.why summary").click()
                break
        page.screenshot(path=str(docs / "console.png"))
        page.set_viewport_size({"width": 1280, "height": 1400})
        page.goto(f"{base_url}/dashboard")
        page.screenshot(path=str(docs / "dashboard.png"), full_page=True)
        b.close()


def screenshots(workspace: Path, docs: Path) -> None:
    """Serve `workspace` (its live models) and save docs/console.png and docs/dashboard.png, logged in
    as a user made for the occasion (removed after)."""
    app = create_app(load_settings(workspace))
    store: Store = app.state.runtime.store
    name, password = f"screenshots-{uuid.uuid4().hex[:6]}", uuid.uuid4().hex
    add_user(store, name, "admin", password)
    try:
        with LiveServer(app) as server:
            wait_for(lambda: app.state.runtime.ready or app.state.runtime.error, timeout=180)
            if app.state.runtime.error:
                raise SystemExit(f"the workspace's models did not load: {app.state.runtime.error}")
            shoot(server.url, docs, name, password)
    finally:
        store.callers.remove_user(name)


if __name__ == "__main__":
    screenshots(Path(sys.argv[1]), Path(sys.argv[2] if len(sys.argv) > 2 else "docs"))


def test_backwards_dashboard_dates_say_so_and_the_form_fixes_them(server: LiveServer, page: Page) -> None:
    answer = page.goto(f"{server.url}/dashboard?since=2026-10-02&until=2026-10-01")
    assert answer is not None and answer.status == 422
    expect(page.locator("#dates-error")).to_contain_text(
        "since (2026-10-02) must be before until (2026-10-01)"
    )
    page.get_by_label("Until, exclusive").fill("2026-10-09")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#tile-match")).to_be_visible()
    assert page.url.endswith("/dashboard?since=2026-10-02&until=2026-10-09")


def test_the_console_fits_a_narrow_window_with_a_long_unbroken_message(
    server: LiveServer, store: Store, page: Page
) -> None:
    """At an iframe's width (400 px) nothing needs scrolling sideways: the header wraps, and a long
    word (a pasted link, say) in the customer's message breaks, so Log out, Insert and Send stay in
    view; the library's wide table scrolls in its place, and an answer's long words break."""
    link = "https://pay.example.com/payouts/" + "x9" * 300
    store.cases.upsert([case("c4", f"how do I pause a payout? مرحبا 🙂 {link}", "Ana")])
    page.set_viewport_size({"width": 400, "height": 800})
    page.goto(f"{server.url}/cases/c4")
    expect(page.locator("#suggestion.live")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 400
    for control in (page.locator("#logout"), page.locator("#use-suggestion"), page.locator("#send")):
        box = control.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 400
    page.goto(f"{server.url}/library")  # its table of answers scrolls in its place
    expect(page.locator("#answer-a1")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 400
    store.library.save_answer("a1", AnswerChange(title=link[:300], body=f"See {link}"), "user:rita", 90)
    page.goto(f"{server.url}/library/a1")  # the long title, and the versions' diff, break
    expect(page.locator("#version-2")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 400


def test_after_the_session_ends_the_agent_logs_in_again_in_a_new_tab_and_sends_the_reply(
    server: LiveServer, store: Store, fresh_page: Page
) -> None:
    """The page's CSRF token is the ended session's: Send renews it from a fresh copy of the page, and
    the reply written before is sent, not lost to a reload."""
    page = fresh_page
    add_user(store, "ana", "agent", PASSWORD)
    log_in(page, server.url, "ana", path="/cases/c1")
    expect(page.locator("#suggestion.live")).to_be_visible()
    reply = page.get_by_role("textbox", name="Your reply")
    reply.fill("Payouts pause under Settings.")
    page.context.clear_cookies()  # the session ends (expired, or logged out elsewhere)
    page.get_by_role("button", name="Send").click()
    again = page.get_by_role("link", name="log in again in a new tab")
    expect(again).to_have_attribute("target", "_blank")
    expect(page.get_by_role("button", name="Send")).to_be_enabled()

    log_in_in_a_new_tab(page, server.url, "ana", "/cases/c1")

    expect(reply).to_have_value("Payouts pause under Settings.")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#next")).to_be_visible()
    assert wait_for(lambda: "sent" in kinds(store, "c1") and "resolved" in kinds(store, "c1"))
    assert store.events.list(case_id="c1", kind="sent")[0].text == "Payouts pause under Settings."
    assert store.cases.get("c1").status == "resolved"  # type: ignore[union-attr]


def test_a_case_not_marked_resolved_says_so_and_can_be_tried_again(
    server: LiveServer, store: Store, page: Page
) -> None:
    # the `resolved` event closes the case (POST /cases/c1/resolve then finds the next one): its
    # refusal leaves the case open (a 4xx, which the console does not retry)
    failures = [400]

    def flaky(route: Any) -> None:
        if failures and '"resolved"' in (route.request.post_data or ""):
            route.fulfill(status=failures.pop(), json={"detail": "refused"})
        else:
            route.continue_()

    page.route("**/v1/events", flaky)
    page.goto(f"{server.url}/cases/c1")
    expect(page.locator("#suggestion.live")).to_be_visible()
    page.get_by_role("textbox", name="Your reply").fill("Payouts pause under Settings.")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#status")).to_contain_text(
        "the case was not marked resolved (its event was not recorded)"
    )
    assert store.cases.get("c1").status == "open"  # type: ignore[union-attr]
    page.keyboard.press("Enter")  # the focused "Mark resolved"
    expect(page.locator("#next")).to_be_visible()
    assert store.cases.get("c1").status == "resolved"  # type: ignore[union-attr]
    assert kinds(store, "c1") == ["resolved", "sent", "shown"]


def test_a_failed_close_after_the_resolved_event_does_not_say_the_case_stays_open(
    server: LiveServer, store: Store, page: Page
) -> None:
    """The `resolved` event already closed the case: when POST /cases/c1/resolve then fails, the
    agent was told "it stays open", which was false. The page says what it knows."""
    failures = [500]

    def flaky(route: Any) -> None:
        if failures:
            route.fulfill(status=failures.pop(), json={"detail": "internal error"})
        else:
            route.continue_()

    page.route("**/cases/c1/resolve", flaky)
    page.goto(f"{server.url}/cases/c1")
    expect(page.locator("#suggestion.live")).to_be_visible()
    page.get_by_role("textbox", name="Your reply").fill("Payouts pause under Settings.")
    page.get_by_role("button", name="Send").click()
    status = page.locator("#status")
    expect(status).to_contain_text("its resolution was recorded, but the console could not confirm")
    expect(status).not_to_contain_text("stays open")
    assert store.cases.get("c1").status == "resolved"  # type: ignore[union-attr]
    page.keyboard.press("Enter")  # the focused "Try again" finds the next case
    expect(page.locator("#next")).to_be_visible()
    assert kinds(store, "c1") == ["resolved", "sent", "shown"]


def test_a_refused_dismissal_brings_the_suggestion_back_to_dismiss_again(
    server: LiveServer, store: Store, page: Page
) -> None:
    refusals = [503, 422]  # popped: a refusal, then an outage (retried), then through

    def flaky(route: Any) -> None:
        if route.request.post_data_json["kind"] == "dismissed" and refusals:
            route.fulfill(status=refusals.pop(), json={"detail": "reason: not one of the reasons"})
        else:
            route.continue_()

    page.route("**/v1/events", flaky)
    page.goto(f"{server.url}/cases/c1")
    card = page.locator("#suggestion.live")
    expect(card).to_be_visible()
    page.get_by_role("button", name="Outdated").dblclick()
    expect(page.locator("#status")).to_contain_text(
        'Could not record "dismissed": reason: not one of the reasons'
    )
    expect(card).to_be_visible()
    page.get_by_role("button", name="Outdated").click()
    expect(page.locator("#suggestion")).to_contain_text("Suggestion dismissed (outdated)")
    assert wait_for(lambda: kinds(store, "c1") == ["dismissed", "shown"], page=page)
    page.wait_for_timeout(300)
    assert kinds(store, "c1") == ["dismissed", "shown"]


def test_a_message_over_the_limit_says_why_there_is_no_suggestion(
    server: LiveServer, store: Store, page: Page
) -> None:
    # the limit counts the message as read (an e-mail's quoted history and the surrounding blanks
    # left out: the trailing space here), 10,424 characters
    store.cases.upsert([case("c5", "how do I pause a payout? " + "مرحبا 🙂 " * 1300, "Ana")])
    page.goto(f"{server.url}/cases/c5")
    expect(page.locator("#suggestion")).to_contain_text(
        "No suggestion: the suggestion service refused this message (message is 10,424 characters; "
        "the limit is 10,000)."
    )
    page.get_by_role("combobox", name="Search the approved answers").fill("pause")
    expect(page.get_by_role("option")).to_have_count(1)
    reply = page.get_by_role("textbox", name="Your reply")
    reply.fill("Payouts pause under Settings.")
    reply.press("Control+Enter")
    expect(page.locator("#next")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280


def test_enter_twice_on_a_found_answer_inserts_it_once(server: LiveServer, store: Store, page: Page) -> None:
    page.goto(f"{server.url}/cases/c3")  # no suggestion: the search of the approved answers
    search = page.get_by_role("combobox", name="Search the approved answers")
    search.fill("pause")
    expect(page.get_by_role("option")).to_have_count(1)
    search.press("Enter")
    search.press("Enter")
    reply = page.get_by_role("textbox", name="Your reply")
    expect(reply).to_have_value(re.compile("pause payouts"))
    page.wait_for_timeout(300)
    assert reply.input_value().count("pause payouts") == 1
    assert wait_for(lambda: kinds(store, "c3") == ["alternative"], page=page)


def test_the_dashboard_tables_fit_800_px_and_the_chart_text_reads_at_1280(
    server: LiveServer, store: Store, page: Page
) -> None:
    """At 800 px the Topics and Agents tables scrolled sideways (their dismiss reasons behind a
    scroll), and so did the library's table of each topic (its Dismissed and Trend columns), and the
    inbox stacked each case in four lines, as in a 400 px side panel; at
    1280 px the charts' axis text rendered at about 7 px (11 px text in an SVG drawn at 0.6 of its
    size)."""
    from tests.review.seed import NOW, _e, _s

    owners = ["Devraj Menon (Compliance Ops)", "Hannah Lindqvist (Account Support)"]
    store.library.upsert_answers(
        [
            {
                **PAUSE_PAYOUTS,
                "id": f"ans-account_verification-{n + 1}",
                "topic": "account_verification",
                "title": title,
                "owner": owners[n],
                "review_due_at": NOW + timedelta(days=200),
            }
            for n, title in enumerate(
                ["Why we need to verify your account", "Verification document rejected"]
            )
        ]
    )

    reasons = ["not_needed", "tone", "wrong_topic", "outdated"]
    suggestions, events = [], []
    for t, topic in enumerate(["account_verification", "checkout_integration", "payout_schedule"]):
        for i in range(120):
            sid = f"s-{t}-{i}"
            answer = f"ans-{topic}-{i % 2 + 1}" if t == 0 else None
            suggestions.append(_s(sid, "c1", i, topic=topic, text="x", answer_id=answer))
            agent = f"agent-{i % 12:02d}"
            events.append(_e(f"shown-{sid}", "c1", "shown", sid, i, agent_id=agent))
            if i % 3 == 0:
                reason = reasons[(i // 3) % 4]
                events.append(_e(f"dis-{sid}", "c1", "dismissed", sid, i, agent_id=agent, reason=reason))
    store.cases.add_suggestions(suggestions)
    store.events.add_many(events)
    scrolled, sizes = [], {}
    rendered = "ts => ts.map(t => parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a)"
    for width in (1280, 800):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{server.url}/dashboard")
        expect(page.locator("#topics")).to_contain_text("checkout_integration")
        for name, panel in (
            ("topics", page.locator("section", has=page.locator("#topics"))),
            ("agents", page.locator("#agents")),
        ):
            if not panel.evaluate("p => p.scrollWidth <= p.clientWidth"):
                scrolled.append((width, name))
        sizes[width] = page.locator("figure text.axis").evaluate_all(rendered)  # in CSS px, as drawn
        page.goto(f"{server.url}/")  # a case a line: at 800 px each took four (name, channel, time, text)
        row = page.locator("ol.inbox a").first.bounding_box()
        assert row is not None and row["height"] < 50, (width, row)
        page.goto(f"{server.url}/library?topic=account_verification")
        expect(page.locator("table.answers")).to_contain_text("(Compliance Ops)")
        if not page.locator("div.scroll").evaluate("p => p.scrollWidth <= p.clientWidth"):
            scrolled.append((width, "library"))
    page.goto(f"{server.url}/library/ans-account_verification-1")  # reasons in words, as on the dashboard
    expect(page.locator("#answer-facts")).to_contain_text("not needed")
    assert scrolled == []
    assert all(len(s) >= 3 * 4 and min(s) >= 11 for s in sizes.values()), sizes


def test_retiring_an_approved_answer_asks_first(server: LiveServer, store: Store, page: Page) -> None:
    """Retire and Back to draft took an approved answer out of every suggestion at one click (a slip
    beside Mark reviewed); each now asks first, and cancelling changes nothing."""
    page.goto(f"{server.url}/library/a1")
    asked: list[str] = []
    for button, status in (("Retire", "retired"), ("Back to draft", "draft")):
        store.library.set_answer_status("a1", "approved")
        page.reload()
        asked.clear()
        page.once("dialog", lambda d: (asked.append(d.message), d.dismiss()))
        page.get_by_role("button", name=button, exact=True).click()
        assert wait_for(lambda: list(asked), page=page), button
        assert "no longer suggested" in asked[0]
        page.wait_for_timeout(300)
        assert store.library.answer("a1").status == "approved"  # type: ignore[union-attr]
        page.once("dialog", lambda d: d.accept())
        page.get_by_role("button", name=button, exact=True).click()
        expect(page.locator("#answer-status")).to_have_text(status)


def test_the_drift_alerts_panel_fits_at_900_and_1280_px(server: LiveServer, store: Store, page: Page) -> None:
    """At 900 px the Drift alerts table's headings ran 5 px past the right edge of its panel (422 px
    wide in 417), and with an alert its row 292 px (709 in 417), and still 142 px at 1280 (709 in
    567)."""
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    alert = {
        "kind": "answer_match_drop",
        "subject": "ans-payment_methods-2",
        "first_seen": now - timedelta(days=2),
        "last_seen": now,
        "score": 0.412,
        "threshold": 0.2,
        "details": {"answer_id": "ans-payment_methods-2", "examples": ["my card was declined twice today"]},
    }
    overflow = []
    for alerts in ([], [alert]):
        store.alerts.save(alerts)
        for width in (900, 1280):
            page.set_viewport_size({"width": width, "height": 900})
            page.goto(f"{server.url}/dashboard")
            panel = page.locator("#drift-alerts")
            expect(panel).to_contain_text("Drift alerts")
            sizes = panel.evaluate("p => [p.scrollWidth, p.clientWidth]")
            if sizes[0] > sizes[1]:
                overflow.append((len(alerts), width, sizes))
    assert overflow == [], overflow


def test_back_to_the_inbox_after_sending_shows_the_case_gone(
    server: LiveServer, store: Store, page: Page
) -> None:
    """Back (the browser's) from a case just sent and resolved showed the inbox as it was before,
    the case still listed as open and the count unchanged, to be opened and answered again; the inbox
    is read afresh."""
    page.goto(f"{server.url}/")
    expect(page.locator("h1")).to_contain_text("3 open")
    page.locator('ol.inbox a[href="/cases/c2"]').click()
    expect(page.locator("#suggestion.live")).to_be_visible()
    page.get_by_role("textbox", name="Your reply").fill("Payouts pause under Settings.")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#next")).to_be_visible()
    assert store.cases.get("c2").status == "resolved"  # type: ignore[union-attr]
    page.go_back()
    expect(page).to_have_url(f"{server.url}/")
    expect(page.locator("h1")).to_contain_text("2 open")
    expect(page.locator('ol.inbox a[href="/cases/c2"]')).to_have_count(0)


def test_a_dashboard_date_that_is_no_date_stays_in_its_box_to_be_corrected(
    server: LiveServer, page: Page
) -> None:
    """`?since=yesterday` (a link typed by hand): the page said it is not an ISO date, beside an empty
    From box (a date box cannot hold "yesterday", and Chromium warned of it in the console), so what
    was wrong could not be seen nor corrected in place. The box holds it, as text, to be corrected."""
    warnings: list[str] = []
    page.on("console", lambda m: warnings.append(m.text) if m.type in ("warning", "error") else None)
    answer = page.goto(f"{server.url}/dashboard?since=yesterday&until=2026-10-09")
    assert answer is not None and answer.status == 422
    expect(page.locator("#dates-error")).to_contain_text("since='yesterday' is not an ISO date")
    since = page.get_by_label("From (UTC)")
    expect(since).to_have_value("yesterday")
    expect(page.get_by_label("Until, exclusive")).to_have_value("2026-10-09")
    assert not [w for w in warnings if "does not conform" in w], warnings
    since.fill("2026-10-02")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#tile-match")).to_be_visible()
    assert page.url.endswith("/dashboard?since=2026-10-02&until=2026-10-09")


def test_an_inbox_row_keeps_a_long_customer_name_in_its_column(
    server: LiveServer, store: Store, page: Page
) -> None:
    """A customer known only by an e-mail address (a help desk without a name for them) is a long
    unbroken word: at 390 px it pushed the inbox sideways (every row scrolled off the screen), and at
    1280 px it ran out of its column under the channel and the time. It breaks inside its column."""
    name = "Maximilian-Alexander.Schwarzenberg-Oberhauser@verylongdomain.example.com"
    store.cases.upsert(
        [case("c9", "مرحبا، كيف يمكنني إيقاف المدفوعات مؤقتًا؟ how do I pause payouts", name, hours=9)]
    )
    for width in (390, 1280):
        page.set_viewport_size({"width": width, "height": 800})
        page.goto(f"{server.url}/")
        row = page.locator('ol.inbox a[href="/cases/c9"]')
        expect(row).to_contain_text("Oberhauser")
        assert page.evaluate("document.documentElement.scrollWidth") <= width, width
        who = row.locator(".who")
        assert who.evaluate("e => e.scrollWidth <= e.clientWidth"), (
            width,
            who.evaluate("e => e.scrollWidth"),
        )
        box, frame = who.bounding_box(), row.bounding_box()
        assert box is not None and frame is not None
        assert box["x"] + box["width"] <= frame["x"] + frame["width"], (width, box, frame)
