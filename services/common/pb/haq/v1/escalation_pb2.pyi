import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from . import complaint_pb2 as _complaint_pb2
from . import events_pb2 as _events_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetClocksRequest(_message.Message):
    __slots__ = ("complaint_id",)
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    def __init__(self, complaint_id: _Optional[str] = ...) -> None: ...

class ClockDetail(_message.Message):
    __slots__ = ("clock", "cycle", "warn_at", "escalation_step", "share_elapsed", "target_seconds", "round_the_clock", "calendar")
    CLOCK_FIELD_NUMBER: _ClassVar[int]
    CYCLE_FIELD_NUMBER: _ClassVar[int]
    WARN_AT_FIELD_NUMBER: _ClassVar[int]
    ESCALATION_STEP_FIELD_NUMBER: _ClassVar[int]
    SHARE_ELAPSED_FIELD_NUMBER: _ClassVar[int]
    TARGET_SECONDS_FIELD_NUMBER: _ClassVar[int]
    ROUND_THE_CLOCK_FIELD_NUMBER: _ClassVar[int]
    CALENDAR_FIELD_NUMBER: _ClassVar[int]
    clock: _events_pb2.SlaClock
    cycle: int
    warn_at: _timestamp_pb2.Timestamp
    escalation_step: int
    share_elapsed: float
    target_seconds: int
    round_the_clock: bool
    calendar: str
    def __init__(self, clock: _Optional[_Union[_events_pb2.SlaClock, _Mapping]] = ..., cycle: _Optional[int] = ..., warn_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., escalation_step: _Optional[int] = ..., share_elapsed: _Optional[float] = ..., target_seconds: _Optional[int] = ..., round_the_clock: _Optional[bool] = ..., calendar: _Optional[str] = ...) -> None: ...

class GetClocksResponse(_message.Message):
    __slots__ = ("complaint_id", "owner", "team", "status", "policy", "clocks", "accept_by", "details", "offered_to", "pending_transfer_to")
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    TEAM_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    CLOCKS_FIELD_NUMBER: _ClassVar[int]
    ACCEPT_BY_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    OFFERED_TO_FIELD_NUMBER: _ClassVar[int]
    PENDING_TRANSFER_TO_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    owner: str
    team: str
    status: _complaint_pb2.ComplaintStatus
    policy: str
    clocks: _containers.RepeatedCompositeFieldContainer[_events_pb2.SlaClock]
    accept_by: _timestamp_pb2.Timestamp
    details: _containers.RepeatedCompositeFieldContainer[ClockDetail]
    offered_to: str
    pending_transfer_to: str
    def __init__(self, complaint_id: _Optional[str] = ..., owner: _Optional[str] = ..., team: _Optional[str] = ..., status: _Optional[_Union[_complaint_pb2.ComplaintStatus, str]] = ..., policy: _Optional[str] = ..., clocks: _Optional[_Iterable[_Union[_events_pb2.SlaClock, _Mapping]]] = ..., accept_by: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., details: _Optional[_Iterable[_Union[ClockDetail, _Mapping]]] = ..., offered_to: _Optional[str] = ..., pending_transfer_to: _Optional[str] = ...) -> None: ...

