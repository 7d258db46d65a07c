"""The delivery log: claim, attempt, settle; at most once per (event, recipient, channel).

A real SQLite database; the only fake is the SMTP boundary (the integration test uses a real server).
"""

from __future__ import annotations

import json
import smtplib
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlmodel import Session, select

from services.common.codec import Envelope, decode, new_event
from services.common.db import OutboxMessage, create_tables, make_engine
from services.common.pb.haq.v1 import complaint_pb2, events_pb2
from services.common.runtime import EventConsumer
from services.notifications.adapters import db
from services.notifications.domain.model import DeliveryKey, DeliveryStatus, NextStep, next_step
from services.notifications.domain.templates import TemplateRenderer
from services.notifications.service import Notifier


class FakeSmtp:
    """Records what would have been sent; raises the scripted errors first."""

    def __init__(self, *errors: BaseException):
        self.errors = list(errors)
        self.sent: list[EmailMessage] = []
        self.calls = 0

    def __call__(self, msg: EmailMessage) -> None:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        self.sent.append(msg)


@pytest.fixture
def engine(tmp_path: Path):
    eng = make_engine(f"sqlite:///{tmp_path / 'notifications.db'}")
    create_tables(eng, [db.ComplaintContact, db.DeliveryRow])
    return eng


def make_notifier(engine, smtp: FakeSmtp, sleeps: list[float] | None = None) -> Notifier:
    return Notifier(
        engine,
        smtp,
        TemplateRenderer(),
        sender_address="Haq <care@haq.local>",
        sleep=(sleeps.append if sleeps is not None else lambda _s: None),
    )


def received(language: str = "fa", email: str = "Sara@Example.com", event_id: str = "evt-1") -> Envelope:
    complaint = complaint_pb2.Complaint(
        id="c-1",
        reference="HQ-7KX2-94",
        tenant="default",
        language=language,
        customer=complaint_pb2.CustomerIdentifiers(email=email, display_name="Sara"),
    )
    msg = events_pb2.ComplaintReceived(complaint=complaint)
    return new_event(msg, source="/haq/intake", subject="c-1", event_id=event_id)


def staged(engine) -> list[Envelope]:
    with Session(engine) as session:
        rows = session.exec(select(OutboxMessage).order_by(OutboxMessage.seq)).all()
        return [
            decode(r.key, r.value, [(k, v.encode()) for k, v in json.loads(r.headers_json)]) for r in rows
        ]


def delivery(engine, key: DeliveryKey) -> db.DeliveryRow:
    with Session(engine) as session:
        row = db.get_delivery(session, key.notification_id)
        assert row is not None
        return row


KEY = DeliveryKey.email("evt-1", "sara@example.com")


def test_next_step_decisions() -> None:
    assert next_step(DeliveryStatus.PENDING, 0) is NextStep.SEND
    assert next_step("pending", 2) is NextStep.INTERRUPTED
    assert next_step("sent", 1) is NextStep.SETTLED
    assert next_step("failed", 3) is NextStep.SETTLED


def test_delivery_key_is_deterministic_and_normalised() -> None:
    assert DeliveryKey.email("evt-1", " Sara@Example.COM ") == KEY
    assert KEY.notification_id == DeliveryKey.email("evt-1", "sara@example.com").notification_id
    assert KEY.sent_event_id == f"notified:{KEY.digest}"
    assert DeliveryKey.email("evt-2", "sara@example.com").digest != KEY.digest


def test_unit_of_work_sends_once_records_contact_and_stages_notification_sent(engine) -> None:
    smtp = FakeSmtp()
    notifier = make_notifier(engine, smtp)
    consumer = EventConsumer("notifications-lifecycle", "notifications", engine, relay=None)

    assert consumer.apply(received(), notifier.on_complaint_received) is True
    assert consumer.apply(received(), notifier.on_complaint_received) is False  # redelivery

    assert len(smtp.sent) == 1
    msg = smtp.sent[0]
    assert msg["To"] == "sara@example.com"
    assert msg["Message-ID"] == f"<{KEY.notification_id}@haq.local>"
    assert msg["Content-Language"] == "fa"
    assert msg["X-Haq-Reference"] == "HQ-7KX2-94"
    assert "HQ-7KX2-94" in msg.get_body(("plain",)).get_content()
    assert 'dir="rtl"' in msg.get_body(("html",)).get_content()

    row = delivery(engine, KEY)
    assert (row.status, row.attempts, row.language, row.complaint_id) == ("sent", 1, "fa", "c-1")
    events = staged(engine)
    assert [e.type for e in events] == ["haq.v1.NotificationSent"]
    sent = events[0]
    assert sent.id == KEY.sent_event_id
    assert sent.subject == "c-1"
    assert sent.message.recipient == "sara@example.com"
    assert sent.message.template == "acknowledgement"
    assert sent.message.trigger_event_id == "evt-1"
    assert sent.message.language == "fa"
    with Session(engine) as session:
        contact = session.get(db.ComplaintContact, "c-1")
        assert contact is not None
        assert (contact.reference, contact.language, contact.email) == (
            "HQ-7KX2-94",
            "fa",
            "Sara@Example.com",
        )


