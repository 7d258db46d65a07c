"""Escalation's tables: cases, every cycle of their SLA clocks, the durable deadline index, and
what is known of a complaint before its case opens. Plus the small queries that map them.

The durable deadline of a case is `escalation_cases.next_due_at` (indexed): the next instant the
domain's `tick` has work, written in the same transaction as the case. The firer asks the index
for what is due; nothing about pending deadlines lives only in memory.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import DateTime, Index, bindparam, func, insert
from sqlalchemy import case as when
from sqlalchemy import select as core_select
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


def facts_received_at(facts: ComplaintFactsRow | Facts | None) -> datetime | None:
    return _aware(facts.received_at) if facts is not None else None


def facts_acknowledged_at(facts: ComplaintFactsRow | Facts | None) -> datetime | None:
    return _aware(facts.acknowledged_at) if facts is not None else None


# ---- a consumer batch's cases: one read and one write per table -------------------------------
# load_case/save_case per event (ORM loads, an autoflush before each get, a flush per save) were
# about 40 % of escalation's CPU in the storm (docs/performance.md). A batch reads its cases,
# clocks and facts with one Core query each, folds its events in memory and writes what changed
# with one executemany per table and kind, in the consumer's transaction (with the outbox rows
# and processed-event markers).


class _Values(dict[str, Any]):
    """A row as a dict that `_case` and `_clock` read like a row."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError as exc:
            raise AttributeError(name) from exc


@dataclass
class Facts:
    """A complaint's facts row held by a batch; the handlers change it in place, as they did the
    ORM row, and the batch writes the columns that changed."""

    complaint_id: str
    received_at: datetime | None = None
    received_event_id: str = ""
    tenant: str = ""
    acknowledged_at: datetime | None = None


_FACT_COLUMNS = ("received_at", "received_event_id", "tenant", "acknowledged_at")


def _comparable(values: Mapping[str, Any]) -> dict[str, Any]:
    """Row values compared across a write: SQLite gives naive UTC datetimes back, the domain aware ones."""
    return {k: _aware(v) if isinstance(v, datetime) else v for k, v in values.items()}


