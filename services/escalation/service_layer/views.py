"""Escalation's queries: what it knows of a complaint, the clock lists, compliance, an agent's queue
and a case's tenant (each opens and closes its own session)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from ..adapters import db, satisfaction
from ..adapters.db import (
    ClockListing,
    ComplaintFactsRow,
    Scope,
    clock_history,
    get_facts,
    load_case,
)
from ..domain import (
    Case,
    SlaClock,
)
from .shared import Binder

log = logging.getLogger(__name__)

__all__ = ["ClockListing", "ClocksView", "Scope", "clocks_view"]


@dataclass(frozen=True)
class ClocksView:
    """What escalation knows of a complaint: its case and every clock cycle, or only that it was
    received."""

    complaint_id: str
    case: Case | None
    facts: ComplaintFactsRow | None
    history: tuple[SlaClock, ...] = ()


def clocks_view(engine: Engine, complaint_id: str, binder: Binder | None = None) -> ClocksView | None:
    with Session(engine) as session:
        case = load_case(session, complaint_id)
        history = tuple(clock_history(session, complaint_id)) if case is not None else ()
        facts = get_facts(session, complaint_id)
        if facts is not None:
            session.expunge(facts)
    if case is None and facts is None:
        return None
    if case is not None and binder is not None:
        binder(case, facts.tenant if facts is not None else "")
    return ClocksView(complaint_id, case, facts, history)


def case_and_tenant(engine: Engine, complaint_id: str, default_tenant: str) -> tuple[Case | None, bool, str]:
    """The complaint's case (None before routing), whether escalation has heard of it at all, and
    the tenant its ComplaintReceived named (`default_tenant` when none)."""
    with Session(engine) as session:
        case = db.load_case(session, complaint_id)
        facts = db.get_facts(session, complaint_id)
        tenant = db.case_tenant(session, complaint_id, default_tenant)
    return case, case is not None or facts is not None, tenant


def case_tenant(engine: Engine, complaint_id: str, default_tenant: str) -> str:
    """The tenant the complaint's ComplaintReceived named (`default_tenant` when none)."""
    with Session(engine) as session:
        return db.case_tenant(session, complaint_id, default_tenant)


def load(engine: Engine, complaint_id: str) -> Case | None:
    """The case as stored (not bound to its policy, calendar or ladder)."""
    with Session(engine) as session:
        return db.load_case(session, complaint_id)


def at_risk(
    engine: Engine, now: datetime, team: str, sector: str, limit: int, scope: Scope | None
) -> list[ClockListing]:
    with Session(engine) as session:
        return db.at_risk(session, now, team, sector, limit, scope=scope)


def breached(engine: Engine, team: str, sector: str, limit: int, scope: Scope | None) -> list[ClockListing]:
    with Session(engine) as session:
        return db.breached(session, team, sector, limit, scope=scope)


def compliance(
    engine: Engine, since: datetime | None, scope: Scope | None
) -> tuple[Sequence[Any], Sequence[Any]]:
    """(met/breached per sector, team and clock; CSAT per team, sector and channel)."""
    with Session(engine) as session:
        rows = db.compliance(session, since, scope=scope)
        csat = satisfaction.csat(session, since, scope=scope)
    return rows, csat


def queue(
    engine: Engine, agent: str, include_resolved: bool, tenant: str | None, default_tenant: str
) -> list[Case]:
    """An agent's cases; with `tenant`, only that tenant's."""
    with Session(engine) as session:
        cases = db.queue(session, agent, include_resolved)
        if tenant is not None:
            cases = [c for c in cases if db.case_tenant(session, c.complaint_id, default_tenant) == tenant]
    return cases
