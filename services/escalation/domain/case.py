"""The case: who is accountable for a complaint, the SLA clocks that run on it, and what agents
and time may do to it.

State machine: received -> offered -> owned -> (waiting on customer | in progress) -> resolved ->
closed, and reopen. `owner` is the accountable person at every instant; `offered_to` is someone
offered the complaint who has not accepted yet (the owner themselves for a first offer). A
forbidden transition raises CaseError (the reason in the message), bad input InvalidInput; nothing
is silently applied. Every change is recorded as a small frozen event on `case.events`, which the
service layer announces; nothing here does I/O or reads the time by itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from .calendar import ROUND_THE_CLOCK, BusinessCalendar, Calendars
from .clock import utc
from .ladder import LEVELS, Ladder
from .policy import (
    PAUSABLE_CLOCKS,
    POLICIES,
    RESPONSE_CLOCKS,
    ClockName,
    Priority,
    SlaPolicy,
    policy_for,
)
from .roster import Roster


class CaseError(ValueError):
    """A transition the case refuses (FAILED_PRECONDITION); the message says why."""


class InvalidInput(ValueError):
    """A request with a missing or malformed field (INVALID_ARGUMENT)."""

    def __init__(self, field_name: str, problem: str):
        super().__init__(f"{field_name}: {problem}")
        self.field = field_name
        self.problem = problem


class CaseStatus(StrEnum):
    RECEIVED = "received"
    OFFERED = "offered"
    OWNED = "owned"
    IN_PROGRESS = "in_progress"
    WAITING_ON_CUSTOMER = "waiting_on_customer"
    RESOLVED = "resolved"
    CLOSED = "closed"


WORKING = (CaseStatus.OWNED, CaseStatus.IN_PROGRESS, CaseStatus.WAITING_ON_CUSTOMER)
OPEN = (CaseStatus.OFFERED, *WORKING)


class ClockState(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    MET = "met"
    BREACHED = "breached"  # the deadline passed first; stopped_at still records when it was done


# Clocks measured from when the customer complained, not from when the case was opened.
RECEIPT_CLOCKS = (ClockName.ACKNOWLEDGEMENT, ClockName.FIRST_RESPONSE, ClockName.RESOLUTION)
# After the resolution, the customer may reopen for this long; then the complaint closes.
REOPEN_WINDOW = timedelta(days=7)
# Escalation steps after a breach: clamp(target / 2) apart, so a 1-minute clock does not page a
# director a minute later and a 10-day one does not wait 5 days to tell the manager.
MIN_STEP_GAP, MAX_STEP_GAP = timedelta(minutes=15), timedelta(hours=8)

# Resolution codes: what was done for the customer. Codes that only say "elsewhere" are refused.
RESOLUTION_CODES = (
    "fixed",
    "refunded",
    "compensated",
    "replaced",
    "explained",
    "apologised",
    "policy_changed",
    "duplicate",
    "withdrawn_by_customer",
    "no_fault_found",
)
DEFLECTING_CODES = (
    "not_our_department",
    "wrong_department",
    "wrong_team",
    "not_responsible",
    "out_of_scope",
    "referred_elsewhere",
    "redirected",
    "forwarded",
)
DEFLECTING_PHRASES = (
    "not our department",
    "not our responsibility",
    "not our problem",
    "contact another department",
    "contact the other department",
    "به ما مربوط نیست",
    "مربوط به واحد ما نیست",
    "خارج از حیطه",
)


@dataclass
class SlaClock:
    name: ClockName
    started_at: datetime
    due_at: datetime
    state: ClockState = ClockState.RUNNING
    stopped_at: datetime | None = None
    cycle: int = 0  # repeating clocks (next response, a re-offer, a reopen) count their cycles
    target: timedelta = timedelta(0)  # in the clock's business time
    consumed: timedelta = timedelta(0)  # business time used before run_from
    run_from: datetime | None = None  # when the current running stretch began; None: paused/stopped
    warn_at: datetime | None = None
    warned: bool = False
    escalations: int = 0  # ladder steps fired for this breach
    next_step_at: datetime | None = None
    paused_at: datetime | None = None
    every_minute: bool = False  # round the clock rather than the team's business hours

    def __post_init__(self) -> None:
        if self.run_from is None and self.stopped_at is None and self.state is ClockState.RUNNING:
            self.run_from = self.started_at
        if not self.target:
            self.target = self.due_at - self.started_at

    @property
    def open(self) -> bool:
        return self.stopped_at is None

    @property
    def paused(self) -> bool:
        return self.open and self.run_from is None

    def is_due(self, at: datetime) -> bool:
        return self.state is ClockState.RUNNING and self.run_from is not None and self.due_at <= at

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


@dataclass(frozen=True)
class Transfer:
    transfer_id: str
    from_owner: str
    from_team: str
    to_team: str
    to_owner: str
    reason: str
    respond_by: datetime


# ---- Domain events: what happened, for the service layer to announce. Field names follow the
# lifecycle messages in proto/haq/v1/events.proto. `key`, when set, is a stable id: the same
# deadline firing always gets the same one, whichever process fires it.


@dataclass(frozen=True)
class CaseOffered:
    complaint_id: str
    owner: str
    team: str
    accept_by: datetime
    status: CaseStatus = CaseStatus.OFFERED
    key: str = ""


@dataclass(frozen=True)
class ClocksStarted:
    complaint_id: str
    policy: str
    clocks: tuple[SlaClock, ...]
    key: str = ""


@dataclass(frozen=True)
class ClockStopped:
    complaint_id: str
    clock: SlaClock
    key: str = ""


@dataclass(frozen=True)
class ClockBreached:
    complaint_id: str
    clock: SlaClock
    owner: str
    team: str
    key: str = ""


@dataclass(frozen=True)
class SlaWarning:
    complaint_id: str
    clock: SlaClock
    owner: str
    team: str
    share_elapsed: float
    key: str = ""


@dataclass(frozen=True)
class SlaClocksPaused:
    complaint_id: str
    clocks: tuple[SlaClock, ...]
    reason: str
    key: str = ""


@dataclass(frozen=True)
class SlaClocksResumed:
    complaint_id: str
    clocks: tuple[SlaClock, ...]
    reason: str
    key: str = ""
    status: CaseStatus | None = None


@dataclass(frozen=True)
class Escalated:
    complaint_id: str
    level: str
    step: int
    notify: tuple[str, ...]
    clock: SlaClock | None
    reason: str
    owner: str
    team: str
    key: str = ""


@dataclass(frozen=True)
class OwnerAccepted:
    complaint_id: str
    owner: str
    team: str
    accepted_at: datetime
    status: CaseStatus
    key: str = ""


@dataclass(frozen=True)
class OwnerDeclined:
    complaint_id: str
    owner: str
    team: str
    reason: str
    status: CaseStatus
    key: str = ""


@dataclass(frozen=True)
class OwnerReplaced:
    complaint_id: str
    previous_owner: str
    new_owner: str
    team: str
    reason: str
    new_owner_is_duty_lead: bool
    status: CaseStatus
    key: str = ""


@dataclass(frozen=True)
class RerouteRequested:
    complaint_id: str
    team: str
    exclude_owners: tuple[str, ...]
    reason: str
    current_owner: str
    key: str = ""


@dataclass(frozen=True)
class AgentResponded:
    complaint_id: str
    response_id: str
    agent: str
    body: str
    channel: str
    responded_at: datetime
    guard_warnings: tuple[str, ...]
    status: CaseStatus
    key: str = ""


@dataclass(frozen=True)
class InternalNoteAdded:
    complaint_id: str
    note_id: str
    agent: str
    body: str
    key: str = ""


@dataclass(frozen=True)
class InfoRequested:
    complaint_id: str
    request_id: str
    agent: str
    question: str
    status: CaseStatus
    key: str = ""


@dataclass(frozen=True)
class TransferRequested:
    complaint_id: str
    transfer_id: str
    from_owner: str
    from_team: str
    to_team: str
    to_owner: str
    reason: str
    respond_by: datetime
    key: str = ""


@dataclass(frozen=True)
class TransferAccepted:
    complaint_id: str
    transfer_id: str
    new_owner: str
    new_team: str
    previous_owner: str
    previous_team: str
    status: CaseStatus
    key: str = ""


@dataclass(frozen=True)
class TransferDeclined:
    complaint_id: str
    transfer_id: str
    declined_by: str
    reason: str
    timed_out: bool
    owner: str
    key: str = ""


@dataclass(frozen=True)
class Resolved:
    complaint_id: str
    owner: str
    team: str
    resolution_code: str
    summary: str
    resolved_at: datetime
    status: CaseStatus
    key: str = ""


@dataclass(frozen=True)
class Reopened:
    complaint_id: str
    reason: str
    by: str
    owner: str
    team: str
    status: CaseStatus
    key: str = ""


@dataclass(frozen=True)
class Closed:
    complaint_id: str
    reason: str
    status: CaseStatus
    key: str = ""


DomainEvent = (
    CaseOffered
    | ClocksStarted
    | ClockStopped
    | ClockBreached
    | SlaWarning
    | SlaClocksPaused
    | SlaClocksResumed
    | Escalated
    | OwnerAccepted
    | OwnerDeclined
    | OwnerReplaced
    | RerouteRequested
    | AgentResponded
    | InternalNoteAdded
    | InfoRequested
    | TransferRequested
    | TransferAccepted
    | TransferDeclined
    | Resolved
    | Reopened
    | Closed
)


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


# ---- clocks ------------------------------------------------------------------------------------


def _start_clock(case: Case, name: ClockName, start: datetime, cycle: int = 0) -> SlaClock:
    target = case.sla.target(name, case.priority)
    every_minute = case.sla.counts_every_minute(name)
    cal = ROUND_THE_CLOCK if every_minute else case.calendar
    clock = SlaClock(
        name=name,
        started_at=start,
        due_at=cal.add(start, target),
        cycle=cycle,
        target=target,
        run_from=start,
        warn_at=cal.add(start, target * case.sla.warn_share),
        every_minute=every_minute,
    )
    case.clocks[name] = clock
    return clock


def _restart_clock(case: Case, name: ClockName, at: datetime, reason_started: bool = True) -> SlaClock:
    """A new cycle of a repeating clock (announced with ClocksStarted)."""
    previous = case.clocks.get(name)
    clock = _start_clock(case, name, at, cycle=(previous.cycle + 1) if previous else 0)
    if reason_started:
        case.emit(ClocksStarted(case.complaint_id, case.policy, (clock.snapshot(),)))
    return clock


def _used(case: Case, clock: SlaClock, at: datetime) -> timedelta:
    used = clock.consumed
    if clock.run_from is not None:
        used += case.calendar_of(clock).elapsed(clock.run_from, at)
    return used


def share_elapsed(case: Case, clock: SlaClock, at: datetime) -> float:
    if not clock.target:
        return 1.0
    return _used(case, clock, at) / clock.target


def _pause(case: Case, clock: SlaClock, at: datetime) -> bool:
    if not clock.open or clock.run_from is None:
        return False
    clock.consumed = _used(case, clock, at)
    clock.run_from, clock.paused_at = None, at
    if clock.state is ClockState.RUNNING:
        clock.state = ClockState.PAUSED
    return True


def _resume(case: Case, clock: SlaClock, at: datetime) -> bool:
    if not clock.paused:
        return False
    cal = case.calendar_of(clock)
    clock.run_from = at
    if clock.state is ClockState.PAUSED:
        clock.state = ClockState.RUNNING
        clock.due_at = cal.add(at, max(clock.target - clock.consumed, timedelta(0)))
        if not clock.warned:
            warn_left = clock.target * case.sla.warn_share - clock.consumed
            clock.warn_at = cal.add(at, max(warn_left, timedelta(0)))
    elif clock.next_step_at is not None and clock.paused_at is not None:
        # An already breached clock: the ladder waits out the pause too.
        clock.next_step_at += at - clock.paused_at
    clock.paused_at = None
    return True


def stop_clock(case: Case, name: ClockName | str, at: datetime) -> SlaClock | None:
    """The clock's condition happened at `at` (e.g. the acknowledgement was sent).

    By the deadline (or while paused): met. After it: the clock is breached (if the deadline tick
    has not marked it yet, it is marked and escalated now, once) and records when it was finally
    done. Returns the clock when it changed, None when there was nothing left to stop.
    """
    at = utc(at)
    clock = case.clock(name)
    if clock.stopped_at is not None:
        return None
    if clock.state is ClockState.RUNNING and at > clock.due_at and clock.run_from is not None:
        _breach(case, clock, at, acting=False)
    elif clock.state in (ClockState.RUNNING, ClockState.PAUSED):
        clock.state = ClockState.MET
    if clock.run_from is not None:
        clock.consumed = _used(case, clock, at)
    clock.stopped_at, clock.run_from, clock.paused_at = at, None, None
    case.emit(ClockStopped(case.complaint_id, clock.snapshot()))
    return clock


def _open_clocks(case: Case) -> list[SlaClock]:
    order = list(ClockName)
    return sorted((c for c in case.clocks.values() if c.open), key=lambda c: order.index(c.name))


# ---- opening -----------------------------------------------------------------------------------


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
        _start_clock(case, name, receipt if name in RECEIPT_CLOCKS else now)
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


# ---- ownership -----------------------------------------------------------------------------------


def _required(value: str, field_name: str) -> str:
    value = (value or "").strip()
    if not value:
        raise InvalidInput(field_name, "required")
    return value


def _require(condition: object, reason: str) -> None:
    if not condition:
        raise CaseError(reason)


def _require_working(case: Case, action: str) -> None:
    if case.status is CaseStatus.OFFERED:
        raise CaseError(
            f"cannot {action}: complaint {case.complaint_id} is offered to "
            f"{case.offered_to} and not accepted yet"
        )
    if case.status not in WORKING:
        raise CaseError(
            f"cannot {action}: complaint {case.complaint_id} is {case.status.value}"
            + ("; reopen it first" if case.status is CaseStatus.RESOLVED else "")
        )


def _require_accountable(case: Case, agent: str, action: str) -> None:
    """The owner acts on a complaint; the people on its escalation ladder may step in."""
    if agent != case.owner and agent not in case.ladder.people():
        raise CaseError(
            f"cannot {action}: {agent} is not the owner of complaint "
            f"{case.complaint_id} ({case.owner} is) nor on its escalation ladder"
        )


def accept(case: Case, agent: str, now: datetime) -> None:
    agent = _required(agent, "agent")
    _require(
        case.offered_to,
        f"complaint {case.complaint_id} has no open offer (status {case.status.value}, owner {case.owner})",
    )
    _require(
        agent == case.offered_to,
        f"complaint {case.complaint_id} is offered to {case.offered_to}, not {agent}",
    )
    previous = case.owner
    case.owner, case.owner_is_duty_lead = agent, case.offer_is_duty_lead
    case.offered_to, case.offer_is_duty_lead = "", False
    if case.status is CaseStatus.OFFERED:
        case.status = CaseStatus.OWNED
    stop_clock(case, ClockName.OWNER_ACCEPTANCE, now)
    case.emit(OwnerAccepted(case.complaint_id, agent, case.team, utc(now), case.status))
    if previous != agent:
        case.emit(
            OwnerReplaced(
                case.complaint_id,
                previous,
                agent,
                case.team,
                f"{agent} accepted the reassignment",
                False,
                case.status,
            )
        )


def decline(case: Case, agent: str, reason: str, now: datetime) -> None:
    """Declining an offer is a request to re-route: the complaint never ends up without an
    owner, since the team lead holds it (or the previous owner keeps it) meanwhile."""
    agent, reason = _required(agent, "agent"), _required(reason, "reason")
    _require(
        case.offered_to,
        f"complaint {case.complaint_id} has no open offer to decline; "
        "an owner hands a complaint on with a transfer request",
    )
    _require(
        agent == case.offered_to,
        f"complaint {case.complaint_id} is offered to {case.offered_to}, not {agent}",
    )
    case.excluded.append(agent)
    stop_clock(case, ClockName.OWNER_ACCEPTANCE, now)
    normal_offer = case.owner == agent
    case.offered_to, case.offer_is_duty_lead = "", False
    if normal_offer or case.status is CaseStatus.OFFERED:  # nobody has accepted it: the lead holds it
        _hand_to_duty_lead(case, f"{agent} declined: {reason}")
    case.emit(OwnerDeclined(case.complaint_id, agent, case.team, reason, case.status))
    _request_reroute(case, f"{agent} declined: {reason}")


def _hand_to_duty_lead(case: Case, reason: str) -> None:
    """The team lead holds the complaint as duty owner until routing finds someone."""
    lead = case.ladder.lead or case.owner
    previous = case.owner
    case.owner, case.owner_is_duty_lead = lead, True
    if case.status is CaseStatus.OFFERED:
        case.status = CaseStatus.OWNED
    case.emit(OwnerReplaced(case.complaint_id, previous, lead, case.team, reason, True, case.status))


def _request_reroute(case: Case, reason: str) -> None:
    exclude = tuple(dict.fromkeys(case.excluded))
    case.emit(RerouteRequested(case.complaint_id, case.team, exclude, reason, case.owner))


def offer(case: Case, owner: str, *, duty_lead: bool, now: datetime, reason: str = "") -> bool:
    """Routing chose a (new) owner for a complaint that already has a case.

    A duty lead holding the complaint hands it on the normal way (the new owner is offered it and
    accountable, with an accept window). Otherwise the current owner stays accountable until the
    new one accepts. Returns False when there is nothing to do (a repeat, or a finished case).
    """
    owner = _required(owner, "owner")
    if (
        case.status not in OPEN
        or owner in (case.offered_to, "")
        or (owner == case.owner and not case.offered_to)
    ):
        return False
    now = utc(now)
    if case.owner_is_duty_lead and owner != case.owner:
        previous = case.owner
        case.owner, case.owner_is_duty_lead = owner, duty_lead
        if case.status is CaseStatus.OWNED:  # work under way (in progress, waiting) keeps its status
            case.status = CaseStatus.OFFERED
        if previous:
            case.emit(
                OwnerReplaced(
                    case.complaint_id,
                    previous,
                    owner,
                    case.team,
                    reason or "routed to an agent",
                    duty_lead,
                    case.status,
                )
            )
    case.offered_to, case.offer_is_duty_lead, case.offered_at = owner, duty_lead, now
    acceptance = case.clocks.get(ClockName.OWNER_ACCEPTANCE)
    if acceptance is not None and acceptance.open:
        acceptance.stopped_at, acceptance.run_from = now, None  # the earlier offer is superseded
        if acceptance.state is not ClockState.BREACHED:
            acceptance.state = ClockState.MET
    clock = _restart_clock(case, ClockName.OWNER_ACCEPTANCE, now, reason_started=False)
    case.accept_by = clock.due_at
    if case.status is CaseStatus.OFFERED:
        case.emit(CaseOffered(case.complaint_id, owner, case.team, case.accept_by))
    case.emit(ClocksStarted(case.complaint_id, case.policy, (clock.snapshot(),)))
    return True


# ---- agent actions -------------------------------------------------------------------------------


def respond(
    case: Case,
    agent: str,
    body: str,
    now: datetime,
    *,
    response_id: str,
    channel: str = "",
    guard_warnings: Iterable[str] = (),
) -> None:
    agent, body = _required(agent, "agent"), _required(body, "body")
    _require_working(case, "respond")
    _require_accountable(case, agent, "respond")
    for name in RESPONSE_CLOCKS:
        if name in case.clocks:
            stop_clock(case, name, now)
    if case.status is CaseStatus.OWNED:
        case.status = CaseStatus.IN_PROGRESS
    case.emit(
        AgentResponded(
            case.complaint_id, response_id, agent, body, channel, utc(now), tuple(guard_warnings), case.status
        )
    )


def add_note(case: Case, agent: str, body: str, *, note_id: str) -> None:
    agent, body = _required(agent, "agent"), _required(body, "body")
    case.emit(InternalNoteAdded(case.complaint_id, note_id, agent, body))


def request_info(case: Case, agent: str, question: str, now: datetime, *, request_id: str) -> None:
    """Ask the customer: the question answers them (response clocks stop) and the complaint
    waits on them, so the clocks that measure us pause."""
    agent, question = _required(agent, "agent"), _required(question, "question")
    _require(
        case.status is not CaseStatus.WAITING_ON_CUSTOMER,
        f"complaint {case.complaint_id} is already waiting on the customer",
    )
    _require_working(case, "request information")
    _require_accountable(case, agent, "request information")
    for name in RESPONSE_CLOCKS:
        if name in case.clocks:
            stop_clock(case, name, now)
    case.status = CaseStatus.WAITING_ON_CUSTOMER
    case.emit(InfoRequested(case.complaint_id, request_id, agent, question, case.status))
    paused = [c for c in _open_clocks(case) if c.name in PAUSABLE_CLOCKS and _pause(case, c, now)]
    if paused:
        case.emit(
            SlaClocksPaused(case.complaint_id, tuple(c.snapshot() for c in paused), "waiting on the customer")
        )


def customer_followed_up(case: Case, now: datetime) -> bool:
    """The customer wrote again: paused clocks resume, and a next-response clock starts unless
    one is already running (the earliest unanswered message sets the deadline). A follow-up on a
    resolved complaint reopens it; a closed one stays closed. Returns whether anything changed."""
    now = utc(now)
    if case.status is CaseStatus.CLOSED:
        return False
    if case.status is CaseStatus.RESOLVED:
        reopen(case, "customer", "the customer followed up after the resolution", now)
        return True
    if case.status is CaseStatus.WAITING_ON_CUSTOMER:
        case.status = CaseStatus.IN_PROGRESS
        resumed = [c for c in _open_clocks(case) if _resume(case, c, now)]
        # Announced even with no clock to resume: readers learn the wait is over.
        case.emit(
            SlaClocksResumed(
                case.complaint_id,
                tuple(c.snapshot() for c in resumed),
                "the customer answered",
                status=case.status,
            )
        )
    first = case.clocks.get(ClockName.FIRST_RESPONSE)
    nxt = case.clocks.get(ClockName.NEXT_RESPONSE)
    if (first is not None and first.open) or (nxt is not None and nxt.open):
        return True
    _restart_clock(case, ClockName.NEXT_RESPONSE, now)
    return True


def _check_receiver(roster: Roster | None, to_team: str, to_owner: str) -> None:
    """The receiving team and person exist in the directory (skipped when there is none)."""
    if roster is None:
        return
    if not roster.has_team(to_team):
        raise InvalidInput("to_team", f"no team {to_team!r} in the directory")
    if to_owner and to_owner not in roster.members(to_team):
        raise InvalidInput("to_owner", f"{to_owner!r} is not a member of team {to_team}")


def request_transfer(
    case: Case,
    agent: str,
    to_team: str,
    reason: str,
    now: datetime,
    *,
    to_owner: str = "",
    roster: Roster | None = None,
    calendars: Calendars | None = None,
) -> Transfer:
    """A transfer is a request: the current owner stays accountable until the receiver accepts.
    With a roster, the receiving team (and person) must be in the directory; with calendars, the
    receiver's answer window runs on the receiving team's business hours."""
    agent, to_team, reason = (
        _required(agent, "agent"),
        _required(to_team, "to_team"),
        _required(reason, "reason"),
    )
    to_owner = (to_owner or "").strip()
    _check_receiver(roster, to_team, to_owner)
    _require_working(case, "request a transfer")
    _require_accountable(case, agent, "request a transfer")
    _require(
        case.transfer is None,
        f"complaint {case.complaint_id} already has transfer "
        f"{case.transfer.transfer_id if case.transfer else ''} to "
        f"{case.transfer.to_team if case.transfer else ''} pending",
    )
    if to_team == case.team and to_owner in ("", case.owner):
        raise InvalidInput("to_team", f"{to_team} already owns the complaint; name another team or owner")
    now = utc(now)
    receiving = calendars.for_team(to_team) if calendars is not None else case.calendar
    cal = ROUND_THE_CLOCK if case.sla.round_the_clock else receiving
    case.transfers += 1
    transfer = Transfer(
        transfer_id=f"{case.complaint_id}-t{case.transfers}",
        from_owner=case.owner,
        from_team=case.team,
        to_team=to_team,
        to_owner=to_owner,
        reason=reason,
        respond_by=cal.add(now, case.sla.target(ClockName.OWNER_ACCEPTANCE, case.priority)),
    )
    case.transfer = transfer
    case.emit(
        TransferRequested(
            case.complaint_id,
            transfer.transfer_id,
            transfer.from_owner,
            transfer.from_team,
            to_team,
            to_owner,
            reason,
            transfer.respond_by,
        )
    )
    return transfer


def _pending_transfer(case: Case, agent: str, action: str, roster: Roster | None = None) -> Transfer:
    transfer = case.transfer
    _require(transfer is not None, f"complaint {case.complaint_id} has no transfer pending")
    assert transfer is not None
    if roster is not None and agent not in roster.members(transfer.to_team):
        raise InvalidInput("agent", f"{agent!r} is not a member of the receiving team {transfer.to_team}")
    _require(
        not transfer.to_owner or transfer.to_owner == agent,
        f"cannot {action}: transfer {transfer.transfer_id} is addressed to {transfer.to_owner}",
    )
    # A hand-off is answered by the receiver, never by the sender on their behalf.
    _require(agent != case.owner, f"cannot {action}: {agent} asked for this transfer")
    return transfer


def _move_to_calendar(case: Case, calendar: BusinessCalendar, now: datetime) -> None:
    """The case changes team: its running clocks keep the business time already used and count
    the rest on the new team's calendar (round-the-clock clocks are unaffected)."""
    if calendar == case.calendar:
        return
    moved: list[SlaClock] = []
    for clock in _open_clocks(case):
        if clock.every_minute or clock.run_from is None:
            continue  # a paused clock resumes on the case's calendar, which is the new one below
        if clock.is_due(now):
            continue  # already late on the old hours: the next tick breaches it as it was due
        clock.consumed = _used(case, clock, now)
        clock.run_from = now
        if clock.state is ClockState.RUNNING:
            clock.due_at = calendar.add(now, max(clock.target - clock.consumed, timedelta(0)))
            if not clock.warned:
                warn_left = clock.target * case.sla.warn_share - clock.consumed
                clock.warn_at = calendar.add(now, max(warn_left, timedelta(0)))
            moved.append(clock)
    case.calendar = calendar
    if moved:
        case.emit(ClocksStarted(case.complaint_id, case.policy, tuple(c.snapshot() for c in moved)))


