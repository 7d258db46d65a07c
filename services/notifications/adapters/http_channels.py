"""HTTP channels: signed webhooks, a Slack-compatible chat incoming webhook, and a generic SMS
provider. Thin: build the request, POST it with a timeout, and say whether a failure is worth
another try. The standard library's urllib is enough for one POST; no client dependency.

Safety rules (tenants configure these URLs, so they are untrusted input):

- URL policy (`check_url`), applied when the tenant file is loaded (`TenantBook.load`) and again
  before every send: `https` only; no user:password@ in the URL; no other scheme (file:, gopher:,
  ftp:, ...); never a link-local or cloud-metadata host (169.254.0.0/16 such as 169.254.169.254,
  fe80::/10, fd00:ec2::254, metadata.google.internal), 0.0.0.0/8, ::, multicast or broadcast,
  also when written as a decimal/hex/octal IPv4 or an IPv4-mapped IPv6 address. Before a send the
  host's resolved addresses are checked too, so a DNS name pointing at a metadata address is
  refused (a resolver that changes its answer between that check and the connection is not
  covered). Private ranges (10/8, 192.168/16, ...) are allowed: on-premises receivers use them.
- Plain `http` is accepted only to a loopback host (127.0.0.0/8, ::1, localhost) and only while
  `allow_http_loopback` is true. It is true by default (`ALLOW_HTTP_LOOPBACK`) because local
  development and the integration tests run their receivers on http://127.0.0.1; a deployment
  that wants https everywhere passes `allow_http_loopback=False` to `HttpChannels` and
  `TenantBook.load`.
- Redirects are never followed: a 3xx answer is a failed delivery ("redirects are not followed"),
  permanent, so a provider cannot bounce the SMS `Authorization` header or a signed body elsewhere.
- Error text kept from a provider's answer is bounded: status, scheme://host[:port] (never the
  path or query, which for chat webhooks is the secret), and at most 200 characters of the body
  with control characters removed; at most 4 KiB of the body is read.
"""

from __future__ import annotations

import ipaddress
import json
import re
import socket
import unicodedata
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from ..domain import signing

ALLOW_HTTP_LOOPBACK = True  # the default; see the module docstring
MAX_ERROR_BODY_CHARS = 200
MAX_ERROR_BODY_READ = 4096
_METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata.goog", "metadata"})
_METADATA_ADDRESSES = frozenset({ipaddress.ip_address("fd00:ec2::254")})
_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")
_LOOPBACK_NAMES = frozenset({"localhost", "localhost."})


class UrlRefused(ValueError):
    """A URL the policy does not allow; never worth another try."""


class HttpFailure(Exception):
    def __init__(self, url: str, status: int, body: str = "", reason: str = ""):
        detail = reason or bounded(body)
        super().__init__(f"HTTP {status} from {origin(url)}" + (f": {detail}" if detail else ""))
        self.status = status


def origin(url: str) -> str:
    """scheme://host[:port] of a URL, for messages: the path and query may carry a secret."""
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<unparsable URL>"
    host = f"[{host}]" if ":" in host else host
    return bounded(f"{parts.scheme}://{host}{port}", 100)


