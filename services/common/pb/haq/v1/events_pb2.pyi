import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from . import complaint_pb2 as _complaint_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ComplaintReceived(_message.Message):
    __slots__ = ("complaint", "history")
    COMPLAINT_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    complaint: _complaint_pb2.Complaint
    history: _complaint_pb2.CustomerHistory
    def __init__(self, complaint: _Optional[_Union[_complaint_pb2.Complaint, _Mapping]] = ..., history: _Optional[_Union[_complaint_pb2.CustomerHistory, _Mapping]] = ...) -> None: ...

class CustomerFollowedUp(_message.Message):
    __slots__ = ("complaint_id", "follow_up_id", "channel", "body", "received_at")
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_UP_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_AT_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    follow_up_id: str
    channel: _complaint_pb2.Channel
    body: str
    received_at: _timestamp_pb2.Timestamp
    def __init__(self, complaint_id: _Optional[str] = ..., follow_up_id: _Optional[str] = ..., channel: _Optional[_Union[_complaint_pb2.Channel, str]] = ..., body: _Optional[str] = ..., received_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ComplaintRouted(_message.Message):
    __slots__ = ("complaint_id", "team", "owner", "owner_is_duty_lead", "priority", "sla_policy", "rule_id", "rule_set_version", "explanation", "tags", "keep_informed", "required_skills", "sector", "reassignment", "previous_owner", "reason")
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    TEAM_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    OWNER_IS_DUTY_LEAD_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    SLA_POLICY_FIELD_NUMBER: _ClassVar[int]
    RULE_ID_FIELD_NUMBER: _ClassVar[int]
    RULE_SET_VERSION_FIELD_NUMBER: _ClassVar[int]
    EXPLANATION_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    KEEP_INFORMED_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_SKILLS_FIELD_NUMBER: _ClassVar[int]
    SECTOR_FIELD_NUMBER: _ClassVar[int]
    REASSIGNMENT_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_OWNER_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    team: str
    owner: str
    owner_is_duty_lead: bool
    priority: _complaint_pb2.Priority
    sla_policy: str
    rule_id: str
    rule_set_version: str
    explanation: str
    tags: _containers.RepeatedScalarFieldContainer[str]
    keep_informed: _containers.RepeatedScalarFieldContainer[str]
    required_skills: _containers.RepeatedScalarFieldContainer[str]
    sector: str
    reassignment: bool
    previous_owner: str
    reason: str
    def __init__(self, complaint_id: _Optional[str] = ..., team: _Optional[str] = ..., owner: _Optional[str] = ..., owner_is_duty_lead: _Optional[bool] = ..., priority: _Optional[_Union[_complaint_pb2.Priority, str]] = ..., sla_policy: _Optional[str] = ..., rule_id: _Optional[str] = ..., rule_set_version: _Optional[str] = ..., explanation: _Optional[str] = ..., tags: _Optional[_Iterable[str]] = ..., keep_informed: _Optional[_Iterable[str]] = ..., required_skills: _Optional[_Iterable[str]] = ..., sector: _Optional[str] = ..., reassignment: _Optional[bool] = ..., previous_owner: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class OwnerAssigned(_message.Message):
    __slots__ = ("complaint_id", "owner", "team", "status", "accept_by")
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    TEAM_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ACCEPT_BY_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    owner: str
    team: str
    status: _complaint_pb2.ComplaintStatus
    accept_by: _timestamp_pb2.Timestamp
    def __init__(self, complaint_id: _Optional[str] = ..., owner: _Optional[str] = ..., team: _Optional[str] = ..., status: _Optional[_Union[_complaint_pb2.ComplaintStatus, str]] = ..., accept_by: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SlaClock(_message.Message):
    __slots__ = ("name", "started_at", "due_at", "state", "stopped_at", "cycle")
    NAME_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    DUE_AT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    STOPPED_AT_FIELD_NUMBER: _ClassVar[int]
    CYCLE_FIELD_NUMBER: _ClassVar[int]
    name: str
    started_at: _timestamp_pb2.Timestamp
    due_at: _timestamp_pb2.Timestamp
    state: str
    stopped_at: _timestamp_pb2.Timestamp
    cycle: int
    def __init__(self, name: _Optional[str] = ..., started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., due_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., state: _Optional[str] = ..., stopped_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., cycle: _Optional[int] = ...) -> None: ...

class SlaClocksStarted(_message.Message):
    __slots__ = ("complaint_id", "policy", "clocks")
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    CLOCKS_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    policy: str
    clocks: _containers.RepeatedCompositeFieldContainer[SlaClock]
    def __init__(self, complaint_id: _Optional[str] = ..., policy: _Optional[str] = ..., clocks: _Optional[_Iterable[_Union[SlaClock, _Mapping]]] = ...) -> None: ...

class SlaClockStopped(_message.Message):
    __slots__ = ("complaint_id", "clock")
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    CLOCK_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    clock: SlaClock
    def __init__(self, complaint_id: _Optional[str] = ..., clock: _Optional[_Union[SlaClock, _Mapping]] = ...) -> None: ...

class SlaBreached(_message.Message):
    __slots__ = ("complaint_id", "clock", "owner", "team")
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    CLOCK_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    TEAM_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    clock: SlaClock
    owner: str
    team: str
    def __init__(self, complaint_id: _Optional[str] = ..., clock: _Optional[_Union[SlaClock, _Mapping]] = ..., owner: _Optional[str] = ..., team: _Optional[str] = ...) -> None: ...

class NotificationSent(_message.Message):
    __slots__ = ("complaint_id", "notification_id", "channel", "recipient", "template", "language", "sent_at", "trigger_event_id")
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    NOTIFICATION_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    SENT_AT_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    notification_id: str
    channel: str
    recipient: str
    template: str
    language: str
    sent_at: _timestamp_pb2.Timestamp
    trigger_event_id: str
    def __init__(self, complaint_id: _Optional[str] = ..., notification_id: _Optional[str] = ..., channel: _Optional[str] = ..., recipient: _Optional[str] = ..., template: _Optional[str] = ..., language: _Optional[str] = ..., sent_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., trigger_event_id: _Optional[str] = ...) -> None: ...

class NotificationFailed(_message.Message):
    __slots__ = ("complaint_id", "notification_id", "channel", "recipient", "template", "reason", "attempts", "trigger_event_id")
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    NOTIFICATION_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    notification_id: str
    channel: str
    recipient: str
    template: str
    reason: str
    attempts: int
    trigger_event_id: str
    def __init__(self, complaint_id: _Optional[str] = ..., notification_id: _Optional[str] = ..., channel: _Optional[str] = ..., recipient: _Optional[str] = ..., template: _Optional[str] = ..., reason: _Optional[str] = ..., attempts: _Optional[int] = ..., trigger_event_id: _Optional[str] = ...) -> None: ...

class DeadLetter(_message.Message):
    __slots__ = ("source_topic", "partition", "offset", "reason", "original_value", "original_headers", "service", "failed_at")
    class OriginalHeadersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    SOURCE_TOPIC_FIELD_NUMBER: _ClassVar[int]
    PARTITION_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ORIGINAL_VALUE_FIELD_NUMBER: _ClassVar[int]
    ORIGINAL_HEADERS_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    FAILED_AT_FIELD_NUMBER: _ClassVar[int]
    source_topic: str
    partition: int
    offset: int
    reason: str
    original_value: bytes
    original_headers: _containers.ScalarMap[str, str]
    service: str
    failed_at: _timestamp_pb2.Timestamp
    def __init__(self, source_topic: _Optional[str] = ..., partition: _Optional[int] = ..., offset: _Optional[int] = ..., reason: _Optional[str] = ..., original_value: _Optional[bytes] = ..., original_headers: _Optional[_Mapping[str, str]] = ..., service: _Optional[str] = ..., failed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class OwnerAccepted(_message.Message):
    __slots__ = ("complaint_id", "owner", "team", "accepted_at", "status")
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    TEAM_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_AT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    owner: str
    team: str
    accepted_at: _timestamp_pb2.Timestamp
    status: _complaint_pb2.ComplaintStatus
    def __init__(self, complaint_id: _Optional[str] = ..., owner: _Optional[str] = ..., team: _Optional[str] = ..., accepted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., status: _Optional[_Union[_complaint_pb2.ComplaintStatus, str]] = ...) -> None: ...

class OwnerDeclined(_message.Message):
    __slots__ = ("complaint_id", "owner", "team", "reason", "status")
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    TEAM_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    owner: str
    team: str
    reason: str
    status: _complaint_pb2.ComplaintStatus
    def __init__(self, complaint_id: _Optional[str] = ..., owner: _Optional[str] = ..., team: _Optional[str] = ..., reason: _Optional[str] = ..., status: _Optional[_Union[_complaint_pb2.ComplaintStatus, str]] = ...) -> None: ...

class OwnerReplaced(_message.Message):
    __slots__ = ("complaint_id", "previous_owner", "new_owner", "team", "reason", "new_owner_is_duty_lead", "status")
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_OWNER_FIELD_NUMBER: _ClassVar[int]
    NEW_OWNER_FIELD_NUMBER: _ClassVar[int]
    TEAM_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    NEW_OWNER_IS_DUTY_LEAD_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    previous_owner: str
    new_owner: str
    team: str
    reason: str
    new_owner_is_duty_lead: bool
    status: _complaint_pb2.ComplaintStatus
    def __init__(self, complaint_id: _Optional[str] = ..., previous_owner: _Optional[str] = ..., new_owner: _Optional[str] = ..., team: _Optional[str] = ..., reason: _Optional[str] = ..., new_owner_is_duty_lead: _Optional[bool] = ..., status: _Optional[_Union[_complaint_pb2.ComplaintStatus, str]] = ...) -> None: ...

class RerouteRequested(_message.Message):
    __slots__ = ("complaint_id", "team", "exclude_owners", "reason", "current_owner")
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    TEAM_FIELD_NUMBER: _ClassVar[int]
    EXCLUDE_OWNERS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CURRENT_OWNER_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    team: str
    exclude_owners: _containers.RepeatedScalarFieldContainer[str]
    reason: str
    current_owner: str
    def __init__(self, complaint_id: _Optional[str] = ..., team: _Optional[str] = ..., exclude_owners: _Optional[_Iterable[str]] = ..., reason: _Optional[str] = ..., current_owner: _Optional[str] = ...) -> None: ...

class AgentResponded(_message.Message):
    __slots__ = ("complaint_id", "response_id", "agent", "body", "channel", "responded_at", "guard_warnings", "status")
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    RESPONDED_AT_FIELD_NUMBER: _ClassVar[int]
    GUARD_WARNINGS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    response_id: str
    agent: str
    body: str
    channel: str
    responded_at: _timestamp_pb2.Timestamp
    guard_warnings: _containers.RepeatedScalarFieldContainer[str]
    status: _complaint_pb2.ComplaintStatus
    def __init__(self, complaint_id: _Optional[str] = ..., response_id: _Optional[str] = ..., agent: _Optional[str] = ..., body: _Optional[str] = ..., channel: _Optional[str] = ..., responded_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., guard_warnings: _Optional[_Iterable[str]] = ..., status: _Optional[_Union[_complaint_pb2.ComplaintStatus, str]] = ...) -> None: ...

class InternalNoteAdded(_message.Message):
    __slots__ = ("complaint_id", "note_id", "agent", "body")
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    NOTE_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    note_id: str
    agent: str
    body: str
    def __init__(self, complaint_id: _Optional[str] = ..., note_id: _Optional[str] = ..., agent: _Optional[str] = ..., body: _Optional[str] = ...) -> None: ...

class InfoRequested(_message.Message):
    __slots__ = ("complaint_id", "request_id", "agent", "question", "status")
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_FIELD_NUMBER: _ClassVar[int]
    QUESTION_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    request_id: str
    agent: str
    question: str
    status: _complaint_pb2.ComplaintStatus
    def __init__(self, complaint_id: _Optional[str] = ..., request_id: _Optional[str] = ..., agent: _Optional[str] = ..., question: _Optional[str] = ..., status: _Optional[_Union[_complaint_pb2.ComplaintStatus, str]] = ...) -> None: ...

class TransferRequested(_message.Message):
    __slots__ = ("complaint_id", "transfer_id", "from_owner", "from_team", "to_team", "to_owner", "reason", "respond_by")
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    TRANSFER_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_OWNER_FIELD_NUMBER: _ClassVar[int]
    FROM_TEAM_FIELD_NUMBER: _ClassVar[int]
    TO_TEAM_FIELD_NUMBER: _ClassVar[int]
    TO_OWNER_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    RESPOND_BY_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    transfer_id: str
    from_owner: str
    from_team: str
    to_team: str
    to_owner: str
    reason: str
    respond_by: _timestamp_pb2.Timestamp
    def __init__(self, complaint_id: _Optional[str] = ..., transfer_id: _Optional[str] = ..., from_owner: _Optional[str] = ..., from_team: _Optional[str] = ..., to_team: _Optional[str] = ..., to_owner: _Optional[str] = ..., reason: _Optional[str] = ..., respond_by: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class TransferAccepted(_message.Message):
    __slots__ = ("complaint_id", "transfer_id", "new_owner", "new_team", "previous_owner", "previous_team", "status")
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    TRANSFER_ID_FIELD_NUMBER: _ClassVar[int]
    NEW_OWNER_FIELD_NUMBER: _ClassVar[int]
    NEW_TEAM_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_OWNER_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_TEAM_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    transfer_id: str
    new_owner: str
    new_team: str
    previous_owner: str
    previous_team: str
    status: _complaint_pb2.ComplaintStatus
    def __init__(self, complaint_id: _Optional[str] = ..., transfer_id: _Optional[str] = ..., new_owner: _Optional[str] = ..., new_team: _Optional[str] = ..., previous_owner: _Optional[str] = ..., previous_team: _Optional[str] = ..., status: _Optional[_Union[_complaint_pb2.ComplaintStatus, str]] = ...) -> None: ...

class TransferDeclined(_message.Message):
    __slots__ = ("complaint_id", "transfer_id", "declined_by", "reason", "timed_out", "owner")
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    TRANSFER_ID_FIELD_NUMBER: _ClassVar[int]
    DECLINED_BY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    TIMED_OUT_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    transfer_id: str
    declined_by: str
    reason: str
    timed_out: bool
    owner: str
    def __init__(self, complaint_id: _Optional[str] = ..., transfer_id: _Optional[str] = ..., declined_by: _Optional[str] = ..., reason: _Optional[str] = ..., timed_out: _Optional[bool] = ..., owner: _Optional[str] = ...) -> None: ...

class Resolved(_message.Message):
    __slots__ = ("complaint_id", "owner", "team", "resolution_code", "summary", "resolved_at", "status")
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    TEAM_FIELD_NUMBER: _ClassVar[int]
    RESOLUTION_CODE_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    RESOLVED_AT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    owner: str
    team: str
    resolution_code: str
    summary: str
    resolved_at: _timestamp_pb2.Timestamp
    status: _complaint_pb2.ComplaintStatus
    def __init__(self, complaint_id: _Optional[str] = ..., owner: _Optional[str] = ..., team: _Optional[str] = ..., resolution_code: _Optional[str] = ..., summary: _Optional[str] = ..., resolved_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., status: _Optional[_Union[_complaint_pb2.ComplaintStatus, str]] = ...) -> None: ...

class Reopened(_message.Message):
    __slots__ = ("complaint_id", "reason", "by", "owner", "team", "status")
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    BY_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    TEAM_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    reason: str
    by: str
    owner: str
    team: str
    status: _complaint_pb2.ComplaintStatus
    def __init__(self, complaint_id: _Optional[str] = ..., reason: _Optional[str] = ..., by: _Optional[str] = ..., owner: _Optional[str] = ..., team: _Optional[str] = ..., status: _Optional[_Union[_complaint_pb2.ComplaintStatus, str]] = ...) -> None: ...

class Closed(_message.Message):
    __slots__ = ("complaint_id", "reason", "status")
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    reason: str
    status: _complaint_pb2.ComplaintStatus
    def __init__(self, complaint_id: _Optional[str] = ..., reason: _Optional[str] = ..., status: _Optional[_Union[_complaint_pb2.ComplaintStatus, str]] = ...) -> None: ...

class SlaWarning(_message.Message):
    __slots__ = ("complaint_id", "clock", "owner", "team", "share_elapsed")
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    CLOCK_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    TEAM_FIELD_NUMBER: _ClassVar[int]
    SHARE_ELAPSED_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    clock: SlaClock
    owner: str
    team: str
    share_elapsed: float
    def __init__(self, complaint_id: _Optional[str] = ..., clock: _Optional[_Union[SlaClock, _Mapping]] = ..., owner: _Optional[str] = ..., team: _Optional[str] = ..., share_elapsed: _Optional[float] = ...) -> None: ...

class SlaClocksPaused(_message.Message):
    __slots__ = ("complaint_id", "clocks", "reason")
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    CLOCKS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    clocks: _containers.RepeatedCompositeFieldContainer[SlaClock]
    reason: str
    def __init__(self, complaint_id: _Optional[str] = ..., clocks: _Optional[_Iterable[_Union[SlaClock, _Mapping]]] = ..., reason: _Optional[str] = ...) -> None: ...

class SlaClocksResumed(_message.Message):
    __slots__ = ("complaint_id", "clocks", "reason", "status")
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    CLOCKS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    clocks: _containers.RepeatedCompositeFieldContainer[SlaClock]
    reason: str
    status: _complaint_pb2.ComplaintStatus
    def __init__(self, complaint_id: _Optional[str] = ..., clocks: _Optional[_Iterable[_Union[SlaClock, _Mapping]]] = ..., reason: _Optional[str] = ..., status: _Optional[_Union[_complaint_pb2.ComplaintStatus, str]] = ...) -> None: ...

class Escalated(_message.Message):
    __slots__ = ("complaint_id", "level", "step", "notify", "clock", "reason", "owner", "team")
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    NOTIFY_FIELD_NUMBER: _ClassVar[int]
    CLOCK_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    TEAM_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    level: str
    step: int
    notify: _containers.RepeatedScalarFieldContainer[str]
    clock: SlaClock
    reason: str
    owner: str
    team: str
    def __init__(self, complaint_id: _Optional[str] = ..., level: _Optional[str] = ..., step: _Optional[int] = ..., notify: _Optional[_Iterable[str]] = ..., clock: _Optional[_Union[SlaClock, _Mapping]] = ..., reason: _Optional[str] = ..., owner: _Optional[str] = ..., team: _Optional[str] = ...) -> None: ...

class TriageCorrected(_message.Message):
    __slots__ = ("complaint_id", "signal", "present", "corrected_by", "reason", "corrected_at", "model_score", "previous_team", "team")
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    SIGNAL_FIELD_NUMBER: _ClassVar[int]
    PRESENT_FIELD_NUMBER: _ClassVar[int]
    CORRECTED_BY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CORRECTED_AT_FIELD_NUMBER: _ClassVar[int]
    MODEL_SCORE_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_TEAM_FIELD_NUMBER: _ClassVar[int]
    TEAM_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    signal: str
    present: bool
    corrected_by: str
    reason: str
    corrected_at: _timestamp_pb2.Timestamp
    model_score: float
    previous_team: str
    team: str
    def __init__(self, complaint_id: _Optional[str] = ..., signal: _Optional[str] = ..., present: _Optional[bool] = ..., corrected_by: _Optional[str] = ..., reason: _Optional[str] = ..., corrected_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., model_score: _Optional[float] = ..., previous_team: _Optional[str] = ..., team: _Optional[str] = ...) -> None: ...

class ComplaintRated(_message.Message):
    __slots__ = ("complaint_id", "rating_id", "rating", "comment", "rated_at", "team", "sector", "channel")
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    RATING_ID_FIELD_NUMBER: _ClassVar[int]
    RATING_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    RATED_AT_FIELD_NUMBER: _ClassVar[int]
    TEAM_FIELD_NUMBER: _ClassVar[int]
    SECTOR_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    rating_id: str
    rating: int
    comment: str
    rated_at: _timestamp_pb2.Timestamp
    team: str
    sector: str
    channel: _complaint_pb2.Channel
    def __init__(self, complaint_id: _Optional[str] = ..., rating_id: _Optional[str] = ..., rating: _Optional[int] = ..., comment: _Optional[str] = ..., rated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., team: _Optional[str] = ..., sector: _Optional[str] = ..., channel: _Optional[_Union[_complaint_pb2.Channel, str]] = ...) -> None: ...

class PortalLinkRequested(_message.Message):
    __slots__ = ("complaint_id", "link_id", "url", "expires_at", "purpose")
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    LINK_ID_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    link_id: str
    url: str
    expires_at: _timestamp_pb2.Timestamp
    purpose: str
    def __init__(self, complaint_id: _Optional[str] = ..., link_id: _Optional[str] = ..., url: _Optional[str] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., purpose: _Optional[str] = ...) -> None: ...