def accept_transfer(
    case: Case,
    agent: str,
    now: datetime,
    *,
    roster: Roster | None = None,
    calendars: Calendars | None = None,
) -> None:
    """The receiver takes the complaint. With a roster, only a member of the receiving team;
    with calendars, the clocks then run on the receiving team's business hours."""
    agent = _required(agent, "agent")
    transfer = _pending_transfer(case, agent, "accept the transfer", roster)
    now = utc(now)
    previous_owner, previous_team = case.owner, case.team
    case.owner, case.team, case.owner_is_duty_lead = agent, transfer.to_team, False
    case.transfer, case.excluded = None, []
    if case.offered_to:  # an offer inside the old team is withdrawn: the new team owns it now
        case.offered_to, case.offer_is_duty_lead = "", False
        stop_clock(case, ClockName.OWNER_ACCEPTANCE, now)
    case.emit(
        TransferAccepted(
            case.complaint_id,
            transfer.transfer_id,
            agent,
            transfer.to_team,
            previous_owner,
            previous_team,
            case.status,
        )
    )
    if calendars is not None:
        _move_to_calendar(case, calendars.for_team(transfer.to_team), now)


def decline_transfer(
    case: Case, agent: str, reason: str, now: datetime, *, roster: Roster | None = None
) -> None:
    """The receiver says no: the complaint stays with its owner and the team lead hears of it."""
    agent, reason = _required(agent, "agent"), _required(reason, "reason")
    transfer = _pending_transfer(case, agent, "decline the transfer", roster)
    _end_transfer(case, transfer, agent, reason, timed_out=False)


