"""SlaService: the clocks escalation keeps, for the case file, ops tooling and agents."""

from __future__ import annotations

import grpc
from sqlalchemy.engine import Engine

from services.common.grpc_server import abort_invalid
from services.common.pb.haq.v1 import escalation_pb2, escalation_pb2_grpc

from ..adapters.events import clock_to_pb, status_to_pb, timestamp
from ..domain import CaseStatus
from ..handlers import clocks_view


class SlaServicer(escalation_pb2_grpc.SlaServiceServicer):
    def __init__(self, engine: Engine):
        self.engine = engine

    def GetClocks(
        self, request: escalation_pb2.GetClocksRequest, context: grpc.ServicerContext
    ) -> escalation_pb2.GetClocksResponse:
        complaint_id = request.complaint_id.strip()
        if not complaint_id:
            abort_invalid(context, "complaint_id", "required")
        view = clocks_view(self.engine, complaint_id)
        if view is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"complaint {complaint_id} is not known to escalation")
            raise AssertionError("unreachable")
        if view.case is None:  # received, not routed yet: no owner and no clocks to show
            return escalation_pb2.GetClocksResponse(
                complaint_id=complaint_id, status=status_to_pb(CaseStatus.RECEIVED)
            )
        case = view.case
        return escalation_pb2.GetClocksResponse(
            complaint_id=complaint_id,
            owner=case.owner,
            team=case.team,
            status=status_to_pb(case.status),
            policy=case.policy,
            clocks=[clock_to_pb(c) for c in case.clocks.values()],
            accept_by=timestamp(case.accept_by),
        )
