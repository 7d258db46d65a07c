import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from . import complaint_pb2 as _complaint_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SubmitComplaintRequest(_message.Message):
    __slots__ = ("draft",)
    DRAFT_FIELD_NUMBER: _ClassVar[int]
    draft: _complaint_pb2.ComplaintDraft
    def __init__(self, draft: _Optional[_Union[_complaint_pb2.ComplaintDraft, _Mapping]] = ...) -> None: ...

class SubmitComplaintResponse(_message.Message):
    __slots__ = ("complaint_id", "reference", "customer_id", "duplicate", "language")
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    reference: str
    customer_id: str
    duplicate: bool
    language: str
    def __init__(self, complaint_id: _Optional[str] = ..., reference: _Optional[str] = ..., customer_id: _Optional[str] = ..., duplicate: _Optional[bool] = ..., language: _Optional[str] = ...) -> None: ...

class AddFollowUpRequest(_message.Message):
    __slots__ = ("complaint", "body", "channel", "idempotency_key", "tenant")
    COMPLAINT_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    complaint: str
    body: str
    channel: _complaint_pb2.Channel
    idempotency_key: str
    tenant: str
    def __init__(self, complaint: _Optional[str] = ..., body: _Optional[str] = ..., channel: _Optional[_Union[_complaint_pb2.Channel, str]] = ..., idempotency_key: _Optional[str] = ..., tenant: _Optional[str] = ...) -> None: ...

class AddFollowUpResponse(_message.Message):
    __slots__ = ("follow_up_id", "complaint_id", "duplicate")
    FOLLOW_UP_ID_FIELD_NUMBER: _ClassVar[int]
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    follow_up_id: str
    complaint_id: str
    duplicate: bool
    def __init__(self, follow_up_id: _Optional[str] = ..., complaint_id: _Optional[str] = ..., duplicate: _Optional[bool] = ...) -> None: ...

class GetComplaintRequest(_message.Message):
    __slots__ = ("complaint", "tenant")
    COMPLAINT_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    complaint: str
    tenant: str
    def __init__(self, complaint: _Optional[str] = ..., tenant: _Optional[str] = ...) -> None: ...

