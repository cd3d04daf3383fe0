"""Every shape of webhook a real Chatwoot account sends, over real HTTP against the served app, with
Chatwoot's messages API served by the local fake (tests/integrations/chatwoot_api.py).

The shapes follow Chatwoot's own source: `app/listeners/webhook_listener.rb` (which events exist and
what each payload is: a message's, a conversation's or a contact inbox's `webhook_data` merged with
`event`), `app/models/message.rb` (`webhook_data`: `message_type` as its enum name, `private`,
`content_attributes` with `deleted` and `in_reply_to`, `sender` as the sender's own `webhook_data`
with `type` user, contact or agent_bot) and the docs' `webhook-events` page.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from supportcue.data.store import Store
from supportcue.security.keys import create_key
from tests.conftest import LiveServer
from tests.integrations.chatwoot_api import (
    CASE,
    CONTACT,
    PAUSE,
    WEBHOOK,
    FakeChatwoot,
    incoming_email,
    message_created,
    post,
    rails_json,
    signed,
    wait_for,
)


def at(seconds_ago: float) -> str:
    """A message's `created_at` as Chatwoot's webhooks write it (Rails' JSON time)."""
    when = datetime.now(UTC) - timedelta(seconds=seconds_ago)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def conversation_event(event: str, **extra: Any) -> dict[str, Any]:
    """A conversation's `webhook_data` (the `conversation` of a message's) with its event."""
    return {**message_created(1, "x")["conversation"], "event": event, **extra}


WIDGET_TRIGGERED = {
    "id": 12,
    "contact": {**CONTACT, "email": "ana@example.com"},
    "inbox": {"id": 1, "name": "Acme Support"},
    "account": {"id": 1, "name": "Acme Inc"},
    "current_conversation": None,
    "source_id": "405f1d30-1af3-4fa0-8ffd-11ea3f86101e",
    "event": "webwidget_triggered",
    "event_info": {"initiated_at": {"timestamp": "Fri Jul 23 2021"}, "referer": "http://localhost/"},
}


@pytest.mark.parametrize(
    "payload",
    [
        conversation_event("conversation_created"),
        conversation_event(
            "conversation_status_changed",
            status="resolved",
            changed_attributes=[{"status": {"previous_value": "open", "current_value": "resolved"}}],
        ),
        conversation_event(
            "conversation_updated",
            changed_attributes=[{"assignee_id": {"previous_value": None, "current_value": 1}}],
        ),
        WIDGET_TRIGGERED,
        {**CONTACT, "email": "ana@example.com", "event": "contact_created"},
        {**CONTACT, "event": "contact_updated", "changed_attributes": [{"name": {"previous_value": "A"}}]},
        {**message_created(2, "How do I pause a payout?"), "event": "message_updated"},
        {**conversation_event("conversation_typing_on"), "user": CONTACT},
        {"event": "some_future_event", "data": [1, {"nested": None}]},
        {"account": {"id": 1}},  # no event at all
    ],
    ids=lambda p: str(p.get("event", "no event")),
)
def test_every_event_chatwoot_sends_is_acknowledged_and_none_of_these_is_stored(
    server: LiveServer, store: Store, payload: dict[str, Any]
) -> None:
    r = post(server.url, payload)
    assert r.status_code == 200 and r.json()["status"] == "ignored"
    assert store.db.count("messages") == 0 and store.db.count("outbox") == 0


@pytest.mark.parametrize(
    ("payload", "why"),
    [
        # an agent's internal note (a human's, so sender type user)
        (message_created(11, "customer is on the old plan", "outgoing", private=True), "private note"),
        # "Conversation was resolved by John", "Assigned to John by Maria": no sender
        (message_created(12, "Conversation was resolved by John", "activity", sender={}), "activity"),
        # the widget's email collection, a CSAT survey
        (message_created(13, "Give the team a way to reach you.", "template", sender={}), "template"),
        # an automation rule's or a campaign's message: no sender at all
        ({**message_created(15, "We are away until Monday", "outgoing"), "sender": None}, "system"),
        # a message whose sender is something Chatwoot may add later
        (
            message_created(16, "Here is how", "outgoing", sender={"id": 2, "name": "C", "type": "robot"}),
            "robot",
        ),
        # only an attachment: no text to compare
        (
            {**message_created(17, None, "outgoing"), "attachments": [{"id": 1, "file_type": "image"}]},
            "no text",
        ),
        # a campaign's opening message: Chatwoot's Campaigns::CampaignConversationBuilder posts it as
        # the campaign's sender, a user (`Messages::MessageBuilder`), with the campaign's id
        (
            {
                **message_created(19, "Hi! Any questions about our new plans?", "outgoing"),
                "additional_attributes": {"campaign_id": 3},
            },
            "campaign",
        ),
        # the agent's reaction to the customer's message (WhatsApp, Instagram): an emoji, no reply
        (
            {
                **message_created(22, "\U0001f44d", "outgoing"),
                "content_attributes": {"is_reaction": True, "in_reply_to": 10},
            },
            "reaction",
        ),
        # an automation rule's message, which Chatwoot tells from a human's by its rule's id
        (
            {
                **message_created(20, "We received your request.", "outgoing"),
                "content_attributes": {"automation_rule_id": 2},
            },
            "automation",
        ),
    ],
)
def test_only_a_human_agents_public_reply_is_captured(
    server: LiveServer, chatwoot: FakeChatwoot, store: Store, payload: dict[str, Any], why: str
) -> None:
    chatwoot.start()
    post(server.url, message_created(10, "How do I pause a payout?", created_at=at(60)))
    wait_for(lambda: chatwoot.notes)
    r = post(server.url, {**payload, "created_at": at(30)})
    assert r.status_code == 200 and r.json()["status"] == "ignored" and why in r.json()["reason"]
    assert store.events.list(kind="sent") == [] and store.db.count("messages") == 1
    human = post(server.url, message_created(18, PAUSE, "outgoing", created_at=at(10)))
    assert human.json()["status"] == "accepted"
    assert [e.agent_id for e in store.events.list(kind="sent")] == ["John"]


@pytest.mark.parametrize("sender_type", ["agent_bot", "captain_assistant"])
def test_a_bots_message_is_the_conversations_context_and_no_reply(
    server: LiveServer, chatwoot: FakeChatwoot, store: Store, sender_type: str
) -> None:
    """A bot's message (an agent bot's, `AgentBot#webhook_data` type agent_bot; Captain's,
    captain_assistant) is what the customer was told: a turn the next suggestion reads, never the
    agent's reply that the match rate measures."""
    chatwoot.start()
    post(server.url, message_created(10, "How do I pause a payout?", created_at=at(60)))
    wait_for(lambda: chatwoot.notes)
    bot = {"id": 3, "name": "B", "type": sender_type}
    r = post(server.url, message_created(14, "Hi, I'm the bot", "outgoing", sender=bot, created_at=at(30)))
    assert r.status_code == 200 and r.json()["status"] == "accepted"
    assert store.events.list(kind="sent") == []
    assert [(t.role, t.context_only) for t in store.conversations.turns(CASE)] == [
        ("customer", False),
        ("bot", True),
    ]
    human = post(server.url, message_created(18, PAUSE, "outgoing", created_at=at(10)))
    assert human.json()["status"] == "accepted"
    assert [e.agent_id for e in store.events.list(kind="sent")] == ["John"]


@pytest.mark.parametrize("kind", ["incoming", "outgoing"])
def test_a_message_deleted_before_its_webhook_was_sent_is_not_a_turn(
    server: LiveServer, chatwoot: FakeChatwoot, store: Store, kind: str
) -> None:
    # Chatwoot builds a webhook's payload when its job runs, from the message as it is then: a message
    # deleted in between arrives as message_created with Chatwoot's placeholder and `deleted`.
    chatwoot.start()
    deleted = {
        **message_created(21, "This message was deleted", kind),
        "content_attributes": {"deleted": True},
    }
    r = post(server.url, deleted)
    assert r.status_code == 200 and r.json()["status"] == "ignored" and "deleted" in r.json()["reason"]
    assert store.db.count("messages") == 0 and store.events.list(kind="sent") == []


def test_an_edit_or_deletion_after_the_fact_is_acknowledged_and_changes_nothing_recorded(
    server: LiveServer, chatwoot: FakeChatwoot, store: Store
) -> None:
    chatwoot.start()
    post(server.url, message_created(31, "How do I pause a payout?", created_at=at(60)))
    wait_for(lambda: chatwoot.notes)
    reply = message_created(32, PAUSE, "outgoing", created_at=at(30))
    assert post(server.url, reply).json()["status"] == "accepted"
    # the reply is delivered (a status change), then the agent deletes it: both are message_updated
    for update in (
        {**reply, "event": "message_updated"},
        {
            **reply,
            "content": "This message was deleted",
            "content_attributes": {"deleted": True},
            "event": "message_updated",
        },
    ):
        r = post(server.url, update)
        assert r.status_code == 200 and r.json()["status"] == "ignored"
    assert [e.text for e in store.events.list(kind="sent")] == [PAUSE]
    assert post(server.url, reply).json()["status"] == "duplicate"


def test_a_reply_delivered_late_answers_the_message_it_followed_not_a_later_one(
    server: LiveServer, chatwoot: FakeChatwoot, store: Store, api: httpx.Client
) -> None:
    # Chatwoot delivers each webhook from its own background job: the agent's reply to the first
    # question can arrive after the customer's next question has its suggestion.
    chatwoot.start()
    post(server.url, message_created(41, "How do I pause a payout?", created_at=at(300)))
    wait_for(lambda: len(chatwoot.notes) == 1)
    first = store.cases.latest_suggestion(CASE)
    post(server.url, message_created(43, "and how long does that take?", created_at=at(100)))
    wait_for(lambda: len(chatwoot.notes) == 2)
    second = store.cases.latest_suggestion(CASE)
    assert first is not None and second is not None and first.id != second.id
    late = post(server.url, message_created(42, PAUSE, "outgoing", created_at=at(200)))
    assert late.json()["status"] == "accepted"
    (sent,) = store.events.list(kind="sent")
    assert sent.suggestion_id == first.id


def test_chatwoots_own_times_are_taken_even_a_day_ahead(
    server: LiveServer, chatwoot: FakeChatwoot, store: Store
) -> None:
    """`POST /v1/messages` refuses a `ts` more than a day ahead of the server's clock (as `/v1/events`
    does); the webhook feeds the same turns and takes Chatwoot's `created_at` as it is: its signature
    is what is checked against the clock, and a refusal would lose the message (Chatwoot shows no
    webhook's answer)."""
    chatwoot.start()
    ahead = at(-2 * 24 * 3600)
    r = post(server.url, message_created(91, "How do I pause a payout?", created_at=ahead))
    assert r.status_code == 200 and r.json()["status"] == "accepted", r.text
    wait_for(lambda: chatwoot.notes)
    r = post(server.url, message_created(92, PAUSE, "outgoing", created_at=ahead))
    assert r.status_code == 200 and r.json()["status"] == "accepted", r.text
    assert len(store.events.list(kind="sent")) == 1 and store.db.count("messages") == 2


def test_a_reply_to_an_earlier_message_answers_that_messages_suggestion(
    server: LiveServer, chatwoot: FakeChatwoot, store: Store
) -> None:
    # Chatwoot's "reply to" a message: the reply's content_attributes name it (in_reply_to)
    chatwoot.start()
    post(server.url, message_created(44, "How do I pause a payout?", created_at=at(300)))
    wait_for(lambda: len(chatwoot.notes) == 1)
    first = store.cases.latest_suggestion(CASE)
    post(server.url, message_created(45, "and how long does that take?", created_at=at(100)))
    wait_for(lambda: len(chatwoot.notes) == 2)
    assert first is not None and store.cases.latest_suggestion(CASE) != first
    reply = message_created(46, PAUSE, "outgoing", created_at=at(50))
    reply["content_attributes"] = {"in_reply_to": 44, "in_reply_to_external_id": None}
    assert post(server.url, reply).json()["status"] == "accepted"
    (sent,) = store.events.list(kind="sent")
    assert sent.suggestion_id == first.id


@pytest.mark.parametrize(
    "forge",
    [
        lambda body, headers: (body + b" ", headers),  # the body changed after signing
        lambda body, headers: (
            body,
            {**headers, "x-chatwoot-timestamp": str(int(headers["x-chatwoot-timestamp"]) + 1)},
        ),
        lambda body, headers: (
            body,
            {**headers, "x-chatwoot-signature": headers["x-chatwoot-signature"].upper()},
        ),
        lambda body, headers: (
            body,
            {**headers, "x-chatwoot-signature": headers["x-chatwoot-signature"][7:]},
        ),
        lambda body, headers: (body, {**headers, "x-chatwoot-signature": "sha256="}),
        lambda body, headers: (body, {k: v for k, v in headers.items() if k != "x-chatwoot-signature"}),
    ],
    ids=["body", "timestamp", "upper", "no-prefix", "empty", "missing"],
)
def test_no_change_to_a_signed_webhook_gets_through(
    server: LiveServer, store: Store, forge: Callable[[bytes, dict[str, str]], tuple[bytes, dict[str, str]]]
) -> None:
    body = json.dumps(message_created(61, "How do I pause a payout?")).encode()
    forged_body, headers = forge(body, signed(body))
    r = httpx.post(server.url + WEBHOOK, content=forged_body, headers=headers, timeout=10)
    assert r.status_code == 401
    assert store.db.count("messages") == 0


def test_an_api_key_is_no_substitute_for_the_signature(server: LiveServer, store: Store) -> None:
    key = create_key(store, "chatwoot", "integration")
    body = json.dumps(message_created(62, "How do I pause a payout?")).encode()
    headers = {"content-type": "application/json", "authorization": f"Bearer {key}"}
    r = httpx.post(server.url + WEBHOOK, content=body, headers=headers, timeout=10)
    assert r.status_code == 401 and "not signed" in r.json()["detail"]
    assert store.db.count("messages") == 0


def test_the_conversations_personal_data_reaches_no_log(
    server: LiveServer, chatwoot: FakeChatwoot, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret_words = ["Ana Silva", "ana@example.com", "my card 4111 1111 1111 1111 was charged twice"]
    question = message_created(71, secret_words[2], created_at=at(60))
    question["conversation"]["meta"]["sender"]["email"] = "ana@example.com"
    chatwoot.token = "another token"  # Chatwoot refuses the note: that is logged
    chatwoot.start()
    assert post(server.url, question).status_code == 200
    wait_for(lambda: [i for i in store.outbox.items() if i.status != "pending"])
    post(
        server.url, message_created(72, f"Sorry {secret_words[0]}, refunded.", "outgoing", created_at=at(30))
    )
    post(server.url, {**question, "content": "changed"})  # a conflict: 409
    post(server.url, {**question, "content": "a\u0000b"})  # malformed: 422
    post(server.url, question, secret="wrong")  # refused: 401
    logged = "\n".join(r.getMessage() + " " + str(r.exc_info or "") for r in caplog.records)
    assert logged  # the run did log (the failed attempts)
    for word in secret_words:
        assert word not in logged


def test_the_same_webhook_delivered_several_times_at_once_is_stored_once_and_noted_once(
    server: LiveServer, chatwoot: FakeChatwoot, store: Store
) -> None:
    chatwoot.start()
    body = json.dumps(message_created(81, "How do I pause a payout?", created_at=at(10))).encode()
    headers = signed(body)
    with ThreadPoolExecutor(6) as pool:
        answers = list(
            pool.map(
                lambda _: httpx.post(server.url + WEBHOOK, content=body, headers=headers, timeout=10),
                range(6),
            )
        )
    assert sorted(r.json()["status"] for r in answers) == ["accepted"] + ["duplicate"] * 5
    wait_for(lambda: chatwoot.notes)
    time.sleep(0.3)
    assert len(chatwoot.notes) == 1 and store.db.count("messages") == 1 and store.db.count("outbox") == 1


def test_a_long_email_is_read_and_gets_its_note(
    server: LiveServer, chatwoot: FakeChatwoot, store: Store
) -> None:
    chatwoot.start()
    email = message_created(91, "How do I pause a payout?\n\n" + "> quoted earlier mail\n" * 20_000)
    email["content_type"] = "incoming_email"
    email["conversation"]["channel"] = "Channel::Email"
    r = post(server.url, email)
    assert r.status_code == 200 and r.json()["status"] == "accepted"
    (item,) = wait_for(lambda: [i for i in store.outbox.items() if i.status != "pending"])
    assert item.status in ("posted", "skipped"), item.last_error


def test_an_email_thread_in_html_is_read_and_gets_its_note(
    server: LiveServer, chatwoot: FakeChatwoot, store: Store
) -> None:
    """An e-mail's webhook carries its HTML and text three ways (full, reply, quoted), twice (the
    message, and the conversation's last message), with `<`, `>`, `&` six bytes each: a reply on an
    Outlook thread of about 200 kB of HTML made a body over the 1 MiB webhook limit: 413, and the
    customer's message was lost (Chatwoot does not send a webhook again)."""
    chatwoot.start()
    line = (
        '<div class="MsoNormal" style="margin:0cm;font-size:11.0pt;font-family:Calibri,sans-serif">'
        '<span lang="EN-US">&gt; Thanks, we will look into the payout schedule for you.</span></div>\n'
    )
    quoted_html = line * 1300
    quoted_text = "> Thanks, we will look into the payout schedule for you.\n" * 1300
    body = rails_json(incoming_email(95, "How do I pause a payout?", quoted_html, quoted_text))
    assert 1_048_576 < len(body) < 2_000_000
    r = post(server.url, body)
    assert r.status_code == 200 and r.json()["status"] == "accepted", r.text
    (item,) = wait_for(lambda: [i for i in store.outbox.items() if i.status != "pending"])
    assert item.status == "posted", item.last_error
    assert "pause payouts" in chatwoot.notes[0]["content"]
    huge = b'{"event": "message_created", "content": "' + b"x" * (16 * 1_048_576) + b'"}'
    r = httpx.post(server.url + WEBHOOK, content=huge, headers=signed(huge), timeout=30)
    assert r.status_code == 413 and "the limit is 16,777,216" in r.json()["detail"]


def test_the_dashboard_app_page_may_be_framed_by_the_configured_chatwoot_alone(
    server: LiveServer, chatwoot_port: int, api: httpx.Client
) -> None:
    page = httpx.get(server.url + "/embed/chatwoot", timeout=10)
    assert page.status_code == 200 and "x-frame-options" not in page.headers
    policy = dict(p.strip().split(" ", 1) for p in page.headers["content-security-policy"].split(";"))
    assert policy["frame-ancestors"] == f"http://127.0.0.1:{chatwoot_port}"
    console = api.get("/", headers={"accept": "text/html"})
    assert console.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in console.headers["content-security-policy"]


@pytest.mark.parametrize("chatwoot_settings", [{"frame_origin": "https://chat.example.com"}])
def test_the_frame_origin_frames_the_dashboard_app_while_notes_go_to_the_base_url(
    server: LiveServer, chatwoot: FakeChatwoot, chatwoot_port: int, store: Store
) -> None:
    """Chatwoot reached at an internal address (base_url, the fake's port) and opened by agents'
    browsers at a public one (frame_origin): the page's CSP and its listener name the public one,
    the notes still go to the internal one."""
    page = httpx.get(server.url + "/embed/chatwoot", timeout=10)
    assert page.status_code == 200 and "x-frame-options" not in page.headers
    policy = dict(p.strip().split(" ", 1) for p in page.headers["content-security-policy"].split(";"))
    assert policy["frame-ancestors"] == "https://chat.example.com"
    assert '"chatwoot_origin": "https://chat.example.com"' in page.text
    assert f"127.0.0.1:{chatwoot_port}" not in page.text
    chatwoot.start()
    post(server.url, message_created(97, "How do I pause a payout?"))
    (note,) = wait_for(lambda: chatwoot.notes)
    assert note["conversation_id"] == 10 and ("POST", "/api/v1/accounts/1/conversations/10/messages") in (
        chatwoot.requests
    )


def test_the_dashboard_app_and_the_note_share_one_suggestion_and_the_reply_answers_it(
    server: LiveServer, chatwoot: FakeChatwoot, store: Store
) -> None:
    chatwoot.start()
    post(server.url, message_created(95, "How do I pause a payout?", created_at=at(60)))
    (note,) = wait_for(lambda: chatwoot.notes)
    key = create_key(store, "chatwoot-embed", "embed")
    asked = {"case_id": CASE, "message_id": "95", "message": "How do I pause a payout?", "context": []}
    embed = httpx.post(server.url + "/v1/suggest", json=asked, headers={"authorization": f"Bearer {key}"})
    assert embed.status_code == 200
    suggestion_id = embed.json()["suggestion_id"]
    assert f"?suggestion={suggestion_id})" in note["content"]
    post(server.url, message_created(96, PAUSE, "outgoing", created_at=at(30)))
    (sent,) = store.events.list(kind="sent")
    assert sent.suggestion_id == suggestion_id


def test_the_dashboard_app_shows_the_notes_suggestion_for_a_message_over_the_length_limit(
    server: LiveServer, chatwoot: FakeChatwoot, store: Store
) -> None:
    """A customer pastes a long log into the chat (Chatwoot keeps up to 150,000 characters): the
    webhook's message gets its suggestion and note, and the Dashboard App page, asking for that
    message's suggestion, was refused (413, over `max_message_chars`): "No suggestion" beside a
    note that has one. A message over the limit that has no suggestion is still refused."""
    chatwoot.start()
    text = "How do I pause a payout? Here is what the app shows:\n" + "ERROR payout_sync timeout\n" * 600
    assert len(text) > 10_000
    post(server.url, message_created(98, text, created_at=at(60)))
    (note,) = wait_for(lambda: chatwoot.notes)
    key = create_key(store, "chatwoot-embed", "embed")
    headers = {"authorization": f"Bearer {key}"}
    asked = {"case_id": CASE, "message_id": "98", "message": text, "context": []}
    embed = httpx.post(server.url + "/v1/suggest", json=asked, headers=headers, timeout=10)
    assert embed.status_code == 200, embed.text
    assert f"?suggestion={embed.json()['suggestion_id']})" in note["content"]
    other = httpx.post(server.url + "/v1/suggest", json={**asked, "message_id": "99"}, headers=headers)
    assert other.status_code == 413 and "the limit is 10,000" in other.json()["detail"]
    assert store.db.count("suggestions") == 1


def test_the_dashboard_app_gets_the_notes_suggestion_for_a_message_too_long_to_send(
    server: LiveServer, chatwoot: FakeChatwoot, store: Store
) -> None:
    """Chatwoot keeps messages of up to 150,000 characters, and /v1/suggest's body is limited to
    `max_message_chars` * 4 + 64 kB (105,536 bytes by default): the Dashboard App page could not send
    a message over ~105k characters, so it could not be given the suggestion its note shows. It asks
    by the message's id (`GET /v1/suggest?case_id=&message_id=`), which sends no message; the body
    limit stands for every POST."""
    chatwoot.start()
    text = "How do I pause a payout? Here is the export:\n" + "row;payout;2026-11-30;EUR;42.00\n" * 4000
    assert len(text) > 120_000
    post(server.url, message_created(97, text, created_at=at(60)))
    (note,) = wait_for(lambda: chatwoot.notes)
    key = create_key(store, "chatwoot-embed", "embed")
    headers = {"authorization": f"Bearer {key}"}
    asked = {"case_id": CASE, "message_id": "97", "message": text, "context": []}
    whole = httpx.post(server.url + "/v1/suggest", json=asked, headers=headers, timeout=10)
    assert whole.status_code == 413 and "request body" in whole.json()["detail"]
    by_id = httpx.get(
        server.url + "/v1/suggest", params={"case_id": CASE, "message_id": "97"}, headers=headers, timeout=10
    )
    assert by_id.status_code == 200, by_id.text
    assert by_id.json()["reused"] is True and by_id.json()["text"]
    assert f"?suggestion={by_id.json()['suggestion_id']})" in note["content"]
    # a message with no suggestion stored is a 404 that says so; nothing is made for it
    none = httpx.get(
        server.url + "/v1/suggest", params={"case_id": CASE, "message_id": "98"}, headers=headers, timeout=10
    )
    assert none.status_code == 404 and "no suggestion" in none.json()["detail"]
    assert store.db.count("suggestions") == 1


def test_a_suggestion_the_dashboard_app_made_first_is_the_notes_and_the_reply_answers_it(
    server: LiveServer, chatwoot: FakeChatwoot, store: Store
) -> None:
    """Chatwoot shows a new message in the agent's open conversation at once, and delivers its webhook
    from a background job, later on a busy instance: the Dashboard App page asked for the message's
    suggestion first. The connector then made a second one (the pipeline run twice, an LLM paid
    twice): the note showed one suggestion, the tab another, and the reply was measured against the
    note's while the agent had copied the tab's."""
    chatwoot.start()
    key = create_key(store, "chatwoot-embed", "embed")
    asked = {"case_id": CASE, "message_id": "93", "message": "How do I pause a payout?", "context": []}
    embed = httpx.post(server.url + "/v1/suggest", json=asked, headers={"authorization": f"Bearer {key}"})
    assert embed.status_code == 200
    suggestion_id = embed.json()["suggestion_id"]
    post(server.url, message_created(93, "How do I pause a payout?", created_at=at(60)))
    (note,) = wait_for(lambda: chatwoot.notes)
    assert f"?suggestion={suggestion_id})" in note["content"]
    assert store.db.count("suggestions") == 1
    post(server.url, message_created(94, PAUSE, "outgoing", created_at=at(30)))
    (sent,) = store.events.list(kind="sent")
    assert sent.suggestion_id == suggestion_id


@pytest.mark.parametrize("kind", ["incoming", "outgoing"])
def test_an_email_whose_body_is_only_an_image_is_a_message_with_no_text(
    server: LiveServer, chatwoot: FakeChatwoot, store: Store, kind: str
) -> None:
    """An e-mail with a screenshot pasted in its body and no text part: Chatwoot's `content` is its
    HTML, which reads as nothing. It was stored as the customer's message, empty (the case's message
    in the console became blank, a suggestion was asked for on nothing)."""
    chatwoot.start()
    post(server.url, message_created(110, "How do I pause a payout?", created_at=at(300)))
    wait_for(lambda: chatwoot.notes)
    image = message_created(
        111, '<div dir="ltr"><img src="cid:ii_lx1" alt="image.png"><br></div>', kind, created_at=at(200)
    )
    image["content_type"] = "incoming_email" if kind == "incoming" else "text"
    image["conversation"]["channel"] = "Channel::Email"
    r = post(server.url, image)
    assert r.status_code == 200 and r.json() == {
        "status": "ignored",
        "reason": "the message has no text",
        "case_id": None,
        "message_id": None,
    }
    assert [t.text for t in store.conversations.turns(CASE)] == ["How do I pause a payout?"]
    case = store.cases.get(CASE)
    assert case is not None and case.message == "How do I pause a payout?"
    assert store.db.count("outbox") == 1 and store.events.list(kind="sent") == []


def test_a_customers_reaction_is_no_message_of_theirs(
    server: LiveServer, chatwoot: FakeChatwoot, store: Store
) -> None:
    """A customer's reaction on WhatsApp or Instagram (a heart on the agent's answer) is a Chatwoot
    message of its own, incoming, its content the emoji and `content_attributes.is_reaction` set. It
    was the customer's latest message: the case's message in the console became the emoji, and a
    suggestion was asked for on it."""
    chatwoot.start()
    post(server.url, message_created(120, "How do I pause a payout?", created_at=at(300)))
    wait_for(lambda: chatwoot.notes)
    post(server.url, message_created(121, PAUSE, "outgoing", created_at=at(200)))
    heart = message_created(122, "\u2764\ufe0f", created_at=at(100))
    heart["content_attributes"] = {"is_reaction": True, "in_reply_to": 121}
    r = post(server.url, heart)
    assert r.status_code == 200 and r.json()["status"] == "ignored" and "reaction" in r.json()["reason"]
    case = store.cases.get(CASE)
    assert case is not None and case.message == "How do I pause a payout?"
    assert store.db.count("outbox") == 1 and store.db.count("suggestions") == 1


BOT = {"id": 3, "name": "Support Bot", "avatar_url": "", "type": "agent_bot"}


def in_bot_mode(payload: dict[str, Any], how: str) -> dict[str, Any]:
    """A message of a conversation an agent bot handles, as Chatwoot says it: the conversation is
    `pending` (`Conversation#determine_conversation_status` makes a new conversation of an inbox with
    an active bot pending, and a resolved one that the customer writes to again pending), or the bot
    is its assignee (`meta.assignee` is the bot's `push_event_data`, `assignee_type` AgentBot)."""
    if how == "pending":
        payload["conversation"]["status"] = "pending"
        payload["conversation"]["meta"].pop("assignee")
    else:
        payload["conversation"]["meta"]["assignee"] = BOT
        payload["conversation"]["meta"]["assignee_type"] = "AgentBot"
    return payload


@pytest.mark.parametrize("how", ["pending", "assigned_to_the_bot"])
def test_a_conversation_an_agent_bot_handles_gets_no_note_until_an_agent_takes_it_over(
    server: LiveServer, chatwoot: FakeChatwoot, store: Store, how: str
) -> None:
    """An inbox with an agent bot: the bot answers the customer while the conversation is pending, and
    hands it over to the agents (`bot_handoff!`: status open) when it cannot help. The customer's
    messages to the bot got a note each, a suggested reply for agents who were not in the
    conversation (and an LLM call each).

    What the customer told the bot is kept as the conversation's context (the bot's replies as the
    bot's turns): the first suggestion after the handover was made without it, as if the customer
    had said nothing before ("Where is my payout?" lost). Kept, it is no suggestion, no case in the
    inbox, no agent reply and no customer message awaiting one (the reply-capture share)."""
    chatwoot.start()
    first = post(
        server.url, in_bot_mode(message_created(130, "Where is my payout?", created_at=at(300)), how)
    )
    assert first.status_code == 200 and first.json()["status"] == "accepted"
    bot_reply = message_created(131, "Payouts arrive in 2 days.", "outgoing", sender=BOT, created_at=at(250))
    assert post(server.url, in_bot_mode(bot_reply, how)).json()["status"] == "accepted"
    again = in_bot_mode(message_created(132, "I want to talk to a person", created_at=at(200)), how)
    assert post(server.url, again).json()["status"] == "accepted"
    assert post(server.url, again).json()["status"] == "duplicate"  # Chatwoot's retry
    assert store.db.count("outbox") == 0 and store.db.count("suggestions") == 0
    assert store.cases.get(CASE) is None and store.events.list() == []
    # the bot hands the conversation over (status open, an agent assigned): the next message is noted
    handoff = conversation_event(
        "conversation_status_changed",
        status="open",
        changed_attributes=[{"status": {"previous_value": "pending", "current_value": "open"}}],
    )
    assert post(server.url, handoff).status_code == 200
    # the message the bot handed over is given its suggestion (here none to show: no note)
    (handed,) = wait_for(lambda: [i for i in store.outbox.items() if i.status != "pending"])
    assert handed.status == "skipped" and "no suggestion to show" in (handed.last_error or "")
    r = post(server.url, message_created(133, "How do I pause a payout?", created_at=at(100)))
    assert r.status_code == 200 and r.json()["status"] == "accepted"
    (note,) = wait_for(lambda: chatwoot.notes)
    assert "Suggested reply" in note["content"] and store.db.count("outbox") == 2
    turn = store.conversations.find("webhook:chatwoot", "133")
    assert turn is not None and turn.suggestion_id is not None
    assert list(store.conversations.context(turn).thread) == [
        {"role": "customer", "text": "Where is my payout?"},
        {"role": "bot", "text": "Payouts arrive in 2 days."},
        {"role": "customer", "text": "I want to talk to a person"},
    ]
    case = store.cases.get(CASE)
    assert case is not None and case.message == "How do I pause a payout?" and len(case.context) == 3
    # the agent's reply answers the suggestion after the handover; the bot's was no reply
    post(server.url, message_created(134, PAUSE, "outgoing", created_at=at(50)))
    (sent,) = store.events.list(kind="sent")
    assert sent.suggestion_id == turn.suggestion_id and sent.text == PAUSE
    counts = store.conversations.counts("webhook:chatwoot", datetime.now(UTC))
    assert counts == {  # the handed-over message awaits an agent's reply too; the first is the bot's
        "customer_messages": 2,
        "agent_replies": 1,
        "customer_messages_due": 2,
        "customer_messages_answered": 2,
    }


def test_the_question_the_bot_handed_over_gets_its_note_at_the_handover(
    server: LiveServer, chatwoot: FakeChatwoot, store: Store
) -> None:
    """The bot cannot help and hands the conversation over (`bot_handoff!`: status open): the agent
    who takes it answers the customer's last message to the bot, and got no note for it, nor any
    until the customer wrote again (the question the bot could not answer is the one an agent most
    needs a suggestion for). The handover gives that message its note, with what came before as its
    context; a handover delivered again gives none more, and a message an agent already answered
    gets none."""
    chatwoot.start()
    post(server.url, in_bot_mode(message_created(140, "Hi", created_at=at(300)), "pending"))
    bot_reply = message_created(141, "How can I help?", "outgoing", sender=BOT, created_at=at(250))
    post(server.url, in_bot_mode(bot_reply, "pending"))
    question = in_bot_mode(message_created(142, "How do I pause a payout?", created_at=at(200)), "pending")
    post(server.url, question)
    handing = message_created(143, "Let me get you an agent.", "outgoing", sender=BOT, created_at=at(150))
    post(server.url, in_bot_mode(handing, "pending"))
    assert store.db.count("outbox") == 0 and store.cases.get(CASE) is None
    handoff = conversation_event(
        "conversation_status_changed",
        status="open",
        updated_at=time.time() - 120,
        changed_attributes=[{"status": {"previous_value": "pending", "current_value": "open"}}],
    )
    r = post(server.url, handoff)
    assert r.status_code == 200 and r.json()["status"] == "accepted" and r.json()["case_id"] == CASE
    (note,) = wait_for(lambda: chatwoot.notes)
    assert "Suggested reply" in note["content"] and note["conversation_id"] == 10
    turn = store.conversations.find("webhook:chatwoot", "142")
    assert turn is not None and turn.suggestion_id is not None and not turn.context_only
    assert list(store.conversations.context(turn).thread) == [
        {"role": "customer", "text": "Hi"},
        {"role": "bot", "text": "How can I help?"},
    ]
    case = store.cases.get(CASE)
    assert case is not None and case.status == "open" and case.message == "How do I pause a payout?"
    assert case.customer_name == "Ana Silva"
    assert post(server.url, handoff).json()["status"] == "duplicate"
    time.sleep(0.3)
    assert len(chatwoot.notes) == 1 and store.db.count("outbox") == 1
    # the agent answers it: the reply is measured against the handover's suggestion
    post(server.url, message_created(144, PAUSE, "outgoing", created_at=at(100)))
    (sent,) = store.events.list(kind="sent")
    assert sent.suggestion_id == turn.suggestion_id


def test_a_handover_after_an_agent_answered_in_the_bots_phase_posts_no_note(
    server: LiveServer, chatwoot: FakeChatwoot, store: Store
) -> None:
    chatwoot.start()
    post(
        server.url,
        in_bot_mode(message_created(150, "How do I pause a payout?", created_at=at(300)), "pending"),
    )
    post(server.url, message_created(151, PAUSE, "outgoing", created_at=at(200)))  # an agent stepped in
    handoff = conversation_event(
        "conversation_status_changed",
        status="open",
        changed_attributes=[{"status": {"previous_value": "pending", "current_value": "open"}}],
    )
    assert post(server.url, handoff).json()["status"] == "ignored"
    time.sleep(0.3)
    assert chatwoot.notes == [] and store.db.count("outbox") == 0


def test_a_conversation_the_bot_resolved_and_an_agent_reopens_gets_no_note_for_the_bots_question(
    server: LiveServer, chatwoot: FakeChatwoot, store: Store
) -> None:
    """Only a handover (pending to open) takes the customer's message to the bot over: the bot
    answered it and resolved the conversation, and an agent reopening it later (resolved to open) is
    no question awaiting them."""
    chatwoot.start()
    post(
        server.url,
        in_bot_mode(message_created(160, "How do I pause a payout?", created_at=at(300)), "pending"),
    )
    reopened = conversation_event(
        "conversation_status_changed",
        status="open",
        updated_at=time.time() - 60,
        changed_attributes=[{"status": {"previous_value": "resolved", "current_value": "open"}}],
    )
    assert post(server.url, reopened).json()["status"] == "ignored"
    time.sleep(0.3)
    assert chatwoot.notes == [] and store.db.count("outbox") == 0
