"""The Chatwoot Dashboard App page, `/embed/chatwoot`, in real Chromium: hosted in an iframe by a page
of a stand-in Chatwoot (a tiny local server on another origin, configured as `[chatwoot] base_url`)
that posts `appContext` as Chatwoot does (a JSON string, on the frame's load and on each
`chatwoot-dashboard-app:fetch-info`). The page authenticates with an `embed` key in the URL's
fragment; what it posts is asserted in the store and in /v1/metrics."""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from fastapi import FastAPI
from playwright.sync_api import FrameLocator, Page, expect
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from supportcue.data.store import Store
from supportcue.security.keys import create_key
from supportcue.service.runtime import PipelineLoader
from tests.conftest import LiveServer
from tests.service.conftest import PAUSE_FOR_A_DAY, PAUSE_PAYOUTS, pipeline_with_alternatives
from tests.service.test_browser import browser, fresh_page, wait_for

__all__ = ["browser", "fresh_page"]  # the fixtures, shared with test_browser.py
pytestmark = pytest.mark.browser
CASE = "chatwoot:1:7"
AGENTS = {3: "Rita Moreno", 4: " "}
"""Chatwoot's users by id (4 has no name)."""


def message(mid: int, content: str, kind: int, private: bool = False) -> dict[str, Any]:
    """A message as Chatwoot's dashboard holds it (message_type 0: incoming, 1: outgoing)."""
    return {
        "id": mid,
        "content": content,
        "message_type": kind,
        "private": private,
        "created_at": 1_760_000_000 + mid,
    }


def app_context(agent_id: int = 3) -> dict[str, Any]:
    return {
        "conversation": {
            "id": 7,
            "account_id": 1,
            "inbox_id": 2,
            "status": "open",
            "meta": {"sender": {"id": 9, "name": "Ana Lima"}},
            "messages": [
                message(101, "My payouts look odd this week.", 0),
                message(102, "Which account is it?", 1),
                message(103, "customer is on the old plan", 1, private=True),  # an internal note
                message(104, "how do I pause a payout", 0),
            ],
        },
        "contact": {"id": 9, "name": "Ana Lima", "email": "ana@example.com"},
        "currentAgent": {"id": agent_id, "name": AGENTS[agent_id], "email": "agent@example.com"},
    }


CHATWOOT_PAGE = """<!doctype html><title>Chatwoot</title><h1>Conversation 7</h1>
<iframe id="app" src="{src}" width="460" height="700"></iframe>
<script>
window.context = {context};
window.fetchInfo = 0;
const frame = document.getElementById("app");
window.sendContext = () =>
  frame.contentWindow.postMessage(JSON.stringify({{event: "appContext", data: window.context}}), "*");
frame.addEventListener("load", () => window.sendContext());
window.addEventListener("message", (e) => {{
  if (e.data === "chatwoot-dashboard-app:fetch-info") {{ window.fetchInfo += 1; window.sendContext(); }}
}});
</script>"""


async def _conversation_page(request: Request) -> HTMLResponse:
    """Chatwoot's conversation view with its Dashboard App: /?src=URL&agent=ID."""
    context = json.dumps(app_context(int(request.query_params.get("agent", "3"))))
    src = html.escape(request.query_params["src"])
    return HTMLResponse(CHATWOOT_PAGE.format(src=src, context=context))


@pytest.fixture(scope="module")
def chatwoot() -> Iterator[LiveServer]:
    """The stand-in Chatwoot, on another origin (another port)."""
    with LiveServer(Starlette(routes=[Route("/", _conversation_page)])) as live:
        yield live


@pytest.fixture
def extra_environ(chatwoot: LiveServer) -> dict[str, str]:
    return {"SUPPORTCUE_CHATWOOT__BASE_URL": f"{chatwoot.url}/app/accounts/1"}


@pytest.fixture
def app(make_app: Callable[[PipelineLoader], FastAPI]) -> FastAPI:
    return make_app(pipeline_with_alternatives)


@pytest.fixture
def embed_key(store: Store) -> str:
    store.library.upsert_answers([PAUSE_PAYOUTS, PAUSE_FOR_A_DAY])
    return create_key(store, "chatwoot-embed", "embed")


