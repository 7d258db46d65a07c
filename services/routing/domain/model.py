"""The routing vocabulary: the directory of teams and agents, what a rule sees of a complaint,
and the decision taken. Plain frozen dataclasses; parsing from plain data (YAML, JSON) names the
offending field."""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PRIORITIES = ("critical", "high", "normal", "low")
PRESENCES = ("online", "away", "offline")
SECTORS = ("general", "healthcare", "education", "b2b")
ROLES = ("consumer", "patient", "relative", "parent", "student", "staff", "business_contact")
CHANNELS = ("web", "email", "chat", "social", "phone", "partner")
LANGUAGES = ("fa", "en")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Triage signals a model scores (services/routing/triage): the names rule conditions may use.
SIGNALS = ("safety", "safeguarding", "privacy", "fraud_abuse", "urgent")
SIGNAL_SOURCES = ("model", "correction")
# Load-based or rotating; skills match and a returning customer's previous owner apply under both.
STRATEGIES = ("most-available", "round-robin")
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class InvalidData(ValueError):
    """A directory or rule set that cannot be used; the message starts with the field's path."""

    def __init__(self, path: str, problem: str):
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


@dataclass(frozen=True)
class WorkingHours:
    """A weekly shift in the team's time zone; an end before the start spans midnight."""

    days: tuple[str, ...]
    start: str  # HH:MM
    end: str

    def covers(self, local: datetime) -> bool:
        start, end, now = time.fromisoformat(self.start), time.fromisoformat(self.end), local.time()
        today = DAYS[local.weekday()]
        if start <= end:
            return today in self.days and start <= now < end
        yesterday = DAYS[(local.weekday() - 1) % 7]
        return (today in self.days and now >= start) or (yesterday in self.days and now < end)


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
    email: str = ""
    chat_handle: str = ""
    working_hours: tuple[WorkingHours, ...] = ()  # empty: presence alone decides

    def on_shift(self, now: datetime | None, time_zone: str) -> bool:
        if not self.working_hours or now is None:
            return True
        local = now.astimezone(_zone(time_zone))
        return any(w.covers(local) for w in self.working_hours)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


@dataclass(frozen=True)
class Team:
    id: str
    name: str
    duty_owner: str
    members: tuple[Agent, ...]  # the lead first, then the agents
    manager: str = ""
    director: str = ""
    time_zone: str = "UTC"
    strategy: str = "most-available"

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
    """Runtime state kept beside the directory: what an agent holds now and has ever been given,
    and when it was last given one (a tenant-wide sequence number, for round-robin)."""

    open_assignments: int = 0
    total_assigned: int = 0
    last_assigned_seq: int = 0


@dataclass(frozen=True)
class Account:
    """A B2B customer's entitlements: from the accounts file, or the complaint's metadata."""

    id: str
    tier: str = ""
    sla_policy: str = ""  # the contract's SLA policy
    response_hours: int = 0  # contracted first-response time; 0 when the contract sets none
    account_manager: str = ""


@dataclass(frozen=True)
class SignalScore:
    """How strongly a complaint shows one triage signal (0..1), the words that weighed most, and
    who set it: the model, or a person correcting it (then 1.0 or 0.0)."""

    signal: str
    score: float
    top_terms: tuple[str, ...] = ()
    source: str = "model"


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
    reference: str = ""
    previous_complaints: int = 0
    open_complaints: int = 0
    purchase_date: date | None = None
    received_at: datetime | None = None
    metadata: tuple[tuple[str, str], ...] = ()
    account: Account | None = None
    # Scored once per complaint, before any rule, by the model the rule set names (in SIGNALS order).
    signals: tuple[SignalScore, ...] = ()
    triage_model: str = ""  # the model version that scored them; "" when not scored

    def signal(self, name: str) -> SignalScore | None:
        return next((s for s in self.signals if s.signal == name), None)

    def days_since_purchase(self) -> int | None:
        if self.purchase_date is None or self.received_at is None:
            return None
        return (self.received_at.date() - self.purchase_date).days

    def meta(self, key: str) -> str:
        return next((v for k, v in self.metadata if k == key), "")


class Scorer(Protocol):
    """A triage model (services/routing/triage/scorer.py's TriageModel): scores per signal name,
    each with `signal`, `score`, `top_terms` and `source`."""

    version: str

    def score(self, subject: str, body: str) -> Mapping[str, Any]: ...


MAX_TOP_TERMS = 5


def _bounded(value: Any) -> float:
    score = float(value)
    return 0.0 if math.isnan(score) else min(max(score, 0.0), 1.0)


