"""The case: who is accountable for a complaint and the SLA clocks that run on it.

State machine (`status`): received -> offered -> owned -> (waiting on customer | in progress) ->
resolved -> closed, and reopen. `owner` is the accountable person at every instant; `offered_to`
is someone offered the complaint who has not accepted yet (the owner themselves for a first
offer). A forbidden transition raises CaseError (the reason in the message), bad input
InvalidInput (`errors`); nothing is silently applied. Every change is recorded as a small frozen
event on `case.events` (`events`), which the service layer announces; nothing here does I/O or
reads the time by itself.

What may happen to a case lives beside it, one module a concept: `opening`, `ownership`,
`conversation`, `transfers`, `resolution`; the clocks in `clocks`, `breaches` and `deadlines`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from .calendar import ROUND_THE_CLOCK, BusinessCalendar
from .errors import CaseError
from .events import ClockBreached, DomainEvent
from .ladder import Ladder
from .policy import POLICIES, ClockName, Priority, SlaPolicy
from .sla_clock import SlaClock
from .status import CaseStatus


@dataclass(frozen=True)
class Transfer:
    transfer_id: str
    from_owner: str
    from_team: str
    to_team: str
    to_owner: str
    reason: str
    respond_by: datetime


@dataclass
class Case:
    complaint_id: str
    owner: str
    team: str
    priority: Priority
    policy: str
    status: CaseStatus
    offered_at: datetime
    accept_by: datetime
    received_at: datetime
    received_at_known: bool  # False: the routed event came first and received_at is provisional
    clocks: dict[ClockName, SlaClock]
    sector: str = ""
    owner_is_duty_lead: bool = False
    offered_to: str = ""  # an offer not yet accepted ("" when none is open)
    offer_is_duty_lead: bool = False
    excluded: list[str] = field(default_factory=list)  # declined or let an offer lapse
    transfer: Transfer | None = None
    transfers: int = 0
    resolution_code: str = ""
    resolved_at: datetime | None = None
    close_at: datetime | None = None
    reopened: int = 0
    version: int = 0
    # Bound by the service layer on load; not part of the stored state.
    sla: SlaPolicy = field(default_factory=lambda: POLICIES["default"], compare=False, repr=False)
    calendar: BusinessCalendar = field(default=ROUND_THE_CLOCK, compare=False, repr=False)
    ladder: Ladder = field(default_factory=Ladder, compare=False, repr=False)
    events: list[DomainEvent] = field(default_factory=list, compare=False, repr=False)

    def clock(self, name: ClockName | str) -> SlaClock:
        try:
            return self.clocks[ClockName(name)]
        except (KeyError, ValueError):
            raise CaseError(f"complaint {self.complaint_id} has no {name!r} clock") from None

    def bind(
        self,
        sla: SlaPolicy | None = None,
        calendar: BusinessCalendar | None = None,
        ladder: Ladder | None = None,
    ) -> Case:
        if sla is not None:
            self.sla = sla
        if calendar is not None:
            self.calendar = calendar
        if ladder is not None:
            self.ladder = ladder
        return self

    def emit(self, event: DomainEvent) -> None:
        self.events.append(event)

    def _breached(self, clock: SlaClock) -> None:
        self.emit(
            ClockBreached(
                self.complaint_id, clock.snapshot(), self.owner, self.team, key=breach_key(self, clock)
            )
        )

    def calendar_of(self, clock: SlaClock) -> BusinessCalendar:
        return ROUND_THE_CLOCK if clock.every_minute else self.calendar


def breach_key(case: Case, clock: SlaClock) -> str:
    return f"breach:{case.complaint_id}:{clock.name.value}:{clock.cycle}"