class ListClocksRequest(_message.Message):
    __slots__ = ("team", "sector", "limit")
    TEAM_FIELD_NUMBER: _ClassVar[int]
    SECTOR_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    team: str
    sector: str
    limit: int
    def __init__(self, team: _Optional[str] = ..., sector: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class ClockEntry(_message.Message):
    __slots__ = ("complaint_id", "owner", "team", "sector", "policy", "detail")
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    TEAM_FIELD_NUMBER: _ClassVar[int]
    SECTOR_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    owner: str
    team: str
    sector: str
    policy: str
    detail: ClockDetail
    def __init__(self, complaint_id: _Optional[str] = ..., owner: _Optional[str] = ..., team: _Optional[str] = ..., sector: _Optional[str] = ..., policy: _Optional[str] = ..., detail: _Optional[_Union[ClockDetail, _Mapping]] = ...) -> None: ...

class ListClocksResponse(_message.Message):
    __slots__ = ("entries",)
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[ClockEntry]
    def __init__(self, entries: _Optional[_Iterable[_Union[ClockEntry, _Mapping]]] = ...) -> None: ...

class GetComplianceRequest(_message.Message):
    __slots__ = ("since",)
    SINCE_FIELD_NUMBER: _ClassVar[int]
    since: _timestamp_pb2.Timestamp
    def __init__(self, since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ComplianceRow(_message.Message):
    __slots__ = ("sector", "team", "clock", "met", "breached", "compliance")
    SECTOR_FIELD_NUMBER: _ClassVar[int]
    TEAM_FIELD_NUMBER: _ClassVar[int]
    CLOCK_FIELD_NUMBER: _ClassVar[int]
    MET_FIELD_NUMBER: _ClassVar[int]
    BREACHED_FIELD_NUMBER: _ClassVar[int]
    COMPLIANCE_FIELD_NUMBER: _ClassVar[int]
    sector: str
    team: str
    clock: str
    met: int
    breached: int
    compliance: float
    def __init__(self, sector: _Optional[str] = ..., team: _Optional[str] = ..., clock: _Optional[str] = ..., met: _Optional[int] = ..., breached: _Optional[int] = ..., compliance: _Optional[float] = ...) -> None: ...

class CsatRow(_message.Message):
    __slots__ = ("team", "sector", "channel", "ratings", "mean", "satisfied_share")
    TEAM_FIELD_NUMBER: _ClassVar[int]
    SECTOR_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    RATINGS_FIELD_NUMBER: _ClassVar[int]
    MEAN_FIELD_NUMBER: _ClassVar[int]
    SATISFIED_SHARE_FIELD_NUMBER: _ClassVar[int]
    team: str
    sector: str
    channel: str
    ratings: int
    mean: float
    satisfied_share: float
    def __init__(self, team: _Optional[str] = ..., sector: _Optional[str] = ..., channel: _Optional[str] = ..., ratings: _Optional[int] = ..., mean: _Optional[float] = ..., satisfied_share: _Optional[float] = ...) -> None: ...

class GetComplianceResponse(_message.Message):
    __slots__ = ("rows", "csat")
    ROWS_FIELD_NUMBER: _ClassVar[int]
    CSAT_FIELD_NUMBER: _ClassVar[int]
    rows: _containers.RepeatedCompositeFieldContainer[ComplianceRow]
    csat: _containers.RepeatedCompositeFieldContainer[CsatRow]
    def __init__(self, rows: _Optional[_Iterable[_Union[ComplianceRow, _Mapping]]] = ..., csat: _Optional[_Iterable[_Union[CsatRow, _Mapping]]] = ...) -> None: ...

class CaseReply(_message.Message):
    __slots__ = ("complaint_id", "status", "owner", "team", "offered_to", "event_ids", "transfer_id")
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    TEAM_FIELD_NUMBER: _ClassVar[int]
    OFFERED_TO_FIELD_NUMBER: _ClassVar[int]
    EVENT_IDS_FIELD_NUMBER: _ClassVar[int]
    TRANSFER_ID_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    status: _complaint_pb2.ComplaintStatus
    owner: str
    team: str
    offered_to: str
    event_ids: _containers.RepeatedScalarFieldContainer[str]
    transfer_id: str
    def __init__(self, complaint_id: _Optional[str] = ..., status: _Optional[_Union[_complaint_pb2.ComplaintStatus, str]] = ..., owner: _Optional[str] = ..., team: _Optional[str] = ..., offered_to: _Optional[str] = ..., event_ids: _Optional[_Iterable[str]] = ..., transfer_id: _Optional[str] = ...) -> None: ...

class AcceptRequest(_message.Message):
    __slots__ = ("complaint_id", "agent", "request_id")
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    agent: str
    request_id: str
    def __init__(self, complaint_id: _Optional[str] = ..., agent: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class DeclineRequest(_message.Message):
    __slots__ = ("complaint_id", "agent", "reason", "request_id")
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    agent: str
    reason: str
    request_id: str
    def __init__(self, complaint_id: _Optional[str] = ..., agent: _Optional[str] = ..., reason: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class RespondRequest(_message.Message):
    __slots__ = ("complaint_id", "agent", "body", "channel", "language", "request_id")
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    agent: str
    body: str
    channel: str
    language: str
    request_id: str
    def __init__(self, complaint_id: _Optional[str] = ..., agent: _Optional[str] = ..., body: _Optional[str] = ..., channel: _Optional[str] = ..., language: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class RespondReply(_message.Message):
    __slots__ = ("case", "response_id", "warnings", "guard_ran")
    CASE_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_ID_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    GUARD_RAN_FIELD_NUMBER: _ClassVar[int]
    case: CaseReply
    response_id: str
    warnings: _containers.RepeatedCompositeFieldContainer[GuardWarning]
    guard_ran: bool
    def __init__(self, case: _Optional[_Union[CaseReply, _Mapping]] = ..., response_id: _Optional[str] = ..., warnings: _Optional[_Iterable[_Union[GuardWarning, _Mapping]]] = ..., guard_ran: _Optional[bool] = ...) -> None: ...

class GuardWarning(_message.Message):
    __slots__ = ("phrase", "rule", "suggestion")
    PHRASE_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    SUGGESTION_FIELD_NUMBER: _ClassVar[int]
    phrase: str
    rule: str
    suggestion: str
    def __init__(self, phrase: _Optional[str] = ..., rule: _Optional[str] = ..., suggestion: _Optional[str] = ...) -> None: ...

class AddNoteRequest(_message.Message):
    __slots__ = ("complaint_id", "agent", "body", "request_id")
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    agent: str
    body: str
    request_id: str
    def __init__(self, complaint_id: _Optional[str] = ..., agent: _Optional[str] = ..., body: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class RequestInfoRequest(_message.Message):
    __slots__ = ("complaint_id", "agent", "question", "request_id")
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_FIELD_NUMBER: _ClassVar[int]
    QUESTION_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    agent: str
    question: str
    request_id: str
    def __init__(self, complaint_id: _Optional[str] = ..., agent: _Optional[str] = ..., question: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class RequestTransferRequest(_message.Message):
    __slots__ = ("complaint_id", "agent", "to_team", "to_owner", "reason", "request_id")
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_FIELD_NUMBER: _ClassVar[int]
    TO_TEAM_FIELD_NUMBER: _ClassVar[int]
    TO_OWNER_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    agent: str
    to_team: str
    to_owner: str
    reason: str
    request_id: str
    def __init__(self, complaint_id: _Optional[str] = ..., agent: _Optional[str] = ..., to_team: _Optional[str] = ..., to_owner: _Optional[str] = ..., reason: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class TransferAnswerRequest(_message.Message):
    __slots__ = ("complaint_id", "agent", "reason", "request_id")
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    agent: str
    reason: str
    request_id: str
    def __init__(self, complaint_id: _Optional[str] = ..., agent: _Optional[str] = ..., reason: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class ResolveRequest(_message.Message):
    __slots__ = ("complaint_id", "agent", "resolution_code", "summary", "request_id")
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_FIELD_NUMBER: _ClassVar[int]
    RESOLUTION_CODE_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    agent: str
    resolution_code: str
    summary: str
    request_id: str
    def __init__(self, complaint_id: _Optional[str] = ..., agent: _Optional[str] = ..., resolution_code: _Optional[str] = ..., summary: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class ReopenRequest(_message.Message):
    __slots__ = ("complaint_id", "by", "reason", "request_id")
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    BY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    by: str
    reason: str
    request_id: str
    def __init__(self, complaint_id: _Optional[str] = ..., by: _Optional[str] = ..., reason: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class ListQueueRequest(_message.Message):
    __slots__ = ("agent", "include_resolved")
    AGENT_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_RESOLVED_FIELD_NUMBER: _ClassVar[int]
    agent: str
    include_resolved: bool
    def __init__(self, agent: _Optional[str] = ..., include_resolved: _Optional[bool] = ...) -> None: ...

class QueueItem(_message.Message):
    __slots__ = ("complaint_id", "status", "team", "priority", "policy", "offered", "next_due_at", "next_clock", "owner")
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TEAM_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    OFFERED_FIELD_NUMBER: _ClassVar[int]
    NEXT_DUE_AT_FIELD_NUMBER: _ClassVar[int]
    NEXT_CLOCK_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    status: _complaint_pb2.ComplaintStatus
    team: str
    priority: str
    policy: str
    offered: bool
    next_due_at: _timestamp_pb2.Timestamp
    next_clock: str
    owner: str
    def __init__(self, complaint_id: _Optional[str] = ..., status: _Optional[_Union[_complaint_pb2.ComplaintStatus, str]] = ..., team: _Optional[str] = ..., priority: _Optional[str] = ..., policy: _Optional[str] = ..., offered: _Optional[bool] = ..., next_due_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., next_clock: _Optional[str] = ..., owner: _Optional[str] = ...) -> None: ...

class ListQueueResponse(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[QueueItem]
    def __init__(self, items: _Optional[_Iterable[_Union[QueueItem, _Mapping]]] = ...) -> None: ...
