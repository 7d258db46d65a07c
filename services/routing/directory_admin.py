"""Directory administration (the service layer behind `RoutingAdmin`'s directory RPCs): presence,
capacity and agents, teams, and B2B accounts, each of one tenant's own directory. Each change and
its audit entry are committed in one transaction; changes that free capacity assign queued
complaints in that same transaction.

A tenant changes only its own directory: a tenant with none has no agents to change (NOT_FOUND;
its complaints are routed by the seeded tenant's directory until it creates its first team with
UpsertTeam, from which on they use its own)."""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from services.common.db import utcnow
from services.common.outbox import OutboxRelay

from .adapters import accounts_db, db
from .admin import Conflict, NotFound
from .domain.model import PRESENCES, STRATEGIES, Agent, InvalidData
from .service import Router

MAX_ID = 64
MAX_NAME = 200
MAX_TZ = 64
MAX_TEAMS = 500
MAX_ACCOUNTS = 10_000


# The audit's tenant column comes with migration 0005; until db.audit takes it, the entry's detail
# names the tenant, so no directory change is audited without it.
_AUDIT_TAKES_TENANT = "tenant" in inspect.signature(db.audit).parameters


def _audit(session: Session, tenant: str, actor: str, action: str, target: str, detail: dict) -> None:
    if _AUDIT_TAKES_TENANT:
        db.audit(session, actor, action, target, detail, tenant=tenant)
    else:
        db.audit(session, actor, action, target, {**detail, "tenant": tenant})


@dataclass(frozen=True)
class TeamChange:
    id: str
    name: str = ""
    duty_owner: str = ""
    manager: str = ""
    director: str = ""
    time_zone: str = ""
    strategy: str = ""


@dataclass(frozen=True)
class AccountRecord:
    id: str
    name: str = ""
    tier: str = ""
    sla_policy: str = ""
    response_hours: int = 0
    account_manager: str = ""


def _text(value: str, field: str, limit: int, required: bool = False) -> str:
    value = value.strip()
    if required and not value:
        raise InvalidData(field, "is required")
    if len(value) > limit:
        raise InvalidData(field, f"is longer than {limit} characters")
    if any(ch in value for ch in "\r\n\t\x00"):
        raise InvalidData(field, "must be one line of text")
    return value


def check_team(team: TeamChange) -> TeamChange:
    """INVALID_ARGUMENT naming the field; an empty time zone/strategy keeps the stored one."""
    zone = _text(team.time_zone, "team.time_zone", MAX_TZ)
    if zone:
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise InvalidData("team.time_zone", f"{zone!r} is not an IANA time zone") from exc
    strategy = _text(team.strategy, "team.strategy", MAX_ID)
    if strategy and strategy not in STRATEGIES:
        raise InvalidData("team.strategy", f"{strategy!r} is not one of {', '.join(STRATEGIES)}")
    return TeamChange(
        id=_text(team.id, "team.id", MAX_ID, required=True),
        name=_text(team.name, "team.name", MAX_NAME),
        duty_owner=_text(team.duty_owner, "team.duty_owner", MAX_ID),
        manager=_text(team.manager, "team.manager", MAX_ID),
        director=_text(team.director, "team.director", MAX_ID),
        time_zone=zone,
        strategy=strategy,
    )


def check_account(account: AccountRecord) -> AccountRecord:
    if account.response_hours < 0 or account.response_hours > 24 * 365:
        raise InvalidData("account.response_hours", "must be between 0 and 8760")
    return AccountRecord(
        id=_text(account.id, "account.id", MAX_ID, required=True),
        name=_text(account.name, "account.name", MAX_NAME),
        tier=_text(account.tier, "account.tier", MAX_ID),
        sla_policy=_text(account.sla_policy, "account.sla_policy", MAX_ID),
        response_hours=account.response_hours,
        account_manager=_text(account.account_manager, "account.account_manager", MAX_ID),
    )


def _team_summary(row: db.RoutingTeam) -> dict:
    return {
        "name": row.name,
        "duty_owner": row.duty_owner,
        "manager": row.manager,
        "director": row.director,
        "time_zone": row.time_zone,
        "strategy": row.strategy,
    }