class CaseBatch:
    """The cases, clocks and facts one consumer batch touches.

    Every `get` builds the case afresh from the row as last saved in this batch (or as read), so a
    handler sees exactly what it would have read from the table after the events before it, and
    whatever a handler changed without saving is dropped as a rollback of that event would.

    Cases are read `FOR UPDATE` (in complaint id order: two batches lock in one order), so on
    PostgreSQL no other transaction changes them before the batch commits; each update is still
    made over the version that was read, checked by rowcount where the driver reports it for an
    executemany (SQLite). A mismatch raises StaleCase: the consumer then applies the batch one
    event at a time, each reading afresh."""

    KEY = "escalation_case_batch"

    def __init__(self, session: Session):
        self.session = session
        self._read: set[str] = set()
        self._rows: dict[str, _Values] = {}  # complaint id -> case row, as last saved here or read
        self._clocks: dict[str, list[_Values]] = {}  # complaint id -> latest cycle of each clock
        self._read_versions: dict[str, int] = {}
        self._stored_clocks: dict[tuple[str, str, int], dict[str, Any]] = {}  # every cycle read
        # Every cycle saved in the batch, as last saved: a cycle superseded within the batch (an
        # offer twice) is history to write too.
        self._saved_clocks: dict[tuple[str, str, int], _Values] = {}
        self._new: set[str] = set()
        self._changed: dict[str, None] = {}  # saved or added, in order
        self._facts: dict[str, Facts | None] = {}
        self._stored_facts: dict[str, dict[str, Any]] = {}
        self.outbox: list[dict[str, Any]] = []  # rows the batch's events staged, in their order

    # ---- the batch's life -----------------------------------------------------------------------
    @classmethod
    def open(cls, session: Session, complaint_ids: Sequence[str]) -> CaseBatch:
        if cls.KEY in session.info:
            raise RuntimeError("a case batch is already open in this session")
        batch = session.info[cls.KEY] = cls(session)
        batch.read(complaint_ids)
        return batch

    @classmethod
    def current(cls, session: Session) -> CaseBatch | None:
        return session.info.get(cls.KEY)

    def close(self) -> None:
        self.session.info.pop(self.KEY, None)

    def read(self, complaint_ids: Sequence[str]) -> None:
        """Read what is not read yet of these complaints: three queries, whatever their number."""
        wanted = sorted({cid for cid in complaint_ids if cid and cid not in self._read})
        if not wanted:
            return
        self._read.update(wanted)
        cases, clocks, facts = CaseRow.__table__, ClockRow.__table__, ComplaintFactsRow.__table__
        query = core_select(cases).where(cases.c.complaint_id.in_(wanted)).order_by(cases.c.complaint_id)
        for row in self.session.execute(query.with_for_update()).mappings():
            self._rows[row["complaint_id"]] = _Values(row)
            self._read_versions[row["complaint_id"]] = row["version"]
        latest: dict[str, dict[str, _Values]] = {}
        for row in self.session.execute(
            core_select(clocks).where(clocks.c.complaint_id.in_(wanted))
        ).mappings():
            values = _Values(row)
            key = (values.complaint_id, values.name, values.cycle)
            self._stored_clocks[key] = _comparable(values)
            mine = latest.setdefault(values.complaint_id, {})
            held = mine.get(values.name)
            if held is None or held.cycle < values.cycle:
                mine[values.name] = values
        for cid, by_name in latest.items():
            self._clocks[cid] = _in_clock_order(by_name.values())
        self._facts.update(dict.fromkeys(wanted))
        for row in self.session.execute(
            core_select(facts).where(facts.c.complaint_id.in_(wanted))
        ).mappings():
            self._facts[row["complaint_id"]] = Facts(**row)
            self._stored_facts[row["complaint_id"]] = _comparable(row)

    # ---- what the handlers call -----------------------------------------------------------------
    def get(self, complaint_id: str) -> Case | None:
        """The case as a fresh object (as `load_case` gives it), or None."""
        self.read([complaint_id])
        row = self._rows.get(complaint_id)
        if row is None:
            return None
        return _case(row, [_clock(c) for c in self._clocks.get(complaint_id, [])])

    def save(self, case: Case) -> None:
        """Write back a case from `get`: in memory now, to the tables at `flush`."""
        row = self._rows.get(case.complaint_id)
        if row is None or row.version != case.version:
            raise StaleCase(f"case {case.complaint_id} changed since it was read in this batch")
        case.version += 1
        self._keep(case, row.opened_by_event)

    def add(self, case: Case, opened_by_event: str = "") -> None:
        self.read([case.complaint_id])
        if case.complaint_id in self._rows:
            raise ValueError(f"complaint {case.complaint_id} has a case already")
        self._new.add(case.complaint_id)
        self._keep(case, opened_by_event)

    def facts(self, complaint_id: str) -> Facts | None:
        self.read([complaint_id])
        return self._facts.get(complaint_id)

    def facts_for_update(self, complaint_id: str) -> Facts:
        """The complaint's facts, created (and written at flush) when there are none yet."""
        facts = self.facts(complaint_id)
        if facts is None:
            facts = self._facts[complaint_id] = Facts(complaint_id=complaint_id)
        return facts

    def tenant(self, complaint_id: str) -> str:
        """As `stored_tenant`: the tenant ComplaintReceived named, "" when none."""
        facts = self.facts(complaint_id)
        return facts.tenant if facts is not None else ""

    def _keep(self, case: Case, opened_by_event: str) -> None:
        cid = case.complaint_id
        self._rows[cid] = _Values(
            complaint_id=cid, opened_by_event=opened_by_event, version=case.version, **_case_values(case)
        )
        self._clocks[cid] = _in_clock_order(
            _Values(complaint_id=cid, name=c.name.value, cycle=c.cycle, **_clock_values(case, c))
            for c in case.clocks.values()
        )
        for clock in self._clocks[cid]:
            self._saved_clocks[(cid, clock.name, clock.cycle)] = clock
        self._changed[cid] = None

    # ---- the writes -----------------------------------------------------------------------------
    def flush(self) -> None:
        """Write every change of the batch: one statement per table and kind."""
        now = utcnow()
        new_cases, changed_cases, new_clocks, changed_clocks = [], [], [], []
        for cid in sorted(self._changed):  # one lock order on PostgreSQL
            row = {**self._rows[cid], "updated_at": now}
            if cid in self._new:
                new_cases.append(row)
            else:
                del row["opened_by_event"]
                changed_cases.append({**row, "read_version": self._read_versions[cid]})
        for key, clock in sorted(self._saved_clocks.items()):
            stored = self._stored_clocks.get(key)
            if stored is None:
                new_clocks.append(dict(clock))
            elif _comparable(clock) != stored:
                changed_clocks.append(dict(clock))
        session = self.session
        if new_cases:
            session.execute(insert(CaseRow.__table__), new_cases)
        if changed_cases:
            updated = _update_many(
                session, CaseRow.__table__, ("complaint_id",), changed_cases, version_key="read_version"
            )
            if updated is not None and updated != len(changed_cases):
                raise StaleCase("a case of the batch changed concurrently")
        if new_clocks:
            session.execute(insert(ClockRow.__table__), new_clocks)
        if changed_clocks:
            _update_many(session, ClockRow.__table__, ("complaint_id", "name", "cycle"), changed_clocks)
        self._flush_facts()

    def _flush_facts(self) -> None:
        new: list[dict[str, Any]] = []
        changed: dict[tuple[str, ...], list[dict[str, Any]]] = {}  # by the columns that changed
        for cid, facts in sorted(self._facts.items()):
            if facts is None:
                continue
            values = {name: getattr(facts, name) for name in _FACT_COLUMNS}
            stored = self._stored_facts.get(cid)
            if stored is None:
                new.append({"complaint_id": cid, **values})
                continue
            now = _comparable(values)
            columns = tuple(name for name in _FACT_COLUMNS if now[name] != stored[name])
            if columns:  # only those: as the ORM wrote, so a racing writer of another column keeps it
                changed.setdefault(columns, []).append(
                    {"complaint_id": cid, **{name: values[name] for name in columns}}
                )
        if new:
            self.session.execute(insert(ComplaintFactsRow.__table__), new)
        for rows in changed.values():
            _update_many(self.session, ComplaintFactsRow.__table__, ("complaint_id",), rows)


