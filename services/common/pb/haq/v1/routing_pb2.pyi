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
    __slots__ = ("id", "name", "team", "skills", "languages", "capacity", "open_assignments", "presence", "is_lead", "email", "chat_handle", "working_hours")
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
    WORKING_HOURS_FIELD_NUMBER: _ClassVar[int]
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
    working_hours: _containers.RepeatedCompositeFieldContainer[WorkingHours]
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., team: _Optional[str] = ..., skills: _Optional[_Iterable[str]] = ..., languages: _Optional[_Iterable[str]] = ..., capacity: _Optional[int] = ..., open_assignments: _Optional[int] = ..., presence: _Optional[str] = ..., is_lead: _Optional[bool] = ..., email: _Optional[str] = ..., chat_handle: _Optional[str] = ..., working_hours: _Optional[_Iterable[_Union[WorkingHours, _Mapping]]] = ...) -> None: ...

class WorkingHours(_message.Message):
    __slots__ = ("days", "start", "end")
    DAYS_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    days: _containers.RepeatedScalarFieldContainer[str]
    start: str
    end: str
    def __init__(self, days: _Optional[_Iterable[str]] = ..., start: _Optional[str] = ..., end: _Optional[str] = ...) -> None: ...

class Team(_message.Message):
    __slots__ = ("id", "name", "duty_owner", "agents", "queued", "lead", "manager", "director", "time_zone", "strategy")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DUTY_OWNER_FIELD_NUMBER: _ClassVar[int]
    AGENTS_FIELD_NUMBER: _ClassVar[int]
    QUEUED_FIELD_NUMBER: _ClassVar[int]
    LEAD_FIELD_NUMBER: _ClassVar[int]
    MANAGER_FIELD_NUMBER: _ClassVar[int]
    DIRECTOR_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    duty_owner: str
    agents: _containers.RepeatedCompositeFieldContainer[Agent]
    queued: int
    lead: str
    manager: str
    director: str
    time_zone: str
    strategy: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., duty_owner: _Optional[str] = ..., agents: _Optional[_Iterable[_Union[Agent, _Mapping]]] = ..., queued: _Optional[int] = ..., lead: _Optional[str] = ..., manager: _Optional[str] = ..., director: _Optional[str] = ..., time_zone: _Optional[str] = ..., strategy: _Optional[str] = ...) -> None: ...

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
    __slots__ = ("complaint_id", "team", "owner", "owner_is_duty_lead", "priority", "sla_policy", "rule_id", "rule_set_version", "explanation", "decided_at", "tenant", "rule_set_staged", "rule_set_tenant")
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
    TENANT_FIELD_NUMBER: _ClassVar[int]
    RULE_SET_STAGED_FIELD_NUMBER: _ClassVar[int]
    RULE_SET_TENANT_FIELD_NUMBER: _ClassVar[int]
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
    tenant: str
    rule_set_staged: bool
    rule_set_tenant: str
    def __init__(self, complaint_id: _Optional[str] = ..., team: _Optional[str] = ..., owner: _Optional[str] = ..., owner_is_duty_lead: _Optional[bool] = ..., priority: _Optional[_Union[_complaint_pb2.Priority, str]] = ..., sla_policy: _Optional[str] = ..., rule_id: _Optional[str] = ..., rule_set_version: _Optional[str] = ..., explanation: _Optional[str] = ..., decided_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., tenant: _Optional[str] = ..., rule_set_staged: _Optional[bool] = ..., rule_set_tenant: _Optional[str] = ...) -> None: ...

class RuleSetSource(_message.Message):
    __slots__ = ("source", "file_name", "tenant")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    FILE_NAME_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    source: str
    file_name: str
    tenant: str
    def __init__(self, source: _Optional[str] = ..., file_name: _Optional[str] = ..., tenant: _Optional[str] = ...) -> None: ...

