"""Opening a case for a routed complaint, and re-basing its receipt clocks when the receipt time
arrives after the routing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from .calendar import ROUND_THE_CLOCK, BusinessCalendar
from .case import Case
from .clock import utc
from .clocks import start_clock
from .errors import CaseError, InvalidInput
from .events import CaseOffered, ClocksStarted
from .ladder import Ladder
from .policy import POLICIES, ClockName, Priority, SlaPolicy, policy_for
from .sla_clock import ClockState, SlaClock
from .status import CaseStatus

# Clocks measured from when the customer complained, not from when the case was opened.
RECEIPT_CLOCKS = (ClockName.ACKNOWLEDGEMENT, ClockName.FIRST_RESPONSE, ClockName.RESOLUTION)


@dataclass(frozen=True)
class Assignment:
    """What routing decided for a complaint."""

    complaint_id: str
    team: str
    owner: str
    priority: Priority
    sla_policy: str = ""
    owner_is_duty_lead: bool = False
    sector: str = ""


def open_case(
    assignment: Assignment,
    *,
    received_at: datetime | None,
    now: datetime,
    policies: Mapping[str, SlaPolicy] = POLICIES,
    calendar: BusinessCalendar = ROUND_THE_CLOCK,
    ladder: Ladder | None = None,
) -> Case:
    """Offer a routed complaint to its owner and start its clocks.

    `received_at` is None when the routed event is seen before the received one; the receipt
    clocks then start provisionally at `now` and `record_receipt` re-bases them later, so the
    result does not depend on the order the two events arrive in.
    """
    if not assignment.complaint_id:
        raise InvalidInput("complaint_id", "required")
    if not assignment.owner:
        raise CaseError(f"complaint {assignment.complaint_id}: routing gave no owner")
    now = utc(now)
    receipt = utc(received_at) if received_at is not None else now
    policy = policy_for(assignment.sla_policy, policies)
    case = Case(
        complaint_id=assignment.complaint_id,
        owner=assignment.owner,
        team=assignment.team,
        priority=assignment.priority,
        policy=policy.name,
        status=CaseStatus.OFFERED,
        offered_at=now,
        accept_by=now,
        received_at=receipt,
        received_at_known=received_at is not None,
        clocks={},
        sector=assignment.sector,
        owner_is_duty_lead=assignment.owner_is_duty_lead,
        offered_to=assignment.owner,
        offer_is_duty_lead=assignment.owner_is_duty_lead,
    ).bind(policy, calendar, ladder)
    for name in policy.targets(assignment.priority):
        start_clock(case, name, receipt if name in RECEIPT_CLOCKS else now)
    case.accept_by = case.clocks[ClockName.OWNER_ACCEPTANCE].due_at
    case.emit(CaseOffered(case.complaint_id, case.owner, case.team, case.accept_by))
    case.emit(
        ClocksStarted(case.complaint_id, case.policy, tuple(c.snapshot() for c in case.clocks.values()))
    )
    return case


def record_receipt(case: Case, received_at: datetime) -> list[SlaClock]:
    """The receipt time arrived after the case opened: re-base the receipt clocks on it.

    Running clocks move (keeping their target); a clock already met by a time that is late
    against the true deadline becomes breached. Returns the clocks that changed.
    """
    if case.received_at_known:
        return []
    received_at = utc(received_at)
    case.received_at, case.received_at_known = received_at, True
    changed: list[SlaClock] = []
    for name in RECEIPT_CLOCKS:
        clock = case.clocks.get(name)
        if clock is None or clock.state is ClockState.BREACHED or clock.started_at == received_at:
            continue
        if clock.cycle:
            continue  # a later cycle started on its own event, not at receipt
        cal = case.calendar_of(clock)
        clock.started_at = received_at
        clock.due_at = cal.add(received_at, clock.target)
        clock.warn_at = cal.add(received_at, clock.target * case.sla.warn_share)
        if clock.run_from is not None:
            clock.run_from = received_at
        if clock.state is ClockState.MET and clock.stopped_at and clock.stopped_at > clock.due_at:
            clock.state = ClockState.BREACHED
            case._breached(clock)
        changed.append(clock)
    if changed:
        case.emit(ClocksStarted(case.complaint_id, case.policy, tuple(c.snapshot() for c in changed)))
    return changed
