"""Escalation's tables: cases, every cycle of their SLA clocks, the durable deadline index, and
what is known of a complaint before its case opens. Plus the small queries that map them.

The durable deadline of a case is `escalation_cases.next_due_at` (indexed): the next instant the
domain's `tick` has work, written in the same transaction as the case. The firer asks the index
for what is due; nothing about pending deadlines lives only in memory.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import DateTime, Index, func
from sqlalchemy import case as when
from sqlmodel import Field, Session, SQLModel, col, select, update

from services.common.db import as_utc, utcnow

from ..domain import (
    Case,
    CaseStatus,
    ClockName,
    ClockState,
    Priority,
    SlaClock,
    Transfer,
    next_due,
)

_TS = DateTime(timezone=True)  # TIMESTAMPTZ on PostgreSQL; SQLite stores UTC text without offset


class CaseRow(SQLModel, table=True):
    __tablename__ = "escalation_cases"
    __table_args__ = (Index("ix_escalation_cases_next_due_at", "next_due_at"),)
    complaint_id: str = Field(primary_key=True)
    owner: str = Field(index=True)
    offered_to: str = Field(default="", index=True)
    team: str = Field(index=True)
    status: str = Field(index=True)
    priority: str
    policy: str
    sector: str = ""
    owner_is_duty_lead: bool = False
    offered_at: datetime = Field(sa_type=_TS)
    accept_by: datetime = Field(sa_type=_TS)
    received_at: datetime = Field(sa_type=_TS)
    received_at_known: bool = True
    opened_by_event: str = ""
    state_json: str = "{}"  # offers, transfer, resolution: what no query filters on
    next_due_at: datetime | None = Field(default=None, sa_type=_TS)
    version: int = 0
    updated_at: datetime = Field(default_factory=utcnow, sa_type=_TS)


class ClockRow(SQLModel, table=True):
    """One cycle of one SLA clock. Denormalised team/sector/policy serve the SLA queries."""

    __tablename__ = "escalation_clocks"
    __table_args__ = (Index("ix_escalation_clocks_state_due_at", "state", "due_at"),)
    complaint_id: str = Field(primary_key=True)
    name: str = Field(primary_key=True)
    cycle: int = Field(default=0, primary_key=True)
    team: str = ""
    sector: str = ""
    policy: str = ""
    owner: str = ""
    started_at: datetime = Field(sa_type=_TS)
    due_at: datetime = Field(sa_type=_TS)
    warn_at: datetime | None = Field(default=None, sa_type=_TS)
    state: str
    stopped_at: datetime | None = Field(default=None, sa_type=_TS)
    target_s: float = 0
    consumed_s: float = 0
    run_from: datetime | None = Field(default=None, sa_type=_TS)
    paused_at: datetime | None = Field(default=None, sa_type=_TS)
    warned: bool = False
    escalations: int = 0
    next_step_at: datetime | None = Field(default=None, sa_type=_TS)
    every_minute: bool = False


class ComplaintFactsRow(SQLModel, table=True):
    """What escalation heard of a complaint from other services, in whatever order it came:
    received_at for the acknowledgement clock, and an acknowledgement sent before routing."""

    __tablename__ = "escalation_complaint_facts"
    complaint_id: str = Field(primary_key=True)
    received_at: datetime | None = Field(default=None, sa_type=_TS)
    received_event_id: str = ""
    # The complaint's tenant (from ComplaintReceived): scopes every query a caller makes.
    tenant: str = Field(default="", index=True)
    acknowledged_at: datetime | None = Field(default=None, sa_type=_TS)


MODELS = [CaseRow, ClockRow, ComplaintFactsRow]


class StaleCase(RuntimeError):
    """Another transaction changed the case since it was loaded; reload and decide again."""


StaleClock = StaleCase  # the name the first version used


def _aware(value: datetime | None) -> datetime | None:
    value = as_utc(value)
    return value.astimezone(UTC) if value is not None else None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _from_iso(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _clock(row: ClockRow) -> SlaClock:
    return SlaClock(
        name=ClockName(row.name),
        started_at=_aware(row.started_at),  # type: ignore[arg-type]
        due_at=_aware(row.due_at),  # type: ignore[arg-type]
        state=ClockState(row.state),
        stopped_at=_aware(row.stopped_at),
        cycle=row.cycle,
        target=timedelta(seconds=row.target_s),
        consumed=timedelta(seconds=row.consumed_s),
        run_from=_aware(row.run_from),
        warn_at=_aware(row.warn_at),
        warned=row.warned,
        escalations=row.escalations,
        next_step_at=_aware(row.next_step_at),
        paused_at=_aware(row.paused_at),
        every_minute=row.every_minute,
    )


def _clock_values(case: Case, clock: SlaClock) -> dict[str, Any]:
    return {
        "team": case.team,
        "sector": case.sector,
        "policy": case.policy,
        "owner": case.owner,
        "started_at": clock.started_at,
        "due_at": clock.due_at,
        "warn_at": clock.warn_at,
        "state": clock.state.value,
        "stopped_at": clock.stopped_at,
        "target_s": clock.target.total_seconds(),
        "consumed_s": clock.consumed.total_seconds(),
        "run_from": clock.run_from,
        "paused_at": clock.paused_at,
        "warned": clock.warned,
        "escalations": clock.escalations,
        "next_step_at": clock.next_step_at,
        "every_minute": clock.every_minute,
    }


def _state(case: Case) -> str:
    t = case.transfer
    return json.dumps(
        {
            "offer_is_duty_lead": case.offer_is_duty_lead,
            "excluded": case.excluded,
            "transfers": case.transfers,
            "transfer": None if t is None else {**t.__dict__, "respond_by": _iso(t.respond_by)},
            "resolution_code": case.resolution_code,
            "resolved_at": _iso(case.resolved_at),
            "close_at": _iso(case.close_at),
            "reopened": case.reopened,
        }
    )


def _case(row: CaseRow, clocks: list[SlaClock]) -> Case:
    state = json.loads(row.state_json or "{}")
    transfer = state.get("transfer")
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
        offered_to=row.offered_to,
        offer_is_duty_lead=state.get("offer_is_duty_lead", False),
        excluded=list(state.get("excluded", [])),
        transfer=None
        if not transfer
        else Transfer(**{**transfer, "respond_by": _from_iso(transfer["respond_by"])}),
        transfers=state.get("transfers", 0),
        resolution_code=state.get("resolution_code", ""),
        resolved_at=_from_iso(state.get("resolved_at")),
        close_at=_from_iso(state.get("close_at")),
        reopened=state.get("reopened", 0),
        version=row.version,
    )


def _clock_order(clock: SlaClock) -> tuple[int, int]:
    return (clock.cycle, list(ClockName).index(clock.name))


def load_case(session: Session, complaint_id: str) -> Case | None:
    """The case with the latest cycle of each clock (earlier cycles are history: `clock_history`)."""
    row = session.get(CaseRow, complaint_id)
    if row is None:
        return None
    rows = session.exec(select(ClockRow).where(ClockRow.complaint_id == complaint_id)).all()
    clocks = sorted((_clock(r) for r in rows), key=_clock_order)
    latest = {c.name: c for c in clocks}
    order = list(ClockName)
    return _case(row, sorted(latest.values(), key=lambda c: order.index(c.name)))


def clock_history(session: Session, complaint_id: str) -> list[SlaClock]:
    rows = session.exec(select(ClockRow).where(ClockRow.complaint_id == complaint_id)).all()
    return sorted((_clock(r) for r in rows), key=lambda c: (c.started_at, _clock_order(c)))


def _case_values(case: Case) -> dict[str, Any]:
    return {
        "owner": case.owner,
        "offered_to": case.offered_to,
        "team": case.team,
        "status": case.status.value,
        "priority": case.priority.value,
        "policy": case.policy,
        "sector": case.sector,
        "owner_is_duty_lead": case.owner_is_duty_lead,
        "offered_at": case.offered_at,
        "accept_by": case.accept_by,
        "received_at": case.received_at,
        "received_at_known": case.received_at_known,
        "state_json": _state(case),
        "next_due_at": next_due(case),
    }


def add_case(session: Session, case: Case, opened_by_event: str = "") -> None:
    session.add(
        CaseRow(complaint_id=case.complaint_id, opened_by_event=opened_by_event, **_case_values(case))
    )
    for clock in case.clocks.values():
        session.add(
            ClockRow(
                complaint_id=case.complaint_id,
                name=clock.name.value,
                cycle=clock.cycle,
                **_clock_values(case, clock),
            )
        )


def save_case(session: Session, case: Case) -> None:
    """Write back a case loaded with `load_case`, only over the version that was loaded (raises
    StaleCase otherwise), so a deadline tick and an agent action racing on one case cannot both
    win; the deadline index moves in the same statement."""
    result = session.exec(
        update(CaseRow)
        .where(col(CaseRow.complaint_id) == case.complaint_id, col(CaseRow.version) == case.version)
        .values(**_case_values(case), version=case.version + 1, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise StaleCase(f"case {case.complaint_id} changed concurrently")
    case.version += 1
    for clock in case.clocks.values():
        values = _clock_values(case, clock)
        row = session.get(ClockRow, (case.complaint_id, clock.name.value, clock.cycle))
        if row is None:
            session.add(
                ClockRow(complaint_id=case.complaint_id, name=clock.name.value, cycle=clock.cycle, **values)
            )
            continue
        for key, value in values.items():
            setattr(row, key, value)
        session.add(row)


def due_cases(
    session: Session, at: datetime, limit: int = 500, exclude: Sequence[str] = ()
) -> list[tuple[str, datetime]]:
    """(complaint id, due time) of cases with work due at or before `at`, earliest first, except
    those in `exclude` (cases waiting out a retry backoff)."""
    query = select(CaseRow.complaint_id, CaseRow.next_due_at).where(
        col(CaseRow.next_due_at).is_not(None), col(CaseRow.next_due_at) <= at
    )
    if exclude:
        query = query.where(col(CaseRow.complaint_id).not_in(list(exclude)))
    rows = session.exec(query.order_by(col(CaseRow.next_due_at)).limit(limit)).all()
    return [(cid, _aware(due)) for cid, due in rows]  # type: ignore[misc]


def next_deadlines(session: Session, limit: int) -> list[tuple[str, datetime]]:
    """The earliest pending deadlines, for the in-memory window of the scheduler."""
    rows = session.exec(
        select(CaseRow.complaint_id, CaseRow.next_due_at)
        .where(col(CaseRow.next_due_at).is_not(None))
        .order_by(col(CaseRow.next_due_at))
        .limit(limit)
    ).all()
    return [(cid, _aware(due)) for cid, due in rows]  # type: ignore[misc]


def due_clocks(session: Session, at: datetime, limit: int = 500) -> list[tuple[str, ClockName]]:
    """(complaint id, clock) of running clocks due at or before `at`, earliest first."""
    rows = session.exec(
        select(ClockRow.complaint_id, ClockRow.name)
        .where(ClockRow.state == ClockState.RUNNING.value, col(ClockRow.due_at) <= at)
        .order_by(col(ClockRow.due_at))
        .limit(limit)
    ).all()
    return [(cid, ClockName(name)) for cid, name in rows]


def queue(session: Session, agent: str, include_resolved: bool = False) -> list[Case]:
    statuses = [
        s.value for s in CaseStatus if include_resolved or s not in (CaseStatus.RESOLVED, CaseStatus.CLOSED)
    ]
    rows = session.exec(
        select(CaseRow.complaint_id)
        .where((col(CaseRow.owner) == agent) | (col(CaseRow.offered_to) == agent))
        .where(col(CaseRow.status).in_(statuses))
        .order_by(col(CaseRow.next_due_at))
    ).all()
    return [c for c in (load_case(session, cid) for cid in rows) if c is not None]


@dataclass(frozen=True)
class ClockListing:
    complaint_id: str
    owner: str
    team: str
    sector: str
    policy: str
    clock: SlaClock


def _listing(rows: list[ClockRow]) -> list[ClockListing]:
    return [ClockListing(r.complaint_id, r.owner, r.team, r.sector, r.policy, _clock(r)) for r in rows]


def at_risk(
    session: Session,
    at: datetime,
    team: str = "",
    sector: str = "",
    limit: int = 100,
    scope: Scope | None = None,
) -> list[ClockListing]:
    """Running clocks past their warning point, not breached yet."""
    query = select(ClockRow).where(
        ClockRow.state == ClockState.RUNNING.value,
        col(ClockRow.stopped_at).is_(None),
        col(ClockRow.warn_at) <= at,
    )
    return _listing(
        list(session.exec(_filtered(query, team, sector, scope).order_by(col(ClockRow.due_at)).limit(limit)))
    )


def breached(
    session: Session, team: str = "", sector: str = "", limit: int = 100, scope: Scope | None = None
) -> list[ClockListing]:
    """Breached clocks whose work is still not done."""
    query = select(ClockRow).where(
        ClockRow.state == ClockState.BREACHED.value, col(ClockRow.stopped_at).is_(None)
    )
    return _listing(
        list(session.exec(_filtered(query, team, sector, scope).order_by(col(ClockRow.due_at)).limit(limit)))
    )


@dataclass(frozen=True)
class Scope:
    """Whose clocks a query may return: one tenant (its complaints, and those whose tenant is not
    known yet when it is the default tenant) and, for agents, their teams (None = every team)."""

    tenant: str
    default_tenant: str
    teams: frozenset[str] | None = None

    def tenants(self) -> list[str]:
        return [self.tenant, ""] if self.tenant == self.default_tenant else [self.tenant]


def _scoped(query: Any, scope: Scope | None) -> Any:
    if scope is None:
        return query
    in_tenant = select(ComplaintFactsRow.complaint_id).where(
        col(ComplaintFactsRow.tenant).in_(scope.tenants())
    )
    query = query.where(col(ClockRow.complaint_id).in_(in_tenant))
    if scope.teams is not None:
        query = query.where(col(ClockRow.team).in_(sorted(scope.teams)))
    return query


def _filtered(query: Any, team: str, sector: str, scope: Scope | None = None) -> Any:
    if team:
        query = query.where(ClockRow.team == team)
    if sector:
        query = query.where(ClockRow.sector == sector)
    return _scoped(query, scope)


def case_tenant(session: Session, complaint_id: str, default_tenant: str) -> str:
    facts = session.get(ComplaintFactsRow, complaint_id)
    return (facts.tenant if facts is not None else "") or default_tenant


def compliance(
    session: Session, since: datetime | None = None, scope: Scope | None = None
) -> list[tuple[str, str, str, int, int]]:
    """(sector, team, clock, met, breached) over finished and breached clocks."""
    query = select(
        ClockRow.sector,
        ClockRow.team,
        ClockRow.name,
        func.sum(when((col(ClockRow.state) == ClockState.MET.value, 1), else_=0)),
        func.sum(when((col(ClockRow.state) == ClockState.BREACHED.value, 1), else_=0)),
    ).where(col(ClockRow.state).in_([ClockState.MET.value, ClockState.BREACHED.value]))
    if since is not None:
        query = query.where(col(ClockRow.started_at) >= since)
    query = _scoped(query, scope)
    query = query.group_by(ClockRow.sector, ClockRow.team, ClockRow.name).order_by(
        ClockRow.sector, ClockRow.team, ClockRow.name
    )
    return [(s, t, n, int(m or 0), int(b or 0)) for s, t, n, m, b in session.exec(query).all()]


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
