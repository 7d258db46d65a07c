"""Choosing the owner within a team. There is always one: when no agent has capacity, the team's
duty owner (its lead) holds the complaint, so nothing waits unowned."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

from .model import Agent, AgentLoad, Team

_NO_LOAD = AgentLoad()


@dataclass(frozen=True)
class Assignment:
    owner: str
    owner_is_duty_lead: bool
    strategy: str  # previous-owner, least-loaded, duty-owner
    reason: str


def _available(agent: Agent, load: AgentLoad) -> bool:
    return agent.presence == "online" and load.open_assignments < agent.capacity


def assign(team: Team, loads: Mapping[str, AgentLoad], previous_owners: Sequence[str] = ()) -> Assignment:
    """A returning customer's previous owner when they are in this team, online and have capacity;
    otherwise the least-loaded online agent with free capacity (load = open / capacity; ties go to
    the fewest assignments so far, then the id, so work spreads evenly and the choice is
    deterministic); otherwise the team's duty owner."""
    for agent_id in previous_owners:
        agent = team.member(agent_id)
        if agent is not None and _available(agent, loads.get(agent_id, _NO_LOAD)):
            load = loads.get(agent_id, _NO_LOAD)
            return Assignment(
                agent.id,
                False,
                "previous-owner",
                f"{agent.id} handled this customer before and is online with capacity "
                f"({load.open_assignments} of {agent.capacity} open)",
            )

    candidates = [a for a in team.members if not a.is_lead and _available(a, loads.get(a.id, _NO_LOAD))]
    if candidates:

        def rank(a: Agent) -> tuple[Fraction, int, str]:
            load = loads.get(a.id, _NO_LOAD)
            return Fraction(load.open_assignments, a.capacity), load.total_assigned, a.id

        best = min(candidates, key=rank)
        load = loads.get(best.id, _NO_LOAD)
        return Assignment(
            best.id,
            False,
            "least-loaded",
            f"{best.id} is the least-loaded online agent with free capacity "
            f"({load.open_assignments} of {best.capacity} open)",
        )

    others = [a for a in team.members if not a.is_lead]
    why = "no agent in the team is online with free capacity" if others else "the team has no agents"
    return Assignment(
        team.duty_owner,
        True,
        "duty-owner",
        f"{why}; the duty owner {team.duty_owner} holds it until capacity frees",
    )
