"""The delivery pipeline: record, plan, deliver; at most once per (event, recipient, channel).

A real SQLite database and simulated time; the fakes are only at the boundary (SMTP, HTTP, the
routing directory). The integration tests use a real SMTP server and real HTTP receivers.
"""

from __future__ import annotations

import json
import smtplib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlmodel import Session, select

from services.common import topics
from services.common.codec import Envelope, decode, new_event
from services.common.db import OutboxMessage, as_utc, create_tables, make_engine
from services.common.pb.haq.v1 import complaint_pb2, events_pb2
from services.common.runtime import EventConsumer
from services.notifications.adapters import db
from services.notifications.adapters.directory import DirectorySnapshot, DirectoryUnavailable
from services.notifications.adapters.http_channels import HttpFailure
from services.notifications.adapters.tenant_config import TenantBook
from services.notifications.domain import signing
from services.notifications.domain.audience import TeamLadder
from services.notifications.domain.model import (
    DeliveryKey,
    DeliveryStatus,
    NextStep,
    delivery_class,
    next_step,
)
from services.notifications.domain.schedule import RetryPolicy
from services.notifications.domain.templates import TemplateRenderer
from services.notifications.domain.tenant import StaffProfile, parse_tenants
from services.notifications.service_layer.admin import Admin, NotRetryable
from services.notifications.service_layer.dispatcher import Dispatcher, Senders
from services.notifications.service_layer.planner import Planner
from services.notifications.service_layer.recorder import Recorder

T0 = datetime(2025, 3, 20, 8, 0, tzinfo=UTC)  # 11:30 in Tehran


class FakeSmtp:
    def __init__(self, *errors: BaseException):
        self.errors = list(errors)
        self.sent: list[EmailMessage] = []
        self.calls = 0

    def __call__(self, msg: EmailMessage, before_data=None) -> None:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        if before_data is not None:  # the server accepted sender and recipient: DATA comes next
            before_data()
        self.sent.append(msg)


@dataclass
class FakeHttp:
    errors: list[BaseException] = field(default_factory=list)
    calls: list[tuple[str, dict]] = field(default_factory=list)

    def _call(self, kind: str, **kw) -> None:
        self.calls.append((kind, kw))
        if self.errors:
            raise self.errors.pop(0)

    def webhook(self, url, secret, body, *, delivery_id, event_type):
        self._call(
            "webhook", url=url, secret=secret, body=body, delivery_id=delivery_id, event_type=event_type
        )

    def chat(self, url, text, *, delivery_id):
        self._call("chat", url=url, text=text, delivery_id=delivery_id)

    def sms(self, url, token, to, text, *, delivery_id, reference):
        self._call("sms", url=url, to=to, text=text, delivery_id=delivery_id)


class FakeDirectory:
    def __init__(self, snapshot: DirectorySnapshot | None = None):
        self.snapshot_value = snapshot
        self.calls = 0

    def snapshot(self, tenant: str) -> DirectorySnapshot:
        self.calls += 1
        if self.snapshot_value is None:
            raise DirectoryUnavailable("routing: UNAVAILABLE")
        return self.snapshot_value


class Clock:
    def __init__(self, now: datetime = T0):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


TENANTS = {
    "tenants": {
        "default": {
            "guard_mode": "warn",
            "webhooks": [
                {"id": "crm", "url": "http://crm.test/hook", "secret": "s3cret", "events": ["Resolved"]}
            ],
            "chat": {"webhook_url": "http://chat.test/hook"},
            "sms": {"url": "http://sms.test/send", "token": "tok"},
            "staff": {
                "reza": {
                    "channels": ["chat", "email"],
                    "chat_handle": "U-REZA",
                    "quiet_hours": "22:00-07:00",
                },
                "ops.manager": {"name": "Hana", "email": "hana@staff.test", "muted": ["escalation"]},
                "night.owl": {"email": "owl@staff.test", "quiet_hours": "00:00-23:59"},
            },
        },
        "strict": {"guard_mode": "block"},
    }
}
DIRECTORY = DirectorySnapshot(
    people={
        "reza": StaffProfile(id="reza", name="Reza Karimi", email="reza@staff.test", language="fa"),
        "leila": StaffProfile(id="leila", name="Leila Ahmadi", email="leila@staff.test", language="en"),
    },
    teams={"general-care": TeamLadder(lead="leila", manager="ops.manager", director="ops.director")},
)


