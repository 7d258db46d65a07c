"""Where escalation learns who is above an owner and who works in which team (RoutingAdmin.ListTeams),
and the teams' business calendars (services/escalation/seed/calendars.yaml).

The directory is read over gRPC with a deadline by `RoutingDirectory.refresh`, which the worker
calls on a timer, off the event loop and outside every transaction; deadlines, agent actions and
event handlers only read the cache (`ladder`, `roster`), so nothing waits on routing while a case
is changed. Until routing has answered once, and while it cannot be reached, the last known
directory is used, else the seed files (escalation's ladder, routing's directory), logged.
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

from ..domain import Calendars, Ladder, Roster

log = logging.getLogger(__name__)

SEED = Path(__file__).resolve().parents[1] / "seed"
CALENDARS_FILE = SEED / "calendars.yaml"
LADDER_FILE = SEED / "ladder.yaml"
# Routing's seed directory: who works in which team when routing has never been reached.
ROUTING_DIRECTORY_FILE = Path(__file__).resolve().parents[2] / "routing" / "seed" / "directory.yaml"


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


def _person(spec: object) -> str:
    if isinstance(spec, dict):
        return str(spec.get("id") or "")
    return str(spec or "")


def load_roster(path: Path = ROUTING_DIRECTORY_FILE) -> dict[str, frozenset[str]]:
    """Team -> people from routing's seed directory file (empty when there is none)."""
    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    teams: dict[str, frozenset[str]] = {}
    for team in data.get("teams") or []:
        people = {_person(team.get(k)) for k in ("lead", "manager", "director", "duty_owner")}
        people |= {_person(a) for a in team.get("agents") or []}
        teams[str(team["id"])] = frozenset(p for p in people if p)
    return teams


def _with_ladders(teams: dict[str, frozenset[str]], ladders: dict[str, Ladder]) -> Roster:
    """The people of each team plus its escalation ladder (who may step in and take a case)."""
    merged = dict(teams)
    for team, ladder in ladders.items():
        merged[team] = merged.get(team, frozenset()) | frozenset(ladder.people())
    return Roster(merged)


class StaticDirectory:
    """Ladders and teams from the seed files only (tests, and the fallback of RoutingDirectory)."""

    def __init__(self, path: Path = LADDER_FILE, roster_file: Path = ROUTING_DIRECTORY_FILE):
        self.teams, self.default = load_ladders(path)
        self._roster = _with_ladders(load_roster(roster_file), self.teams)

    def ladder(self, team: str) -> Ladder:
        return self.teams.get(team, self.default)

    def roster(self) -> Roster:
        return self._roster


class RoutingDirectory:
    """Ladders and teams from routing's directory, as of the last `refresh` (the worker calls it
    every `ttl_s`, outside every transaction); the seed files fill what routing does not name and
    stand in until routing has answered once. Reading never calls routing."""

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
        self._refreshing = threading.Lock()  # one refresh at a time; readers never take it
        self._ladders: dict[str, Ladder] = {}
        self._roster: Roster | None = None
        self._fetched_at: float | None = None
        self._channel: grpc.Channel | None = None
        self.using_fallback = True

    def refresh(self) -> bool:
        """Ask routing for the directory (one call, with the deadline) and swap the cache; on
        failure the last known directory stays. Returns whether routing answered."""
        with self._refreshing:
            if self._channel is None:
                self._channel = authorized_channel(self.target, self.token)
            stub = routing_pb2_grpc.RoutingAdminStub(self._channel)
            try:
                resp = stub.ListTeams(
                    routing_pb2.ListTeamsRequest(tenant=self.tenant), timeout=self.deadline_s
                )
            except grpc.RpcError as exc:
                if not self.using_fallback or self._fetched_at is None:
                    log.warning(
                        "routing directory at %s unreachable (%s); escalating on the %s",
                        self.target,
                        exc.code() if hasattr(exc, "code") else exc,
                        "last known directory" if self._roster is not None else f"seed ladder {LADDER_FILE}",
                    )
                self.using_fallback = True
                self._fetched_at = self._monotonic()  # retried after ttl_s
                return False
            ladders: dict[str, Ladder] = {}
            teams: dict[str, frozenset[str]] = {}
            for team in resp.teams:
                seed = self.fallback.ladder(team.id)
                offline = frozenset(a.id for a in team.agents if a.presence == "offline")
                ladders[team.id] = Ladder(
                    team.lead or team.duty_owner or seed.lead,
                    team.manager or seed.manager,
                    team.director or seed.director,
                    offline,
                )
                teams[team.id] = frozenset(a.id for a in team.agents) | {
                    p for p in (team.lead, team.duty_owner) if p
                }
            if self.using_fallback and self._fetched_at is not None:
                log.info("routing directory at %s reachable again", self.target)
            # Swapped whole: a reader sees the old directory or the new one, never a mix.
            self._ladders, self._roster = ladders, _with_ladders(teams, ladders)
            self.using_fallback, self._fetched_at = False, self._monotonic()
            return True

    def stale(self) -> bool:
        return self._fetched_at is None or self._monotonic() - self._fetched_at >= self.ttl_s

    def refresh_if_stale(self) -> None:
        if self.stale():
            self.refresh()

    def ladder(self, team: str) -> Ladder:
        found = self._ladders.get(team)
        return found if found is not None else self.fallback.ladder(team)

    def roster(self) -> Roster:
        roster = self._roster
        return roster if roster is not None else self.fallback.roster()

    def close(self) -> None:
        if self._channel is not None:
            self._channel.close()
