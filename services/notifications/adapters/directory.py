"""Staff contact details from routing's directory (RoutingAdmin.ListTeams over gRPC), cached.

Every call has a deadline. A fresh copy is fetched when the cached one is older than `refresh_s`;
if routing cannot be reached, a copy up to `max_stale_s` old is still used (people's addresses
rarely change within the hour), and with none, DirectoryUnavailable tells the caller to try later.

A tenant without a directory of its own is served by the seeded (default) directory, the rule
routing applies when it routes (`Router.directory_tenant`): its complaints are owned by the default
directory's staff, so their mails need that directory's addresses. Routing's ListTeams answers
NOT_FOUND for such a tenant; the seeded tenant's teams are asked for instead.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import grpc

from services.common.directory import RoutingTeams, seeded_tenant
from services.common.pb.haq.v1 import routing_pb2

from ..domain.audience import TeamLadder
from ..domain.tenant import StaffProfile

log = logging.getLogger(__name__)


class DirectoryUnavailable(Exception):
    """Routing could not be asked and nothing recent enough is cached."""


@dataclass(frozen=True)
class DirectorySnapshot:
    people: dict[str, StaffProfile] = field(default_factory=dict)
    teams: dict[str, TeamLadder] = field(default_factory=dict)


def snapshot_from(response: routing_pb2.ListTeamsResponse) -> DirectorySnapshot:
    people: dict[str, StaffProfile] = {}
    teams: dict[str, TeamLadder] = {}
    for team in response.teams:
        lead = team.lead or team.duty_owner
        teams[team.id] = TeamLadder(
            lead=lead, manager=team.manager, director=team.director, time_zone=team.time_zone
        )
        for agent in team.agents:
            people[agent.id] = StaffProfile(
                id=agent.id,
                name=agent.name,
                email=agent.email,
                chat_handle=agent.chat_handle,
                language=(list(agent.languages) or [""])[0],
                time_zone=team.time_zone,
            )
    return DirectorySnapshot(people, teams)


class RoutingDirectory:
    def __init__(
        self,
        target: str,
        *,
        timeout_s: float = 3.0,
        refresh_s: float = 60.0,
        max_stale_s: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
        token: str | None = None,
        fallback_tenant: str | None = None,
    ):
        self.target = target
        # Routing's default directory, which serves tenants without their own.
        self.fallback_tenant = fallback_tenant or seeded_tenant()
        self.token = token  # the service token, when routing checks tokens
        self.timeout_s = timeout_s
        self.refresh_s = refresh_s
        self.max_stale_s = max_stale_s
        self.clock = clock
        self._cache: dict[str, tuple[float, DirectorySnapshot]] = {}
        self._lock = threading.Lock()
        self._teams = RoutingTeams(target, token=token, timeout_s=timeout_s)

    def snapshot(self, tenant: str) -> DirectorySnapshot:
        with self._lock:
            now = self.clock()
            cached = self._cache.get(tenant)
            if cached is not None and now - cached[0] < self.refresh_s:
                return cached[1]
            try:
                fresh = self._fetch(tenant)
            except grpc.RpcError as exc:
                if cached is not None and now - cached[0] < self.max_stale_s:
                    log.warning(
                        "routing directory unreachable (%s); using a copy %.0fs old",
                        exc.code(),
                        now - cached[0],
                    )
                    return cached[1]
                else:
                    raise DirectoryUnavailable(f"routing at {self.target}: {exc.code().name}") from exc
            self._cache[tenant] = (now, fresh)
            return fresh

    def _fetch(self, tenant: str) -> DirectorySnapshot:
        served = self._teams.served(tenant, self.fallback_tenant)
        return snapshot_from(served.teams) if served is not None else DirectorySnapshot()

    def close(self) -> None:
        self._teams.close()
