"""`RoutingAdmin` over gRPC: validate, call the administration layer, map to protobuf. Errors:
INVALID_ARGUMENT naming the field (and for rule sets, `file:line: field: problem` for each
problem, separated by "; "), NOT_FOUND, FAILED_PRECONDITION.

Scoping (services/common/auth_policy.py): the directory and decisions are per tenant (another
tenant's are NOT_FOUND; an agent sees decisions of their teams only). Rule sets and the audit are
per tenant too: a request's `tenant` is the caller's own (another's is NOT_FOUND, a service may name
any); the operator tenant's (HAQ_TENANT) versions are the built-in ones, so only its admins change them.

Who made a change: with authentication on, the audit's author/actor is the token's subject, and the
request's `author`/`actor` field is ignored (a caller cannot write someone else's name into the
audit); this holds for apply, stage, promote, cancel and rollback alike. Without authentication (local development) the request's field is kept, as before.
(Over ~450 lines: one servicer for the whole RoutingAdmin service, rule sets and directory alike.)
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import grpc
from sqlalchemy.engine import Engine
from sqlmodel import Session

from services.common.auth import current_principal
from services.common.auth_policy import (
    Forbidden,
    Hidden,
    can_see,
    check_visible,
    may_act_as,
    may_read_rule_sets,
    tenant_scope,
)
from services.common.grpc_server import abort_invalid
from services.common.pb.haq.v1 import routing_pb2, routing_pb2_grpc
from services.common.proto_values import to_datetime, to_timestamp

from ..adapters import accounts_db, db
from ..adapters.files import Problem, RuleSetInvalid
from ..admin import Conflict, NotFound, RoutingAdministration
from ..corrections import NotFound as CorrectionNotFound
from ..corrections import TriageCorrections, check_request, routed_text
from ..directory_admin import AccountRecord, DirectoryAdministration, TeamChange
from ..domain.model import Agent, InvalidData, SignalScore, parse_working_hours
from ..domain.rules import Trace
from ..domain.staging import Pointer, Staging, parse_staging
from ..service import priority_value

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])


def _errors(method: F) -> F:
    """Turn the administration layer's errors into gRPC status codes."""

    @functools.wraps(method)
    def wrapper(self: Any, request: Any, context: grpc.ServicerContext) -> Any:
        try:
            return method(self, request, context)
        except RuleSetInvalid as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        except InvalidData as exc:
            abort_invalid(context, exc.path, exc.problem)
        except NotFound as exc:
            context.abort(grpc.StatusCode.NOT_FOUND, str(exc))
        except Conflict as exc:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(exc))
        except TimeoutError as exc:
            context.abort(grpc.StatusCode.DEADLINE_EXCEEDED, str(exc))
        except Hidden as exc:
            context.abort(grpc.StatusCode.NOT_FOUND, f"{exc} not found")
        except Forbidden as exc:
            context.abort(grpc.StatusCode.PERMISSION_DENIED, str(exc))

    return wrapper  # type: ignore[return-value]


def _ts(message: Any, field: str, value: datetime | None) -> None:
    if value is not None:
        getattr(message, field).CopyFrom(to_timestamp(value))


def changed_by(requested: str) -> str:
    """Who the audit names for a change: the authenticated caller's subject when auth is on (the
    request's author/actor is then ignored), the request's author/actor when auth is off."""
    principal = current_principal()
    return principal.subject if principal is not None else requested


def agent_pb(a: db.RoutingAgent) -> routing_pb2.Agent:
    return routing_pb2.Agent(
        id=a.id,
        name=a.name,
        team=a.team,
        skills=a.skills,
        languages=a.languages,
        capacity=a.capacity,
        open_assignments=a.open_assignments,
        presence=a.presence,
        is_lead=a.is_lead,
        email=a.email,
        chat_handle=a.chat_handle,
        working_hours=[
            routing_pb2.WorkingHours(days=w["days"], start=w["start"], end=w["end"]) for w in a.working_hours
        ],
    )


