"""Running a case's SLA clocks on its business calendar: starting a cycle, the business time used,
pausing while the complaint waits on the customer and resuming after."""

from __future__ import annotations

from datetime import datetime, timedelta

from .calendar import ROUND_THE_CLOCK
from .case import Case
from .events import ClocksStarted
from .policy import ClockName
from .sla_clock import ClockState, SlaClock


def start_clock(case: Case, name: ClockName, start: datetime, cycle: int = 0) -> SlaClock:
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


def restart_clock(case: Case, name: ClockName, at: datetime, reason_started: bool = True) -> SlaClock:
    """A new cycle of a repeating clock (announced with ClocksStarted)."""
    previous = case.clocks.get(name)
    clock = start_clock(case, name, at, cycle=(previous.cycle + 1) if previous else 0)
    if reason_started:
        case.emit(ClocksStarted(case.complaint_id, case.policy, (clock.snapshot(),)))
    return clock


def time_used(case: Case, clock: SlaClock, at: datetime) -> timedelta:
    used = clock.consumed
    if clock.run_from is not None:
        used += case.calendar_of(clock).elapsed(clock.run_from, at)
    return used


def share_elapsed(case: Case, clock: SlaClock, at: datetime) -> float:
    if not clock.target:
        return 1.0
    return time_used(case, clock, at) / clock.target


def pause_clock(case: Case, clock: SlaClock, at: datetime) -> bool:
    if not clock.open or clock.run_from is None:
        return False
    clock.consumed = time_used(case, clock, at)
    clock.run_from, clock.paused_at = None, at
    if clock.state is ClockState.RUNNING:
        clock.state = ClockState.PAUSED
    return True


def resume_clock(case: Case, clock: SlaClock, at: datetime) -> bool:
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


def open_clocks(case: Case) -> list[SlaClock]:
    order = list(ClockName)
    return sorted((c for c in case.clocks.values() if c.open), key=lambda c: order.index(c.name))