def _end_transfer(case: Case, transfer: Transfer, by: str, reason: str, *, timed_out: bool) -> None:
    case.transfer = None
    key = f"transfer-timeout:{case.complaint_id}:{transfer.transfer_id}" if timed_out else ""
    case.emit(
        TransferDeclined(case.complaint_id, transfer.transfer_id, by, reason, timed_out, case.owner, key=key)
    )
    case.emit(
        Escalated(
            case.complaint_id,
            LEVELS[0],
            1,
            case.ladder.notify(1, case.owner),
            None,
            f"transfer {transfer.transfer_id} to {transfer.to_team} "
            + ("not answered in time" if timed_out else f"declined by {by}: {reason}"),
            case.owner,
            case.team,
            key=f"escalated:{case.complaint_id}:transfer:{transfer.transfer_id}",
        )
    )


def check_resolution(code: str, summary: str) -> str:
    """The normalised resolution code; refuses a deflection in the code or the summary."""
    code = _required(code, "resolution_code").lower().replace("-", "_").replace(" ", "_")
    _required(summary, "summary")
    if code in DEFLECTING_CODES:
        raise CaseError(
            f'resolution code {code!r} deflects the complaint: "not our department" '
            "cannot close a complaint; request a transfer instead"
        )
    if code not in RESOLUTION_CODES:
        raise InvalidInput("resolution_code", f"unknown code {code!r}; one of {', '.join(RESOLUTION_CODES)}")
    lowered = summary.lower()
    for phrase in DEFLECTING_PHRASES:
        if phrase in lowered:
            raise CaseError(
                f"the summary deflects the complaint ({phrase!r}): tell the customer what "
                "was done, or request a transfer"
            )
    return code