@dataclass
class World:
    engine: object
    smtp: FakeSmtp
    http: FakeHttp
    directory: FakeDirectory
    clock: Clock
    dispatcher: Dispatcher
    admin: Admin
    consumer: EventConsumer
    recorder: Recorder

    def consume(self, envelope: Envelope) -> bool:
        return self.consumer.apply(envelope, self.recorder.on_event)

    def rows(self, complaint_id: str = "c-1") -> list[db.DeliveryRow]:
        return self.admin.list_deliveries(complaint_id)


@pytest.fixture
def world(tmp_path: Path) -> World:
    return make_world(tmp_path)


def make_world(tmp_path: Path, smtp: FakeSmtp | None = None, directory: FakeDirectory | None = None) -> World:
    engine = make_engine(f"sqlite:///{tmp_path / 'notifications.db'}")
    create_tables(engine, db.TABLES)
    tenants = TenantBook(parse_tenants(TENANTS))
    smtp = smtp or FakeSmtp()
    http = FakeHttp()
    directory = directory or FakeDirectory(DIRECTORY)
    clock = Clock()
    planner = Planner(TemplateRenderer(), tenants, directory)
    dispatcher = Dispatcher(
        engine,
        planner,
        Senders(smtp, http),  # type: ignore[arg-type]
        tenants,
        sender_address="Haq <care@haq.local>",
        retry=RetryPolicy(max_attempts=3, base_s=1.0, cap_s=8.0),
        job_retry=RetryPolicy(max_attempts=0, base_s=2.0, cap_s=30.0),
        sending_stale_s=60,
        clock=clock,
        rand=lambda: 1.0,
    )
    admin = Admin(engine, planner, tenants, dispatcher, clock=clock)
    consumer = EventConsumer("notifications-lifecycle", "notifications", engine, relay=None)
    return World(engine, smtp, http, directory, clock, dispatcher, admin, consumer, Recorder(clock=clock))


def received(
    language: str = "fa",
    email: str = "Sara@Example.com",
    event_id: str = "evt-1",
    phone: str = "",
    channel: int = complaint_pb2.CHANNEL_EMAIL,
    tenant: str = "default",
) -> Envelope:
    complaint = complaint_pb2.Complaint(
        id="c-1",
        reference="HQ-7KX2-94",
        tenant=tenant,
        language=language,
        channel=channel,
        customer=complaint_pb2.CustomerIdentifiers(email=email, phone=phone, display_name="Sara"),
    )
    complaint.received_at.FromDatetime(T0)
    return new_event(
        events_pb2.ComplaintReceived(complaint=complaint),
        source="/haq/intake",
        subject="c-1",
        event_id=event_id,
    )


def event(msg, event_id: str) -> Envelope:
    return new_event(msg, source="/haq/test", subject="c-1", event_id=event_id)


def routed(priority: int = complaint_pb2.PRIORITY_NORMAL, keep_informed: tuple[str, ...] = ()) -> Envelope:
    return event(
        events_pb2.ComplaintRouted(
            complaint_id="c-1",
            team="general-care",
            owner="reza",
            priority=priority,
            keep_informed=keep_informed,
        ),
        "routed-1",
    )


def staged(engine) -> list[tuple[str, Envelope]]:
    with Session(engine) as session:
        rows = session.exec(select(OutboxMessage).order_by(OutboxMessage.seq)).all()
        return [
            (r.topic, decode(r.key, r.value, [(k, v.encode()) for k, v in json.loads(r.headers_json)]))
            for r in rows
        ]


def staged_types(engine) -> list[str]:
    return [e.type for _, e in staged(engine)]


KEY = DeliveryKey.email("evt-1", "sara@example.com")


