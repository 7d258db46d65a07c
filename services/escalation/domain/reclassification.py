"""Routing decided again on an open case (a person corrected its triage): the case takes the new
priority and SLA policy at once, and a new team gets the complaint without anyone being released
before someone else is accountable.

- Priority or policy changed: every open clock that has not breached (except the automatic
  acknowledgement) restarts now under the new policy and priority, on its own cycle; a breached
  clock stays breached and its ladder goes on. Announced with ClocksStarted.
- Team changed, nobody has accepted the complaint yet (offered) or the duty lead holds it: the case
  moves to the new team now (its calendar too) and the new owner is offered it the normal way.
- Team changed while an owner works on it: a transfer to the new team, addressed to routing's new
  owner; the current owner stays accountable until the receiver accepts (a declined or unanswered
  transfer escalates to their lead, as every transfer does). With a transfer already pending the
  team stays as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .calendar import ROUND_THE_CLOCK, BusinessCalendar
from .case import Case
from .clock import utc
from .clocks import open_clocks
from .errors import CaseError
from .events import ClocksStarted
from .policy import ClockName, Priority, SlaPolicy
from .sla_clock import ClockState
from .status import OPEN, CaseStatus
from .transfers import request_transfer


@dataclass(frozen=True)
class Rerouted:
    changed: bool  # the case changed (priority, policy, team or a transfer was requested)
    offer: bool  # the new owner is to be offered the case the normal way


def reclassify(case: Case, priority: Priority, sla: SlaPolicy, now: datetime) -> bool:
    """New priority and SLA policy; open clocks restart under them. False when nothing changed."""
    if case.status not in OPEN or (priority, sla.name) == (case.priority, case.policy):
        return False
    now = utc(now)
    case.priority, case.policy = priority, sla.name
    case.bind(sla)
    restarted = []
    for clock in open_clocks(case):
        if clock.name is ClockName.ACKNOWLEDGEMENT or clock.state is ClockState.BREACHED:
            continue
        target = sla.target(clock.name, priority)
        clock.every_minute = sla.counts_every_minute(clock.name)
        cal = ROUND_THE_CLOCK if clock.every_minute else case.calendar
        clock.started_at, clock.target, clock.consumed = now, target, target * 0
        clock.due_at, clock.warn_at, clock.warned = (
            cal.add(now, target),
            cal.add(now, target * sla.warn_share),
            False,
        )
        if clock.run_from is not None:  # a paused clock gets its fresh target when it resumes
            clock.run_from = now
        restarted.append(clock)
    case.emit(ClocksStarted(case.complaint_id, case.policy, tuple(c.snapshot() for c in restarted)))
    return True


def rerouted(
    case: Case,
    team: str,
    owner: str,
    priority: Priority,
    sla: SlaPolicy | None,
    reason: str,
    now: datetime,
    calendar: BusinessCalendar | None = None,
) -> Rerouted:
    """A reassignment from routing: reclassify (when `sla` is given), then move or transfer to
    `team` when it is another one. `calendar` is the new team's."""
    changed = sla is not None and reclassify(case, priority, sla, now)
    if not team or team == case.team or case.status not in OPEN:
        return Rerouted(changed, True)
    if case.status is CaseStatus.OFFERED or case.owner_is_duty_lead:
        case.team = team
        if calendar is not None:
            case.calendar = calendar
        return Rerouted(True, True)
    if case.transfer is not None:
        return Rerouted(changed, False)  # one hand-off at a time; the pending one is answered first
    try:
        request_transfer(case, case.owner, team, reason or "routing decided again", now, to_owner=owner)
    except CaseError:
        return Rerouted(changed, False)
    return Rerouted(True, False)
