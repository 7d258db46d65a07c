"""Notifications' use cases: turn lifecycle events into deliveries, deliver them at most once, and
let ops preview, list and retry.

Three steps, each with its own transaction, so the consumer never waits on a mail server:
  1. record  - the consumer's unit of work stores the event as a job (and what it says about the
               complaint) with the processed-event marker: an event is never lost, even when
               planning must wait for routing's directory;
  2. plan    - the dispatcher decides who hears what, renders and checks every message, and claims
               all deliveries of the job together with marking it planned. The delivery key
               (trigger event, recipient, channel) is unique: a key is never claimed twice;
  3. deliver - each attempt is marked "sending" (compare-and-set) and committed before it starts;
               success, a rescheduled retry (exponential backoff, full jitter) or the final
               failure (NotificationFailed + DeadLetter, via the outbox) is committed after it.
A delivery found "sending" after a crash is not sent again: its outcome is unknown, and a message
received twice is worse than one failure that ops can see and retry (`haq notify retry`).
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections import Counter as Counter_
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from google.protobuf.json_format import MessageToDict
from prometheus_client import Counter
from sqlalchemy.engine import Engine
from sqlmodel import Session

from services.common import portal_links, topics
from services.common.codec import Envelope, new_event
from services.common.db import as_utc, utcnow
from services.common.handler import Batched
from services.common.lifecycle import CaseLifecycle, fold
from services.common.pb.haq.v1 import complaint_pb2, events_pb2

from .adapters import db
from .adapters import smtp as smtp_adapter
from .adapters.directory import DirectorySnapshot, DirectoryUnavailable
from .adapters.http_channels import HttpChannels
from .adapters.http_channels import is_transient as http_transient
from .adapters.tenant_config import TenantBook
from .domain import guard
from .domain.audience import CUSTOMER_EVENTS, CaseState, Planned, TeamLadder, Trigger, needs_directory, plan
from .domain.model import (
    Audience,
    Channel,
    DeliveryKey,
    DeliveryStatus,
    Template,
    coalesce_staff_mail,
    delivery_class,
)
from .domain.schedule import RetryPolicy
from .domain.templates import RenderedMessage, TemplateRenderer, choose_language
from .domain.tenant import StaffProfile, TenantConfig

SOURCE = "/haq/notifications"
log = logging.getLogger(__name__)

NOTIFICATIONS = Counter(
    "haq_notifications_total", "Deliveries by outcome", ["channel", "template", "outcome"]
)
SEND_ATTEMPTS = Counter("haq_notification_attempts_total", "Send attempts", ["channel", "outcome"])
GUARD_FINDINGS = Counter("haq_response_guard_findings_total", "Response guard findings", ["rule", "source"])
INTERRUPTED_RETRIED = Counter(
    "haq_notification_interrupted_retried_total", "Email attempts interrupted before DATA and made again"
)
DIGESTS = Counter("haq_notification_digests_total", "Digest emails sent: a staff member's mail due together")
DIGESTED = Counter("haq_notification_digested_total", "Deliveries that went out inside a digest email")
JOBS_POSTPONED = Counter("haq_notification_jobs_postponed_total", "Jobs waiting on routing's directory")

CHANNELS = {
    complaint_pb2.CHANNEL_WEB: "web",
    complaint_pb2.CHANNEL_EMAIL: "email",
    complaint_pb2.CHANNEL_CHAT: "chat",
    complaint_pb2.CHANNEL_SOCIAL: "social",
    complaint_pb2.CHANNEL_PHONE: "phone",
    complaint_pb2.CHANNEL_PARTNER: "partner",
}
# Every event a notification or a webhook subscriber may need.
HANDLED_EVENTS = (
    "ComplaintReceived",
    "ComplaintRouted",
    "OwnerAssigned",
    "OwnerAccepted",
    "OwnerReplaced",
    "TransferRequested",
    "TransferAccepted",
    "SlaWarning",
    "SlaBreached",
    "Escalated",
    "CustomerFollowedUp",
    "AgentResponded",
    "InfoRequested",
    "Resolved",
    "Reopened",
    "Closed",
    "PortalLinkRequested",
    "ComplaintRated",
)
# Values the agent wrote: checked for length as well as phrases.
AUTHORED_FIELDS = ("body", "question", "summary")


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]


class Blocked(Exception):
    """The response guard refused the message (tenant in block mode)."""


@dataclass(frozen=True)
class Senders:
    """The channel adapters: email takes a built message; HTTP channels are in HttpChannels."""

    email: Callable[..., None]  # (message, before_data=callback run just before SMTP DATA)
    http: HttpChannels


# ---------------------------------------------------------------------------------------------
# 1. record: the consumer's handlers


class Recorder:
    """Lifecycle handlers, applied once per event id inside the consumer's unit of work."""

    def __init__(self, clock: Callable[[], datetime] = utcnow, wake: Callable[[], None] = lambda: None):
        self.clock = clock
        self.wake = wake

    def handlers(self) -> dict[str, Callable[[Session, Envelope], None]]:
        batched = Batched(self.on_events)
        return {name: batched for name in HANDLED_EVENTS}

    def on_event(self, session: Session, envelope: Envelope) -> None:
        self.on_events(session, [envelope])

    def on_events(self, session: Session, envelopes: list[Envelope]) -> None:
        """A batch of events: each complaint's contact row read once, one INSERT of the jobs."""
        complaint_ids = [self._complaint_id(e) for e in envelopes]
        contacts = db.load_contacts(session, set(complaint_ids))
        for envelope, complaint_id in zip(envelopes, complaint_ids, strict=True):
            values = self._contact_values(envelope, contacts.get(complaint_id))
            if values:
                contact = contacts.get(complaint_id)
                if contact is None:
                    contact = contacts[complaint_id] = db.ComplaintContact(complaint_id=complaint_id)
                for name, value in values.items():
                    setattr(contact, name, value)
                contact.updated_at = utcnow()
                session.add(contact)
        db.add_jobs(session, list(zip(envelopes, complaint_ids, strict=True)), self.clock())
        # The jobs commit with the consumer's transaction; the dispatcher polls too, so an early
        # wake only makes it look sooner.
        self.wake()

    @staticmethod
    def _complaint_id(envelope: Envelope) -> str:
        msg: Any = envelope.message
        if envelope.name == "ComplaintReceived":
            return msg.complaint.id or envelope.subject
        return getattr(msg, "complaint_id", "") or envelope.subject

    @staticmethod
    def _contact_values(envelope: Envelope, contact: db.ComplaintContact | None) -> dict[str, object]:
        msg: Any = envelope.message
        if envelope.name != "ComplaintReceived":
            return case_update(contact, envelope.name, msg)
        c = msg.complaint
        return {
            "tenant": c.tenant,
            "reference": c.reference,
            "email": c.customer.email.strip(),
            "phone": c.customer.phone.strip(),
            "language": c.language,
            "display_name": c.customer.display_name.strip(),
            "channel": CHANNELS.get(c.channel, ""),
            "preferred_channel": c.metadata.get("preferred_channel")
            or c.metadata.get("notify_channel")
            or "",
            "received_at": _when(c.received_at),
        }


