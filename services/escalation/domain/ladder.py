"""The escalation ladder above a complaint's owner: team lead, manager, director."""

from __future__ import annotations

from dataclasses import dataclass

LEVELS = ("team_lead", "manager", "director")


@dataclass(frozen=True)
class Ladder:
    lead: str = ""
    manager: str = ""
    director: str = ""
    offline: frozenset[str] = frozenset()  # people the directory reports offline

    def people(self) -> tuple[str, ...]:
        return tuple(p for p in (self.lead, self.manager, self.director) if p)

    def notify(self, step: int, owner: str) -> tuple[str, ...]:
        """Who hears of escalation step 1 (owner and lead), 2 (lead and manager), 3 (manager and
        director); someone missing from the ladder is skipped, never the whole step."""
        chain = (owner, self.lead, self.manager, self.director)
        picked = [p for p in chain[step - 1 : step + 1] if p]
        return tuple(dict.fromkeys(picked)) or tuple(p for p in chain if p)[-1:]
