"""Notifications' use cases: acknowledge a received complaint to its customer, and list deliveries.

At most once per (trigger event, recipient, channel), across crashes and redelivery:
  1. claim   - the delivery row is committed as pending before anything is sent;
  2. attempt - each attempt is counted (and committed) before it starts, outside any transaction
               the consumer holds, and transient SMTP failures are retried with backoff + jitter;
  3. settle  - "sent" or "failed" is committed together with its event (outbox) in one transaction.
A redelivered trigger that finds an attempt started but never settled does not send again: it
records the delivery as failed ("outcome unknown"), so ops can see it and decide.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime
from email.message import EmailMessage

from prometheus_client import Counter
from sqlalchemy.engine import Engine
from sqlmodel import Session
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_random_exponential
from tenacity.wait import wait_base

from services.common.codec import Envelope, new_event
from services.common.db import utcnow
from services.common.pb.haq.v1 import complaint_pb2, events_pb2

from .adapters import db
from .adapters.smtp import build_message, is_transient
from .domain.model import DeliveryKey, DeliveryStatus, NextStep, Template, next_step
from .domain.templates import TemplateRenderer

SOURCE = "/haq/notifications"
log = logging.getLogger(__name__)

NOTIFICATIONS = Counter(
    "haq_notifications_total", "Deliveries by outcome", ["channel", "template", "outcome"]
)
SEND_ATTEMPTS = Counter("haq_notification_attempts_total", "Send attempts", ["channel", "outcome"])


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]


class Notifier:
    def __init__(
        self,
        engine: Engine,
        send_email: Callable[[EmailMessage], None],
        renderer: TemplateRenderer,
        *,
        sender_address: str,
        clock: Callable[[], datetime] = utcnow,
        max_attempts: int = 3,
        retry_wait: wait_base | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.engine = engine
        self.send_email = send_email
        self.renderer = renderer
        self.sender_address = sender_address
        self.clock = clock
        self.max_attempts = max_attempts
        self.retry_wait = retry_wait or wait_random_exponential(multiplier=0.5, max=4)
        self.sleep = sleep

    # -- event handlers: handler(session, envelope), applied once per event id by EventConsumer --

    def on_complaint_received(self, session: Session, envelope: Envelope) -> None:
        received: events_pb2.ComplaintReceived = envelope.message  # type: ignore[assignment]
        complaint = received.complaint
        complaint_id = complaint.id or envelope.subject
        if complaint.customer.email.strip():
            # Delivery state lives in its own committed transactions (see the module docstring);
            # it runs before the contact is added, so this session holds no write lock meanwhile.
            self.acknowledge(complaint, complaint_id=complaint_id, trigger_event_id=envelope.id)
        db.record_contact(
            session,
            db.ComplaintContact(
                complaint_id=complaint_id,
                tenant=complaint.tenant,
                reference=complaint.reference,
                email=complaint.customer.email.strip(),
                phone=complaint.customer.phone.strip(),
                language=complaint.language,
                display_name=complaint.customer.display_name.strip(),
                updated_at=self.clock(),
            ),
        )

    # -- use cases --

    def acknowledge(
        self, complaint: complaint_pb2.Complaint, *, complaint_id: str, trigger_event_id: str
    ) -> DeliveryStatus | None:
        """Send the acknowledgement email once. Returns the outcome of this call, or None when
        there was nothing to do (already settled, or another worker holds the attempt)."""
        key = DeliveryKey.email(trigger_event_id, complaint.customer.email)
        rendered = self.renderer.acknowledgement(
            complaint.language, complaint.reference, complaint.customer.display_name
        )
        template = Template.ACKNOWLEDGEMENT.value
        claimed = db.claim(
            self.engine,
            key,
            complaint_id=complaint_id,
            template=template,
            language=rendered.language,
            now=self.clock(),
        )
        step = next_step(claimed.status, claimed.attempts)
        if step is NextStep.SETTLED:
            log.info("delivery %s already %s", key.notification_id, claimed.status.value)
            return None
        if step is NextStep.INTERRUPTED:
            reason = (
                f"interrupted during attempt {claimed.attempts}: the outcome is unknown, "
                "so it is not sent again"
            )
            return self._fail(key, complaint_id, template, reason, claimed.attempts)

        message = build_message(
            rendered,
            sender=self.sender_address,
            recipient=key.recipient,
            notification_id=key.notification_id,
            reference=complaint.reference,
        )
        attempts = claimed.attempts
        retrying = Retrying(
            stop=stop_after_attempt(self.max_attempts),
            wait=self.retry_wait,
            retry=retry_if_exception(is_transient),
            sleep=self.sleep,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    if not db.start_attempt(
                        self.engine, key.notification_id, expected_attempts=attempts, now=self.clock()
                    ):
                        log.warning("delivery %s is being attempted elsewhere", key.notification_id)
                        return None
                    attempts += 1
                    self._send_once(key, message)
        except Exception as exc:
            return self._fail(key, complaint_id, template, describe(exc), attempts)
        return self._sent(key, complaint_id, template, rendered.language)

    def _send_once(self, key: DeliveryKey, message: EmailMessage) -> None:
        try:
            self.send_email(message)
        except Exception as exc:
            SEND_ATTEMPTS.labels(key.channel, "transient" if is_transient(exc) else "permanent").inc()
            log.warning("sending %s failed: %s", key.notification_id, describe(exc))
            db.note_error(self.engine, key.notification_id, describe(exc), now=self.clock())
            raise
        SEND_ATTEMPTS.labels(key.channel, "ok").inc()

    def _sent(self, key: DeliveryKey, complaint_id: str, template: str, language: str) -> DeliveryStatus:
        now = self.clock()
        msg = events_pb2.NotificationSent(
            complaint_id=complaint_id,
            notification_id=key.notification_id,
            channel=key.channel,
            recipient=key.recipient,
            template=template,
            language=language,
            trigger_event_id=key.trigger_event_id,
        )
        msg.sent_at.FromDatetime(now)
        event = new_event(msg, source=SOURCE, subject=complaint_id, event_id=key.sent_event_id, time=now)
        db.mark_sent(self.engine, key.notification_id, event, now=now)
        NOTIFICATIONS.labels(key.channel, template, "sent").inc()
        log.info("sent %s %s for %s", template, key.notification_id, complaint_id)
        return DeliveryStatus.SENT

    def _fail(
        self, key: DeliveryKey, complaint_id: str, template: str, reason: str, attempts: int
    ) -> DeliveryStatus | None:
        # The DeadLetter record for ops and the retry of a failed delivery come with issue 5;
        # here the failure is in the delivery log and announced as NotificationFailed.
        now = self.clock()
        msg = events_pb2.NotificationFailed(
            complaint_id=complaint_id,
            notification_id=key.notification_id,
            channel=key.channel,
            recipient=key.recipient,
            template=template,
            reason=reason,
            attempts=attempts,
            trigger_event_id=key.trigger_event_id,
        )
        event = new_event(msg, source=SOURCE, subject=complaint_id, event_id=key.failed_event_id, time=now)
        if not db.mark_failed(
            self.engine, key.notification_id, event, expected_attempts=attempts, error=reason, now=now
        ):
            return None
        NOTIFICATIONS.labels(key.channel, template, "failed").inc()
        log.warning("%s %s for %s failed: %s", template, key.notification_id, complaint_id, reason)
        return DeliveryStatus.FAILED

    def list_deliveries(self, complaint_id: str) -> list[db.DeliveryRow]:
        with Session(self.engine) as session:
            return db.list_deliveries(session, complaint_id)
