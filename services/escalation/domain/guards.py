"""The checks every action on a case starts with: required fields, the status it needs, and who may act."""

from __future__ import annotations

from .case import Case
from .errors import CaseError, InvalidInput
from .status import WORKING, CaseStatus


def required(value: str, field_name: str) -> str:
    value = (value or "").strip()
    if not value:
        raise InvalidInput(field_name, "required")
    return value


def require(condition: object, reason: str) -> None:
    if not condition:
        raise CaseError(reason)


def require_working(case: Case, action: str) -> None:
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


def require_accountable(case: Case, agent: str, action: str) -> None:
    """The owner acts on a complaint; the people on its escalation ladder may step in."""
    if agent != case.owner and agent not in case.ladder.people():
        raise CaseError(
            f"cannot {action}: {agent} is not the owner of complaint "
            f"{case.complaint_id} ({case.owner} is) nor on its escalation ladder"
        )