class ValidationError(_message.Message):
    __slots__ = ("file", "line", "field", "problem")
    FILE_FIELD_NUMBER: _ClassVar[int]
    LINE_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    PROBLEM_FIELD_NUMBER: _ClassVar[int]
    file: str
    line: int
    field: str
    problem: str
    def __init__(self, file: _Optional[str] = ..., line: _Optional[int] = ..., field: _Optional[str] = ..., problem: _Optional[str] = ...) -> None: ...

class ValidateRuleSetResponse(_message.Message):
    __slots__ = ("valid", "version", "rules", "errors")
    VALID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    RULES_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    valid: bool
    version: str
    rules: int
    errors: _containers.RepeatedCompositeFieldContainer[ValidationError]
    def __init__(self, valid: _Optional[bool] = ..., version: _Optional[str] = ..., rules: _Optional[int] = ..., errors: _Optional[_Iterable[_Union[ValidationError, _Mapping]]] = ...) -> None: ...

class ApplyRuleSetRequest(_message.Message):
    __slots__ = ("source", "file_name", "author", "comment", "tenant", "staging", "confirm_safety_changes", "simulate_last")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    FILE_NAME_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    STAGING_FIELD_NUMBER: _ClassVar[int]
    CONFIRM_SAFETY_CHANGES_FIELD_NUMBER: _ClassVar[int]
    SIMULATE_LAST_FIELD_NUMBER: _ClassVar[int]
    source: str
    file_name: str
    author: str
    comment: str
    tenant: str
    staging: Staging
    confirm_safety_changes: bool
    simulate_last: int
    def __init__(self, source: _Optional[str] = ..., file_name: _Optional[str] = ..., author: _Optional[str] = ..., comment: _Optional[str] = ..., tenant: _Optional[str] = ..., staging: _Optional[_Union[Staging, _Mapping]] = ..., confirm_safety_changes: _Optional[bool] = ..., simulate_last: _Optional[int] = ...) -> None: ...

class Staging(_message.Message):
    __slots__ = ("percent", "channels")
    PERCENT_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    percent: int
    channels: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, percent: _Optional[int] = ..., channels: _Optional[_Iterable[str]] = ...) -> None: ...

class PromoteRuleSetRequest(_message.Message):
    __slots__ = ("tenant", "comment")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    comment: str
    def __init__(self, tenant: _Optional[str] = ..., comment: _Optional[str] = ...) -> None: ...

class CancelStagedRuleSetRequest(_message.Message):
    __slots__ = ("tenant", "comment")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    comment: str
    def __init__(self, tenant: _Optional[str] = ..., comment: _Optional[str] = ...) -> None: ...

class RuleSetVersion(_message.Message):
    __slots__ = ("version", "author", "comment", "created_at", "active", "checksum", "rules", "source", "seq", "activated_at", "tenant", "built_in", "staged", "staging")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    CHECKSUM_FIELD_NUMBER: _ClassVar[int]
    RULES_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    ACTIVATED_AT_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    BUILT_IN_FIELD_NUMBER: _ClassVar[int]
    STAGED_FIELD_NUMBER: _ClassVar[int]
    STAGING_FIELD_NUMBER: _ClassVar[int]
    version: str
    author: str
    comment: str
    created_at: _timestamp_pb2.Timestamp
    active: bool
    checksum: str
    rules: int
    source: str
    seq: int
    activated_at: _timestamp_pb2.Timestamp
    tenant: str
    built_in: bool
    staged: bool
    staging: Staging
    def __init__(self, version: _Optional[str] = ..., author: _Optional[str] = ..., comment: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., active: _Optional[bool] = ..., checksum: _Optional[str] = ..., rules: _Optional[int] = ..., source: _Optional[str] = ..., seq: _Optional[int] = ..., activated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., tenant: _Optional[str] = ..., built_in: _Optional[bool] = ..., staged: _Optional[bool] = ..., staging: _Optional[_Union[Staging, _Mapping]] = ...) -> None: ...

