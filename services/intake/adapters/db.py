"""Intake's tables: customers and their identifiers, complaints, idempotency keys, and the case
file (timeline, clocks, notifications) projected from the lifecycle topic."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import UniqueConstraint, bindparam, insert, select, update
from sqlmodel import Field, Session, SQLModel

from services.common.db import utcnow

from .mail_threads import MailThreadRow


class Customer(SQLModel, table=True):
    __tablename__ = "customers"
    id: str = Field(primary_key=True)
    tenant: str = Field(index=True)
    display_name: str = ""
    first_seen_at: datetime = Field(default_factory=utcnow)
    merged_into: str | None = Field(default=None, index=True)


class CustomerIdentity(SQLModel, table=True):
    """One normalised identifier (email, E.164 phone, social handle, account id) of a customer."""

    __tablename__ = "customer_identities"
    tenant: str = Field(primary_key=True)
    kind: str = Field(primary_key=True)
    value: str = Field(primary_key=True)
    customer_id: str = Field(index=True)
    added_at: datetime = Field(default_factory=utcnow)


class ComplaintRow(SQLModel, table=True):
    __tablename__ = "complaints"
    __table_args__ = (UniqueConstraint("reference"),)
    id: str = Field(primary_key=True)
    reference: str = Field(index=True)
    tenant: str = Field(index=True)
    customer_id: str = Field(index=True)
    channel: str
    sector: str
    complainant_role: str
    subject: str = ""
    body: str
    language: str
    product: str = ""
    purchase_date: str = ""
    category: str = ""
    metadata_json: str = "{}"
    customer_json: str = "{}"
    idempotency_key: str = ""
    received_at: datetime = Field(default_factory=utcnow, index=True)
    # The case file, projected from lifecycle events.
    status: str = "received"
    team: str = ""
    owner: str = ""
    owner_is_duty_lead: bool = False
    priority: str = ""
    sla_policy: str = ""
    routing_rule: str = ""
    routing_explanation: str = ""
    updated_at: datetime = Field(default_factory=utcnow)


class IdempotencyRecord(SQLModel, table=True):
    """First answer for a (tenant, kind, key): a repeated submission gets the same complaint (or
    follow-up) back. The kind is part of the key, so a complaint and a follow-up that happen to
    carry the same key (an integration's CloudEvent ids) never answer for one another."""

    __tablename__ = "idempotency_records"
    tenant: str = Field(primary_key=True)
    kind: str = Field(primary_key=True)  # complaint | follow_up
    key: str = Field(primary_key=True)
    result_id: str
    complaint_id: str
    created_at: datetime = Field(default_factory=utcnow)


class LegacyIdempotencyRecord(SQLModel, table=True):
    """Keys recorded while complaints and follow-ups shared one namespace (one row per (tenant,
    key), of either kind). Read only: still answered, but only for a key of its own kind, so a
    retry from before the upgrade stays a duplicate. Nothing writes here any more."""

    __tablename__ = "idempotency_keys"
    tenant: str = Field(primary_key=True)
    key: str = Field(primary_key=True)
    kind: str  # complaint | follow_up
    result_id: str
    complaint_id: str
    created_at: datetime = Field(default_factory=utcnow)


def find_idempotency(
    session: Session, tenant: str, kind: str, key: str
) -> IdempotencyRecord | LegacyIdempotencyRecord | None:
    """The first answer recorded for this (tenant, kind, key), or None; never one of another kind."""
    seen = session.get(IdempotencyRecord, (tenant, kind, key))
    if seen is not None:
        return seen
    legacy = session.get(LegacyIdempotencyRecord, (tenant, key))
    return legacy if legacy is not None and legacy.kind == kind else None


class FollowUpRow(SQLModel, table=True):
    __tablename__ = "follow_ups"
    id: str = Field(primary_key=True)
    complaint_id: str = Field(index=True)
    channel: str
    body: str
    received_at: datetime = Field(default_factory=utcnow)


class TimelineRow(SQLModel, table=True):
    __tablename__ = "timeline"
    event_id: str = Field(primary_key=True)
    complaint_id: str = Field(index=True)
    type: str
    at: datetime
    source: str
    summary: str


class ClockRow(SQLModel, table=True):
    __tablename__ = "case_clocks"
    complaint_id: str = Field(primary_key=True)
    clock: str = Field(primary_key=True)
    started_at: datetime | None = None
    due_at: datetime | None = None
    state: str = "running"
    stopped_at: datetime | None = None


class NotificationRow(SQLModel, table=True):
    __tablename__ = "case_notifications"
    notification_id: str = Field(primary_key=True)
    complaint_id: str = Field(index=True)
    channel: str
    recipient: str
    template: str
    status: str
    at: datetime
    detail: str = ""


MODELS = [
    Customer,
    CustomerIdentity,
    ComplaintRow,
    IdempotencyRecord,
    LegacyIdempotencyRecord,
    FollowUpRow,
    TimelineRow,
    ClockRow,
    NotificationRow,
    MailThreadRow,  # the email channel's threads (adapters/mail_threads.py)
]


# ---- the case-file projection, a batch of events at a time (Core statements, no ORM objects) ----
# One SELECT per table for the complaints a batch touches and one executemany per table for what
# changed: the ORM's flush per event was most of intake's CPU (docs/performance.md).

LIFECYCLE_COLUMNS = (
    "status", "team", "owner", "owner_is_duty_lead", "priority", "sla_policy", "routing_rule",
    "routing_explanation",
)  # fmt: skip


def load_lifecycles(session: Session, complaint_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The lifecycle columns of each known complaint (unknown ids are left out)."""
    t = ComplaintRow.__table__
    columns = [t.c.id, *(t.c[name] for name in LIFECYCLE_COLUMNS)]
    rows = session.execute(select(*columns).where(t.c.id.in_(set(complaint_ids)))).mappings()
    return {row["id"]: dict(row) for row in rows}


def load_clocks(session: Session, complaint_ids: Iterable[str]) -> dict[tuple[str, str], dict[str, Any]]:
    t = ClockRow.__table__
    rows = session.execute(select(t).where(t.c.complaint_id.in_(set(complaint_ids)))).mappings()
    return {(row["complaint_id"], row["clock"]): dict(row) for row in rows}


def load_notifications(session: Session, notification_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    t = NotificationRow.__table__
    rows = session.execute(select(t).where(t.c.notification_id.in_(set(notification_ids)))).mappings()
    return {row["notification_id"]: dict(row) for row in rows}


def write_projection(
    session: Session,
    *,
    timeline: list[dict[str, Any]],
    lifecycles: list[dict[str, Any]],
    clocks_new: list[dict[str, Any]],
    clocks_changed: list[dict[str, Any]],
    notifications_new: list[dict[str, Any]],
    notifications_changed: list[dict[str, Any]],
) -> None:
    """Write a batch's projection: inserts and updates, one statement per table and kind."""
    if timeline:
        session.execute(insert(TimelineRow.__table__), timeline)
    if lifecycles:
        _update_many(session, ComplaintRow.__table__, ("id",), lifecycles)
    if clocks_new:
        session.execute(insert(ClockRow.__table__), clocks_new)
    if clocks_changed:
        _update_many(session, ClockRow.__table__, ("complaint_id", "clock"), clocks_changed)
    if notifications_new:
        session.execute(insert(NotificationRow.__table__), notifications_new)
    if notifications_changed:
        _update_many(session, NotificationRow.__table__, ("notification_id",), notifications_changed)


def _update_many(session: Session, table: Any, keys: tuple[str, ...], rows: list[dict[str, Any]]) -> None:
    """UPDATE ... WHERE key = :key for every row (executemany); all rows carry the same columns."""
    # Bound names differ from column names: SQLAlchemy reserves those for its own SET parameters.
    values = {name: bindparam(f"v_{name}") for name in rows[0] if name not in keys}
    where = [table.c[key] == bindparam(f"k_{key}") for key in keys]
    params = [{(f"k_{k}" if k in keys else f"v_{k}"): v for k, v in row.items()} for row in rows]
    session.execute(update(table).where(*where).values(values), params)
