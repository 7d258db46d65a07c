"""Routing's tables: the directory (seeded from YAML, managed through the admin API), agents'
counts, who holds each open complaint (and the team queues), the decisions, the rule-set versions
of each tenant with its active/staged pointer, and the append-only audit log.
(Over ~450 lines: one module per service database keeps every table and its queries together.)"""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Text, UniqueConstraint, func, update
from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, col, select, text

from services.common.db import utcnow

from ..domain.model import Agent, AgentLoad, Decision, Directory, Team, WorkingHours
from ..domain.staging import Pointer, Staging
from . import accounts_db, corrections_db


class RoutingTeam(SQLModel, table=True):
    __tablename__ = "routing_teams"
    tenant: str = Field(primary_key=True)
    id: str = Field(primary_key=True)
    name: str
    duty_owner: str
    manager: str = ""
    director: str = ""
    time_zone: str = "UTC"
    strategy: str = "most-available"
    position: int = 0  # order in the directory file, kept for listings
    # Set once UpsertTeam changes the team: seeding no longer overwrites it.
    admin_managed: bool = False


class RoutingAgent(SQLModel, table=True):
    __tablename__ = "routing_agents"
    tenant: str = Field(primary_key=True)
    id: str = Field(primary_key=True)
    team: str = Field(index=True)
    name: str
    skills: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    languages: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    capacity: int = 0
    presence: str = "offline"
    is_lead: bool = False
    email: str = ""
    chat_handle: str = ""
    working_hours: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    position: int = 0
    # Set once the admin API changes the agent: seeding no longer overwrites it.
    admin_managed: bool = False
    # Runtime state, never touched by seeding.
    open_assignments: int = 0
    total_assigned: int = 0
    last_assigned_seq: int = 0
    updated_at: datetime = Field(default_factory=utcnow)


class RoutingDecisionRecord(SQLModel, table=True):
    """The first routing decision of a complaint, with the input it was taken on (for explain)."""

    __tablename__ = "routing_decisions"
    complaint_id: str = Field(primary_key=True)
    reference: str = Field(default="", index=True)
    tenant: str = Field(index=True)
    sector: str
    team: str = Field(index=True)
    owner: str = Field(index=True)
    owner_is_duty_lead: bool = False
    priority: str
    sla_policy: str
    rule_id: str
    rule_set_version: str
    rule_set_tenant: str = ""  # whose version: the complaint's tenant's own or the operator's built-in
    rule_set_staged: bool = False  # decided by a staged version
    explanation: str
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    required_skills: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    keep_informed: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    input_json: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    trigger_event_id: str
    decided_at: datetime = Field(default_factory=utcnow)


class RoutingHolding(SQLModel, table=True):
    """Who holds an open complaint now, counted against their capacity. A queued complaint is held
    by its team's duty owner until an agent has capacity; released when resolved or closed."""

    __tablename__ = "routing_holdings"
    complaint_id: str = Field(primary_key=True)
    tenant: str = Field(index=True)  # the directory's tenant
    team: str = Field(index=True)
    owner: str = ""  # "" once released
    queued: bool = Field(default=False, index=True)
    queued_at: datetime | None = None
    priority: str = "normal"
    required_skills: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    required_language: str = ""
    previous_owners: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow)


class RoutingRuleSetRecord(SQLModel, table=True):
    """A stored rule-set version of one tenant (the operator tenant's are the built-in ones)."""

    __tablename__ = "routing_rule_sets"
    __table_args__ = (UniqueConstraint("tenant", "version", name="uq_routing_rule_sets_tenant_version"),)
    seq: int | None = Field(default=None, primary_key=True)
    tenant: str = Field(default="", index=True)
    version: str = Field(index=True)
    source: str = Field(sa_column=Column(Text, nullable=False))
    file_name: str = ""
    checksum: str
    rules: int = 0
    author: str
    comment: str = ""
    created_at: datetime = Field(default_factory=utcnow)


