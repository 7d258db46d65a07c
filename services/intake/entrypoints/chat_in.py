"""POST /v1/chat/messages: the chat/social adapter contract (docs/channels.md).

Answers: 200 with the outcome JSON ({"kind": "complaint", "complaint_id", "reference"} or
"follow_up" or "ignored" with the reason; Slack's url_verification gets {"challenge"}), 400 with
{"error", "field"} for a payload intake cannot take, 401/403 without a valid token or Slack
signature while auth is on, 413 above 64 KiB, 503 when it could not be stored (the platform
retries). 200 is answered only after the complaint or follow-up is committed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from ..domain.chat_inbound import MAX_PAYLOAD_BYTES, ChatRejected

SLACK_SIGNATURE = "x-slack-signature"
SLACK_TIMESTAMP = "x-slack-request-timestamp"


def slack_signature_ok(
    secret: str, headers: Mapping[str, str], body: bytes, max_age_s: int, now: Callable[[], float] = time.time
) -> bool:
    """Slack's v0 request signature: HMAC-SHA256 of `v0:{timestamp}:{body}`, timestamp recent."""
    if not secret:
        return False
    stamp = headers.get(SLACK_TIMESTAMP, "")
    signature = headers.get(SLACK_SIGNATURE, "")
    if not stamp.isdigit() or len(stamp) > 12 or abs(now() - int(stamp)) > max_age_s:
        return False
    expected = (
        "v0=" + hmac.new(secret.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    )
    return hmac.compare_digest(expected, signature)


def parse_body(body: bytes) -> Any:
    if len(body) > MAX_PAYLOAD_BYTES:
        raise ChatRejected("payload", f"at most {MAX_PAYLOAD_BYTES} bytes")
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ChatRejected("payload", f"not JSON: {exc}") from exc
