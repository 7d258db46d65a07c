"""Notifications' tables: who to reach for each complaint, and the delivery log.

Every change to a delivery row is its own short transaction, committed before (claim, attempt) or
together with (outcome + its event, via the outbox) what it records, so a crash anywhere leaves a
row that says how far the delivery got.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, select, update

from services.common import topics
from services.common.codec import Envelope
from services.common.db import utcnow
from services.common.outbox import stage

from ..domain.model import DeliveryKey, DeliveryStatus


class ComplaintContact(SQLModel, table=True):
    """How to reach the customer of a complaint, as ComplaintReceived told us (later notifications,
    such as the resolution, are triggered by events that carry only the complaint id)."""

    __tablename__ = "notification_contacts"
    complaint_id: str = Field(primary_key=True)
    tenant: str = ""
    reference: str = ""
    email: str = ""
    phone: str = ""
    language: str = ""
    display_name: str = ""
    updated_at: datetime = Field(default_factory=utcnow)


class DeliveryRow(SQLModel, table=True):
    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("trigger_event_id", "recipient", "channel", name="uq_delivery_key"),)
    notification_id: str = Field(primary_key=True)  # derived from the delivery key
    complaint_id: str = Field(index=True)
    trigger_event_id: str
    recipient: str
    channel: str
    template: str
    language: str
    status: str = DeliveryStatus.PENDING.value
    attempts: int = 0
    last_error: str = ""
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None


@dataclass(frozen=True)
class Claim:
    notification_id: str
    status: DeliveryStatus
    attempts: int
    new: bool  # this call inserted the row


def record_contact(session: Session, contact: ComplaintContact) -> None:
    """Insert or refresh the contact inside the caller's unit of work."""
    existing = session.get(ComplaintContact, contact.complaint_id)
    if existing is None:
        session.add(contact)
        return
    for name in ("tenant", "reference", "email", "phone", "language", "display_name", "updated_at"):
        setattr(existing, name, getattr(contact, name))
    session.add(existing)


def claim(
    engine: Engine, key: DeliveryKey, *, complaint_id: str, template: str, language: str, now: datetime
) -> Claim:
    """Insert the delivery as pending and commit, or return the row a previous run left."""
    with Session(engine) as session:
        session.add(
            DeliveryRow(
                notification_id=key.notification_id,
                complaint_id=complaint_id,
                trigger_event_id=key.trigger_event_id,
                recipient=key.recipient,
                channel=key.channel,
                template=template,
                language=language,
                created_at=now,
                updated_at=now,
            )
        )
        try:
            session.commit()
            return Claim(key.notification_id, DeliveryStatus.PENDING, 0, new=True)
        except IntegrityError:
            session.rollback()
        row = session.exec(
            select(DeliveryRow).where(
                DeliveryRow.trigger_event_id == key.trigger_event_id,
                DeliveryRow.recipient == key.recipient,
                DeliveryRow.channel == key.channel,
            )
        ).one()
        return Claim(row.notification_id, DeliveryStatus(row.status), row.attempts, new=False)


def start_attempt(engine: Engine, notification_id: str, *, expected_attempts: int, now: datetime) -> bool:
    """Count the next attempt before it starts (compare-and-set on the attempt count), so exactly
    one worker makes each attempt and a crash mid-send is visible afterwards."""
    with Session(engine) as session:
        result = session.exec(
            update(DeliveryRow)
            .where(
                col(DeliveryRow.notification_id) == notification_id,
                col(DeliveryRow.status) == DeliveryStatus.PENDING.value,
                col(DeliveryRow.attempts) == expected_attempts,
            )
            .values(attempts=expected_attempts + 1, updated_at=now)
        )
        session.commit()
        return result.rowcount == 1


def note_error(engine: Engine, notification_id: str, error: str, *, now: datetime) -> None:
    with Session(engine) as session:
        session.exec(
            update(DeliveryRow)
            .where(col(DeliveryRow.notification_id) == notification_id)
            .values(last_error=error, updated_at=now)
        )
        session.commit()


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
    event: Envelope,
    *,
    expected_attempts: int,
    error: str,
    now: datetime,
) -> bool:
    """Record the failure and stage its event in one transaction, only if nobody moved on since."""
    with Session(engine) as session:
        result = session.exec(
            update(DeliveryRow)
            .where(
                col(DeliveryRow.notification_id) == notification_id,
                col(DeliveryRow.status) == DeliveryStatus.PENDING.value,
                col(DeliveryRow.attempts) == expected_attempts,
            )
            .values(status=DeliveryStatus.FAILED.value, last_error=error, updated_at=now)
        )
        if result.rowcount != 1:
            session.rollback()
            return False
        stage(session, event, topics.LIFECYCLE_TOPIC)
        session.commit()
        return True


def get_delivery(session: Session, notification_id: str) -> DeliveryRow | None:
    return session.get(DeliveryRow, notification_id)


def list_deliveries(session: Session, complaint_id: str) -> list[DeliveryRow]:
    return list(
        session.exec(
            select(DeliveryRow)
            .where(DeliveryRow.complaint_id == complaint_id)
            .order_by(col(DeliveryRow.created_at), col(DeliveryRow.notification_id))
        ).all()
    )