class ListRuleSetVersionsRequest(_message.Message):
    __slots__ = ("tenant",)
    TENANT_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    def __init__(self, tenant: _Optional[str] = ...) -> None: ...

class ListRuleSetVersionsResponse(_message.Message):
    __slots__ = ("versions", "active", "inherited", "staged", "staging")
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    INHERITED_FIELD_NUMBER: _ClassVar[int]
    STAGED_FIELD_NUMBER: _ClassVar[int]
    STAGING_FIELD_NUMBER: _ClassVar[int]
    versions: _containers.RepeatedCompositeFieldContainer[RuleSetVersion]
    active: str
    inherited: bool
    staged: str
    staging: Staging
    def __init__(self, versions: _Optional[_Iterable[_Union[RuleSetVersion, _Mapping]]] = ..., active: _Optional[str] = ..., inherited: _Optional[bool] = ..., staged: _Optional[str] = ..., staging: _Optional[_Union[Staging, _Mapping]] = ...) -> None: ...

class GetRuleSetRequest(_message.Message):
    __slots__ = ("version", "tenant")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    version: str
    tenant: str
    def __init__(self, version: _Optional[str] = ..., tenant: _Optional[str] = ...) -> None: ...

class DiffRuleSetsRequest(_message.Message):
    __slots__ = ("from_version", "to_version", "to_source", "to_file_name", "tenant")
    FROM_VERSION_FIELD_NUMBER: _ClassVar[int]
    TO_VERSION_FIELD_NUMBER: _ClassVar[int]
    TO_SOURCE_FIELD_NUMBER: _ClassVar[int]
    TO_FILE_NAME_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    from_version: str
    to_version: str
    to_source: str
    to_file_name: str
    tenant: str
    def __init__(self, from_version: _Optional[str] = ..., to_version: _Optional[str] = ..., to_source: _Optional[str] = ..., to_file_name: _Optional[str] = ..., tenant: _Optional[str] = ...) -> None: ...

class RuleChange(_message.Message):
    __slots__ = ("rule_id", "change", "details")
    RULE_ID_FIELD_NUMBER: _ClassVar[int]
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    rule_id: str
    change: str
    details: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, rule_id: _Optional[str] = ..., change: _Optional[str] = ..., details: _Optional[_Iterable[str]] = ...) -> None: ...

class DiffRuleSetsResponse(_message.Message):
    __slots__ = ("from_version", "to_version", "changes", "unified_diff")
    FROM_VERSION_FIELD_NUMBER: _ClassVar[int]
    TO_VERSION_FIELD_NUMBER: _ClassVar[int]
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    UNIFIED_DIFF_FIELD_NUMBER: _ClassVar[int]
    from_version: str
    to_version: str
    changes: _containers.RepeatedCompositeFieldContainer[RuleChange]
    unified_diff: str
    def __init__(self, from_version: _Optional[str] = ..., to_version: _Optional[str] = ..., changes: _Optional[_Iterable[_Union[RuleChange, _Mapping]]] = ..., unified_diff: _Optional[str] = ...) -> None: ...

class RollbackRuleSetRequest(_message.Message):
    __slots__ = ("to_version", "author", "comment", "tenant")
    TO_VERSION_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    to_version: str
    author: str
    comment: str
    tenant: str
    def __init__(self, to_version: _Optional[str] = ..., author: _Optional[str] = ..., comment: _Optional[str] = ..., tenant: _Optional[str] = ...) -> None: ...

class ExplainComplaintRequest(_message.Message):
    __slots__ = ("complaint", "version", "source", "file_name")
    COMPLAINT_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    FILE_NAME_FIELD_NUMBER: _ClassVar[int]
    complaint: str
    version: str
    source: str
    file_name: str
    def __init__(self, complaint: _Optional[str] = ..., version: _Optional[str] = ..., source: _Optional[str] = ..., file_name: _Optional[str] = ...) -> None: ...

