"""Notifications as a real process on the real broker, sending to a real SMTP server (aiosmtpd)
running in the test process: acknowledgement in the customer's language, once, with retries."""

from __future__ import annotations

import email
import email.policy
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from email.message import EmailMessage

import grpc
import pytest
from aiosmtpd.controller import Controller
from kafka import KafkaProducer
from prometheus_client.parser import text_string_to_metric_families

from services.common import topics
from services.common.codec import Envelope, encode, new_event
from services.common.pb.haq.v1 import complaint_pb2, events_pb2, notifications_pb2, notifications_pb2_grpc
from services.common.settings import Settings
from services.common.tail import collect
from services.notifications.domain.templates import FSI, PDI

pytestmark = pytest.mark.integration


class Mailbox:
    """aiosmtpd handler: keeps every accepted message; `refuse` decides per recipient address and
    attempt number (1-based) whether to answer RCPT with an error reply instead."""

    def __init__(self, refuse: Callable[[str, int], str | None] | None = None):
        self.refuse = refuse
        self.messages: list[EmailMessage] = []
        self.rcpt_attempts: dict[str, int] = {}
        self._lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        with self._lock:
            self.rcpt_attempts[address] = self.rcpt_attempts.get(address, 0) + 1
            attempt = self.rcpt_attempts[address]
        reply = self.refuse(address, attempt) if self.refuse else None
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.messages.append(msg)  # type: ignore[arg-type]
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        with self._lock:
            return [m for m in self.messages if m["To"] == address]


@pytest.fixture
def mailbox_factory(settings: Settings) -> Iterator[Callable[..., Mailbox]]:
    controllers: list[Controller] = []

    def start(refuse: Callable[[str, int], str | None] | None = None) -> Mailbox:
        box = Mailbox(refuse)
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


def complaint_received(language: str, email_address: str, **fields: str) -> Envelope:
    suffix = uuid.uuid4().hex[:8].upper()
    complaint = complaint_pb2.Complaint(
        id=f"c-{uuid.uuid4()}",
        reference=f"HQ-{suffix[:4]}-{int(suffix[4:], 16) % 100:02d}",
        tenant="default",
        channel=complaint_pb2.CHANNEL_WEB,
        language=language,
        subject=fields.get("subject", "complaint"),
        body=fields.get("body", "..."),
        customer=complaint_pb2.CustomerIdentifiers(email=email_address),
    )
    complaint.received_at.GetCurrentTime()
    return new_event(
        events_pb2.ComplaintReceived(complaint=complaint), source="/haq/intake", subject=complaint.id
    )


def produce(producer: KafkaProducer, envelope: Envelope, partition: int | None = None) -> int:
    record = encode(envelope)
    meta = producer.send(
        topics.LIFECYCLE_TOPIC,
        key=record.key,
        value=record.value,
        headers=record.headers,
        partition=partition,
    ).get(timeout=10)
    return meta.partition


def wait_for(predicate: Callable[[], object], what: str, timeout: float = 60) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def notification_events(settings: Settings, complaint_ids: set[str], type_name: str) -> dict[str, Envelope]:
    def done(records) -> bool:
        seen = {r.envelope.subject for r in records if r.envelope and r.envelope.type == type_name}
        return complaint_ids <= seen

    records = collect(settings, topics.LIFECYCLE_TOPIC, done, timeout=60)
    found = {
        r.envelope.subject: r.envelope
        for r in records
        if r.envelope and r.envelope.type == type_name and r.envelope.subject in complaint_ids
    }
    assert set(found) == complaint_ids, f"missing {type_name} for {complaint_ids - set(found)}"
    return found


def list_deliveries(settings: Settings, complaint_id: str) -> list[notifications_pb2.Delivery]:
    with grpc.insecure_channel(settings.grpc_target("notifications")) as channel:
        stub = notifications_pb2_grpc.NotificationAdminStub(channel)
        resp = stub.ListDeliveries(
            notifications_pb2.ListDeliveriesRequest(complaint_id=complaint_id), timeout=5
        )
    return list(resp.deliveries)


def duplicates_skipped(settings: Settings) -> float:
    url = f"http://{settings.http_host}:{settings.http_port('notifications')}/metrics"
    with urllib.request.urlopen(url, timeout=5) as resp:
        text = resp.read().decode()
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "haq_events_consumed_total"
        and s.labels.get("consumer") == "notifications-lifecycle"
        and s.labels.get("type") == "ComplaintReceived"
        and s.labels.get("outcome") == "duplicate"
    )