def _account_summary(row: accounts_db.RoutingAccount) -> dict:
    return {
        "name": row.name,
        "tier": row.tier,
        "sla_policy": row.sla_policy,
        "response_hours": row.response_hours,
        "account_manager": row.account_manager,
    }


def _agent_summary(row: db.RoutingAgent) -> dict:
    return {
        "team": row.team,
        "skills": list(row.skills),
        "languages": list(row.languages),
        "capacity": row.capacity,
        "presence": row.presence,
        "working_hours": list(row.working_hours),
        "email": row.email,
    }


class DirectoryAdministration:
    def __init__(self, engine: Engine, router: Router, relay: OutboxRelay | None):
        self.engine = engine
        self.router = router
        self.relay = relay

    def _tenant(self, tenant: str) -> str:
        return tenant.strip() or self.router.default_tenant

    def _own_directory(self, session: Session, tenant: str) -> str:
        """The tenant's own directory; never another tenant's (the seeded one serves its routing
        only, so nobody can change the seeded tenant's agents by naming a tenant without one)."""
        tenant = self._tenant(tenant)
        if not db.has_directory(session, tenant):
            raise NotFound(f"tenant {tenant!r} has no routing directory")
        return tenant

    def _wake(self, assigned: list[str]) -> None:
        if assigned and self.relay is not None:
            self.relay.wake()

    # --- agents ------------------------------------------------------------------------------

    def _change_agent(
        self, tenant: str, agent_id: str, actor: str, action: str, change: Callable[[db.RoutingAgent], dict]
    ) -> tuple[db.RoutingAgent, list[str]]:
        if not agent_id.strip():
            raise InvalidData("agent", "is required")
        if not actor.strip():
            raise InvalidData("actor", "is required: every change names who made it")
        with Session(self.engine) as session:
            tenant = self._own_directory(session, tenant)
            row = db.get_agent(session, tenant, agent_id.strip())
            if row is None:
                raise NotFound(f"agent {agent_id!r} is not in the directory of {tenant!r}")
            old_team = row.team
            detail = change(row)
            db.save_agent(session, row)
            _audit(session, tenant, actor, action, row.id, detail)
            session.flush()
            assigned = self._drain_after_change(session, tenant, {old_team, row.team}, f"{action} {row.id}")
            session.commit()
            session.refresh(row)
        self._wake(assigned)
        return row, assigned

    def _drain_after_change(self, session: Session, tenant: str, teams: set[str], cause: str) -> list[str]:
        trigger = f"admin:{uuid.uuid4()}"  # each admin change is its own trigger: ids stay unique
        assigned: list[str] = []
        for team in sorted(t for t in teams if t):
            assigned += self.router.drain(session, tenant, team, cause, trigger)
        return assigned

    def set_presence(
        self, tenant: str, agent_id: str, presence: str, actor: str
    ) -> tuple[db.RoutingAgent, list[str]]:
        if presence not in PRESENCES:
            raise InvalidData("presence", f"{presence!r} is not one of {', '.join(PRESENCES)}")

        def change(row: db.RoutingAgent) -> dict:
            before, row.presence = row.presence, presence
            return {"presence": [before, presence]}

        return self._change_agent(tenant, agent_id, actor, "agent.presence", change)

    def set_capacity(
        self, tenant: str, agent_id: str, capacity: int, actor: str
    ) -> tuple[db.RoutingAgent, list[str]]:
        if capacity < 0 or capacity > 1000:
            raise InvalidData("capacity", "must be between 0 and 1000")

        def change(row: db.RoutingAgent) -> dict:
            before, row.capacity = row.capacity, capacity
            return {"capacity": [before, capacity]}

        return self._change_agent(tenant, agent_id, actor, "agent.capacity", change)

    def upsert_agent(self, tenant: str, agent: Agent, actor: str) -> tuple[db.RoutingAgent, list[str]]:
        if not actor.strip():
            raise InvalidData("actor", "is required: every change names who made it")
        with Session(self.engine) as session:
            tenant = self._own_directory(session, tenant)
            if db.get_team(session, tenant, agent.team) is None:
                raise NotFound(f"agent.team: team {agent.team!r} is not in the directory of {tenant!r}")
            existing = db.get_agent(session, tenant, agent.id)
            before = _agent_summary(existing) if existing else None
            old_team = existing.team if existing else ""
            row = db.upsert_agent(session, tenant, agent)
            _audit(
                session,
                tenant,
                actor,
                "agent.upsert",
                agent.id,
                {"before": before, "after": _agent_summary(row)},
            )
            session.flush()
            assigned = self._drain_after_change(
                session, tenant, {old_team, agent.team}, f"agent.upsert {agent.id}"
            )
            try:
                session.commit()
            except IntegrityError as exc:
                raise Conflict(f"agent.id: {agent.id!r} was changed concurrently; try again") from exc
            session.refresh(row)
        self._wake(assigned)
        return row, assigned

    # --- teams -------------------------------------------------------------------------------

    def upsert_team(self, tenant: str, team: TeamChange, actor: str) -> db.RoutingTeam:
        """Create or change a team of the tenant's own directory; the first team of a tenant gives
        it a directory of its own (its complaints are then routed to its own teams)."""
        team = check_team(team)
        if not actor.strip():
            raise InvalidData("actor", "is required: every change names who made it")
        tenant = self._tenant(tenant)
        with Session(self.engine) as session:
            row = db.get_team(session, tenant, team.id)
            before = _team_summary(row) if row is not None else None
            if row is None:
                count = db.count_teams(session, tenant)
                if count >= MAX_TEAMS:
                    raise Conflict(f"team.id: a directory holds at most {MAX_TEAMS} teams")
                row = db.RoutingTeam(tenant=tenant, id=team.id, name=team.id, duty_owner="", position=count)
            row.name = team.name or row.name or team.id
            if team.duty_owner:
                row.duty_owner = team.duty_owner
            row.manager, row.director = team.manager, team.director
            if team.time_zone:
                row.time_zone = team.time_zone
            if team.strategy:
                row.strategy = team.strategy
            row.admin_managed = True
            session.add(row)
            _audit(
                session,
                tenant,
                actor,
                "team.upsert",
                team.id,
                {"before": before, "after": _team_summary(row)},
            )
            try:
                session.commit()
            except IntegrityError as exc:
                raise Conflict(f"team.id: {team.id!r} was changed concurrently; try again") from exc
            session.refresh(row)
        return row

    # --- accounts ----------------------------------------------------------------------------

    def accounts(self, tenant: str) -> list[accounts_db.RoutingAccount]:
        with Session(self.engine) as session:
            return accounts_db.list_accounts(session, self._tenant(tenant))

    def upsert_account(self, tenant: str, account: AccountRecord, actor: str) -> accounts_db.RoutingAccount:
        account = check_account(account)
        if not actor.strip():
            raise InvalidData("actor", "is required: every change names who made it")
        tenant = self._tenant(tenant)
        with Session(self.engine) as session:
            row = accounts_db.get_account(session, tenant, account.id)
            before = _account_summary(row) if row is not None else None
            if row is None:
                if accounts_db.count_accounts(session, tenant) >= MAX_ACCOUNTS:
                    raise Conflict(f"account.id: a tenant holds at most {MAX_ACCOUNTS} accounts")
                row = accounts_db.RoutingAccount(tenant=tenant, id=account.id)
            row.name, row.tier, row.sla_policy = account.name, account.tier, account.sla_policy
            row.response_hours, row.account_manager = account.response_hours, account.account_manager
            row.updated_at = utcnow()
            session.add(row)
            _audit(
                session,
                tenant,
                actor,
                "account.upsert",
                account.id,
                {"before": before, "after": _account_summary(row)},
            )
            try:
                session.commit()
            except IntegrityError as exc:
                raise Conflict(f"account.id: {account.id!r} was changed concurrently; try again") from exc
            session.refresh(row)
        return row
