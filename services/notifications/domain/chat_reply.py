"""Answers to a customer on the chat/social thread their complaint came in on (docs/channels.md,
"Chat and social"). Pure: the thread key intake stored, read back into where a reply goes, and
the JSON body the tenant's chat endpoint receives.

Thread keys (intake's `chat_inbound`): Slack `chat:slack:{team}:{channel}:{thread_ts}`, any other
network `chat:{network}:{thread id}`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

MAX_THREAD_KEY = 200  # intake's thread id (150) plus the network and the prefix
_PART = re.compile(r"[\w.\-]{1,150}")  # one id: no ':' (the key's separator)
_THREAD = re.compile(r"[\w.:\-]{1,150}")  # a generic thread id may itself contain ':'


@dataclass(frozen=True)
class ChatThread:
    network: str
    thread_id: str  # generic: the platform's thread id; Slack: "{team}:{channel}:{thread_ts}"
    channel: str = ""  # Slack only
    thread_ts: str = ""  # Slack only

    @property
    def is_slack(self) -> bool:
        return self.network == "slack"


def parse_thread(key: str) -> ChatThread | None:
    """The thread a key names, or None for anything else (no reply is then planned on chat)."""
    if not key or len(key) > MAX_THREAD_KEY or not key.startswith("chat:"):
        return None
    network, _, thread = key[len("chat:") :].partition(":")
    if not _PART.fullmatch(network) or not _THREAD.fullmatch(thread):
        return None
    if network != "slack":
        return ChatThread(network, thread)
    parts = thread.split(":")
    if len(parts) != 3 or not all(_PART.fullmatch(p) for p in parts):
        return None
    return ChatThread(network, thread, channel=parts[1], thread_ts=parts[2])


def slack_escape(text: str) -> str:
    """Slack reads &, < and > as markup; escaped, the customer sees the characters themselves."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def reply_body(thread: ChatThread, text: str, *, delivery_id: str, reference: str) -> dict[str, Any]:
    """What the chat endpoint receives: Slack's chat.postMessage shape for a Slack thread (plain
    text: mrkdwn off), else the generic shape a bridge maps back onto its network."""
    if thread.is_slack:
        return {
            "channel": thread.channel,
            "thread_ts": thread.thread_ts,
            "text": slack_escape(text),
            "mrkdwn": False,
        }
    return {
        "network": thread.network,
        "thread_id": thread.thread_id,
        "text": text,
        "message_id": delivery_id,
        "reference": reference,
    }