def _in_clock_order(clocks: Iterable[_Values]) -> list[_Values]:
    order = {name.value: i for i, name in enumerate(ClockName)}
    return sorted(clocks, key=lambda c: order[c.name])


def _update_many(
    session: Session,
    table: Any,
    keys: tuple[str, ...],
    rows: list[dict[str, Any]],
    version_key: str = "",
) -> int | None:
    """UPDATE ... WHERE key = :key [AND version = :version_key] for every row (executemany; all
    rows carry the same columns). Rows matched, or None where the driver cannot tell for an
    executemany (psycopg2)."""
    # Bound names differ from column names: SQLAlchemy reserves those for its own SET parameters.
    skip = {*keys, version_key}
    values = {name: bindparam(f"v_{name}") for name in rows[0] if name not in skip}
    where = [table.c[key] == bindparam(f"k_{key}") for key in keys]
    if version_key:
        where.append(table.c.version == bindparam("k_version"))
    params = [
        {
            ("k_version" if k == version_key else f"k_{k}" if k in keys else f"v_{k}"): v
            for k, v in row.items()
        }
        for row in rows
    ]
    result = session.execute(update(table).where(*where).values(values), params)
    return result.rowcount if session.get_bind().dialect.supports_sane_multi_rowcount else None  # type: ignore[attr-defined]