def open_in_chatwoot(
    page: Page, chatwoot: LiveServer, server: LiveServer, key: str, agent: int = 3
) -> FrameLocator:
    src = f"{server.url}/embed/chatwoot#key={key}"
    page.goto(f"{chatwoot.url}/?{urlencode({'src': src, 'agent': agent})}")
    return page.frame_locator("#app")


def events(store: Store, kind: str | None = None) -> list[Any]:
    return store.events.list(case_id=CASE, kind=kind)


@pytest.fixture
def opened(
    fresh_page: Page, chatwoot: LiveServer, server: LiveServer, embed_key: str
) -> tuple[Page, FrameLocator]:
    """Chatwoot's page (agent 3 on conversation 7) and, in its frame, the embed page."""
    return fresh_page, open_in_chatwoot(fresh_page, chatwoot, server, embed_key)


def test_the_suggestion_appears_and_copy_records_the_agents_insertion(
    fresh_page: Page,
    chatwoot: LiveServer,
    server: LiveServer,
    store: Store,
    embed_key: str,
    api: httpx.Client,
) -> None:
    page = fresh_page
    asked: list[dict[str, Any]] = []
    page.on("request", lambda r: asked.append(r.post_data_json) if r.url.endswith("/v1/suggest") else None)
    frame = open_in_chatwoot(page, chatwoot, server, embed_key)
    card = frame.locator("#suggestion.live")
    expect(card).to_contain_text("You can pause payouts in Settings.")
    expect(card.locator(".topic")).to_have_text("payouts")
    assert asked[0] == {
        "case_id": CASE,
        "message_id": "104",
        "message": "how do I pause a payout",
        "customer_name": "Ana Lima",
        "context": [
            {"role": "customer", "text": "My payouts look odd this week."},
            {"role": "agent", "text": "Which account is it?"},
        ],  # the private note is not a turn
    }
    card.get_by_text("Why this?").click()
    expect(card.locator("dl")).to_contain_text("Pause payouts for a day (61%)")

    frame.get_by_role("button", name="Copy", exact=True).click()
    expect(frame.locator("#status")).to_contain_text("Copied")
    expect(frame.get_by_role("button", name="Copied", exact=True)).to_be_visible()
    frame.get_by_role("button", name="Copied", exact=True).click()  # a second copy records nothing more
    assert wait_for(lambda: sorted(e.kind for e in events(store)) == ["inserted", "shown"])
    assert {e.agent_id for e in events(store)} == {"Rita Moreno"}
    (suggestion,) = [r for r in store.db.rows("suggestions") if r["case_id"] == CASE]
    assert suggestion["message_key"] == "104"
    assert {e.suggestion_id for e in events(store)} == {suggestion["id"]}

    assert wait_for(lambda: page.evaluate("window.fetchInfo") >= 1, page=page)  # the page asked Chatwoot
    page.evaluate("window.sendContext(); window.sendContext()")  # Chatwoot repeating itself
    page.wait_for_timeout(300)
    assert len(asked) == 1
    metrics = api.get("/v1/metrics").json()
    assert metrics["shown"] == 1 and metrics["inserted"] == 1 and metrics["adoption"] == 1.0


def test_dismiss_records_the_reason_then_the_library_is_searched(
    opened: tuple[Page, FrameLocator], store: Store, api: httpx.Client
) -> None:
    page, frame = opened  # by keyboard alone
    expect(frame.locator("#suggestion.live")).to_be_visible()
    frame.get_by_role("button", name="Tone").focus()
    page.keyboard.press("Enter")
    expect(frame.locator("#suggestion")).to_contain_text("Suggestion dismissed (tone)")
    assert wait_for(lambda: sorted(e.kind for e in events(store)) == ["dismissed", "shown"])
    (dismissed,) = events(store, "dismissed")
    assert dismissed.reason == "tone" and dismissed.agent_id == "Rita Moreno"
    search = frame.get_by_role("combobox", name="Search the approved answers")
    expect(search).to_be_focused()
    page.keyboard.type("one-day")
    expect(frame.get_by_role("option")).to_have_count(1)
    page.keyboard.press("Enter")
    expect(frame.locator("#status")).to_contain_text("Copied")
    assert wait_for(lambda: len(events(store, "alternative")) == 1)
    assert events(store, "alternative")[0].answer_id == "a2"
    metrics = api.get("/v1/metrics").json()
    assert metrics["shown"] == 1 and metrics["dismissed"] == 1 and metrics["adoption"] == 0.0