def test_next_step_decisions() -> None:
    assert next_step(DeliveryStatus.PENDING) is NextStep.SEND
    assert next_step("sending") is NextStep.INTERRUPTED
    assert next_step("sent") is NextStep.SETTLED
    assert next_step("failed") is NextStep.SETTLED


def test_delivery_key_is_deterministic_and_normalised() -> None:
    assert DeliveryKey.email("evt-1", " Sara@Example.COM ") == KEY
    assert DeliveryKey.of("evt-1", "email", "SARA@example.com") == KEY
    assert DeliveryKey.of("e", "sms", "+98 912 123 4567").recipient == "+989121234567"
    assert KEY.sent_event_id == f"notified:{KEY.digest}"
    assert KEY.failed_event_id(0) != KEY.failed_event_id(1)
    assert DeliveryKey.email("evt-2", "sara@example.com").digest != KEY.digest


def test_acknowledgement_is_sent_once_and_announced(world: World) -> None:
    assert world.consume(received()) is True
    assert world.consume(received()) is False  # broker redelivery
    world.dispatcher.drain()
    world.dispatcher.drain()

    [msg] = world.smtp.sent
    assert msg["To"] == "sara@example.com"
    assert msg["Message-ID"] == f"<{KEY.notification_id}@haq.local>"
    assert msg["Content-Language"] == "fa"
    text = msg.get_body(("plain",)).get_content()
    assert "HQ-7KX2-94" in text
    assert "۱ فروردین ۱۴۰۴" in text  # received + 24 h = 21 March 2025: Jalali, Persian digits
    assert 'dir="rtl"' in msg.get_body(("html",)).get_content()
    [row] = world.rows()
    assert (row.status, row.attempts, row.language, row.audience) == ("sent", 1, "fa", "customer")
    [(topic, sent)] = staged(world.engine)
    assert topic == topics.LIFECYCLE_TOPIC
    assert sent.type == "haq.v1.NotificationSent"
    assert sent.id == KEY.sent_event_id
    assert (sent.message.recipient, sent.message.template, sent.message.trigger_event_id) == (
        "sara@example.com",
        "acknowledgement",
        "evt-1",
    )


def test_english_complaint_gets_the_english_template_and_gregorian_date(world: World) -> None:
    world.consume(received("en"))
    world.dispatcher.drain()
    [msg] = world.smtp.sent
    assert msg["Subject"] == "We have received your complaint: HQ-7KX2-94"
    assert "21 March 2025" in msg.get_body(("plain",)).get_content()  # received + 24 h, Tehran time


def test_transient_failures_are_retried_with_backoff(tmp_path: Path) -> None:
    smtp = FakeSmtp(smtplib.SMTPServerDisconnected("lost"), smtplib.SMTPDataError(451, b"4.3.0 later"))
    w = make_world(tmp_path, smtp=smtp)
    w.consume(received())
    w.dispatcher.drain()
    [row] = w.rows()
    assert (row.status, row.attempts) == ("pending", 1)
    assert as_utc(row.next_attempt_at) == T0 + timedelta(seconds=1)  # base * 2**0 * jitter(1.0)
    w.clock.advance(1)
    w.dispatcher.drain()
    [row] = w.rows()
    assert (row.status, row.attempts) == ("pending", 2)
    assert as_utc(row.next_attempt_at) == T0 + timedelta(seconds=3)  # then 2 s
    w.clock.advance(2)
    w.dispatcher.drain()
    assert smtp.calls == 3 and len(smtp.sent) == 1
    [row] = w.rows()
    assert (row.status, row.attempts, row.last_error) == ("sent", 3, "")


def test_backoff_has_full_jitter_and_a_cap() -> None:
    policy = RetryPolicy(max_attempts=10, base_s=0.5, cap_s=4)
    assert policy.delay(1, lambda: 1.0) == 0.5
    assert policy.delay(4, lambda: 1.0) == 4
    assert policy.delay(9, lambda: 1.0) == 4
    assert policy.delay(3, lambda: 0.25) == 0.5
    assert policy.exhausted(10) and not policy.exhausted(9)


