"""The /review page in real headless Chromium against a real server (see test_browser.py): a reviewer
logged in through /login works five queue items, and the labels appear with source `sme`; from a
drift alert on /library to the items it created, each saying why."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from supportcue.data.store import Store
from supportcue.embeddings import HashingEmbedder
from supportcue.monitoring.drift import run_drift
from supportcue.security.users import add_user
from supportcue.settings import Settings
from tests.conftest import LiveServer
from tests.review.drift_seed import seed_drift
from tests.review.seed import seed
from tests.service.test_browser import PASSWORD, browser, fresh_page, log_in, log_in_in_a_new_tab

pytestmark = pytest.mark.browser
__all__ = ["browser", "fresh_page"]  # the fixtures, shared with test_browser.py


def open_queue(page: Page, server: LiveServer, store: Store) -> None:
    """Seed the queue and log in as vera, a reviewer, on /review."""
    seed(store)
    add_user(store, "vera", "reviewer", PASSWORD)
    log_in(page, server.url, "vera", path="/review")


def test_a_reviewer_works_five_items_and_the_labels_are_sme(
    fresh_page: Page, server: LiveServer, store: Store
) -> None:
    page = fresh_page
    open_queue(page, server, store)
    item = page.locator("#item")
    seen: list[str] = []
    for n in range(5):
        expect(item).to_have_attribute("data-item-id", re.compile(r"^ri_"))
        item_id = item.get_attribute("data-item-id") or ""
        assert item_id not in seen
        seen.append(item_id)
        kind = item.get_attribute("data-kind")
        page.get_by_label("partially correct").check()
        if kind == "cluster":
            page.get_by_label("Topic").fill("crypto_wallet")
        elif kind == "suggestion":
            page.get_by_label("tone").check()
        page.get_by_role("button", name="Save review").click()
        expect(page.locator("#reviewed-count")).to_have_text(f"{n + 1} reviewed")
        expect(page.locator("#review-status")).to_contain_text("Saved:")
    reviews = store.reviews.list()
    assert sorted(r.item_id for r, _ in reviews) == sorted(seen)
    assert {r.reviewer for r, _ in reviews} == {"user:vera"}
    assert {r.verdict for r, _ in reviews} == {"partially_correct"}
    cases = {i.case_id for _, i in reviews} | {c for _, i in reviews for c in i.details.get("case_ids", [])}
    labels = [
        lb
        for task in ("response_quality", "topic", "validity")
        for lb in store.labels.list(task)
        if lb.case_id in cases
    ]
    assert labels and {(lb.source, lb.annotator) for lb in labels} == {("sme", "user:vera")}
    assert all(lb.expires_at is not None for lb in labels)


def test_the_form_asks_only_what_a_review_of_the_item_keeps(
    fresh_page: Page, server: LiveServer, store: Store
) -> None:
    """A message or cluster item's review keeps its verdict, validity and topic: flags and a
    corrected reply were asked for and silently dropped (only a suggestion's review reads them)."""
    page = fresh_page
    open_queue(page, server, store)
    item = page.locator("#item")
    kinds: set[str] = set()
    seen = ""
    for _ in range(10):
        expect(item).not_to_have_attribute("data-item-id", seen or "none")
        expect(item).to_have_attribute("data-item-id", re.compile(r"^ri_"))
        seen = item.get_attribute("data-item-id") or ""
        kind = item.get_attribute("data-kind") or ""
        kinds.add(kind)
        about_a_reply = kind == "suggestion"
        expect(page.locator("#corrected")).to_be_visible(visible=about_a_reply)
        expect(page.get_by_label("outdated")).to_be_visible(visible=about_a_reply)
        if about_a_reply:  # a box as wide as the form, not a small one beside its label
            box = page.get_by_label("Corrected reply").bounding_box()
            form = page.locator("#review-form").bounding_box()
            assert box is not None and form is not None and box["width"] > 0.9 * form["width"], (box, form)
        expect(page.locator("#topic")).to_be_visible()
        page.get_by_label("incorrect", exact=True).check()
        page.locator("#topic").fill("crypto_wallet" if kind == "cluster" else "refunds")
        page.get_by_role("button", name="Save review").click()
        expect(page.locator("#review-status")).to_contain_text("Saved:")
        if {"suggestion", "message"} <= kinds:
            break
    assert {"suggestion", "message"} <= kinds


def test_an_agent_is_refused_the_review_page(fresh_page: Page, server: LiveServer, store: Store) -> None:
    add_user(store, "andy", "agent", PASSWORD)
    log_in(fresh_page, server.url, "andy")
    response = fresh_page.goto(f"{server.url}/review")
    assert response is not None and response.status == 403
    expect(fresh_page.get_by_role("link", name="Review")).to_have_count(0)


def test_a_drift_alert_on_the_library_leads_to_its_items_and_each_says_why(
    fresh_page: Page, server: LiveServer, store: Store
) -> None:
    seed_drift(store)
    alerts = run_drift(store, Settings(), HashingEmbedder())["alerts"]
    (drop,) = [a for a in alerts if a["subject"] == "a-pay"]
    why = "Why this item: the drift alert answer match drop: a-pay"
    add_user(store, "vera", "reviewer", PASSWORD)
    page = fresh_page
    log_in(page, server.url, "vera", path="/library")
    alert = page.locator(f"#alert-{drop['id']}")
    expect(alert).to_contain_text("answer match drop")
    alert.get_by_role("link", name=re.compile(r"^Review its \d+ items?$")).click()
    expect(page).to_have_url(re.compile(rf"/review\?alert={drop['id']}$"))
    item = page.locator("#item")
    for n in range(len(drop["review_item_ids"])):
        expect(item).to_have_attribute("data-item-id", re.compile(r"^ri_"))
        assert item.get_attribute("data-item-id") in drop["review_item_ids"]
        expect(item.locator(".why-alert")).to_have_text(why)
        page.get_by_label("incorrect", exact=True).check()
        page.get_by_label("outdated").check()
        page.get_by_role("button", name="Save review").click()
        expect(page.locator("#reviewed-count")).to_have_text(f"{n + 1} reviewed")
    expect(page.locator("#queue-empty")).to_have_text("Nothing left to review for this alert. Thank you!")
    assert sorted(r.item_id for r, _ in store.reviews.list()) == sorted(drop["review_item_ids"])


def test_when_the_server_does_not_answer_the_reviewer_is_told_and_the_review_is_kept(
    fresh_page: Page, server: LiveServer, store: Store
) -> None:
    page = fresh_page
    page.route("**/v1/review/queue*", lambda route: route.abort("internetdisconnected"))
    open_queue(page, server, store)
    expect(page.locator("#review-status")).to_contain_text(
        "Could not load the queue: the server did not answer"
    )
    page.unroute("**/v1/review/queue*")

    page.reload()
    expect(page.locator("#item")).to_have_attribute("data-item-id", re.compile(r"^ri_"))
    page.route("**/v1/reviews", lambda route: route.abort("connectionreset"))
    page.get_by_label("incorrect", exact=True).check()
    page.get_by_label("Corrected reply").fill("Pause payouts under Settings > Payouts.")
    save = page.get_by_role("button", name="Save review")
    save.click()
    expect(page.locator("#review-status")).to_contain_text("Not saved: the server did not answer")
    expect(save).to_be_enabled()
    expect(page.get_by_label("Corrected reply")).to_have_value("Pause payouts under Settings > Payouts.")
    assert store.reviews.list() == []
    page.unroute("**/v1/reviews")
    save.click()
    expect(page.locator("#reviewed-count")).to_have_text("1 reviewed")
    ((review, _),) = store.reviews.list()
    assert review.verdict == "incorrect"


def test_after_the_session_ends_the_reviewer_logs_in_again_and_saves_the_review(
    fresh_page: Page, server: LiveServer, store: Store
) -> None:
    page = fresh_page
    open_queue(page, server, store)
    expect(page.locator("#item")).to_have_attribute("data-item-id", re.compile(r"^ri_"))
    page.get_by_label("incorrect", exact=True).check()
    page.get_by_label("Corrected reply").fill("Pause payouts under Settings > Payouts.")
    page.context.clear_cookies()  # the session ends
    page.get_by_role("button", name="Save review").click()
    log_in_in_a_new_tab(page, server.url, "vera", "/review")
    page.get_by_role("button", name="Save review").click()  # the old page: its token is renewed
    expect(page.locator("#reviewed-count")).to_have_text("1 reviewed")
    ((review, _),) = store.reviews.list()
    assert review.verdict == "incorrect" and review.reviewer == "user:vera"


def test_a_message_with_no_proposed_topic_says_so_and_reads_as_written(
    fresh_page: Page, server: LiveServer, store: Store
) -> None:
    """Most message items propose no topic (the assistant abstained): the page asked "Is the proposed
    topic right?" with none shown, ran the message's paragraphs into one, hid what the assistant did,
    and gave the corrected reply a small box beside its label."""
    from tests.review.seed import _e, _s

    store.library.upsert_topics([{"key": "payouts", "name": "Payouts"}, {"key": "fees", "name": "Fees"}])
    message = "Good afternoon,\n\nWhen do platform fees get deducted?\n\nBest, Nadia"
    store.cases.upsert([{"id": "c-fees", "message": message, "customer_name": "Nadia"}])
    reason = "low confidence 0.45 < 0.82 for topic payouts"
    store.cases.add_suggestions(
        [_s("s-fees", "c-fees", 1, abstained_at="topic", mode="none", confidence=0.45, reason=reason)]
    )
    store.events.add_many([_e("sent-fees", "c-fees", "sent", "s-fees", 2, text="Fees come off each payout.")])
    add_user(store, "vera", "reviewer", PASSWORD)
    page = fresh_page
    log_in(page, server.url, "vera", path="/review")
    item = page.locator("#item")
    expect(item).to_have_attribute("data-kind", "message")
    expect(page.locator("#proposed-topic")).to_have_text(re.compile(r"Proposed topic: none"))
    expect(page.locator("#verdict-legend")).to_have_text(re.compile(r"^Was no topic right\?"))
    expect(item).to_contain_text(f"What the assistant suggested(no reply: {reason})")
    shown = item.locator(".quote").first.inner_text()
    assert shown == message, shown  # its line breaks on screen, not run together
    expect(page.locator("#corrected")).to_be_hidden()  # a message's review keeps no reply
    page.get_by_label("incorrect", exact=True).check()
    page.locator("#topic").fill("fees")
    page.get_by_role("button", name="Save review").click()
    expect(page.locator("#review-status")).to_contain_text("Saved: 2 label(s).")
    assert {(lb.task, lb.value) for lb in store.labels.list("topic")} == {("topic", "fees")}
