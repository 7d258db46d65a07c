"""The routing vocabulary: the directory of teams and agents, what a rule sees of a complaint,
and the decision taken. Plain frozen dataclasses; parsing from plain data (YAML, JSON) names the
offending field."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

PRIORITIES = ("critical", "high", "normal", "low")
PRESENCES = ("online", "away", "offline")
SECTORS = ("general", "healthcare", "education", "b2b")
ROLES = ("consumer", "patient", "relative", "parent", "student", "staff", "business_contact")
LANGUAGES = ("fa", "en")


class InvalidData(ValueError):
    """A directory or rule set that cannot be used; the message starts with the field's path."""

    def __init__(self, path: str, problem: str):
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


@dataclass(frozen=True)
class Agent:
    id: str
    name: str
    team: str
    skills: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    capacity: int = 0
    presence: str = "offline"
    is_lead: bool = False


@dataclass(frozen=True)
class Team:
    id: str
    name: str
    duty_owner: str
    members: tuple[Agent, ...]  # the lead first, then the agents

    def member(self, agent_id: str) -> Agent | None:
        return next((a for a in self.members if a.id == agent_id), None)


@dataclass(frozen=True)
class Directory:
    tenant: str
    teams: tuple[Team, ...]

    def team(self, team_id: str) -> Team | None:
        return next((t for t in self.teams if t.id == team_id), None)


@dataclass(frozen=True)
class AgentLoad:
    """Runtime state kept beside the directory: what an agent holds now and has ever been given."""

    open_assignments: int = 0
    total_assigned: int = 0


@dataclass(frozen=True)
class RoutingInput:
    """What routing reads of a complaint (no personal identifiers beyond the text itself)."""

    complaint_id: str
    tenant: str = "default"
    sector: str = ""  # one of SECTORS, or "" when the channel did not say
    complainant_role: str = ""  # one of ROLES, or ""
    channel: str = ""
    language: str = ""
    subject: str = ""
    body: str = ""
    category: str = ""
    previous_owners: tuple[str, ...] = ()  # as intake lists them, most recent first


@dataclass(frozen=True)
class Decision:
    complaint_id: str
    tenant: str
    sector: str
    team: str
    owner: str
    owner_is_duty_lead: bool
    priority: str
    sla_policy: str
    rule_id: str
    rule_set_version: str
    explanation: str
    tags: tuple[str, ...] = ()
    required_skills: tuple[str, ...] = ()
    keep_informed: tuple[str, ...] = ()


# --- parsing ---------------------------------------------------------------------------------


def require(data: Mapping[str, Any], key: str, path: str, kind: type = str) -> Any:
    if key not in data or data[key] is None or data[key] == "":
        raise InvalidData(f"{path}.{key}" if path else key, "is required")
    value = data[key]
    if (kind is int and isinstance(value, bool)) or not isinstance(value, kind):
        raise InvalidData(f"{path}.{key}" if path else key, f"must be a {kind.__name__}")
    return value


def string_list(
    data: Mapping[str, Any], key: str, path: str, allowed: tuple[str, ...] = ()
) -> tuple[str, ...]:
    value = data.get(key) or []
    where = f"{path}.{key}" if path else key
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise InvalidData(where, "must be a list of non-empty strings")
    for v in value:
        if allowed and v not in allowed:
            raise InvalidData(where, f"{v!r} is not one of {', '.join(allowed)}")
    return tuple(v.strip() for v in value)


def mapping(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidData(path, "must be a mapping")
    return value


def _parse_agent(raw: Any, path: str, team: str, is_lead: bool) -> Agent:
    data = mapping(raw, path)
    presence = data.get("presence", "offline")
    if presence not in PRESENCES:
        raise InvalidData(f"{path}.presence", f"{presence!r} is not one of {', '.join(PRESENCES)}")
    capacity = require(data, "capacity", path, int)
    if capacity < 0:
        raise InvalidData(f"{path}.capacity", "must not be negative")
    return Agent(
        id=require(data, "id", path),
        name=data.get("name") or data["id"],
        team=team,
        skills=string_list(data, "skills", path),
        languages=string_list(data, "languages", path, LANGUAGES),
        capacity=capacity,
        presence=presence,
        is_lead=is_lead,
    )


def parse_directory(raw: Any) -> Directory:
    """Directory from plain data: `tenant`, `teams[]` with `id`, `name`, `lead` and `agents[]`.
    Every team needs a lead (its duty owner); agent ids are unique across the directory."""
    data = mapping(raw, "directory")
    tenant = require(data, "tenant", "")
    raw_teams = data.get("teams")
    if not isinstance(raw_teams, list) or not raw_teams:
        raise InvalidData("teams", "must be a non-empty list")
    teams: list[Team] = []
    seen_agents: dict[str, str] = {}
    for i, raw_team in enumerate(raw_teams):
        path = f"teams[{i}]"
        t = mapping(raw_team, path)
        team_id = require(t, "id", path)
        if any(x.id == team_id for x in teams):
            raise InvalidData(f"{path}.id", f"team {team_id!r} is listed twice")
        lead = _parse_agent(t.get("lead"), f"{path}.lead", team_id, is_lead=True)
        raw_agents = t.get("agents") or []
        if not isinstance(raw_agents, list):
            raise InvalidData(f"{path}.agents", "must be a list")
        agents = [_parse_agent(a, f"{path}.agents[{j}]", team_id, False) for j, a in enumerate(raw_agents)]
        for j, member in enumerate([lead, *agents]):
            where = f"{path}.lead.id" if j == 0 else f"{path}.agents[{j - 1}].id"
            if member.id in seen_agents:
                raise InvalidData(where, f"agent {member.id!r} already belongs to {seen_agents[member.id]!r}")
            seen_agents[member.id] = team_id
        teams.append(
            Team(id=team_id, name=t.get("name") or team_id, duty_owner=lead.id, members=(lead, *agents))
        )
    return Directory(tenant=tenant, teams=tuple(teams))
