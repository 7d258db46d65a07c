"""Choosing the owner within a team. There is always one: when no agent can take the complaint,
the team's duty owner (its lead) holds it in the team's queue, so nothing waits unowned; when
capacity frees, the oldest queued complaint an agent can take is assigned first.

Strategies, applied in this order:
  previous owner  a returning customer's earlier owner, when they are eligible
  skills match    only agents with every required skill (and the complaint's language, when the
                  rule asks for it), online, on shift and below capacity are eligible
  most-available  (team default) the lowest open/capacity load; ties: fewer so far, then id
  round-robin     (team option) the eligible agent assigned longest ago
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

from .model import Agent, AgentLoad, Team

_NO_LOAD = AgentLoad()


@dataclass(frozen=True)
class Need:
    """What a complaint asks of its owner."""

    required_skills: tuple[str, ...] = ()
    language: str = ""  # the agent must speak it; "" when the rule does not ask


@dataclass(frozen=True)
class Assignment:
    owner: str
    owner_is_duty_lead: bool
    strategy: str  # previous-owner, most-available, round-robin, duty-owner
    reason: str


def _why_not(agent: Agent, load: AgentLoad, need: Need, team: Team, now: datetime | None) -> str:
    """Why an agent cannot take the complaint now; "" when they can."""
    if agent.presence != "online":
        return agent.presence
    if not agent.on_shift(now, team.time_zone):
        return "off shift"
    if load.open_assignments >= agent.capacity:
        return "at capacity"
    missing = [s for s in need.required_skills if s not in agent.skills]
    if missing:
        return f"lacks {', '.join(missing)}"
    if need.language and need.language not in agent.languages:
        return f"does not speak {need.language}"
    return ""


def assign(
    team: Team,
    loads: Mapping[str, AgentLoad],
    previous_owners: Sequence[str] = (),
    need: Need = Need(),
    now: datetime | None = None,
    exclude: Sequence[str] = (),
) -> Assignment:
    load_of: Callable[[str], AgentLoad] = lambda agent_id: loads.get(agent_id, _NO_LOAD)  # noqa: E731
    eligible = [
        a
        for a in team.members
        if not a.is_lead and a.id not in exclude and not _why_not(a, load_of(a.id), need, team, now)
    ]
    by_id = {a.id: a for a in eligible}
    for agent_id in previous_owners:
        agent = by_id.get(agent_id)
        if agent is not None:
            load = load_of(agent_id)
            return Assignment(
                agent.id,
                False,
                "previous-owner",
                f"{agent.id} handled this customer before and is online with capacity "
                f"({load.open_assignments} of {agent.capacity} open)",
            )
    skills = f" with {', '.join(need.required_skills)}" if need.required_skills else ""
    speaks = f" speaking {need.language}" if need.language else ""
    if eligible:
        if team.strategy == "round-robin":
            best = min(eligible, key=lambda a: (load_of(a.id).last_assigned_seq, team.members.index(a)))
            load = load_of(best.id)
            return Assignment(
                best.id,
                False,
                "round-robin",
                f"{best.id} is next in the team's rotation among online agents{skills}{speaks} with free "
                f"capacity ({load.open_assignments} of {best.capacity} open)",
            )

        def rank(a: Agent) -> tuple[Fraction, int, str]:
            load = load_of(a.id)
            return Fraction(load.open_assignments, a.capacity), load.total_assigned, a.id

        best = min(eligible, key=rank)
        load = load_of(best.id)
        return Assignment(
            best.id,
            False,
            "most-available",
            f"{best.id} is the least-loaded online agent{skills}{speaks} with free capacity "
            f"({load.open_assignments} of {best.capacity} open)",
        )

    others = [a for a in team.members if not a.is_lead and a.id not in exclude]
    if not others:
        why = "the team has no other agents" if exclude else "the team has no agents"
    else:
        why = "no agent can take it now (" + "; ".join(
            f"{a.id}: {_why_not(a, load_of(a.id), need, team, now) or 'excluded'}" for a in others
        )
        why += ")"
    return Assignment(
        team.duty_owner,
        True,
        "duty-owner",
        f"{why}; it waits in the {team.id} queue held by the duty owner {team.duty_owner}, and is "
        "assigned as soon as capacity frees",
    )


@dataclass(frozen=True)
class QueuedComplaint:
    complaint_id: str
    need: Need
    previous_owners: tuple[str, ...] = ()


def drain_queue(
    team: Team,
    loads: Mapping[str, AgentLoad],
    queue: Sequence[QueuedComplaint],
    now: datetime | None = None,
) -> list[tuple[QueuedComplaint, Assignment]]:
    """Assign queued complaints (given oldest first) while agents have capacity. The oldest one an
    agent can take goes first; one nobody can take yet (a skill nobody free has) does not block
    the ones behind it."""
    current = dict(loads)
    assigned: list[tuple[QueuedComplaint, Assignment]] = []
    for item in queue:
        choice = assign(team, current, item.previous_owners, item.need, now, exclude=(team.duty_owner,))
        if choice.owner_is_duty_lead:
            continue
        load = current.get(choice.owner, _NO_LOAD)
        seq = max((x.last_assigned_seq for x in current.values()), default=0) + 1
        current[choice.owner] = AgentLoad(load.open_assignments + 1, load.total_assigned + 1, seq)
        assigned.append((item, choice))
    return assigned