def test_after_the_last_retry_it_is_failed_announced_and_dead_lettered(tmp_path: Path) -> None:
    w = make_world(tmp_path, smtp=FakeSmtp(*(ConnectionRefusedError(111, "refused") for _ in range(3))))
    w.consume(received())
    for _ in range(3):
        w.dispatcher.drain()
        w.clock.advance(10)
    assert w.smtp.calls == 3
    [row] = w.rows()
    assert (row.status, row.attempts, row.dead_lettered) == ("failed", 3, True)
    [(t1, failed), (t2, letter)] = staged(w.engine)
    assert (t1, failed.type, failed.id) == (
        topics.LIFECYCLE_TOPIC,
        "haq.v1.NotificationFailed",
        KEY.failed_event_id(),
    )
    assert failed.message.attempts == 3 and "ConnectionRefusedError" in failed.message.reason
    assert (t2, letter.type) == (topics.DEAD_LETTER_TOPIC, "haq.v1.DeadLetter")
    assert letter.message.original_headers["notification_id"] == KEY.notification_id
    assert "HQ-7KX2-94" in json.loads(letter.message.original_value)["text"]


def test_permanent_refusal_is_not_retried(tmp_path: Path) -> None:
    w = make_world(
        tmp_path, smtp=FakeSmtp(smtplib.SMTPRecipientsRefused({"x": (550, b"5.1.1 no such user")}))
    )
    w.consume(received())
    w.dispatcher.drain()
    [row] = w.rows()
    assert (row.status, row.attempts, w.smtp.calls) == ("failed", 1, 1)


def test_an_attempt_interrupted_after_the_message_was_handed_over_is_never_sent_again(world: World) -> None:
    world.consume(received())
    [job] = db.due_jobs(world.engine, T0)
    world.dispatcher.plan(job, T0)
    # A previous run started attempt 1, reached SMTP DATA, then died before recording how it ended.
    assert db.start_attempt(world.engine, KEY.notification_id, expected_attempts=0, now=T0)
    db.mark_handed_over(world.engine, [KEY.notification_id], now=T0)
    world.dispatcher.drain()
    assert world.smtp.calls == 0  # still within the window a live sender could be in
    world.clock.advance(61)
    world.dispatcher.drain()
    assert world.smtp.calls == 0
    [row] = world.rows()
    assert row.status == "failed" and "outcome is unknown" in row.last_error
    assert staged_types(world.engine) == ["haq.v1.NotificationFailed", "haq.v1.DeadLetter"]


def test_an_email_interrupted_before_its_message_went_over_is_sent_again_once(world: World) -> None:
    """The acknowledgement of a notifications process killed between claiming the delivery and
    SMTP DATA used to be failed as "outcome unknown": the customer never heard (fault test)."""
    world.consume(received())
    [job] = db.due_jobs(world.engine, T0)
    world.dispatcher.plan(job, T0)
    assert db.start_attempt(world.engine, KEY.notification_id, expected_attempts=0, now=T0)
    world.dispatcher.drain()
    assert world.smtp.calls == 0  # a live sender could still be on it
    world.clock.advance(61)
    world.dispatcher.drain()
    world.dispatcher.drain()
    [msg] = world.smtp.sent
    assert msg["Message-ID"] == f"<{KEY.notification_id}@haq.local>"
    [row] = world.rows()
    assert (row.status, row.attempts) == ("sent", 2) and row.handed_over_at is not None
    assert staged_types(world.engine) == ["haq.v1.NotificationSent"]


def test_only_one_sender_wins_an_attempt(world: World) -> None:
    world.consume(received())
    world.dispatcher.plan(db.due_jobs(world.engine, T0)[0], T0)
    assert db.start_attempt(world.engine, KEY.notification_id, expected_attempts=0, now=T0)
    assert not db.start_attempt(world.engine, KEY.notification_id, expected_attempts=0, now=T0)