def case_update(row: db.ComplaintContact | None, name: str, msg: Any) -> dict[str, object]:
    """What an event changes in the complaint's state as notifications keeps it: ownership,
    status and priority by the lifecycle fold every reader shares, plus who is kept informed."""
    before = CaseLifecycle(
        status=row.status, team=row.team, owner=row.owner, owner_is_duty_lead=row.owner_is_duty_lead,
        priority=row.priority,
    ) if row is not None else CaseLifecycle()  # fmt: skip
    after = fold(before, name, msg)
    update: dict[str, object] = {}
    if after != before:
        update = {
            "status": after.status, "owner": after.owner, "team": after.team,
            "owner_is_duty_lead": after.owner_is_duty_lead, "priority": after.priority,
        }  # fmt: skip
    if name == "ComplaintRouted":
        update["keep_informed"] = ",".join(msg.keep_informed)
    return update


# ---------------------------------------------------------------------------------------------
# 2. plan: events -> triggers -> deliveries


def _when(ts: Any) -> datetime | None:
    return ts.ToDatetime(tzinfo=UTC) if ts.seconds or ts.nanos else None


def to_trigger(
    event_id: str, name: str, msg: Any, complaint_id: str, low_rating: LowRatingRule | None = None
) -> Trigger:
    """The planning view of an event: who it names and the values its templates use."""
    values: dict[str, Any] = {}
    staff: tuple[str, ...] = ()
    level = clock = reply_channel = ""
    if name == "ComplaintReceived":
        values["received_at"] = _when(msg.complaint.received_at)
    elif name == "AgentResponded":
        values |= {"body": msg.body, "agent": msg.agent}
        reply_channel = msg.channel
    elif name == "InfoRequested":
        values |= {"question": msg.question, "agent": msg.agent}
    elif name == "Resolved":
        values |= {"summary": msg.summary, "resolved_at": _when(msg.resolved_at), "agent": msg.owner}
    elif name == "Reopened":
        values |= {"reason": msg.reason}
    elif name == "PortalLinkRequested":
        values |= {"portal_url": msg.url, "expires_at": _when(msg.expires_at)}
    elif name == "ComplaintRated":
        values |= {"rating": msg.rating, "comment": msg.comment}
        if low_rating is not None and low_rating.alerts(msg.rating):
            level = "team_lead"
    elif name == "OwnerAssigned":
        staff = (msg.owner,)
        values |= {"accept_by": _when(msg.accept_by), "team": msg.team}
    elif name == "OwnerReplaced":
        staff = (msg.new_owner,)
        values |= {"reason": msg.reason, "team": msg.team}
    elif name == "TransferAccepted":
        staff = (msg.new_owner,)
        values |= {"team": msg.new_team}
    elif name == "SlaWarning":
        staff = (msg.owner,) if msg.owner else ()
        clock = msg.clock.name
        values |= {
            "clock": msg.clock.name,
            "due_at": _when(msg.clock.due_at),
            "share_elapsed": round(msg.share_elapsed * 100),
        }
    elif name == "CustomerFollowedUp":
        values |= {"follow_up": msg.body}
    elif name == "Escalated":
        staff = tuple(msg.notify)
        level = msg.level
        values |= {"level": msg.level, "reason": msg.reason, "owner": msg.owner, "team": msg.team}
    return Trigger(event_id, name, complaint_id, staff, level, clock, reply_channel, values)


