"""The HTTP channels against real local HTTP servers: redirects are never followed (so the SMS
provider's Authorization header never reaches the redirect target), an unsafe URL is refused
before any connection, and a provider's huge error body leaves only a bounded, one-line error in
the delivery log (and the case file that shows it)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from kafka import KafkaProducer

from services.common.settings import Settings
from services.notifications.adapters.http_channels import (
    HttpChannels,
    HttpFailure,
    UrlRefused,
    is_transient,
)
from services.notifications.service_layer.shared import describe
from tests.integration.test_notifications_channels import SECRET, service_env
from tests.integration.test_notifications_service import (
    complaint_received,
    list_deliveries,
    produce,
    wait_for,
)

pytestmark = pytest.mark.integration

HUGE = b"\x1b[31mboom\r\nX-Injected: yes\x00\x07" + b"A" * (1024 * 1024)


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Server:
    """A local HTTP server; `reply(path)` gives (status, headers, body) for a POST to `path`."""

    reply: Callable[[str], tuple[int, dict[str, str], bytes]]
    seen: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> Server:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length", "0") or 0)
                body = self.rfile.read(length) if length else b""
                with server.lock:
                    server.seen.append(Seen(self.path, dict(self.headers.items()), body))
                status, headers, answer = server.reply(self.path)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            do_POST = do_GET = _answer  # noqa: N815

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def at(self, path: str) -> list[Seen]:
        with self.lock:
            return [s for s in self.seen if s.path == path]


@pytest.fixture
def server_factory() -> Iterator[Callable[..., Server]]:
    started: list[Server] = []

    def start(reply: Callable[[str], tuple[int, dict[str, str], bytes]]) -> Server:
        s = Server(reply).start()
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_not_followed_and_the_sms_token_never_reaches_its_target(
    server_factory, status: int
) -> None:
    target = server_factory(lambda _path: (200, {}, b"ok"))

    def reply(path: str) -> tuple[int, dict[str, str], bytes]:
        if path == "/sms":
            return status, {"Location": holder[0].url("/elsewhere")}, b""
        return 200, {}, b"ok"

    holder: list[Server] = []
    provider = server_factory(reply)
    holder.append(provider)
    cross = server_factory(lambda _path: (status, {"Location": target.url("/stolen")}, b""))

    channels = HttpChannels(timeout_s=5)
    for url in (provider.url("/sms"), cross.url("/sms")):
        with pytest.raises(HttpFailure) as failed:
            channels.sms(url, "sms-secret-token", "+989121234567", "hi", delivery_id="d-1", reference="HQ-1")
        assert failed.value.status == status
        assert "redirects are not followed" in str(failed.value)
        assert not is_transient(failed.value)  # a failed delivery, not retried

    # The provider got the token once per send; nothing reached either redirect target.
    assert [s.headers.get("Authorization") for s in provider.at("/sms")] == ["Bearer sms-secret-token"]
    assert provider.at("/elsewhere") == []
    assert target.seen == []
    assert all("Authorization" not in s.headers for s in provider.seen + target.seen if s.path != "/sms")


def test_a_huge_error_body_leaves_a_bounded_one_line_error(server_factory) -> None:
    provider = server_factory(lambda _path: (500, {"Content-Type": "text/plain"}, HUGE))
    channels = HttpChannels(timeout_s=5)
    secret_path = "/services/T000/B000/chat-webhook-secret"
    with pytest.raises(HttpFailure) as failed:
        channels.chat(provider.url(secret_path), "hello", delivery_id="d-2")
    recorded = describe(failed.value)
    assert failed.value.status == 500 and is_transient(failed.value)
    assert recorded.startswith(
        f"HttpFailure: HTTP 500 from http://127.0.0.1:{provider.port}: [31mboom X-Injected: yesAAA"  # ESC, CR, LF, NUL, BEL gone
    )
    assert len(str(failed.value)) <= 300
    assert not any(ord(ch) < 32 or ord(ch) == 127 for ch in recorded)
    assert "chat-webhook-secret" not in recorded  # the URL's path (a chat webhook's secret) is not kept


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc/passwd", "scheme 'file' is not allowed"),
        ("gopher://127.0.0.1:70/_x", "scheme 'gopher' is not allowed"),
        ("http://169.254.169.254/latest/meta-data/", "link-local/metadata"),
        ("https://169.254.169.254/latest/meta-data/", "link-local/metadata"),
        ("http://2852039166/", "link-local/metadata"),  # 169.254.169.254 as one number
        ("https://[::ffff:169.254.169.254]/", "link-local/metadata"),
        ("http://0.0.0.0:8080/", "unspecified"),
        ("https://user:pw@hooks.example/x", "credentials in the URL"),
        ("http://hooks.example/x", "plain http is allowed only to a loopback host"),
    ],
)
def test_an_unsafe_url_is_refused_before_any_connection(server_factory, url: str, reason: str) -> None:
    channels = HttpChannels(timeout_s=5)
    with pytest.raises(UrlRefused, match=reason) as refused:
        channels.webhook(url, SECRET, b"{}", delivery_id="d-3", event_type="haq.v1.Resolved")
    assert not is_transient(refused.value)


def test_http_to_loopback_can_be_switched_off(server_factory) -> None:
    provider = server_factory(lambda _path: (200, {}, b"ok"))
    HttpChannels(timeout_s=5).chat(provider.url("/hook"), "hi", delivery_id="d-4")
    with pytest.raises(UrlRefused, match="https only"):
        HttpChannels(timeout_s=5, allow_http_loopback=False).chat(
            provider.url("/hook"), "hi", delivery_id="d-5"
        )
    assert len(provider.at("/hook")) == 1


def test_the_service_records_a_bounded_error_for_a_huge_provider_answer(
    settings: Settings, start_service, server_factory, tmp_path: Path
) -> None:
    provider = server_factory(lambda _path: (500, {}, HUGE))
    config = tmp_path / "tenants.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "tenants": {
                    "default": {
                        "webhooks": [
                            {
                                "id": "crm",
                                "url": provider.url("/hook"),
                                "secret": SECRET,
                                "events": ["ComplaintReceived"],
                            }
                        ]
                    }
                }
            }
        )
    )
    start_service("notifications", **service_env(config, HAQ_NOTIFY_MAX_ATTEMPTS="2"))
    envelope = complaint_received("en", f"sam-{uuid.uuid4().hex[:8]}@example.com")
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    try:
        produce(producer, envelope)
    finally:
        producer.close(timeout=5)

    def failed_webhook():
        hooks = [d for d in list_deliveries(settings, envelope.subject) if d.channel == "webhook"]
        return hooks if hooks and hooks[0].status == "failed" else None

    [hook] = wait_for(failed_webhook, "the webhook delivery to fail")  # type: ignore[misc]
    assert "HTTP 500" in hook.last_error and "boom" in hook.last_error
    assert len(hook.last_error) <= 500
    assert not any(ord(ch) < 32 for ch in hook.last_error)
    assert len(provider.at("/hook")) == 2


def test_a_tenant_file_with_an_unsafe_url_stops_the_service_at_start(
    settings: Settings, start_service, tmp_path: Path
) -> None:
    config = tmp_path / "tenants.yaml"
    config.write_text(
        yaml.safe_dump({"tenants": {"default": {"sms": {"url": "http://169.254.169.254/sms", "token": "t"}}}})
    )
    with pytest.raises(RuntimeError, match=r"sms url is refused: host '169.254.169.254' is a link-local"):
        start_service("notifications", **service_env(config))