def resolve(case: Case, agent: str, code: str, summary: str, now: datetime) -> None:
    agent = _required(agent, "agent")
    code = check_resolution(code, summary)
    _require_working(case, "resolve")
    _require_accountable(case, agent, "resolve")
    _require(
        case.transfer is None,
        f"transfer {case.transfer.transfer_id if case.transfer else ''} "
        "is pending: the receiving team accepts or declines it before the complaint is resolved",
    )
    now = utc(now)
    if case.offered_to:
        case.offered_to, case.offer_is_duty_lead = "", False
    for clock in _open_clocks(case):  # the summary answers the customer, so it stops them all
        stop_clock(case, clock.name, now)
    case.status, case.resolution_code, case.resolved_at = CaseStatus.RESOLVED, code, now
    case.close_at = now + REOPEN_WINDOW
    case.emit(Resolved(case.complaint_id, case.owner, case.team, code, summary.strip(), now, case.status))


def reopen(case: Case, by: str, reason: str, now: datetime) -> None:
    by, reason = _required(by, "by"), _required(reason, "reason")
    _require(
        case.status in (CaseStatus.RESOLVED, CaseStatus.CLOSED),
        f"complaint {case.complaint_id} is {case.status.value}; only a resolved or closed "
        "complaint can be reopened",
    )
    now = utc(now)
    case.status, case.resolution_code, case.resolved_at, case.close_at = CaseStatus.OWNED, "", None, None
    case.reopened += 1
    case.emit(Reopened(case.complaint_id, reason, by, case.owner, case.team, case.status))
    started = [
        _restart_clock(case, n, now, reason_started=False)
        for n in (ClockName.NEXT_RESPONSE, ClockName.RESOLUTION)
    ]
    case.emit(ClocksStarted(case.complaint_id, case.policy, tuple(c.snapshot() for c in started)))


