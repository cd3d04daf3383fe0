"""Chatwoot-shaped webhooks replayed over real HTTP against the served app, with Chatwoot's messages
API served by a local fake that records what it receives (tests/integrations/chatwoot_api.py)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from markdown_it import MarkdownIt

from supportcue.data.store import Store, open_store
from supportcue.service.runtime import PipelineLoader
from tests.conftest import LiveServer
from tests.integrations.chatwoot_api import (
    CASE,
    PAUSE,
    WEBHOOK,
    FakeChatwoot,
    message_created,
    post,
    signed,
    wait_for,
)
from tests.service.conftest import fake_pipeline, wait_loaded


def test_a_conversation_replayed_gives_one_note_per_customer_message_and_one_sent_per_reply(
    server: LiveServer, chatwoot: FakeChatwoot, store: Store, api: httpx.Client
) -> None:
    chatwoot.start()
    question = message_created(101, "How do I pause a payout?")
    asked = post(server.url, question)
    assert asked.status_code == 200 and asked.json() == {
        "status": "accepted",
        "reason": None,
        "case_id": CASE,
        "message_id": "101",
    }
    (note,) = wait_for(lambda: chatwoot.notes)
    assert (note["account_id"], note["conversation_id"], note["private"]) == (1, 10, True)
    assert note["content"].startswith("**Suggested reply** (supportcue · topic: payouts)")
    assert PAUSE in note["content"]
    suggestion = store.cases.latest_suggestion(CASE)
    assert suggestion is not None
    link = f"{server.url}/cases/chatwoot%3A1%3A10?suggestion={suggestion.id}"
    assert f"[Why this suggestion]({link})" in note["content"]
    why = api.get(link, headers={"accept": "text/html"})  # the console's page of the case
    assert why.status_code == 200 and "How do I pause a payout?" in why.text
    # Chatwoot sends our own note back to the webhook (a private outgoing message): nothing changes
    echo = message_created(1000, note["content"], "outgoing", private=True)
    assert post(server.url, echo).json()["status"] == "ignored"
    assert post(server.url, message_created(102, "Rate us!", "template")).json()["status"] == "ignored"
    assert post(server.url, question).json()["status"] == "duplicate"  # delivered twice
    reply = message_created(103, PAUSE, "outgoing")
    assert post(server.url, reply).json()["status"] == "accepted"
    assert post(server.url, reply).json()["status"] == "duplicate"
    edited = post(server.url, {**reply, "content": "something else"})
    assert edited.status_code == 409 and "103" in edited.json()["detail"]
    time.sleep(0.3)  # a second note would have been posted by now
    assert len(chatwoot.notes) == 1 and len(chatwoot.messages) == 1
    sent = store.events.list(kind="sent")
    assert [(e.case_id, e.suggestion_id, e.agent_id, e.text) for e in sent] == [
        (CASE, suggestion.id, "John", PAUSE)
    ]
    metrics = api.get("/v1/metrics", params={"group_by": "agent"}).json()
    assert (metrics["match_rate"], metrics["matches"], metrics["sent_pairs"]) == (1.0, 1, 1)
    assert {g["key"]: g["match_rate"] for g in metrics["groups"]}["John"] == 1.0
    case = store.cases.get(CASE)
    assert case is not None and (case.message, case.customer_name, case.channel) == (
        "How do I pause a payout?",
        "Ana Silva",
        "webwidget",
    )
    prometheus = api.get("/metrics").text
    assert 'supportcue_webhooks_total{help_desk="chatwoot",outcome="accepted"} 2.0' in prometheus
    assert 'supportcue_webhooks_total{help_desk="chatwoot",outcome="duplicate"} 2.0' in prometheus
    assert 'supportcue_webhooks_total{help_desk="chatwoot",outcome="ignored"} 2.0' in prometheus
    assert 'supportcue_helpdesk_notes_total{help_desk="chatwoot",outcome="posted"} 1.0' in prometheus
    assert 'supportcue_helpdesk_notes_pending{help_desk="chatwoot"} 0.0' in prometheus
    assert "supportcue_helpdesk_last_posted_timestamp_seconds" in prometheus
    page = api.get("/dashboard").text
    assert 'id="helpdesk-chatwoot"' in page and f"{server.url}/integrations/chatwoot/webhook" in page
    assert "Suggestions posted as notes</th><td>1<" in page


def test_a_follow_up_in_chatwoot_is_read_with_the_thread(
    server: LiveServer, chatwoot: FakeChatwoot, store: Store
) -> None:
    chatwoot.start()
    post(server.url, message_created(201, "How do I pause a payout?"))
    wait_for(lambda: len(chatwoot.notes) == 1)
    post(server.url, message_created(202, "Open Settings > Payouts.", "outgoing"))
    post(server.url, message_created(203, "and how long does that take?"))
    notes = wait_for(lambda: len(chatwoot.notes) == 2 and chatwoot.notes)
    assert "topic: payouts" in notes[1]["content"]
    newest = store.cases.latest_suggestion(CASE)
    assert newest is not None and newest.trace[0]["follow_up"] is True


@pytest.mark.parametrize(
    ("sign", "says"),
    [
        ({"secret": "another secret"}, "signature does not match"),
        ({"timestamp": -600}, "from the server's clock"),  # seconds from now, taken when the test runs
        ({"timestamp": +600}, "from the server's clock"),
    ],
)
def test_a_bad_signature_or_a_stale_timestamp_is_401_and_stores_nothing(
    server: LiveServer, store: Store, sign: dict[str, Any], says: str
) -> None:
    if "timestamp" in sign:  # not at collection: a long run would bring +600 s within the 5 minutes
        sign = {"timestamp": int(time.time()) + sign["timestamp"]}
    r = post(server.url, message_created(301, "How do I pause a payout?"), **sign)
    assert r.status_code == 401 and says in r.json()["detail"]
    body = json.dumps(message_created(301, "x")).encode()
    unsigned = httpx.post(server.url + WEBHOOK, content=body, headers={"content-type": "application/json"})
    assert unsigned.status_code == 401 and "not signed" in unsigned.json()["detail"]
    assert store.db.count("messages") == 0 and store.db.count("outbox") == 0


@pytest.mark.parametrize(
    ("header", "value", "says"),
    [
        ("x-chatwoot-signature", "sha256=\u00e9", "signature does not match"),
        ("x-chatwoot-timestamp", "\u00b2", "Unix seconds"),
    ],
)
def test_non_ascii_signature_headers_are_401_not_500(
    server: LiveServer, store: Store, header: str, value: str, says: str
) -> None:
    body = json.dumps(message_created(302, "How do I pause a payout?")).encode()
    headers: dict[str, Any] = {**signed(body), header: value.encode("latin-1")}
    r = httpx.post(server.url + WEBHOOK, content=body, headers=headers, timeout=10)
    assert r.status_code == 401 and says in r.json()["detail"]
    assert store.db.count("messages") == 0


def _nul_in(message: dict[str, Any], part: str, field: str) -> dict[str, Any]:
    """`message` with a NUL byte in `message[part][field]`."""
    return {**message, part: {**message[part], field: "a\u0000b"}}


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b'{"event": "message_created", "id": 1,', "the body is not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (
            json.dumps({"event": "message_created", "id": 5, "message_type": "incoming"}).encode(),
            "conversation",
        ),
        (json.dumps({**message_created(6, "hi"), "content": "a\u0000b"}).encode(), "content"),
        # on PostgreSQL each was a 500 (it refuses NUL in text) and on SQLite stored as it came
        (json.dumps({**message_created(6, "hi"), "id": "a\u0000b"}).encode(), "id"),
        (json.dumps(_nul_in(message_created(6, "hi"), "conversation", "display_id")).encode(), "display_id"),
        (json.dumps(_nul_in(message_created(6, "hi"), "conversation", "channel")).encode(), "channel"),
        (json.dumps(_nul_in(message_created(6, "hi"), "account", "id")).encode(), "account.id"),
        (json.dumps(_nul_in(message_created(6, "hi"), "sender", "type")).encode(), "sender.type"),
        (json.dumps({**message_created(6, "hi"), "message_type": "a\u0000b"}).encode(), "message_type"),
    ],
)
def test_a_malformed_body_is_422_naming_the_problem(
    server: LiveServer, store: Store, body: bytes, says: str
) -> None:
    r = post(server.url, body)
    assert r.status_code == 422 and says in r.json()["detail"]
    assert "a\u0000b" not in r.text
    assert store.db.count("messages") == 0


def test_other_events_and_accounts_are_ignored(server: LiveServer, store: Store) -> None:
    opened = {"event": "conversation_opened", "id": 10, "status": "open", "account": {"id": 1}}
    assert post(server.url, opened).json() == {
        "status": "ignored",
        "reason": "event 'conversation_opened' is not read (only message_created and "
        "conversation_status_changed)",
        "case_id": None,
        "message_id": None,
    }
    other = post(server.url, message_created(401, "How do I pause a payout?", account=2)).json()
    assert other["status"] == "ignored" and "account 2" in other["reason"]
    bot = message_created(
        402, "Hi, I'm the bot", "outgoing", sender={"id": 3, "name": "Bot", "type": "agent_bot"}, account=2
    )
    assert post(server.url, bot).json()["status"] == "ignored"
    assert store.db.count("messages") == 0


def test_chatwoot_down_then_up_the_webhook_is_answered_at_once_and_the_note_comes_later(
    server: LiveServer, chatwoot: FakeChatwoot, store: Store
) -> None:
    started = time.monotonic()
    r = post(server.url, message_created(501, "How do I pause a payout?"))
    assert r.status_code == 200 and r.json()["status"] == "accepted"
    assert time.monotonic() - started < 2.0  # never waits on Chatwoot
    (item,) = wait_for(lambda: [i for i in store.outbox.items() if i.failures >= 2])
    assert item.status == "pending" and "ConnectError" in (item.last_error or "")
    chatwoot.start()
    wait_for(lambda: chatwoot.notes)
    (item,) = wait_for(lambda: [i for i in store.outbox.items() if i.status == "posted"])
    assert len(chatwoot.notes) == 1 and item.remote_id == "1000" and item.failures >= 2
    health = store.outbox.health("chatwoot")
    assert health["posted"] == 1 and health["failed_attempts"] == item.failures


def test_a_slow_chatwoot_that_posted_before_timing_out_gets_no_second_note(
    server: LiveServer, chatwoot: FakeChatwoot, store: Store
) -> None:
    chatwoot.delay = 1.0  # over the 0.5 s timeout: the note is created, its answer comes too late
    chatwoot.start()
    assert post(server.url, message_created(601, "How do I pause a payout?")).status_code == 200
    # The webhook answered without waiting for Chatwoot (an order, not a time: nothing posted yet).
    assert not [i for i in store.outbox.items() if i.status == "posted"]
    (item,) = wait_for(lambda: [i for i in store.outbox.items() if i.status == "posted"])
    assert item.failures == 1 and item.remote_id == "1000"  # the note the timed-out attempt made
    assert len(chatwoot.notes) == 1
    assert ("GET", "/api/v1/accounts/1/conversations/10/messages") in chatwoot.requests


def test_503s_are_retried_with_backoff(server: LiveServer, chatwoot: FakeChatwoot, store: Store) -> None:
    chatwoot.fail = 3
    chatwoot.start()
    post(server.url, message_created(701, "How do I pause a payout?"))
    (item,) = wait_for(lambda: [i for i in store.outbox.items() if i.status == "posted"])
    assert item.failures == 3 and len(chatwoot.notes) == 1
    posts = [r for r in chatwoot.requests if r[0] == "POST"]
    assert len(posts) == 4


def test_notes_survive_a_restart(
    make_app: Callable[[PipelineLoader], FastAPI], chatwoot: FakeChatwoot, database_url: str
) -> None:
    store = open_store(database_url)
    first = make_app(fake_pipeline)
    with LiveServer(first) as live:
        wait_loaded(first)
        assert post(live.url, message_created(801, "How do I pause a payout?")).status_code == 200
        wait_for(lambda: [i for i in store.outbox.items() if i.failures >= 1])
    # the process is gone with the note unposted; a new one, with Chatwoot back, posts it once
    chatwoot.start()
    second = make_app(fake_pipeline)
    with LiveServer(second):
        wait_loaded(second)
        wait_for(lambda: chatwoot.notes)
        time.sleep(0.3)
    assert len(chatwoot.notes) == 1
    assert [i.status for i in store.outbox.items()] == ["posted"]
    store.close()


def test_why_webhooks_are_refused_or_come_from_another_account_reaches_the_log_and_the_dashboard(
    server: LiveServer, api: httpx.Client, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    """Chatwoot discards a webhook's answer (it shows no response anywhere): a secret copied wrong, a
    Chatwoot that does not sign, or `account_id` set to another account answered 401 or `ignored`
    with the reason to Chatwoot alone, and the admin saw only a count, or nothing."""
    caplog.set_level(logging.INFO, logger="supportcue")
    for _ in range(5):  # every webhook of a wrong secret: one line, not one per webhook
        assert (
            post(server.url, message_created(901, "How do I pause a payout?"), secret="wrong").status_code
            == 401
        )
    unsigned = json.dumps(message_created(902, "How do I pause a payout?")).encode()
    r = httpx.post(server.url + WEBHOOK, content=unsigned, headers={"content-type": "application/json"})
    assert r.status_code == 401
    for mid in (903, 904):
        answer = post(server.url, message_created(mid, "How do I pause a payout?", account=2)).json()
        assert answer["status"] == "ignored"
    lines = [r.getMessage() for r in caplog.records if "webhook" in r.getMessage()]
    assert lines == [
        "chatwoot webhook refused (401): the webhook's signature does not match (another secret, or a "
        "changed body)",
        "chatwoot webhook refused (401): the webhook is not signed: X-Chatwoot-Signature or "
        "X-Chatwoot-Timestamp is missing (Chatwoot signs its webhooks from v4.11.2 on: upgrade it and "
        "run its database migrations)",
        "chatwoot webhook ignored: account 2 is not the configured account 1 ([chatwoot] account_id)",
    ]
    assert all(r.levelname == "WARNING" for r in caplog.records if "webhook" in r.getMessage())
    page = api.get("/dashboard").text
    panel = page[page.index('id="helpdesk-chatwoot"') :]
    panel = panel[: panel.index("</section>")]
    assert "6 webhooks were refused (401)" in panel and "the log says why" in panel
    assert "2 webhooks came from another Chatwoot account" in panel and "account_id" in panel
    assert store.db.count("messages") == 0
    prometheus = api.get("/metrics").text
    assert 'supportcue_webhooks_total{help_desk="chatwoot",outcome="other_account"} 2.0' in prometheus


@pytest.mark.parametrize("chatwoot_settings", [{"max_attempts": "1"}])
def test_the_chatwoot_panel_says_one_webhook_and_one_note_in_the_singular(
    server: LiveServer, chatwoot: FakeChatwoot, api: httpx.Client, store: Store
) -> None:
    chatwoot.fail, chatwoot.fail_status = 1, 404  # the note is refused for good: one note given up
    chatwoot.start()
    assert post(server.url, message_created(911, "How do I pause a payout?")).status_code == 200
    wait_for(lambda: [i for i in store.outbox.items() if i.status == "failed"])
    assert post(server.url, message_created(912, "hi", account=2)).json()["status"] == "ignored"
    assert post(server.url, message_created(913, "hi"), secret="wrong").status_code == 401
    page = api.get("/dashboard").text
    panel = page[page.index('id="helpdesk-chatwoot"') :]
    panel = panel[: panel.index("</section>")]
    assert "1 webhook was refused (401)" in panel
    assert "1 webhook came from another Chatwoot account" in panel
    assert "1 note given up" in panel
    assert "1 webhooks" not in panel and "1 notes" not in panel


def test_a_webhook_over_the_size_limit_is_logged_once_a_minute(
    server: LiveServer, api: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    """Chatwoot shows no webhook's answer and does not send it again: a 413 was counted in the
    request metrics but said nowhere why a customer's message was lost."""
    caplog.set_level(logging.INFO, logger="supportcue")
    huge = b'{"event": "message_created", "content": "' + b"x" * (16 * 1_048_576) + b'"}'
    for _ in range(2):
        r = httpx.post(server.url + WEBHOOK, content=huge, headers=signed(huge), timeout=30)
        assert r.status_code == 413
    lines = [r.getMessage() for r in caplog.records if "webhook" in r.getMessage()]
    assert lines == [
        "chatwoot webhook refused (413): webhook body is 16,777,259 bytes; the limit is 16,777,216"
    ], lines
    assert all(r.levelname == "WARNING" for r in caplog.records if "webhook" in r.getMessage())
    assert "xxxx" not in caplog.text
    prometheus = api.get("/metrics").text
    assert 'supportcue_webhooks_total{help_desk="chatwoot",outcome="too_large"} 2.0' in prometheus


