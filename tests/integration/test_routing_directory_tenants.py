"""Each tenant's own directory and accounts (issue #13): on the real routing process with auth on,
another tenant's admin asking for the seeded tenant's teams, agents, accounts, decisions or
corrections gets NOT_FOUND and changes nothing; UpsertTeam gives a tenant its first team;
accounts are per tenant and route that tenant's complaints; roles follow auth_policy.POLICY."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
import sqlalchemy as sa
from kafka import KafkaProducer

from services.common import topics
from services.common.auth import authorized_channel, mint_token
from services.common.codec import encode, new_event
from services.common.db import make_engine
from services.common.pb.haq.v1 import complaint_pb2 as c
from services.common.pb.haq.v1 import events_pb2, routing_pb2, routing_pb2_grpc
from services.common.settings import Settings
from tests.conftest import settings_env

pytestmark = pytest.mark.integration

SECRET = "directory-tenants-secret-0123456789-abcdefgh"
HOME = "default"  # HAQ_TENANT and the seeded directory's tenant
OTHER = "acme"  # another tenant's admin
BARE = "tenant-b"  # a tenant without a directory (routed by the seeded one), with its own accounts
AGENT = "reza.karimi"  # general-care, seeded
TEAM = "general-care"


def token(roles: list[str], tenant: str = HOME, subject: str = "tester", teams: tuple[str, ...] = ()) -> str:
    return mint_token(SECRET, subject, tenant, roles, teams)


def code_of(call: Callable[[], Any]) -> tuple[grpc.StatusCode, str]:
    try:
        call()
    except grpc.RpcError as err:
        return err.code(), err.details() or ""
    return grpc.StatusCode.OK, ""


def wait_for(check: Callable[[], Any], what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what} not seen within {timeout:.0f} s"
        time.sleep(0.2)


def send_b2b(settings: Settings, tenant: str, account_id: str) -> str:
    cid = str(uuid.uuid4())
    complaint = c.Complaint(
        id=cid,
        tenant=tenant,
        reference=f"HQ-{cid[:8]}",
        subject="Question about our invoice",
        body="Please look at the invoice of last month.",
        sector=c.SECTOR_B2B,
        customer=c.CustomerIdentifiers(account_id=account_id),
    )
    env = new_event(events_pb2.ComplaintReceived(complaint=complaint), source="/haq/intake", subject=cid)
    record = encode(env)
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    try:
        producer.send(topics.LIFECYCLE_TOPIC, key=record.key, value=record.value, headers=record.headers)
        producer.flush(timeout=30)
    finally:
        producer.close(timeout=5)
    return cid


DIRECTORY_ACTIONS = ("team.upsert", "account.upsert", "agent.upsert", "agent.presence", "agent.capacity")


def directory_audit(settings: Settings) -> list[tuple[str, str, str, str]]:
    """(action, target, actor, tenant) of the routing database's directory audit entries, oldest
    first, read from the database the routing process writes (the tenant from its column, or from
    the entry's detail before the audit had one)."""
    engine = make_engine(settings.database_url("routing"))
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT * FROM routing_audit ORDER BY id")).mappings().all()
    finally:
        engine.dispose()
    return [
        (r["action"], r["target"], r["actor"], r.get("tenant") or json.loads(r["detail"]).get("tenant", ""))
        for r in rows
        if r["action"] in DIRECTORY_ACTIONS
    ]


def test_another_tenants_admin_sees_and_changes_nothing_of_the_seeded_directory(
    settings: Settings, start_service
) -> None:
    start_service("routing", HAQ_AUTH_SECRET=SECRET)
    target = settings.grpc_target("routing")
    channels: list[grpc.Channel] = []

    def stub(bearer: str) -> routing_pb2_grpc.RoutingAdminStub:
        ch = authorized_channel(target, bearer)
        channels.append(ch)
        return routing_pb2_grpc.RoutingAdminStub(ch)

    home = stub(token(["admin"], HOME, "home.admin"))
    other = stub(token(["admin"], OTHER, "acme.admin"))
    bare = stub(token(["admin"], BARE, "bare.admin"))
    ops = stub(token(["ops"], HOME, "home.ops"))
    agent = stub(token(["agent"], HOME, AGENT, teams=(TEAM,)))
    NF = grpc.StatusCode.NOT_FOUND
    try:

        def home_agent() -> routing_pb2.Agent:
            teams = home.ListTeams(routing_pb2.ListTeamsRequest(), timeout=10).teams
            return next(a for t in teams if t.id == TEAM for a in t.agents if a.id == AGENT)

        def home_team() -> routing_pb2.Team:
            teams = home.ListTeams(routing_pb2.ListTeamsRequest(), timeout=10).teams
            return next(t for t in teams if t.id == TEAM)

        agent_before, team_before = home_agent(), home_team()
        accounts_before = home.ListAccounts(routing_pb2.ListAccountsRequest(), timeout=10).accounts
        assert {a.id for a in accounts_before} >= {"ACME-001", "PARS-042"}  # seeded from accounts.yaml

        # --- ListTeams, SetPresence, SetCapacity, UpsertAgent, UpsertTeam, accounts: NOT_FOUND ---
        calls: dict[str, Callable[[], Any]] = {
            "ListTeams": lambda: other.ListTeams(routing_pb2.ListTeamsRequest(tenant=HOME), timeout=10),
            "SetPresence": lambda: other.SetPresence(
                routing_pb2.SetPresenceRequest(agent=AGENT, presence="offline", tenant=HOME), timeout=10
            ),
            "SetPresence(own tenant)": lambda: other.SetPresence(
                routing_pb2.SetPresenceRequest(agent=AGENT, presence="offline"), timeout=10
            ),
            "SetCapacity": lambda: other.SetCapacity(
                routing_pb2.SetCapacityRequest(agent=AGENT, capacity=0, tenant=HOME), timeout=10
            ),
            "SetCapacity(own tenant)": lambda: other.SetCapacity(
                routing_pb2.SetCapacityRequest(agent=AGENT, capacity=0), timeout=10
            ),
            "UpsertAgent": lambda: other.UpsertAgent(
                routing_pb2.UpsertAgentRequest(
                    agent=routing_pb2.Agent(id=AGENT, team=TEAM, capacity=0), tenant=HOME
                ),
                timeout=10,
            ),
            "UpsertAgent(own tenant)": lambda: other.UpsertAgent(
                routing_pb2.UpsertAgentRequest(agent=routing_pb2.Agent(id=AGENT, team=TEAM, capacity=0)),
                timeout=10,
            ),
            "UpsertTeam": lambda: other.UpsertTeam(
                routing_pb2.UpsertTeamRequest(
                    team=routing_pb2.Team(id=TEAM, name="Taken over", time_zone="UTC"), tenant=HOME
                ),
                timeout=10,
            ),
            "ListAccounts": lambda: other.ListAccounts(
                routing_pb2.ListAccountsRequest(tenant=HOME), timeout=10
            ),
            "UpsertAccount": lambda: other.UpsertAccount(
                routing_pb2.UpsertAccountRequest(
                    account=routing_pb2.Account(id="ACME-001", tier="standard"), tenant=HOME
                ),
                timeout=10,
            ),
        }
        for name, call in calls.items():
            assert code_of(call)[0] == NF, name
        assert home_agent() == agent_before
        assert home_team() == team_before
        assert home.ListAccounts(routing_pb2.ListAccountsRequest(), timeout=10).accounts == accounts_before

        # --- UpsertTeam: a tenant's first team is its own; the seeded tenant's is untouched ----
        made = other.UpsertTeam(
            routing_pb2.UpsertTeamRequest(
                team=routing_pb2.Team(
                    id=TEAM,
                    name="Acme care",
                    duty_owner="wile.e",
                    time_zone="America/Denver",
                    strategy="round-robin",
                )
            ),
            timeout=10,
        ).team
        assert (made.id, made.name, made.time_zone, made.strategy) == (
            TEAM,
            "Acme care",
            "America/Denver",
            "round-robin",
        )
        acme_teams = other.ListTeams(routing_pb2.ListTeamsRequest(), timeout=10).teams
        assert [(t.id, t.name, len(t.agents)) for t in acme_teams] == [(TEAM, "Acme care", 0)]
        assert home_team() == team_before
        # the other tenant now has a directory: still none of the seeded tenant's agents in it
        assert code_of(calls["SetPresence(own tenant)"])[0] == NF
        assert home_agent() == agent_before
        for team, field in (
            (routing_pb2.Team(id="x", time_zone="Mars/Olympus"), "team.time_zone"),
            (routing_pb2.Team(id="x", strategy="random"), "team.strategy"),
            (routing_pb2.Team(id="", name="no id"), "team.id"),
            (routing_pb2.Team(id="x", name="n" * 201), "team.name"),
            (routing_pb2.Team(id="x" * 65), "team.id"),
        ):
            code, details = code_of(
                lambda team=team: other.UpsertTeam(routing_pb2.UpsertTeamRequest(team=team), timeout=10)
            )
            assert code == grpc.StatusCode.INVALID_ARGUMENT and field in details, (field, details)

        # --- GetDecision, CorrectTriage, ListCorrections of the seeded tenant's complaint -------
        cid = send_b2b(settings, HOME, "ACME-001")
        decision = wait_for(
            lambda: (
                code_of(
                    lambda: home.GetDecision(routing_pb2.GetDecisionRequest(complaint_id=cid), timeout=5)
                )[0]
                == grpc.StatusCode.OK
                and home.GetDecision(routing_pb2.GetDecisionRequest(complaint_id=cid), timeout=5)
            ),
            "the seeded tenant's decision",
        )
        assert decision.rule_id == "b2b-priority-account"  # ACME-001 promises 4 h in accounts.yaml
        assert (
            code_of(lambda: other.GetDecision(routing_pb2.GetDecisionRequest(complaint_id=cid), timeout=10))[
                0
            ]
            == NF
        )
        correct = routing_pb2.CorrectTriageRequest(
            complaint=cid, signal="safety", present=True, reason="not yours", request_id="x-1"
        )
        assert code_of(lambda: other.CorrectTriage(correct, timeout=10))[0] == NF
        assert home.GetDecision(routing_pb2.GetDecisionRequest(complaint_id=cid), timeout=5) == decision
        home.CorrectTriage(
            routing_pb2.CorrectTriageRequest(
                complaint=cid, signal="safety", present=False, reason="checked", request_id="h-1"
            ),
            timeout=20,
        )
        assert [
            r.complaint_id
            for r in home.ListCorrections(routing_pb2.ListCorrectionsRequest(), timeout=10).corrections
        ] == [cid]
        assert list(other.ListCorrections(routing_pb2.ListCorrectionsRequest(), timeout=10).corrections) == []

        # --- accounts per tenant route that tenant's complaints -------------------------------
        assert list(bare.ListAccounts(routing_pb2.ListAccountsRequest(), timeout=10).accounts) == []
        first = send_b2b(settings, BARE, "ACME-001")  # not an account of tenant-b: no contract
        bare_decision = wait_for(
            lambda: (
                code_of(
                    lambda: bare.GetDecision(routing_pb2.GetDecisionRequest(complaint_id=first), timeout=5)
                )[0]
                == grpc.StatusCode.OK
                and bare.GetDecision(routing_pb2.GetDecisionRequest(complaint_id=first), timeout=5)
            ),
            "tenant-b's first decision",
        )
        assert bare_decision.rule_id != "b2b-priority-account"
        stored = bare.UpsertAccount(
            routing_pb2.UpsertAccountRequest(
                account=routing_pb2.Account(
                    id="ACME-001", name="Acme at B", tier="gold", sla_policy="b2b-bare", response_hours=2
                )
            ),
            timeout=10,
        ).account
        assert (stored.name, stored.sla_policy, stored.response_hours) == ("Acme at B", "b2b-bare", 2)
        second = send_b2b(settings, BARE, "ACME-001")
        got = wait_for(
            lambda: (
                code_of(
                    lambda: bare.GetDecision(routing_pb2.GetDecisionRequest(complaint_id=second), timeout=5)
                )[0]
                == grpc.StatusCode.OK
                and bare.GetDecision(routing_pb2.GetDecisionRequest(complaint_id=second), timeout=5)
            ),
            "tenant-b's second decision",
        )
        assert (got.rule_id, got.sla_policy) == ("b2b-priority-account", "b2b-bare")
        assert home.ListAccounts(routing_pb2.ListAccountsRequest(), timeout=10).accounts == accounts_before
        code, details = code_of(
            lambda: bare.UpsertAccount(
                routing_pb2.UpsertAccountRequest(account=routing_pb2.Account(id="A-1", response_hours=-1)),
                timeout=10,
            )
        )
        assert code == grpc.StatusCode.INVALID_ARGUMENT and "account.response_hours" in details

        # --- audited: the token's subject as actor, on the caller's tenant; refusals write nothing
        assert directory_audit(settings) == [
            ("team.upsert", TEAM, "acme.admin", OTHER),
            ("account.upsert", "ACME-001", "bare.admin", BARE),
        ]

        # --- roles -------------------------------------------------------------------------------
        assert (
            code_of(lambda: ops.ListAccounts(routing_pb2.ListAccountsRequest(), timeout=10))[0]
            == grpc.StatusCode.OK
        )
        denied = grpc.StatusCode.PERMISSION_DENIED
        assert (
            code_of(
                lambda: ops.UpsertAccount(
                    routing_pb2.UpsertAccountRequest(account=routing_pb2.Account(id="Z")), timeout=10
                )
            )[0]
            == denied
        )
        assert (
            code_of(
                lambda: ops.UpsertTeam(
                    routing_pb2.UpsertTeamRequest(team=routing_pb2.Team(id="z")), timeout=10
                )
            )[0]
            == denied
        )
        assert code_of(lambda: agent.ListAccounts(routing_pb2.ListAccountsRequest(), timeout=10))[0] == denied
        assert {a.id for a in home.ListAccounts(routing_pb2.ListAccountsRequest(), timeout=10).accounts} == {
            a.id for a in accounts_before
        }
        lead = stub(token(["team_lead"], HOME, "leila.ahmadi", teams=(TEAM,)))
        other_lead = stub(token(["team_lead"], HOME, "lead.elsewhere", teams=("clinical-governance",)))
        acme_lead = stub(token(["team_lead"], OTHER, "acme.lead"))
        for who, call in (
            ("team_lead UpsertTeam", lambda: lead.UpsertTeam(
                routing_pb2.UpsertTeamRequest(team=routing_pb2.Team(id=TEAM, name="Mine")), timeout=10
            )),
            ("team_lead ListAccounts", lambda: lead.ListAccounts(routing_pb2.ListAccountsRequest(), timeout=10)),
            ("team_lead UpsertAccount", lambda: lead.UpsertAccount(
                routing_pb2.UpsertAccountRequest(account=routing_pb2.Account(id="Z")), timeout=10
            )),
            ("team_lead UpsertAgent", lambda: lead.UpsertAgent(
                routing_pb2.UpsertAgentRequest(agent=routing_pb2.Agent(id=AGENT, team=TEAM)), timeout=10
            )),
            ("agent UpsertTeam", lambda: agent.UpsertTeam(
                routing_pb2.UpsertTeamRequest(team=routing_pb2.Team(id=TEAM)), timeout=10
            )),
            ("agent SetCapacity", lambda: agent.SetCapacity(
                routing_pb2.SetCapacityRequest(agent=AGENT, capacity=1), timeout=10
            )),
            ("agent SetPresence of another", lambda: agent.SetPresence(
                routing_pb2.SetPresenceRequest(agent="sara.mohammadi", presence="away"), timeout=10
            )),
            ("ops SetPresence", lambda: ops.SetPresence(
                routing_pb2.SetPresenceRequest(agent=AGENT, presence="away"), timeout=10
            )),
        ):  # fmt: skip
            assert code_of(call)[0] == denied, who
        assert home_agent() == agent_before
        # outside a lead's teams, or in another tenant: NOT_FOUND, nothing changed
        set_capacity = routing_pb2.SetCapacityRequest(agent=AGENT, capacity=3)
        assert code_of(lambda: other_lead.SetCapacity(set_capacity, timeout=10))[0] == NF
        assert code_of(lambda: acme_lead.SetCapacity(set_capacity, timeout=10))[0] == NF
        assert home_agent() == agent_before
        # what the policy grants: ops reads the teams, a lead sets their agent's capacity, an agent
        # their own presence (the audit names each of them)
        assert TEAM in {t.id for t in ops.ListTeams(routing_pb2.ListTeamsRequest(), timeout=10).teams}
        assert lead.SetCapacity(set_capacity, timeout=10).agent.capacity == 3
        presence = routing_pb2.SetPresenceRequest(agent=AGENT, presence="away", actor="someone.else")
        assert agent.SetPresence(presence, timeout=10).agent.presence == "away"
        assert directory_audit(settings)[-2:] == [
            ("agent.capacity", AGENT, "leila.ahmadi", HOME),
            ("agent.presence", AGENT, AGENT, HOME),
        ]
    finally:
        for ch in channels:
            ch.close()


def haq(settings: Settings, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).parent / "haq"), "rules", *args],
        env={**settings_env(settings), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_team_upsert_and_accounts_list_and_upsert(settings: Settings, start_service) -> None:
    start_service("routing", HAQ_AUTH_SECRET=SECRET)
    as_home = {"HAQ_AUTH_SECRET": SECRET, "HAQ_TOKEN": token(["admin"], HOME, "home.admin")}
    as_other = {"HAQ_AUTH_SECRET": SECRET, "HAQ_TOKEN": token(["admin"], OTHER, "acme.admin")}

    listed = haq(settings, "accounts", **as_home)
    assert listed.returncode == 0, listed.stderr
    assert "ACME-001" in listed.stdout and "b2b-contract" in listed.stdout

    done = haq(
        settings, "account", "NEW-7", "--tier", "gold", "--sla-policy", "b2b-contract", "--response-hours", "6",
        "--manager", "mark.evans", "--name", "New Co", **as_other,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    mine = json.loads(haq(settings, "accounts", "--json", **as_other).stdout)
    assert [(a["id"], a["responseHours"]) for a in mine["accounts"]] == [("NEW-7", 6)]
    assert "NEW-7" not in haq(settings, "accounts", **as_home).stdout
    hidden = haq(settings, "accounts", "--tenant", HOME, **as_other)
    assert hidden.returncode == 3, hidden.stdout + hidden.stderr  # NOT_FOUND

    made = haq(
        settings, "team", "acme-care", "--name", "Acme care", "--time-zone", "Europe/Berlin", **as_other
    )
    assert made.returncode == 0, made.stderr
    assert "acme-care (most-available, Europe/Berlin): Acme care" in made.stdout
    bad = haq(settings, "team", "acme-care", "--time-zone", "Europe/Atlantis", **as_other)
    assert bad.returncode == 2 and "team.time_zone" in bad.stderr, bad.stderr
    teams = haq(settings, "teams", **as_other)
    assert teams.returncode == 0 and "acme-care" in teams.stdout and "general-care" not in teams.stdout
