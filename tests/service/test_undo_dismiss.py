"""Undo a dismissal made by mistake, in real Chromium (see test_browser.py for the set-up).

An agent who dismissed a suggestion had no way back: the card was gone, and the dismissal counted
against the suggestion, its answer and the agent. An Undo now takes its place: it records an
`undismissed` event (with the page's CSRF token, as every event) and brings the card back; the
dismissal then counts nowhere (adoption, dismissals, reasons)."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Page, expect

from supportcue.data.store import Store
from supportcue.security.users import add_user
from tests.conftest import LiveServer
from tests.service.conftest import authorize
from tests.service.test_browser import (
    PASSWORD,
    _seeded,
    browser,
    fresh_page,
    kinds,
    log_in,
    page,
    tile,
    wait_for,
)

__all__ = ["_seeded", "browser", "fresh_page", "page"]  # the fixtures of test_browser.py (c1: Ana's)
pytestmark = pytest.mark.browser


def test_undo_brings_the_suggestion_back_and_the_dismissal_counts_nowhere(
    server: LiveServer, store: Store, fresh_page: Page
) -> None:
    page = fresh_page
    add_user(store, "ana", "agent", PASSWORD)
    add_user(store, "rita", "admin", PASSWORD)
    log_in(page, server.url, "ana", path="/cases/c1")
    expect(page.locator("#suggestion.live")).to_be_visible()
    page.get_by_role("button", name="Outdated").click()
    expect(page.locator("#suggestion")).to_contain_text("Suggestion dismissed (outdated)")
    undo = page.get_by_role("button", name="Undo")
    undo.click()
    expect(page.locator("#suggestion.live")).to_be_visible()
    expect(page.locator("#use-suggestion")).to_be_focused()
    assert wait_for(lambda: kinds(store, "c1") == ["dismissed", "shown", "undismissed"], page=page)
    undone = next(e for e in store.events.list(case_id="c1") if e.kind == "undismissed")
    assert undone.agent_id == "ana" and undone.suggestion_id is not None
    page.keyboard.press("Alt+i")  # the suggestion may be inserted again
    expect(page.get_by_role("textbox", name="Your reply")).to_have_value(
        "Hi Ana,\nYou can pause payouts in Settings."
    )
    assert wait_for(lambda: "inserted" in kinds(store, "c1"), page=page)
    page.context.clear_cookies()
    log_in(page, server.url, "rita", path="/dashboard")
    assert "0 of 1 shown" in tile(page, "dismissed")
    assert "1 inserted of 1 shown" in tile(page, "adoption")


def test_a_dismissal_after_an_undo_counts_with_its_own_reason(
    server: LiveServer, store: Store, page: Page
) -> None:
    page.goto(f"{server.url}/cases/c1")
    expect(page.locator("#suggestion.live")).to_be_visible()
    page.get_by_role("button", name="Outdated").click()
    page.get_by_role("button", name="Undo").click()
    expect(page.locator("#suggestion.live")).to_be_visible()
    page.get_by_role("button", name="Tone").click()
    expect(page.locator("#suggestion")).to_contain_text("Suggestion dismissed (tone)")
    assert wait_for(
        lambda: kinds(store, "c1") == ["dismissed", "dismissed", "shown", "undismissed"], page=page
    )
    page.goto(f"{server.url}/dashboard")
    assert "1 of 1 shown" in tile(page, "dismissed")
    expect(page.locator("#topics")).to_contain_text("tone 1")
    expect(page.locator("#topics")).not_to_contain_text("outdated")


def test_an_undo_is_idempotent_role_checked_and_needs_the_csrf_token(
    server: LiveServer, store: Store, page: Page
) -> None:
    page.goto(f"{server.url}/cases/c1")
    expect(page.locator("#suggestion.live")).to_be_visible()
    sid = wait_for(lambda: next((e.suggestion_id for e in store.events.list(case_id="c1")), None), page=page)
    body = {
        "idempotency_key": f"undismissed:{sid}",
        "case_id": "c1",
        "suggestion_id": sid,
        "kind": "undismissed",
    }
    # a logged-in page's request without its CSRF token is refused, and stores nothing
    refused = page.request.post(f"{server.url}/v1/events", data=body)
    assert refused.status == 403 and "CSRF" in refused.text()
    token = page.locator('meta[name="csrf-token"]').get_attribute("content") or ""
    first = page.request.post(f"{server.url}/v1/events", data=body, headers={"x-csrf-token": token})
    again = page.request.post(f"{server.url}/v1/events", data=body, headers={"x-csrf-token": token})
    assert (first.status, again.status) == (202, 202)
    assert (first.json()["duplicate"], again.json()["duplicate"]) == (False, True)
    assert kinds(store, "c1").count("undismissed") == 1
    # a metrics key may read metrics, not post events; an undo names its suggestion
    with httpx.Client(base_url=server.url, timeout=30) as c:
        r = c.post("/v1/events", json={**body, "idempotency_key": "m1"}, headers=authorize(store, "metrics"))
        assert r.status_code == 403
        no_sid = {**body, "idempotency_key": "n1", "suggestion_id": None}
        r = c.post("/v1/events", json=no_sid, headers=authorize(store, "integration"))
        assert r.status_code == 422 and "suggestion_id" in r.json()["detail"]


def test_after_a_reload_a_dismissal_and_its_undo_are_recorded_again(
    server: LiveServer, store: Store, page: Page
) -> None:
    """The page's keys were built from the suggestion, the reason and a count of undos kept in the
    page: a reload reset the count, so the dismissal after it reused the first one's key and was
    acknowledged as a repeat, stored nowhere (and so was its undo). Each action has a key of its own."""
    page.goto(f"{server.url}/cases/c1")
    expect(page.locator("#suggestion.live")).to_be_visible()
    page.get_by_role("button", name="Outdated").click()
    page.get_by_role("button", name="Undo").click()
    expect(page.locator("#suggestion.live")).to_be_visible()
    assert wait_for(lambda: kinds(store, "c1") == ["dismissed", "shown", "undismissed"], page=page)
    page.reload()
    expect(page.locator("#suggestion.live")).to_be_visible()
    page.get_by_role("button", name="Outdated").click()
    expect(page.locator("#suggestion")).to_contain_text("Suggestion dismissed (outdated)")
    assert wait_for(
        lambda: kinds(store, "c1") == ["dismissed", "dismissed", "shown", "undismissed"], page=page
    )
    page.goto(f"{server.url}/dashboard")
    assert "1 of 1 shown" in tile(page, "dismissed")
    page.goto(f"{server.url}/cases/c1")  # and its undo, after another reload, is recorded too
    expect(page.locator("#suggestion.live")).to_be_visible()
    page.get_by_role("button", name="Outdated").click()
    page.get_by_role("button", name="Undo").click()
    expect(page.locator("#suggestion.live")).to_be_visible()
    assert wait_for(lambda: kinds(store, "c1").count("undismissed") == 2, page=page)
    page.goto(f"{server.url}/dashboard")
    assert "0 of 1 shown" in tile(page, "dismissed")
