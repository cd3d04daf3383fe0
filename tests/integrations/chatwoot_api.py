"""What the Chatwoot tests need from outside supportcue: Chatwoot's messages API over real HTTP, and
webhook payloads shaped like Chatwoot's (its docs repository, `webhook-events`: `message_created`).

`FakeChatwoot` serves `POST` and `GET /api/v1/accounts/{account}/conversations/{conversation}/messages`
on a local port, checks the `api_access_token` header, and records every message it is sent. It can
be told to answer 503 (or another status, with headers such as `Retry-After`) a number of times, or
to be slow (it stores the message, then waits: like a Chatwoot that created the note but whose
answer comes too late), and it can start on a port reserved
earlier (Chatwoot down, then up).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import socket
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

MESSAGES = re.compile(r"^/api/v1/accounts/(\d+)/conversations/(\d+)/messages$")
TOKEN = "cw-token"
SECRET = "cw-webhook-secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class FakeChatwoot:
    def __init__(self, port: int | None = None, token: str = TOKEN) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.token = token
        self.messages: list[dict[str, Any]] = []
        self.requests: list[tuple[str, str]] = []
        self.fail = 0
        self.fail_status = 503
        self.fail_headers: dict[str, str] = {}
        self.delay = 0.0
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def notes(self) -> list[dict[str, Any]]:
        with self.lock:
            return [m for m in self.messages if m["private"]]

    def start(self) -> FakeChatwoot:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _route(self) -> tuple[str, str] | None:
                with fake.lock:
                    fake.requests.append((self.command, self.path))
                match = MESSAGES.match(self.path)
                if match is None:
                    self._send(404, {"error": "not found"})
                    return None
                if self.headers.get("api_access_token") != fake.token:
                    self._send(401, {"errors": ["You need to sign in or sign up before continuing."]})
                    return None
                return match.group(1), match.group(2)

            def do_GET(self) -> None:
                found = self._route()
                if found is not None:
                    with fake.lock:
                        payload = [m for m in fake.messages if m["conversation_id"] == int(found[1])]
                    self._send(200, {"meta": {"labels": [], "contact": {}}, "payload": payload})

            def do_POST(self) -> None:
                found = self._route()
                if found is None:
                    return
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
                with fake.lock:
                    if fake.fail > 0:
                        fake.fail -= 1
                        self._send(fake.fail_status, {"error": "scripted failure"}, fake.fail_headers)
                        return
                    message = {
                        "id": 1000 + len(fake.messages),
                        "content": body["content"],
                        "account_id": int(found[0]),
                        "conversation_id": int(found[1]),
                        "message_type": 1 if body.get("message_type") == "outgoing" else 0,
                        "private": bool(body.get("private")),
                        "content_type": "text",
                        "created_at": int(time.time()),
                    }
                    fake.messages.append(message)
                    delay = fake.delay
                time.sleep(delay)
                self._send(200, message)

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


# -- webhook payloads -------------------------------------------------------------------------------

CONTACT = {"id": 14, "name": "Ana Silva", "avatar": "", "type": "contact"}
AGENT = {"id": 1, "name": "John", "email": "john@acme.inc", "type": "user"}


def message_created(
    message_id: int,
    content: str | None,
    message_type: str = "incoming",
    *,
    private: bool = False,
    sender: dict[str, Any] | None = None,
    conversation: int = 10,
    account: int = 1,
    created_at: str | None = None,
) -> dict[str, Any]:
    """A `message_created` webhook as Chatwoot sends it (its documented sample, with these values)."""
    now = created_at or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    if sender is None:
        sender = CONTACT if message_type == "incoming" else AGENT
    return {
        "id": message_id,
        "content": content,
        "created_at": now,
        "message_type": message_type,
        "content_type": "text",
        "private": private,
        "content_attributes": {},
        "source_id": None,
        "sender": sender,
        "inbox": {"id": 1, "name": "Acme Support"},
        "conversation": {
            "additional_attributes": {
                "browser": {
                    "device_name": "Unknown",
                    "browser_name": "Chrome",
                    "platform_name": "macOS",
                    "browser_version": "92.0.4515.107",
                    "platform_version": "10.15.7",
                },
                "referer": "http://localhost:3000/widget_tests",
                "initiated_at": {"timestamp": "Fri Jul 23 2021 23:32:48 GMT+0530 (India Standard Time)"},
            },
            "can_reply": True,
            "channel": "Channel::WebWidget",
            "id": conversation,
            "inbox_id": 1,
            "contact_inbox": {
                "id": 12,
                "contact_id": CONTACT["id"],
                "inbox_id": 1,
                "source_id": "405f1d30-1af3-4fa0-8ffd-11ea3f86101e",
                "created_at": "2021-07-23T18:01:48.739Z",
                "updated_at": "2021-07-23T18:01:48.739Z",
                "hmac_verified": False,
            },
            "messages": [],
            "meta": {
                "sender": {
                    **CONTACT,
                    "email": None,
                    "identifier": None,
                    "phone_number": None,
                    "thumbnail": "",
                },
                "assignee": {**AGENT, "available_name": "John", "availability_status": "online"},
            },
            "status": "open",
            "unread_count": 1,
            "agent_last_seen_at": 0,
            "contact_last_seen_at": 0,
            "timestamp": int(time.time()),
        },
        "account": {"id": account, "name": "Acme Inc"},
        "event": "message_created",
    }


def signed(body: bytes, secret: str = SECRET, timestamp: int | None = None) -> dict[str, str]:
    """The headers Chatwoot sends with a webhook signed with `secret` (computed here independently)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    mac = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return {
        "content-type": "application/json",
        "x-chatwoot-timestamp": ts,
        "x-chatwoot-signature": f"sha256={mac}",
        "x-chatwoot-delivery": "3f0b7c4e-0000-4000-8000-000000000000",
    }


