"""Notifications' tables: what we know of each complaint, the jobs (events waiting to be turned into
deliveries), and the delivery log.

A job is written in the consumer's unit of work, so an event is never lost even when planning
cannot happen yet (routing unreachable). Every change to a delivery row is its own short
transaction, committed before (claim, attempt) or together with (outcome + its events, via the
outbox) what it records, so a crash anywhere leaves a row that says how far the delivery got.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint, insert, or_
from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, col, select, update

from services.common import topics
from services.common.codec import Envelope
from services.common.db import utcnow
from services.common.outbox import stage

from ..domain.model import DeliveryKey, DeliveryStatus


class ComplaintContact(SQLModel, table=True):
    """How to reach the customer of a complaint and where it stands, as its events told us (later
    events, such as the resolution, carry only the complaint id)."""

    __tablename__ = "notification_contacts"
    complaint_id: str = Field(primary_key=True)
    tenant: str = ""
    reference: str = Field(default="", index=True)
    email: str = ""
    phone: str = ""
    language: str = ""
    display_name: str = ""
    channel: str = ""
    preferred_channel: str = ""
    owner: str = ""
    team: str = ""
    owner_is_duty_lead: bool = False
    status: str = ""  # as services.common.lifecycle folds it; "" until an event says
    priority: str = ""
    keep_informed: str = ""  # comma-separated people ids
    chat_thread: str = ""  # chat:{network}:{thread}: where a chat/social customer is answered
    received_at: datetime | None = None
    updated_at: datetime = Field(default_factory=utcnow)


class NotificationJob(SQLModel, table=True):
    """A lifecycle event that may cause deliveries; planned by the dispatcher, retried while the
    staff directory is unreachable."""

    __tablename__ = "notification_jobs"
    trigger_event_id: str = Field(primary_key=True)
    complaint_id: str = Field(index=True)
    event_name: str
    event_value: bytes  # the protobuf message, as consumed
    planned: bool = Field(default=False, index=True)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow)
    last_error: str = ""
    created_at: datetime = Field(default_factory=utcnow)


class DeliveryRow(SQLModel, table=True):
    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("trigger_event_id", "recipient", "channel", name="uq_delivery_key"),
        Index("ix_deliveries_due", "status", "priority_class", "next_attempt_at"),
    )
    notification_id: str = Field(primary_key=True)  # derived from the delivery key
    complaint_id: str = Field(index=True)
    trigger_event_id: str
    recipient: str  # the address (email, phone, chat handle, webhook URL) the key counts on
    channel: str
    template: str
    language: str
    tenant: str = ""
    audience: str = ""
    recipient_id: str = ""  # "customer", a staff id, a webhook id
    reference: str = ""
    subject: str = ""
    text: str = ""
    html: str = ""
    payload: str = ""  # JSON for webhooks
    status: str = Field(default=DeliveryStatus.PENDING.value, index=True)
    priority_class: int = 2  # domain.model.delivery_class: 0 customer first, 1 staff action, 2 staff info
    attempts: int = 0
    manual_retries: int = 0
    dead_lettered: bool = False
    next_attempt_at: datetime = Field(default_factory=utcnow, index=True)
    last_error: str = ""
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None
    # When the message itself began to go to the server (SMTP DATA) in the current attempt: an
    # attempt interrupted before that delivered nothing and is simply made again.
    handed_over_at: datetime | None = None


TABLES = [ComplaintContact, NotificationJob, DeliveryRow]


def get_contact(session: Session, complaint_id: str) -> ComplaintContact | None:
    return session.get(ComplaintContact, complaint_id)


def find_contact(session: Session, complaint_or_reference: str) -> ComplaintContact | None:
    row = session.get(ComplaintContact, complaint_or_reference)
    if row is not None:
        return row
    return session.exec(
        select(ComplaintContact).where(ComplaintContact.reference == complaint_or_reference.upper())
    ).first()


def load_contacts(session: Session, complaint_ids: set[str]) -> dict[str, ComplaintContact]:
    """The contact rows of a batch's complaints, in one query (they stay in the session)."""
    rows = session.exec(select(ComplaintContact).where(col(ComplaintContact.complaint_id).in_(complaint_ids)))
    return {row.complaint_id: row for row in rows}


def add_jobs(session: Session, jobs: list[tuple[Envelope, str]], now: datetime) -> None:
    """Planning jobs for a batch of events, one INSERT; an event id that has a job keeps it."""
    ids = {envelope.id for envelope, _ in jobs}
    existing = set(
        session.exec(
            select(NotificationJob.trigger_event_id).where(col(NotificationJob.trigger_event_id).in_(ids))
        )
    )
    rows, seen = [], set(existing)
    for envelope, complaint_id in jobs:
        if envelope.id in seen:
            continue
        seen.add(envelope.id)
        rows.append(
            {
                "trigger_event_id": envelope.id, "complaint_id": complaint_id, "event_name": envelope.name,
                "event_value": envelope.message.SerializeToString(), "next_attempt_at": now, "created_at": now,
                "planned": False, "attempts": 0, "last_error": "",
            }
        )  # fmt: skip
    if rows:
        session.execute(insert(NotificationJob.__table__), rows)


