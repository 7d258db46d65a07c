"""Intake's use cases: record a complaint or a follow-up (with the event announcing it, in one
transaction), recognise the customer across channels, and keep the case file.

Every channel (gRPC, the raw integration topic, the HTTP CloudEvents endpoint) comes through here.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from google.protobuf import json_format
from prometheus_client import Counter
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from services.common import topics
from services.common.codec import Envelope, new_event
from services.common.db import as_utc, utcnow
from services.common.group_commit import GroupCommit
from services.common.handler import Batched
from services.common.lifecycle import CaseLifecycle, fold
from services.common.outbox import OutboxRelay, stage
from services.common.pb.haq.v1 import complaint_pb2, events_pb2
from services.common.proto_values import to_timestamp

from .adapters import db, mapping
from .adapters.db import (
    ClockRow,
    ComplaintRow,
    Customer,
    CustomerIdentity,
    FollowUpRow,
    IdempotencyRecord,
    NotificationRow,
    TimelineRow,
    find_idempotency,
)
from .domain import casefile
from .domain.draft import (
    CHANNELS,
    MAX_BODY,
    MAX_IDEMPOTENCY_KEY,
    MAX_TENANT,
    Draft,
    FieldError,
    ValidDraft,
    text_problem,
    validate,
)
from .domain.identity import IdentityKey
from .domain.reference import canonical_reference, looks_like_reference, new_reference

SOURCE = "/haq/intake"
MAX_COMPLAINT_REF = 64  # a complaint id (36) or reference, as a follow-up names it
MAX_HISTORY_IDS = 100  # earlier complaint ids and owners a ComplaintReceived carries (docs/limits.md)

# Counted from the case file's projection, which sees every lifecycle event exactly once. SLA
# breaches and notification outcomes are counted where they happen (escalation, notifications).
COMPLAINT_EVENTS = Counter("haq_complaints_total", "Complaint lifecycle events by stage", ["stage"])


# A channel's own rows, added in the transaction of the complaint or follow-up (session,
# complaint id, "complaint" | "follow_up"); see services/intake/mail_service.py.
AlsoRecord = Callable[[Session, str, str], None]


class NotFound(LookupError):
    pass


class InvalidRequest(ValueError):
    def __init__(self, field: str, problem: str):
        super().__init__(f"{field}: {problem}")
        self.error = FieldError(field, problem)


@dataclass(frozen=True)
class SubmitResult:
    complaint_id: str
    reference: str
    customer_id: str
    duplicate: bool
    language: str


@dataclass(frozen=True)
class FollowUpResult:
    follow_up_id: str
    complaint_id: str
    duplicate: bool


@dataclass(frozen=True)
class CaseView:
    complaint: ComplaintRow
    clocks: list[ClockRow]
    notifications: list[NotificationRow]
    timeline: list[TimelineRow]


@dataclass(frozen=True)
class CustomerView:
    customer: Customer
    identities: list[CustomerIdentity]
    complaints: list[ComplaintRow]


class IntakeService:
    def __init__(
        self,
        engine: Engine,
        default_tenant: str,
        relay: OutboxRelay | None = None,
        clock: Callable[[], datetime] = utcnow,
        phone_region: str = "IR",
        group_commit: GroupCommit | None = None,
    ):
        self.engine = engine
        self.default_tenant = default_tenant
        self.relay = relay
        self.clock = clock
        self.phone_region = phone_region
        self.group_commit = group_commit  # submissions share transactions (None: one each)
        # The consumer hands this handler a whole batch at once (one statement per table).
        self.apply_lifecycle_event = Batched(self.apply_lifecycle_events)

    # ---- complaints -------------------------------------------------------------------------
    def submit(self, draft: Draft, also: AlsoRecord | None = None) -> SubmitResult:
        """Record a complaint; raises DraftRejected naming every invalid field. `also` adds rows
        of a channel's own (an email's Message-ID) in the same transaction, for a new complaint."""
        now = self.clock()
        valid = validate(draft, self.default_tenant, now.date(), self.phone_region)
        # Three attempts: a concurrent submission with the same key or a brand-new identifier can
        # win the race for the unique row; the second attempt then finds what it committed.
        for attempt in range(3):
            try:
                result = self._submit_once(valid, now, also)
                break
            except IntegrityError:
                if attempt == 2:
                    raise
        if not result.duplicate and self.relay is not None:
            self.relay.wake()
        return result

    def _submit_once(self, valid: ValidDraft, now: datetime, also: AlsoRecord | None = None) -> SubmitResult:
        """One durable submission: in the next group's transaction, or alone."""

        def record(session: Session) -> SubmitResult:
            result = self._record_complaint(session, valid, now)
            if also is not None and not result.duplicate:
                also(session, result.complaint_id, "complaint")
            return result

        if self.group_commit is not None:
            return self.group_commit.run(record)
        with Session(self.engine) as session:
            result = record(session)
            session.commit()
            return result

    def _record_complaint(self, session: Session, valid: ValidDraft, now: datetime) -> SubmitResult:
        """Add the complaint, its identifiers and the event announcing it; the caller commits."""
        d = valid.draft
        if d.idempotency_key:
            seen = find_idempotency(session, d.tenant, "complaint", d.idempotency_key)
            if seen is not None:
                row = session.get(ComplaintRow, seen.complaint_id)
                assert row is not None
                return SubmitResult(row.id, row.reference, row.customer_id, True, row.language)
        customer = self._resolve_customer(session, d.tenant, valid.identities, d.customer.display_name, now)
        # Only what the history needs, not every earlier complaint's text.
        earlier = session.exec(
            select(ComplaintRow.id, ComplaintRow.status, ComplaintRow.owner)
            .where(ComplaintRow.customer_id == customer.id)
            .order_by(col(ComplaintRow.received_at))
        ).all()
        complaint_id = str(uuid.uuid4())
        reference = self._unused_reference(session)
        row = ComplaintRow(
            id=complaint_id,
            reference=reference,
            tenant=d.tenant,
            customer_id=customer.id,
            channel=d.channel,
            sector=d.sector,
            complainant_role=d.complainant_role,
            subject=d.subject,
            body=d.body,
            language=valid.language,
            product=d.product,
            purchase_date=d.purchase_date,
            category=d.category,
            metadata_json=mapping.metadata_to_json(d.metadata),
            customer_json=mapping.customer_to_json(d.customer),
            idempotency_key=d.idempotency_key,
            received_at=now,
            updated_at=now,
        )
        session.add(row)
        if d.idempotency_key:
            session.add(
                IdempotencyRecord(
                    tenant=d.tenant,
                    key=d.idempotency_key,
                    kind="complaint",
                    result_id=complaint_id,
                    complaint_id=complaint_id,
                )
            )
        event = events_pb2.ComplaintReceived(
            complaint=complaint_message(row),
            history=complaint_pb2.CustomerHistory(
                previous_complaints=len(earlier),
                open_complaints=sum(1 for c in earlier if c.status in casefile.OPEN_STATUSES),
                # The most recent ones: an account with 28,000 complaints must not make an
                # event larger than the broker takes (the count above stays whole).
                previous_complaint_ids=[c.id for c in earlier[-MAX_HISTORY_IDS:]],
                previous_owners=list(dict.fromkeys(c.owner for c in reversed(earlier) if c.owner))[
                    :MAX_HISTORY_IDS
                ],
            ),
        )
        event.history.first_seen_at.CopyFrom(to_timestamp(customer.first_seen_at))
        stage(
            session,
            new_event(
                event, source=SOURCE, subject=complaint_id, event_id=f"received:{complaint_id}", time=now
            ),
            topics.LIFECYCLE_TOPIC,
        )
        return SubmitResult(complaint_id, reference, customer.id, False, valid.language)

    def _unused_reference(self, session: Session) -> str:
        for _ in range(20):
            ref = new_reference()
            if session.exec(select(ComplaintRow.id).where(ComplaintRow.reference == ref)).first() is None:
                return ref
        raise RuntimeError("could not find an unused reference")

    def _resolve_customer(
        self,
        session: Session,
        tenant: str,
        identities: tuple[IdentityKey, ...],
        display_name: str,
        now: datetime,
    ) -> Customer:
        """One profile per person: any known identifier finds them; identifiers of two profiles
        seen together merge the profiles (the oldest one stays), so history is never split."""
        known = [session.get(CustomerIdentity, (tenant, k.kind, k.value)) for k in identities]
        customer_ids = {ident.customer_id for ident in known if ident is not None}
        customers = [c for c in (session.get(Customer, cid) for cid in customer_ids) if c is not None]
        customers = [self._follow_merges(session, c) for c in customers]
        customers = list({c.id: c for c in customers}.values())
        if not customers:
            customer = Customer(
                id=str(uuid.uuid4()), tenant=tenant, display_name=display_name, first_seen_at=now
            )
            session.add(customer)
            session.flush()
        else:
            customers.sort(key=lambda c: (as_utc(c.first_seen_at), c.id))
            customer = customers[0]
            for other in customers[1:]:
                self._merge(session, other, into=customer)
            if display_name and not customer.display_name:
                customer.display_name = display_name
                session.add(customer)
        for key, ident in zip(identities, known, strict=True):
            if ident is None:
                session.add(
                    CustomerIdentity(tenant=tenant, kind=key.kind, value=key.value, customer_id=customer.id)
                )
        return customer

    @staticmethod
    def _follow_merges(session: Session, customer: Customer) -> Customer:
        while customer.merged_into:
            nxt = session.get(Customer, customer.merged_into)
            if nxt is None:
                break
            customer = nxt
        return customer

    @staticmethod
    def _merge(session: Session, other: Customer, into: Customer) -> None:
        for ident in session.exec(select(CustomerIdentity).where(CustomerIdentity.customer_id == other.id)):
            ident.customer_id = into.id
            session.add(ident)
        for complaint in session.exec(select(ComplaintRow).where(ComplaintRow.customer_id == other.id)):
            complaint.customer_id = into.id
            session.add(complaint)
        other.merged_into = into.id
        session.add(other)

    # ---- follow-ups ---------------------------------------------------------------------------
    def add_follow_up(
        self,
        complaint: str,
        body: str,
        channel: str,
        idempotency_key: str = "",
        tenant: str = "",
        also: AlsoRecord | None = None,
    ) -> FollowUpResult:
        tenant = tenant or self.default_tenant
        if not complaint.strip():
            raise InvalidRequest("complaint", "required: the complaint id or reference")
        if not body.strip():
            raise InvalidRequest("body", "required")
        for name, value, limit in (
            ("complaint", complaint, MAX_COMPLAINT_REF),
            ("body", body, MAX_BODY),
            ("idempotency_key", idempotency_key, MAX_IDEMPOTENCY_KEY),
            ("tenant", tenant, MAX_TENANT),
        ):
            problem = text_problem(value, limit)
            if problem:
                raise InvalidRequest(name, problem)
        if channel and channel not in CHANNELS:
            raise InvalidRequest("channel", f"must be one of {', '.join(CHANNELS)}")
        now = self.clock()
        with Session(self.engine) as session:
            row = self._find(session, complaint, tenant)
            if idempotency_key:
                seen = find_idempotency(session, tenant, "follow_up", idempotency_key)
                if seen is not None:
                    return FollowUpResult(seen.result_id, seen.complaint_id, True)
            follow_up_id = str(uuid.uuid4())
            complaint_id = row.id
            channel = channel or row.channel
            session.add(
                FollowUpRow(id=follow_up_id, complaint_id=row.id, channel=channel, body=body, received_at=now)
            )
            if idempotency_key:
                session.add(
                    IdempotencyRecord(
                        tenant=tenant,
                        key=idempotency_key,
                        kind="follow_up",
                        result_id=follow_up_id,
                        complaint_id=row.id,
                    )
                )
            event = events_pb2.CustomerFollowedUp(
                complaint_id=row.id,
                follow_up_id=follow_up_id,
                channel=mapping.to_number(mapping.CHANNEL, channel),
                body=body,
            )
            event.received_at.CopyFrom(to_timestamp(now))
            stage(
                session,
                new_event(
                    event, source=SOURCE, subject=row.id, event_id=f"followup:{follow_up_id}", time=now
                ),
                topics.LIFECYCLE_TOPIC,
            )
            if also is not None:
                also(session, row.id, "follow_up")
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                seen = find_idempotency(session, tenant, "follow_up", idempotency_key)
                if seen is None:
                    raise
                return FollowUpResult(seen.result_id, seen.complaint_id, True)
        if self.relay is not None:
            self.relay.wake()
        return FollowUpResult(follow_up_id, complaint_id, False)

    # ---- reading ------------------------------------------------------------------------------
    def _find(self, session: Session, complaint: str, tenant: str) -> ComplaintRow:
        text = complaint.strip()
        row = session.get(ComplaintRow, text)
        if row is None and looks_like_reference(text):
            row = session.exec(
                select(ComplaintRow).where(ComplaintRow.reference == canonical_reference(text))
            ).first()
        if row is None or row.tenant != tenant:
            raise NotFound(f"no complaint {complaint!r}")
        return row

    def get_case(self, complaint: str, tenant: str = "") -> CaseView:
        tenant = tenant or self.default_tenant
        if not complaint.strip():
            raise InvalidRequest("complaint", "required: the complaint id or reference")
        with Session(self.engine) as session:
            row = self._find(session, complaint, tenant)
            clocks = session.exec(select(ClockRow).where(ClockRow.complaint_id == row.id)).all()
            notes = session.exec(
                select(NotificationRow)
                .where(NotificationRow.complaint_id == row.id)
                .order_by(col(NotificationRow.at))
            ).all()
            timeline = session.exec(
                select(TimelineRow).where(TimelineRow.complaint_id == row.id).order_by(col(TimelineRow.at))
            ).all()
            return CaseView(row, list(clocks), list(notes), list(timeline))

    def customer_complaints(
        self, tenant: str = "", customer_id: str = "", identities: tuple[IdentityKey, ...] = ()
    ) -> CustomerView:
        tenant = tenant or self.default_tenant
        with Session(self.engine) as session:
            customer: Customer | None = None
            if customer_id:
                customer = session.get(Customer, customer_id)
            else:
                for key in identities:
                    ident = session.get(CustomerIdentity, (tenant, key.kind, key.value))
                    if ident is not None:
                        customer = session.get(Customer, ident.customer_id)
                        break
            if customer is None or customer.tenant != tenant:
                raise NotFound("no such customer")
            customer = self._follow_merges(session, customer)
            idents = session.exec(
                select(CustomerIdentity).where(CustomerIdentity.customer_id == customer.id)
            ).all()
            complaints = session.exec(
                select(ComplaintRow)
                .where(ComplaintRow.customer_id == customer.id)
                .order_by(col(ComplaintRow.received_at))
            ).all()
            return CustomerView(customer, list(idents), list(complaints))

    # ---- the case file, projected from the lifecycle topic -----------------------------------
    def apply_lifecycle_events(self, session: Session, envelopes: list[Envelope]) -> None:
        """Project a batch of lifecycle events into the case files: ownership and status by the
        shared lifecycle fold, the timeline, the clocks escalation published and the
        notifications sent. One read and one write per table for the whole batch."""
        projection = CaseFileProjection.load(session, envelopes)
        for envelope in envelopes:
            projection.apply(envelope)
        projection.write(session, utcnow())


