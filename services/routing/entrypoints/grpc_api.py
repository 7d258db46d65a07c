"""`RoutingAdmin` over gRPC: validate, read through the adapters, map to protobuf."""

from __future__ import annotations

import grpc
from sqlalchemy.engine import Engine
from sqlmodel import Session

from services.common.db import as_utc
from services.common.grpc_server import abort_invalid
from services.common.pb.haq.v1 import routing_pb2, routing_pb2_grpc

from ..adapters import db
from ..service import priority_value


class RoutingAdminServicer(routing_pb2_grpc.RoutingAdminServicer):
    def __init__(self, engine: Engine, default_tenant: str):
        self.engine = engine
        self.default_tenant = default_tenant

    def ListTeams(self, request: routing_pb2.ListTeamsRequest, context: grpc.ServicerContext):
        tenant = request.tenant.strip() or self.default_tenant
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
                    agents=[
                        routing_pb2.Agent(
                            id=a.id,
                            name=a.name,
                            team=a.team,
                            skills=a.skills,
                            languages=a.languages,
                            capacity=a.capacity,
                            open_assignments=a.open_assignments,
                            presence=a.presence,
                            is_lead=a.is_lead,
                        )
                        for a in v.agents
                    ],
                )
                for v in views
            ]
        )

    def GetDecision(self, request: routing_pb2.GetDecisionRequest, context: grpc.ServicerContext):
        complaint_id = request.complaint_id.strip()
        if not complaint_id:
            abort_invalid(context, "complaint_id", "is required")
        with Session(self.engine) as session:
            row = db.get_decision(session, complaint_id)
        if row is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"no routing decision for complaint {complaint_id!r}")
        decision = routing_pb2.RoutingDecision(
            complaint_id=row.complaint_id,
            team=row.team,
            owner=row.owner,
            owner_is_duty_lead=row.owner_is_duty_lead,
            priority=priority_value(row.priority),
            sla_policy=row.sla_policy,
            rule_id=row.rule_id,
            rule_set_version=row.rule_set_version,
            explanation=row.explanation,
        )
        decision.decided_at.FromDatetime(as_utc(row.decided_at))
        return decision