def test_undo_in_the_embed_page_brings_the_suggestion_back_and_the_dismissal_counts_nowhere(
    opened: tuple[Page, FrameLocator], store: Store, api: httpx.Client
) -> None:
    _, frame = opened
    expect(frame.locator("#suggestion.live")).to_be_visible()
    frame.get_by_role("button", name="Outdated").click()
    frame.get_by_role("button", name="Undo").click()
    expect(frame.locator("#suggestion.live")).to_be_visible()
    expect(frame.locator("#use-suggestion")).to_be_focused()
    assert wait_for(lambda: sorted(e.kind for e in events(store)) == ["dismissed", "shown", "undismissed"])
    assert events(store, "undismissed")[0].agent_id == "Rita Moreno"
    metrics = api.get("/v1/metrics").json()
    assert metrics["shown"] == 1 and metrics["dismissed"] == 0


def test_after_the_embed_page_is_opened_again_a_dismissal_and_its_undo_are_recorded_again(
    opened: tuple[Page, FrameLocator], store: Store, api: httpx.Client
) -> None:
    """A dismissal's key counted the undos of the page: opened again (a reload, another conversation
    and back), the count started over, and the dismissal after an undo reused the first one's key,
    acknowledged as a repeat and stored nowhere. Each action has a key of its own."""
    page, frame = opened
    expect(frame.locator("#suggestion.live")).to_be_visible()
    frame.get_by_role("button", name="Outdated").click()
    frame.get_by_role("button", name="Undo").click()
    expect(frame.locator("#suggestion.live")).to_be_visible()
    assert wait_for(lambda: sorted(e.kind for e in events(store)) == ["dismissed", "shown", "undismissed"])
    page.reload()
    frame = page.frame_locator("#app")
    expect(frame.locator("#suggestion.live")).to_be_visible()
    frame.get_by_role("button", name="Outdated").click()
    expect(frame.locator("#suggestion")).to_contain_text("Suggestion dismissed (outdated)")
    assert wait_for(lambda: len(events(store, "dismissed")) == 2, page=page)
    assert api.get("/v1/metrics").json()["dismissed"] == 1
    frame.get_by_role("button", name="Undo").click()
    expect(frame.locator("#suggestion.live")).to_be_visible()
    assert wait_for(lambda: len(events(store, "undismissed")) == 2, page=page)
    assert api.get("/v1/metrics").json()["dismissed"] == 0


def test_an_alternative_is_copied_with_its_own_event(opened: tuple[Page, FrameLocator], store: Store) -> None:
    _, frame = opened
    frame.get_by_role("button", name="Copy: Pause payouts for a day").click()
    expect(frame.locator("#status")).to_contain_text("Copied")
    assert wait_for(lambda: len(events(store, "alternative")) == 1)
    (event,) = events(store, "alternative")
    assert event.answer_id == "a2" and event.agent_id == "Rita Moreno" and event.suggestion_id


def test_one_suggestion_per_message_and_one_shown_event_per_agent(
    fresh_page: Page, chatwoot: LiveServer, server: LiveServer, store: Store, embed_key: str
) -> None:
    # Rita opens the conversation twice, then an agent with no name in Chatwoot once
    for agent, named in ((3, "Rita Moreno"), (3, "Rita Moreno"), (4, "chatwoot user 4")):
        frame = open_in_chatwoot(fresh_page, chatwoot, server, embed_key, agent=agent)
        expect(frame.locator("#suggestion.live")).to_be_visible()
        assert wait_for(lambda named=named: any(e.agent_id == named for e in events(store)))
    fresh_page.wait_for_timeout(300)
    assert len([r for r in store.db.rows("suggestions") if r["case_id"] == CASE]) == 1
    assert sorted(e.agent_id for e in events(store, "shown")) == ["Rita Moreno", "chatwoot user 4"]

    fresh_page.evaluate(  # the customer writes again: a new suggestion for the new message
        "window.context.conversation.messages.push({id: 105, content: 'and can I pause a payout for a week?',"
        " message_type: 0, private: false, created_at: 1760000105}); window.sendContext()"
    )
    assert wait_for(lambda: len({e.suggestion_id for e in events(store, "shown")}) == 2, page=fresh_page)
    keys = sorted(r["message_key"] for r in store.db.rows("suggestions") if r["case_id"] == CASE)
    assert keys == ["104", "105"]


