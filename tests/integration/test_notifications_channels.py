"""Notifications as a real process, delivering to a real SMTP server and real local HTTP receivers:
signed webhooks that verify (and a tampered body that does not), retries until a flaky receiver
answers 200, SMS through the generic provider adapter, and no duplicate to any recipient after the
service is killed with SIGKILL mid-batch."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import grpc
import pytest
import yaml
from aiosmtpd.controller import Controller
from kafka import KafkaProducer

from services.common.broker import free_port
from services.common.pb.haq.v1 import complaint_pb2, notifications_pb2, notifications_pb2_grpc
from services.common.settings import Settings
from services.notifications.domain import signing
from tests.integration.test_notifications_service import (
    Mailbox,
    complaint_received,
    list_deliveries,
    produce,
    wait_for,
)

pytestmark = pytest.mark.integration

SECRET = "whsec-test-0123456789"


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int


@dataclass
class Receiver:
    """A local HTTP server; `answer(path, n)` gives the status for the n-th request (1-based) to a path."""

    answer: Callable[[str, int], int] = lambda _path, _n: 200
    delay_s: float = 0.0
    requests: list[Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if receiver.delay_s:
                    time.sleep(receiver.delay_s)  # a slow receiver, so a kill lands mid-batch
                with receiver.lock:
                    n = 1 + sum(1 for r in receiver.requests if r.path == self.path)
                    status = receiver.answer(self.path, n)
                    receiver.requests.append(Request(self.path, dict(self.headers.items()), body, status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def at(self, path: str) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if r.path == path]


@pytest.fixture
def mailbox_factory(settings: Settings) -> Iterator[Callable[..., Mailbox]]:
    """A real SMTP server (aiosmtpd) on the settings' SMTP port."""
    controllers: list[Controller] = []

    def start() -> Mailbox:
        box = Mailbox()
        controller = Controller(box, hostname=settings.smtp_host, port=settings.smtp_port)
        controller.start()
        controllers.append(controller)
        return box

    yield start
    for controller in controllers:
        controller.stop()


@pytest.fixture
def producer(settings: Settings) -> Iterator[KafkaProducer]:
    p = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    yield p
    p.close(timeout=5)


@pytest.fixture
def receiver_factory() -> Iterator[Callable[..., Receiver]]:
    started: list[Receiver] = []

    def start(**kw) -> Receiver:
        r = Receiver(**kw).start()
        started.append(r)
        return r

    yield start
    for r in started:
        r.stop()


def write_config(tmp_path: Path, receiver: Receiver, events: list[str]) -> Path:
    config = {
        "tenants": {
            "default": {
                "webhooks": [{"id": "crm", "url": receiver.url("/hook"), "secret": SECRET, "events": events}],
                "sms": {"url": receiver.url("/sms"), "token": "sms-token"},
            }
        }
    }
    path = tmp_path / "tenants.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def service_env(config: Path, **extra: str) -> dict[str, str]:
    return {
        "HAQ_NOTIFY_CONFIG_FILE": str(config),
        "HAQ_NOTIFY_RETRY_BASE_S": "0.05",
        "HAQ_NOTIFY_RETRY_CAP_S": "0.5",
        "HAQ_NOTIFY_HTTP_TIMEOUT_S": "3",
        "HAQ_NOTIFY_DISPATCH_POLL_S": "0.1",
        # Unreachable routing must not slow these tests: customer messages need no directory.
        "HAQ_ROUTING_GRPC_TARGET": f"127.0.0.1:{free_port()}",
        **extra,
    }


def test_signed_webhook_verifies_and_a_flaky_receiver_gets_exactly_one_delivery(
    settings: Settings, start_service, mailbox_factory, producer, receiver_factory, tmp_path: Path
):
    mailbox = mailbox_factory()
    receiver = receiver_factory(answer=lambda path, n: 500 if path == "/hook" and n <= 2 else 200)
    start_service("notifications", **service_env(write_config(tmp_path, receiver, ["ComplaintReceived"])))
    address = f"leyla-{uuid.uuid4().hex[:8]}@example.com"
    envelope = complaint_received("fa", address)
    produce(producer, envelope)

    wait_for(lambda: [r for r in receiver.at("/hook") if r.answered == 200], "the webhook's 200")
    wait_for(lambda: mailbox.to(address), "the acknowledgement")
    hooks = receiver.at("/hook")
    assert [r.answered for r in hooks] == [500, 500, 200]  # exactly one successful delivery
    assert len({r.headers["Haq-Delivery-Id"] for r in hooks}) == 1  # one delivery, three attempts

    for r in hooks:  # every attempt is signed afresh, and verifies with the documented scheme
        assert signing.verify(SECRET, r.body, r.headers["Haq-Signature"]) > 0
    ok = hooks[-1]
    payload = json.loads(ok.body)
    assert payload["type"] == "haq.v1.ComplaintReceived"
    assert payload["complaint"]["id"] == envelope.subject
    assert ok.headers["Haq-Event-Type"] == "haq.v1.ComplaintReceived"
    tampered = ok.body.replace(envelope.subject.encode(), b"c-someone-else")
    with pytest.raises(signing.SignatureError, match="does not match"):
        signing.verify(SECRET, tampered, ok.headers["Haq-Signature"])
    with pytest.raises(signing.SignatureError):
        signing.verify("wrong-secret", ok.body, ok.headers["Haq-Signature"])
    with pytest.raises(signing.SignatureError, match="replay window"):
        signing.verify(SECRET, ok.body, ok.headers["Haq-Signature"], now=time.time() + 3600)

    # The acknowledgement went by email, in Persian.
    [mail] = mailbox.to(address)
    assert mail["Content-Language"] == "fa"
    assert "شماره پیگیری" in mail.get_body(("plain",)).get_content()

    deliveries = {d.channel: d for d in list_deliveries(settings, envelope.subject)}
    assert (deliveries["webhook"].status, deliveries["webhook"].attempts) == ("sent", 3)
    assert deliveries["webhook"].audience == "integration"
    assert (deliveries["email"].status, deliveries["email"].audience) == ("sent", "customer")


