"""The response guard: notifications' CheckResponse, asked before a public reply is accepted."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import grpc

from services.common.auth import authorized_channel
from services.common.pb.haq.v1 import notifications_pb2, notifications_pb2_grpc

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Finding:
    phrase: str
    rule: str
    suggestion: str

    def describe(self) -> str:
        text = f"{self.rule}: {self.phrase!r}"
        return f"{text} (try: {self.suggestion})" if self.suggestion else text


@dataclass(frozen=True)
class GuardVerdict:
    allowed: bool
    findings: tuple[Finding, ...] = ()
    ran: bool = True  # False: the guard could not be asked; the reply is accepted and marked


class ResponseGuard:
    def __init__(
        self, target: str, deadline_s: float = 2.0, tenant: str = "default", token: str | None = None
    ):
        self.target = target
        self.deadline_s = deadline_s
        self.tenant = tenant
        self._channel = authorized_channel(target, token)  # token: the service token when auth is on

    def check(self, body: str, language: str = "", tenant: str = "") -> GuardVerdict:
        """Ask CheckResponse with the settings of `tenant` (the complaint's); "" asks with this
        client's own tenant (the operator tenant)."""
        stub = notifications_pb2_grpc.NotificationAdminStub(self._channel)
        request = notifications_pb2.CheckResponseRequest(
            tenant=tenant or self.tenant, language=language, body=body
        )
        try:
            resp = stub.CheckResponse(
                request,
                timeout=self.deadline_s,
            )
        except grpc.RpcError as exc:
            # The customer's reply must not be lost because the guard is down: accept, and say so.
            log.warning(
                "response guard at %s unavailable (%s); reply accepted unchecked", self.target, exc.code()
            )
            return GuardVerdict(allowed=True, ran=False)
        findings = tuple(Finding(f.phrase, f.rule, f.suggestion) for f in resp.findings)
        return GuardVerdict(allowed=resp.allowed, findings=findings)

    def close(self) -> None:
        self._channel.close()