@pytest.mark.parametrize(
    ("content", "attributes"),
    [
        # Chatwoot keeps a deleted message, its text replaced and `content_attributes.deleted` set
        ("This message was deleted", "{deleted: true}"),
        # a customer's reaction (WhatsApp, Instagram) is a message whose content is the emoji
        ("\u2764\ufe0f", "{is_reaction: true, in_reply_to: 102}"),
    ],
    ids=["deleted", "reaction"],
)
def test_a_deleted_message_or_a_reaction_is_not_the_customers_question(
    opened: tuple[Page, FrameLocator], store: Store, content: str, attributes: str
) -> None:
    page, frame = opened
    expect(frame.locator("#suggestion.live")).to_be_visible()
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if r.url.endswith("/v1/suggest") else None)
    page.evaluate(
        f"window.context.conversation.messages.push({{id: 105, content: {json.dumps(content)},"
        f" content_attributes: {attributes}, message_type: 0, private: false, created_at: 1760000105}});"
        " window.sendContext()"
    )
    page.wait_for_timeout(500)
    assert asked == []
    expect(frame.locator("#suggestion.live")).to_contain_text("You can pause payouts in Settings.")
    keys = [r["message_key"] for r in store.db.rows("suggestions") if r["case_id"] == CASE]
    assert keys == ["104"]


def test_a_bots_messages_are_the_bots_turns_in_the_context(
    opened: tuple[Page, FrameLocator], store: Store
) -> None:
    """A conversation an agent bot (or Captain) answered first: the bot's messages are outgoing, as an
    agent's are, and the page sent them as the agent's turns, so the suggestion read the bot's words
    as what the agent had already said. Chatwoot's message says its sender is a bot (`sender_type`
    AgentBot or Captain::Assistant, `sender.type` agent_bot or captain_assistant)."""
    page, frame = opened
    expect(frame.locator("#suggestion.live")).to_be_visible()
    asked: list[dict[str, Any]] = []
    page.on("request", lambda r: asked.append(r.post_data_json) if r.url.endswith("/v1/suggest") else None)
    page.evaluate(
        "window.context.conversation.messages.push("
        "{id: 105, content: 'Payouts arrive in 2 days.', message_type: 1, private: false,"
        " created_at: 1760000105, sender_type: 'AgentBot',"
        " sender: {id: 1, name: 'Support Bot', type: 'agent_bot'}},"
        "{id: 106, content: 'Ask the AI: it says 3 days.', message_type: 1, private: false,"
        " created_at: 1760000106, sender_type: 'Captain::Assistant', sender: {id: 2, name: 'Captain'}},"
        "{id: 107, content: 'and can I pause a payout for a week?', message_type: 0, private: false,"
        " created_at: 1760000107}); window.sendContext()"
    )
    assert wait_for(lambda: asked, page=page)
    assert asked[0]["message_id"] == "107"
    assert [t["role"] for t in asked[0]["context"]] == ["customer", "agent", "customer", "bot", "bot"]


IMAGE_ONLY = '<div dir="ltr"><img src="cid:ii_lx1" alt="image.png"><br></div>'
"""An e-mail with a screenshot pasted in its body and no text part: Chatwoot's `content` is its HTML."""


def test_an_email_whose_body_is_only_an_image_is_no_question_to_suggest_for(
    opened: tuple[Page, FrameLocator], store: Store
) -> None:
    """The webhook ignores such an e-mail ("the message has no text"), so its note stays the earlier
    question's; the tab asked for a suggestion for it, and the service made one from nothing."""
    page, frame = opened
    expect(frame.locator("#suggestion.live")).to_be_visible()
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if r.url.endswith("/v1/suggest") else None)
    page.evaluate(
        f"window.context.conversation.messages.push({{id: 105, content: {json.dumps(IMAGE_ONLY)},"
        " content_type: 'incoming_email', message_type: 0, private: false, created_at: 1760000105});"
        " window.sendContext()"
    )
    page.wait_for_timeout(500)
    assert asked == []
    expect(frame.locator("#suggestion.live")).to_contain_text("You can pause payouts in Settings.")
    # a conversation whose only message from the customer is such an e-mail has nothing to suggest for
    page.evaluate(
        f"window.context.conversation.messages = [{{id: 106, content: {json.dumps(IMAGE_ONLY)},"
        " content_type: 'incoming_email', message_type: 0, private: false, created_at: 1760000106}];"
        " window.sendContext()"
    )
    expect(frame.locator("#suggestion.none")).to_contain_text("no text to suggest a reply for")
    page.wait_for_timeout(500)
    assert asked == []
    keys = [r["message_key"] for r in store.db.rows("suggestions") if r["case_id"] == CASE]
    assert keys == ["104"]