def test_sms_provider_gets_the_reply_and_a_dead_letter_can_be_retried_once(
    settings: Settings, start_service, mailbox_factory, producer, receiver_factory, tmp_path: Path
):
    mailbox_factory()
    refuse_hook = {"on": True}
    receiver = receiver_factory(
        answer=lambda path, n: 410 if path == "/hook" and refuse_hook["on"] else 200,
    )
    start_service("notifications", **service_env(write_config(tmp_path, receiver, ["ComplaintReceived"])))
    envelope = complaint_received("en", "")
    envelope.message.complaint.customer.phone = "+989121234567"
    envelope.message.complaint.channel = complaint_pb2.CHANNEL_PHONE
    produce(producer, envelope)

    [sms] = wait_for(lambda: receiver.at("/sms"), "the SMS")
    body = json.loads(sms.body)
    assert body["to"] == "+989121234567"
    assert envelope.message.complaint.reference in body["text"]
    assert sms.headers["Authorization"] == "Bearer sms-token"

    # 410 is permanent: no retry, failed and dead-lettered at once.
    failed = wait_for(
        lambda: [
            d
            for d in list_deliveries(settings, envelope.subject)
            if d.channel == "webhook" and d.status == "failed"
        ],
        "the refused webhook to fail",
    )[0]
    assert failed.dead_lettered and failed.attempts == 1 and "410" in failed.last_error
    refuse_hook["on"] = False
    with grpc.insecure_channel(settings.grpc_target("notifications")) as channel:
        stub = notifications_pb2_grpc.NotificationAdminStub(channel)
        retried = stub.RetryDelivery(
            notifications_pb2.RetryDeliveryRequest(notification_id=failed.notification_id), timeout=5
        ).delivery
        assert (retried.status, retried.manual_retries) == ("pending", 1)
        wait_for(
            lambda: [
                d
                for d in list_deliveries(settings, envelope.subject)
                if d.channel == "webhook" and d.status == "sent"
            ],
            "the retried webhook",
        )
        with pytest.raises(grpc.RpcError) as err:
            stub.RetryDelivery(
                notifications_pb2.RetryDeliveryRequest(notification_id=failed.notification_id), timeout=5
            )
        assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert [r.answered for r in receiver.at("/hook")] == [410, 200]


def test_sigkill_mid_batch_then_restart_sends_no_duplicate(
    settings: Settings, start_service, mailbox_factory, producer, receiver_factory, tmp_path: Path
):
    mailbox = mailbox_factory()
    receiver = receiver_factory(delay_s=0.03)  # slow enough that the kill lands while sending
    env = service_env(write_config(tmp_path, receiver, ["ComplaintReceived"]), HAQ_NOTIFY_SENDING_STALE_S="5")
    service = start_service("notifications", **env)
    tag = uuid.uuid4().hex[:6]
    envelopes = [complaint_received("fa" if i % 2 else "en", f"c{i}-{tag}@example.com") for i in range(60)]
    for envelope in envelopes:
        produce(producer, envelope)

    wait_for(lambda: len(receiver.at("/hook")) >= 10, "the batch to be under way", timeout=90)
    service.kill()
    assert len(receiver.at("/hook")) < len(envelopes), "the kill came too late to be mid-batch"
    start_service("notifications", **env)

    def settled() -> bool:
        for envelope in envelopes:
            deliveries = list_deliveries(settings, envelope.subject)
            if len(deliveries) != 2 or any(d.status not in ("sent", "failed") for d in deliveries):
                return False
        return True

    wait_for(settled, "every delivery to settle after the restart", timeout=120)

    per_email = Counter(m["To"] for m in mailbox.messages)
    per_hook = Counter(r.headers["Haq-Delivery-Id"] for r in receiver.at("/hook"))
    assert max(per_email.values()) == 1, per_email.most_common(3)
    assert max(per_hook.values()) == 1, per_hook.most_common(3)
    # Everything not delivered was interrupted mid-send and is failed (visible, retryable), never resent.
    for envelope in envelopes:
        for d in list_deliveries(settings, envelope.subject):
            if d.status == "failed":
                assert "outcome is unknown" in d.last_error
    sent = sum(d.status == "sent" for e in envelopes for d in list_deliveries(settings, e.subject))
    # Every "sent" reached its receiver; a message received just before the kill but not yet
    # recorded is the one case counted as failed (outcome unknown) rather than sent.
    assert sent <= len(per_email) + len(per_hook)
    assert sent >= 2 * len(envelopes) - 2  # one sender thread: at most one send in flight at the kill