def test_same_trigger_again_is_not_sent_even_past_the_processed_marker(engine) -> None:
    smtp = FakeSmtp()
    notifier = make_notifier(engine, smtp)
    complaint = received().message.complaint
    assert notifier.acknowledge(complaint, complaint_id="c-1", trigger_event_id="evt-1") == "sent"
    assert notifier.acknowledge(complaint, complaint_id="c-1", trigger_event_id="evt-1") is None
    assert len(smtp.sent) == 1
    assert len(staged(engine)) == 1


def test_transient_failures_are_retried_with_jittered_backoff(engine) -> None:
    smtp = FakeSmtp(
        smtplib.SMTPServerDisconnected("connection lost"),
        smtplib.SMTPDataError(451, b"4.3.0 try again later"),
    )
    sleeps: list[float] = []
    notifier = make_notifier(engine, smtp, sleeps)
    assert (
        notifier.acknowledge(received().message.complaint, complaint_id="c-1", trigger_event_id="evt-1")
        == "sent"
    )
    assert smtp.calls == 3
    assert len(smtp.sent) == 1
    assert len(sleeps) == 2
    assert all(0 <= s <= 4 for s in sleeps)
    row = delivery(engine, KEY)
    assert (row.status, row.attempts, row.last_error) == ("sent", 3, "")


def test_failure_after_the_last_retry_is_recorded_and_announced(engine) -> None:
    smtp = FakeSmtp(*(ConnectionRefusedError(111, "Connection refused") for _ in range(3)))
    notifier = make_notifier(engine, smtp)
    assert (
        notifier.acknowledge(received().message.complaint, complaint_id="c-1", trigger_event_id="evt-1")
        == "failed"
    )
    assert smtp.calls == 3
    row = delivery(engine, KEY)
    assert (row.status, row.attempts) == ("failed", 3)
    assert "Connection refused" in row.last_error
    [failed] = staged(engine)
    assert failed.type == "haq.v1.NotificationFailed"
    assert failed.id == KEY.failed_event_id
    assert failed.message.attempts == 3
    assert "ConnectionRefusedError" in failed.message.reason


def test_permanent_refusal_is_not_retried(engine) -> None:
    smtp = FakeSmtp(smtplib.SMTPRecipientsRefused({"sara@example.com": (550, b"5.1.1 no such user")}))
    notifier = make_notifier(engine, smtp)
    assert (
        notifier.acknowledge(received().message.complaint, complaint_id="c-1", trigger_event_id="evt-1")
        == "failed"
    )
    assert smtp.calls == 1
    assert delivery(engine, KEY).attempts == 1


def test_crash_after_the_claim_but_before_any_attempt_still_sends(engine) -> None:
    db.claim(engine, KEY, complaint_id="c-1", template="acknowledgement", language="fa", now=db.utcnow())
    smtp = FakeSmtp()
    notifier = make_notifier(engine, smtp)
    assert (
        notifier.acknowledge(received().message.complaint, complaint_id="c-1", trigger_event_id="evt-1")
        == "sent"
    )
    assert len(smtp.sent) == 1


def test_crash_mid_send_is_never_sent_twice(engine) -> None:
    # A previous run claimed the delivery and started attempt 1, then died before recording it.
    db.claim(engine, KEY, complaint_id="c-1", template="acknowledgement", language="fa", now=db.utcnow())
    assert db.start_attempt(engine, KEY.notification_id, expected_attempts=0, now=db.utcnow())
    smtp = FakeSmtp()
    notifier = make_notifier(engine, smtp)
    assert (
        notifier.acknowledge(received().message.complaint, complaint_id="c-1", trigger_event_id="evt-1")
        == "failed"
    )
    assert smtp.calls == 0
    row = delivery(engine, KEY)
    assert row.status == "failed"
    assert "outcome is unknown" in row.last_error
    assert [e.type for e in staged(engine)] == ["haq.v1.NotificationFailed"]


def test_only_one_worker_wins_an_attempt(engine) -> None:
    db.claim(engine, KEY, complaint_id="c-1", template="acknowledgement", language="fa", now=db.utcnow())
    assert db.start_attempt(engine, KEY.notification_id, expected_attempts=0, now=db.utcnow())
    assert not db.start_attempt(engine, KEY.notification_id, expected_attempts=0, now=db.utcnow())


def test_a_complaint_without_email_is_remembered_but_not_emailed(engine) -> None:
    smtp = FakeSmtp()
    notifier = make_notifier(engine, smtp)
    consumer = EventConsumer("notifications-lifecycle", "notifications", engine, relay=None)
    assert consumer.apply(received(email=""), notifier.on_complaint_received)
    assert smtp.calls == 0
    assert notifier.list_deliveries("c-1") == []
    with Session(engine) as session:
        assert session.get(db.ComplaintContact, "c-1") is not None


def test_english_complaint_gets_the_english_template(engine) -> None:
    smtp = FakeSmtp()
    notifier = make_notifier(engine, smtp)
    notifier.acknowledge(received("en").message.complaint, complaint_id="c-1", trigger_event_id="evt-1")
    assert smtp.sent[0]["Content-Language"] == "en"
    assert smtp.sent[0]["Subject"] == "We have received your complaint: HQ-7KX2-94"
    assert [r.language for r in notifier.list_deliveries("c-1")] == ["en"]
