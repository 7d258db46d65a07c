"""Domain events: what happened to a case, for the service layer to announce. Field names follow
the lifecycle messages in proto/haq/v1/events.proto. `key`, when set, is a stable id: the same
deadline firing always gets the same one, whichever process fires it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .sla_clock import SlaClock
from .status import CaseStatus


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
