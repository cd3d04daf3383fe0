"""Chatwoot: its account webhook in, private notes out (a `HelpDesk`, see `base.py`).

**In.** Chatwoot posts each event of the account to the webhook URL. A signed webhook carries
`X-Chatwoot-Timestamp` (Unix seconds) and `X-Chatwoot-Signature` = `sha256=` + hex
HMAC-SHA256(secret, "{timestamp}.{raw body}"); `verify` accepts it only when `[chatwoot]
webhook_secret` is set, the signature matches (compared in constant time) and the timestamp is within
`MAX_SKEW_S` of the server's clock (an older one is a replay). Without a secret every webhook is
refused: Chatwoot cannot send an API key, and an unsigned webhook could come from anyone. Chatwoot
signs its account webhooks from `SIGNED_SINCE` (v4.11.2) on; an older one's are refused as unsigned.

`read` turns a `message_created` event into an `Inbound` message:

    message_type  private  sender.type   becomes
    incoming      false    contact       a customer turn (a suggestion, posted as a private note)
    outgoing      false    user          an agent's reply (the `sent` event of the case's suggestion)
    outgoing      false    agent_bot,    a bot's turn (`BOT_TYPES`), kept as context only: no
                           captain_...   suggestion, no reply
    anything else                        Ignored: private notes (ours among them), templates,
                                         activity, a campaign's or an automation
                                         rule's (`additional_attributes.campaign_id`,
                                         `content_attributes.automation_rule_id`: sent as a user,
                                         yet no reply), other events and accounts

A customer's message in a conversation a bot handles (`pending`, or assigned to a bot:
`_bot_handles`) is kept as context only too (`Inbound.context_only`): no note until an agent takes
it over (status open), and that first suggestion reads what the customer told the bot, and the bot's
answers, as the turns before it.

A conversation resolved in Chatwoot (`conversation_status_changed` whose status became `resolved`,
or the older `conversation_resolved`) is `Resolved`: the case's `resolved` event (`conversation.
receive_resolved`). Its payload is the conversation's own (`id` is its number; the account is the
`account` object, `account_id`, or its last message's `account_id`, else taken as the configured
one); its `updated_at` is when it was resolved and `created_at` when it began, so the event's
handle time is Chatwoot's resolution time. Each resolution is one event, keyed by the conversation
and that time: a webhook delivered twice is one event, a conversation reopened and resolved again has
two, and the analysis takes the last (as for events sent to the API). A resolution also closes the
case (the console's inbox shows open cases), and a change to `open` is `Reopened`: the case is open
again, with no event; when it is a bot's handover (`bot_handoff!`, or an agent opening a pending
conversation), the customer's last message to the bot, unanswered by an agent, gets its note then.
Other status changes (pending, snoozed) record nothing.

An agent's "reply to" a given message (`content_attributes.in_reply_to`) is measured against that
message's suggestion (`Inbound.reply_to`). A reaction (`content_attributes.is_reaction`: an emoji
put on a message, on WhatsApp or Instagram, which Chatwoot stores as a message) is Ignored, either
way. A message without text (an attachment alone) is Ignored,
and so is one whose `content_attributes` say `deleted`: Chatwoot builds a webhook's payload when its
background job runs, so a message deleted by then arrives as `message_created` with the placeholder
"This message was deleted". Other events (`message_updated`, the other `conversation_*`, `contact_*` and
`webwidget_triggered` ones) are Ignored: an edit or a deletion after the webhook changes nothing
already recorded (the reply was sent, and on most channels it reached the customer).

The case is the conversation: `case_id_for(account, conversation)` = `chatwoot:{account}:{number}`,
where the number is the conversation's `display_id` (which Chatwoot's webhooks send as `id`, and
which its API's URLs use: `_number` cites Chatwoot's source).

**Out.** A note is `POST {base_url}/api/v1/accounts/{account_id}/conversations/{number}/messages`
with `{"content": ..., "message_type": "outgoing", "private": true}` and the `api_access_token`
header (its content: `base.note_for`, Markdown, which Chatwoot renders). `find_note` looks for
the note's `ref` among the conversation's latest messages before a retry posts again. A 5xx, 408,
409, 425 or 429 (Chatwoot's rate limit) may be tried again, not sooner than its `Retry-After` asks
(`retry_after`); a 401 (the token) or a 404 (the account or conversation) will not succeed later.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict

from supportcue.boundary import Text, check_text, check_time, is_digits, same_secret
from supportcue.errors import HelpDeskError, WebhookRefused
from supportcue.integrations.base import Ignored, Inbound, Note, Reopened, Resolved
from supportcue.settings import ChatwootSettings
from supportcue.vocab import MessageRole

NAME = "chatwoot"
MAX_SKEW_S = 300
"""A webhook whose timestamp is further than this from the server's clock is refused (a replay)."""
SIGNED_SINCE = "v4.11.2"
"""The first Chatwoot release that signs account webhooks: chatwoot/chatwoot#13573 ("add per-webhook
secret with backfill migration", lib/webhooks/trigger.rb signs when the webhook has a secret); its
maintainers date it in chatwoot/chatwoot#13862 ("not present in v4.11.1 ... appears in v4.11.2"; a
secret that does not show in the webhook's settings after upgrading means the migrations did not
run). Agent bot and API inbox webhooks, which supportcue does not use, are signed from v4.13.0."""
MAX_RETRY_AFTER_S = 3600
"""The longest `Retry-After` obeyed (the longest backoff): a larger one is read as this."""
_TYPES = {0: "incoming", 1: "outgoing", 2: "activity", 3: "template"}
"""Chatwoot's numeric `message_type`s (as its API's message objects give them)."""

