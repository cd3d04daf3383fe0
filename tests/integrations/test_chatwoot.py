"""The Chatwoot connector without a server: the signature, and what each webhook is read as."""

from __future__ import annotations

import html
import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from markdown_it import MarkdownIt
from pydantic import SecretStr, ValidationError

from supportcue.errors import HelpDeskError, WebhookRefused
from supportcue.integrations import ChatwootHelpDesk, HelpDesk, Ignored, Inbound, Note, RecordingHelpDesk
from supportcue.integrations.base import Resolved, note_for
from supportcue.integrations.chatwoot import agent_name, signature
from supportcue.settings import ChatwootSettings
from tests.integrations.chatwoot_api import (
    SECRET,
    TOKEN,
    FakeChatwoot,
    message_created,
    signed,
    status_changed,
)

NOW = 1_760_000_000


def desk(**settings: Any) -> ChatwootHelpDesk:
    values = {"base_url": "https://chat.example.com", "webhook_secret": SecretStr(SECRET), **settings}
    return ChatwootHelpDesk(ChatwootSettings(**values))


def test_both_help_desks_follow_the_protocol() -> None:
    assert isinstance(desk(), HelpDesk) and isinstance(RecordingHelpDesk(), HelpDesk)


def test_the_signature_is_an_hmac_of_the_timestamp_and_the_raw_body() -> None:
    body = b'{"event":"message_created","id":1}'
    assert (
        signature(SECRET, "1760000000", body) == signed(body, timestamp=1_760_000_000)["x-chatwoot-signature"]
    )
    assert signature(SECRET, "1760000000", body) != signature(SECRET, "1760000001", body)


@pytest.mark.parametrize(
    ("headers", "says"),
    [
        ({}, "not signed"),
        ({"x-chatwoot-timestamp": str(NOW)}, "not signed"),
        ({"x-chatwoot-timestamp": "soon", "x-chatwoot-signature": "sha256=00"}, "Unix seconds"),
        ({"x-chatwoot-timestamp": str(NOW - 301), "x-chatwoot-signature": "sha256=00"}, "301 s from"),
        ({"x-chatwoot-timestamp": str(NOW), "x-chatwoot-signature": "sha256=00"}, "does not match"),
        # header values arrive as latin-1 text: "²" is a digit to str.isdigit, not to int()
        ({"x-chatwoot-timestamp": "\u00b2", "x-chatwoot-signature": "sha256=00"}, "Unix seconds"),
        ({"x-chatwoot-timestamp": str(NOW), "x-chatwoot-signature": "sha256=\u00e9"}, "does not match"),
    ],
)
def test_verify_refuses_unsigned_stale_and_forged_webhooks(headers: dict[str, str], says: str) -> None:
    with pytest.raises(WebhookRefused, match=says):
        desk().verify(headers, b"{}", NOW)


def test_verify_accepts_chatwoots_signature_within_five_minutes_either_way() -> None:
    body = b'{"event": "message_created"}'
    for skew in (-300, 0, 300):
        headers = signed(body, timestamp=NOW + skew)
        desk().verify({k.upper(): v for k, v in headers.items()}, body, NOW)  # header names in any case
    with pytest.raises(WebhookRefused, match="set \\[chatwoot\\] webhook_secret"):
        desk(webhook_secret=SecretStr("")).verify(signed(body, timestamp=NOW), body, NOW)


def test_an_incoming_contact_message_is_a_customer_turn_of_the_conversation() -> None:
    found = desk(account_id=1).read(message_created(118, "hi there", created_at="2021-07-23T18:02:48.000Z"))
    assert found == Inbound(
        help_desk="chatwoot",
        message_id="118",
        case_id="chatwoot:1:10",
        role="customer",  # type: ignore[arg-type]
        text="hi there",
        ts=datetime(2021, 7, 23, 18, 2, 48, tzinfo=UTC),
        target={"account_id": "1", "conversation_id": "10"},
        customer_name="Ana Silva",
        agent_id=None,
        channel="webwidget",
    )


def test_an_outgoing_agent_message_is_the_agents_reply() -> None:
    found = desk().read(message_created(119, "Done!", "outgoing", created_at="2020-03-03 13:05:57 UTC"))
    assert isinstance(found, Inbound)
    assert (found.role, found.agent_id, found.customer_name) == ("agent", "John", "Ana Silva")
    assert found.ts == datetime(2020, 3, 3, 13, 5, 57, tzinfo=UTC)
    numeric = {**message_created(120, "Done!", created_at=None), "message_type": 1, "created_at": NOW}
    numeric["sender"] = {"id": 7, "name": "", "type": "user"}
    found = desk().read(numeric)
    assert isinstance(found, Inbound) and found.role == "agent" and found.agent_id == "chatwoot user 7"
    assert found.ts == datetime.fromtimestamp(NOW, UTC)


