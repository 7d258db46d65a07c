"""Who works in which team, as the directory (routing's, or the seed file) last said: what a
transfer is checked against."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Roster:
    # team id -> the people who may own its complaints (agents, the lead, the ladder above them)
    teams: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def has_team(self, team: str) -> bool:
        return team in self.teams

    def members(self, team: str) -> frozenset[str]:
        return self.teams.get(team, frozenset())