def test_a_note_is_not_a_shown_event_adoption_needs_the_dashboard_app(
    server: LiveServer, chatwoot: FakeChatwoot, store: Store, api: httpx.Client
) -> None:
    """Adoption is suggestions inserted / suggestions shown, from the agent's own actions (the
    Dashboard App's or the console's Copy is `inserted`). Chatwoot says nothing when an agent copies
    from a private note, so a note counted as `shown` would make a notes-only team's adoption 0%
    whatever its agents did, and dilute the adoption measured in the Dashboard App. A note is
    therefore no `shown` event: adoption has no data, and the match rate measures the notes' use."""
    chatwoot.start()
    post(server.url, message_created(921, "How do I pause a payout?"))
    wait_for(lambda: chatwoot.notes)
    post(server.url, message_created(922, PAUSE, "outgoing"))
    assert store.events.list(kind="shown") == []
    metrics = api.get("/v1/metrics").json()
    assert (metrics["shown"], metrics["adoption"]) == (0, None)
    assert (metrics["match_rate"], metrics["sent_pairs"]) == (1.0, 1)


def test_a_contact_with_a_very_long_name_gets_a_note_not_a_500(
    server: LiveServer, chatwoot: FakeChatwoot, store: Store
) -> None:
    """Chatwoot's contact name went into the case's customer_name (200 characters) as it came: a
    longer one (a name field holding a whole signature) was a 500 on PostgreSQL, and Chatwoot does
    not send a webhook again, so the customer's message was lost. The name is cut to fit."""
    from tests.integrations.chatwoot_api import CONTACT

    chatwoot.start()
    sender = {**CONTACT, "name": "Ana " + "Silva-" * 60}
    r = post(server.url, message_created(501, "How do I pause a payout?", sender=sender))
    assert r.status_code == 200, r.text
    wait_for(lambda: chatwoot.notes)
    case = store.cases.get(CASE)
    assert case is not None and case.customer_name is not None and case.customer_name.startswith("Ana Silva-")
    assert len(case.customer_name) <= 200