def test_display_id_names_the_conversation_when_given() -> None:
    payload = message_created(121, "hi")
    payload["conversation"]["display_id"] = 42
    found = desk().read(payload)
    assert isinstance(found, Inbound) and found.case_id == "chatwoot:1:42"
    assert found.target == {"account_id": "1", "conversation_id": "42"}


def test_the_conversation_number_is_the_same_in_every_webhook_and_in_the_api_path() -> None:
    """Chatwoot's webhooks name a conversation by its number in the account (`id` = `display_id`:
    `Conversations::EventDataPresenter#push_data`), which its messages API takes in the path (it
    looks conversations up by `display_id`); a payload that also names `display_id` (a fork whose
    `webhook_data` puts the table's id in `id`) is read by `display_id`, never the table's id."""
    started = float(NOW - 600)
    upstream = message_created(121, "hi", conversation=42)
    resolved = status_changed(42, "resolved", created_at=started, updated_at=started + 60)
    fork_message = message_created(122, "hi", conversation=3933509)
    fork_message["conversation"]["display_id"] = 42
    fork_resolved = {**status_changed(3933509, "resolved", created_at=started, updated_at=started + 60)}
    fork_resolved["display_id"] = 42
    found = [desk(account_id=1).read(p) for p in (upstream, resolved, fork_message, fork_resolved)]
    assert {f.case_id for f in found if isinstance(f, Inbound | Resolved)} == {"chatwoot:1:42"}
    targets = [f.target for f in found if isinstance(f, Inbound)]
    assert targets == [{"account_id": "1", "conversation_id": "42"}] * 2
    note = Note(targets[1], "**Suggested reply**", "ref")
    assert desk()._messages_url(note.target) == "/api/v1/accounts/1/conversations/42/messages"


@pytest.mark.parametrize(
    ("payload", "why"),
    [
        (message_created(1, "note to self", "outgoing", private=True), "a private note"),
        (message_created(2, "Rate us", "template"), "message_type template"),
        (message_created(3, "Conversation was resolved", "activity"), "message_type activity"),
        (message_created(4, None), "no text"),
        (
            message_created(5, "hi", "incoming", sender={"id": 1, "name": "J", "type": "user"}),
            "incoming from a user",
        ),
        (message_created(6, "hi", account=9), "account 9 is not the configured account 1"),
        ({**message_created(7, "hi"), "event": "message_updated"}, "'message_updated' is not read"),
    ],
)
def test_what_is_ignored_and_why(payload: dict[str, Any], why: str) -> None:
    found = desk(account_id=1).read(payload)
    assert isinstance(found, Ignored) and why in found.reason


def test_a_message_created_without_its_conversation_is_a_validation_error() -> None:
    with pytest.raises(ValidationError, match="conversation"):
        desk().read({"event": "message_created", "id": 1, "message_type": "incoming", "account": {"id": 1}})
    with pytest.raises(ValueError, match="JSON object"):
        desk().read(json.loads("[1]"))


def test_agent_names() -> None:
    assert agent_name({"id": 3, "name": " Maria ", "type": "user"}) == "Maria"
    assert agent_name({"id": 3, "type": "user"}) == "chatwoot user 3"
    assert agent_name(None) is None


def test_notes_cannot_be_posted_without_a_url_and_token_or_when_off() -> None:
    assert desk(api_token=SecretStr("t")).unable_to_post is None
    assert desk().unable_to_post == "[chatwoot] api_token not set"
    assert "post_notes = false" in (desk(api_token=SecretStr("t"), post_notes=False).unable_to_post or "")
    assert time.time() > NOW  # (the fixed NOW above is in the past: the tests pass `now` explicitly)


@pytest.mark.parametrize(
    "attributes",
    [None, {}, "", "{}", [], {"in_reply_to": None}, {"in_reply_to": True}, {"in_reply_to": "7\u0000"}],
)
def test_content_attributes_of_any_shape_never_refuse_a_message(attributes: Any) -> None:
    found = desk().read({**message_created(122, "Done!", "outgoing"), "content_attributes": attributes})
    assert isinstance(found, Inbound) and found.role == "agent" and found.reply_to is None