def case_from(row: db.ComplaintContact | None, complaint_id: str) -> CaseState:
    if row is None:
        return CaseState(complaint_id=complaint_id)
    return CaseState(
        complaint_id=row.complaint_id,
        tenant=row.tenant or "default",
        reference=row.reference,
        language=choose_language(row.language),
        email=row.email,
        phone=row.phone,
        display_name=row.display_name,
        channel=row.channel,
        preferred_channel=row.preferred_channel,
        owner=row.owner,
        team=row.team,
        priority=row.priority,
        keep_informed=tuple(p for p in row.keep_informed.split(",") if p),
    )


TEMPLATE_KEYS = (
    "body", "question", "summary", "reason", "agent_name", "accept_by", "due_at", "clock", "share_elapsed",
    "level", "owner", "team", "priority", "follow_up", "resolved_at", "respond_by", "recipient_name",
    "portal_url", "rating", "comment",
)  # fmt: skip


@dataclass(frozen=True)
class LowRatingRule:
    """What a low rating does here (HAQ_NOTIFY_LOW_RATING_ACTION): alert_lead mails the team lead
    for a rating at or below the threshold; reopen (escalation reopens the case) and none send
    nothing from notifications."""

    action: str = "alert_lead"
    threshold: int = 2

    def alerts(self, rating: int) -> bool:
        return self.action == "alert_lead" and 1 <= rating <= self.threshold


def template_values(
    trigger: Trigger,
    case: CaseState,
    tenant: TenantConfig,
    *,
    recipient_name: str,
    people: Mapping[str, StaffProfile],
) -> dict[str, Any]:
    """Everything a template may use (StrictUndefined: each key is present, possibly empty)."""
    values: dict[str, Any] = dict.fromkeys(TEMPLATE_KEYS, "")
    values |= {k: None for k in ("accept_by", "due_at", "resolved_at", "respond_by", "expires_at")}
    values["rating_links"] = []
    values |= {
        "reference": case.reference or case.complaint_id,
        "complaint_id": case.complaint_id,
        "display_name": case.display_name,
        "team": case.team,
        "owner": case.owner,
        "priority": case.priority,
        "time_zone": tenant.time_zone,
        "sender_name": tenant.sender_name if tenant.sender_name != "Haq customer care" else "",
        "recipient_name": recipient_name,
    }
    values |= {k: v for k, v in trigger.values.items() if v not in ("", None) or k not in values}
    agent = trigger.values.get("agent", "")
    if agent:
        values["agent_name"] = (people.get(agent) or StaffProfile(id=agent)).name or ""
    if trigger.name == "Resolved":
        # One link per score into the portal's rating form (signed; services/common/portal_links.py).
        values["rating_links"] = portal_links.rating_links(case.complaint_id, utcnow())
    if trigger.name == "ComplaintReceived":
        start = trigger.values.get("received_at") or utcnow()
        values["respond_by"] = start + timedelta(hours=tenant.respond_within_hours)
    return values


