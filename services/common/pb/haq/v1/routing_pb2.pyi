import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from . import complaint_pb2 as _complaint_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ListTeamsRequest(_message.Message):
    __slots__ = ("tenant",)
    TENANT_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    def __init__(self, tenant: _Optional[str] = ...) -> None: ...

class Agent(_message.Message):
    __slots__ = ("id", "name", "team", "skills", "languages", "capacity", "open_assignments", "presence", "is_lead", "email", "chat_handle")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TEAM_FIELD_NUMBER: _ClassVar[int]
    SKILLS_FIELD_NUMBER: _ClassVar[int]
    LANGUAGES_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_FIELD_NUMBER: _ClassVar[int]
    OPEN_ASSIGNMENTS_FIELD_NUMBER: _ClassVar[int]
    PRESENCE_FIELD_NUMBER: _ClassVar[int]
    IS_LEAD_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    CHAT_HANDLE_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    team: str
    skills: _containers.RepeatedScalarFieldContainer[str]
    languages: _containers.RepeatedScalarFieldContainer[str]
    capacity: int
    open_assignments: int
    presence: str
    is_lead: bool
    email: str
    chat_handle: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., team: _Optional[str] = ..., skills: _Optional[_Iterable[str]] = ..., languages: _Optional[_Iterable[str]] = ..., capacity: _Optional[int] = ..., open_assignments: _Optional[int] = ..., presence: _Optional[str] = ..., is_lead: _Optional[bool] = ..., email: _Optional[str] = ..., chat_handle: _Optional[str] = ...) -> None: ...

class Team(_message.Message):
    __slots__ = ("id", "name", "duty_owner", "agents", "queued", "lead", "manager", "director", "time_zone")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DUTY_OWNER_FIELD_NUMBER: _ClassVar[int]
    AGENTS_FIELD_NUMBER: _ClassVar[int]
    QUEUED_FIELD_NUMBER: _ClassVar[int]
    LEAD_FIELD_NUMBER: _ClassVar[int]
    MANAGER_FIELD_NUMBER: _ClassVar[int]
    DIRECTOR_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    duty_owner: str
    agents: _containers.RepeatedCompositeFieldContainer[Agent]
    queued: int
    lead: str
    manager: str
    director: str
    time_zone: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., duty_owner: _Optional[str] = ..., agents: _Optional[_Iterable[_Union[Agent, _Mapping]]] = ..., queued: _Optional[int] = ..., lead: _Optional[str] = ..., manager: _Optional[str] = ..., director: _Optional[str] = ..., time_zone: _Optional[str] = ...) -> None: ...

class ListTeamsResponse(_message.Message):
    __slots__ = ("teams",)
    TEAMS_FIELD_NUMBER: _ClassVar[int]
    teams: _containers.RepeatedCompositeFieldContainer[Team]
    def __init__(self, teams: _Optional[_Iterable[_Union[Team, _Mapping]]] = ...) -> None: ...

class GetDecisionRequest(_message.Message):
    __slots__ = ("complaint_id",)
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    def __init__(self, complaint_id: _Optional[str] = ...) -> None: ...

class RoutingDecision(_message.Message):
    __slots__ = ("complaint_id", "team", "owner", "owner_is_duty_lead", "priority", "sla_policy", "rule_id", "rule_set_version", "explanation", "decided_at")
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    TEAM_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    OWNER_IS_DUTY_LEAD_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    SLA_POLICY_FIELD_NUMBER: _ClassVar[int]
    RULE_ID_FIELD_NUMBER: _ClassVar[int]
    RULE_SET_VERSION_FIELD_NUMBER: _ClassVar[int]
    EXPLANATION_FIELD_NUMBER: _ClassVar[int]
    DECIDED_AT_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    team: str
    owner: str
    owner_is_duty_lead: bool
    priority: _complaint_pb2.Priority
    sla_policy: str
    rule_id: str
    rule_set_version: str
    explanation: str
    decided_at: _timestamp_pb2.Timestamp
    def __init__(self, complaint_id: _Optional[str] = ..., team: _Optional[str] = ..., owner: _Optional[str] = ..., owner_is_duty_lead: _Optional[bool] = ..., priority: _Optional[_Union[_complaint_pb2.Priority, str]] = ..., sla_policy: _Optional[str] = ..., rule_id: _Optional[str] = ..., rule_set_version: _Optional[str] = ..., explanation: _Optional[str] = ..., decided_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
