"""Where escalation learns who is above an owner and who works in which team (RoutingAdmin.ListTeams),
and the teams' business calendars (services/escalation/seed/calendars.yaml).

The directory is read over gRPC with a deadline by `RoutingDirectory.refresh`, which the worker
calls on a timer, off the event loop and outside every transaction; deadlines, agent actions and
event handlers only read the cache (`ladder`, `roster`), so nothing waits on routing while a case
is changed. Until routing has answered once, and while it cannot be reached, the last known
directory is used, else the seed files (escalation's ladder, routing's directory), logged.

Each tenant has its own directory: `ladder(team, tenant)` and `roster(tenant)` read the complaint's
tenant's copy (no tenant: the operator tenant's). A tenant without a directory of its own is
served by the seeded (default) directory, the rule routing applies when it routes
(`Router.directory_tenant`): routing's ListTeams answers NOT_FOUND for it, and the seeded tenant's
teams are used. A tenant read for the first time is fetched on a background thread at once (the
reader is never kept waiting) and kept fresh by every later refresh; until it has been fetched the
seed files stand in.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import grpc
import yaml

from services.common.directory import RoutingTeams, seeded_tenant
from services.common.pb.haq.v1 import routing_pb2

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
    """Ladders and teams from the seed files only (tests, and the fallback of RoutingDirectory).
    The same for every tenant: the seed is the default directory."""

    def __init__(self, path: Path = LADDER_FILE, roster_file: Path = ROUTING_DIRECTORY_FILE):
        self.teams, self.default = load_ladders(path)
        self._roster = _with_ladders(load_roster(roster_file), self.teams)
        self.tenant = seeded_tenant(roster_file)  # whose directory the seed is

    def ladder(self, team: str, tenant: str = "") -> Ladder:
        return self.teams.get(team, self.default)

    def roster(self, tenant: str = "") -> Roster:
        return self._roster


@dataclass(frozen=True)
class _TenantCopy:
    """One tenant's directory as routing last gave it."""

    ladders: dict[str, Ladder]
    roster: Roster
    own: bool  # False: the tenant has no directory; these are the seeded tenant's teams


