"""Routing's record of triage corrections: who marked or cleared which signal on which complaint,
what the model had said, and what the re-decision was. Kept for the corpus (ListCorrections) and
re-applied, oldest first, whenever the complaint is decided again."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, Session, SQLModel, col, select

from services.common.db import utcnow


class RoutingTriageCorrection(SQLModel, table=True):
    __tablename__ = "routing_triage_corrections"
    # A retried request (same request id) corrects once.
    __table_args__ = (UniqueConstraint("complaint_id", "request_id", name="uq_triage_correction_request"),)
    id: int | None = Field(default=None, primary_key=True)
    complaint_id: str = Field(index=True)
    request_id: str
    tenant: str = Field(index=True)
    signal: str
    present: bool
    corrected_by: str
    reason: str = Field(default="", sa_column=Column(Text, nullable=False))
    corrected_at: datetime = Field(default_factory=utcnow, index=True)
    model_score: float = 0.0  # what the model had said; 0 when it had not scored the signal
    previous_team: str = ""
    team: str = ""
    priority: str = ""
    sla_policy: str = ""
    rule_id: str = ""
    owner: str = ""
    changed: bool = False  # team, priority or SLA policy changed


MODELS = [RoutingTriageCorrection]


def find_request(session: Session, complaint_id: str, request_id: str) -> RoutingTriageCorrection | None:
    return session.exec(
        select(RoutingTriageCorrection).where(
            RoutingTriageCorrection.complaint_id == complaint_id,
            RoutingTriageCorrection.request_id == request_id,
        )
    ).first()


def for_complaint(session: Session, complaint_id: str) -> list[RoutingTriageCorrection]:
    """Every correction of one complaint, oldest first (a later one on the same signal wins)."""
    return list(
        session.exec(
            select(RoutingTriageCorrection)
            .where(RoutingTriageCorrection.complaint_id == complaint_id)
            .order_by(col(RoutingTriageCorrection.id))
        ).all()
    )


def add(session: Session, row: RoutingTriageCorrection) -> RoutingTriageCorrection:
    session.add(row)
    session.flush()  # the unique request id is checked here, inside the caller's transaction
    return row


def recent(session: Session, tenants: Sequence[str] | None, limit: int) -> list[RoutingTriageCorrection]:
    """The latest corrections, newest first; `tenants` None: every tenant."""
    query = select(RoutingTriageCorrection)
    if tenants is not None:
        query = query.where(col(RoutingTriageCorrection.tenant).in_(list(tenants)))
    return list(session.exec(query.order_by(col(RoutingTriageCorrection.id).desc()).limit(limit)).all())