def team_pb(t: db.RoutingTeam) -> routing_pb2.Team:
    return routing_pb2.Team(
        id=t.id,
        name=t.name,
        duty_owner=t.duty_owner,
        lead=t.duty_owner,
        manager=t.manager,
        director=t.director,
        time_zone=t.time_zone,
        strategy=t.strategy,
    )


def account_pb(a: accounts_db.RoutingAccount) -> routing_pb2.Account:
    return routing_pb2.Account(
        id=a.id,
        name=a.name,
        tier=a.tier,
        sla_policy=a.sla_policy,
        response_hours=a.response_hours,
        account_manager=a.account_manager,
    )


def staging_pb(staging: Staging | None) -> routing_pb2.Staging | None:
    if staging is None:
        return None
    return routing_pb2.Staging(percent=staging.percent, channels=list(staging.channels))


def version_pb(
    r: db.RoutingRuleSetRecord,
    pointer: Pointer | None,
    routing: tuple[str, str],
    operator: str,
    with_source: bool = False,
) -> routing_pb2.RuleSetVersion:
    """`pointer`: the tenant's own; `routing`: (whose, version) routing the tenant's traffic."""
    is_active = (r.tenant, r.version) == routing
    staged = pointer is not None and r.tenant == pointer.tenant and pointer.staged == r.version
    out = routing_pb2.RuleSetVersion(
        version=r.version,
        author=r.author,
        comment=r.comment,
        active=is_active,
        checksum=r.checksum,
        rules=r.rules,
        source=r.source if with_source else "",
        seq=r.seq or 0,
        tenant=r.tenant,
        built_in=r.tenant == operator,
        staged=staged,
        staging=staging_pb(pointer.staging) if staged and pointer is not None else None,
    )
    _ts(out, "created_at", r.created_at)
    return out


def audit_pb(row: db.RoutingAudit) -> routing_pb2.AuditEntry:
    entry = routing_pb2.AuditEntry(
        id=row.id or 0,
        actor=row.actor,
        action=row.action,
        target=row.target,
        detail=row.detail,
        comment=row.comment,
        tenant=row.tenant,
    )
    _ts(entry, "at", row.at)
    return entry


def problem_pb(p: Problem) -> routing_pb2.ValidationError:
    return routing_pb2.ValidationError(file=p.file, line=p.line, field=p.field, problem=p.problem)


def trace_pb(t: Trace) -> routing_pb2.RuleTrace:
    return routing_pb2.RuleTrace(rule_id=t.rule_id, kind=t.kind, matched=t.matched, reason=t.reason)


def signal_pb(s: SignalScore) -> routing_pb2.SignalScore:
    return routing_pb2.SignalScore(signal=s.signal, score=s.score, top_terms=s.top_terms, source=s.source)


def decision_pb(row: db.RoutingDecisionRecord) -> routing_pb2.RoutingDecision:
    out = routing_pb2.RoutingDecision(
        complaint_id=row.complaint_id,
        team=row.team,
        owner=row.owner,
        owner_is_duty_lead=row.owner_is_duty_lead,
        priority=priority_value(row.priority),
        sla_policy=row.sla_policy,
        rule_id=row.rule_id,
        rule_set_version=row.rule_set_version,
        explanation=row.explanation,
        tenant=row.tenant,
        rule_set_staged=row.rule_set_staged,
        rule_set_tenant=row.rule_set_tenant,
    )
    _ts(out, "decided_at", row.decided_at)
    return out