class SlaDeadline(_message.Message):
    __slots__ = ("clock", "started_at", "due_at", "state", "stopped_at")
    CLOCK_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    DUE_AT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    STOPPED_AT_FIELD_NUMBER: _ClassVar[int]
    clock: str
    started_at: _timestamp_pb2.Timestamp
    due_at: _timestamp_pb2.Timestamp
    state: str
    stopped_at: _timestamp_pb2.Timestamp
    def __init__(self, clock: _Optional[str] = ..., started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., due_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., state: _Optional[str] = ..., stopped_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class NotificationRecord(_message.Message):
    __slots__ = ("notification_id", "channel", "recipient", "template", "status", "at", "detail")
    NOTIFICATION_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    notification_id: str
    channel: str
    recipient: str
    template: str
    status: str
    at: _timestamp_pb2.Timestamp
    detail: str
    def __init__(self, notification_id: _Optional[str] = ..., channel: _Optional[str] = ..., recipient: _Optional[str] = ..., template: _Optional[str] = ..., status: _Optional[str] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., detail: _Optional[str] = ...) -> None: ...

class TimelineEntry(_message.Message):
    __slots__ = ("event_id", "type", "at", "source", "summary")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    type: str
    at: _timestamp_pb2.Timestamp
    source: str
    summary: str
    def __init__(self, event_id: _Optional[str] = ..., type: _Optional[str] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., source: _Optional[str] = ..., summary: _Optional[str] = ...) -> None: ...

class CaseFile(_message.Message):
    __slots__ = ("complaint", "status", "team", "owner", "priority", "sla_policy", "sla", "notifications", "timeline", "routing_rule", "routing_explanation", "owner_is_duty_lead")
    COMPLAINT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TEAM_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    SLA_POLICY_FIELD_NUMBER: _ClassVar[int]
    SLA_FIELD_NUMBER: _ClassVar[int]
    NOTIFICATIONS_FIELD_NUMBER: _ClassVar[int]
    TIMELINE_FIELD_NUMBER: _ClassVar[int]
    ROUTING_RULE_FIELD_NUMBER: _ClassVar[int]
    ROUTING_EXPLANATION_FIELD_NUMBER: _ClassVar[int]
    OWNER_IS_DUTY_LEAD_FIELD_NUMBER: _ClassVar[int]
    complaint: _complaint_pb2.Complaint
    status: _complaint_pb2.ComplaintStatus
    team: str
    owner: str
    priority: _complaint_pb2.Priority
    sla_policy: str
    sla: _containers.RepeatedCompositeFieldContainer[SlaDeadline]
    notifications: _containers.RepeatedCompositeFieldContainer[NotificationRecord]
    timeline: _containers.RepeatedCompositeFieldContainer[TimelineEntry]
    routing_rule: str
    routing_explanation: str
    owner_is_duty_lead: bool
    def __init__(self, complaint: _Optional[_Union[_complaint_pb2.Complaint, _Mapping]] = ..., status: _Optional[_Union[_complaint_pb2.ComplaintStatus, str]] = ..., team: _Optional[str] = ..., owner: _Optional[str] = ..., priority: _Optional[_Union[_complaint_pb2.Priority, str]] = ..., sla_policy: _Optional[str] = ..., sla: _Optional[_Iterable[_Union[SlaDeadline, _Mapping]]] = ..., notifications: _Optional[_Iterable[_Union[NotificationRecord, _Mapping]]] = ..., timeline: _Optional[_Iterable[_Union[TimelineEntry, _Mapping]]] = ..., routing_rule: _Optional[str] = ..., routing_explanation: _Optional[str] = ..., owner_is_duty_lead: _Optional[bool] = ...) -> None: ...

class ListCustomerComplaintsRequest(_message.Message):
    __slots__ = ("tenant", "customer_id", "identifiers")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    IDENTIFIERS_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    customer_id: str
    identifiers: _complaint_pb2.CustomerIdentifiers
    def __init__(self, tenant: _Optional[str] = ..., customer_id: _Optional[str] = ..., identifiers: _Optional[_Union[_complaint_pb2.CustomerIdentifiers, _Mapping]] = ...) -> None: ...

class CustomerProfile(_message.Message):
    __slots__ = ("customer_id", "tenant", "emails", "phones", "social", "account_ids", "display_name", "first_seen_at")
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    EMAILS_FIELD_NUMBER: _ClassVar[int]
    PHONES_FIELD_NUMBER: _ClassVar[int]
    SOCIAL_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_IDS_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    FIRST_SEEN_AT_FIELD_NUMBER: _ClassVar[int]
    customer_id: str
    tenant: str
    emails: _containers.RepeatedScalarFieldContainer[str]
    phones: _containers.RepeatedScalarFieldContainer[str]
    social: _containers.RepeatedCompositeFieldContainer[_complaint_pb2.SocialHandle]
    account_ids: _containers.RepeatedScalarFieldContainer[str]
    display_name: str
    first_seen_at: _timestamp_pb2.Timestamp
    def __init__(self, customer_id: _Optional[str] = ..., tenant: _Optional[str] = ..., emails: _Optional[_Iterable[str]] = ..., phones: _Optional[_Iterable[str]] = ..., social: _Optional[_Iterable[_Union[_complaint_pb2.SocialHandle, _Mapping]]] = ..., account_ids: _Optional[_Iterable[str]] = ..., display_name: _Optional[str] = ..., first_seen_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ComplaintSummary(_message.Message):
    __slots__ = ("complaint_id", "reference", "channel", "sector", "subject", "status", "received_at", "owner", "team")
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    SECTOR_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_AT_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    TEAM_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    reference: str
    channel: _complaint_pb2.Channel
    sector: _complaint_pb2.Sector
    subject: str
    status: _complaint_pb2.ComplaintStatus
    received_at: _timestamp_pb2.Timestamp
    owner: str
    team: str
    def __init__(self, complaint_id: _Optional[str] = ..., reference: _Optional[str] = ..., channel: _Optional[_Union[_complaint_pb2.Channel, str]] = ..., sector: _Optional[_Union[_complaint_pb2.Sector, str]] = ..., subject: _Optional[str] = ..., status: _Optional[_Union[_complaint_pb2.ComplaintStatus, str]] = ..., received_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., owner: _Optional[str] = ..., team: _Optional[str] = ...) -> None: ...

class ListCustomerComplaintsResponse(_message.Message):
    __slots__ = ("customer", "complaints")
    CUSTOMER_FIELD_NUMBER: _ClassVar[int]
    COMPLAINTS_FIELD_NUMBER: _ClassVar[int]
    customer: CustomerProfile
    complaints: _containers.RepeatedCompositeFieldContainer[ComplaintSummary]
    def __init__(self, customer: _Optional[_Union[CustomerProfile, _Mapping]] = ..., complaints: _Optional[_Iterable[_Union[ComplaintSummary, _Mapping]]] = ...) -> None: ...
