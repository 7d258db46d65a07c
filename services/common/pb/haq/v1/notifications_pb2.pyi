import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PreviewTemplateRequest(_message.Message):
    __slots__ = ("complaint_id", "template", "language")
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    template: str
    language: str
    def __init__(self, complaint_id: _Optional[str] = ..., template: _Optional[str] = ..., language: _Optional[str] = ...) -> None: ...

class PreviewTemplateResponse(_message.Message):
    __slots__ = ("template", "language", "direction", "subject", "text", "html", "findings")
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    HTML_FIELD_NUMBER: _ClassVar[int]
    FINDINGS_FIELD_NUMBER: _ClassVar[int]
    template: str
    language: str
    direction: str
    subject: str
    text: str
    html: str
    findings: _containers.RepeatedCompositeFieldContainer[GuardFinding]
    def __init__(self, template: _Optional[str] = ..., language: _Optional[str] = ..., direction: _Optional[str] = ..., subject: _Optional[str] = ..., text: _Optional[str] = ..., html: _Optional[str] = ..., findings: _Optional[_Iterable[_Union[GuardFinding, _Mapping]]] = ...) -> None: ...

class RetryDeliveryRequest(_message.Message):
    __slots__ = ("notification_id",)
    NOTIFICATION_ID_FIELD_NUMBER: _ClassVar[int]
    notification_id: str
    def __init__(self, notification_id: _Optional[str] = ...) -> None: ...

class RetryDeliveryResponse(_message.Message):
    __slots__ = ("delivery",)
    DELIVERY_FIELD_NUMBER: _ClassVar[int]
    delivery: Delivery
    def __init__(self, delivery: _Optional[_Union[Delivery, _Mapping]] = ...) -> None: ...

class CheckResponseRequest(_message.Message):
    __slots__ = ("tenant", "language", "body")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    language: str
    body: str
    def __init__(self, tenant: _Optional[str] = ..., language: _Optional[str] = ..., body: _Optional[str] = ...) -> None: ...

class GuardFinding(_message.Message):
    __slots__ = ("phrase", "rule", "suggestion")
    PHRASE_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    SUGGESTION_FIELD_NUMBER: _ClassVar[int]
    phrase: str
    rule: str
    suggestion: str
    def __init__(self, phrase: _Optional[str] = ..., rule: _Optional[str] = ..., suggestion: _Optional[str] = ...) -> None: ...

class CheckResponseResponse(_message.Message):
    __slots__ = ("allowed", "mode", "findings")
    ALLOWED_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    FINDINGS_FIELD_NUMBER: _ClassVar[int]
    allowed: bool
    mode: str
    findings: _containers.RepeatedCompositeFieldContainer[GuardFinding]
    def __init__(self, allowed: _Optional[bool] = ..., mode: _Optional[str] = ..., findings: _Optional[_Iterable[_Union[GuardFinding, _Mapping]]] = ...) -> None: ...

class ListDeliveriesRequest(_message.Message):
    __slots__ = ("complaint_id", "status")
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    status: str
    def __init__(self, complaint_id: _Optional[str] = ..., status: _Optional[str] = ...) -> None: ...

class Delivery(_message.Message):
    __slots__ = ("notification_id", "complaint_id", "channel", "recipient", "template", "language", "status", "attempts", "last_error", "updated_at", "trigger_event_id", "audience", "recipient_id", "next_attempt_at", "manual_retries", "dead_lettered")
    NOTIFICATION_ID_FIELD_NUMBER: _ClassVar[int]
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    AUDIENCE_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_ID_FIELD_NUMBER: _ClassVar[int]
    NEXT_ATTEMPT_AT_FIELD_NUMBER: _ClassVar[int]
    MANUAL_RETRIES_FIELD_NUMBER: _ClassVar[int]
    DEAD_LETTERED_FIELD_NUMBER: _ClassVar[int]
    notification_id: str
    complaint_id: str
    channel: str
    recipient: str
    template: str
    language: str
    status: str
    attempts: int
    last_error: str
    updated_at: _timestamp_pb2.Timestamp
    trigger_event_id: str
    audience: str
    recipient_id: str
    next_attempt_at: _timestamp_pb2.Timestamp
    manual_retries: int
    dead_lettered: bool
    def __init__(self, notification_id: _Optional[str] = ..., complaint_id: _Optional[str] = ..., channel: _Optional[str] = ..., recipient: _Optional[str] = ..., template: _Optional[str] = ..., language: _Optional[str] = ..., status: _Optional[str] = ..., attempts: _Optional[int] = ..., last_error: _Optional[str] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., trigger_event_id: _Optional[str] = ..., audience: _Optional[str] = ..., recipient_id: _Optional[str] = ..., next_attempt_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., manual_retries: _Optional[int] = ..., dead_lettered: _Optional[bool] = ...) -> None: ...

class ListDeliveriesResponse(_message.Message):
    __slots__ = ("deliveries",)
    DELIVERIES_FIELD_NUMBER: _ClassVar[int]
    deliveries: _containers.RepeatedCompositeFieldContainer[Delivery]
    def __init__(self, deliveries: _Optional[_Iterable[_Union[Delivery, _Mapping]]] = ...) -> None: ...