def test_a_message_too_long_to_send_shows_the_suggestion_already_made_for_it(
    opened: tuple[Page, FrameLocator], server: LiveServer, store: Store, embed_key: str
) -> None:
    """A customer pastes a long export into the chat (Chatwoot keeps 150,000 characters): the
    webhook's note has its suggestion, and the page, sending the message in /v1/suggest's body, was
    refused (413, over the body limit) and showed "No suggestion". It asks by the message's id."""
    page, frame = opened
    expect(frame.locator("#suggestion.live")).to_be_visible()
    auth = {"authorization": f"Bearer {embed_key}"}
    made = httpx.post(  # the note's suggestion for message 105, made when its webhook came
        f"{server.url}/v1/suggest",
        json={"case_id": CASE, "message_id": "105", "message": "how do I pause a payout for a day"},
        headers=auth,
    ).json()
    long_text = "how do I pause a payout? here is the export:\n" + "row;payout;EUR;42.00\n" * 6000
    assert len(long_text) > 120_000
    sent: list[int] = []
    page.on("request", lambda r: sent.append(len(r.post_data or "")) if "/v1/suggest" in r.url else None)
    page.evaluate(
        f"window.context.conversation.messages.push({{id: 105, content: {json.dumps(long_text)},"
        " message_type: 0, private: false, created_at: 1760000105}); window.sendContext()"
    )
    expect(frame.locator("#suggestion.live")).to_contain_text(made["text"].splitlines()[-1])
    assert sent and max(sent) < 100_000  # the message itself was never sent
    assert wait_for(
        lambda: made["suggestion_id"] in {e.suggestion_id for e in events(store, "shown")}, page=page
    )
    # a long message with no suggestion yet (its webhook has not come) says so, and nothing is made
    page.evaluate(
        f"window.context.conversation.messages.push({{id: 106, content: {json.dumps(long_text)},"
        " message_type: 0, private: false, created_at: 1760000106}); window.sendContext()"
    )
    expect(frame.locator("#suggestion.none")).to_contain_text("too long to send")
    keys = sorted(r["message_key"] for r in store.db.rows("suggestions") if r["case_id"] == CASE)
    assert keys == ["104", "105"]
    # the webhook comes, its note's suggestion is made: the page, asking again, shows it
    later = httpx.post(
        f"{server.url}/v1/suggest",
        json={"case_id": CASE, "message_id": "106", "message": "how do I pause a payout"},
        headers=auth,
    ).json()
    expect(frame.locator("#suggestion.live")).to_be_visible(timeout=20_000)
    assert wait_for(
        lambda: later["suggestion_id"] in {e.suggestion_id for e in events(store, "shown")}, page=page
    )


def test_messages_from_anywhere_but_chatwoot_are_ignored(
    fresh_page: Page, server: LiveServer, store: Store, embed_key: str
) -> None:
    asked: list[str] = []
    fresh_page.on("request", lambda r: asked.append(r.url) if r.url.endswith("/v1/suggest") else None)
    fresh_page.goto(f"{server.url}/embed/chatwoot#key={embed_key}")  # not framed: its own origin posts
    fresh_page.evaluate(
        "context => window.postMessage(JSON.stringify({event: 'appContext', data: context}), '*')",
        app_context(),
    )
    fresh_page.wait_for_timeout(500)
    expect(fresh_page.locator("#suggestion")).to_contain_text("Waiting for the conversation from Chatwoot")
    assert asked == [] and events(store) == []


def test_without_its_key_the_page_says_what_it_needs(
    fresh_page: Page, chatwoot: LiveServer, server: LiveServer, embed_key: str
) -> None:
    frame = open_in_chatwoot(fresh_page, chatwoot, server, "")
    expect(frame.locator("#suggestion")).to_contain_text("This page needs its key")
    frame = open_in_chatwoot(fresh_page, chatwoot, server, "sc_revoked-or-mistyped")
    expect(frame.locator("#suggestion")).to_contain_text("The embed key was refused")


