"""`haq watch` filters: event type, and the complaint's sector, team and priority.

Most events do not repeat the complaint's sector, team or priority (an SlaBreached names its clock,
not the sector), so a filter on those facts asks a `FlowState` that has seen the complaint's earlier
events. Pure: tested with hand-made events.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from services.common.codec import Envelope

from . import enums
from .flow import ComplaintFacts


def _names(values: Iterable[str]) -> frozenset[str]:
    return frozenset(v.strip().lower() for v in values if v.strip())


@dataclass(frozen=True)
class WatchFilter:
    """Every given criterion must hold; within one criterion any listed value matches."""

    types: frozenset[str] = frozenset()
    sectors: frozenset[str] = frozenset()
    teams: frozenset[str] = frozenset()
    priorities: frozenset[str] = frozenset()

    @classmethod
    def parse(
        cls,
        types: Iterable[str] = (),
        sectors: Iterable[str] = (),
        teams: Iterable[str] = (),
        priorities: Iterable[str] = (),
    ) -> WatchFilter:
        """Accepts the CLI spellings; raises ValueError naming the flag for an unknown sector or priority."""
        for flag, enum, values in (
            ("--sector", enums.SECTOR, sectors),
            ("--priority", enums.PRIORITY, priorities),
        ):
            for value in values:
                try:
                    enums.to_proto(enum, value)
                except ValueError as exc:
                    raise ValueError(f"{flag}: {exc}") from exc
        return cls(
            types=frozenset(t.rsplit(".", 1)[-1] for t in _names(types)),
            sectors=frozenset(
                enums.to_name(enums.SECTOR, enums.to_proto(enums.SECTOR, s)) or s for s in _names(sectors)
            ),
            teams=_names(teams),
            priorities=frozenset(
                enums.to_name(enums.PRIORITY, enums.to_proto(enums.PRIORITY, p)) or p
                for p in _names(priorities)
            ),
        )

    @property
    def needs_facts(self) -> bool:
        """True when matching depends on what earlier events said about the complaint."""
        return bool(self.sectors or self.teams or self.priorities)

    @property
    def empty(self) -> bool:
        return not (self.types or self.needs_facts)

    def matches(self, envelope: Envelope | None, facts: ComplaintFacts | None) -> bool:
        """`facts` are the complaint's facts after this event was applied (None: unknown complaint)."""
        if self.empty:
            return True
        if envelope is None:
            return False  # an undecodable record has no type, sector, team or priority
        if self.types and envelope.name.lower() not in self.types:
            return False
        if not self.needs_facts:
            return True
        return facts is not None and self.includes(facts)

    def includes(self, facts: ComplaintFacts) -> bool:
        """Whether the complaint's sector, team and priority match (the type criterion does not
        apply to a complaint): what `haq watch --summary` counts."""
        if self.sectors and (facts.sector or "") not in self.sectors:
            return False
        if self.teams and facts.team.lower() not in self.teams:
            return False
        return not (self.priorities and (facts.priority or "") not in self.priorities)
