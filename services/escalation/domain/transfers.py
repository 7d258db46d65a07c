"""Handing a complaint to another team: a request the receiver accepts or declines; the current
owner stays accountable until then, and an unanswered request times out to the team lead."""

from __future__ import annotations

from datetime import datetime, timedelta

from .breaches import stop_clock
from .calendar import ROUND_THE_CLOCK, BusinessCalendar, Calendars
from .case import Case, Transfer
from .clock import utc
from .clocks import open_clocks, time_used
from .errors import InvalidInput
from .events import ClocksStarted, Escalated, TransferAccepted, TransferDeclined, TransferRequested
from .guards import require, require_accountable, require_working, required
from .ladder import LEVELS
from .policy import ClockName
from .roster import Roster
from .sla_clock import ClockState, SlaClock
from .status import CaseStatus


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
        required(agent, "agent"),
        required(to_team, "to_team"),
        required(reason, "reason"),
    )
    to_owner = (to_owner or "").strip()
    _check_receiver(roster, to_team, to_owner)
    require_working(case, "request a transfer")
    require_accountable(case, agent, "request a transfer")
    require(
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
    require(transfer is not None, f"complaint {case.complaint_id} has no transfer pending")
    assert transfer is not None
    if roster is not None and agent not in roster.members(transfer.to_team):
        raise InvalidInput("agent", f"{agent!r} is not a member of the receiving team {transfer.to_team}")
    require(
        not transfer.to_owner or transfer.to_owner == agent,
        f"cannot {action}: transfer {transfer.transfer_id} is addressed to {transfer.to_owner}",
    )
    # A hand-off is answered by the receiver, never by the sender on their behalf.
    require(agent != case.owner, f"cannot {action}: {agent} asked for this transfer")
    return transfer


def _move_to_calendar(case: Case, calendar: BusinessCalendar, now: datetime) -> None:
    """The case changes team: its running clocks keep the business time already used and count
    the rest on the new team's calendar (round-the-clock clocks are unaffected)."""
    if calendar == case.calendar:
        return
    moved: list[SlaClock] = []
    for clock in open_clocks(case):
        if clock.every_minute or clock.run_from is None:
            continue  # a paused clock resumes on the case's calendar, which is the new one below
        if clock.is_due(now):
            continue  # already late on the old hours: the next tick breaches it as it was due
        clock.consumed = time_used(case, clock, now)
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
    agent = required(agent, "agent")
    transfer = _pending_transfer(case, agent, "accept the transfer", roster)
    now = utc(now)
    previous_owner, previous_team = case.owner, case.team
    case.owner, case.team, case.owner_is_duty_lead = agent, transfer.to_team, False
    case.transfer, case.excluded = None, []
    if case.offered_to:  # an offer inside the old team is withdrawn: the new team owns it now
        case.offered_to, case.offer_is_duty_lead = "", False
        stop_clock(case, ClockName.OWNER_ACCEPTANCE, now)
    # Accepting the hand-off is accepting ownership: a case offered (to someone in the old team)
    # since the transfer was asked for is now owned, with no acceptance window left to lapse.
    if case.status is CaseStatus.OFFERED:
        case.status = CaseStatus.OWNED
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
    agent, reason = required(agent, "agent"), required(reason, "reason")
    transfer = _pending_transfer(case, agent, "decline the transfer", roster)
    end_transfer(case, transfer, agent, reason, timed_out=False)


def end_transfer(case: Case, transfer: Transfer, by: str, reason: str, *, timed_out: bool) -> None:
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