class RoutingAdminServicer(routing_pb2_grpc.RoutingAdminServicer):
    def __init__(
        self,
        engine: Engine,
        default_tenant: str,
        admin: RoutingAdministration,
        directory: DirectoryAdministration | None = None,
    ):
        self.engine = engine
        self.default_tenant = default_tenant
        self.admin = admin
        self.directory = directory or DirectoryAdministration(engine, admin.router, admin.relay)

    def _rule_sets(self, requested: str) -> str:
        """The tenant whose rule sets a request works on: the caller's own (another tenant's is
        NOT_FOUND; a service may name any); without auth the requested one or the operator's."""
        return tenant_scope(requested, self.default_tenant)

    def _version(self, tenant: str, record: db.RoutingRuleSetRecord, with_source: bool = False):
        _, pointer, routing = self.admin.versions(tenant)
        return version_pb(record, pointer, routing, self.default_tenant, with_source)

    def _directory_change(self, tenant: str, agent_id: str) -> str:
        """The tenant of a directory change by the caller; a team lead changes their teams' agents,
        an agent only their own presence. Unknown agents are left to the admin layer (NOT_FOUND)."""
        tenant = tenant_scope(tenant, self.default_tenant)
        if not may_act_as(agent_id):
            raise Forbidden("an agent changes only their own presence")
        with Session(self.engine) as session:
            row = db.get_agent(session, tenant, agent_id.strip())
        if row is not None:
            check_visible(tenant, row.team, f"agent {agent_id!r}")
        return tenant

    @_errors
    def ListTeams(self, request: routing_pb2.ListTeamsRequest, context: grpc.ServicerContext):
        tenant = tenant_scope(request.tenant, self.default_tenant)
        with Session(self.engine) as session:
            views = db.list_teams(session, tenant)
        if not views:
            context.abort(grpc.StatusCode.NOT_FOUND, f"tenant {tenant!r} has no routing directory")
        return routing_pb2.ListTeamsResponse(
            teams=[
                routing_pb2.Team(
                    id=v.team.id,
                    name=v.team.name,
                    duty_owner=v.team.duty_owner,
                    queued=v.queued,
                    agents=[agent_pb(a) for a in v.agents],
                    lead=v.team.duty_owner,
                    manager=v.team.manager,
                    director=v.team.director,
                    time_zone=v.team.time_zone,
                    strategy=v.team.strategy,
                )
                for v in views
            ]
        )

    @_errors
    def GetDecision(self, request: routing_pb2.GetDecisionRequest, context: grpc.ServicerContext):
        complaint_id = request.complaint_id.strip()
        if not complaint_id:
            abort_invalid(context, "complaint_id", "is required")
        with Session(self.engine) as session:
            row = db.find_decision(session, complaint_id)
        if row is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"no routing decision for complaint {complaint_id!r}")
        check_visible(row.tenant, row.team, f"routing decision for complaint {complaint_id!r}")
        return decision_pb(row)

    # --- rule sets ---------------------------------------------------------------------------

    @_errors
    def ValidateRuleSet(self, request: routing_pb2.RuleSetSource, context: grpc.ServicerContext):
        tenant = self._rule_sets(request.tenant)
        if not request.source.strip():
            raise InvalidData("source", "is required (the rule set's YAML)")
        rule_set, problems = self.admin.validate(tenant, request.source, request.file_name)
        return routing_pb2.ValidateRuleSetResponse(
            valid=rule_set is not None,
            version=rule_set.version if rule_set else "",
            rules=len(rule_set) if rule_set else 0,
            errors=[problem_pb(p) for p in problems],
        )

    @_errors
    def ApplyRuleSet(self, request: routing_pb2.ApplyRuleSetRequest, context: grpc.ServicerContext):
        tenant = self._rule_sets(request.tenant)
        if not request.source.strip():
            raise InvalidData("source", "is required (the rule set's YAML)")
        if request.simulate_last < 0 or request.simulate_last > 100_000:
            raise InvalidData("simulate_last", "must be between 0 and 100000")
        staging = (
            parse_staging(request.staging.percent, request.staging.channels)
            if request.HasField("staging")
            else None
        )
        record = self.admin.apply(
            tenant,
            request.source,
            request.file_name,
            changed_by(request.author),
            request.comment,
            staging=staging,
            confirm_safety_changes=request.confirm_safety_changes,
            simulate_last=request.simulate_last,
        )
        return self._version(tenant, record)

    @_errors
    def PromoteRuleSet(self, request: routing_pb2.PromoteRuleSetRequest, context: grpc.ServicerContext):
        tenant = self._rule_sets(request.tenant)
        record = self.admin.promote(tenant, changed_by("") or "unauthenticated", request.comment)
        return self._version(tenant, record)

    @_errors
    def CancelStagedRuleSet(
        self, request: routing_pb2.CancelStagedRuleSetRequest, context: grpc.ServicerContext
    ):
        tenant = self._rule_sets(request.tenant)
        self.admin.cancel_stage(tenant, changed_by("") or "unauthenticated", request.comment)
        return self._version(tenant, self.admin.get(tenant, ""))

    @_errors
    def ListRuleSetVersions(
        self, request: routing_pb2.ListRuleSetVersionsRequest, context: grpc.ServicerContext
    ):
        tenant = self._rule_sets(request.tenant)
        records, pointer, routing = self.admin.versions(tenant)
        staged = pointer.staged if pointer is not None else ""
        return routing_pb2.ListRuleSetVersionsResponse(
            versions=[version_pb(r, pointer, routing, self.default_tenant) for r in records],
            active=routing[1],
            inherited=routing[0] != tenant,
            staged=staged,
            staging=staging_pb(pointer.staging) if staged and pointer is not None else None,
        )

    @_errors
    def GetRuleSet(self, request: routing_pb2.GetRuleSetRequest, context: grpc.ServicerContext):
        tenant = self._rule_sets(request.tenant)
        return self._version(tenant, self.admin.get(tenant, request.version), with_source=True)

    @_errors
    def DiffRuleSets(self, request: routing_pb2.DiffRuleSetsRequest, context: grpc.ServicerContext):
        tenant = self._rule_sets(request.tenant)
        old, new, changes, unified = self.admin.diff(
            tenant, request.from_version, request.to_version, request.to_source, request.to_file_name
        )
        return routing_pb2.DiffRuleSetsResponse(
            from_version=old,
            to_version=new,
            changes=[
                routing_pb2.RuleChange(rule_id=c.rule_id, change=c.change, details=c.details) for c in changes
            ],
            unified_diff=unified,
        )

    @_errors
    def RollbackRuleSet(self, request: routing_pb2.RollbackRuleSetRequest, context: grpc.ServicerContext):
        tenant = self._rule_sets(request.tenant)
        record = self.admin.rollback(tenant, request.to_version, changed_by(request.author), request.comment)
        return self._version(tenant, record)

    @_errors
    def ExplainComplaint(self, request: routing_pb2.ExplainComplaintRequest, context: grpc.ServicerContext):
        # Visibility first: another tenant's (or team's) complaint is NOT_FOUND before anything
        # about its rule sets is looked up.
        routed = self.admin.find(request.complaint)
        check_visible(routed.tenant, routed.team, f"complaint {request.complaint!r}")
        if (request.version or request.source.strip()) and not may_read_rule_sets():
            raise Forbidden("explaining with another rule set needs a role that reads rule sets")
        e = self.admin.explain(request.complaint, request.version, request.source, request.file_name)
        holding = e.holding
        return routing_pb2.Explanation(
            complaint_id=e.routed.complaint_id,
            reference=e.routed.reference,
            rule_set_version=e.rule_set.version,
            considered=[trace_pb(t) for t in e.evaluation.considered],
            flags=[trace_pb(t) for t in e.evaluation.flags],
            rule_id=e.evaluation.winner.id,
            team=e.team,
            priority=priority_value(e.priority),
            sla_policy=e.sla_policy,
            tags=e.tags,
            required_skills=e.required_skills,
            keep_informed=e.keep_informed,
            owner=e.owner,
            owner_is_duty_lead=e.owner_is_duty_lead,
            explanation=e.explanation,
            routed=decision_pb(e.routed),
            current_owner=holding.owner if holding else e.routed.owner,
            queued=bool(holding and holding.queued),
            signals=[signal_pb(s) for s in e.complaint.signals],
            triage_model=e.complaint.triage_model,
        )

    @_errors
    def SimulateRuleSet(self, request: routing_pb2.SimulateRuleSetRequest, context: grpc.ServicerContext):
        tenant = self._rule_sets(request.tenant)
        if not request.source.strip():
            raise InvalidData("source", "is required (the candidate rule set's YAML)")
        sim = self.admin.simulate(tenant, request.source, request.file_name, request.last)
        return routing_pb2.SimulationReport(
            baseline_version=sim.baseline_version,
            candidate_version=sim.candidate_version,
            complaints=sim.complaints,
            changed=len(sim.changes),
            changes=[
                routing_pb2.SimulatedChange(
                    complaint_id=c.complaint_id,
                    reference=c.reference,
                    from_rule=c.from_rule,
                    to_rule=c.to_rule,
                    from_team=c.from_team,
                    to_team=c.to_team,
                    from_priority=priority_value(c.from_priority),
                    to_priority=priority_value(c.to_priority),
                    from_sla_policy=c.from_sla_policy,
                    to_sla_policy=c.to_sla_policy,
                    leaves_safety_override=c.leaves_safety_override,
                    enters_safety_override=c.enters_safety_override,
                )
                for c in sim.changes
            ],
            team_moves=sim.team_moves,
            candidate_rule_hits=sim.candidate_rule_hits,
            team_changed=sim.team_changed,
            priority_changed=sim.priority_changed,
            sla_changed=sim.sla_changed,
            safety_changed=sim.safety_changed,
            tenant=tenant,
        )

    @_errors
    def ListAudit(self, request: routing_pb2.ListAuditRequest, context: grpc.ServicerContext):
        tenant = self._rule_sets(request.tenant)
        rows = self.admin.audit_log(tenant, request.limit, request.action)
        return routing_pb2.ListAuditResponse(entries=[audit_pb(row) for row in rows])

    @_errors
    def ExportAudit(self, request: routing_pb2.ListAuditRequest, context: grpc.ServicerContext):
        tenant = self._rule_sets(request.tenant)  # scoped before the stream starts
        if request.limit < 0:
            raise InvalidData("limit", "must not be negative")
        since = to_datetime(request.since) if request.HasField("since") else None
        rows = self.admin.export_audit(tenant, request.limit, request.action, since)
        return (audit_pb(row) for row in rows)

    # --- directory ---------------------------------------------------------------------------

    @_errors
    def SetPresence(self, request: routing_pb2.SetPresenceRequest, context: grpc.ServicerContext):
        tenant = self._directory_change(request.tenant, request.agent)
        row, assigned = self.directory.set_presence(
            tenant, request.agent, request.presence, changed_by(request.actor)
        )
        return routing_pb2.AgentUpdate(agent=agent_pb(row), assigned=assigned)

    @_errors
    def SetCapacity(self, request: routing_pb2.SetCapacityRequest, context: grpc.ServicerContext):
        tenant = self._directory_change(request.tenant, request.agent)
        row, assigned = self.directory.set_capacity(
            tenant, request.agent, request.capacity, changed_by(request.actor)
        )
        return routing_pb2.AgentUpdate(agent=agent_pb(row), assigned=assigned)

    @_errors
    def UpsertAgent(self, request: routing_pb2.UpsertAgentRequest, context: grpc.ServicerContext):
        a = request.agent
        if not a.id.strip():
            raise InvalidData("agent.id", "is required")
        if not a.team.strip():
            raise InvalidData("agent.team", "is required")
        if a.presence and a.presence not in ("online", "away", "offline"):
            raise InvalidData("agent.presence", f"{a.presence!r} is not one of online, away, offline")
        if a.capacity < 0:
            raise InvalidData("agent.capacity", "must not be negative")
        hours = parse_working_hours(
            [{"days": list(w.days), "start": w.start, "end": w.end} for w in a.working_hours],
            "agent.working_hours",
        )
        agent = Agent(
            id=a.id.strip(),
            name=a.name.strip() or a.id.strip(),
            team=a.team.strip(),
            skills=tuple(s.strip() for s in a.skills if s.strip()),
            languages=tuple(s.strip() for s in a.languages if s.strip()),
            capacity=a.capacity,
            presence=a.presence or "offline",
            email=a.email.strip(),
            chat_handle=a.chat_handle.strip(),
            working_hours=hours,
        )
        row, assigned = self.directory.upsert_agent(
            tenant_scope(request.tenant, self.default_tenant), agent, changed_by(request.actor)
        )
        return routing_pb2.AgentUpdate(agent=agent_pb(row), assigned=assigned)

    @_errors
    def UpsertTeam(self, request: routing_pb2.UpsertTeamRequest, context: grpc.ServicerContext):
        t = request.team
        tenant = tenant_scope(request.tenant, self.default_tenant)
        row = self.directory.upsert_team(
            tenant,
            TeamChange(
                id=t.id,
                name=t.name,
                duty_owner=t.duty_owner or t.lead,
                manager=t.manager,
                director=t.director,
                time_zone=t.time_zone,
                strategy=t.strategy,
            ),
            changed_by("") or "unauthenticated",  # the request has no actor field
        )
        return routing_pb2.TeamUpdate(team=team_pb(row))

    @_errors
    def ListAccounts(self, request: routing_pb2.ListAccountsRequest, context: grpc.ServicerContext):
        tenant = tenant_scope(request.tenant, self.default_tenant)
        return routing_pb2.ListAccountsResponse(
            accounts=[account_pb(r) for r in self.directory.accounts(tenant)]
        )

    @_errors
    def UpsertAccount(self, request: routing_pb2.UpsertAccountRequest, context: grpc.ServicerContext):
        a = request.account
        tenant = tenant_scope(request.tenant, self.default_tenant)
        row = self.directory.upsert_account(
            tenant,
            AccountRecord(
                id=a.id,
                name=a.name,
                tier=a.tier,
                sla_policy=a.sla_policy,
                response_hours=a.response_hours,
                account_manager=a.account_manager,
            ),
            changed_by("") or "unauthenticated",  # the request has no actor field
        )
        return routing_pb2.AccountUpdate(account=account_pb(row))

    # --- triage corrections --------------------------------------------------------------------

    def _triage(self) -> TriageCorrections:
        if getattr(self, "_corrections", None) is None:
            self._corrections = TriageCorrections(self.engine, self.admin.router, self.admin.relay)
        return self._corrections

    @_errors
    def CorrectTriage(self, request: routing_pb2.CorrectTriageRequest, context: grpc.ServicerContext):
        complaint, signal, reason, request_id = check_request(
            request.complaint, request.signal, request.present, request.reason, request.request_id
        )
        triage = self._triage()
        try:
            row = triage.find(complaint)
            principal = current_principal()
            corrected_by = principal.subject if principal is not None else "unauthenticated"
            # An agent or lead corrects the complaints of their teams (another's is NOT_FOUND).
            team = triage.team_for_check(row, request_id, corrected_by)
            check_visible(row.tenant, team, f"complaint {complaint!r}")
            done = triage.correct(row.complaint_id, signal, request.present, reason, corrected_by, request_id)
        except CorrectionNotFound as exc:
            raise NotFound(str(exc)) from exc
        return routing_pb2.CorrectTriageResponse(
            complaint_id=done.complaint_id,
            decision=decision_pb(done.decision),
            changed=done.changed,
            previous_team=done.previous_team,
        )

    @_errors
    def ListCorrections(self, request: routing_pb2.ListCorrectionsRequest, context: grpc.ServicerContext):
        principal = current_principal()
        tenants = None if principal is None or "service" in principal.roles else [principal.tenant]
        out = routing_pb2.ListCorrectionsResponse()
        for row, complaint in self._triage().list(tenants, request.limit):
            if not (can_see(row.tenant, row.previous_team) or can_see(row.tenant, row.team)):
                continue
            item = out.corrections.add(
                complaint_id=row.complaint_id,
                signal=row.signal,
                present=row.present,
                corrected_by=row.corrected_by,
                reason=row.reason,
                model_score=row.model_score,
                text=routed_text(complaint) if complaint is not None else "",
                language=complaint.language if complaint is not None else "",
                sector=complaint.sector if complaint is not None else "",
            )
            _ts(item, "corrected_at", row.corrected_at)
        return out
