"""What time does to a case: warnings, breaches, ladder steps, a transfer nobody answered, the close
after the reopen window; and when that next happens, for the durable deadline index."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from .breaches import climb, mark_breached, max_steps
from .case import Case
from .clock import utc
from .clocks import open_clocks, share_elapsed
from .events import Closed, SlaWarning
from .policy import ClockName
from .sla_clock import ClockState, SlaClock
from .status import CaseStatus
from .transfers import end_transfer


@dataclass(frozen=True)
class Deadline:
    complaint_id: str
    clock: ClockName
    due_at: datetime


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
    for clock in open_clocks(case):
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
            mark_breached(case, clock, now, acting=True)
        elif clock.state is ClockState.BREACHED:
            climb(case, clock, now, acting=True)
    if case.transfer is not None and case.transfer.respond_by <= now:
        end_transfer(
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
        elif clock.escalations < max_steps(clock) and clock.next_step_at is not None:
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
    mark_breached(case, clock, utc(at), acting=True)
    return clock


def breach_due(case: Case, at: datetime) -> list[SlaClock]:
    """Mark every due clock of the case breached; returns the ones breached by this call."""
    return [c for c in (breach(case, d.clock, at) for d in find_due([case], at)) if c is not None]


def unowned_beyond_window(case: Case, now: datetime, grace: timedelta = timedelta(0)) -> bool:
    """The invariant the SLA promises never holds: offered and not accepted past its window."""
    return case.status is CaseStatus.OFFERED and utc(now) > case.accept_by + grace
