"""SlaService and CaseService: the clocks escalation keeps, and agent actions on a case.
Validation and status codes here; the domain decides. (Over ~450 lines: two servicers, one
validating handler per RPC; the ten case actions are not yet table-driven, issue #14.)

Every string field of a CaseService request has a maximum and refuses NUL characters
(services/escalation/domain/limits.py, docs/limits.md): INVALID_ARGUMENT naming the field and the
limit, checked before anything else (the response guard never sees an oversized reply).

Scoping (services/common/auth_policy.py): each case's tenant is the one its ComplaintReceived
named. Another tenant's case, or a case outside an agent's teams (its team, or the team a transfer
is offered to), is NOT_FOUND; lists only hold the caller's tenant (and an agent's teams). An agent
acting, or listing a queue, in another agent's name is PERMISSION_DENIED."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, NoReturn

import grpc
from sqlalchemy.engine import Engine

from services.common.auth import current_principal
from services.common.auth_policy import can_see, may_act_as, tenant_scope
from services.common.grpc_server import abort_invalid
from services.common.pb.haq.v1 import escalation_pb2, escalation_pb2_grpc

from ..adapters.events import clock_to_pb, from_timestamp, status_to_pb, timestamp
from ..domain import (
    Case,
    CaseError,
    CaseStatus,
    Clock,
    InvalidInput,
    Roster,
    SlaClock,
    accept,
    accept_transfer,
    add_note,
    decline,
    decline_transfer,
    limit_for,
    next_due,
    reopen,
    request_info,
    request_transfer,
    resolve,
    respond,
    share_elapsed,
    text_problem,
)
from ..service_layer import views
from ..service_layer.actions import ActionResult, CaseActions, GuardVerdict
from ..service_layer.shared import Binder, CaseNotFound, GuardBlocked
from ..service_layer.views import clocks_view

DEFAULT_LIMIT = 100


def caller_scope(default_tenant: str) -> views.Scope | None:
    """The clocks the caller may list: None without auth (or for a service), else their tenant
    and, for agents, their teams."""
    principal = current_principal()
    if principal is None or "service" in principal.roles:
        return None
    teams = None if principal.sees_whole_tenant() else principal.teams
    return views.Scope(tenant_scope("", default_tenant), default_tenant, teams)


def visible_case(engine: Engine, complaint_id: str, default_tenant: str) -> bool:
    """May the caller see this case? True for a complaint escalation does not know (its own
    NOT_FOUND follows). An agent sees the cases of their teams, one offered to a team of theirs,
    and any case they own or are offered."""
    principal = current_principal()
    if principal is None:
        return True
    case, known, tenant = views.case_and_tenant(engine, complaint_id, default_tenant)
    if not known:
        return True
    if case is None:  # received, not routed yet
        return can_see(tenant, "")
    teams = [case.team] + ([case.transfer.to_team] if case.transfer else [])
    if any(can_see(tenant, team) for team in teams):
        return True
    return principal.tenant == tenant and principal.subject in (case.owner, case.offered_to)


def _not_found(context: grpc.ServicerContext, complaint_id: str) -> NoReturn:
    context.abort(grpc.StatusCode.NOT_FOUND, f"complaint {complaint_id} is not known to escalation")
    raise AssertionError("unreachable")


def check_limits(request: Any, context: grpc.ServicerContext) -> None:
    """Every string field of the request within its limit and free of NUL (INVALID_ARGUMENT naming
    the field: `body: at most 10000 characters`)."""
    for field in request.DESCRIPTOR.fields:
        if field.type != field.TYPE_STRING:
            continue
        values = getattr(request, field.name)
        for value in values if field.is_repeated else (values,):
            problem = text_problem(value, limit_for(field.name))
            if problem is not None:
                abort_invalid(context, field.name, problem)


def _complaint_id(request: Any, context: grpc.ServicerContext) -> str:
    complaint_id = request.complaint_id.strip()
    if not complaint_id:
        abort_invalid(context, "complaint_id", "required")
    return complaint_id


def detail_pb(case: Case | None, clock: SlaClock, now: datetime) -> escalation_pb2.ClockDetail:
    pb = escalation_pb2.ClockDetail(
        clock=clock_to_pb(clock),
        cycle=clock.cycle,
        escalation_step=clock.escalations,
        target_seconds=int(clock.target.total_seconds()),
        round_the_clock=clock.every_minute,
    )
    if clock.warn_at is not None:
        pb.warn_at.CopyFrom(timestamp(clock.warn_at))
    if case is not None:
        pb.share_elapsed = round(share_elapsed(case, clock, clock.stopped_at or now), 3)
        pb.calendar = case.calendar_of(clock).name
    return pb


class SlaServicer(escalation_pb2_grpc.SlaServiceServicer):
    def __init__(
        self,
        engine: Engine,
        clock: Clock | None = None,
        binder: Binder | None = None,
        default_tenant: str = "default",
    ):
        from ..domain import SystemClock

        self.engine = engine
        self.default_tenant = default_tenant
        self.clock = clock or SystemClock()
        self.binder = binder or Binder()

    def GetClocks(
        self, request: escalation_pb2.GetClocksRequest, context: grpc.ServicerContext
    ) -> escalation_pb2.GetClocksResponse:
        check_limits(request, context)
        complaint_id = _complaint_id(request, context)
        if not visible_case(self.engine, complaint_id, self.default_tenant):
            _not_found(context, complaint_id)
        view = clocks_view(self.engine, complaint_id, self.binder)
        if view is None:
            _not_found(context, complaint_id)
        if view.case is None:  # received, not routed yet: no owner and no clocks to show
            return escalation_pb2.GetClocksResponse(
                complaint_id=complaint_id, status=status_to_pb(CaseStatus.RECEIVED)
            )
        case, now = view.case, self.clock.now()
        return escalation_pb2.GetClocksResponse(
            complaint_id=complaint_id,
            owner=case.owner,
            team=case.team,
            status=status_to_pb(case.status),
            policy=case.policy,
            clocks=[clock_to_pb(c) for c in case.clocks.values()],
            accept_by=timestamp(case.accept_by),
            details=[detail_pb(case, c, now) for c in view.history],
            offered_to=case.offered_to,
            pending_transfer_to=case.transfer.to_team if case.transfer else "",
        )

    def _entries(self, listings: list[views.ClockListing]) -> escalation_pb2.ListClocksResponse:
        now = self.clock.now()
        return escalation_pb2.ListClocksResponse(
            entries=[
                escalation_pb2.ClockEntry(
                    complaint_id=item.complaint_id,
                    owner=item.owner,
                    team=item.team,
                    sector=item.sector,
                    policy=item.policy,
                    detail=detail_pb(None, item.clock, now),
                )
                for item in listings
            ]
        )

    def ListAtRisk(self, request: escalation_pb2.ListClocksRequest, context: grpc.ServicerContext) -> Any:
        check_limits(request, context)
        if request.limit < 0:
            abort_invalid(context, "limit", "must not be negative")
        found = views.at_risk(
            self.engine,
            self.clock.now(),
            request.team,
            request.sector,
            request.limit or DEFAULT_LIMIT,
            caller_scope(self.default_tenant),
        )
        return self._entries(found)

    def ListBreached(self, request: escalation_pb2.ListClocksRequest, context: grpc.ServicerContext) -> Any:
        check_limits(request, context)
        if request.limit < 0:
            abort_invalid(context, "limit", "must not be negative")
        found = views.breached(
            self.engine,
            request.team,
            request.sector,
            request.limit or DEFAULT_LIMIT,
            caller_scope(self.default_tenant),
        )
        return self._entries(found)

    def GetCompliance(
        self, request: escalation_pb2.GetComplianceRequest, context: grpc.ServicerContext
    ) -> Any:
        since = from_timestamp(request.since) if request.HasField("since") else None
        scope = caller_scope(self.default_tenant)
        rows, csat = views.compliance(self.engine, since, scope)
        return escalation_pb2.GetComplianceResponse(
            csat=[
                escalation_pb2.CsatRow(
                    team=team, sector=sector, channel=channel, ratings=n, mean=mean, satisfied_share=share
                )
                for team, sector, channel, n, mean, share in csat
            ],
            rows=[
                escalation_pb2.ComplianceRow(
                    sector=sector,
                    team=team,
                    clock=clock,
                    met=met,
                    breached=breached,
                    compliance=round(met / (met + breached), 4) if met + breached else 1.0,
                )
                for sector, team, clock, met, breached in rows
            ],
        )


def _reply(result: ActionResult, transfer_id: str = "") -> escalation_pb2.CaseReply:
    case = result.case
    return escalation_pb2.CaseReply(
        complaint_id=case.complaint_id,
        status=status_to_pb(case.status),
        owner=case.owner,
        team=case.team,
        offered_to=case.offered_to,
        event_ids=result.event_ids,
        transfer_id=transfer_id,
    )


class CaseServicer(escalation_pb2_grpc.CaseServiceServicer):
    def __init__(self, actions: CaseActions, default_tenant: str = "default"):
        self.actions = actions
        self.default_tenant = default_tenant

    def _run(
        self,
        request: Any,
        context: grpc.ServicerContext,
        action: Callable[[Case, datetime], Any],
        kind: str,
    ) -> ActionResult:
        check_limits(request, context)
        complaint_id = _complaint_id(request, context)
        if not visible_case(self.actions.engine, complaint_id, self.default_tenant):
            _not_found(context, complaint_id)
        actor = getattr(request, "agent", "") or getattr(request, "by", "")
        if actor and not may_act_as(actor):
            context.abort(grpc.StatusCode.PERMISSION_DENIED, "an agent acts only in their own name")
        try:
            return self.actions.apply(complaint_id, request.request_id.strip(), action, kind=kind)
        except InvalidInput as exc:
            abort_invalid(context, exc.field, exc.problem)
        except CaseError as exc:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(exc))
        except CaseNotFound:
            _not_found(context, complaint_id)
        raise AssertionError("unreachable")

    def _case_tenant(self, complaint_id: str) -> str:
        """The tenant the complaint's ComplaintReceived named (the operator tenant when none)."""
        return views.case_tenant(self.actions.engine, complaint_id, self.default_tenant)

    def _roster(self, request: Any) -> Roster | None:
        """The complaint's tenant's directory as last refreshed (a cache read, before the
        action's transaction)."""
        directory = self.actions.binder.directory
        tenant = self._case_tenant(request.complaint_id.strip())
        prime = getattr(directory, "prime", None)
        if prime is not None:  # a tenant read for the first time: its own teams, not the seed
            prime(tenant)
        return directory.roster(tenant)

    def Accept(self, request: Any, context: grpc.ServicerContext) -> Any:
        return _reply(self._run(request, context, lambda c, now: accept(c, request.agent, now), "accept"))

    def Decline(self, request: Any, context: grpc.ServicerContext) -> Any:
        return _reply(
            self._run(
                request, context, lambda c, now: decline(c, request.agent, request.reason, now), "decline"
            )
        )

    def _check_response(self, complaint_id: str, body: str, language: str) -> GuardVerdict:
        """The response guard, asked with the settings of the complaint's tenant (its guard mode
        and reply length), never the operator tenant's."""
        return self.actions.check_response(body, language, tenant=self._case_tenant(complaint_id))

    def Respond(self, request: Any, context: grpc.ServicerContext) -> Any:
        check_limits(request, context)
        complaint_id = _complaint_id(request, context)
        for name in ("agent", "body"):
            if not getattr(request, name).strip():
                abort_invalid(context, name, "required")
        # Visibility first: the guard's verdict follows the case's tenant's settings, so asking it
        # about another tenant's case would tell that the case exists.
        if not visible_case(self.actions.engine, complaint_id, self.default_tenant):
            _not_found(context, complaint_id)
        try:
            verdict = self._check_response(complaint_id, request.body, request.language)
        except GuardBlocked as exc:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, f"the response guard refused the reply: {exc}")
            raise AssertionError("unreachable") from None
        warnings = [f.describe() for f in verdict.findings]
        if not verdict.ran:
            warnings.append("response guard unavailable: the reply was not checked")
        response_id = request.request_id.strip() or str(uuid.uuid4())
        result = self._run(
            request,
            context,
            lambda c, now: respond(
                c,
                request.agent,
                request.body,
                now,
                response_id=response_id,
                channel=request.channel,
                guard_warnings=warnings,
            ),
            "respond",
        )
        return escalation_pb2.RespondReply(
            case=_reply(result),
            response_id=response_id,
            warnings=[
                escalation_pb2.GuardWarning(phrase=f.phrase, rule=f.rule, suggestion=f.suggestion)
                for f in verdict.findings
            ],
            guard_ran=verdict.ran,
        )

    def AddNote(self, request: Any, context: grpc.ServicerContext) -> Any:
        note_id = str(uuid.uuid4())
        return _reply(
            self._run(
                request,
                context,
                lambda c, now: add_note(c, request.agent, request.body, note_id=note_id),
                "add_note",
            )
        )

    def RequestInfo(self, request: Any, context: grpc.ServicerContext) -> Any:
        request_id = str(uuid.uuid4())
        return _reply(
            self._run(
                request,
                context,
                lambda c, now: request_info(c, request.agent, request.question, now, request_id=request_id),
                "request_info",
            )
        )

    def RequestTransfer(self, request: Any, context: grpc.ServicerContext) -> Any:
        roster, calendars = self._roster(request), self.actions.binder.calendars
        result = self._run(
            request,
            context,
            lambda c, now: request_transfer(
                c,
                request.agent,
                request.to_team,
                request.reason,
                now,
                to_owner=request.to_owner,
                roster=roster,
                calendars=calendars,
            ),
            "request_transfer",
        )
        return _reply(result, result.value.transfer_id if result.value is not None else "")

    def _receiver_only(self, request: Any, context: grpc.ServicerContext) -> None:
        """With auth on, only people of the receiving team answer a transfer (its sender's team
        sees the case too, but the hand-off is the receiver's to accept or decline)."""
        principal = current_principal()
        if principal is None or principal.sees_whole_tenant():
            return
        case = views.load(self.actions.engine, request.complaint_id.strip())
        if case is not None and case.transfer is not None and not principal.sees_team(case.transfer.to_team):
            context.abort(
                grpc.StatusCode.PERMISSION_DENIED,
                f"only the receiving team ({case.transfer.to_team}) answers this transfer",
            )

    def AcceptTransfer(self, request: Any, context: grpc.ServicerContext) -> Any:
        check_limits(request, context)
        self._receiver_only(request, context)
        roster, calendars = self._roster(request), self.actions.binder.calendars
        return _reply(
            self._run(
                request,
                context,
                lambda c, now: accept_transfer(c, request.agent, now, roster=roster, calendars=calendars),
                "accept_transfer",
            )
        )

    def DeclineTransfer(self, request: Any, context: grpc.ServicerContext) -> Any:
        check_limits(request, context)
        self._receiver_only(request, context)
        roster = self._roster(request)
        return _reply(
            self._run(
                request,
                context,
                lambda c, now: decline_transfer(c, request.agent, request.reason, now, roster=roster),
                "decline_transfer",
            )
        )

    def Resolve(self, request: Any, context: grpc.ServicerContext) -> Any:
        return _reply(
            self._run(
                request,
                context,
                lambda c, now: resolve(c, request.agent, request.resolution_code, request.summary, now),
                "resolve",
            )
        )

    def Reopen(self, request: Any, context: grpc.ServicerContext) -> Any:
        return _reply(
            self._run(request, context, lambda c, now: reopen(c, request.by, request.reason, now), "reopen")
        )

    def ListQueue(self, request: Any, context: grpc.ServicerContext) -> Any:
        check_limits(request, context)
        agent = request.agent.strip()
        if not agent:
            abort_invalid(context, "agent", "required")
        principal = current_principal()
        if principal is not None and principal.roles <= {"agent"} and agent != principal.subject:
            context.abort(grpc.StatusCode.PERMISSION_DENIED, "an agent lists only their own queue")
        tenant = tenant_scope("", self.default_tenant) if principal is not None else None  # the caller's only
        cases = views.queue(self.actions.engine, agent, request.include_resolved, tenant, self.default_tenant)
        items = []
        for case in cases:
            running = [c for c in case.clocks.values() if c.open and c.run_from is not None]
            soonest = min(running, key=lambda c: c.due_at, default=None)
            item = escalation_pb2.QueueItem(
                complaint_id=case.complaint_id,
                status=status_to_pb(case.status),
                team=case.team,
                priority=case.priority.value,
                policy=case.policy,
                offered=case.offered_to == agent,
                owner=case.owner,
                next_clock=soonest.name.value if soonest else "",
            )
            due = soonest.due_at if soonest else next_due(case)
            if due is not None:
                item.next_due_at.CopyFrom(timestamp(due))
            items.append(item)
        return escalation_pb2.ListQueueResponse(items=items)
