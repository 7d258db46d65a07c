import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Channel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CHANNEL_UNSPECIFIED: _ClassVar[Channel]
    CHANNEL_WEB: _ClassVar[Channel]
    CHANNEL_EMAIL: _ClassVar[Channel]
    CHANNEL_CHAT: _ClassVar[Channel]
    CHANNEL_SOCIAL: _ClassVar[Channel]
    CHANNEL_PHONE: _ClassVar[Channel]
    CHANNEL_PARTNER: _ClassVar[Channel]

class Sector(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SECTOR_UNSPECIFIED: _ClassVar[Sector]
    SECTOR_GENERAL: _ClassVar[Sector]
    SECTOR_HEALTHCARE: _ClassVar[Sector]
    SECTOR_EDUCATION: _ClassVar[Sector]
    SECTOR_B2B: _ClassVar[Sector]

class ComplainantRole(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    COMPLAINANT_ROLE_UNSPECIFIED: _ClassVar[ComplainantRole]
    COMPLAINANT_ROLE_CONSUMER: _ClassVar[ComplainantRole]
    COMPLAINANT_ROLE_PATIENT: _ClassVar[ComplainantRole]
    COMPLAINANT_ROLE_RELATIVE: _ClassVar[ComplainantRole]
    COMPLAINANT_ROLE_PARENT: _ClassVar[ComplainantRole]
    COMPLAINANT_ROLE_STUDENT: _ClassVar[ComplainantRole]
    COMPLAINANT_ROLE_STAFF: _ClassVar[ComplainantRole]
    COMPLAINANT_ROLE_BUSINESS_CONTACT: _ClassVar[ComplainantRole]

class Priority(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PRIORITY_UNSPECIFIED: _ClassVar[Priority]
    PRIORITY_CRITICAL: _ClassVar[Priority]
    PRIORITY_HIGH: _ClassVar[Priority]
    PRIORITY_NORMAL: _ClassVar[Priority]
    PRIORITY_LOW: _ClassVar[Priority]

class ComplaintStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    COMPLAINT_STATUS_UNSPECIFIED: _ClassVar[ComplaintStatus]
    COMPLAINT_STATUS_RECEIVED: _ClassVar[ComplaintStatus]
    COMPLAINT_STATUS_ROUTED: _ClassVar[ComplaintStatus]
    COMPLAINT_STATUS_OFFERED: _ClassVar[ComplaintStatus]
    COMPLAINT_STATUS_OWNED: _ClassVar[ComplaintStatus]
    COMPLAINT_STATUS_IN_PROGRESS: _ClassVar[ComplaintStatus]
    COMPLAINT_STATUS_WAITING_ON_CUSTOMER: _ClassVar[ComplaintStatus]
    COMPLAINT_STATUS_RESOLVED: _ClassVar[ComplaintStatus]
    COMPLAINT_STATUS_CLOSED: _ClassVar[ComplaintStatus]
CHANNEL_UNSPECIFIED: Channel
CHANNEL_WEB: Channel
CHANNEL_EMAIL: Channel
CHANNEL_CHAT: Channel
CHANNEL_SOCIAL: Channel
CHANNEL_PHONE: Channel
CHANNEL_PARTNER: Channel
SECTOR_UNSPECIFIED: Sector
SECTOR_GENERAL: Sector
SECTOR_HEALTHCARE: Sector
SECTOR_EDUCATION: Sector
SECTOR_B2B: Sector
COMPLAINANT_ROLE_UNSPECIFIED: ComplainantRole
COMPLAINANT_ROLE_CONSUMER: ComplainantRole
COMPLAINANT_ROLE_PATIENT: ComplainantRole
COMPLAINANT_ROLE_RELATIVE: ComplainantRole
COMPLAINANT_ROLE_PARENT: ComplainantRole
COMPLAINANT_ROLE_STUDENT: ComplainantRole
COMPLAINANT_ROLE_STAFF: ComplainantRole
COMPLAINANT_ROLE_BUSINESS_CONTACT: ComplainantRole
PRIORITY_UNSPECIFIED: Priority
PRIORITY_CRITICAL: Priority
PRIORITY_HIGH: Priority
PRIORITY_NORMAL: Priority
PRIORITY_LOW: Priority
COMPLAINT_STATUS_UNSPECIFIED: ComplaintStatus
COMPLAINT_STATUS_RECEIVED: ComplaintStatus
COMPLAINT_STATUS_ROUTED: ComplaintStatus
COMPLAINT_STATUS_OFFERED: ComplaintStatus
COMPLAINT_STATUS_OWNED: ComplaintStatus
COMPLAINT_STATUS_IN_PROGRESS: ComplaintStatus
COMPLAINT_STATUS_WAITING_ON_CUSTOMER: ComplaintStatus
COMPLAINT_STATUS_RESOLVED: ComplaintStatus
COMPLAINT_STATUS_CLOSED: ComplaintStatus

class SocialHandle(_message.Message):
    __slots__ = ("network", "handle")
    NETWORK_FIELD_NUMBER: _ClassVar[int]
    HANDLE_FIELD_NUMBER: _ClassVar[int]
    network: str
    handle: str
    def __init__(self, network: _Optional[str] = ..., handle: _Optional[str] = ...) -> None: ...

class CustomerIdentifiers(_message.Message):
    __slots__ = ("email", "phone", "social", "account_id", "display_name")
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    SOCIAL_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    email: str
    phone: str
    social: _containers.RepeatedCompositeFieldContainer[SocialHandle]
    account_id: str
    display_name: str
    def __init__(self, email: _Optional[str] = ..., phone: _Optional[str] = ..., social: _Optional[_Iterable[_Union[SocialHandle, _Mapping]]] = ..., account_id: _Optional[str] = ..., display_name: _Optional[str] = ...) -> None: ...

class ComplaintDraft(_message.Message):
    __slots__ = ("tenant", "channel", "sector", "complainant_role", "customer", "subject", "body", "language", "product", "purchase_date", "category", "metadata", "idempotency_key")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    TENANT_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    SECTOR_FIELD_NUMBER: _ClassVar[int]
    COMPLAINANT_ROLE_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    PURCHASE_DATE_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    channel: Channel
    sector: Sector
    complainant_role: ComplainantRole
    customer: CustomerIdentifiers
    subject: str
    body: str
    language: str
    product: str
    purchase_date: str
    category: str
    metadata: _containers.ScalarMap[str, str]
    idempotency_key: str
    def __init__(self, tenant: _Optional[str] = ..., channel: _Optional[_Union[Channel, str]] = ..., sector: _Optional[_Union[Sector, str]] = ..., complainant_role: _Optional[_Union[ComplainantRole, str]] = ..., customer: _Optional[_Union[CustomerIdentifiers, _Mapping]] = ..., subject: _Optional[str] = ..., body: _Optional[str] = ..., language: _Optional[str] = ..., product: _Optional[str] = ..., purchase_date: _Optional[str] = ..., category: _Optional[str] = ..., metadata: _Optional[_Mapping[str, str]] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class Complaint(_message.Message):
    __slots__ = ("id", "reference", "tenant", "channel", "sector", "complainant_role", "customer_id", "customer", "subject", "body", "language", "product", "purchase_date", "category", "metadata", "received_at", "idempotency_key")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    SECTOR_FIELD_NUMBER: _ClassVar[int]
    COMPLAINANT_ROLE_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    PURCHASE_DATE_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_AT_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    id: str
    reference: str
    tenant: str
    channel: Channel
    sector: Sector
    complainant_role: ComplainantRole
    customer_id: str
    customer: CustomerIdentifiers
    subject: str
    body: str
    language: str
    product: str
    purchase_date: str
    category: str
    metadata: _containers.ScalarMap[str, str]
    received_at: _timestamp_pb2.Timestamp
    idempotency_key: str
    def __init__(self, id: _Optional[str] = ..., reference: _Optional[str] = ..., tenant: _Optional[str] = ..., channel: _Optional[_Union[Channel, str]] = ..., sector: _Optional[_Union[Sector, str]] = ..., complainant_role: _Optional[_Union[ComplainantRole, str]] = ..., customer_id: _Optional[str] = ..., customer: _Optional[_Union[CustomerIdentifiers, _Mapping]] = ..., subject: _Optional[str] = ..., body: _Optional[str] = ..., language: _Optional[str] = ..., product: _Optional[str] = ..., purchase_date: _Optional[str] = ..., category: _Optional[str] = ..., metadata: _Optional[_Mapping[str, str]] = ..., received_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class CustomerHistory(_message.Message):
    __slots__ = ("previous_complaints", "open_complaints", "first_seen_at", "previous_complaint_ids", "previous_owners")
    PREVIOUS_COMPLAINTS_FIELD_NUMBER: _ClassVar[int]
    OPEN_COMPLAINTS_FIELD_NUMBER: _ClassVar[int]
    FIRST_SEEN_AT_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_COMPLAINT_IDS_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_OWNERS_FIELD_NUMBER: _ClassVar[int]
    previous_complaints: int
    open_complaints: int
    first_seen_at: _timestamp_pb2.Timestamp
    previous_complaint_ids: _containers.RepeatedScalarFieldContainer[str]
    previous_owners: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, previous_complaints: _Optional[int] = ..., open_complaints: _Optional[int] = ..., first_seen_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., previous_complaint_ids: _Optional[_Iterable[str]] = ..., previous_owners: _Optional[_Iterable[str]] = ...) -> None: ...