class RoutingDirectory:
    """Ladders and teams from routing's directory, per tenant, as of the last `refresh` (the worker
    calls it every `ttl_s`, outside every transaction); the seed files fill what routing does not
    name and stand in until routing has answered once. Reading never calls routing."""

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
        fallback_tenant: str | None = None,
    ):
        self.target = target
        self.fallback = fallback or StaticDirectory()
        self.ttl_s = ttl_s
        self.deadline_s = deadline_s
        self.tenant = tenant  # the operator tenant: reads that name no tenant
        # Routing's default directory (the seeded one) serves tenants without their own.
        self.fallback_tenant = fallback_tenant or self.fallback.tenant
        self.token = token  # the service token, when routing checks tokens
        self._monotonic = monotonic
        self._refreshing = threading.Lock()  # one refresh at a time; readers never take it
        self._wanted_lock = threading.Lock()
        self._wanted: set[str] = {tenant}  # every tenant read so far: each refresh fetches them all
        self._copies: dict[str, _TenantCopy] = {}  # swapped whole, never changed in place
        self._primed: set[str] = set()  # tenants routing has answered for at least once
        self._fetched_at: float | None = None
        self._teams = RoutingTeams(target, token=token, timeout_s=deadline_s)
        self.using_fallback = True

    # --- refreshing (off the event loop, outside every transaction) ----------------------------

    def _copy_of(self, resp: routing_pb2.ListTeamsResponse, own: bool) -> _TenantCopy:
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
        return _TenantCopy(ladders, _with_ladders(teams, ladders), own=own)

    def refresh(self, tenants: set[str] | None = None) -> bool:
        """Ask routing for the directory of every tenant read so far (one call each, with the
        deadline) and swap the cache; on failure a tenant's last known directory stays. Returns
        whether routing answered for all of them."""
        with self._refreshing:
            with self._wanted_lock:
                wanted = sorted(tenants if tenants is not None else self._wanted)
            copies = dict(self._copies)
            fallback: dict[str, routing_pb2.ListTeamsResponse | None] = {}  # asked once per round
            failed: grpc.RpcError | None = None
            for tenant in wanted:
                try:
                    served = self._teams.served(tenant, self.fallback_tenant, fallback)
                except grpc.RpcError as exc:
                    failed = exc
                    continue
                if served is None:
                    copies.pop(tenant, None)  # no directory at all: the seed files
                else:
                    copies[tenant] = self._copy_of(served.teams, served.own)
                self._primed.add(tenant)
            # Swapped whole: a reader sees the old directory or the new one, never a mix.
            self._copies = copies
            if failed is not None:
                if tenants is None and (not self.using_fallback or self._fetched_at is None):
                    log.warning(
                        "routing directory at %s unreachable (%s); escalating on the %s",
                        self.target,
                        failed.code() if hasattr(failed, "code") else failed,
                        "last known directory" if copies else f"seed ladder {LADDER_FILE}",
                    )
                if tenants is None:
                    self.using_fallback = True
                    self._fetched_at = self._monotonic()  # retried after ttl_s
                return False
            if tenants is None:
                if self.using_fallback and self._fetched_at is not None:
                    log.info("routing directory at %s reachable again", self.target)
                self.using_fallback, self._fetched_at = False, self._monotonic()
            return True

    def stale(self) -> bool:
        return self._fetched_at is None or self._monotonic() - self._fetched_at >= self.ttl_s

    def refresh_if_stale(self) -> None:
        if self.stale():
            self.refresh()

    def _fetch_soon(self, tenant: str) -> None:
        """First read of a tenant: fetch its directory on a thread of its own, so the reader (maybe
        inside a transaction) never waits on routing; the seed stands in until it has answered."""
        with self._wanted_lock:
            if tenant in self._wanted:
                return
            self._wanted.add(tenant)

        def fetch() -> None:
            try:
                self.refresh({tenant})
            except Exception:  # the next timed refresh tries again
                log.warning("fetching the directory of tenant %r failed", tenant, exc_info=True)

        threading.Thread(target=fetch, name=f"directory-{tenant}", daemon=True).start()

    def prime(self, tenant: str) -> None:
        """Fetch a tenant's directory now if it was never fetched: for a caller outside every
        transaction and off the event loop (an agent action, before its transaction), so the
        first transfer of a tenant is checked against its own teams, not the seed. One call with
        the deadline; when routing cannot answer the seed stands in, as for any reader."""
        tenant = tenant.strip() or self.tenant
        if tenant in self._primed:
            return
        with self._wanted_lock:
            self._wanted.add(tenant)
        if self.refresh({tenant}):
            self._primed.add(tenant)

    # --- reading (a cache read: never a call to routing) ---------------------------------------

    def _copy(self, tenant: str) -> _TenantCopy | None:
        tenant = tenant.strip() or self.tenant
        found = self._copies.get(tenant)
        if found is None and tenant not in self._wanted:
            self._fetch_soon(tenant)
        return found

    def ladder(self, team: str, tenant: str = "") -> Ladder:
        copy = self._copy(tenant)
        found = copy.ladders.get(team) if copy is not None else None
        return found if found is not None else self.fallback.ladder(team)

    def roster(self, tenant: str = "") -> Roster:
        copy = self._copy(tenant)
        return copy.roster if copy is not None else self.fallback.roster()

    def own_directory(self, tenant: str = "") -> bool | None:
        """Whether routing has a directory of the tenant's own (None: not fetched yet)."""
        copy = self._copies.get(tenant.strip() or self.tenant)
        return copy.own if copy is not None else None

    def close(self) -> None:
        self._teams.close()