def test_planning_twice_claims_each_key_once(world: World) -> None:
    world.consume(received())
    [job] = db.due_jobs(world.engine, T0)
    world.dispatcher.plan(job, T0)
    world.dispatcher.plan(job, T0)  # a crash after planning, or a second worker
    world.dispatcher.drain()
    assert len(world.rows()) == 1 and len(world.smtp.sent) == 1


def test_a_customer_without_email_is_reached_by_sms_on_a_phone_complaint(world: World) -> None:
    world.consume(received("en", email="", phone="+989121234567", channel=complaint_pb2.CHANNEL_PHONE))
    world.dispatcher.drain()
    [(kind, call)] = world.http.calls
    assert kind == "sms" and call["to"] == "+989121234567" and "HQ-7KX2-94" in call["text"]


def test_a_customer_we_cannot_reach_gets_no_delivery_but_is_remembered(world: World) -> None:
    world.consume(received(email=""))
    world.dispatcher.drain()
    assert world.rows() == [] and world.smtp.calls == 0
    with Session(world.engine) as session:
        assert session.get(db.ComplaintContact, "c-1") is not None


def test_new_owner_hears_on_their_preferred_channel_and_quiet_hours_hold_it(world: World) -> None:
    world.consume(received())
    world.consume(routed())
    accept_by = T0 + timedelta(minutes=30)
    assigned = events_pb2.OwnerAssigned(complaint_id="c-1", owner="reza", team="general-care")
    assigned.accept_by.FromDatetime(accept_by)
    world.clock.now = datetime(2025, 3, 20, 20, 0, tzinfo=UTC)  # 23:30 in Tehran: reza's quiet hours
    world.consume(event(assigned, "assigned-1"))
    world.dispatcher.drain()
    [chat] = [r for r in world.rows() if r.recipient_id == "reza"]
    assert (chat.channel, chat.status, chat.template) == ("chat", "pending", "new_assignment")
    assert as_utc(chat.next_attempt_at) == datetime(2025, 3, 21, 3, 30, tzinfo=UTC)  # 07:00 Tehran
    world.clock.now = datetime(2025, 3, 21, 3, 30, tzinfo=UTC)
    world.dispatcher.drain()
    [(kind, call)] = [c for c in world.http.calls if c[0] == "chat"]
    assert call["text"].startswith("<@U-REZA> *[⁨HQ-7KX2-94⁩]")
    assert "بپذیرید" in call["text"]  # Persian, reza's language from the directory


def test_critical_goes_out_at_once_on_every_listed_channel(world: World) -> None:
    world.consume(received())
    world.consume(routed(priority=complaint_pb2.PRIORITY_CRITICAL))
    world.clock.now = datetime(2025, 3, 20, 20, 0, tzinfo=UTC)  # quiet hours
    world.consume(event(events_pb2.OwnerAssigned(complaint_id="c-1", owner="reza"), "assigned-1"))
    world.dispatcher.drain()
    staff = sorted((r.channel, r.status) for r in world.rows() if r.recipient_id == "reza")
    assert staff == [("chat", "sent"), ("email", "sent")]


def test_escalation_reaches_the_ladder_and_respects_mutes_except_when_critical(world: World) -> None:
    world.consume(received())
    world.consume(routed())
    world.consume(
        event(events_pb2.Escalated(complaint_id="c-1", level="manager", team="general-care"), "esc-1")
    )
    world.dispatcher.drain()
    # No notify list: the ladder up to the manager. ops.manager muted escalations (not critical).
    assert sorted(r.recipient_id for r in world.rows() if r.template == "escalation") == ["leila"]
    world.consume(
        event(
            events_pb2.ComplaintRouted(complaint_id="c-1", team="general-care", owner="reza", priority=1),
            "r-2",
        )
    )
    world.consume(
        event(events_pb2.Escalated(complaint_id="c-1", level="manager", notify=["ops.manager"]), "esc-2")
    )
    world.dispatcher.drain()
    [hana] = [r for r in world.rows() if r.trigger_event_id == "esc-2"]
    assert (hana.recipient, hana.status) == ("hana@staff.test", "sent")


