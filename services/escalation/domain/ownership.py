"""Who owns a complaint: an offer, its acceptance or refusal, and a new owner chosen by routing."""

from __future__ import annotations

from datetime import datetime

from .breaches import stop_clock
from .case import Case
from .clock import utc
from .clocks import restart_clock
from .events import CaseOffered, ClocksStarted, OwnerAccepted, OwnerDeclined, OwnerReplaced
from .guards import require, required
from .handover import hand_to_duty_lead, request_reroute
from .policy import ClockName
from .sla_clock import ClockState
from .status import OPEN, CaseStatus


def accept(case: Case, agent: str, now: datetime) -> None:
    agent = required(agent, "agent")
    require(
        case.offered_to,
        f"complaint {case.complaint_id} has no open offer (status {case.status.value}, owner {case.owner})",
    )
    require(
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
    agent, reason = required(agent, "agent"), required(reason, "reason")
    require(
        case.offered_to,
        f"complaint {case.complaint_id} has no open offer to decline; "
        "an owner hands a complaint on with a transfer request",
    )
    require(
        agent == case.offered_to,
        f"complaint {case.complaint_id} is offered to {case.offered_to}, not {agent}",
    )
    case.excluded.append(agent)
    stop_clock(case, ClockName.OWNER_ACCEPTANCE, now)
    normal_offer = case.owner == agent
    case.offered_to, case.offer_is_duty_lead = "", False
    if normal_offer or case.status is CaseStatus.OFFERED:  # nobody has accepted it: the lead holds it
        hand_to_duty_lead(case, f"{agent} declined: {reason}")
    case.emit(OwnerDeclined(case.complaint_id, agent, case.team, reason, case.status))
    request_reroute(case, f"{agent} declined: {reason}")


def offer(case: Case, owner: str, *, duty_lead: bool, now: datetime, reason: str = "") -> bool:
    """Routing chose a (new) owner for a complaint that already has a case.

    A duty lead holding the complaint hands it on the normal way (the new owner is offered it and
    accountable, with an accept window). Otherwise the current owner stays accountable until the
    new one accepts. Returns False when there is nothing to do (a repeat, or a finished case).
    """
    owner = required(owner, "owner")
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
    clock = restart_clock(case, ClockName.OWNER_ACCEPTANCE, now, reason_started=False)
    case.accept_by = clock.due_at
    if case.status is CaseStatus.OFFERED:
        case.emit(CaseOffered(case.complaint_id, owner, case.team, case.accept_by))
    case.emit(ClocksStarted(case.complaint_id, case.policy, (clock.snapshot(),)))
    return True