def due_jobs(engine: Engine, now: datetime, limit: int = 100) -> list[NotificationJob]:
    with Session(engine) as session:
        return list(
            session.exec(
                select(NotificationJob)
                .where(col(NotificationJob.planned).is_(False), col(NotificationJob.next_attempt_at) <= now)
                .order_by(col(NotificationJob.created_at))
                .limit(limit)
            ).all()
        )


def postpone_job(engine: Engine, trigger_event_id: str, *, error: str, at: datetime) -> None:
    with Session(engine) as session:
        job = session.get(NotificationJob, trigger_event_id)
        if job is not None:
            job.attempts += 1
            job.last_error = error[:500]
            job.next_attempt_at = at
            session.add(job)
            session.commit()


def plan_deliveries(engine: Engine, trigger_event_id: str, rows: list[DeliveryRow]) -> int:
    """Claim every delivery of a job and mark the job planned, in one transaction. A key claimed
    before (a crash after planning, a redelivered event) keeps its row: it is never claimed twice."""
    with Session(engine, expire_on_commit=False) as session:  # the caller keeps using the rows
        # The job's row is locked first (PostgreSQL): a second dispatcher planning the same job
        # waits, then sees it planned, instead of colliding on the deliveries' keys.
        job = session.exec(
            select(NotificationJob)
            .where(NotificationJob.trigger_event_id == trigger_event_id)
            .with_for_update()
        ).first()
        if job is not None and job.planned:
            return 0
        existing = {
            (r.recipient, r.channel)
            for r in session.exec(
                select(DeliveryRow).where(DeliveryRow.trigger_event_id == trigger_event_id)
            ).all()
        }
        added = 0
        for row in rows:
            if (row.recipient, row.channel) not in existing:
                existing.add((row.recipient, row.channel))
                session.add(row)
                added += 1
        if job is not None:
            job.planned = True
            session.add(job)
        session.commit()
        return added


def due_deliveries(
    engine: Engine, now: datetime, limit: int = 50, busy_http_tenants: set[str] | frozenset[str] = frozenset()
) -> list[DeliveryRow]:
    """Due deliveries in sending order; HTTP deliveries of tenants whose requests are all in
    flight are left for a later pass, so they cannot fill the batch and hold back the rest."""
    with Session(engine) as session:
        query = select(DeliveryRow).where(
            col(DeliveryRow.status) == DeliveryStatus.PENDING.value,
            col(DeliveryRow.next_attempt_at) <= now,
        )
        if busy_http_tenants:
            query = query.where(
                or_(col(DeliveryRow.channel) == "email", col(DeliveryRow.tenant).not_in(busy_http_tenants))
            )
        return list(
            session.exec(
                query.order_by(
                    col(DeliveryRow.priority_class),
                    col(DeliveryRow.next_attempt_at),
                    col(DeliveryRow.created_at),
                ).limit(limit)
            ).all()
        )


def stale_sending(engine: Engine, older_than: datetime) -> list[DeliveryRow]:
    """Deliveries whose attempt started long enough ago that no live sender can still be on it."""
    with Session(engine) as session:
        return list(
            session.exec(
                select(DeliveryRow).where(
                    col(DeliveryRow.status) == DeliveryStatus.SENDING.value,
                    col(DeliveryRow.updated_at) < older_than,
                )
            ).all()
        )


def start_attempt(engine: Engine, notification_id: str, *, expected_attempts: int, now: datetime) -> bool:
    """Mark the next attempt as under way before it starts (compare-and-set on status and attempt
    count), so exactly one sender makes each attempt and a crash mid-send is visible afterwards."""
    with Session(engine) as session:
        result = session.exec(
            update(DeliveryRow)
            .where(
                col(DeliveryRow.notification_id) == notification_id,
                col(DeliveryRow.status) == DeliveryStatus.PENDING.value,
                col(DeliveryRow.attempts) == expected_attempts,
            )
            .values(
                status=DeliveryStatus.SENDING.value,
                attempts=expected_attempts + 1,
                updated_at=now,
                handed_over_at=None,
            )
        )
        session.commit()
        return result.rowcount == 1


def reschedule(
    engine: Engine, notification_id: str, *, attempts: int, error: str, at: datetime, now: datetime
) -> bool:
    """A transient failure: back to pending, due again after the backoff."""
    with Session(engine) as session:
        result = session.exec(
            update(DeliveryRow)
            .where(
                col(DeliveryRow.notification_id) == notification_id,
                col(DeliveryRow.status) == DeliveryStatus.SENDING.value,
                col(DeliveryRow.attempts) == attempts,
            )
            .values(status=DeliveryStatus.PENDING.value, last_error=error, next_attempt_at=at, updated_at=now)
        )
        session.commit()
        return result.rowcount == 1