class RuleTrace(_message.Message):
    __slots__ = ("rule_id", "kind", "matched", "reason")
    RULE_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    MATCHED_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    rule_id: str
    kind: str
    matched: bool
    reason: str
    def __init__(self, rule_id: _Optional[str] = ..., kind: _Optional[str] = ..., matched: _Optional[bool] = ..., reason: _Optional[str] = ...) -> None: ...

class SignalScore(_message.Message):
    __slots__ = ("signal", "score", "top_terms", "source")
    SIGNAL_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    TOP_TERMS_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    signal: str
    score: float
    top_terms: _containers.RepeatedScalarFieldContainer[str]
    source: str
    def __init__(self, signal: _Optional[str] = ..., score: _Optional[float] = ..., top_terms: _Optional[_Iterable[str]] = ..., source: _Optional[str] = ...) -> None: ...

class Explanation(_message.Message):
    __slots__ = ("complaint_id", "reference", "rule_set_version", "considered", "flags", "rule_id", "team", "priority", "sla_policy", "tags", "required_skills", "keep_informed", "owner", "owner_is_duty_lead", "explanation", "routed", "current_owner", "queued", "signals", "triage_model")
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    RULE_SET_VERSION_FIELD_NUMBER: _ClassVar[int]
    CONSIDERED_FIELD_NUMBER: _ClassVar[int]
    FLAGS_FIELD_NUMBER: _ClassVar[int]
    RULE_ID_FIELD_NUMBER: _ClassVar[int]
    TEAM_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    SLA_POLICY_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_SKILLS_FIELD_NUMBER: _ClassVar[int]
    KEEP_INFORMED_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    OWNER_IS_DUTY_LEAD_FIELD_NUMBER: _ClassVar[int]
    EXPLANATION_FIELD_NUMBER: _ClassVar[int]
    ROUTED_FIELD_NUMBER: _ClassVar[int]
    CURRENT_OWNER_FIELD_NUMBER: _ClassVar[int]
    QUEUED_FIELD_NUMBER: _ClassVar[int]
    SIGNALS_FIELD_NUMBER: _ClassVar[int]
    TRIAGE_MODEL_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    reference: str
    rule_set_version: str
    considered: _containers.RepeatedCompositeFieldContainer[RuleTrace]
    flags: _containers.RepeatedCompositeFieldContainer[RuleTrace]
    rule_id: str
    team: str
    priority: _complaint_pb2.Priority
    sla_policy: str
    tags: _containers.RepeatedScalarFieldContainer[str]
    required_skills: _containers.RepeatedScalarFieldContainer[str]
    keep_informed: _containers.RepeatedScalarFieldContainer[str]
    owner: str
    owner_is_duty_lead: bool
    explanation: str
    routed: RoutingDecision
    current_owner: str
    queued: bool
    signals: _containers.RepeatedCompositeFieldContainer[SignalScore]
    triage_model: str
    def __init__(self, complaint_id: _Optional[str] = ..., reference: _Optional[str] = ..., rule_set_version: _Optional[str] = ..., considered: _Optional[_Iterable[_Union[RuleTrace, _Mapping]]] = ..., flags: _Optional[_Iterable[_Union[RuleTrace, _Mapping]]] = ..., rule_id: _Optional[str] = ..., team: _Optional[str] = ..., priority: _Optional[_Union[_complaint_pb2.Priority, str]] = ..., sla_policy: _Optional[str] = ..., tags: _Optional[_Iterable[str]] = ..., required_skills: _Optional[_Iterable[str]] = ..., keep_informed: _Optional[_Iterable[str]] = ..., owner: _Optional[str] = ..., owner_is_duty_lead: _Optional[bool] = ..., explanation: _Optional[str] = ..., routed: _Optional[_Union[RoutingDecision, _Mapping]] = ..., current_owner: _Optional[str] = ..., queued: _Optional[bool] = ..., signals: _Optional[_Iterable[_Union[SignalScore, _Mapping]]] = ..., triage_model: _Optional[str] = ...) -> None: ...

