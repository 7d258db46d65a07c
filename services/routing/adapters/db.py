"""Routing's tables: the directory (seeded from YAML), agents' assignment counts, and the decisions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import JSON, Column, func, update
from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, col, select

from services.common.db import utcnow

from ..domain.model import Agent, AgentLoad, Decision, Directory, Team


class RoutingTeam(SQLModel, table=True):
    __tablename__ = "routing_teams"
    tenant: str = Field(primary_key=True)
    id: str = Field(primary_key=True)
    name: str
    duty_owner: str
    position: int = 0  # order in the directory file, kept for listings


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
    position: int = 0
    # Runtime state, never touched by seeding.
    open_assignments: int = 0
    total_assigned: int = 0
    updated_at: datetime = Field(default_factory=utcnow)


class RoutingDecisionRecord(SQLModel, table=True):
    __tablename__ = "routing_decisions"
    complaint_id: str = Field(primary_key=True)
    tenant: str = Field(index=True)
    sector: str
    team: str = Field(index=True)
    owner: str = Field(index=True)
    owner_is_duty_lead: bool = False
    priority: str
    sla_policy: str
    rule_id: str
    rule_set_version: str
    explanation: str
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    required_skills: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    keep_informed: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    trigger_event_id: str
    decided_at: datetime = Field(default_factory=utcnow)


MODELS = [RoutingTeam, RoutingAgent, RoutingDecisionRecord]


def seed_directory(engine: Engine, directory: Directory) -> None:
    """Make the stored directory match the file; safe to run at every start. Counts are kept;
    an agent dropped from the file is set offline (it may still hold complaints) rather than deleted."""
    tenant = directory.tenant
    with Session(engine) as session:
        teams = {t.id: t for t in session.exec(select(RoutingTeam).where(RoutingTeam.tenant == tenant))}
        agents = {a.id: a for a in session.exec(select(RoutingAgent).where(RoutingAgent.tenant == tenant))}
        position = 0
        for t_pos, team in enumerate(directory.teams):
            row = teams.get(team.id) or RoutingTeam(tenant=tenant, id=team.id, name=team.name, duty_owner="")
            row.name, row.duty_owner, row.position = team.name, team.duty_owner, t_pos
            session.add(row)
            for member in team.members:
                a = agents.pop(member.id, None) or RoutingAgent(tenant=tenant, id=member.id, team="", name="")
                a.team, a.name, a.is_lead = team.id, member.name, member.is_lead
                a.skills, a.languages = list(member.skills), list(member.languages)
                a.capacity, a.presence, a.position = member.capacity, member.presence, position
                a.updated_at = utcnow()
                position += 1
                session.add(a)
        for gone in agents.values():
            gone.presence = "offline"
            session.add(gone)
        session.commit()


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
    agent_rows = session.exec(query.with_for_update() if lock else query).all()
    teams = []
    for t in team_rows:
        members = sorted((a for a in agent_rows if a.team == t.id), key=lambda a: (not a.is_lead, a.position))
        teams.append(Team(id=t.id, name=t.name, duty_owner=t.duty_owner, members=tuple(map(_agent, members))))
    loads = {a.id: AgentLoad(a.open_assignments, a.total_assigned) for a in agent_rows}
    return Directory(tenant=tenant, teams=tuple(teams)), loads


def record_assignment(session: Session, tenant: str, agent_id: str) -> None:
    session.exec(  # type: ignore[call-overload]
        update(RoutingAgent)
        .where(col(RoutingAgent.tenant) == tenant, col(RoutingAgent.id) == agent_id)
        .values(
            open_assignments=RoutingAgent.open_assignments + 1,
            total_assigned=RoutingAgent.total_assigned + 1,
            updated_at=utcnow(),
        )
    )


def save_decision(session: Session, decision: Decision, trigger_event_id: str) -> RoutingDecisionRecord:
    row = RoutingDecisionRecord(
        complaint_id=decision.complaint_id,
        tenant=decision.tenant,
        sector=decision.sector,
        team=decision.team,
        owner=decision.owner,
        owner_is_duty_lead=decision.owner_is_duty_lead,
        priority=decision.priority,
        sla_policy=decision.sla_policy,
        rule_id=decision.rule_id,
        rule_set_version=decision.rule_set_version,
        explanation=decision.explanation,
        tags=list(decision.tags),
        required_skills=list(decision.required_skills),
        keep_informed=list(decision.keep_informed),
        trigger_event_id=trigger_event_id,
    )
    session.add(row)
    return row


def get_decision(session: Session, complaint_id: str) -> RoutingDecisionRecord | None:
    return session.get(RoutingDecisionRecord, complaint_id)


def has_directory(session: Session, tenant: str) -> bool:
    return (
        session.exec(select(RoutingTeam.id).where(RoutingTeam.tenant == tenant).limit(1)).first() is not None
    )


def list_teams(session: Session, tenant: str) -> Sequence[TeamView]:
    teams = session.exec(
        select(RoutingTeam).where(RoutingTeam.tenant == tenant).order_by(col(RoutingTeam.position))
    ).all()
    agents = session.exec(
        select(RoutingAgent).where(RoutingAgent.tenant == tenant).order_by(col(RoutingAgent.position))
    ).all()
    queued = dict(
        session.exec(  # type: ignore[call-overload]
            select(RoutingDecisionRecord.team, func.count())
            .where(RoutingDecisionRecord.tenant == tenant, col(RoutingDecisionRecord.owner_is_duty_lead))
            .group_by(RoutingDecisionRecord.team)
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