# ---- time: warnings, breaches, the ladder, timeouts ----------------------------------------------


def _step_gap(clock: SlaClock) -> timedelta:
    return min(max(clock.target / 2, MIN_STEP_GAP), MAX_STEP_GAP)


def _max_steps(clock: SlaClock) -> int:
    # A lapsed offer is settled at once (the duty lead holds it), so it needs no higher rungs.
    return 1 if clock.name is ClockName.OWNER_ACCEPTANCE else len(LEVELS)


def _breach(case: Case, clock: SlaClock, at: datetime, *, acting: bool) -> None:
    clock.state, clock.warned = ClockState.BREACHED, True
    case._breached(clock)
    clock.next_step_at = clock.due_at
    _climb(case, clock, at, acting=acting)


def _climb(case: Case, clock: SlaClock, at: datetime, *, acting: bool) -> None:
    """Fire every ladder step that is due, each once (a catch-up after downtime fires them all)."""
    while (
        clock.state is ClockState.BREACHED
        and clock.escalations < _max_steps(clock)
        and clock.next_step_at is not None
        and clock.next_step_at <= at
    ):
        step = clock.escalations + 1
        clock.escalations = step
        clock.next_step_at = clock.due_at + _step_gap(clock) * step
        key = f"escalated:{case.complaint_id}:{clock.name.value}:{clock.cycle}:{step}"
        case.emit(
            Escalated(
                case.complaint_id,
                LEVELS[step - 1],
                step,
                case.ladder.notify(step, case.owner),
                clock.snapshot(),
                f"{clock.name.value} breached (due {clock.due_at.isoformat()})",
                case.owner,
                case.team,
                key=key,
            )
        )
        if acting:
            _act_on_step(case, clock, step, at)


