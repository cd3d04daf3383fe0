"""The agent console's fixes, each reproduced in real Chromium first (see test_browser.py for the
set-up): what was dismissed cannot be inserted, a case opened twice keeps its one suggestion and one
`shown` event, Alt+I inserts once, the reply box has focus, an abstention says why in words and offers
the approved answers (type, Enter inserts), an alternative is inserted with its own event, the thread
is shown and sent as context, and the customer's name goes to /v1/suggest for the greeting."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from playwright.sync_api import Page, expect

from supportcue.data.store import Store
from supportcue.service.runtime import PipelineLoader
from tests.conftest import LiveServer
from tests.service.conftest import PAUSE_FOR_A_DAY, PAUSE_PAYOUTS, case, pipeline_with_alternatives
from tests.service.test_browser import SUGGESTED, browser, fresh_page, kinds, page, wait_for

__all__ = ["browser", "fresh_page", "page"]  # the fixtures, shared with test_browser.py
pytestmark = pytest.mark.browser
THREAD = [
    {"role": "customer", "text": "My payouts look wrong this week."},
    {"role": "agent", "text": "Sorry to hear that: which account is it?"},
]


@pytest.fixture
def app(make_app: Callable[[PipelineLoader], FastAPI]) -> FastAPI:
    """The app whose payout suggestion (a1) has an alternative (a2)."""
    return make_app(pipeline_with_alternatives)


@pytest.fixture(autouse=True)
def _seeded(store: Store) -> None:
    draft = {"id": "a3", "topic": "payouts", "title": "Payout schedule", "body": "Draft.", "status": "draft"}
    store.library.upsert_answers([PAUSE_PAYOUTS, PAUSE_FOR_A_DAY, draft])
    store.cases.upsert(
        [
            case("c1", "how do I pause a payout", "Ana"),
            case("c3", "where is my money", "Cy Young", hours=2),
            case("c4", "and how do I pause a payout then?", "Bea Lima", hours=3, context=THREAD),
        ]
    )


def reply_box(page: Page) -> Any:
    return page.get_by_role("textbox", name="Your reply")


def open_case(page: Page, server: LiveServer, case_id: str, live: bool = True) -> None:
    page.goto(f"{server.url}/cases/{case_id}")
    expect(page.locator("#suggestion.live" if live else "#suggestion.none")).to_be_visible()


def test_the_reply_box_has_focus_when_a_case_opens(server: LiveServer, page: Page) -> None:
    page.goto(f"{server.url}/cases/c1")
    expect(reply_box(page)).to_be_focused()
    expect(page.locator("#suggestion.live")).to_be_visible()
    expect(reply_box(page)).to_be_focused()  # the suggestion arriving does not take it away
    page.keyboard.type("Hello")
    expect(reply_box(page)).to_have_value("Hello")


def test_after_not_useful_alt_i_inserts_nothing(server: LiveServer, store: Store, page: Page) -> None:
    open_case(page, server, "c1")
    page.get_by_role("button", name="Wrong topic").click()
    expect(page.locator("#suggestion")).to_contain_text("Suggestion dismissed (wrong topic)")
    page.keyboard.press("Alt+i")
    page.wait_for_timeout(200)
    expect(reply_box(page)).to_have_value("")
    expect(page.locator("#status")).to_have_text("There is no suggestion to insert.")
    assert wait_for(lambda: kinds(store, "c1") == ["dismissed", "shown"])
    page.wait_for_timeout(300)
    assert kinds(store, "c1") == ["dismissed", "shown"]  # no `inserted`


def test_alt_i_twice_inserts_once(server: LiveServer, store: Store, page: Page) -> None:
    open_case(page, server, "c1")
    page.keyboard.press("Alt+i")
    expect(reply_box(page)).to_have_value(SUGGESTED)
    page.keyboard.press("Alt+i")
    expect(page.locator("#status")).to_have_text("The suggestion is already in your reply.")
    page.get_by_role("button", name="Inserted").click(force=True)  # disabled: does nothing
    expect(reply_box(page)).to_have_value(SUGGESTED)
    assert wait_for(lambda: kinds(store, "c1") == ["inserted", "shown"])
    page.wait_for_timeout(300)
    assert kinds(store, "c1") == ["inserted", "shown"]


def test_a_case_opened_twice_keeps_its_one_suggestion_and_shown_event(
    server: LiveServer, store: Store, page: Page
) -> None:
    bodies = []
    for _ in range(3):  # opened, opened again, reloaded
        with page.expect_response(lambda r: r.url.endswith("/v1/suggest")) as answer:
            page.goto(f"{server.url}/cases/c1")
        bodies.append(answer.value.json())
        expect(page.locator("#suggestion.live")).to_be_visible()
        assert wait_for(lambda: kinds(store, "c1") == ["shown"])
    assert [b["reused"] for b in bodies] == [False, True, True]
    assert len({b["suggestion_id"] for b in bodies}) == 1
    page.wait_for_timeout(300)
    rows = store.db.rows("suggestions")
    assert len([r for r in rows if r["case_id"] == "c1"]) == 1
    assert kinds(store, "c1") == ["shown"]


def test_the_case_opened_again_after_its_message_changed_gets_a_new_suggestion(
    server: LiveServer, store: Store, page: Page
) -> None:
    open_case(page, server, "c1")
    store.cases.upsert([case("c1", "how do I pause a payout for a week", "Ana")])
    open_case(page, server, "c1")
    expect(page.locator("#message")).to_have_text("how do I pause a payout for a week")
    assert wait_for(lambda: len({e.suggestion_id for e in store.events.list(case_id="c1")}) == 2)


def test_an_abstention_says_why_and_the_library_search_inserts_an_answer(
    server: LiveServer, store: Store, page: Page
) -> None:
    open_case(page, server, "c3", live=False)
    why = page.locator("#suggestion .why-none")
    expect(why).to_have_text("No topic fits this message well enough. Why: low confidence 0.20 < 0.50.")
    search = page.get_by_role("combobox", name="Search the approved answers")
    search.fill("schedule")  # a3 is a draft: never offered
    expect(page.locator("#suggestion .library-note")).to_have_text("No approved answer holds these words.")
    search.fill("pause day")
    options = page.get_by_role("option")
    expect(options).to_have_count(1)
    search.fill("pause")
    expect(options).to_have_count(2)
    expect(options.first).to_contain_text("Pause payouts")
    search.press("ArrowDown")
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    search.press("Enter")
    expect(reply_box(page)).to_have_value("Hi Cy Young,\nA one-day pause starts at once, Cy.")
    expect(reply_box(page)).to_be_focused()
    assert wait_for(lambda: kinds(store, "c3") == ["alternative"])
    event = store.events.list(case_id="c3")[0]
    stored = store.cases.suggestion(event.suggestion_id or "")
    assert event.answer_id == "a2" and stored is not None and stored.abstained_at == "topic"


def test_after_a_dismissal_the_library_is_offered(server: LiveServer, store: Store, page: Page) -> None:
    open_case(page, server, "c1")
    page.get_by_role("button", name="Outdated").click()
    search = page.get_by_role("combobox", name="Search the approved answers")
    search.fill("one-day")
    expect(page.get_by_role("option")).to_have_count(1)
    search.press("Enter")
    expect(reply_box(page)).to_have_value("Hi Ana,\nA one-day pause starts at once, Ana.")
    assert wait_for(lambda: kinds(store, "c1") == ["alternative", "dismissed", "shown"])


def test_an_alternative_is_inserted_with_its_own_event(server: LiveServer, store: Store, page: Page) -> None:
    open_case(page, server, "c1")
    others = page.get_by_role("list", name="Other answers of this topic")
    expect(others).to_contain_text("Pause payouts for a day 61%")
    page.get_by_role("button", name="Insert: Pause payouts for a day").click()
    expect(reply_box(page)).to_have_value("Hi Ana,\nA one-day pause starts at once, Ana.")
    assert wait_for(lambda: kinds(store, "c1") == ["alternative", "shown"])
    (event,) = store.events.list(case_id="c1", kind="alternative")
    assert event.answer_id == "a2" and event.suggestion_id and event.agent_id == "rita"
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#next")).to_be_visible()
    sent = store.events.list(case_id="c1", kind="sent")[0]
    assert sent.suggestion_id == event.suggestion_id


def test_the_thread_is_shown_and_sent_as_context_with_the_customer_name(
    server: LiveServer, store: Store, page: Page
) -> None:
    asked: list[dict[str, Any]] = []
    page.on(
        "request",
        lambda r: asked.append(json.loads(r.post_data or "{}")) if r.url.endswith("/v1/suggest") else None,
    )
    open_case(page, server, "c4")
    turns = page.get_by_role("list", name="Conversation, oldest first").get_by_role("listitem")
    expect(turns).to_have_count(3)
    expect(turns.nth(0)).to_contain_text("CUSTOMER My payouts look wrong this week.", use_inner_text=True)
    expect(turns.nth(1)).to_contain_text(
        "AGENT Sorry to hear that: which account is it?", use_inner_text=True
    )
    expect(turns.nth(2)).to_contain_text("and how do I pause a payout then?")
    assert asked[0]["context"] == THREAD and asked[0]["message"] == "and how do I pause a payout then?"
    assert asked[0]["customer_name"] == "Bea Lima"  # the tone stage greets by the first name
    expect(page.locator("#suggestion .text")).to_contain_text("Hi Bea")