def test_a_contacts_name_cannot_write_markdown_into_the_note(
    server: LiveServer, chatwoot: FakeChatwoot, store: Store
) -> None:
    """A Chatwoot contact names themself (the web widget asks anyone for a name), and the name fills
    the suggestion's greeting: "[Why this suggestion](https://evil.example)" made a second, forged
    link in the note that agents read as supportcue's. The name's Markdown is escaped in the note."""
    from tests.integrations.chatwoot_api import CONTACT

    chatwoot.start()
    name = "[Why this suggestion](https://evil.example/login) **urgent**"
    r = post(server.url, message_created(601, "How do I pause a payout?", sender={**CONTACT, "name": name}))
    assert r.status_code == 200, r.text
    wait_for(lambda: chatwoot.notes)
    content = chatwoot.notes[0]["content"]
    assert "**urgent**" not in content, content
    assert "Hi \\[Why this suggestion\\](https://evil.example/login) \\*\\*urgent\\*\\*," in content
    rendered = MarkdownIt("commonmark").render(content)  # as Chatwoot shows it
    assert 'href="https://evil' not in rendered and "<strong>urgent" not in rendered
    assert rendered.count("<a ") == 1  # the note's own link only
    assert "Hi [Why this suggestion](https://evil.example/login) **urgent**," in rendered


