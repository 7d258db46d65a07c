"""Deliver: plan due jobs, send due deliveries (SMTP, HTTP per tenant), retry; over 450 lines as one class kept whole."""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections import Counter as Counter_
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from services.common import topics
from services.common.codec import new_event
from services.common.db import utcnow
from services.common.pb.haq.v1 import events_pb2

from ..adapters import db
from ..adapters import smtp as smtp_adapter
from ..adapters.directory import DirectoryUnavailable
from ..adapters.http_channels import HttpChannels, UrlRefused
from ..adapters.http_channels import is_transient as http_transient
from ..adapters.tenant_config import TenantBook
from ..domain.chat_reply import parse_thread, reply_body
from ..domain.model import Audience, Channel, DeliveryStatus, coalesce_staff_mail
from ..domain.schedule import RetryPolicy
from ..domain.templates import RenderedMessage
from .planner import Planner
from .shared import (
    DIGESTED,
    DIGESTS,
    INTERRUPTED_RETRIED,
    JOBS_POSTPONED,
    NOTIFICATIONS,
    SEND_ATTEMPTS,
    SOURCE,
    describe,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Senders:
    """The channel adapters: email takes a built message; HTTP channels are in HttpChannels."""

    email: Callable[..., None]  # (message, before_data=callback run just before SMTP DATA)
    http: HttpChannels


class Dispatcher:
    """Plans due jobs and sends due deliveries; runs in its own thread beside the consumer."""

    def __init__(
        self,
        engine: Engine,
        planner: Planner,
        senders: Senders,
        tenants: TenantBook,
        *,
        sender_address: str,
        retry: RetryPolicy = RetryPolicy(),
        job_retry: RetryPolicy = RetryPolicy(max_attempts=0, base_s=2.0, cap_s=60.0),
        sending_stale_s: float = 120.0,
        batch: int = 50,
        poll_s: float = 0.5,
        clock: Callable[[], datetime] = utcnow,
        rand: Callable[[], float] = random.random,
        on_settled: Callable[[], None] = lambda: None,
        http_workers: int = 0,
        http_per_tenant: int = 2,
    ):
        self.engine = engine
        self.planner = planner
        self.senders = senders
        self.tenants = tenants
        self.sender_address = sender_address
        self.retry = retry
        self.job_retry = job_retry
        self.sending_stale = timedelta(seconds=sending_stale_s)
        self.batch = batch
        self.poll_s = poll_s
        self.clock = clock
        self.rand = rand
        self.on_settled = on_settled  # wakes the outbox relay
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # Webhook, chat and SMS requests go out on their own threads, at most `http_per_tenant`
        # at a time per tenant: one tenant's slow endpoint (10 s timeouts) holds back only that
        # tenant's requests, never another tenant's, nor any email. 0 workers: sent inline.
        self.http_per_tenant = http_per_tenant
        self._http_pool = (
            ThreadPoolExecutor(max_workers=http_workers, thread_name_prefix="notifications-http")
            if http_workers > 0
            else None
        )
        self._http_lock = threading.Lock()
        self._http_in_flight: Counter_[str] = Counter_()
        self._http_queued: set[str] = set()  # handed to the pool, not finished: never handed twice

    # -- thread --

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="notifications-dispatcher", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 15.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout)
        if self._http_pool is not None:
            self._http_pool.shutdown(wait=True, cancel_futures=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                busy = self.run_once()
            except Exception:
                log.exception("dispatcher pass failed; trying again")
                busy = False
                self._stop.wait(1.0)
            if not busy:
                self._wake.wait(self.poll_s)
                self._wake.clear()

    def run_once(self) -> bool:
        """One pass; True when there may be more to do right away."""
        now = self.clock()
        self.fail_interrupted(now)
        jobs = db.due_jobs(self.engine, now, self.batch)
        for job in jobs:
            self.plan(job, now)
        rows = db.due_deliveries(
            self.engine, self.clock(), self.batch, busy_http_tenants=self._busy_http_tenants()
        )
        groups = coalesce_staff_mail(
            rows,
            channel=lambda r: r.channel,
            recipient=lambda r: r.recipient,
            priority_class=lambda r: r.priority_class,
        )
        for group in groups:
            if self._stop.is_set():
                break
            if len(group) == 1 and group[0].channel != Channel.EMAIL and self._http_pool is not None:
                self._deliver_http_later(group[0])
            elif len(group) == 1:
                self.deliver(group[0])
            else:
                self.deliver_digest(group)
        return len(jobs) == self.batch or len(rows) == self.batch

    # -- HTTP channels, isolated per tenant --

    def _busy_http_tenants(self) -> set[str]:
        with self._http_lock:
            return {t for t, n in self._http_in_flight.items() if n >= self.http_per_tenant}

    def _deliver_http_later(self, row: db.DeliveryRow) -> bool:
        """Hand an HTTP delivery to the pool unless its tenant is at its limit (then it stays
        pending for a later pass). The claim (start_attempt) happens on the pool's thread."""
        assert self._http_pool is not None
        with self._http_lock:
            if row.notification_id in self._http_queued:
                return True
            if self._http_in_flight[row.tenant] >= self.http_per_tenant:
                return False
            self._http_in_flight[row.tenant] += 1
            self._http_queued.add(row.notification_id)

        def run() -> None:
            try:
                self.deliver(row)
            except Exception:
                log.exception("delivering %s failed unexpectedly", row.notification_id)
            finally:
                with self._http_lock:
                    self._http_in_flight[row.tenant] -= 1
                    self._http_queued.discard(row.notification_id)
                self.wake()

        self._http_pool.submit(run)
        return True

    def http_in_flight(self) -> int:
        with self._http_lock:
            return sum(self._http_in_flight.values())

    def drain(self, max_passes: int = 100) -> None:
        """Run passes until nothing is due (tests and tools; the thread does this continuously)."""
        for _ in range(max_passes):
            while self.http_in_flight():
                time.sleep(0.01)
            # A pass may hand requests to the pool and find nothing else due: those are still
            # 'sending' until their threads finish, so drained means nothing due *and* none in flight.
            if (
                not self.run_once()
                and not db.due_jobs(self.engine, self.clock(), 1)
                and not db.due_deliveries(self.engine, self.clock(), 1)
                and not self.http_in_flight()
            ):
                return

    # -- planning --

    def plan(self, job: db.NotificationJob, now: datetime) -> None:
        with Session(self.engine) as session:
            contact = session.get(db.ComplaintContact, job.complaint_id)
        try:
            planned = self.planner.plan_job(job, contact, now)
        except DirectoryUnavailable as exc:
            delay = self.job_retry.delay(job.attempts + 1, self.rand)
            JOBS_POSTPONED.inc()
            log.warning(
                "planning %s waits for the directory (%s); again in %.1fs", job.event_name, exc, delay
            )
            db.postpone_job(
                self.engine, job.trigger_event_id, error=describe(exc), at=now + timedelta(seconds=delay)
            )
            return
        rows = [row for row, _ in planned]
        db.plan_deliveries(self.engine, job.trigger_event_id, rows)
        for row, refusal in planned:
            if refusal:
                self._fail(row, refusal, from_status=DeliveryStatus.PENDING, attempts=0)
        self.wake()

    # -- delivering --

    def fail_interrupted(self, now: datetime) -> None:
        """Attempts whose sender died: an email interrupted before its message went to the server
        delivered nothing and is made again; past that point the outcome is unknown, and it is
        failed (visible, retryable by hand) rather than risk sending it twice."""
        for row in db.stale_sending(self.engine, now - self.sending_stale):
            if row.channel == Channel.EMAIL and row.handed_over_at is None:
                if db.retry_interrupted(self.engine, row.notification_id, attempts=row.attempts, now=now):
                    INTERRUPTED_RETRIED.inc()
                    log.warning(
                        "attempt %d of %s was interrupted before DATA: sending again",
                        row.attempts,
                        row.notification_id,
                    )
                continue
            reason = (
                f"interrupted during attempt {row.attempts}: the outcome is unknown, so it is not sent again"
            )
            self._fail(row, reason, from_status=DeliveryStatus.SENDING, attempts=row.attempts)

    def deliver(self, row: db.DeliveryRow) -> DeliveryStatus | None:
        """One attempt at one due delivery. None when another sender took it first."""
        now = self.clock()
        if not db.start_attempt(self.engine, row.notification_id, expected_attempts=row.attempts, now=now):
            return None
        try:
            self.send(row)
        except Exception as exc:
            return self._attempt_failed(row, exc)
        SEND_ATTEMPTS.labels(row.channel, "ok").inc()
        return self._sent(row)

    def deliver_digest(self, rows: list[db.DeliveryRow]) -> list[DeliveryStatus | None]:
        """One attempt at several due emails to one staff member, sent as one digest message;
        each delivery is still claimed, settled and reported (NotificationSent) on its own."""
        now = self.clock()
        claimed = [
            r
            for r in rows
            if db.start_attempt(self.engine, r.notification_id, expected_attempts=r.attempts, now=now)
        ]
        if not claimed:
            return []
        if len(claimed) == 1:
            row = claimed[0]
            try:
                self.send(row)
            except Exception as exc:
                return [self._attempt_failed(row, exc)]
            SEND_ATTEMPTS.labels(row.channel, "ok").inc()
            return [self._sent(row)]
        first = claimed[0]
        rendered = self.planner.renderer.render(
            "staff_digest",
            first.language,
            {
                "count": len(claimed),
                "items": [{"subject": r.subject, "text": r.text.strip()} for r in claimed],
            },
        )
        message = smtp_adapter.build_message(
            rendered, sender=self.sender_address, recipient=first.recipient,
            notification_id=f"digest-{first.notification_id}",
        )  # fmt: skip
        try:
            self.senders.email(message, before_data=self._handing_over(claimed))
        except Exception as exc:
            return [self._attempt_failed(r, exc) for r in claimed]
        SEND_ATTEMPTS.labels(first.channel, "ok").inc()
        DIGESTS.inc()
        DIGESTED.inc(len(claimed))
        return [self._sent(r) for r in claimed]

    def _handing_over(self, rows: list[db.DeliveryRow]) -> Callable[[], None]:
        ids = [r.notification_id for r in rows]
        return lambda: db.mark_handed_over(self.engine, ids, now=self.clock())

    def _attempt_failed(self, row: db.DeliveryRow, exc: Exception) -> DeliveryStatus | None:
        attempts = row.attempts + 1
        transient = self.is_transient(row.channel, exc)
        SEND_ATTEMPTS.labels(row.channel, "transient" if transient else "permanent").inc()
        log.warning("sending %s (%s) failed: %s", row.notification_id, row.channel, describe(exc))
        if transient and not self.retry.exhausted(attempts):
            delay = self.retry.delay(attempts, self.rand)
            db.reschedule(
                self.engine, row.notification_id, attempts=attempts, error=describe(exc),
                at=self.clock() + timedelta(seconds=delay), now=self.clock(),
            )  # fmt: skip
            return DeliveryStatus.PENDING
        row.attempts = attempts
        return self._fail(row, describe(exc), from_status=DeliveryStatus.SENDING, attempts=attempts)

    @staticmethod
    def is_transient(channel: str, exc: BaseException) -> bool:
        if channel == Channel.EMAIL:
            return smtp_adapter.is_transient(exc)
        return http_transient(exc)

    def send(self, row: db.DeliveryRow) -> None:
        tenant = self.tenants.get(row.tenant)
        if row.channel == Channel.EMAIL:
            rendered = RenderedMessage(row.template, row.language, "", row.subject, row.text, row.html)
            message = smtp_adapter.build_message(
                rendered,
                sender=self.sender_address,
                recipient=row.recipient,
                notification_id=row.notification_id,
                reference=row.reference,
                complaint_id=row.complaint_id,
                in_reply_to=smtp_adapter.in_reply_to(row.payload),
            )
            self.senders.email(message, before_data=self._handing_over([row]))
        elif row.channel == Channel.WEBHOOK:
            hook = next((h for h in tenant.webhooks if h.id == row.recipient_id), None)
            if hook is None:
                raise LookupError(f"webhook {row.recipient_id!r} is no longer configured")
            event_type = json.loads(row.payload).get("type", "")
            self.senders.http.webhook(
                hook.url,
                hook.secret,
                row.payload.encode("utf-8"),
                delivery_id=row.notification_id,
                event_type=event_type,
            )
        elif row.channel == Channel.CHAT and row.audience == Audience.CUSTOMER:
            thread = parse_thread(row.recipient)
            if thread is None:
                raise UrlRefused(f"{row.recipient[:80]!r} is not a chat thread")
            self.senders.http.chat_reply(
                tenant.chat_replies_to,
                reply_body(thread, row.text, delivery_id=row.notification_id, reference=row.reference),
                token=tenant.chat_reply_token, secret=tenant.chat_reply_secret,
                delivery_id=row.notification_id,
            )  # fmt: skip
        elif row.channel == Channel.CHAT:
            mention = row.recipient if row.recipient.startswith("<") else f"<@{row.recipient.lstrip('@')}>"
            self.senders.http.chat(
                tenant.chat_webhook_url,
                f"{mention} *{row.subject}*\n{row.text}",
                delivery_id=row.notification_id,
            )
        elif row.channel == Channel.SMS:
            self.senders.http.sms(
                tenant.sms_provider_url, tenant.sms_provider_token, row.recipient, row.text,
                delivery_id=row.notification_id, reference=row.reference,
            )  # fmt: skip
        else:
            raise LookupError(f"no adapter for channel {row.channel!r}")

    def _sent(self, row: db.DeliveryRow) -> DeliveryStatus | None:
        now = self.clock()
        key = db.key_of(row)
        msg = events_pb2.NotificationSent(
            complaint_id=row.complaint_id,
            notification_id=row.notification_id,
            channel=row.channel,
            recipient=row.recipient,
            template=row.template,
            language=row.language,
            trigger_event_id=row.trigger_event_id,
        )
        msg.sent_at.FromDatetime(now)
        event = new_event(msg, source=SOURCE, subject=row.complaint_id, event_id=key.sent_event_id, time=now)
        if not db.mark_sent(self.engine, row.notification_id, event, now=now):
            return None
        NOTIFICATIONS.labels(row.channel, row.template, "sent").inc()
        log.info("sent %s %s on %s for %s", row.template, row.notification_id, row.channel, row.complaint_id)
        self.on_settled()
        return DeliveryStatus.SENT

    def _fail(
        self, row: db.DeliveryRow, reason: str, *, from_status: DeliveryStatus, attempts: int
    ) -> DeliveryStatus | None:
        """The last word on a delivery: NotificationFailed for escalation and ops, and a DeadLetter
        with what was to be sent, so it can be inspected and retried."""
        now = self.clock()
        key = db.key_of(row)
        failed = events_pb2.NotificationFailed(
            complaint_id=row.complaint_id,
            notification_id=row.notification_id,
            channel=row.channel,
            recipient=row.recipient,
            template=row.template,
            reason=reason,
            attempts=attempts,
            trigger_event_id=row.trigger_event_id,
        )
        failed_event = new_event(
            failed,
            source=SOURCE,
            subject=row.complaint_id,
            event_id=key.failed_event_id(row.manual_retries),
            time=now,
        )
        letter = events_pb2.DeadLetter(
            source_topic=topics.LIFECYCLE_TOPIC,
            partition=-1,  # not a refused record: a delivery that could not be made
            offset=-1,
            reason=reason,
            original_value=json.dumps(
                {
                    "notification_id": row.notification_id,
                    "subject": row.subject,
                    "text": row.text,
                    "payload": row.payload,
                },
                ensure_ascii=False,
            ).encode("utf-8"),
            original_headers={
                "notification_id": row.notification_id,
                "complaint_id": row.complaint_id,
                "trigger_event_id": row.trigger_event_id,
                "channel": row.channel,
                "template": row.template,
                "audience": row.audience,
            },
            service="notifications",
        )
        letter.failed_at.FromDatetime(now)
        letter_event = new_event(
            letter,
            source=SOURCE,
            subject=row.notification_id,
            event_id=key.dead_letter_id(row.manual_retries),
            time=now,
        )
        if not db.mark_failed(
            self.engine,
            row.notification_id,
            [(failed_event, topics.LIFECYCLE_TOPIC), (letter_event, topics.DEAD_LETTER_TOPIC)],
            from_status=from_status,
            expected_attempts=attempts,
            error=reason,
            now=now,
        ):
            return None
        NOTIFICATIONS.labels(row.channel, row.template, "failed").inc()
        log.warning("%s %s for %s failed: %s", row.template, row.notification_id, row.complaint_id, reason)
        self.on_settled()
        return DeliveryStatus.FAILED