def bounded(text: str, limit: int = MAX_ERROR_BODY_CHARS) -> str:
    """`text` on one line, control and format characters removed, at most `limit` characters."""
    text = re.sub(r"\s+", " ", text[: limit * 4])
    text = "".join(ch for ch in text if not unicodedata.category(ch).startswith("C")).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address a host names literally, including the forms inet_aton accepts (2852039166,
    0xa9fea9fe, 0251.0376.0251.0376, 169.254.43518) and IPv4-mapped IPv6; None for a DNS name."""
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        try:
            address = ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _forbidden_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    if address.is_link_local or address in _METADATA_ADDRESSES:
        return "is a link-local/metadata address"
    if address.is_unspecified or (address.version == 4 and address in _THIS_NETWORK):
        return "is an unspecified address (0.0.0.0/8, ::)"
    if address.is_multicast or address == ipaddress.IPv4Address("255.255.255.255"):
        return "is a multicast/broadcast address"
    return ""


def _is_loopback(host: str) -> bool:
    address = _ip(host)
    return address.is_loopback if address is not None else host.lower() in _LOOPBACK_NAMES


def check_url(url: str, *, allow_http_loopback: bool = ALLOW_HTTP_LOOPBACK, resolve: bool = False) -> None:
    """Raise UrlRefused (with the reason) unless `url` may receive a POST; see the module
    docstring. `resolve` also checks every address the host resolves to (before a send)."""
    if not url:
        raise UrlRefused("no URL is configured")
    if any(ch.isspace() or unicodedata.category(ch).startswith("C") for ch in url):
        raise UrlRefused("the URL contains whitespace or control characters")
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 -- raises ValueError on a bad port
    except ValueError as exc:
        raise UrlRefused(f"the URL does not parse: {bounded(str(exc), 80)}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        raise UrlRefused(f"scheme {bounded(scheme, 20)!r} is not allowed: https only")
    if "@" in parts.netloc:
        raise UrlRefused("credentials in the URL (user:password@host) are not allowed")
    host = parts.hostname or ""
    if not host:
        raise UrlRefused("the URL has no host")
    if host.lower().rstrip(".") in _METADATA_HOSTS:
        raise UrlRefused(f"host {bounded(host, 80)!r} is a cloud metadata service")
    address = _ip(host)
    if address is not None and (problem := _forbidden_address(address)):
        raise UrlRefused(f"host {bounded(host, 80)!r} {problem}")
    if scheme == "http":
        if not _is_loopback(host):
            raise UrlRefused("plain http is allowed only to a loopback host (local development): use https")
        if not allow_http_loopback:
            raise UrlRefused("plain http is not allowed here (https only, also to loopback)")
    if resolve and address is None:
        try:
            infos = socket.getaddrinfo(host, parts.port or 443, type=socket.SOCK_STREAM)
        except UnicodeError:
            raise UrlRefused(f"host {bounded(host, 80)!r} is not a valid name") from None
        for info in infos:
            resolved = _ip(str(info[4][0]))
            if resolved is not None and (problem := _forbidden_address(resolved)):
                raise UrlRefused(f"host {bounded(host, 80)!r} resolves to {resolved}, which {problem}")


def is_transient(exc: BaseException) -> bool:
    """Worth another try: 5xx, 429 and 408 answers, timeouts and network errors. Other 4xx
    answers (bad URL, refused signature, unknown number), 3xx (redirects are not followed) and
    URLs the policy refuses will not change by retrying."""
    if isinstance(exc, HttpFailure):
        return exc.status >= 500 or exc.status in (408, 429)
    if isinstance(exc, UrlRefused):
        return False
    return isinstance(exc, (urllib.error.URLError, OSError, TimeoutError))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Refuse every redirect: urllib then raises HTTPError with the 3xx status."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def post(
    url: str,
    body: bytes,
    headers: dict[str, str],
    timeout_s: float,
    *,
    allow_http_loopback: bool = ALLOW_HTTP_LOOPBACK,
    answer: list[bytes] | None = None,
) -> int:
    """POST; `answer`, when given, receives at most 4 KiB of a 2xx answer's body."""
    check_url(url, allow_http_loopback=allow_http_loopback, resolve=True)
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with _OPENER.open(request, timeout=timeout_s) as response:
            if answer is not None:
                answer.append(response.read(MAX_ERROR_BODY_READ))
            return response.status
    except urllib.error.HTTPError as exc:  # a non-2xx answer: keep its status for is_transient
        try:
            if 300 <= exc.code < 400:
                raise HttpFailure(url, exc.code, reason="redirects are not followed") from None
            raw = exc.read(MAX_ERROR_BODY_READ) if exc.fp else b""
        finally:
            exc.close()
        raise HttpFailure(url, exc.code, raw.decode("utf-8", "replace")) from None


@dataclass(frozen=True)
class HttpChannels:
    timeout_s: float = 10.0
    user_agent: str = "Haq-Notifications/1"
    allow_http_loopback: bool = ALLOW_HTTP_LOOPBACK

    def _headers(self, delivery_id: str, content_type: str = "application/json") -> dict[str, str]:
        return {
            "Content-Type": content_type,
            "User-Agent": self.user_agent,
            # Receivers can drop a repeat: the id is the same on every attempt of one delivery.
            "Haq-Delivery-Id": delivery_id,
            "Idempotency-Key": delivery_id,
        }

    def _post(self, url: str, body: bytes, headers: dict[str, str]) -> None:
        post(url, body, headers, self.timeout_s, allow_http_loopback=self.allow_http_loopback)

    def webhook(self, url: str, secret: str, body: bytes, *, delivery_id: str, event_type: str) -> None:
        headers = self._headers(delivery_id)
        headers[signing.HEADER] = signing.sign(secret, body)  # signed per attempt: a fresh timestamp
        headers["Haq-Event-Type"] = event_type
        self._post(url, body, headers)

    def chat(self, url: str, text: str, *, delivery_id: str) -> None:
        body = json.dumps({"text": text}, ensure_ascii=False).encode("utf-8")
        self._post(url, body, self._headers(delivery_id))

    def chat_reply(
        self, url: str, payload: dict[str, object], *, token: str, secret: str, delivery_id: str
    ) -> None:
        """A customer reply on their chat thread (domain/chat_reply.py builds the payload):
        a Bearer token (Slack's bot token for chat.postMessage) and/or a Haq-Signature like
        webhooks. Slack answers 200 with {"ok": false, "error"} on a refusal: a failure too."""
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        headers = self._headers(delivery_id)
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if secret:
            headers[signing.HEADER] = signing.sign(secret, body)
        answer: list[bytes] = []
        post(url, body, headers, self.timeout_s, allow_http_loopback=self.allow_http_loopback, answer=answer)
        try:
            parsed = json.loads(answer[0]) if answer and answer[0].strip() else None
        except ValueError:
            parsed = None
        if isinstance(parsed, dict) and parsed.get("ok") is False:
            error = bounded(str(parsed.get("error", "")), 80)
            status = 429 if error == "ratelimited" else 400  # a rate limit is worth another try
            raise HttpFailure(url, status, reason=f"the chat provider refused: {error}")

    def sms(self, url: str, token: str, to: str, text: str, *, delivery_id: str, reference: str) -> None:
        body = json.dumps(
            {"to": to, "text": text, "message_id": delivery_id, "reference": reference}, ensure_ascii=False
        ).encode("utf-8")
        headers = self._headers(delivery_id)
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._post(url, body, headers)