def test_an_email_thread_is_read_as_what_was_written_in_it(
    server: LiveServer, chatwoot: FakeChatwoot, store: Store, api: httpx.Client
) -> None:
    """Chatwoot's `content` for an e-mail inbox is the mail's whole text part (`MailboxHelper`:
    `text_content[:reply]`, the decoded text before `EmailReplyTrimmer`): the quoted history, the
    signature. A quoted payout answer made an invoice question a payout suggestion, the quoted
    addresses were stored, and the agent's reply, quoting the customer, scored as a miss."""
    chatwoot.start()
    history = "On Mon, 3 Nov 2026 at 10:02, Sam <sam@help.example> wrote:\n> You can pause a payout."
    post(server.url, message_created(301, f"How do I export my invoices?\n\n{history}"))
    wait_for(lambda: store.cases.latest_suggestion(CASE))
    suggestion = store.cases.latest_suggestion(CASE)
    assert suggestion is not None and suggestion.topic is None
    assert suggestion.message == "How do I export my invoices?"
    question = f"How do I pause a payout?\n\nSent from my iPhone\n\n{history.replace('Sam', 'Ana')}"
    post(server.url, message_created(302, question))
    wait_for(lambda: len(chatwoot.notes) == 1)
    quoted = "\n".join(f"> {line}" for line in question.splitlines())
    reply = (
        f"{PAUSE}\n\n-- \nJohn | Support\n\nOn Tue, 4 Nov 2026 at 9:00, Ana <a@c.example> wrote:\n{quoted}"
    )
    assert post(server.url, message_created(303, reply, "outgoing")).json()["status"] == "accepted"
    assert [e.text for e in store.events.list(kind="sent")] == [PAUSE]
    metrics = api.get("/v1/metrics").json()
    assert (metrics["matches"], metrics["sent_pairs"]) == (1, 1)
    turns = store.conversations.turns(CASE)
    assert len(turns) == 3 and not any("@" in t.text or "Sent from" in t.text for t in turns)