def _act_on_step(case: Case, clock: SlaClock, step: int, at: datetime) -> None:
    if clock.name is ClockName.OWNER_ACCEPTANCE and case.offered_to:
        lapsed = case.offered_to
        case.excluded.append(lapsed)
        normal_offer = case.owner == lapsed
        case.offered_to, case.offer_is_duty_lead = "", False
        reason = f"{lapsed} did not accept within the accept window"
        if not normal_offer:
            case.emit(OwnerDeclined(case.complaint_id, lapsed, case.team, reason, case.status))
        if case.status is CaseStatus.OFFERED:  # nobody has accepted it: the lead holds it
            _hand_to_duty_lead(case, reason)
        clock.stopped_at, clock.run_from = at, None
        case.emit(ClockStopped(case.complaint_id, clock.snapshot()))
        _request_reroute(case, reason)
    elif clock.name in RESPONSE_CLOCKS and case.owner not in (case.ladder.lead, ""):
        if step == 1 and case.owner in case.ladder.offline:
            case.excluded.append(case.owner)
            _request_reroute(case, f"owner {case.owner} is offline and {clock.name.value} is breached")
        elif step == 2:  # still no answer after the lead was told: the owner is unresponsive
            case.excluded.append(case.owner)
            _request_reroute(case, f"owner {case.owner} unresponsive: {clock.name.value} still breached")


