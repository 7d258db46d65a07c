"""Intake's gRPC API as the portal uses it: every call has a deadline and the portal's token."""

from __future__ import annotations

from dataclasses import dataclass

import grpc

from services.common.auth import authorized_channel, mint_token
from services.common.pb.haq.v1 import complaint_pb2, intake_pb2, intake_pb2_grpc
from services.common.settings import Settings

from ..settings import PortalSettings


@dataclass(frozen=True)
class IntakeError(Exception):
    code: str  # the gRPC status name: NOT_FOUND, INVALID_ARGUMENT, UNAVAILABLE ...
    detail: str

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}"


def portal_token(settings: Settings, portal: PortalSettings) -> str | None:
    """HAQ_PORTAL_GRPC_TOKEN, else one minted from the shared secret: `integration` (submit and
    add follow-ups) and `ops` (read case files). The portal itself scopes every page to the
    signed-in customer; intake never sees the customer as a caller."""
    if portal.grpc_token:
        return portal.grpc_token
    if settings.auth_secret:
        return mint_token(
            settings.auth_secret, "haq-portal", settings.tenant, ["integration", "ops"], ttl_s=365 * 24 * 3600
        )
    return None


class IntakeClient:
    def __init__(self, settings: Settings, portal: PortalSettings):
        self.timeout = portal.grpc_timeout_s
        self.channel = authorized_channel(settings.grpc_target("intake"), portal_token(settings, portal))
        self.stub = intake_pb2_grpc.IntakeServiceStub(self.channel)

    def _call(self, method, request):  # noqa: ANN001
        try:
            return method(request, timeout=self.timeout)
        except grpc.RpcError as err:
            raise IntakeError(err.code().name, err.details() or "") from err

    def case_file(self, complaint: str, tenant: str) -> intake_pb2.CaseFile:
        return self._call(
            self.stub.GetComplaint, intake_pb2.GetComplaintRequest(complaint=complaint, tenant=tenant)
        )

    def customer(self, customer_id: str, tenant: str) -> intake_pb2.ListCustomerComplaintsResponse:
        return self._call(
            self.stub.ListCustomerComplaints,
            intake_pb2.ListCustomerComplaintsRequest(customer_id=customer_id, tenant=tenant),
        )

    def submit(self, draft: complaint_pb2.ComplaintDraft) -> intake_pb2.SubmitComplaintResponse:
        return self._call(self.stub.SubmitComplaint, intake_pb2.SubmitComplaintRequest(draft=draft))

    def follow_up(
        self, complaint_id: str, body: str, key: str, tenant: str
    ) -> intake_pb2.AddFollowUpResponse:
        return self._call(
            self.stub.AddFollowUp,
            intake_pb2.AddFollowUpRequest(
                complaint=complaint_id, body=body, channel=complaint_pb2.CHANNEL_WEB, idempotency_key=key,
                tenant=tenant,
            ),
        )  # fmt: skip

    def close(self) -> None:
        self.channel.close()