def with_scores(complaint: RoutingInput, model: Scorer) -> RoutingInput:
    """The complaint with its signals scored by `model` (once, before any rule is evaluated).
    Signals a person corrected stay as they set them, whatever the model now says; a complaint
    the same model already scored is returned as it is."""
    if complaint.triage_model == model.version and complaint.signals:
        return complaint
    raw = model.score(complaint.subject, complaint.body)
    corrected = {s.signal: s for s in complaint.signals if s.source == "correction"}
    signals = []
    for name in SIGNALS:
        if name in corrected:
            signals.append(corrected[name])
        elif name in raw:
            s = raw[name]
            terms = tuple(str(t)[:64] for t in tuple(s.top_terms)[:MAX_TOP_TERMS])
            signals.append(SignalScore(name, _bounded(s.score), terms, "model"))
    return dataclasses.replace(complaint, signals=tuple(signals), triage_model=model.version)


def with_correction(complaint: RoutingInput, signal: str, present: bool) -> RoutingInput:
    """A person's verdict on one signal: score 1.0 (present) or 0.0 (absent), source correction.
    Re-deciding the result goes through the same rules as the model's scores."""
    if signal not in SIGNALS:
        raise InvalidData("signal", f"{signal!r} is not one of {', '.join(SIGNALS)}")
    old = complaint.signal(signal)
    new = SignalScore(signal, 1.0 if present else 0.0, old.top_terms if old else (), "correction")
    others = {s.signal: s for s in complaint.signals if s.signal != signal}
    others[signal] = new
    return dataclasses.replace(complaint, signals=tuple(others[n] for n in SIGNALS if n in others))


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
    required_language: str = ""
    strategy: str = ""  # how the owner was chosen: previous-owner, most-available, round-robin, duty-owner
    queued: bool = False  # held by the duty owner until capacity frees


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
        email=str(data.get("email") or ""),
        chat_handle=str(data.get("chat_handle") or ""),
        working_hours=parse_working_hours(data.get("working_hours"), f"{path}.working_hours"),
    )


def parse_working_hours(raw: Any, path: str) -> tuple[WorkingHours, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise InvalidData(path, "must be a list of {days, start, end}")
    shifts = []
    for i, item in enumerate(raw):
        where = f"{path}[{i}]"
        data = mapping(item, where)
        days = string_list(data, "days", where, DAYS)
        if not days:
            raise InvalidData(f"{where}.days", "must name at least one day")
        for key in ("start", "end"):
            value = str(data.get(key, ""))
            if not _HHMM.match(value):
                raise InvalidData(f"{where}.{key}", f"{value!r} is not a time HH:MM")
        if data["start"] == data["end"]:
            raise InvalidData(f"{where}.end", "must differ from start")
        shifts.append(WorkingHours(days, str(data["start"]), str(data["end"])))
    return tuple(shifts)


def parse_time_zone(value: Any, path: str) -> str:
    name = str(value or "UTC")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidData(path, f"{name!r} is not an IANA time zone") from exc
    return name


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
        strategy = t.get("strategy") or "most-available"
        if strategy not in STRATEGIES:
            raise InvalidData(f"{path}.strategy", f"{strategy!r} is not one of {', '.join(STRATEGIES)}")
        teams.append(
            Team(
                id=team_id,
                name=t.get("name") or team_id,
                duty_owner=lead.id,
                members=(lead, *agents),
                manager=str(t.get("manager") or ""),
                director=str(t.get("director") or ""),
                time_zone=parse_time_zone(t.get("time_zone"), f"{path}.time_zone"),
                strategy=strategy,
            )
        )
    return Directory(tenant=tenant, teams=tuple(teams))


def parse_accounts(raw: Any) -> dict[str, Account]:
    """B2B accounts from plain data: `accounts[]` with `id`, `tier`, `sla_policy`, `response_hours`
    and `account_manager`."""
    data = mapping(raw, "accounts file")
    items = data.get("accounts") or []
    if not isinstance(items, list):
        raise InvalidData("accounts", "must be a list")
    accounts: dict[str, Account] = {}
    for i, item in enumerate(items):
        path = f"accounts[{i}]"
        a = mapping(item, path)
        account_id = require(a, "id", path)
        hours = a.get("response_hours", 0)
        if isinstance(hours, bool) or not isinstance(hours, int) or hours < 0:
            raise InvalidData(f"{path}.response_hours", "must be a whole number of hours, 0 or more")
        accounts[account_id] = Account(
            id=account_id,
            tier=str(a.get("tier") or ""),
            sla_policy=str(a.get("sla_policy") or ""),
            response_hours=hours,
            account_manager=str(a.get("account_manager") or ""),
        )
    return accounts