def test_acknowledgement_arrives_once_in_the_customers_language(
    settings, start_service, mailbox_factory, producer
):
    mailbox = mailbox_factory()
    start_service("notifications")
    tag = uuid.uuid4().hex[:8]
    fa_email, en_email = f"maryam-{tag}@example.com", f"john-{tag}@example.com"
    fa = complaint_received("fa", fa_email, subject="کالا خراب رسید", body="بسته شکسته به دستم رسید")
    en = complaint_received("en", en_email, subject="Broken parcel", body="The parcel arrived broken.")
    fa_partition = produce(producer, fa)
    produce(producer, en)

    wait_for(lambda: mailbox.to(fa_email) and mailbox.to(en_email), "both acknowledgements")
    [fa_mail] = mailbox.to(fa_email)
    [en_mail] = mailbox.to(en_email)
    fa_ref, en_ref = fa.message.complaint.reference, en.message.complaint.reference

    assert fa_mail["Content-Language"] == "fa"
    assert fa_ref in fa_mail["Subject"]
    fa_text = fa_mail.get_body(("plain",)).get_content()
    assert f"{FSI}{fa_ref}{PDI}" in fa_text
    assert "شماره پیگیری" in fa_text
    assert 'dir="rtl"' in fa_mail.get_body(("html",)).get_content()
    assert fa_mail["Message-ID"].endswith("@haq.local>")

    assert en_mail["Content-Language"] == "en"
    assert en_mail["Subject"] == f"We have received your complaint: {en_ref}"
    assert f"reply to this email with the reference {en_ref}" in en_mail.get_body(("plain",)).get_content()

    ids = {fa.subject, en.subject}
    sent = notification_events(settings, ids, "haq.v1.NotificationSent")
    assert sent[fa.subject].message.recipient == fa_email
    assert sent[fa.subject].message.language == "fa"
    assert sent[fa.subject].message.template == "acknowledgement"
    assert sent[fa.subject].message.trigger_event_id == fa.id
    assert sent[fa.subject].id.startswith("notified:")
    assert sent[en.subject].message.language == "en"

    # The same event again (the broker redelivers): no second email. A fresh complaint sent to the
    # same partition afterwards is handled after it, so once its email is in, the duplicate is done.
    baseline = duplicates_skipped(settings)
    produce(producer, fa)
    sentinel_email = f"sentinel-{tag}@example.com"
    produce(producer, complaint_received("en", sentinel_email), partition=fa_partition)
    wait_for(lambda: mailbox.to(sentinel_email), "the sentinel's acknowledgement")
    wait_for(lambda: duplicates_skipped(settings) >= baseline + 1, "the duplicate to be skipped")
    assert len(mailbox.to(fa_email)) == 1

    [delivery] = list_deliveries(settings, fa.subject)
    assert (delivery.status, delivery.attempts, delivery.channel) == ("sent", 1, "email")
    assert (delivery.recipient, delivery.language, delivery.template) == (fa_email, "fa", "acknowledgement")
    assert delivery.trigger_event_id == fa.id
    assert delivery.notification_id == sent[fa.subject].message.notification_id
    assert delivery.updated_at.seconds > 0
    assert [d.status for d in list_deliveries(settings, en.subject)] == ["sent"]
    assert list_deliveries(settings, f"c-{uuid.uuid4()}") == []
    with pytest.raises(grpc.RpcError) as err:
        list_deliveries(settings, "  ")
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "complaint_id" in err.value.details()


def test_transient_refusals_are_retried_and_permanent_ones_are_announced_as_failed(
    settings, start_service, mailbox_factory, producer
):
    tag = uuid.uuid4().hex[:8]
    flaky_email, gone_email = f"flaky-{tag}@example.com", f"gone-{tag}@example.com"

    def refuse(address: str, attempt: int) -> str | None:
        if address == flaky_email and attempt <= 2:
            return "451 4.3.0 Mailbox temporarily unavailable"
        if address == gone_email:
            return "550 5.1.1 No such mailbox"
        return None

    mailbox = mailbox_factory(refuse)
    start_service("notifications")
    flaky = complaint_received("en", flaky_email)
    gone = complaint_received("fa", gone_email)
    produce(producer, flaky)
    produce(producer, gone)

    wait_for(lambda: mailbox.to(flaky_email), "the acknowledgement after two refusals")
    assert len(mailbox.to(flaky_email)) == 1
    assert mailbox.rcpt_attempts[flaky_email] == 3
    notification_events(settings, {flaky.subject}, "haq.v1.NotificationSent")
    [ok] = list_deliveries(settings, flaky.subject)
    assert (ok.status, ok.attempts) == ("sent", 3)

    failed = notification_events(settings, {gone.subject}, "haq.v1.NotificationFailed")[gone.subject]
    assert failed.message.recipient == gone_email
    assert failed.message.attempts == 1  # a 5xx is not retried
    assert "550" in failed.message.reason
    assert mailbox.rcpt_attempts[gone_email] == 1
    assert mailbox.to(gone_email) == []
    [bad] = list_deliveries(settings, gone.subject)
    assert (bad.status, bad.attempts) == ("failed", 1)
    assert "550" in bad.last_error
