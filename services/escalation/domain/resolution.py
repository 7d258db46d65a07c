"""Resolving a complaint (with a code that says what was done, never a deflection), reopening it."""

from __future__ import annotations

from datetime import datetime, timedelta

from .breaches import stop_clock
from .case import Case
from .clock import utc
from .clocks import open_clocks, restart_clock
from .errors import CaseError, InvalidInput
from .events import ClocksStarted, Reopened, Resolved
from .guards import require, require_accountable, require_working, required
from .policy import ClockName
from .status import CaseStatus

# After the resolution, the customer may reopen for this long; then the complaint closes.
REOPEN_WINDOW = timedelta(days=7)


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


def check_resolution(code: str, summary: str) -> str:
    """The normalised resolution code; refuses a deflection in the code or the summary."""
    code = required(code, "resolution_code").lower().replace("-", "_").replace(" ", "_")
    required(summary, "summary")
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
    agent = required(agent, "agent")
    code = check_resolution(code, summary)
    require_working(case, "resolve")
    require_accountable(case, agent, "resolve")
    require(
        case.transfer is None,
        f"transfer {case.transfer.transfer_id if case.transfer else ''} "
        "is pending: the receiving team accepts or declines it before the complaint is resolved",
    )
    now = utc(now)
    if case.offered_to:
        case.offered_to, case.offer_is_duty_lead = "", False
    for clock in open_clocks(case):  # the summary answers the customer, so it stops them all
        stop_clock(case, clock.name, now)
    case.status, case.resolution_code, case.resolved_at = CaseStatus.RESOLVED, code, now
    case.close_at = now + REOPEN_WINDOW
    case.emit(Resolved(case.complaint_id, case.owner, case.team, code, summary.strip(), now, case.status))


def reopen(case: Case, by: str, reason: str, now: datetime) -> None:
    by, reason = required(by, "by"), required(reason, "reason")
    require(
        case.status in (CaseStatus.RESOLVED, CaseStatus.CLOSED),
        f"complaint {case.complaint_id} is {case.status.value}; only a resolved or closed "
        "complaint can be reopened",
    )
    now = utc(now)
    case.status, case.resolution_code, case.resolved_at, case.close_at = CaseStatus.OWNED, "", None, None
    case.reopened += 1
    case.emit(Reopened(case.complaint_id, reason, by, case.owner, case.team, case.status))
    started = [
        restart_clock(case, n, now, reason_started=False)
        for n in (ClockName.NEXT_RESPONSE, ClockName.RESOLUTION)
    ]
    case.emit(ClocksStarted(case.complaint_id, case.policy, tuple(c.snapshot() for c in started)))