class SimulateRuleSetRequest(_message.Message):
    __slots__ = ("source", "file_name", "last", "tenant")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    FILE_NAME_FIELD_NUMBER: _ClassVar[int]
    LAST_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    source: str
    file_name: str
    last: int
    tenant: str
    def __init__(self, source: _Optional[str] = ..., file_name: _Optional[str] = ..., last: _Optional[int] = ..., tenant: _Optional[str] = ...) -> None: ...

class SimulatedChange(_message.Message):
    __slots__ = ("complaint_id", "reference", "from_rule", "to_rule", "from_team", "to_team", "from_priority", "to_priority", "from_sla_policy", "to_sla_policy", "leaves_safety_override", "enters_safety_override")
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    FROM_RULE_FIELD_NUMBER: _ClassVar[int]
    TO_RULE_FIELD_NUMBER: _ClassVar[int]
    FROM_TEAM_FIELD_NUMBER: _ClassVar[int]
    TO_TEAM_FIELD_NUMBER: _ClassVar[int]
    FROM_PRIORITY_FIELD_NUMBER: _ClassVar[int]
    TO_PRIORITY_FIELD_NUMBER: _ClassVar[int]
    FROM_SLA_POLICY_FIELD_NUMBER: _ClassVar[int]
    TO_SLA_POLICY_FIELD_NUMBER: _ClassVar[int]
    LEAVES_SAFETY_OVERRIDE_FIELD_NUMBER: _ClassVar[int]
    ENTERS_SAFETY_OVERRIDE_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    reference: str
    from_rule: str
    to_rule: str
    from_team: str
    to_team: str
    from_priority: _complaint_pb2.Priority
    to_priority: _complaint_pb2.Priority
    from_sla_policy: str
    to_sla_policy: str
    leaves_safety_override: bool
    enters_safety_override: bool
    def __init__(self, complaint_id: _Optional[str] = ..., reference: _Optional[str] = ..., from_rule: _Optional[str] = ..., to_rule: _Optional[str] = ..., from_team: _Optional[str] = ..., to_team: _Optional[str] = ..., from_priority: _Optional[_Union[_complaint_pb2.Priority, str]] = ..., to_priority: _Optional[_Union[_complaint_pb2.Priority, str]] = ..., from_sla_policy: _Optional[str] = ..., to_sla_policy: _Optional[str] = ..., leaves_safety_override: _Optional[bool] = ..., enters_safety_override: _Optional[bool] = ...) -> None: ...

class SimulationReport(_message.Message):
    __slots__ = ("baseline_version", "candidate_version", "complaints", "changed", "changes", "team_moves", "candidate_rule_hits", "team_changed", "priority_changed", "sla_changed", "safety_changed", "tenant")
    class TeamMovesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    class CandidateRuleHitsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    BASELINE_VERSION_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_VERSION_FIELD_NUMBER: _ClassVar[int]
    COMPLAINTS_FIELD_NUMBER: _ClassVar[int]
    CHANGED_FIELD_NUMBER: _ClassVar[int]
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    TEAM_MOVES_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_RULE_HITS_FIELD_NUMBER: _ClassVar[int]
    TEAM_CHANGED_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_CHANGED_FIELD_NUMBER: _ClassVar[int]
    SLA_CHANGED_FIELD_NUMBER: _ClassVar[int]
    SAFETY_CHANGED_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    baseline_version: str
    candidate_version: str
    complaints: int
    changed: int
    changes: _containers.RepeatedCompositeFieldContainer[SimulatedChange]
    team_moves: _containers.ScalarMap[str, int]
    candidate_rule_hits: _containers.ScalarMap[str, int]
    team_changed: int
    priority_changed: int
    sla_changed: int
    safety_changed: int
    tenant: str
    def __init__(self, baseline_version: _Optional[str] = ..., candidate_version: _Optional[str] = ..., complaints: _Optional[int] = ..., changed: _Optional[int] = ..., changes: _Optional[_Iterable[_Union[SimulatedChange, _Mapping]]] = ..., team_moves: _Optional[_Mapping[str, int]] = ..., candidate_rule_hits: _Optional[_Mapping[str, int]] = ..., team_changed: _Optional[int] = ..., priority_changed: _Optional[int] = ..., sla_changed: _Optional[int] = ..., safety_changed: _Optional[int] = ..., tenant: _Optional[str] = ...) -> None: ...

