"""A clock that runs out: it is breached once, and the escalation ladder is climbed one step at a
time; stopping a clock records it met, or breached when it was done late."""

from __future__ import annotations

from datetime import datetime, timedelta

from .case import Case
from .clock import utc
from .clocks import time_used
from .events import ClockStopped, Escalated, OwnerDeclined
from .handover import hand_to_duty_lead, request_reroute
from .ladder import LEVELS
from .policy import RESPONSE_CLOCKS, ClockName
from .sla_clock import ClockState, SlaClock
from .status import CaseStatus

# Escalation steps after a breach: clamp(target / 2) apart, so a 1-minute clock does not page a
# director a minute later and a 10-day one does not wait 5 days to tell the manager.
MIN_STEP_GAP, MAX_STEP_GAP = timedelta(minutes=15), timedelta(hours=8)


def _step_gap(clock: SlaClock) -> timedelta:
    return min(max(clock.target / 2, MIN_STEP_GAP), MAX_STEP_GAP)


def max_steps(clock: SlaClock) -> int:
    # A lapsed offer is settled at once (the duty lead holds it), so it needs no higher rungs.
    return 1 if clock.name is ClockName.OWNER_ACCEPTANCE else len(LEVELS)


def mark_breached(case: Case, clock: SlaClock, at: datetime, *, acting: bool) -> None:
    clock.state, clock.warned = ClockState.BREACHED, True
    case._breached(clock)
    clock.next_step_at = clock.due_at
    climb(case, clock, at, acting=acting)


def climb(case: Case, clock: SlaClock, at: datetime, *, acting: bool) -> None:
    """Fire every ladder step that is due, each once (a catch-up after downtime fires them all)."""
    while (
        clock.state is ClockState.BREACHED
        and clock.escalations < max_steps(clock)
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
            hand_to_duty_lead(case, reason)
        clock.stopped_at, clock.run_from = at, None
        case.emit(ClockStopped(case.complaint_id, clock.snapshot()))
        request_reroute(case, reason)
    elif clock.name in RESPONSE_CLOCKS and case.owner not in (case.ladder.lead, ""):
        if step == 1 and case.owner in case.ladder.offline:
            case.excluded.append(case.owner)
            request_reroute(case, f"owner {case.owner} is offline and {clock.name.value} is breached")
        elif step == 2:  # still no answer after the lead was told: the owner is unresponsive
            case.excluded.append(case.owner)
            request_reroute(case, f"owner {case.owner} unresponsive: {clock.name.value} still breached")


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
        mark_breached(case, clock, at, acting=False)
    elif clock.state in (ClockState.RUNNING, ClockState.PAUSED):
        clock.state = ClockState.MET
    if clock.run_from is not None:
        clock.consumed = time_used(case, clock, at)
    clock.stopped_at, clock.run_from, clock.paused_at = at, None, None
    case.emit(ClockStopped(case.complaint_id, clock.snapshot()))
    return clock
