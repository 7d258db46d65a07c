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

class GetClocksResponse(_message.Message):
    __slots__ = ("complaint_id", "owner", "team", "status", "policy", "clocks", "accept_by")
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    TEAM_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    CLOCKS_FIELD_NUMBER: _ClassVar[int]
    ACCEPT_BY_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    owner: str
    team: str
    status: _complaint_pb2.ComplaintStatus
    policy: str
    clocks: _containers.RepeatedCompositeFieldContainer[_events_pb2.SlaClock]
    accept_by: _timestamp_pb2.Timestamp
    def __init__(self, complaint_id: _Optional[str] = ..., owner: _Optional[str] = ..., team: _Optional[str] = ..., status: _Optional[_Union[_complaint_pb2.ComplaintStatus, str]] = ..., policy: _Optional[str] = ..., clocks: _Optional[_Iterable[_Union[_events_pb2.SlaClock, _Mapping]]] = ..., accept_by: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