__all__ = ["NAME", "ChatwootHelpDesk", "agent_name", "case_id_for", "retry_after", "signature"]


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """`X-Chatwoot-Signature` for a body sent at `timestamp`: sha256= + hex HMAC-SHA256."""
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def case_id_for(account_id: int | str, conversation: int | str) -> str:
    """The case of a Chatwoot conversation (its account and its number, `display_id`)."""
    return f"{NAME}:{account_id}:{conversation}"


class _Party(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: int | Text | None = None
    name: Text | None = None
    type: Text | None = None


class _Meta(BaseModel):
    model_config = ConfigDict(extra="ignore")
    sender: _Party | None = None
    assignee: _Party | None = None
    assignee_type: Text | None = None


class _Conversation(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: int | Text
    display_id: int | Text | None = None
    inbox_id: int | Text | None = None
    status: Text | None = None
    channel: Text | None = None
    meta: _Meta | None = None


BOT_TYPES = frozenset({"agent_bot", "captain_assistant"})
"""The `type` of a bot in Chatwoot's webhooks: an agent bot's (`AgentBot#webhook_data`) and Captain's
(its AI assistant, `Captain::Assistant#webhook_data`)."""


def _bot_handles(conversation: _Conversation) -> str | None:
    """Why a bot, not an agent, handles the conversation now (None: agents do).

    Settled against Chatwoot's source (chatwoot/chatwoot): a conversation of an inbox with an active
    agent bot is created `pending` (`Conversation#determine_conversation_status`, app/models/
    conversation.rb: "so they don't get auto-assigned to humans"), and a resolved one the customer
    writes to again is made pending again (`Message#reopen_resolved_conversation`); the bot hands it
    over with `bot_handoff!` (status `open`), as an agent does by opening it. A conversation may also be
    assigned to a bot (`assignee_agent_bot_id`: `meta.assignee` is the bot's `push_event_data`, of
    type `agent_bot`, and `meta.assignee_type` is `AgentBot`); assigning an agent unassigns the bot."""
    if conversation.status == "pending":
        return "the conversation is pending (a bot handles it)"
    meta = conversation.meta
    if meta is not None and (
        (meta.assignee is not None and meta.assignee.type in BOT_TYPES) or meta.assignee_type == "AgentBot"
    ):
        return "the conversation is assigned to a bot"
    return None


class _Account(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: int | Text


class MessageCreated(BaseModel):
    """The fields of a `message_created` webhook that supportcue reads (the rest is ignored). Every
    string is `Text` (no NUL byte, no lone surrogate): ids and the channel are stored and looked up,
    and PostgreSQL refuses a NUL in text, which made such a webhook a 500 there."""

    model_config = ConfigDict(extra="ignore")
    event: str
    id: int | Text
    content: Text | None = None
    message_type: Text | int
    private: bool = False
    sender: _Party | None = None
    conversation: _Conversation
    account: _Account
    created_at: Text | int | float | None = None
    content_attributes: Any = None
    """An object (`deleted`, `in_reply_to`, ...); any other value is read as an empty one, never refused."""
    additional_attributes: Any = None
    """An object (`campaign_id` for a campaign's message); any other value is read as an empty one."""


RESOLUTION_EVENTS = ("conversation_status_changed", "conversation_resolved")
"""The events that may say a conversation was resolved (`conversation_resolved`: older Chatwoots')."""


class _LastMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")
    account_id: int | Text | None = None


class ConversationChanged(BaseModel):
    """The fields of a conversation's webhook (`conversation_status_changed`) that supportcue reads.
    Every string is `Text`, as in `MessageCreated`: a NUL byte in an id reached the case lookup, a
    500 on PostgreSQL."""

    model_config = ConfigDict(extra="ignore")
    event: str
    id: int | Text
    display_id: int | Text | None = None
    status: Text | None = None
    channel: Text | None = None
    account: _Account | None = None
    account_id: int | Text | None = None
    messages: list[_LastMessage] | None = None
    meta: _Meta | None = None
    created_at: Text | int | float | None = None
    updated_at: Text | int | float | None = None
    changed_attributes: Any = None
    """`[{"status": {"previous_value": ..., "current_value": ...}}]`; any other shape is read as none."""

    def account_of(self) -> str | None:
        if self.account is not None:
            return str(self.account.id)
        if self.account_id is not None:
            return str(self.account_id)
        found = [m.account_id for m in self.messages or [] if m.account_id is not None]
        return str(found[0]) if found else None

    def new_status(self) -> str | None:
        """The status it changed to (`changed_attributes`: what the change was, even when the
        conversation changed again before the webhook was built), else its `status`."""
        return self._status_value("current_value") or self.status

    def old_status(self) -> str | None:
        """The status it changed from (`changed_attributes`), if the webhook says."""
        return self._status_value("previous_value")

    def _status_value(self, which: str) -> str | None:
        changes = self.changed_attributes if isinstance(self.changed_attributes, list) else []
        for change in changes:
            status = change.get("status") if isinstance(change, dict) else None
            if isinstance(status, dict) and isinstance(status.get(which), str):
                return str(status[which])
        return None


def _number(display_id: int | str | None, id_: int | str) -> int | str:
    """The conversation's number in its account (`display_id`: what Chatwoot's pages show, and what
    its API's conversation URLs take), from a webhook's conversation.

    Settled against Chatwoot's source (chatwoot/chatwoot): a webhook's conversation is
    `Conversation#webhook_data` (app/models/concerns/push_data_helper.rb), which is
    `Conversations::EventDataPresenter#push_data` (app/presenters/conversations/event_data_presenter.rb),
    whose `id` is `display_id`, not the table's id; `message_created` nests the same (`Message#
    webhook_data`, app/models/message.rb: `conversation: conversation.webhook_data`). The messages
    API, `/api/v1/accounts/{account_id}/conversations/{conversation_id}/messages`, finds the
    conversation by `Current.account.conversations.find_by!(display_id: params[:conversation_id])`
    (app/controllers/api/v1/accounts/conversations/base_controller.rb). So `id` is the number both
    ways; a payload that also names `display_id` (a fork whose `webhook_data` puts the table's id in
    `id`) is read by that, never by its `id`."""
    return display_id if display_id is not None and str(display_id) != "" else id_


def agent_name(sender: Mapping[str, Any] | _Party | None) -> str | None:
    """The `agent_id` of a Chatwoot user: their name in Chatwoot (else `chatwoot user {id}`)."""
    party = sender if isinstance(sender, _Party) or sender is None else _Party.model_validate(sender)
    if party is None:
        return None
    name = (party.name or "").strip()
    return (name or f"{NAME} user {party.id}")[:100]


def _time(value: str | int | float | None, now: datetime) -> datetime:
    """Chatwoot's `created_at`: ISO 8601, "2020-03-03 13:05:57 UTC", or Unix seconds."""
    try:
        if isinstance(value, int | float):
            parsed = datetime.fromtimestamp(value, UTC)
        elif isinstance(value, str) and value.strip():
            text = value.strip().removesuffix(" UTC").replace("Z", "+00:00")
            parsed = datetime.fromisoformat(text)
        else:
            return now
        return check_time(parsed)
    except (ValueError, OverflowError, OSError):
        return now


def retry_after(value: str | None, now: datetime) -> float | None:
    """The seconds a `Retry-After` header asks to wait (delta-seconds, or an HTTP date: 0 when it has
    passed), at most `MAX_RETRY_AFTER_S`; None without one, or with one that is neither."""
    text = (value or "").strip()
    if not text:
        return None
    if is_digits(text):
        return float(min(int(text[:12]), MAX_RETRY_AFTER_S))
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return min(max(0.0, (when - now).total_seconds()), float(MAX_RETRY_AFTER_S))


def _reply_to(attributes: Mapping[str, Any]) -> str | None:
    """The id of the message a reply answers (Chatwoot's "reply to": `content_attributes.in_reply_to`)."""
    quoted = attributes.get("in_reply_to")
    if not isinstance(quoted, int | str) or isinstance(quoted, bool):
        return None
    try:  # an id that is no storable text (a NUL byte: a 500 on PostgreSQL) is read as none
        return check_text(str(quoted))[:200]
    except ValueError:
        return None


class ChatwootHelpDesk:
    """One Chatwoot account, as `[chatwoot]` describes it."""

    name = NAME

    def __init__(self, settings: ChatwootSettings, transport: httpx.BaseTransport | None = None) -> None:
        self.settings = settings
        self._transport = transport
        self._client: httpx.Client | None = None
        self._lock = threading.Lock()

    @property
    def client(self) -> httpx.Client:
        """The HTTP client of Chatwoot's API, made on the first note posted: making one loads the
        system's certificate authorities (tens of milliseconds), which a service that never posts
        to Chatwoot, and every app start, need not pay."""
        with self._lock:
            if self._client is None:
                self._client = httpx.Client(
                    base_url=self.settings.base_url.rstrip("/"),
                    timeout=self.settings.timeout_seconds,
                    transport=self._transport,
                    headers={"api_access_token": self.settings.api_token.get_secret_value()},
                )
            return self._client

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    @property
    def unable_to_post(self) -> str | None:
        s = self.settings
        if not s.post_notes:
            return "notes are turned off ([chatwoot] post_notes = false)"
        missing = [
            k for k, v in (("base_url", s.base_url), ("api_token", s.api_token.get_secret_value())) if not v
        ]
        return f"[chatwoot] {' and '.join(missing)} not set" if missing else None

    # -- in -----------------------------------------------------------------------------------------
    def verify(self, headers: Mapping[str, str], body: bytes, now: float) -> None:
        secret = self.settings.webhook_secret.get_secret_value()
        if not secret:
            raise WebhookRefused(
                "the Chatwoot webhook is not configured: set [chatwoot] webhook_secret (or "
                "SUPPORTCUE_CHATWOOT__WEBHOOK_SECRET) to the webhook's secret in Chatwoot"
            )
        lower = {k.lower(): v for k, v in headers.items()}
        timestamp, signed = lower.get("x-chatwoot-timestamp", ""), lower.get("x-chatwoot-signature", "")
        if not timestamp or not signed:
            raise WebhookRefused(
                "the webhook is not signed: X-Chatwoot-Signature or X-Chatwoot-Timestamp is missing "
                f"(Chatwoot signs its webhooks from {SIGNED_SINCE} on: upgrade it and run its database "
                "migrations)"
            )
        if not is_digits(timestamp) or len(timestamp) > 12:
            raise WebhookRefused("X-Chatwoot-Timestamp must be Unix seconds")
        skew = abs(now - int(timestamp))
        if skew > MAX_SKEW_S:
            raise WebhookRefused(
                f"the webhook's timestamp is {skew:.0f} s from the server's clock (the limit is "
                f"{MAX_SKEW_S} s): a replay, or a clock to set right"
            )
        if not same_secret(signature(secret, timestamp, body), signed):
            raise WebhookRefused("the webhook's signature does not match (another secret, or a changed body)")

    def read(self, payload: Any) -> Inbound | Resolved | Reopened | Ignored:
        """Raises pydantic's `ValidationError` for a `message_created` (or a conversation's status
        change) that lacks what it needs."""
        if not isinstance(payload, dict):
            raise ValueError("the webhook's body must be a JSON object")
        event = payload.get("event")
        if event in RESOLUTION_EVENTS:
            return self._status_change(payload)
        if event != "message_created":
            return Ignored(
                f"event {str(event)[:40]!r} is not read (only message_created and "
                "conversation_status_changed)"
            )
        m = MessageCreated.model_validate(payload)
        account = self.settings.account_id or m.account.id
        if str(m.account.id) != str(account):
            return Ignored(
                f"account {str(m.account.id)[:20]} is not the configured account {account} "
                "([chatwoot] account_id)",
                outcome="other_account",
            )
        kind = _TYPES.get(m.message_type, "?") if isinstance(m.message_type, int) else m.message_type
        sender = m.sender.type if m.sender else None
        if m.private:
            return Ignored("a private note (agents' internal notes and supportcue's own are not replies)")
        attributes = m.content_attributes if isinstance(m.content_attributes, dict) else {}
        if attributes.get("deleted"):
            return Ignored("the message was deleted in Chatwoot (its text is Chatwoot's placeholder)")
        if not (m.content or "").strip():
            return Ignored("the message has no text")
        if attributes.get("is_reaction"):  # WhatsApp's, Instagram's: its content is the emoji
            return Ignored("a reaction to a message (an emoji on it), not a message")
        extra = m.additional_attributes if isinstance(m.additional_attributes, dict) else {}
        if kind == "incoming" and sender in (None, "contact"):
            role = MessageRole.CUSTOMER
        elif kind == "outgoing" and (extra.get("campaign_id") or attributes.get("automation_rule_id")):
            # sent as a user (a campaign's sender), yet no reply: Chatwoot's own first-reply time
            # leaves these out the same way (`Message#valid_first_reply?`, `human_response?`)
            why = "a campaign's message" if extra.get("campaign_id") else "an automation rule's message"
            return Ignored(f"{why}: not an agent's reply")
        elif kind == "outgoing" and sender == "user":
            role = MessageRole.AGENT
        elif kind == "outgoing" and sender in BOT_TYPES:
            role = MessageRole.BOT  # what the customer was told: context, never a reply
        else:
            return Ignored(
                f"message_type {kind} from a {sender or 'system'} sender: neither a customer's message "
                "nor an agent's reply"
            )
        # the customer talks to the bot: no agent to suggest a reply to, yet what they say is the
        # context of the first suggestion once an agent takes it over (status open)
        bot_phase = role == MessageRole.CUSTOMER and _bot_handles(m.conversation) is not None
        conversation = _number(m.conversation.display_id, m.conversation.id)
        meta = m.conversation.meta
        customer = m.sender if role == MessageRole.CUSTOMER else (meta.sender if meta else None)
        channel = (m.conversation.channel or "chat").removeprefix("Channel::").lower()[:30]
        return Inbound(
            help_desk=NAME,
            message_id=str(m.id)[:200],
            case_id=case_id_for(account, conversation)[:100],
            role=role,
            text=m.content or "",
            ts=_time(m.created_at, datetime.now(UTC)),
            target={"account_id": str(account), "conversation_id": str(conversation)},
            # cut to the case's column: refused, the customer's message would be lost (no redelivery)
            customer_name=(customer.name[:200] or None) if customer and customer.name else None,
            agent_id=agent_name(m.sender) if role != MessageRole.CUSTOMER else None,
            channel=channel or "chat",
            reply_to=_reply_to(attributes) if role == MessageRole.AGENT else None,
            context_only=bot_phase or role == MessageRole.BOT,
        )

    def _status_change(self, payload: dict[str, Any]) -> Resolved | Reopened | Ignored:
        c = ConversationChanged.model_validate(payload)
        status = "resolved" if c.event == "conversation_resolved" else c.new_status()
        if status not in ("resolved", "open"):
            return Ignored(
                f"the conversation's status became {str(status)[:20]!r}: only a resolution or a "
                "reopening is read"
            )
        account = self.settings.account_id or c.account_of() or ""
        if c.account_of() is not None and c.account_of() != str(account):
            return Ignored(
                f"account {str(c.account_of())[:20]} is not the configured account {account} "
                "([chatwoot] account_id)",
                outcome="other_account",
            )
        if not account:
            raise ValueError("the webhook names no account: set [chatwoot] account_id")
        number = _number(c.display_id, c.id)
        now = datetime.now(UTC)
        ts = _time(c.updated_at, now)
        if status == "open":
            customer = c.meta.sender if c.meta else None
            return Reopened(
                help_desk=NAME,
                case_id=case_id_for(account, number)[:100],
                ts=ts,
                target={"account_id": str(account), "conversation_id": str(number)},
                customer_name=(customer.name[:200] or None) if customer and customer.name else None,
                channel=(c.channel or "chat").removeprefix("Channel::").lower()[:30] or "chat",
                handover=c.old_status() == "pending",
            )
        assignee = c.meta.assignee if c.meta else None
        return Resolved(
            help_desk=NAME,
            case_id=case_id_for(account, number)[:100],
            resolution=f"{str(number)[:40]}:{ts.timestamp():.3f}",
            ts=ts,
            started_at=_time(c.created_at, now) if c.created_at is not None else None,
            agent_id=agent_name(assignee) if assignee is not None and assignee.type == "user" else None,
        )

    # -- out ----------------------------------------------------------------------------------------
    def _messages_url(self, target: Mapping[str, Any]) -> str:
        account = quote(str(target["account_id"]), safe="")
        conversation = quote(str(target["conversation_id"]), safe="")
        return f"/api/v1/accounts/{account}/conversations/{conversation}/messages"

    def _call(self, method: str, target: Mapping[str, Any], body: Any = None) -> Any:
        try:
            response = self.client.request(method, self._messages_url(target), json=body)
        except httpx.TimeoutException:
            raise HelpDeskError(
                f"timed out after {self.settings.timeout_seconds:g} s", retryable=True
            ) from None
        except httpx.HTTPError as exc:
            raise HelpDeskError(f"the request failed ({type(exc).__name__})", retryable=True) from None
        status = response.status_code
        if status >= 500 or status in (408, 409, 425, 429):
            wait = retry_after(response.headers.get("retry-after"), datetime.now(UTC))
            raise HelpDeskError(f"HTTP {status}", retryable=True, retry_after=wait)
        if status >= 400:
            hint = {401: ": api_token refused", 404: ": no such account or conversation"}.get(status, "")
            raise HelpDeskError(f"HTTP {status}{hint}", retryable=False)
        try:
            return response.json()
        except ValueError:
            raise HelpDeskError(f"HTTP {status} with a body that is not JSON", retryable=True) from None

    def post_note(self, note: Note) -> str:
        body = {"content": note.content, "message_type": "outgoing", "private": True}
        answer = self._call("POST", note.target, body)
        return str(answer.get("id", "")) if isinstance(answer, dict) else ""

    def find_note(self, note: Note) -> str | None:
        answer = self._call("GET", note.target)
        messages = answer.get("payload", []) if isinstance(answer, dict) else answer
        for m in messages if isinstance(messages, list) else []:
            if isinstance(m, dict) and m.get("private") and note.ref in str(m.get("content") or ""):
                return str(m.get("id", ""))
        return None