class Planner:
    """Who hears what for one job, rendered and guarded, as delivery rows."""

    def __init__(
        self,
        renderer: TemplateRenderer,
        tenants: TenantBook,
        directory: Any,
        low_rating: LowRatingRule = LowRatingRule(),
    ):
        self.low_rating = low_rating
        self.renderer = renderer
        self.tenants = tenants
        self.directory = directory  # .snapshot(tenant) -> DirectorySnapshot, or raises DirectoryUnavailable

    def people(self, tenant: TenantConfig, snapshot: DirectorySnapshot) -> dict[str, StaffProfile]:
        merged = dict(snapshot.people)
        for pid, seed in tenant.staff.items():
            merged[pid] = seed.merged_over(merged[pid]) if pid in merged else seed
        return merged

    def plan_job(
        self, job: db.NotificationJob, contact: db.ComplaintContact | None, now: datetime
    ) -> list[tuple[db.DeliveryRow, str]]:
        """[(row, refusal)]: rows to claim; a non-empty refusal means the row is failed at once
        (nobody knows the person's address, or the guard blocked the message)."""
        msg = getattr(events_pb2, job.event_name).FromString(job.event_value)
        trigger = to_trigger(job.trigger_event_id, job.event_name, msg, job.complaint_id, self.low_rating)
        case = case_from(contact, job.complaint_id)
        tenant = self.tenants.get(case.tenant)
        snapshot = DirectorySnapshot()
        if needs_directory(trigger, case):
            snapshot = self.directory.snapshot(case.tenant)  # DirectoryUnavailable: try later
        people = self.people(tenant, snapshot)
        ladder = snapshot.teams.get(case.team) or TeamLadder()
        planned = plan(trigger, case, tenant, person=people.get, ladder=ladder, now=now)
        return [self._row(p, trigger, case, tenant, people, msg, now) for p in planned]

    def _row(
        self, p: Planned, trigger: Trigger, case: CaseState, tenant: TenantConfig,
        people: Mapping[str, StaffProfile], msg: Any, now: datetime,
    ) -> tuple[db.DeliveryRow, str]:  # fmt: skip
        key = DeliveryKey.of(trigger.event_id, p.channel, p.address or p.recipient_id)
        row = db.DeliveryRow(
            notification_id=key.notification_id,
            complaint_id=case.complaint_id,
            trigger_event_id=trigger.event_id,
            recipient=key.recipient,
            channel=p.channel,
            template=p.template.value,
            language=choose_language(p.language),
            tenant=case.tenant,
            audience=p.audience.value,
            recipient_id=p.recipient_id,
            reference=case.reference,
            priority_class=delivery_class(p.template.value, p.audience.value, case.priority),
            next_attempt_at=p.hold_until or now,
            created_at=now,
            updated_at=now,
        )
        if p.channel == Channel.EMAIL and p.audience is Audience.CUSTOMER:
            row.payload = smtp_adapter.thread_payload(msg)  # the customer's Message-ID, if they mailed
        if p.template is Template.EVENT:
            row.payload = json.dumps(
                {
                    "id": key.notification_id,
                    "type": f"haq.v1.{trigger.name}",
                    "event_id": trigger.event_id,
                    "complaint": {
                        "id": case.complaint_id,
                        "reference": case.reference,
                        "tenant": case.tenant,
                    },
                    "data": MessageToDict(msg, preserving_proto_field_name=True),
                },
                ensure_ascii=False,
                sort_keys=True,
            )
            return row, ""
        if not p.address:
            return row, f"no {p.channel} address for {p.recipient_id}"
        name = (people.get(p.recipient_id) or StaffProfile(id=p.recipient_id)).name or p.recipient_id
        values = template_values(trigger, case, tenant, recipient_name=name, people=people)
        rendered = self.renderer.render(p.template.value, p.language, values)
        row.subject, row.text, row.html, row.language = (
            rendered.subject,
            rendered.text,
            rendered.html,
            rendered.language,
        )
        if p.audience is Audience.CUSTOMER:
            verdict = check_public(rendered, trigger, tenant)
            if not verdict.allowed:
                phrases = "; ".join(f.phrase for f in verdict.findings)
                return row, f"blocked by the response guard ({tenant.guard_mode}): {phrases}"
        return row, ""


