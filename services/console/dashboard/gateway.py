"""The dashboard's gRPC calls: every one has a deadline and the same call metadata.

`call_metadata` is the one place a bearer token is attached: HAQ_DASHBOARD_GRPC_TOKEN, else an ops
token minted from HAQ_AUTH_SECRET (access.grpc_token), else none when auth is off.

That token is the dashboard's, not the signed-in user's: the caller names the user's tenant in each
request and checks what comes back against the user's principal before showing it (app.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import grpc

from services.common.pb.haq.v1 import (
    escalation_pb2,
    escalation_pb2_grpc,
    intake_pb2,
    intake_pb2_grpc,
    routing_pb2,
    routing_pb2_grpc,
)
from services.common.settings import Settings

from .access import grpc_token
from .settings import DashboardSettings


@dataclass(frozen=True)
class GatewayError(Exception):
    """A failed call, worded for a page: which service, and what its status means."""

    service: str
    code: str
    detail: str

    def __str__(self) -> str:
        return f"{self.service}: {self.code} {self.detail}".strip()


def call_metadata(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),) if token else ()


class Gateway:
    """Async stubs of intake and routing on long-lived channels."""

    def __init__(self, settings: Settings, dashboard: DashboardSettings):
        self.timeout = dashboard.grpc_timeout_s
        self.metadata = call_metadata(grpc_token(settings, dashboard))
        self.tenant = settings.tenant
        self._intake_channel = grpc.aio.insecure_channel(settings.grpc_target("intake"))
        self._routing_channel = grpc.aio.insecure_channel(settings.grpc_target("routing"))
        self.intake = intake_pb2_grpc.IntakeServiceStub(self._intake_channel)
        self.routing = routing_pb2_grpc.RoutingAdminStub(self._routing_channel)
        self._escalation_channel = grpc.aio.insecure_channel(settings.grpc_target("escalation"))
        self.sla = escalation_pb2_grpc.SlaServiceStub(self._escalation_channel)

    async def case_file(self, complaint: str, tenant: str) -> intake_pb2.CaseFile:
        """The case file by id or reference in `tenant`; GatewayError NOT_FOUND when intake does not
        know it. Not checked against any user: the caller does that before showing it."""
        request = intake_pb2.GetComplaintRequest(complaint=complaint, tenant=tenant or self.tenant)
        return await self._call("intake", self.intake.GetComplaint, request)

    async def teams(self, tenant: str) -> list[routing_pb2.Team]:
        response = await self._call(
            "routing", self.routing.ListTeams, routing_pb2.ListTeamsRequest(tenant=tenant or self.tenant)
        )
        return list(response.teams)

    async def csat(self) -> list[escalation_pb2.CsatRow]:
        """Customer ratings after resolution per team, sector and channel (the dashboard's tenant;
        the caller keeps only the rows the user may see)."""
        response = await self._call(
            "escalation", self.sla.GetCompliance, escalation_pb2.GetComplianceRequest()
        )
        return list(response.csat)

    async def _call(self, service: str, method, request):  # noqa: ANN001 (any unary stub method)
        try:
            return await method(request, timeout=self.timeout, metadata=self.metadata)
        except grpc.aio.AioRpcError as err:
            raise GatewayError(service, err.code().name, err.details() or "") from err

    async def close(self) -> None:
        await self._intake_channel.close()
        await self._routing_channel.close()
        await self._escalation_channel.close()