MALFORMED = [
    "{",
    "null",
    "42",
    json.dumps({"event": "appContext", "data": None}),
    json.dumps({"event": "appContext", "data": {"conversation": "7"}}),
    json.dumps({"event": "appContext", "data": {"conversation": {"id": 7, "messages": "hello"}}}),
    json.dumps({"event": "appContext", "data": {"conversation": {"id": 7, "messages": [None, 5, "hi"]}}}),
    json.dumps(
        {
            "event": "appContext",
            "data": {
                "conversation": {
                    "id": 8,
                    "account_id": 1,
                    "meta": None,
                    "messages": [message(201, "a payout?", 0)],
                },
                "contact": "Ana",
                "currentAgent": "Rita",
            },
        }
    ),
]
"""What Chatwoot's origin might post that is not a well-formed `appContext` (the last is one with
odd contact and agent fields, still a question to answer)."""


def test_malformed_messages_from_chatwoot_break_nothing(
    opened: tuple[Page, FrameLocator], store: Store
) -> None:
    page, frame = opened
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    expect(frame.locator("#suggestion.live")).to_be_visible()
    for payload in MALFORMED:
        page.evaluate("m => document.getElementById('app').contentWindow.postMessage(m, '*')", payload)
    expect(frame.locator("#suggestion.live")).to_contain_text("You can pause payouts in Settings.")
    assert wait_for(
        lambda: any(e.case_id == "chatwoot:1:8" for e in store.events.list(kind="shown")), page=page
    )
    assert errors == []


def test_a_refused_dismissal_brings_the_suggestion_back(
    opened: tuple[Page, FrameLocator], store: Store
) -> None:
    page, frame = opened
    refusals = [422]

    def flaky(route: Any) -> None:
        if route.request.post_data_json["kind"] == "dismissed" and refusals:
            route.fulfill(status=refusals.pop(), json={"detail": "not now"})
        else:
            route.continue_()

    page.route("**/v1/events", flaky)
    expect(frame.locator("#suggestion.live")).to_be_visible()
    frame.get_by_role("button", name="Tone").click()
    expect(frame.locator("#status")).to_contain_text('Could not record "dismissed": not now')
    frame.get_by_role("button", name="Tone").click()  # the card is back
    expect(frame.locator("#suggestion")).to_contain_text("Suggestion dismissed (tone)")
    assert wait_for(lambda: sorted(e.kind for e in events(store)) == ["dismissed", "shown"], page=page)


def seconds(page: Page, n: int) -> None:
    """Let `n` seconds of the page's clock pass (installed: `page.clock`), a second at a time, with
    its requests answered in between."""
    for _ in range(n):
        page.clock.run_for(1000)
        page.wait_for_timeout(30)


def test_after_the_service_was_unreachable_the_suggestion_comes_when_it_is_back(
    fresh_page: Page, chatwoot: LiveServer, server: LiveServer, store: Store, embed_key: str
) -> None:
    """supportcue restarting (or a proxy answering 503) while an agent has the conversation open:
    the page says that the service did not answer, and once it answers again, the suggestion comes
    at Chatwoot's next `appContext` (the page asks for it every few seconds), with no reload. It
    showed "did not answer" until the customer wrote again or the agent reloaded the page."""
    page = fresh_page
    page.clock.install()
    down = [True]

    def outage(route: Any) -> None:
        if down[0]:
            route.fulfill(status=503, json={"detail": "the service is starting"})
        else:
            route.continue_()

    page.route("**/v1/suggest", outage)
    frame = open_in_chatwoot(page, chatwoot, server, embed_key)
    expect(frame.locator("#suggestion")).to_contain_text("Looking for a suggestion")
    seconds(page, 40)  # the page's retries
    expect(frame.locator("#suggestion")).to_contain_text("the suggestion service did not answer")
    down[0] = False
    seconds(page, 30)  # the page's retry under way, or Chatwoot's next appContext
    expect(frame.locator("#suggestion.live")).to_contain_text("You can pause payouts in Settings.")
    assert wait_for(lambda: [e.kind for e in events(store)] == ["shown"], page=page)