# The webhook route, the case and the suggestion the tests' fake pipeline gives, and their helpers.
WEBHOOK = "/integrations/chatwoot/webhook"
CASE = "chatwoot:1:10"
PAUSE = "Hi Ana Silva,\nYou can pause payouts in Settings."


def post(url: str, payload: Any, **sign: Any) -> httpx.Response:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return httpx.post(url + WEBHOOK, content=body, headers=signed(body, **sign), timeout=10)


def wait_for(check: Callable[[], Any], timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.02)
    raise AssertionError("timed out waiting")


def incoming_email(message_id: int, reply: str, quoted_html: str, quoted_text: str) -> dict[str, Any]:
    """A customer's e-mail as Chatwoot's `message_created` carries it: the reply as `content`, and in
    `content_attributes.email` what Chatwoot's mail presenter keeps (`serialized_data`: the HTML and
    the text, each `full`, `reply` and `quoted`); the conversation's `messages` holds the same message
    again (its `push_event_data`, with the same `content_attributes`)."""
    payload = message_created(message_id, reply)
    html_reply = f'<div dir="ltr">{reply}</div>'
    email = {
        "bcc": None,
        "cc": None,
        "content_type": "multipart/alternative",
        "date": "2026-12-01T09:00:00+00:00",
        "from": ["ana@example.com"],
        "html_content": {"full": html_reply + quoted_html, "reply": html_reply, "quoted": quoted_html},
        "in_reply_to": None,
        "message_id": "CAF=abc@mail.example.com",
        "multipart": True,
        "number_of_attachments": 0,
        "subject": "Re: payouts",
        "text_content": {"full": reply + "\n" + quoted_text, "reply": reply, "quoted": quoted_text},
        "to": ["support@acme.example"],
    }
    payload["content_type"] = "incoming_email"
    payload["content_attributes"] = {"email": email}
    payload["conversation"]["channel"] = "Channel::Email"
    payload["conversation"]["messages"] = [
        {
            "id": message_id,
            "content": reply,
            "account_id": 1,
            "inbox_id": 1,
            "conversation_id": payload["conversation"]["id"],
            "message_type": 0,
            "created_at": int(time.time()),
            "private": False,
            "status": "sent",
            "content_type": "incoming_email",
            "content_attributes": {"email": email},
            "sender_type": "Contact",
            "sender_id": CONTACT["id"],
        }
    ]
    return payload


def rails_json(payload: Any) -> bytes:
    """`payload.to_json` as Chatwoot's webhook job writes it: UTF-8 as is, and `<`, `>` and `&`
    escaped as `\\u003c`, `\\u003e`, `\\u0026` (ActiveSupport's `escape_html_entities_in_json`)."""
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").encode()


def status_changed(
    conversation: int,
    status: str,
    *,
    previous: str = "open",
    created_at: float,
    updated_at: float,
    account: int = 1,
    assignee: dict[str, Any] | None = AGENT,
    event: str = "conversation_status_changed",
) -> dict[str, Any]:
    """A `conversation_status_changed` webhook as Chatwoot sends it: the conversation's `webhook_data`
    (`Conversations::EventDataPresenter#push_data`: `id` is the conversation's number, `display_id`;
    no `account` object, the account only in its last message's `account_id`; `created_at` Unix
    seconds and `updated_at` Unix seconds with a fraction, the time of the change) merged with the
    event and `changed_attributes` (`[{"status": {"previous_value", "current_value"}}]`)."""
    payload = {k: v for k, v in message_created(1, "x", conversation=conversation)["conversation"].items()}
    payload["messages"] = [
        {
            "id": 120,
            "content": "Thanks!",
            "account_id": account,
            "inbox_id": 1,
            "conversation_id": conversation,
            "message_type": 0,
            "created_at": int(created_at),
            "private": False,
            "status": "sent",
            "content_type": "text",
            "sender_type": "Contact",
            "sender_id": CONTACT["id"],
        }
    ]
    payload["meta"]["assignee"] = assignee and {**assignee, "available_name": assignee.get("name")}
    payload.update(
        {
            "labels": [],
            "status": status,
            "custom_attributes": {},
            "snoozed_until": None,
            "unread_count": 0,
            "first_reply_created_at": None,
            "priority": None,
            "waiting_since": 0,
            "agent_last_seen_at": int(updated_at),
            "contact_last_seen_at": 0,
            "last_activity_at": int(updated_at),
            "timestamp": int(updated_at),
            "created_at": int(created_at),
            "updated_at": updated_at,
            "event": event,
            "changed_attributes": [{"status": {"previous_value": previous, "current_value": status}}],
        }
    )
    return payload
