"""The case: who is accountable for a complaint, and the SLA clocks that run on it.

At this stage a case is opened when routing offers the complaint to an owner, and stays OFFERED:
accepting, transfers and the rest of the ownership state machine arrive with issue #4. Every
domain function records what happened as small frozen events on `case.events`, which the service
layer turns into lifecycle events; nothing here does I/O or reads the time by itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from .clock import utc
from .policy import POLICIES, ClockName, Priority, SlaPolicy, policy_for


class CaseError(ValueError):
    """A request the case refuses; the message says why."""


class CaseStatus(StrEnum):
    """The ownership states of issue #4; only RECEIVED and OFFERED are reached so far."""

    RECEIVED = "received"
    OFFERED = "offered"
    OWNED = "owned"
    IN_PROGRESS = "in_progress"
    WAITING_ON_CUSTOMER = "waiting_on_customer"
    RESOLVED = "resolved"
    CLOSED = "closed"


class ClockState(StrEnum):
    RUNNING = "running"
    MET = "met"
    BREACHED = "breached"  # the deadline passed first; stopped_at still records when it was done


# Clocks measured from when the customer complained, not from when the case was opened.
RECEIPT_CLOCKS = (ClockName.ACKNOWLEDGEMENT, ClockName.FIRST_RESPONSE)


@dataclass
class SlaClock:
    name: ClockName
    started_at: datetime
    due_at: datetime
    state: ClockState = ClockState.RUNNING
    stopped_at: datetime | None = None
    version: int = 0  # optimistic concurrency: the adapter saves only over the version it loaded

    def is_due(self, at: datetime) -> bool:
        return self.state is ClockState.RUNNING and self.due_at <= at

    def snapshot(self) -> SlaClock:
        return replace(self)


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


# Domain events: what happened, for the service layer to announce.
@dataclass(frozen=True)
class CaseOffered:
    complaint_id: str
    owner: str
    team: str
    accept_by: datetime


@dataclass(frozen=True)
class ClocksStarted:
    complaint_id: str
    policy: str
    clocks: tuple[SlaClock, ...]


@dataclass(frozen=True)
class ClockStopped:
    complaint_id: str
    clock: SlaClock


@dataclass(frozen=True)
class ClockBreached:
    complaint_id: str
    clock: SlaClock
    owner: str
    team: str


DomainEvent = CaseOffered | ClocksStarted | ClockStopped | ClockBreached


@dataclass(frozen=True)
class Deadline:
    complaint_id: str
    clock: ClockName
    due_at: datetime


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
    events: list[DomainEvent] = field(default_factory=list, compare=False)

    def clock(self, name: ClockName | str) -> SlaClock:
        try:
            return self.clocks[ClockName(name)]
        except (KeyError, ValueError):
            raise CaseError(f"complaint {self.complaint_id} has no {name!r} clock") from None

    def _breached(self, clock: SlaClock) -> None:
        self.events.append(ClockBreached(self.complaint_id, clock.snapshot(), self.owner, self.team))


def open_case(
    assignment: Assignment,
    *,
    received_at: datetime | None,
    now: datetime,
    policies: Mapping[str, SlaPolicy] = POLICIES,
) -> Case:
    """Offer a routed complaint to its owner and start its clocks.

    `received_at` is None when the routed event is seen before the received one; the receipt
    clocks then start provisionally at `now` and `record_receipt` re-bases them later, so the
    result does not depend on the order the two events arrive in.
    """
    if not assignment.complaint_id:
        raise CaseError("complaint_id is required")
    if not assignment.owner:
        raise CaseError(f"complaint {assignment.complaint_id}: routing gave no owner")
    now = utc(now)
    receipt = utc(received_at) if received_at is not None else now
    policy = policy_for(assignment.sla_policy, policies)
    targets = policy.targets(assignment.priority)
    clocks: dict[ClockName, SlaClock] = {}
    for name, target in targets.items():
        start = receipt if name in RECEIPT_CLOCKS else now
        clocks[name] = SlaClock(name, start, start + target)
    case = Case(
        complaint_id=assignment.complaint_id,
        owner=assignment.owner,
        team=assignment.team,
        priority=assignment.priority,
        policy=policy.name,
        status=CaseStatus.OFFERED,
        offered_at=now,
        accept_by=clocks[ClockName.OWNER_ACCEPTANCE].due_at,
        received_at=receipt,
        received_at_known=received_at is not None,
        clocks=clocks,
        sector=assignment.sector,
        owner_is_duty_lead=assignment.owner_is_duty_lead,
    )
    case.events.append(CaseOffered(case.complaint_id, case.owner, case.team, case.accept_by))
    case.events.append(
        ClocksStarted(case.complaint_id, case.policy, tuple(c.snapshot() for c in clocks.values()))
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
        target = clock.due_at - clock.started_at
        clock.started_at, clock.due_at = received_at, received_at + target
        if clock.state is ClockState.MET and clock.stopped_at and clock.stopped_at > clock.due_at:
            clock.state = ClockState.BREACHED
            case._breached(clock)
        changed.append(clock)
    if changed:
        case.events.append(
            ClocksStarted(case.complaint_id, case.policy, tuple(c.snapshot() for c in changed))
        )
    return changed


def stop_clock(case: Case, name: ClockName | str, at: datetime) -> SlaClock | None:
    """The clock's condition happened at `at` (e.g. the acknowledgement was sent).

    By the deadline: met. After it: the clock is breached (if the deadline tick has not marked it
    yet, it is marked now, once) and records when it was finally done. Returns the clock when it
    changed, None when there was nothing left to stop.
    """
    at = utc(at)
    clock = case.clock(name)
    if clock.stopped_at is not None:
        return None
    if clock.state is ClockState.RUNNING:
        if at <= clock.due_at:
            clock.state = ClockState.MET
        else:
            clock.state = ClockState.BREACHED
            case._breached(clock)
    clock.stopped_at = at
    case.events.append(ClockStopped(case.complaint_id, clock.snapshot()))
    return clock


def find_due(cases: Iterable[Case], at: datetime) -> list[Deadline]:
    """Running clocks whose deadline is at or before `at`, earliest first."""
    at = utc(at)
    due = [
        Deadline(case.complaint_id, clock.name, clock.due_at)
        for case in cases
        for clock in case.clocks.values()
        if clock.is_due(at)
    ]
    return sorted(due, key=lambda d: (d.due_at, d.complaint_id, d.clock))


def breach(case: Case, name: ClockName | str, at: datetime) -> SlaClock | None:
    """Mark a due clock breached. Exactly once: a clock that is not running, or not yet due,
    is left alone and None is returned."""
    clock = case.clock(name)
    if not clock.is_due(utc(at)):
        return None
    clock.state = ClockState.BREACHED
    case._breached(clock)
    return clock


def breach_due(case: Case, at: datetime) -> list[SlaClock]:
    """Mark every due clock of the case breached; returns the ones breached by this call."""
    return [c for c in (breach(case, d.clock, at) for d in find_due([case], at)) if c is not None]
