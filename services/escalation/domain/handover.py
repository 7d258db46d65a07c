"""The two moves that follow when an owner is lost (an offer declined or lapsed, an owner offline or
unresponsive): the team lead holds the complaint, and routing is asked for someone else."""

from __future__ import annotations

from .case import Case
from .events import OwnerReplaced, RerouteRequested
from .status import CaseStatus


def hand_to_duty_lead(case: Case, reason: str) -> None:
    """The team lead holds the complaint as duty owner until routing finds someone."""
    lead = case.ladder.lead or case.owner
    previous = case.owner
    case.owner, case.owner_is_duty_lead = lead, True
    if case.status is CaseStatus.OFFERED:
        case.status = CaseStatus.OWNED
    case.emit(OwnerReplaced(case.complaint_id, previous, lead, case.team, reason, True, case.status))


def request_reroute(case: Case, reason: str) -> None:
    exclude = tuple(dict.fromkeys(case.excluded))
    case.emit(RerouteRequested(case.complaint_id, case.team, exclude, reason, case.owner))
