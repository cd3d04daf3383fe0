"""/library in real headless Chromium against a real server with the real workspace pipeline: a
reviewer edits and approves an answer, and /v1/suggest serves the new version without a restart; an
agent is refused the page and its edits (403)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from playwright.sync_api import Page, expect

from supportcue.data.library import AnswerChange
from supportcue.data.store import Store
from supportcue.security.users import add_user
from tests.conftest import LiveServer
from tests.service.conftest import PAUSE_PAYOUTS, authorize, wait_loaded
from tests.service.test_browser import PASSWORD, browser, fresh_page, log_in
from tests.service.test_live_data import Served, environ, serve, suggest, train_workspace

__all__ = ["browser", "fresh_page"]  # the fixtures, shared with test_browser.py
pytestmark = pytest.mark.browser
NEW_BODY = "Pause payouts under Settings > Payouts > Pause; switch it off to resume."


@pytest.fixture
def live(database_url: str, tmp_path: Path) -> Iterator[Served]:
    """The trained workspace served, its `pause` answer back to draft (so nothing is suggested for
    payouts until a reviewer approves it)."""
    train_workspace(tmp_path, database_url)
    with serve(tmp_path, environ(database_url)) as served:
        wait_loaded(served.app)  # type: ignore[arg-type]
        store: Store = served.app.state.runtime.store  # type: ignore[attr-defined]
        store.library.set_answer_status("pause", "draft")
        add_user(store, "rev", "reviewer", PASSWORD)
        add_user(store, "ana", "agent", PASSWORD)
        yield served


def served_text(live: Served, contains: str, timeout: float = 10.0) -> str | None:
    """What /v1/suggest serves for a payout question, once it holds `contains` (or at the timeout)."""
    deadline = time.time() + timeout
    text = suggest(live, "how do I pause payouts")["text"]
    while contains not in (text or "") and time.time() < deadline:
        time.sleep(0.2)
        text = suggest(live, "how do I pause payouts")["text"]
    return text


def test_a_reviewer_edits_and_approves_and_the_new_version_is_served(live: Served, fresh_page: Page) -> None:
    page = fresh_page
    gone = suggest(live, "how do I pause payouts")
    deadline = time.time() + 10
    while gone["text"] is not None and time.time() < deadline:
        time.sleep(0.2)
        gone = suggest(live, "how do I pause payouts")
    assert gone["text"] is None and "no approved answer" in gone["reason"]

    log_in(page, live.url, "rev", path="/library")
    attention = page.locator("#attention")
    expect(attention).to_contain_text("no approved answer")
    expect(attention).to_contain_text("payouts")
    page.locator("#answer-pause a").first.click()
    expect(page).to_have_url(f"{live.url}/library/pause")
    expect(page.locator("#answer-status")).to_have_text("draft")

    page.get_by_label("Body").fill(NEW_BODY)
    page.get_by_label("Note").fill("the new pause switch")
    page.get_by_role("button", name="Save and approve").click()
    # the banner says what was done, once: the address drops `done`, so a reload does not say it again
    expect(page.locator("#answer-done")).to_have_text("Approved: agents are suggested it now.")
    expect(page).to_have_url(f"{live.url}/library/pause")
    page.reload()
    expect(page.locator("#answer-status")).to_have_text("approved")
    expect(page.locator("#answer-done")).to_have_count(0)
    expect(page.locator("#answer-status")).to_have_text("approved")
    expect(page.locator("#answer-version")).to_have_text("2")
    expect(page.locator("#answer-due")).to_have_text(re.compile(r"\d{4}-\d\d-\d\d"))
    newest = page.locator("#version-2")
    expect(newest).to_contain_text("user:rev")
    expect(newest.locator(".add")).to_contain_text([re.compile("switch it off")])
    expect(newest.locator(".del")).to_contain_text([re.compile("pause payouts in Settings")])

    text = served_text(live, "switch it off")
    assert text is not None and NEW_BODY.split(";")[0] in text  # served, no restart

    page.goto(f"{live.url}/library")
    expect(page.locator("#attention")).not_to_contain_text("payouts:")
    expect(page.locator("#answer-pause")).to_contain_text("v2")


def test_an_agent_is_refused_the_library_and_its_edits(live: Served, fresh_page: Page) -> None:
    page = fresh_page
    log_in(page, live.url, "ana")
    expect(page.get_by_role("link", name="Library")).to_have_count(0)
    response = page.goto(f"{live.url}/library")
    assert response is not None and response.status == 403
    expect(page.locator("main")).to_contain_text("reviewer")
    page.goto(f"{live.url}/")
    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    assert token  # a valid session token: the role is what refuses the edit
    edit = {"csrf_token": token, "action": "approve", "topic": "payouts", "title": "Pause", "body": "hacked"}
    refused = page.request.post(f"{live.url}/library/pause", form=edit, max_redirects=0)
    assert refused.status == 403 and "reviewer" in refused.text()
    store: Store = live.app.state.runtime.store  # type: ignore[attr-defined]
    answer = store.library.answer("pause")
    assert answer is not None and answer.status == "draft" and answer.version == 1
    with httpx.Client(base_url=live.url, headers=authorize(store, "agent")) as agent:
        assert agent.patch("/v1/answers/pause", json={"status": "approved"}).status_code == 403


def test_a_refused_edit_keeps_the_reviewers_text_and_says_what_to_do(
    fresh_page: Page, server: LiveServer, store: Store
) -> None:
    """A title of blanks (the form's `required` lets it through) and then an answer saved by someone
    else meanwhile: each time the page says why, with the reviewer's text still in the form; saving
    again after the conflict saves it on the new version."""
    store.library.upsert_answers([PAUSE_PAYOUTS])
    add_user(store, "rev", "reviewer", PASSWORD)
    page = fresh_page
    log_in(page, server.url, "rev", path="/library/a1")
    page.get_by_label("Title").fill("   ")
    page.get_by_label("Body").fill(NEW_BODY)
    page.get_by_role("button", name="Save new version").click()
    error = page.locator("#edit-error")
    expect(error).to_contain_text("title")
    expect(page.get_by_label("Body")).to_have_value(NEW_BODY)

    page.get_by_label("Title").fill("Pause payouts")
    store.library.save_answer("a1", AnswerChange(body="Someone else's text."), "user:other", 90)
    page.get_by_role("button", name="Save new version").click()
    expect(error).to_contain_text(
        "this answer was saved meanwhile (it is at version 2 now, saved by user:other at"
    )
    expect(page.get_by_label("Body")).to_have_value(NEW_BODY)
    expect(page.locator("#version-2")).to_contain_text("user:other")
    page.get_by_role("button", name="Save new version").click()  # read, and saved on purpose
    expect(page.locator("#answer-version")).to_have_text("3")
    answer = store.library.answer("a1")
    assert answer is not None and answer.body == NEW_BODY and answer.title == "Pause payouts"
    store.library.save_answer("a1", AnswerChange(body="A third text."), "user:other", 90)
    page.get_by_role("button", name=re.compile("^Mark reviewed")).click()  # no text: nothing to keep
    expect(error).to_contain_text("Read version 4 under Versions, then click again.")


def test_a_refused_new_answer_stays_in_the_form(fresh_page: Page, server: LiveServer, store: Store) -> None:
    """An id already taken: the library says so, with the reviewer's new answer still in the form."""
    store.library.upsert_answers([PAUSE_PAYOUTS])
    add_user(store, "rev", "reviewer", PASSWORD)
    page = fresh_page
    log_in(page, server.url, "rev", path="/library")
    page.get_by_label("Topic", exact=True).fill("payouts")
    page.get_by_label("Title", exact=True).fill("Pause payouts for good")
    page.get_by_label("Body", exact=True).fill(NEW_BODY)
    page.get_by_label("Id").fill("a1")
    page.get_by_role("button", name="Create draft").click()
    expect(page.locator("#new-error")).to_contain_text("answer 'a1' exists already")
    expect(page.get_by_label("Body", exact=True)).to_have_value(NEW_BODY)
    page.get_by_label("Id").fill("a3")
    page.get_by_role("button", name="Create draft").click()
    expect(page.locator("#answer-done")).to_contain_text("Draft created")
    expect(page).to_have_url(f"{server.url}/library/a3")
    answer = store.library.answer("a3")
    assert answer is not None and answer.body == NEW_BODY and answer.status == "draft"


def test_an_answer_whose_id_holds_url_characters_opens_saves_and_composes(
    fresh_page: Page, server: LiveServer, store: Store
) -> None:
    """An imported id may hold `#`, `?`, `/` or `%` (as a case id may): its links and forms encode it."""
    odd = "kb#12/refund?v=1%"
    store.library.upsert_answers([{**PAUSE_PAYOUTS, "id": odd, "title": "Refunds"}])
    add_user(store, "rev", "reviewer", PASSWORD)
    page = fresh_page
    log_in(page, server.url, "rev", path="/library")
    page.get_by_role("link", name="Refunds").click()
    expect(page.locator("h1")).to_contain_text(odd)
    page.get_by_label("Body").fill(NEW_BODY)
    page.get_by_role("button", name="Save new version").click()
    expect(page.locator("#answer-version")).to_have_text("2")
    answer = store.library.answer(odd)
    assert answer is not None and answer.body == NEW_BODY
    with httpx.Client(base_url=server.url, headers=authorize(store, "agent")) as agent:
        composed = agent.post(
            f"/v1/answers/{quote(odd, safe='')}/compose", json={"case_id": "c1", "customer_name": "Ana"}
        )
    assert composed.status_code == 200 and NEW_BODY in composed.json()["text"]
    with httpx.Client(base_url=server.url, headers=authorize(store, "reviewer")) as reviewer:
        assert reviewer.get(f"/v1/answers/{quote(odd, safe='')}/versions").json()["count"] == 2


def test_a_form_sent_after_the_session_ended_says_how_to_keep_the_text(
    fresh_page: Page, server: LiveServer, store: Store
) -> None:
    """The session ended (a 401), then a form of the earlier session (a 403 for its CSRF token): each
    time a page says what happened and what to do, and Back still holds the text."""
    store.library.upsert_answers([PAUSE_PAYOUTS])
    add_user(store, "rev", "reviewer", PASSWORD)
    page = fresh_page
    log_in(page, server.url, "rev", path="/library/a1")
    page.get_by_label("Body").fill(NEW_BODY)
    page.context.clear_cookies()
    page.get_by_role("button", name="Save new version").click()
    expect(page.locator("#not-saved")).to_contain_text("Your session has ended, so this was not saved")
    expect(page.get_by_role("link", name="log in again")).to_have_attribute("href", "/login?next=/library/a1")
    page.go_back()
    expect(page.get_by_label("Body")).to_have_value(NEW_BODY)

    other = page.context.new_page()
    log_in(other, server.url, "rev", path="/library")
    other.close()
    page.get_by_role("button", name="Save new version").click()
    expect(page.locator("#not-saved")).to_contain_text("This form comes from an earlier session")
    answer = store.library.answer("a1")
    assert answer is not None and answer.version == 1
    page.context.clear_cookies()
    gone = page.request.post(
        f"{server.url}/logout", form={"csrf_token": "x"}, headers={"accept": "text/html"}, max_redirects=0
    )
    assert gone.status == 303 and gone.headers["location"] == "/login"


def test_an_untouched_form_approved_keeps_its_version_and_its_line_breaks(
    fresh_page: Page, server: LiveServer, store: Store
) -> None:
    """A browser sends a textarea's lines with "\\r\\n": "Save and approve" of a form nobody changed
    made a new version (the same text, "\\r" in every line break) that the next suggestion carried.
    The answer keeps its version and its "\\n"; a real edit keeps "\\n" too, and so does a new answer."""
    body = "Hi {customer_name},\n\nYou can pause payouts.\nSettings → Payouts → Pause (ünïcödé)."
    store.library.upsert_answers([{**PAUSE_PAYOUTS, "body": body, "status": "draft"}])
    add_user(store, "rev", "reviewer", PASSWORD)
    page = fresh_page
    log_in(page, server.url, "rev", path="/library/a1")
    page.get_by_role("button", name="Save and approve").click()
    expect(page.locator("#answer-status")).to_have_text("approved")
    expect(page.locator("#answer-version")).to_have_text("1")
    answer = store.library.answer("a1")
    assert answer is not None and answer.body == body and answer.version == 1

    page.get_by_label("Body").fill(body + "\nOr call us.")
    page.get_by_role("button", name="Save new version").click()
    expect(page.locator("#answer-version")).to_have_text("2")
    answer = store.library.answer("a1")
    assert answer is not None and answer.body == body + "\nOr call us."
    expect(page.locator("#version-2 .add")).to_have_text(["+Or call us."])

    page.goto(f"{server.url}/library")
    page.get_by_label("Topic", exact=True).fill("payouts")
    page.get_by_label("Title", exact=True).fill("Two lines")
    page.get_by_label("Body", exact=True).fill("one\ntwo")
    page.get_by_role("button", name="Create draft").click()
    expect(page.locator("#answer-done")).to_contain_text("Draft created")
    expect(page).to_have_url(f"{server.url}/library/payouts-two-lines")
    created = store.library.answer("payouts-two-lines")
    assert created is not None and created.body == "one\ntwo"


def test_a_save_refused_for_the_reviewers_own_other_tab_says_so(
    fresh_page: Page, server: LiveServer, store: Store
) -> None:
    """The same answer open in two tabs, saved in one, then in the other: the refusal said "someone
    saved this answer meanwhile", and the someone was the reviewer. It names who saved the newest
    version (you, or the other editor)."""
    store.library.upsert_answers([PAUSE_PAYOUTS])
    add_user(store, "rev", "reviewer", PASSWORD)
    page = fresh_page
    log_in(page, server.url, "rev", path="/library/a1")
    other = page.context.new_page()
    other.goto(f"{server.url}/library/a1")
    other.get_by_label("Body").fill(NEW_BODY)
    other.get_by_role("button", name="Save new version").click()
    expect(other.locator("#answer-version")).to_have_text("2")
    other.close()
    page.get_by_label("Body").fill(NEW_BODY + " Or call us.")
    page.get_by_role("button", name="Save new version").click()
    error = page.locator("#edit-error")
    expect(error).to_contain_text("at version 2 now, saved by you (in another tab, or before going Back) at")
    expect(page.get_by_label("Body")).to_have_value(NEW_BODY + " Or call us.")
    store.library.save_answer("a1", AnswerChange(body="Someone else's text."), "user:other", 90)
    page.get_by_role("button", name="Save new version").click()
    expect(error).to_contain_text("at version 3 now, saved by user:other at")
    page.get_by_role("button", name="Save new version").click()  # read, and saved on purpose
    expect(page.locator("#answer-version")).to_have_text("4")


def test_the_library_tables_show_every_column_at_1280_px(
    fresh_page: Page, server: LiveServer, store: Store
) -> None:
    """Every cell of the library's tables stayed on one line: each table was about 1,700 px wide, and
    at 1280 px the figures, the dismissals and the trend were off to the right, behind a sideways
    scroll in every topic."""
    title = "Why a payout to a new bank account is held for three days"
    owner = "Devraj Menon-Castellanos (Compliance and Risk Operations, EMEA)"
    store.library.upsert_answers(
        [{**PAUSE_PAYOUTS, "id": "ans-bank_account_change-1", "title": title, "owner": owner}]
    )
    add_user(store, "rev", "reviewer", PASSWORD)
    page = fresh_page
    log_in(page, server.url, "rev", path="/library")
    table = page.locator("table.answers").first
    expect(table).to_contain_text(title)
    wrapper = page.locator(".scroll").first
    assert wrapper.evaluate("w => w.scrollWidth <= w.clientWidth"), wrapper.evaluate("w => w.scrollWidth")
    trend = table.locator("th").last
    expect(trend).to_be_in_viewport()


def test_a_refused_form_shows_why_where_the_reviewer_is(
    fresh_page: Page, server: LiveServer, store: Store
) -> None:
    """The new-answer form is at the end of a long library, and on a phone an answer's edit form is
    below its figures: refused (a topic the workspace lacks, a blank title), the page came back
    scrolled to its top, the reason and the reviewer's text a screen or more below, and nothing in
    view said it was not saved. The reason now has the focus, in view (a screen reader reads it)."""
    many = [{**PAUSE_PAYOUTS, "id": f"a{n}", "topic": f"t{n % 8}", "title": f"Answer {n}"} for n in range(40)]
    store.library.upsert_answers(many)
    add_user(store, "rev", "reviewer", PASSWORD)
    page = fresh_page
    log_in(page, server.url, "rev", path="/library")
    page.get_by_role("link", name="New answer").click()
    page.get_by_label("Topic", exact=True).fill("no_such_topic")
    page.get_by_label("Title", exact=True).fill("Pause payouts for good")
    page.get_by_label("Body", exact=True).fill(NEW_BODY)
    page.get_by_role("button", name="Create draft").click()
    error = page.locator("#new-error")
    expect(error).to_contain_text("is not a topic of this workspace")
    expect(error).to_be_in_viewport()
    expect(error).to_be_focused()
    expect(page.get_by_label("Body", exact=True)).to_have_value(NEW_BODY)
    page.get_by_label("New topic").check()
    page.get_by_role("button", name="Create draft").click()
    expect(page.locator("#answer-done")).to_contain_text("Draft created")
    expect(page).to_have_url(f"{server.url}/library/no-such-topic-pause-payouts-for-good")

    page.set_viewport_size({"width": 390, "height": 800})
    page.goto(f"{server.url}/library/a1")
    page.get_by_label("Title").fill("   ")
    page.get_by_label("Body").fill(NEW_BODY)
    page.get_by_role("button", name="Save new version").click()
    error = page.locator("#edit-error")
    expect(error).to_contain_text("title")
    expect(error).to_be_in_viewport()
    expect(page.get_by_label("Body")).to_have_value(NEW_BODY)


def test_each_change_of_an_answer_says_what_it_did(
    fresh_page: Page, server: LiveServer, store: Store
) -> None:
    """Save, Mark reviewed, Retire, Approve and a new draft each came back to the same page with no
    word of what happened (a date or a number changed somewhere in its facts): a reviewer who clicked
    Mark reviewed could not tell it had worked. Each says what it did, in a status line."""
    store.library.upsert_answers([PAUSE_PAYOUTS])
    add_user(store, "rev", "reviewer", PASSWORD)
    page = fresh_page
    page.on("dialog", lambda d: d.accept())
    log_in(page, server.url, "rev", path="/library/a1")
    done = page.get_by_role("status")
    page.get_by_role("button", name=re.compile("^Mark reviewed")).click()
    expect(done).to_have_text(re.compile(r"^Marked reviewed: the next review is due \d{4}-\d\d-\d\d\.$"))
    page.get_by_label("Body").fill(NEW_BODY)
    page.get_by_role("button", name="Save new version").click()
    expect(done).to_have_text("Saved as version 2. It is approved: agents are suggested this version now.")
    page.get_by_role("button", name="Retire").click()
    expect(done).to_have_text("Retired: it is no longer suggested to agents.")
    page.get_by_role("button", name="Approve", exact=True).click()
    expect(done).to_have_text("Approved: agents are suggested it now.")
    expect(page.locator("#answer-status")).to_have_text("approved")
    page.goto(f"{server.url}/library")
    page.get_by_label("Topic", exact=True).fill("payouts")
    page.get_by_label("Title", exact=True).fill("Two lines")
    page.get_by_label("Body", exact=True).fill("one\ntwo")
    page.get_by_role("button", name="Create draft").click()
    expect(done).to_have_text("Draft created: it is suggested to agents once approved.")
    page.goto(f"{server.url}/library/a1")  # opened again: nothing was just done
    expect(page.get_by_role("status")).to_have_count(0)
