"""Escalation's tables: cases, their SLA clocks (the durable deadlines), and what is known of a
complaint before its case opens. Plus the small queries that map them to the domain."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, Index
from sqlmodel import Field, Session, SQLModel, col, select, update

from services.common.db import as_utc, utcnow

from ..domain import Case, CaseStatus, ClockName, ClockState, Priority, SlaClock

_TS = DateTime(timezone=True)  # TIMESTAMPTZ on PostgreSQL; SQLite stores UTC text without offset


class CaseRow(SQLModel, table=True):
    __tablename__ = "escalation_cases"
    complaint_id: str = Field(primary_key=True)
    owner: str = Field(index=True)
    team: str = Field(index=True)
    status: str
    priority: str
    policy: str
    sector: str = ""
    owner_is_duty_lead: bool = False
    offered_at: datetime = Field(sa_type=_TS)
    accept_by: datetime = Field(sa_type=_TS)
    received_at: datetime = Field(sa_type=_TS)
    received_at_known: bool = True
    opened_by_event: str = ""
    updated_at: datetime = Field(default_factory=utcnow, sa_type=_TS)


class ClockRow(SQLModel, table=True):
    """One SLA clock; a running one is a pending deadline, found by (state, due_at)."""

    __tablename__ = "escalation_clocks"
    __table_args__ = (Index("ix_escalation_clocks_state_due_at", "state", "due_at"),)
    complaint_id: str = Field(primary_key=True)
    name: str = Field(primary_key=True)
    started_at: datetime = Field(sa_type=_TS)
    due_at: datetime = Field(sa_type=_TS, index=True)
    state: str
    stopped_at: datetime | None = Field(default=None, sa_type=_TS)
    version: int = 0


class ComplaintFactsRow(SQLModel, table=True):
    """What escalation heard of a complaint from other services, in whatever order it came:
    received_at for the acknowledgement clock, and an acknowledgement sent before routing."""

    __tablename__ = "escalation_complaint_facts"
    complaint_id: str = Field(primary_key=True)
    received_at: datetime | None = Field(default=None, sa_type=_TS)
    received_event_id: str = ""
    acknowledged_at: datetime | None = Field(default=None, sa_type=_TS)


MODELS = [CaseRow, ClockRow, ComplaintFactsRow]


class StaleClock(RuntimeError):
    """Another transaction changed the clock since it was loaded; reload and decide again."""


def _aware(value: datetime | None) -> datetime | None:
    value = as_utc(value)
    return value.astimezone(UTC) if value is not None else None


def _clock(row: ClockRow) -> SlaClock:
    return SlaClock(
        name=ClockName(row.name),
        started_at=_aware(row.started_at),  # type: ignore[arg-type]
        due_at=_aware(row.due_at),  # type: ignore[arg-type]
        state=ClockState(row.state),
        stopped_at=_aware(row.stopped_at),
        version=row.version,
    )


def load_case(session: Session, complaint_id: str) -> Case | None:
    row = session.get(CaseRow, complaint_id)
    if row is None:
        return None
    rows = session.exec(select(ClockRow).where(ClockRow.complaint_id == complaint_id)).all()
    order = list(ClockName)  # a stable, meaningful order for readers: acknowledgement first
    clocks = sorted((_clock(r) for r in rows), key=lambda c: order.index(c.name))
    return Case(
        complaint_id=row.complaint_id,
        owner=row.owner,
        team=row.team,
        priority=Priority(row.priority),
        policy=row.policy,
        status=CaseStatus(row.status),
        offered_at=_aware(row.offered_at),  # type: ignore[arg-type]
        accept_by=_aware(row.accept_by),  # type: ignore[arg-type]
        received_at=_aware(row.received_at),  # type: ignore[arg-type]
        received_at_known=row.received_at_known,
        clocks={c.name: c for c in clocks},
        sector=row.sector,
        owner_is_duty_lead=row.owner_is_duty_lead,
    )


def add_case(session: Session, case: Case, opened_by_event: str = "") -> None:
    session.add(
        CaseRow(
            complaint_id=case.complaint_id,
            owner=case.owner,
            team=case.team,
            status=case.status.value,
            priority=case.priority.value,
            policy=case.policy,
            sector=case.sector,
            owner_is_duty_lead=case.owner_is_duty_lead,
            offered_at=case.offered_at,
            accept_by=case.accept_by,
            received_at=case.received_at,
            received_at_known=case.received_at_known,
            opened_by_event=opened_by_event,
        )
    )
    for clock in case.clocks.values():
        session.add(
            ClockRow(
                complaint_id=case.complaint_id,
                name=clock.name.value,
                started_at=clock.started_at,
                due_at=clock.due_at,
                state=clock.state.value,
                stopped_at=clock.stopped_at,
                version=clock.version,
            )
        )


def save_case(session: Session, case: Case) -> None:
    """Write back a case loaded with `load_case`. Each changed clock is written only over the
    version that was loaded (raises StaleClock otherwise), so a deadline tick and an event
    handler racing on one clock cannot both win."""
    row = session.get(CaseRow, case.complaint_id)
    if row is None:
        raise LookupError(f"no case {case.complaint_id}")
    row.owner, row.team, row.status = case.owner, case.team, case.status.value
    row.accept_by, row.received_at = case.accept_by, case.received_at
    row.received_at_known = case.received_at_known
    row.updated_at = utcnow()
    session.add(row)
    for clock in case.clocks.values():
        if _clock(_stored(session, case.complaint_id, clock)) == clock:
            continue
        result = session.exec(
            update(ClockRow)
            .where(
                col(ClockRow.complaint_id) == case.complaint_id,
                col(ClockRow.name) == clock.name.value,
                col(ClockRow.version) == clock.version,
            )
            .values(
                started_at=clock.started_at,
                due_at=clock.due_at,
                state=clock.state.value,
                stopped_at=clock.stopped_at,
                version=clock.version + 1,
            )
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            raise StaleClock(f"{case.complaint_id}/{clock.name} changed concurrently")
        clock.version += 1


def _stored(session: Session, complaint_id: str, clock: SlaClock) -> ClockRow:
    row = session.get(ClockRow, (complaint_id, clock.name.value))
    if row is None:
        raise LookupError(f"no clock {complaint_id}/{clock.name}")
    return row


def due_clocks(session: Session, at: datetime, limit: int = 500) -> list[tuple[str, ClockName]]:
    """(complaint id, clock) of running clocks due at or before `at`, earliest first."""
    rows = session.exec(
        select(ClockRow.complaint_id, ClockRow.name)
        .where(ClockRow.state == ClockState.RUNNING.value, col(ClockRow.due_at) <= at)
        .order_by(col(ClockRow.due_at))
        .limit(limit)
    ).all()
    return [(cid, ClockName(name)) for cid, name in rows]


def get_facts(session: Session, complaint_id: str) -> ComplaintFactsRow | None:
    return session.get(ComplaintFactsRow, complaint_id)


def facts_for_update(session: Session, complaint_id: str) -> ComplaintFactsRow:
    facts = session.get(ComplaintFactsRow, complaint_id)
    if facts is None:
        facts = ComplaintFactsRow(complaint_id=complaint_id)
    session.add(facts)
    return facts


def facts_received_at(facts: ComplaintFactsRow | None) -> datetime | None:
    return _aware(facts.received_at) if facts is not None else None


def facts_acknowledged_at(facts: ComplaintFactsRow | None) -> datetime | None:
    return _aware(facts.acknowledged_at) if facts is not None else None
