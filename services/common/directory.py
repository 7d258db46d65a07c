"""Routing's directory as the other services read it: RoutingAdmin.ListTeams for a tenant.

Routing gives the complaints of a tenant without a directory of its own to the seeded (default)
directory's teams (`Router.directory_tenant`); its ListTeams answers NOT_FOUND for such a tenant.
`RoutingTeams.served` applies the same rule for every reader, so escalation's ladders and
notifications' staff addresses always come from the directory whose people own the complaint.
Each reader keeps its own cache policy (escalation refreshes on a timer and never waits;
notifications fetches when its copy is old); this module is the one way to ask.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import grpc
import yaml

from .auth import authorized_channel
from .pb.haq.v1 import routing_pb2, routing_pb2_grpc
from .settings import get_settings


def seeded_tenant(path: Path | None = None) -> str:
    """The tenant whose directory routing seeds from its directory file (HAQ_DIRECTORY_FILE):
    routing's fallback for tenants without a directory of their own."""
    path = path or get_settings().directory_file
    if not path.is_file():
        return "default"
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return str(data.get("tenant") or "default")


@dataclass(frozen=True)
class ServedTeams:
    teams: routing_pb2.ListTeamsResponse
    own: bool  # False: the tenant has no directory; these are the seeded tenant's teams


class RoutingTeams:
    """RoutingAdmin.ListTeams over one channel (opened on first use), every call with a deadline."""

    def __init__(self, target: str, *, token: str | None = None, timeout_s: float = 3.0):
        self.target = target
        self.token = token  # the service token, when routing checks tokens
        self.timeout_s = timeout_s
        self._channel: grpc.Channel | None = None

    def own(self, tenant: str) -> routing_pb2.ListTeamsResponse | None:
        """The tenant's own directory; None when routing has none for it. Raises grpc.RpcError."""
        if self._channel is None:
            self._channel = authorized_channel(self.target, self.token)
        stub = routing_pb2_grpc.RoutingAdminStub(self._channel)
        try:
            return stub.ListTeams(routing_pb2.ListTeamsRequest(tenant=tenant), timeout=self.timeout_s)
        except grpc.RpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:
                return None
            raise

    def served(
        self,
        tenant: str,
        fallback_tenant: str,
        fallback: dict[str, routing_pb2.ListTeamsResponse | None] | None = None,
    ) -> ServedTeams | None:
        """The teams routing gives the tenant's complaints to: its own directory, else the
        fallback tenant's, else None (no directory at all). `fallback` memoises the fallback
        tenant's answer across the calls of one refresh round. Raises grpc.RpcError."""
        own = self.own(tenant)
        if own is not None:
            return ServedTeams(own, own=True)
        if tenant == fallback_tenant:
            return None
        memo = fallback if fallback is not None else {}
        if fallback_tenant not in memo:
            memo[fallback_tenant] = self.own(fallback_tenant)
        default = memo[fallback_tenant]
        return ServedTeams(default, own=False) if default is not None else None

    def close(self) -> None:
        if self._channel is not None:
            self._channel.close()
            self._channel = None