class ListAuditRequest(_message.Message):
    __slots__ = ("limit", "action", "tenant", "since")
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    limit: int
    action: str
    tenant: str
    since: _timestamp_pb2.Timestamp
    def __init__(self, limit: _Optional[int] = ..., action: _Optional[str] = ..., tenant: _Optional[str] = ..., since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class AuditEntry(_message.Message):
    __slots__ = ("id", "at", "actor", "action", "target", "detail", "comment", "tenant")
    ID_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    id: int
    at: _timestamp_pb2.Timestamp
    actor: str
    action: str
    target: str
    detail: str
    comment: str
    tenant: str
    def __init__(self, id: _Optional[int] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., actor: _Optional[str] = ..., action: _Optional[str] = ..., target: _Optional[str] = ..., detail: _Optional[str] = ..., comment: _Optional[str] = ..., tenant: _Optional[str] = ...) -> None: ...

class ListAuditResponse(_message.Message):
    __slots__ = ("entries",)
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[AuditEntry]
    def __init__(self, entries: _Optional[_Iterable[_Union[AuditEntry, _Mapping]]] = ...) -> None: ...

class SetPresenceRequest(_message.Message):
    __slots__ = ("agent", "presence", "actor", "tenant")
    AGENT_FIELD_NUMBER: _ClassVar[int]
    PRESENCE_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    agent: str
    presence: str
    actor: str
    tenant: str
    def __init__(self, agent: _Optional[str] = ..., presence: _Optional[str] = ..., actor: _Optional[str] = ..., tenant: _Optional[str] = ...) -> None: ...

class SetCapacityRequest(_message.Message):
    __slots__ = ("agent", "capacity", "actor", "tenant")
    AGENT_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    agent: str
    capacity: int
    actor: str
    tenant: str
    def __init__(self, agent: _Optional[str] = ..., capacity: _Optional[int] = ..., actor: _Optional[str] = ..., tenant: _Optional[str] = ...) -> None: ...

class UpsertAgentRequest(_message.Message):
    __slots__ = ("agent", "actor", "tenant")
    AGENT_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    agent: Agent
    actor: str
    tenant: str
    def __init__(self, agent: _Optional[_Union[Agent, _Mapping]] = ..., actor: _Optional[str] = ..., tenant: _Optional[str] = ...) -> None: ...

class AgentUpdate(_message.Message):
    __slots__ = ("agent", "assigned")
    AGENT_FIELD_NUMBER: _ClassVar[int]
    ASSIGNED_FIELD_NUMBER: _ClassVar[int]
    agent: Agent
    assigned: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, agent: _Optional[_Union[Agent, _Mapping]] = ..., assigned: _Optional[_Iterable[str]] = ...) -> None: ...

class UpsertTeamRequest(_message.Message):
    __slots__ = ("team", "tenant")
    TEAM_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    team: Team
    tenant: str
    def __init__(self, team: _Optional[_Union[Team, _Mapping]] = ..., tenant: _Optional[str] = ...) -> None: ...

class TeamUpdate(_message.Message):
    __slots__ = ("team",)
    TEAM_FIELD_NUMBER: _ClassVar[int]
    team: Team
    def __init__(self, team: _Optional[_Union[Team, _Mapping]] = ...) -> None: ...