def _warning_due(clock: SlaClock, now: datetime) -> bool:
    """Warn once per cycle, between the warning share and the deadline (a breach says more)."""
    if clock.state is not ClockState.RUNNING or clock.warned or clock.warn_at is None:
        return False
    return clock.warn_at <= now < clock.due_at


def tick(case: Case, now: datetime) -> None:
    """Apply everything time has made due: warnings, breaches, ladder steps, a transfer nobody
    answered, the close after the reopen window. Idempotent: a second call at the same time
    changes nothing."""
    now = utc(now)
    for clock in _open_clocks(case):
        if clock.run_from is None:
            continue  # paused: waiting on the customer does not count against us
        if _warning_due(clock, now):
            clock.warned = True
            case.emit(
                SlaWarning(
                    case.complaint_id,
                    clock.snapshot(),
                    case.owner,
                    case.team,
                    round(share_elapsed(case, clock, now), 3),
                    key=f"warning:{case.complaint_id}:{clock.name.value}:{clock.cycle}",
                )
            )
        if clock.is_due(now):
            _breach(case, clock, now, acting=True)
        elif clock.state is ClockState.BREACHED:
            _climb(case, clock, now, acting=True)
    if case.transfer is not None and case.transfer.respond_by <= now:
        _end_transfer(
            case,
            case.transfer,
            case.transfer.to_owner or case.transfer.to_team,
            "no answer within the transfer window",
            timed_out=True,
        )
    if case.status is CaseStatus.RESOLVED and case.close_at is not None and case.close_at <= now:
        case.status = CaseStatus.CLOSED
        case.emit(
            Closed(
                case.complaint_id,
                "the reopen window passed",
                case.status,
                key=f"closed:{case.complaint_id}:{case.reopened}",
            )
        )