def mark_handed_over(engine: Engine, notification_ids: list[str], *, now: datetime) -> None:
    """The message is about to go to the server (SMTP DATA): from here an interruption leaves the
    outcome unknown. Committed before the first byte of the message is sent."""
    with Session(engine) as session:
        session.exec(
            update(DeliveryRow)
            .where(col(DeliveryRow.notification_id).in_(notification_ids))
            .values(handed_over_at=now)
        )
        session.commit()


def retry_interrupted(engine: Engine, notification_id: str, *, attempts: int, now: datetime) -> bool:
    """An attempt that was interrupted before the message went to the server: make it again
    (nothing reached the recipient, so this cannot duplicate)."""
    with Session(engine) as session:
        result = session.exec(
            update(DeliveryRow)
            .where(
                col(DeliveryRow.notification_id) == notification_id,
                col(DeliveryRow.status) == DeliveryStatus.SENDING.value,
                col(DeliveryRow.attempts) == attempts,
                col(DeliveryRow.handed_over_at).is_(None),
            )
            .values(
                status=DeliveryStatus.PENDING.value, next_attempt_at=now, updated_at=now,
                last_error=f"attempt {attempts} interrupted before the message was handed over; sent again",
            )
        )  # fmt: skip
        session.commit()
        return result.rowcount == 1


def mark_sent(engine: Engine, notification_id: str, event: Envelope, *, now: datetime) -> bool:
    """Record the success and stage its event in one transaction. A send that completed wins over
    a concurrent "interrupted" verdict: the customer did get the message."""
    with Session(engine) as session:
        result = session.exec(
            update(DeliveryRow)
            .where(
                col(DeliveryRow.notification_id) == notification_id,
                col(DeliveryRow.status) != DeliveryStatus.SENT.value,
            )
            .values(status=DeliveryStatus.SENT.value, sent_at=now, updated_at=now, last_error="")
        )
        if result.rowcount != 1:
            session.rollback()
            return False
        stage(session, event, topics.LIFECYCLE_TOPIC)
        session.commit()
        return True


def mark_failed(
    engine: Engine,
    notification_id: str,
    events: list[tuple[Envelope, str]],
    *,
    from_status: DeliveryStatus,
    expected_attempts: int,
    error: str,
    now: datetime,
) -> bool:
    """Record the failure and stage its events (NotificationFailed, DeadLetter) in one transaction,
    only if nobody moved on since."""
    with Session(engine) as session:
        result = session.exec(
            update(DeliveryRow)
            .where(
                col(DeliveryRow.notification_id) == notification_id,
                col(DeliveryRow.status) == from_status.value,
                col(DeliveryRow.attempts) == expected_attempts,
            )
            .values(status=DeliveryStatus.FAILED.value, last_error=error, dead_lettered=True, updated_at=now)
        )
        if result.rowcount != 1:
            session.rollback()
            return False
        for envelope, topic in events:
            stage(session, envelope, topic)
        session.commit()
        return True


def requeue_failed(engine: Engine, notification_id: str, *, now: datetime) -> DeliveryRow | None:
    """Put a failed delivery back in the queue for one more round of attempts (ops' retry).
    Compare-and-set on the status: two concurrent retries re-queue it once."""
    with Session(engine) as session:
        row = session.get(DeliveryRow, notification_id)
        if row is None or row.status != DeliveryStatus.FAILED.value:
            return None
        result = session.exec(
            update(DeliveryRow)
            .where(
                col(DeliveryRow.notification_id) == notification_id,
                col(DeliveryRow.status) == DeliveryStatus.FAILED.value,
                col(DeliveryRow.manual_retries) == row.manual_retries,
            )
            .values(
                status=DeliveryStatus.PENDING.value,
                attempts=0,
                manual_retries=row.manual_retries + 1,
                next_attempt_at=now,
                updated_at=now,
            )
        )
        session.commit()
        if result.rowcount != 1:
            return None
        return session.get(DeliveryRow, notification_id, populate_existing=True)


def get_delivery(session: Session, notification_id: str) -> DeliveryRow | None:
    return session.get(DeliveryRow, notification_id)


def list_deliveries(session: Session, complaint_id: str, status: str = "") -> list[DeliveryRow]:
    query = select(DeliveryRow).where(DeliveryRow.complaint_id == complaint_id)
    if status:
        query = query.where(DeliveryRow.status == status)
    return list(
        session.exec(query.order_by(col(DeliveryRow.created_at), col(DeliveryRow.notification_id))).all()
    )


def key_of(row: DeliveryRow) -> DeliveryKey:
    return DeliveryKey(row.trigger_event_id, row.recipient, row.channel)
