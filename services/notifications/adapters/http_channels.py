"""HTTP channels: signed webhooks, a Slack-compatible chat incoming webhook, and a generic SMS
provider. Thin: build the request, POST it with a timeout, and say whether a failure is worth
another try. The standard library's urllib is enough for one POST; no client dependency.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass

from ..domain import signing


class HttpFailure(Exception):
    def __init__(self, url: str, status: int, body: str = ""):
        super().__init__(f"HTTP {status} from {url}: {body[:200]}")
        self.status = status


def is_transient(exc: BaseException) -> bool:
    """Worth another try: 5xx, 429 and 408 answers, timeouts and network errors. Other 4xx
    answers (bad URL, refused signature, unknown number) will not change by retrying."""
    if isinstance(exc, HttpFailure):
        return exc.status >= 500 or exc.status in (408, 429)
    return isinstance(exc, (urllib.error.URLError, OSError, TimeoutError))


def post(url: str, body: bytes, headers: dict[str, str], timeout_s: float) -> int:
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return response.status
    except urllib.error.HTTPError as exc:  # a non-2xx answer: keep its status for is_transient
        detail = exc.read().decode("utf-8", "replace") if exc.fp else ""
        raise HttpFailure(url, exc.code, detail) from None


@dataclass(frozen=True)
class HttpChannels:
    timeout_s: float = 10.0
    user_agent: str = "Haq-Notifications/1"

    def _headers(self, delivery_id: str, content_type: str = "application/json") -> dict[str, str]:
        return {
            "Content-Type": content_type,
            "User-Agent": self.user_agent,
            # Receivers can drop a repeat: the id is the same on every attempt of one delivery.
            "Haq-Delivery-Id": delivery_id,
            "Idempotency-Key": delivery_id,
        }

    def webhook(self, url: str, secret: str, body: bytes, *, delivery_id: str, event_type: str) -> None:
        headers = self._headers(delivery_id)
        headers[signing.HEADER] = signing.sign(secret, body)  # signed per attempt: a fresh timestamp
        headers["Haq-Event-Type"] = event_type
        post(url, body, headers, self.timeout_s)

    def chat(self, url: str, text: str, *, delivery_id: str) -> None:
        body = json.dumps({"text": text}, ensure_ascii=False).encode("utf-8")
        post(url, body, self._headers(delivery_id), self.timeout_s)

    def sms(self, url: str, token: str, to: str, text: str, *, delivery_id: str, reference: str) -> None:
        body = json.dumps(
            {"to": to, "text": text, "message_id": delivery_id, "reference": reference}, ensure_ascii=False
        ).encode("utf-8")
        headers = self._headers(delivery_id)
        if token:
            headers["Authorization"] = f"Bearer {token}"
        post(url, body, headers, self.timeout_s)
