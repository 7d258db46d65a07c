"""The exchange with the customer: a response, an internal note, a question for the customer, and
the customer writing again."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from .breaches import stop_clock
from .case import Case
from .clock import utc
from .clocks import open_clocks, pause_clock, restart_clock, resume_clock
from .events import AgentResponded, InfoRequested, InternalNoteAdded, SlaClocksPaused, SlaClocksResumed
from .guards import require, require_accountable, require_working, required
from .policy import PAUSABLE_CLOCKS, RESPONSE_CLOCKS, ClockName
from .resolution import reopen
from .status import CaseStatus


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
    agent, body = required(agent, "agent"), required(body, "body")
    require_working(case, "respond")
    require_accountable(case, agent, "respond")
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
    agent, body = required(agent, "agent"), required(body, "body")
    case.emit(InternalNoteAdded(case.complaint_id, note_id, agent, body))


def request_info(case: Case, agent: str, question: str, now: datetime, *, request_id: str) -> None:
    """Ask the customer: the question answers them (response clocks stop) and the complaint
    waits on them, so the clocks that measure us pause."""
    agent, question = required(agent, "agent"), required(question, "question")
    require(
        case.status is not CaseStatus.WAITING_ON_CUSTOMER,
        f"complaint {case.complaint_id} is already waiting on the customer",
    )
    require_working(case, "request information")
    require_accountable(case, agent, "request information")
    for name in RESPONSE_CLOCKS:
        if name in case.clocks:
            stop_clock(case, name, now)
    case.status = CaseStatus.WAITING_ON_CUSTOMER
    case.emit(InfoRequested(case.complaint_id, request_id, agent, question, case.status))
    paused = [c for c in open_clocks(case) if c.name in PAUSABLE_CLOCKS and pause_clock(case, c, now)]
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
        resumed = [c for c in open_clocks(case) if resume_clock(case, c, now)]
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
    restart_clock(case, ClockName.NEXT_RESPONSE, now)
    return True