def test_unknown_staff_member_is_a_visible_failure_not_silence(world: World) -> None:
    world.consume(received())
    world.consume(routed(keep_informed=("nobody.known", "am@partner.test")))
    world.dispatcher.drain()
    informed = {r.recipient_id: r for r in world.rows() if r.template == "keep_informed"}
    assert informed["am@partner.test"].status == "sent"
    assert informed["nobody.known"].status == "failed"
    assert "no email address for nobody.known" in informed["nobody.known"].last_error


def test_routing_unreachable_postpones_planning_and_loses_nothing(tmp_path: Path) -> None:
    directory = FakeDirectory(None)
    w = make_world(tmp_path, directory=directory)
    w.consume(received())
    w.consume(event(events_pb2.OwnerAssigned(complaint_id="c-1", owner="reza"), "assigned-1"))
    w.dispatcher.drain()
    assert [r.template for r in w.rows()] == ["acknowledgement"]  # customer messages need no directory
    with Session(w.engine) as session:
        job = session.get(db.NotificationJob, "assigned-1")
        assert job is not None and not job.planned and job.attempts == 1
        assert "UNAVAILABLE" in job.last_error
    directory.snapshot_value = DIRECTORY
    w.dispatcher.drain()
    assert not [r for r in w.rows() if r.recipient_id == "reza"]  # not due yet: backoff
    w.clock.advance(2)
    w.dispatcher.drain()
    assert [r.status for r in w.rows() if r.recipient_id == "reza"] == ["sent"]


def test_agent_response_passes_the_guard_in_warn_mode_and_is_blocked_in_block_mode(tmp_path: Path) -> None:
    for tenant, expected in (("default", "sent"), ("strict", "failed")):
        w = make_world(tmp_path / tenant)
        w.consume(received("en", tenant=tenant))
        w.consume(
            event(
                events_pb2.AgentResponded(
                    complaint_id="c-1", response_id="r1", agent="reza", body="That's not our department."
                ),
                "resp-1",
            )
        )
        w.dispatcher.drain()
        [reply] = [r for r in w.rows() if r.template == "agent_response"]
        assert reply.status == expected, tenant
        if expected == "failed":
            assert "blocked by the response guard" in reply.last_error
            assert "not our department" in reply.last_error
            assert len(w.smtp.sent) == 1  # only the acknowledgement


def test_webhook_subscriber_gets_the_event_signed(world: World) -> None:
    world.consume(received())
    resolved = events_pb2.Resolved(complaint_id="c-1", summary="Refunded.", owner="reza")
    world.consume(event(resolved, "res-1"))
    world.dispatcher.drain()
    [(kind, call)] = [c for c in world.http.calls if c[0] == "webhook"]
    payload = json.loads(call["body"])
    assert (payload["type"], payload["complaint"]["reference"], payload["data"]["summary"]) == (
        "haq.v1.Resolved",
        "HQ-7KX2-94",
        "Refunded.",
    )
    assert call["secret"] == "s3cret" and call["delivery_id"] == payload["id"]


def test_a_failed_delivery_is_retried_once_on_request(tmp_path: Path) -> None:
    w = make_world(tmp_path)
    w.http.errors = [HttpFailure("http://crm.test/hook", 400, "bad")]
    w.consume(received())
    w.consume(event(events_pb2.Resolved(complaint_id="c-1"), "res-1"))
    w.dispatcher.drain()
    [hook] = [r for r in w.rows() if r.channel == "webhook"]
    assert hook.status == "failed"
    with pytest.raises(NotRetryable):
        w.admin.retry([r for r in w.rows() if r.channel == "email"][0].notification_id)  # sent: not retryable
    again = w.admin.retry(hook.notification_id)
    assert (again.status, again.manual_retries, again.attempts) == ("pending", 1, 0)
    with pytest.raises(NotRetryable):
        w.admin.retry(hook.notification_id)  # already re-queued: once
    w.dispatcher.drain()
    [hook] = [r for r in w.rows() if r.channel == "webhook"]
    assert hook.status == "sent"
    assert len([c for c in w.http.calls if c[0] == "webhook"]) == 2


