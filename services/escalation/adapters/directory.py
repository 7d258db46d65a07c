"""Where escalation learns who is above an owner (RoutingAdmin.ListTeams) and the teams' business
calendars (services/escalation/seed/calendars.yaml).

The directory is read over gRPC with a deadline and cached; when routing cannot be reached the
seed ladder file is used (and logged), so a breach still reaches a lead, a manager, a director.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

import grpc
import yaml

from services.common.auth import authorized_channel
from services.common.pb.haq.v1 import routing_pb2, routing_pb2_grpc

from ..domain import Calendars, Ladder

log = logging.getLogger(__name__)

SEED = Path(__file__).resolve().parents[1] / "seed"
CALENDARS_FILE = SEED / "calendars.yaml"
LADDER_FILE = SEED / "ladder.yaml"


def load_calendars(path: Path = CALENDARS_FILE) -> Calendars:
    return Calendars.from_dict(yaml.safe_load(path.read_text(encoding="utf-8")) or {})


def load_ladders(path: Path = LADDER_FILE) -> tuple[dict[str, Ladder], Ladder]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}

    def ladder(spec: dict) -> Ladder:
        return Ladder(
            str(spec.get("lead") or ""), str(spec.get("manager") or ""), str(spec.get("director") or "")
        )

    teams = {str(t): ladder(spec or {}) for t, spec in (data.get("teams") or {}).items()}
    return teams, ladder(data.get("default") or {})


class StaticDirectory:
    """Ladders from the seed file only (tests, and the fallback of RoutingDirectory)."""

    def __init__(self, path: Path = LADDER_FILE):
        self.teams, self.default = load_ladders(path)

    def ladder(self, team: str) -> Ladder:
        return self.teams.get(team, self.default)


class RoutingDirectory:
    """Ladders from routing's directory, refreshed every `ttl_s`; the seed file fills what routing
    does not name and stands in while routing is unreachable."""

    def __init__(
        self,
        target: str,
        *,
        fallback: StaticDirectory | None = None,
        ttl_s: float = 30.0,
        deadline_s: float = 2.0,
        tenant: str = "default",
        monotonic: Callable[[], float] = time.monotonic,
        token: str | None = None,
    ):
        self.target = target
        self.fallback = fallback or StaticDirectory()
        self.ttl_s = ttl_s
        self.deadline_s = deadline_s
        self.tenant = tenant
        self.token = token  # the service token, when routing checks tokens
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._ladders: dict[str, Ladder] = {}
        self._fetched_at: float | None = None
        self._channel: grpc.Channel | None = None
        self.using_fallback = False

    def _refresh(self) -> None:
        if self._channel is None:
            self._channel = authorized_channel(self.target, self.token)
        stub = routing_pb2_grpc.RoutingAdminStub(self._channel)
        try:
            resp = stub.ListTeams(routing_pb2.ListTeamsRequest(tenant=self.tenant), timeout=self.deadline_s)
        except grpc.RpcError as exc:
            if not self.using_fallback:
                log.warning(
                    "routing directory at %s unreachable (%s); escalating on the seed ladder %s",
                    self.target,
                    exc.code() if hasattr(exc, "code") else exc,
                    LADDER_FILE,
                )
            self.using_fallback = True
            self._fetched_at = self._monotonic()  # retry after ttl, not on every call
            return
        ladders = {}
        for team in resp.teams:
            seed = self.fallback.ladder(team.id)
            offline = frozenset(a.id for a in team.agents if a.presence == "offline")
            ladders[team.id] = Ladder(
                team.lead or team.duty_owner or seed.lead,
                team.manager or seed.manager,
                team.director or seed.director,
                offline,
            )
        if self.using_fallback:
            log.info("routing directory at %s reachable again", self.target)
        self._ladders, self.using_fallback = ladders, False
        self._fetched_at = self._monotonic()

    def ladder(self, team: str) -> Ladder:
        with self._lock:
            if self._fetched_at is None or self._monotonic() - self._fetched_at >= self.ttl_s:
                self._refresh()
            found = self._ladders.get(team)
        return found if found is not None else self.fallback.ladder(team)

    def close(self) -> None:
        if self._channel is not None:
            self._channel.close()