class Account(_message.Message):
    __slots__ = ("id", "tier", "sla_policy", "response_hours", "account_manager", "name")
    ID_FIELD_NUMBER: _ClassVar[int]
    TIER_FIELD_NUMBER: _ClassVar[int]
    SLA_POLICY_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_HOURS_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_MANAGER_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    id: str
    tier: str
    sla_policy: str
    response_hours: int
    account_manager: str
    name: str
    def __init__(self, id: _Optional[str] = ..., tier: _Optional[str] = ..., sla_policy: _Optional[str] = ..., response_hours: _Optional[int] = ..., account_manager: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class ListAccountsRequest(_message.Message):
    __slots__ = ("tenant",)
    TENANT_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    def __init__(self, tenant: _Optional[str] = ...) -> None: ...

class ListAccountsResponse(_message.Message):
    __slots__ = ("accounts",)
    ACCOUNTS_FIELD_NUMBER: _ClassVar[int]
    accounts: _containers.RepeatedCompositeFieldContainer[Account]
    def __init__(self, accounts: _Optional[_Iterable[_Union[Account, _Mapping]]] = ...) -> None: ...

class UpsertAccountRequest(_message.Message):
    __slots__ = ("account", "tenant")
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    account: Account
    tenant: str
    def __init__(self, account: _Optional[_Union[Account, _Mapping]] = ..., tenant: _Optional[str] = ...) -> None: ...

class AccountUpdate(_message.Message):
    __slots__ = ("account",)
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    account: Account
    def __init__(self, account: _Optional[_Union[Account, _Mapping]] = ...) -> None: ...

class CorrectTriageRequest(_message.Message):
    __slots__ = ("complaint", "signal", "present", "reason", "request_id")
    COMPLAINT_FIELD_NUMBER: _ClassVar[int]
    SIGNAL_FIELD_NUMBER: _ClassVar[int]
    PRESENT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    complaint: str
    signal: str
    present: bool
    reason: str
    request_id: str
    def __init__(self, complaint: _Optional[str] = ..., signal: _Optional[str] = ..., present: _Optional[bool] = ..., reason: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class CorrectTriageResponse(_message.Message):
    __slots__ = ("complaint_id", "decision", "changed", "previous_team")
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    CHANGED_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_TEAM_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    decision: RoutingDecision
    changed: bool
    previous_team: str
    def __init__(self, complaint_id: _Optional[str] = ..., decision: _Optional[_Union[RoutingDecision, _Mapping]] = ..., changed: _Optional[bool] = ..., previous_team: _Optional[str] = ...) -> None: ...

class ListCorrectionsRequest(_message.Message):
    __slots__ = ("limit",)
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    limit: int
    def __init__(self, limit: _Optional[int] = ...) -> None: ...

class TriageCorrection(_message.Message):
    __slots__ = ("complaint_id", "signal", "present", "corrected_by", "reason", "corrected_at", "model_score", "text", "language", "sector")
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    SIGNAL_FIELD_NUMBER: _ClassVar[int]
    PRESENT_FIELD_NUMBER: _ClassVar[int]
    CORRECTED_BY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CORRECTED_AT_FIELD_NUMBER: _ClassVar[int]
    MODEL_SCORE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    SECTOR_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    signal: str
    present: bool
    corrected_by: str
    reason: str
    corrected_at: _timestamp_pb2.Timestamp
    model_score: float
    text: str
    language: str
    sector: str
    def __init__(self, complaint_id: _Optional[str] = ..., signal: _Optional[str] = ..., present: _Optional[bool] = ..., corrected_by: _Optional[str] = ..., reason: _Optional[str] = ..., corrected_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., model_score: _Optional[float] = ..., text: _Optional[str] = ..., language: _Optional[str] = ..., sector: _Optional[str] = ...) -> None: ...

class ListCorrectionsResponse(_message.Message):
    __slots__ = ("corrections",)
    CORRECTIONS_FIELD_NUMBER: _ClassVar[int]
    corrections: _containers.RepeatedCompositeFieldContainer[TriageCorrection]
    def __init__(self, corrections: _Optional[_Iterable[_Union[TriageCorrection, _Mapping]]] = ...) -> None: ...