CLOCK_EVENTS = ("SlaClocksStarted", "SlaClocksPaused", "SlaClocksResumed")
ONE_CLOCK_EVENTS = ("SlaClockStopped", "SlaBreached", "SlaWarning", "Escalated")


class CaseFileProjection:
    """What a batch of events changes in intake's case files, kept in memory until written."""

    def __init__(
        self,
        lifecycles: dict[str, dict[str, Any]],
        clocks: dict[tuple[str, str], dict[str, Any]],
        notifications: dict[str, dict[str, Any]],
    ):
        self.states = {
            cid: CaseLifecycle(**{k: v for k, v in row.items() if k != "id"})
            for cid, row in lifecycles.items()
        }
        self.loaded_states = dict(self.states)
        self.clocks, self.loaded_clocks = clocks, {key: dict(row) for key, row in clocks.items()}
        self.notifications = notifications
        self.loaded_notifications = {key: dict(row) for key, row in notifications.items()}
        self.timeline: list[dict[str, Any]] = []
        self.touched: set[str] = set()

    @classmethod
    def load(cls, session: Session, envelopes: list[Envelope]) -> CaseFileProjection:
        complaint_ids = {e.subject for e in envelopes}
        clocked = {e.subject for e in envelopes if e.name in CLOCK_EVENTS or e.name in ONE_CLOCK_EVENTS}
        notified = [
            e.message.notification_id
            for e in envelopes
            if e.name in ("NotificationSent", "NotificationFailed")
        ]
        return cls(
            db.load_lifecycles(session, complaint_ids),
            db.load_clocks(session, clocked) if clocked else {},
            db.load_notifications(session, notified) if notified else {},
        )

    def apply(self, envelope: Envelope) -> None:
        complaint_id, name, msg = envelope.subject, envelope.name, envelope.message
        state = self.states.get(complaint_id)
        if state is None:
            return  # not a complaint this intake recorded (another tenant's deployment, or a test)
        COMPLAINT_EVENTS.labels(name).inc()
        self.touched.add(complaint_id)
        data = json_format.MessageToDict(msg, preserving_proto_field_name=True)
        self.timeline.append(
            {
                "event_id": envelope.id, "complaint_id": complaint_id, "type": name, "at": envelope.time,
                "source": envelope.source, "summary": casefile.summarize(name, data),
            }
        )  # fmt: skip
        self.states[complaint_id] = fold(state, name, msg)
        if name in CLOCK_EVENTS:
            for clock in msg.clocks:
                self._clock(complaint_id, clock)
        elif name in ONE_CLOCK_EVENTS and (name != "Escalated" or msg.HasField("clock")):
            self._clock(complaint_id, msg.clock)
        elif name in ("NotificationSent", "NotificationFailed"):
            sent = name == "NotificationSent"
            at = (
                msg.sent_at.ToDatetime(tzinfo=envelope.time.tzinfo)
                if sent and msg.HasField("sent_at")
                else envelope.time
            )
            note = self.notifications.setdefault(
                msg.notification_id,
                {
                    "notification_id": msg.notification_id, "complaint_id": complaint_id, "channel": msg.channel,
                    "recipient": msg.recipient, "template": msg.template,
                },
            )  # fmt: skip
            note.update(status="sent" if sent else "failed", at=at, detail="" if sent else msg.reason)

    def _clock(self, complaint_id: str, clock: events_pb2.SlaClock) -> None:
        row = self.clocks.setdefault(
            (complaint_id, clock.name),
            {"complaint_id": complaint_id, "clock": clock.name, "started_at": None, "due_at": None,
             "state": "running", "stopped_at": None},
        )  # fmt: skip
        if clock.HasField("started_at"):
            row["started_at"] = clock.started_at.ToDatetime(tzinfo=UTC)
        if clock.HasField("due_at"):
            row["due_at"] = clock.due_at.ToDatetime(tzinfo=UTC)
        if clock.state and not (row["state"] == "breached" and clock.state in ("running", "warning")):
            row["state"] = clock.state  # a breach is final for that clock; a later warning cannot undo it
        if clock.HasField("stopped_at"):
            row["stopped_at"] = clock.stopped_at.ToDatetime(tzinfo=UTC)

    def write(self, session: Session, now: datetime) -> None:
        lifecycles = [
            {"id": cid, **asdict(self.states[cid]), "updated_at": now} for cid in sorted(self.touched)
        ]
        db.write_projection(
            session,
            timeline=self.timeline,
            lifecycles=lifecycles,
            clocks_new=[row for key, row in self.clocks.items() if key not in self.loaded_clocks],
            clocks_changed=[
                row
                for key, row in self.clocks.items()
                if key in self.loaded_clocks and row != self.loaded_clocks[key]
            ],
            notifications_new=[
                row for key, row in self.notifications.items() if key not in self.loaded_notifications
            ],
            notifications_changed=[
                row
                for key, row in self.notifications.items()
                if key in self.loaded_notifications and row != self.loaded_notifications[key]
            ],
        )


def complaint_message(row: ComplaintRow) -> complaint_pb2.Complaint:
    msg = complaint_pb2.Complaint(
        id=row.id,
        reference=row.reference,
        tenant=row.tenant,
        channel=mapping.to_number(mapping.CHANNEL, row.channel),
        sector=mapping.to_number(mapping.SECTOR, row.sector),
        complainant_role=mapping.to_number(mapping.ROLE, row.complainant_role),
        customer_id=row.customer_id,
        customer=mapping.customer_from_json(row.customer_json),
        subject=row.subject,
        body=row.body,
        language=row.language,
        product=row.product,
        purchase_date=row.purchase_date,
        category=row.category,
        metadata=json.loads(row.metadata_json or "{}"),
        idempotency_key=row.idempotency_key,
    )
    msg.received_at.CopyFrom(to_timestamp(row.received_at))
    return msg