def test_preview_renders_any_template_for_a_complaint(world: World) -> None:
    world.consume(received("fa"))
    rendered, verdict = world.admin.preview("HQ-7KX2-94", "resolved")
    assert rendered.language == "fa" and rendered.direction == "rtl"
    assert "HQ-7KX2-94" in rendered.subject and verdict.findings == ()
    rendered, _ = world.admin.preview("c-1", "new_assignment", "en")
    assert rendered.subject.startswith("[HQ-7KX2-94]")


def test_signature_round_trip_used_by_the_webhook_adapter() -> None:
    body = b'{"a": 1}'
    header = signing.sign("s3cret", body, timestamp=1_700_000_000)
    assert signing.verify("s3cret", body, header, now=1_700_000_010) == 1_700_000_000


def test_a_staff_backlog_goes_out_as_digests_and_customers_are_never_merged(world: World) -> None:
    """120 assignment mails due together for one agent become 3 digest emails (one per pass), each
    delivery still settled and announced on its own; the two customers' acknowledgements, due at
    the same time, go out first and one each."""
    now = world.clock()

    def row(i: int, template: str, audience: str, recipient: str) -> db.DeliveryRow:
        return db.DeliveryRow(
            notification_id=f"n-{i}", complaint_id=f"c-{i}", trigger_event_id=f"e-{i}", recipient=recipient,
            channel="email", template=template, language="en", audience=audience, reference=f"HQ-{i}",
            subject=f"[HQ-{i}] Assigned to you", text=f"Complaint HQ-{i} is now yours.",
            priority_class=delivery_class(template, audience, "normal"), next_attempt_at=now, created_at=now,
        )  # fmt: skip

    staff = [row(i, "new_assignment", "staff", "leila@staff.test") for i in range(120)]
    customers = [row(900 + i, "acknowledgement", "customer", f"customer{i}@example.com") for i in range(2)]
    for r in staff + customers:  # one job each, as the planner makes them
        db.plan_deliveries(world.engine, r.trigger_event_id, [r])
    for _ in range(5):
        world.dispatcher.run_once()

    sent = world.smtp.sent
    assert [m["To"] for m in sent[:2]] == ["customer0@example.com", "customer1@example.com"]
    digests = sent[2:]
    assert [m["To"] for m in digests] == ["leila@staff.test"] * 3
    bodies = [m.get_body(("plain",)).get_content() for m in digests]
    # a pass takes 50 due deliveries: the 2 customers and 48 staff mails, then 50, then the last 22
    assert [b.count("is now yours") for b in bodies] == [48, 50, 22]
    assert "HQ-0" in bodies[0] and "HQ-119" in bodies[2]
    assert digests[1]["Subject"] == "50 updates on complaints you work on"
    with Session(world.engine) as session:
        statuses = {r.notification_id: r.status for r in session.exec(select(db.DeliveryRow))}
    assert set(statuses.values()) == {"sent"} and len(statuses) == 122
    announced = [e for _, e in staged(world.engine) if e.type == "haq.v1.NotificationSent"]
    assert len(announced) == 122  # every delivery is reported sent, digest or not


def test_a_failed_digest_retries_each_delivery_it_carried(tmp_path: Path) -> None:
    world = make_world(tmp_path, smtp=FakeSmtp(smtplib.SMTPServerDisconnected("gone")))
    now = world.clock()
    rows = [
        db.DeliveryRow(
            notification_id=f"n-{i}",
            complaint_id=f"c-{i}",
            trigger_event_id=f"e-{i}",
            recipient="leila@staff.test",
            channel="email",
            template="new_assignment",
            language="en",
            audience="staff",
            subject="s",
            text="t",
            priority_class=delivery_class("new_assignment", "staff", "normal"),
            next_attempt_at=now,
            created_at=now,
        )  # fmt: skip
        for i in range(3)
    ]
    for r in rows:
        db.plan_deliveries(world.engine, r.trigger_event_id, [r])
    world.dispatcher.run_once()
    with Session(world.engine) as session:
        after = [(r.status, r.attempts) for r in session.exec(select(db.DeliveryRow))]
    assert after == [("pending", 1)] * 3  # rescheduled with backoff, none lost, none failed
    world.clock.advance(10)
    world.dispatcher.run_once()
    [digest] = world.smtp.sent  # the retry goes out as one digest again
    assert digest["Subject"] == "3 updates on complaints you work on"
    with Session(world.engine) as session:
        assert {r.status for r in session.exec(select(db.DeliveryRow))} == {"sent"}