def next_due(case: Case) -> datetime | None:
    """The next instant `tick` has something to do: what the durable deadline index stores."""
    times: list[datetime] = []
    for clock in case.clocks.values():
        if not clock.open or clock.run_from is None:
            continue
        if clock.state is ClockState.RUNNING:
            times.append(clock.due_at)
            if not clock.warned and clock.warn_at is not None and clock.warn_at < clock.due_at:
                times.append(clock.warn_at)
        elif clock.escalations < _max_steps(clock) and clock.next_step_at is not None:
            times.append(clock.next_step_at)
    if case.transfer is not None:
        times.append(case.transfer.respond_by)
    if case.status is CaseStatus.RESOLVED and case.close_at is not None:
        times.append(case.close_at)
    return min(times) if times else None


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
    """Mark one due clock breached (and escalate it). Exactly once: a clock that is not running,
    or not yet due, is left alone and None is returned."""
    clock = case.clock(name)
    if not clock.is_due(utc(at)):
        return None
    _breach(case, clock, utc(at), acting=True)
    return clock


def breach_due(case: Case, at: datetime) -> list[SlaClock]:
    """Mark every due clock of the case breached; returns the ones breached by this call."""
    return [c for c in (breach(case, d.clock, at) for d in find_due([case], at)) if c is not None]


def unowned_beyond_window(case: Case, now: datetime, grace: timedelta = timedelta(0)) -> bool:
    """The invariant the SLA promises never holds: offered and not accepted past its window."""
    return case.status is CaseStatus.OFFERED and utc(now) > case.accept_by + grace