def test_a_reply_to_a_message_names_it_and_a_deleted_one_is_ignored() -> None:
    reply = {**message_created(123, "Done!", "outgoing"), "content_attributes": {"in_reply_to": 118}}
    found = desk().read(reply)
    assert isinstance(found, Inbound) and found.reply_to == "118"
    asked = {**message_created(124, "hi"), "content_attributes": {"in_reply_to": 7}}
    found = desk().read(asked)
    assert isinstance(found, Inbound) and found.reply_to is None  # only an agent's reply answers
    deleted = {**message_created(125, "This message was deleted"), "content_attributes": {"deleted": True}}
    found = desk().read(deleted)
    assert isinstance(found, Ignored) and "deleted" in found.reason


def test_the_api_client_is_made_for_the_first_note_and_again_after_close(chatwoot: FakeChatwoot) -> None:
    """Making an HTTP client loads the certificate authorities (tens of milliseconds): every app start
    paid it, even with no Chatwoot to post to. It is made for the first note, and again after close."""
    chatwoot.start()
    d = desk(base_url=chatwoot.url, account_id="1", api_token=SecretStr(TOKEN))
    target = {"account_id": "1", "conversation_id": "7"}
    assert d._client is None
    assert d.post_note(Note(target, "first (ref-1)", "ref-1"))
    assert d._client is not None
    d.close()
    assert d._client is None
    assert d.post_note(Note(target, "second (ref-2)", "ref-2"))
    assert [n["content"] for n in chatwoot.notes] == ["first (ref-1)", "second (ref-2)"]
    d.close()


@pytest.mark.parametrize(
    ("status", "headers", "retry_after"),
    [
        (429, {"Retry-After": "30"}, 30.0),
        (503, {"Retry-After": "120"}, 120.0),
        (429, {}, None),
        (429, {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0),  # a date in the past: now
        (429, {"Retry-After": "soon"}, None),
        (503, {"Retry-After": "999999999"}, 3600.0),  # never more than the longest backoff
    ],
)
def test_chatwoots_retry_after_is_read_from_a_429_or_503(
    chatwoot: FakeChatwoot, status: int, headers: dict[str, str], retry_after: float | None
) -> None:
    """Chatwoot's rate limit (Rack::Attack) answers 429, a proxy in maintenance 503, with
    `Retry-After`: the next attempt must not come sooner (each early one uses up an attempt)."""
    chatwoot.fail, chatwoot.fail_status, chatwoot.fail_headers = 1, status, headers
    chatwoot.start()
    d = desk(base_url=chatwoot.url, account_id="1", api_token=SecretStr(TOKEN))
    with pytest.raises(HelpDeskError) as raised:
        d.post_note(Note({"account_id": "1", "conversation_id": "7"}, "a note (ref-1)", "ref-1"))
    d.close()
    assert raised.value.retryable and str(raised.value).startswith(f"HTTP {status}")
    assert raised.value.retry_after == retry_after


def test_a_reply_echoing_the_customers_markdown_renders_none_of_it_in_the_note() -> None:
    """An LLM draft may repeat what the customer wrote: their link, image or heading, put in the
    private note as it was, rendered in Chatwoot as supportcue's own (a forged "Why this suggestion"
    link, an image fetched from anywhere). The reply's Markdown is escaped, as the contact's name
    was; rendered, the note shows the reply's characters and links only to the case's page."""
    draft = (
        "# Account locked\n"
        "Hi Ana, as you asked: [Why this suggestion](https://evil.example/login)\n"
        "![x](https://evil.example/pixel.png) **urgent** <b>bold</b>\n"
        "Header\n===\n"
        "1. open Settings_now_"
    )
    note = note_for({}, draft, "payouts", "https://sc.example", "chatwoot:1:7", "s1")
    rendered = MarkdownIt("commonmark").render(note.content)
    assert 'href="https://evil' not in rendered and 'src="https://evil' not in rendered
    assert (
        rendered.count("<a ") == 1
        and 'href="https://sc.example/cases/chatwoot%3A1%3A7?suggestion=s1"' in rendered
    )
    for tag in ("<img", "<h1", "<h2", "<em", "<ol", "<b>"):
        assert tag not in rendered, (tag, rendered)
    assert rendered.count("<strong>") == 1  # the note's own "Suggested reply"
    # what the agent reads is the reply's text, line by line
    for line in draft.splitlines():
        assert html.escape(line, quote=False) in rendered, line