def test_one_tenants_slow_webhook_holds_back_no_other_tenant_and_no_email(tmp_path: Path) -> None:
    """Before, one dispatcher thread sent everything in turn: a tenant webhook taking its 10 s
    timeout delayed every tenant's deliveries, acknowledgements included (issue #10, item 8)."""
    import threading
    import time

    release = threading.Event()

    class SlowForOneTenant(FakeHttp):
        def webhook(self, url, secret, body, *, delivery_id, event_type):
            super().webhook(url, secret, body, delivery_id=delivery_id, event_type=event_type)
            if "slow.test" in url:
                release.wait(20)  # the slow tenant's endpoint hangs until released

    engine = make_engine(f"sqlite:///{tmp_path / 'n.db'}")
    create_tables(engine, db.TABLES)
    hooks = {
        name: {
            "webhooks": [
                {"id": "hook", "url": f"https://{name}.test/hook", "secret": "s", "events": ["Resolved"]}
            ]
        }
        for name in ("slow", "fast")
    }
    tenants = TenantBook(parse_tenants({"tenants": hooks}))
    smtp, http = FakeSmtp(), SlowForOneTenant()
    dispatcher = Dispatcher(
        engine, Planner(TemplateRenderer(), tenants, FakeDirectory(DIRECTORY)), Senders(smtp, http),  # type: ignore[arg-type]
        tenants, sender_address="Haq <care@haq.local>", clock=Clock(), http_workers=3, http_per_tenant=1,
    )  # fmt: skip
    now = dispatcher.clock()

    def row(i: int, tenant: str, channel: str) -> db.DeliveryRow:
        email = channel == "email"
        return db.DeliveryRow(
            notification_id=f"n-{i}", complaint_id=f"c-{i}", trigger_event_id=f"e-{i}", tenant=tenant,
            recipient=f"c{i}@example.com" if email else "hook", recipient_id="customer" if email else "hook",
            channel=channel, template="acknowledgement" if email else "event", language="en",
            audience="customer" if email else "integration", subject="s", text="t",
            payload='{"type": "haq.v1.Resolved"}',
            priority_class=delivery_class("acknowledgement" if email else "event", "customer" if email else "integration", "normal"),
            next_attempt_at=now, created_at=now,
        )  # fmt: skip

    rows = [row(0, "slow", "webhook"), row(1, "slow", "webhook"), row(2, "slow", "webhook")]
    rows += [row(3, "fast", "webhook"), row(4, "fast", "email")]
    for r in rows:
        db.plan_deliveries(engine, r.trigger_event_id, [r])
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            dispatcher.run_once()
            urls = [kw["url"] for _, kw in http.calls]
            if "https://fast.test/hook" in urls and smtp.sent:
                break
            time.sleep(0.05)
        urls = [kw["url"] for _, kw in http.calls]
        assert urls.count("https://fast.test/hook") == 1 and len(smtp.sent) == 1  # not held back
        assert urls.count("https://slow.test/hook") == 1  # one request in flight for the slow tenant
        with Session(engine) as session:
            waiting = {r.notification_id: r.status for r in session.exec(select(db.DeliveryRow))}
        assert [waiting[f"n-{i}"] for i in range(3)].count("pending") == 2  # the rest wait their turn
    finally:
        release.set()
    dispatcher.drain()
    with Session(engine) as session:
        assert {r.status for r in session.exec(select(db.DeliveryRow))} == {"sent"}
    assert len(http.calls) == 4
    dispatcher.stop()
