"""A chat or social message posted to intake's webhook (docs/channels.md, "Chat and social"),
read into what intake does with it: a new complaint, a follow-up on the complaint its thread
belongs to, or nothing (a bot's message, an edit, our own reply). Pure: no HTTP, no database.

Two payload shapes are understood:
- generic: {"network", "thread_id", "message_id", "user": {"id", "name", "email"?, "phone"?},
  "text", "subject"?, "channel"?: "chat" | "social"};
- Slack Events API: {"type": "event_callback", "event_id", "team_id", "event": {"type": "message",
  "channel", "user", "text", "ts", "thread_ts"?}} (and its "url_verification" handshake).

A thread is `chat:{network}:{thread}`; the complaint's metadata carries it (`chat_thread`), so a
reply adapter can answer on the same thread.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from .draft import MAX_BODY, MAX_DISPLAY_NAME, MAX_SUBJECT, CustomerInput, Draft, Social
from .identity import MAX_EMAIL, MAX_HANDLE, MAX_NETWORK, MAX_PHONE

MAX_THREAD = 150  # a thread id (Slack: channel id and a timestamp)
MAX_MESSAGE_ID = 150
MAX_PAYLOAD_BYTES = 64 * 1024  # the whole JSON body the endpoint reads
_TOKEN = re.compile(r"[\w.:\-]{1,150}")  # ids: letters, digits, '.', ':', '_', '-'
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# Slack messages that are not a person writing: edits, deletions, joins, our own bot's posts.
_SLACK_IGNORED_SUBTYPES_PREFIX = ("message_", "channel_", "group_", "bot_")


class ChatRejected(ValueError):
    """A payload intake cannot take (answered 400 naming the field)."""

    def __init__(self, field: str, problem: str):
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


@dataclass(frozen=True)
class ChatMessage:
    network: str
    thread: str  # chat:{network}:{thread id}
    message_id: str
    user_id: str
    display_name: str
    email: str
    phone: str
    text: str
    subject: str
    channel: str  # chat | social

    @property
    def idempotency_key(self) -> str:
        raw = f"{self.network}\x1f{self.message_id}".encode()
        return "chat:" + hashlib.sha256(raw).hexdigest()


@dataclass(frozen=True)
class Handshake:
    challenge: str  # Slack's url_verification: answered with the challenge


@dataclass(frozen=True)
class ChatIgnored:
    reason: str


def _text(value: Any, field: str, limit: int, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ChatRejected(field, "must be a string")
    if len(value) > limit:
        raise ChatRejected(field, f"at most {limit} characters")
    if _UNSTORABLE.search(value):
        raise ChatRejected(field, "must not contain NUL characters or lone surrogates")
    if required and not value.strip():
        raise ChatRejected(field, "required")
    return value.strip()


def _token(value: Any, field: str, limit: int = MAX_THREAD) -> str:
    text = _text(value, field, limit, required=True)
    if not _TOKEN.fullmatch(text):
        raise ChatRejected(field, "letters, digits, '.', ':', '_' and '-' only")
    return text


def _object(value: Any, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ChatRejected(field, "must be a JSON object")
    return value


def read_payload(
    payload: Any, own_bot_ids: frozenset[str] = frozenset()
) -> ChatMessage | Handshake | ChatIgnored:
    body = _object(payload, "payload")
    kind = body.get("type")
    if kind == "url_verification":
        return Handshake(_text(body.get("challenge"), "challenge", 200, required=True))
    if kind == "event_callback":
        return _slack(body, own_bot_ids)
    if kind is not None:
        raise ChatRejected(
            "type", "expected url_verification or event_callback (Slack), or no type (generic)"
        )
    return _generic(body)


def _slack(body: dict[str, Any], own_bot_ids: frozenset[str]) -> ChatMessage | ChatIgnored:
    event = _object(body.get("event"), "event")
    if event.get("type") != "message":
        return ChatIgnored(f"Slack event {str(event.get('type'))[:40]!r} is not a message")
    subtype = str(event.get("subtype") or "")
    if event.get("bot_id") or subtype.startswith(_SLACK_IGNORED_SUBTYPES_PREFIX):
        return ChatIgnored(
            f"not a person writing (subtype {subtype[:40]!r}, bot {bool(event.get('bot_id'))})"
        )
    user = _token(event.get("user"), "event.user", MAX_HANDLE)
    if user in own_bot_ids:
        return ChatIgnored("our own bot")
    channel = _token(event.get("channel"), "event.channel", 40)
    ts = _token(event.get("ts"), "event.ts", 40)
    thread_ts = _token(event.get("thread_ts"), "event.thread_ts", 40) if event.get("thread_ts") else ts
    team = _token(body.get("team_id"), "team_id", 40) if body.get("team_id") else "slack"
    return ChatMessage(
        network="slack",
        thread=f"chat:slack:{team}:{channel}:{thread_ts}",
        message_id=_token(body.get("event_id"), "event_id", MAX_MESSAGE_ID) if body.get("event_id") else ts,
        user_id=user,
        display_name="",
        email="",
        phone="",
        text=_text(event.get("text"), "event.text", MAX_BODY, required=True),
        subject="",
        channel="chat",
    )


def _generic(body: dict[str, Any]) -> ChatMessage:
    network = _token(body.get("network"), "network", MAX_NETWORK).lower()
    user = _object(body.get("user"), "user")
    channel = _text(body.get("channel"), "channel", 10) or "chat"
    if channel not in ("chat", "social"):
        raise ChatRejected("channel", "must be chat or social")
    thread = _token(body.get("thread_id"), "thread_id")
    return ChatMessage(
        network=network,
        thread=f"chat:{network}:{thread}",
        message_id=_token(body.get("message_id"), "message_id", MAX_MESSAGE_ID),
        user_id=_token(user.get("id"), "user.id", MAX_HANDLE),
        display_name=_text(user.get("name"), "user.name", MAX_DISPLAY_NAME),
        email=_text(user.get("email"), "user.email", MAX_EMAIL),
        phone=_text(user.get("phone"), "user.phone", MAX_PHONE),
        text=_text(body.get("text"), "text", MAX_BODY, required=True),
        subject=_text(body.get("subject"), "subject", MAX_SUBJECT),
        channel=channel,
    )


def to_draft(message: ChatMessage, tenant: str) -> Draft:
    """The complaint a message that starts a thread makes; the sender is a social handle on the
    network (plus an email or phone the platform shared), so the customer is recognised."""
    first_line = message.text.splitlines()[0] if message.text else ""
    return Draft(
        tenant=tenant,
        channel=message.channel,
        customer=CustomerInput(
            email=message.email,
            phone=message.phone,
            social=[Social(message.network, message.user_id)],
            display_name=message.display_name,
        ),
        subject=message.subject or first_line[:MAX_SUBJECT],
        body=message.text,
        metadata={"chat_thread": message.thread, "chat_network": message.network},
        idempotency_key=message.idempotency_key,
    )