def check_public(rendered: RenderedMessage, trigger: Trigger, tenant: TenantConfig) -> guard.Verdict:
    """The guard on a customer message: phrases in everything we send, length in what the agent wrote."""
    authored = "\n".join(str(trigger.values.get(k, "")) for k in AUTHORED_FIELDS if trigger.values.get(k))
    whole = guard.check(rendered.subject + "\n" + rendered.text, mode=tenant.guard_mode, max_chars=0)
    length = guard.check(
        authored, mode=tenant.guard_mode, language=rendered.language, max_chars=tenant.max_reply_chars
    )
    findings = whole.findings + tuple(f for f in length.findings if f.rule is guard.Rule.TOO_LONG)
    source = "agent_response" if trigger.name in CUSTOMER_EVENTS and authored else "template"
    for f in findings:
        GUARD_FINDINGS.labels(f.rule.value, source).inc()
    if findings:
        log.warning(
            "response guard: %d finding(s) in %s for %s (%s)",
            len(findings), trigger.name, trigger.complaint_id, ", ".join(f.rule.value for f in findings),
        )  # fmt: skip
    return guard.Verdict(whole.mode, findings)


# ---------------------------------------------------------------------------------------------
# 3. deliver


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
            if (
                not self.run_once()
                and not db.due_jobs(self.engine, self.clock(), 1)
                and not db.due_deliveries(self.engine, self.clock(), 1)
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


# ---------------------------------------------------------------------------------------------
# NotificationAdmin


class NotFound(Exception):
    pass


class NotRetryable(Exception):
    pass


class Admin:
    def __init__(
        self,
        engine: Engine,
        planner: Planner,
        tenants: TenantBook,
        dispatcher: Dispatcher | None,
        clock: Callable[[], datetime] = utcnow,
    ):
        self.engine = engine
        self.planner = planner
        self.tenants = tenants
        self.dispatcher = dispatcher
        self.clock = clock

    def list_deliveries(self, complaint: str, status: str = "") -> list[db.DeliveryRow]:
        with Session(self.engine) as session:
            contact = db.find_contact(session, complaint)
            complaint_id = contact.complaint_id if contact else complaint
            return db.list_deliveries(session, complaint_id, status)

    def retry(self, notification_id: str) -> db.DeliveryRow:
        with Session(self.engine) as session:
            row = db.get_delivery(session, notification_id)
        if row is None:
            raise NotFound(f"no delivery {notification_id!r}")
        requeued = db.requeue_failed(self.engine, notification_id, now=self.clock())
        if requeued is None:
            raise NotRetryable(
                f"delivery {notification_id} is {row.status}; only a failed delivery can be retried"
            )
        if self.dispatcher is not None:
            self.dispatcher.wake()
        return requeued

    def check(self, tenant: str, language: str, body: str) -> guard.Verdict:
        config = self.tenants.get(tenant)
        return guard.check(body, mode=config.guard_mode, language=language, max_chars=config.max_reply_chars)

    def preview(
        self, complaint: str, template: str, language: str = ""
    ) -> tuple[RenderedMessage, guard.Verdict]:
        Template(template)  # ValueError for an unknown name
        with Session(self.engine) as session:
            contact = db.find_contact(session, complaint)
        if contact is None:
            raise NotFound(f"no complaint {complaint!r} known to notifications")
        case = case_from(contact, contact.complaint_id)
        tenant = self.tenants.get(case.tenant)
        now = self.clock()
        sample: dict[str, Any] = {
            "body": "(the agent's reply)", "question": "(the agent's question)", "summary": "(the resolution summary)",
            "follow_up": "(the customer's message)", "reason": "", "level": "team_lead", "clock": "first_response",
            "share_elapsed": 80, "accept_by": now + timedelta(minutes=30), "due_at": now + timedelta(hours=1),
            "resolved_at": now, "received_at": as_utc(contact.received_at) or now,
        }  # fmt: skip
        name = "ComplaintReceived" if template == Template.ACKNOWLEDGEMENT else ""
        trigger = Trigger("preview", name, case.complaint_id, values=sample)
        values = template_values(trigger, case, tenant, recipient_name=case.owner or "colleague", people={})
        rendered = self.planner.renderer.render(template, language or case.language, values)
        return rendered, guard.check(
            rendered.subject + "\n" + rendered.text, mode=tenant.guard_mode, max_chars=0
        )