def test_an_email_with_a_marked_section_of_any_name_is_stored_not_a_500(
    server: LiveServer, store: Store
) -> None:
    """Outlook's HTML marks lists with `<![if !supportLists]>`; a marked section of another name
    (`<![x]>`) made the standard library's HTML parser raise: the webhook was a 500 and the customer's
    message lost (Chatwoot does not send it again)."""
    r = post(server.url, message_created(311, "<p>My card was charged twice</p><![x]>"))
    assert r.status_code == 200 and r.json()["status"] == "accepted"
    (turn,) = store.conversations.turns(CASE)
    assert turn.text == "My card was charged twice"


def test_a_long_html_email_is_read_off_the_event_loop(server: LiveServer, store: Store) -> None:
    """An e-mail's webhook may carry 16 MiB, and its HTML is read (`mailtext.clean`) before the answer:
    read on the event loop, 4 MB of paragraphs from a customer held every other request, /healthz
    included, for the 4 to 5 s it took."""
    body = json.dumps(message_created(321, "<p>My card was charged twice</p>" + "<p>" * 1_300_000)).encode()
    with ThreadPoolExecutor(1) as pool:
        sent = pool.submit(httpx.post, server.url + WEBHOOK, content=body, headers=signed(body), timeout=120)
        time.sleep(0.5)
        started = time.perf_counter()
        health = httpx.get(server.url + "/healthz", timeout=120)
        waited = time.perf_counter() - started
        r = sent.result()
    assert r.status_code == 200 and r.json()["status"] == "accepted"
    assert health.status_code == 200 and waited < 1.0, waited
    (turn,) = store.conversations.turns(CASE)
    assert turn.text == "My card was charged twice"