class RoutingActiveRuleSet(SQLModel, table=True):
    """One row per tenant: its active version ("" = none of its own, the built-in routes it) and
    its staged one. Each decision reads it in its own transaction (once per tenant per batch), so
    switching is one committed update, seen by all workers at once."""

    __tablename__ = "routing_tenant_rule_sets"
    tenant: str = Field(primary_key=True)
    version: str = ""
    previous_version: str = ""
    activated_at: datetime = Field(default_factory=utcnow)
    staged_version: str = ""
    staged_percent: int = 0
    staged_channels: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    staged_at: datetime | None = None
    staged_by: str = ""


class RoutingAudit(SQLModel, table=True):
    """Append-only: rows are only ever inserted (on PostgreSQL a trigger refuses UPDATE/DELETE)."""

    __tablename__ = "routing_audit"
    id: int | None = Field(default=None, primary_key=True)
    tenant: str = Field(default="", index=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    actor: str
    action: str = Field(index=True)
    target: str
    detail: str = ""  # JSON
    comment: str = ""


MODELS = [
    RoutingTeam,
    RoutingAgent,
    RoutingDecisionRecord,
    RoutingHolding,
    RoutingRuleSetRecord,
    RoutingActiveRuleSet,
    RoutingAudit,
    *corrections_db.MODELS,  # triage corrections (services/routing/corrections.py)
    *accounts_db.MODELS,  # each tenant's B2B accounts (services/routing/directory_admin.py)
]


# --- directory ---------------------------------------------------------------------------------


def _hours_json(hours: Sequence[WorkingHours]) -> list[dict[str, Any]]:
    return [{"days": list(w.days), "start": w.start, "end": w.end} for w in hours]


# Transaction-scoped advisory lock (PostgreSQL) held while one worker seeds the directory.
SEED_LOCK_KEY = zlib.crc32(b"haq-routing-seed-directory")


def seed_directory(engine: Engine, directory: Directory) -> None:
    """Make the stored directory match the file; safe to run at every start. Counts are kept;
    an agent the admin API changed keeps the admin's values; an agent dropped from the file is set
    offline (it may still hold complaints) rather than deleted."""
    tenant = directory.tenant
    with Session(engine) as session:
        if engine.dialect.name == "postgresql":
            # Workers starting together seed one at a time: the lock is taken before the rows are
            # read, so the second sees what the first inserted instead of inserting it again.
            session.exec(text("SELECT pg_advisory_xact_lock(:key)").bindparams(key=SEED_LOCK_KEY))
        teams = {t.id: t for t in session.exec(select(RoutingTeam).where(RoutingTeam.tenant == tenant))}
        agents = {a.id: a for a in session.exec(select(RoutingAgent).where(RoutingAgent.tenant == tenant))}
        position = 0
        for t_pos, team in enumerate(directory.teams):
            row = teams.get(team.id) or RoutingTeam(tenant=tenant, id=team.id, name=team.name, duty_owner="")
            if not row.admin_managed:
                row.name, row.duty_owner, row.position = team.name, team.duty_owner, t_pos
                row.manager, row.director, row.time_zone, row.strategy = (
                    team.manager,
                    team.director,
                    team.time_zone,
                    team.strategy,
                )
                session.add(row)
            for member in team.members:
                a = agents.pop(member.id, None) or RoutingAgent(tenant=tenant, id=member.id, team="", name="")
                a.position = position
                position += 1
                if not a.admin_managed:
                    _apply_agent(a, member)
                session.add(a)
        for gone in agents.values():
            if not gone.admin_managed:
                gone.presence = "offline"
                session.add(gone)
        session.commit()


def _apply_agent(row: RoutingAgent, agent: Agent) -> None:
    row.team, row.name, row.is_lead = agent.team, agent.name, agent.is_lead
    row.skills, row.languages = list(agent.skills), list(agent.languages)
    row.capacity, row.presence = agent.capacity, agent.presence
    row.email, row.chat_handle = agent.email, agent.chat_handle
    row.working_hours = _hours_json(agent.working_hours)
    row.updated_at = utcnow()


def _agent(row: RoutingAgent) -> Agent:
    return Agent(
        id=row.id,
        name=row.name,
        team=row.team,
        skills=tuple(row.skills),
        languages=tuple(row.languages),
        capacity=row.capacity,
        presence=row.presence,
        is_lead=row.is_lead,
        email=row.email,
        chat_handle=row.chat_handle,
        working_hours=tuple(WorkingHours(tuple(w["days"]), w["start"], w["end"]) for w in row.working_hours),
    )


@dataclass(frozen=True)
class TeamView:
    team: RoutingTeam
    agents: list[RoutingAgent]  # the lead first
    queued: int  # complaints held by the duty owner because no agent had capacity


def load_directory(
    session: Session, tenant: str, lock: bool = False
) -> tuple[Directory, dict[str, AgentLoad]]:
    """The stored directory of a tenant and every agent's load. `lock` takes row locks (PostgreSQL)
    so two routing workers cannot both give an agent its last free slot."""
    team_rows = session.exec(
        select(RoutingTeam).where(RoutingTeam.tenant == tenant).order_by(col(RoutingTeam.position))
    ).all()
    query = select(RoutingAgent).where(RoutingAgent.tenant == tenant).order_by(col(RoutingAgent.position))
    # Counts are changed with UPDATE statements in the same transaction: read them fresh.
    query = query.execution_options(populate_existing=True)
    agent_rows = session.exec(query.with_for_update() if lock else query).all()
    teams = []
    for t in team_rows:
        members = sorted((a for a in agent_rows if a.team == t.id), key=lambda a: (not a.is_lead, a.position))
        teams.append(
            Team(
                id=t.id,
                name=t.name,
                duty_owner=t.duty_owner,
                members=tuple(map(_agent, members)),
                manager=t.manager,
                director=t.director,
                time_zone=t.time_zone,
                strategy=t.strategy,
            )
        )
    loads = {a.id: AgentLoad(a.open_assignments, a.total_assigned, a.last_assigned_seq) for a in agent_rows}
    return Directory(tenant=tenant, teams=tuple(teams)), loads


def load_agent_loads(session: Session, tenant: str) -> dict[str, AgentLoad]:
    """Every agent's load, fresh (counts change with UPDATE statements in the same transaction);
    one Core query, for a directory already loaded and locked in this transaction."""
    t = RoutingAgent.__table__
    rows = session.execute(
        select(t.c.id, t.c.open_assignments, t.c.total_assigned, t.c.last_assigned_seq).where(
            t.c.tenant == tenant
        )
    )
    return {agent_id: AgentLoad(open_, total, seq) for agent_id, open_, total, seq in rows}


def get_agent(session: Session, tenant: str, agent_id: str) -> RoutingAgent | None:
    return session.get(RoutingAgent, (tenant, agent_id))


def get_team(session: Session, tenant: str, team_id: str) -> RoutingTeam | None:
    return session.get(RoutingTeam, (tenant, team_id))


def save_agent(session: Session, row: RoutingAgent) -> None:
    row.admin_managed = True
    row.updated_at = utcnow()
    session.add(row)


def upsert_agent(session: Session, tenant: str, agent: Agent) -> RoutingAgent:
    row = get_agent(session, tenant, agent.id)
    if row is None:
        last = session.exec(
            select(func.max(RoutingAgent.position)).where(RoutingAgent.tenant == tenant)
        ).one()
        row = RoutingAgent(
            tenant=tenant, id=agent.id, team=agent.team, name=agent.name, position=(last or 0) + 1
        )
    is_lead = row.is_lead and row.team == agent.team  # a lead moved to another team is an agent there
    _apply_agent(row, agent)
    row.is_lead = is_lead
    save_agent(session, row)
    return row


def _count(session: Session, tenant: str, agent_id: str, delta: int) -> None:
    values: dict[str, Any] = {"updated_at": utcnow()}
    if delta > 0:
        seq = session.exec(
            select(func.max(RoutingAgent.last_assigned_seq)).where(RoutingAgent.tenant == tenant)
        ).one()
        values |= {
            "open_assignments": RoutingAgent.open_assignments + 1,
            "total_assigned": RoutingAgent.total_assigned + 1,
            "last_assigned_seq": (seq or 0) + 1,
        }
    else:
        # Never below zero: a release for a complaint counted before a restart with a wiped table.
        values["open_assignments"] = func.max(RoutingAgent.open_assignments - 1, 0)
        if session.get_bind().dialect.name == "postgresql":
            values["open_assignments"] = func.greatest(RoutingAgent.open_assignments - 1, 0)
    session.exec(  # type: ignore[call-overload]
        update(RoutingAgent)
        .where(col(RoutingAgent.tenant) == tenant, col(RoutingAgent.id) == agent_id)
        .values(**values)
    )


def record_assignment(session: Session, tenant: str, agent_id: str) -> None:
    _count(session, tenant, agent_id, +1)


# --- holdings and queues -----------------------------------------------------------------------


def get_holding(session: Session, complaint_id: str) -> RoutingHolding | None:
    return session.get(RoutingHolding, complaint_id)


def hold(
    session: Session,
    tenant: str,
    complaint_id: str,
    team: str,
    owner: str,
    queued: bool,
    *,
    priority: str = "normal",
    required_skills: Sequence[str] = (),
    required_language: str = "",
    previous_owners: Sequence[str] = (),
) -> RoutingHolding:
    """`owner` now holds the complaint: their count goes up, the previous holder's down (once,
    however often the same move is reported, e.g. by our own reroute and then escalation's
    OwnerReplaced)."""
    row = get_holding(session, complaint_id)
    if row is None:
        row = RoutingHolding(complaint_id=complaint_id, tenant=tenant, team=team, priority=priority)
        row.required_skills, row.required_language = list(required_skills), required_language
        row.previous_owners = list(previous_owners)
    if row.owner != owner:
        if row.owner:
            _count(session, row.tenant, row.owner, -1)
        if owner:
            _count(session, tenant, owner, +1)
    if queued and not row.queued:
        row.queued_at = utcnow()
    row.tenant, row.team, row.owner, row.queued = tenant, team, owner, queued
    row.updated_at = utcnow()
    session.add(row)
    return row


def release(session: Session, complaint_id: str, owner: str = "") -> RoutingHolding | None:
    """The complaint no longer counts against `owner` (anyone, when empty). Returns the holding
    when something was released, so the caller can assign the freed capacity."""
    row = get_holding(session, complaint_id)
    if row is None or not row.owner or (owner and row.owner != owner):
        return None
    _count(session, row.tenant, row.owner, -1)
    row.owner, row.queued, row.updated_at = "", False, utcnow()
    session.add(row)
    return row


def queue(session: Session, tenant: str, team: str) -> list[RoutingHolding]:
    """The team's queued complaints, oldest first."""
    return list(
        session.exec(
            select(RoutingHolding)
            .where(RoutingHolding.tenant == tenant, RoutingHolding.team == team, col(RoutingHolding.queued))
            .order_by(col(RoutingHolding.queued_at), col(RoutingHolding.complaint_id))
            .execution_options(populate_existing=True)  # another worker may have assigned one since
        ).all()
    )


# --- decisions ---------------------------------------------------------------------------------


def save_decision(
    session: Session,
    decision: Decision,
    trigger_event_id: str,
    reference: str = "",
    input_json: Any = None,
    *,
    rule_set_tenant: str = "",
    rule_set_staged: bool = False,
) -> RoutingDecisionRecord:
    row = RoutingDecisionRecord(
        complaint_id=decision.complaint_id,
        reference=reference,
        tenant=decision.tenant,
        sector=decision.sector,
        team=decision.team,
        owner=decision.owner,
        owner_is_duty_lead=decision.owner_is_duty_lead,
        priority=decision.priority,
        sla_policy=decision.sla_policy,
        rule_id=decision.rule_id,
        rule_set_version=decision.rule_set_version,
        rule_set_tenant=rule_set_tenant or decision.tenant,
        rule_set_staged=rule_set_staged,
        explanation=decision.explanation,
        tags=list(decision.tags),
        required_skills=list(decision.required_skills),
        keep_informed=list(decision.keep_informed),
        input_json=input_json or {},
        trigger_event_id=trigger_event_id,
    )
    session.add(row)
    return row


def get_decision(session: Session, complaint_id: str) -> RoutingDecisionRecord | None:
    return session.get(RoutingDecisionRecord, complaint_id)


def find_decision(session: Session, complaint: str) -> RoutingDecisionRecord | None:
    """By complaint id or by its reference (HQ-7KX2-94)."""
    row = session.get(RoutingDecisionRecord, complaint)
    if row is None and complaint:
        row = session.exec(
            select(RoutingDecisionRecord).where(RoutingDecisionRecord.reference == complaint.upper())
        ).first()
    return row


def recent_inputs(session: Session, last: int, tenant: str | None = None) -> list[dict[str, Any]]:
    """The stored inputs of the `last` complaints (of `tenant`, when given) routed most recently,
    oldest first (one query)."""
    query = select(RoutingDecisionRecord.input_json)
    if tenant is not None:
        query = query.where(RoutingDecisionRecord.tenant == tenant)
    rows = session.exec(
        query.order_by(
            RoutingDecisionRecord.decided_at.desc(), RoutingDecisionRecord.complaint_id.desc()
        ).limit(last)  # type: ignore[attr-defined]
    ).all()
    return [r for r in reversed(rows) if r]


def has_directory(session: Session, tenant: str) -> bool:
    return (
        session.exec(select(RoutingTeam.id).where(RoutingTeam.tenant == tenant).limit(1)).first() is not None
    )


def count_teams(session: Session, tenant: str) -> int:
    return len(session.exec(select(RoutingTeam.id).where(RoutingTeam.tenant == tenant)).all())


def list_teams(session: Session, tenant: str) -> Sequence[TeamView]:
    teams = session.exec(
        select(RoutingTeam).where(RoutingTeam.tenant == tenant).order_by(col(RoutingTeam.position))
    ).all()
    agents = session.exec(
        select(RoutingAgent).where(RoutingAgent.tenant == tenant).order_by(col(RoutingAgent.position))
    ).all()
    queued = dict(
        session.exec(  # type: ignore[call-overload]
            select(RoutingHolding.team, func.count())
            .where(RoutingHolding.tenant == tenant, col(RoutingHolding.queued))
            .group_by(RoutingHolding.team)
        ).all()
    )
    return [
        TeamView(
            team=t,
            agents=sorted((a for a in agents if a.team == t.id), key=lambda a: (not a.is_lead, a.position)),
            queued=queued.get(t.id, 0),
        )
        for t in teams
    ]


# --- rule sets and audit -----------------------------------------------------------------------


def active_version(session: Session, tenant: str) -> RoutingActiveRuleSet | None:
    """The tenant's pointer row (None: it never applied or staged a version)."""
    return session.get(RoutingActiveRuleSet, tenant)


def pointer(session: Session, tenant: str) -> Pointer | None:
    """The tenant's pointer as the domain reads it: one primary-key read."""
    row = active_version(session, tenant)
    if row is None:
        return None
    staging = Staging(row.staged_percent or 100, tuple(row.staged_channels)) if row.staged_version else None
    return Pointer(tenant, row.version, row.staged_version, staging)


def get_rule_set(session: Session, tenant: str, version: str) -> RoutingRuleSetRecord | None:
    return session.exec(
        select(RoutingRuleSetRecord).where(
            RoutingRuleSetRecord.tenant == tenant, RoutingRuleSetRecord.version == version
        )
    ).first()


def list_rule_sets(session: Session, tenant: str) -> list[RoutingRuleSetRecord]:
    return list(
        session.exec(
            select(RoutingRuleSetRecord)
            .where(RoutingRuleSetRecord.tenant == tenant)
            .order_by(col(RoutingRuleSetRecord.seq).desc())
        ).all()
    )


def store_rule_set(session: Session, record: RoutingRuleSetRecord) -> RoutingRuleSetRecord:
    session.add(record)
    session.flush()
    return record


def pointer_row(session: Session, tenant: str, lock: bool = False) -> RoutingActiveRuleSet:
    """The tenant's pointer row read fresh (a new, unsaved one when it has none)."""
    query = select(RoutingActiveRuleSet).where(RoutingActiveRuleSet.tenant == tenant)
    if lock:  # PostgreSQL: two admins switching one tenant at once are serialised
        query = query.with_for_update()
    row = session.exec(query.execution_options(populate_existing=True)).first()
    return row or RoutingActiveRuleSet(tenant=tenant)


def activate(session: Session, tenant: str, version: str) -> RoutingActiveRuleSet:
    """`version` routes all of the tenant's traffic now; a staged version of the same name is
    thereby promoted, any other staged one stays staged."""
    row = pointer_row(session, tenant)
    row.previous_version, row.version = row.version, version
    row.activated_at = utcnow()
    if row.staged_version == version:
        _clear_stage(row)
    session.add(row)
    return row


def stage(session: Session, tenant: str, version: str, staging: Staging, by: str) -> RoutingActiveRuleSet:
    row = pointer_row(session, tenant)
    row.staged_version, row.staged_percent = version, staging.percent
    row.staged_channels, row.staged_at, row.staged_by = list(staging.channels), utcnow(), by
    session.add(row)
    return row


def _clear_stage(row: RoutingActiveRuleSet) -> None:
    row.staged_version, row.staged_percent, row.staged_channels = "", 0, []
    row.staged_at, row.staged_by = None, ""


def unstage(session: Session, tenant: str) -> RoutingActiveRuleSet:
    row = pointer_row(session, tenant)
    _clear_stage(row)
    session.add(row)
    return row


def audit(
    session: Session,
    actor: str,
    action: str,
    target: str,
    detail: dict[str, Any],
    comment: str = "",
    *,
    tenant: str = "",
) -> None:
    """Append one entry (the only write the audit ever gets)."""
    session.add(
        RoutingAudit(
            tenant=tenant,
            actor=actor or "unknown",
            action=action,
            target=target,
            detail=json.dumps(detail, ensure_ascii=False, sort_keys=True),
            comment=comment,
        )
    )


def list_audit(session: Session, tenant: str, limit: int = 50, action: str = "") -> list[RoutingAudit]:
    """The tenant's entries, newest first."""
    query = select(RoutingAudit).where(RoutingAudit.tenant == tenant)
    if action:
        query = query.where(RoutingAudit.action == action)
    return list(session.exec(query.order_by(col(RoutingAudit.id).desc()).limit(limit)).all())


def audit_page(
    session: Session, tenant: str, after_id: int, limit: int, action: str = "", since: datetime | None = None
) -> list[RoutingAudit]:
    """The tenant's entries after `after_id`, oldest first (an export reads page by page)."""
    query = select(RoutingAudit).where(RoutingAudit.tenant == tenant, col(RoutingAudit.id) > after_id)
    if action:
        query = query.where(RoutingAudit.action == action)
    if since is not None:
        query = query.where(col(RoutingAudit.at) >= since)
    return list(session.exec(query.order_by(col(RoutingAudit.id)).limit(limit)).all())
