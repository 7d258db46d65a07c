"""Per-tenant rule sets on one running routing service (real broker, gRPC, SQLite, auth on):

- two tenants with different rule sets route the same complaint differently; a third tenant with
  none is routed by the built-in (the operator tenant's) and says so (`inherited`);
- every rule-set RPC scopes to the caller's tenant: another tenant's is NOT_FOUND and changes
  nothing; the audit names the token's subject, never the request's author;
- a staged version routes exactly the complaints in its share (channel and stable hash), promote
  makes it active, cancel drops it;
- an apply that would move a recent complaint away from a safety override is refused, naming it,
  and audited; confirmed, it applies.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from services.common import topics
from services.common.auth import authorized_channel, mint_token
from services.common.codec import Envelope, new_event
from services.common.db import make_engine
from services.common.migrations import migrate
from services.common.pb.haq.v1 import complaint_pb2, events_pb2, routing_pb2, routing_pb2_grpc
from services.common.settings import Settings
from services.common.tail import collect
from services.routing.adapters import db as routing_db
from services.routing.adapters.files import BUILTIN_RULES
from services.routing.domain.staging import bucket
from tests.conftest import settings_env
from tests.integration.test_routing_admin import candidate_v2, routed_msgs
from tests.integration.test_routing_service import produce

pytestmark = pytest.mark.integration

SECRET = "tenant-rules-test-secret-0123456789-abcdefgh"
HOME, ACME, BARE = "default", "acme", "tenant-b"
GENERAL, CONSUMER = complaint_pb2.SECTOR_GENERAL, complaint_pb2.COMPLAINANT_ROLE_CONSUMER


def stub(
    settings: Settings, tenant: str, roles: list[str], subject: str
) -> routing_pb2_grpc.RoutingAdminStub:
    channel = authorized_channel(settings.grpc_target("routing"), mint_token(SECRET, subject, tenant, roles))
    return routing_pb2_grpc.RoutingAdminStub(channel)


def code(call: Callable[[], Any]) -> grpc.StatusCode:
    try:
        result = call()
        if hasattr(result, "__iter__") and not hasattr(result, "ListFields"):
            list(result)  # a server stream fails on reading
    except grpc.RpcError as err:
        return err.code()
    return grpc.StatusCode.OK


def received(
    cid: str, tenant: str, body: str = "my order is late", channel: int = complaint_pb2.CHANNEL_WEB
) -> Envelope:
    complaint = complaint_pb2.Complaint(
        id=cid,
        reference=f"HQ-{cid[:4].upper()}-{cid[4:6].upper()}",
        tenant=tenant,
        channel=channel,
        sector=GENERAL,
        complainant_role=CONSUMER,
        subject="complaint",
        body=body,
    )
    return new_event(events_pb2.ComplaintReceived(complaint=complaint), source="/haq/intake", subject=cid)


def wait_routed(settings: Settings, ids: list[str]) -> dict[str, events_pb2.ComplaintRouted]:
    records = collect(
        settings,
        topics.LIFECYCLE_TOPIC,
        until=lambda rs: {m.complaint_id for m in routed_msgs(rs)} >= set(ids),
        timeout=90,
    )
    return {m.complaint_id: m for m in routed_msgs(records) if m.complaint_id in ids}


def acme_source(version: str) -> str:
    return candidate_v2().replace("version: v2-low", f"version: {version}")


def test_two_tenants_route_the_same_complaint_by_their_own_rule_sets(
    settings: Settings, start_service
) -> None:
    start_service("routing", HAQ_AUTH_SECRET=SECRET)
    home_admin = stub(settings, HOME, ["admin"], "olivia")
    acme_admin = stub(settings, ACME, ["admin"], "adam")
    bare_ops = stub(settings, BARE, ["ops"], "bea")

    applied = acme_admin.ApplyRuleSet(
        routing_pb2.ApplyRuleSetRequest(
            source=acme_source("acme-1"), file_name="acme.yaml", author="mallory"
        ),
        timeout=10,
    )
    assert (applied.version, applied.tenant, applied.author, applied.active) == ("acme-1", ACME, "adam", True)
    assert not applied.built_in

    ids = {t: str(uuid.uuid4()) for t in (HOME, ACME, BARE)}
    produce(settings, [received(cid, tenant) for tenant, cid in ids.items()])
    msgs = wait_routed(settings, list(ids.values()))
    assert (msgs[ids[HOME]].rule_id, msgs[ids[HOME]].rule_set_version) == ("general-consumer", "builtin-2")
    assert (msgs[ids[ACME]].rule_id, msgs[ids[ACME]].rule_set_version) == ("general-consumer-v2", "acme-1")
    assert msgs[ids[ACME]].priority == complaint_pb2.PRIORITY_LOW
    assert msgs[ids[BARE]].rule_set_version == "builtin-2"  # no rules of its own: the built-in
    decision = acme_admin.GetDecision(routing_pb2.GetDecisionRequest(complaint_id=ids[ACME]), timeout=10)
    assert (decision.tenant, decision.rule_set_tenant, decision.rule_set_staged) == (ACME, ACME, False)
    bare = bare_ops.GetDecision(routing_pb2.GetDecisionRequest(complaint_id=ids[BARE]), timeout=10)
    assert (bare.tenant, bare.rule_set_tenant) == (BARE, HOME)

    listed = acme_admin.ListRuleSetVersions(routing_pb2.ListRuleSetVersionsRequest(), timeout=10)
    assert [v.version for v in listed.versions] == ["acme-1"] and listed.active == "acme-1"
    assert not listed.inherited
    inherited = bare_ops.ListRuleSetVersions(routing_pb2.ListRuleSetVersionsRequest(), timeout=10)
    assert (list(inherited.versions), inherited.active, inherited.inherited) == ([], "builtin-2", True)
    shown = bare_ops.GetRuleSet(routing_pb2.GetRuleSetRequest(), timeout=10)  # the built-in routing it
    assert shown.built_in and shown.version == "builtin-2" and shown.active and "overrides:" in shown.source
    home_list = home_admin.ListRuleSetVersions(routing_pb2.ListRuleSetVersionsRequest(), timeout=10)
    assert [v.version for v in home_list.versions] == ["builtin-2"] and home_list.versions[0].built_in

    # Another tenant's rule sets and audit: NOT_FOUND for every RPC, from either side.
    def cross(other: routing_pb2_grpc.RoutingAdminStub, tenant: str) -> dict[str, grpc.StatusCode]:
        src = acme_source("intruder-1")
        return {
            "list": code(lambda: other.ListRuleSetVersions(routing_pb2.ListRuleSetVersionsRequest(tenant=tenant), timeout=10)),
            "get": code(lambda: other.GetRuleSet(routing_pb2.GetRuleSetRequest(tenant=tenant), timeout=10)),
            "diff": code(lambda: other.DiffRuleSets(routing_pb2.DiffRuleSetsRequest(tenant=tenant, to_source=src), timeout=10)),
            "validate": code(lambda: other.ValidateRuleSet(routing_pb2.RuleSetSource(tenant=tenant, source=src), timeout=10)),
            "apply": code(lambda: other.ApplyRuleSet(routing_pb2.ApplyRuleSetRequest(tenant=tenant, source=src), timeout=10)),
            "rollback": code(lambda: other.RollbackRuleSet(routing_pb2.RollbackRuleSetRequest(tenant=tenant), timeout=10)),
            "simulate": code(lambda: other.SimulateRuleSet(routing_pb2.SimulateRuleSetRequest(tenant=tenant, source=src), timeout=10)),
            "audit": code(lambda: other.ListAudit(routing_pb2.ListAuditRequest(tenant=tenant), timeout=10)),
            "export": code(lambda: other.ExportAudit(routing_pb2.ListAuditRequest(tenant=tenant), timeout=10)),
            "promote": code(lambda: other.PromoteRuleSet(routing_pb2.PromoteRuleSetRequest(tenant=tenant), timeout=10)),
            "cancel": code(lambda: other.CancelStagedRuleSet(routing_pb2.CancelStagedRuleSetRequest(tenant=tenant), timeout=10)),
        }  # fmt: skip

    for caller, tenant in ((home_admin, ACME), (acme_admin, HOME)):
        assert set(cross(caller, tenant).values()) == {grpc.StatusCode.NOT_FOUND}, tenant
    # Another tenant's ops: reads NOT_FOUND; changes are refused by role before any lookup.
    writes = {"apply", "rollback", "promote", "cancel"}
    by_ops = cross(bare_ops, ACME)
    assert {k for k, v in by_ops.items() if v == grpc.StatusCode.NOT_FOUND} == set(by_ops) - writes, by_ops
    assert {k for k, v in by_ops.items() if v == grpc.StatusCode.PERMISSION_DENIED} == writes
    explain = routing_pb2.ExplainComplaintRequest(complaint=ids[HOME])
    assert code(lambda: acme_admin.ExplainComplaint(explain, timeout=10)) == grpc.StatusCode.NOT_FOUND
    explained = acme_admin.ExplainComplaint(
        routing_pb2.ExplainComplaintRequest(complaint=ids[ACME]), timeout=10
    )
    assert explained.rule_set_version == "acme-1" and explained.rule_id == "general-consumer-v2"
    # Nothing changed: each tenant's versions are as they were; no intruder version anywhere.
    assert [v.version for v in acme_admin.ListRuleSetVersions(routing_pb2.ListRuleSetVersionsRequest(), timeout=10).versions] == ["acme-1"]  # fmt: skip
    assert [v.version for v in home_admin.ListRuleSetVersions(routing_pb2.ListRuleSetVersionsRequest(), timeout=10).versions] == ["builtin-2"]  # fmt: skip
    # Ops read but do not change; a tenant admin's change never touches the built-in.
    assert code(lambda: bare_ops.ApplyRuleSet(routing_pb2.ApplyRuleSetRequest(source=acme_source("b-1")), timeout=10)) == grpc.StatusCode.PERMISSION_DENIED  # fmt: skip

    # The audit: per tenant, actor from the token, exported oldest first.
    acme_audit = acme_admin.ListAudit(routing_pb2.ListAuditRequest(), timeout=10).entries
    assert [(e.action, e.actor, e.tenant) for e in acme_audit] == [("rules.apply", "adam", ACME)]
    home_audit = list(home_admin.ExportAudit(routing_pb2.ListAuditRequest(), timeout=10))
    assert home_audit[0].action == "rules.seed" and {e.tenant for e in home_audit} == {HOME}
    assert [e.id for e in home_audit] == sorted(e.id for e in home_audit)
    # `haq rules audit --jsonl`: the caller's tenant's audit as JSON lines, oldest first.
    env = {**settings_env(settings), "HAQ_TOKEN": mint_token(SECRET, "adam", ACME, ["admin"])}
    done = subprocess.run(
        [str(Path(sys.executable).parent / "haq"), "rules", "audit", "--jsonl"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(e["action"], e["actor"], e["tenant"]) for e in lines] == [("rules.apply", "adam", ACME)]


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_the_audit_is_append_only(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """After the migrations, the database itself refuses to change or delete an audit entry."""
    url = (
        f"sqlite:///{tmp_path / 'routing.db'}"
        if kind == "sqlite"
        else request.getfixturevalue("postgres_db_url")
    )
    engine = make_engine(url)
    migrate(engine, "routing")
    with Session(engine) as session:
        routing_db.audit(session, "adam", "rules.apply", "v1", {}, tenant=ACME)
        session.commit()
    for statement in ("UPDATE routing_audit SET actor = 'mallory'", "DELETE FROM routing_audit"):
        with engine.begin() as conn, pytest.raises(DBAPIError, match="append-only"):
            conn.execute(text(statement))
    with Session(engine) as session:
        assert [(e.actor, e.tenant) for e in routing_db.list_audit(session, ACME)] == [("adam", ACME)]
    engine.dispose()


def haq(settings: Settings, subject: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`haq rules ...` as a subprocess with an admin token of acme."""
    env = {**settings_env(settings), "HAQ_TOKEN": mint_token(SECRET, subject, ACME, ["admin"])}
    return subprocess.run(
        [str(Path(sys.executable).parent / "haq"), "rules", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_staging_promote_cancel_and_the_safety_refusal(
    settings: Settings, start_service, tmp_path: Path
) -> None:
    start_service("routing", HAQ_AUTH_SECRET=SECRET)
    acme = stub(settings, ACME, ["admin"], "adam")
    home = stub(settings, HOME, ["admin"], "olivia")
    acme.ApplyRuleSet(routing_pb2.ApplyRuleSetRequest(source=BUILTIN_RULES.read_text().replace("version: builtin-2", "version: acme-1")), timeout=10)  # fmt: skip

    # Staged (by the CLI) for half of web traffic: exactly the web complaints hashed below 50.
    candidate = tmp_path / "acme-2.yaml"
    candidate.write_text(acme_source("acme-2"), encoding="utf-8")
    staged = haq(settings, "adam", "apply", str(candidate), "--stage-percent", "50", "--stage-channel", "web")
    assert staged.returncode == 0, staged.stderr
    assert "staged acme-2 (tenant acme) for 50% of web" in staged.stdout
    listed = acme.ListRuleSetVersions(routing_pb2.ListRuleSetVersionsRequest(), timeout=10)
    assert (listed.active, listed.staged, listed.staging.percent) == ("acme-1", "acme-2", 50)
    web = [str(uuid.uuid4()) for _ in range(30)]
    email = [str(uuid.uuid4()) for _ in range(5)]
    produce(settings, [received(c, ACME) for c in web] + [received(c, ACME, channel=complaint_pb2.CHANNEL_EMAIL) for c in email])  # fmt: skip
    msgs = wait_routed(settings, web + email)
    expected = {c: ("acme-2" if c in web and bucket(c) < 50 else "acme-1") for c in web + email}
    assert {c: m.rule_set_version for c, m in msgs.items()} == expected
    assert {"acme-1", "acme-2"} <= set(expected.values())
    assert all("staged" in msgs[c].explanation for c in expected if expected[c] == "acme-2")

    promoted = haq(settings, "adam", "promote", "-m", "good")
    assert promoted.returncode == 0 and "promoted acme-2; active now" in promoted.stdout, promoted.stderr
    assert acme.GetRuleSet(routing_pb2.GetRuleSetRequest(), timeout=10).version == "acme-2"
    assert code(lambda: acme.CancelStagedRuleSet(routing_pb2.CancelStagedRuleSetRequest(), timeout=10)) == grpc.StatusCode.FAILED_PRECONDITION  # fmt: skip
    acme.ApplyRuleSet(routing_pb2.ApplyRuleSetRequest(source=acme_source("acme-3"), staging=routing_pb2.Staging(percent=10)), timeout=10)  # fmt: skip
    kept = acme.CancelStagedRuleSet(routing_pb2.CancelStagedRuleSetRequest(comment="no"), timeout=10)
    assert kept.version == "acme-2" and kept.active
    assert acme.ListRuleSetVersions(routing_pb2.ListRuleSetVersionsRequest(), timeout=10).staged == ""
    rolled = acme.RollbackRuleSet(routing_pb2.RollbackRuleSetRequest(author="mallory"), timeout=10)
    assert rolled.version == "acme-1" and rolled.active
    actions = [
        (e.action, e.actor) for e in acme.ListAudit(routing_pb2.ListAuditRequest(), timeout=10).entries
    ]
    assert actions == [("rules.rollback", "adam"), ("rules.cancel_stage", "adam"), ("rules.stage", "adam"),
                       ("rules.promote", "adam"), ("rules.stage", "adam"), ("rules.apply", "adam")]  # fmt: skip

    # The operator drops the safety overrides: a recent gas leak would leave them.
    gas = str(uuid.uuid4())
    produce(settings, [received(gas, HOME, body="There is a gas leak in the hallway")])
    (routed_gas,) = wait_routed(settings, [gas]).values()
    assert routed_gas.team == "safety-security"
    builtin = BUILTIN_RULES.read_text(encoding="utf-8")
    # Without the safety-security overrides (keyword and signals): the gas leak goes elsewhere.
    start, end = builtin.index("  - id: safety-security\n"), builtin.index("\nrules:\n")
    risky = (builtin[:start] + builtin[end:]).replace("version: builtin-2", "version: builtin-3")
    with pytest.raises(grpc.RpcError) as refused:
        home.ApplyRuleSet(routing_pb2.ApplyRuleSetRequest(source=risky, file_name="b3.yaml"), timeout=30)
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    reference = received(gas, HOME).message.complaint.reference
    assert reference in refused.value.details() and "safety override" in refused.value.details()
    assert (
        home.ListRuleSetVersions(routing_pb2.ListRuleSetVersionsRequest(), timeout=10).active == "builtin-2"
    )
    entry = home.ListAudit(routing_pb2.ListAuditRequest(action="rules.apply_refused"), timeout=10).entries[0]
    assert entry.actor == "olivia" and json.loads(entry.detail)["safety"] == [reference]
    sim = home.SimulateRuleSet(routing_pb2.SimulateRuleSetRequest(source=risky), timeout=30)
    assert sim.safety_changed >= 1 and sim.team_changed >= 1 and sim.tenant == HOME
    assert any(c.complaint_id == gas and c.leaves_safety_override for c in sim.changes)
    confirmed = home.ApplyRuleSet(
        routing_pb2.ApplyRuleSetRequest(source=risky, confirm_safety_changes=True), timeout=30
    )
    assert confirmed.version == "builtin-3" and confirmed.active and confirmed.built_in
    # acme has its own rules: the new built-in changes nothing there.
    assert acme.ListRuleSetVersions(routing_pb2.ListRuleSetVersionsRequest(), timeout=10).active == "acme-1"


def test_a_tenant_with_its_first_team_but_the_built_in_rules_is_still_routed(
    settings: Settings, start_service
) -> None:
    """Its complaints keep the seeded directory (whose teams the built-in rules name) until it
    applies rules of its own, which then route into its own teams: never left unrouted between."""
    start_service("routing", HAQ_AUTH_SECRET=SECRET)
    fresh = "fresh-co"
    admin = stub(settings, fresh, ["admin"], "fay")
    admin.UpsertTeam(routing_pb2.UpsertTeamRequest(team=routing_pb2.Team(id="care", name="Care")), timeout=10)
    admin.UpsertAgent(
        routing_pb2.UpsertAgentRequest(
            agent=routing_pb2.Agent(id="fay.agent", team="care", capacity=5, presence="online")
        ),
        timeout=10,
    )
    first = str(uuid.uuid4())
    produce(settings, [received(first, fresh)])
    assert wait_routed(settings, [first])[first].rule_set_version == "builtin-2"
    decision = admin.GetDecision(routing_pb2.GetDecisionRequest(complaint_id=first), timeout=10)
    assert (decision.tenant, decision.rule_set_tenant, decision.team) == (fresh, HOME, "general-care")

    own = (
        "version: fresh-1\ndescription: one team\n"
        "default:\n  id: default\n  then: {team: care, priority: normal, sla_policy: default}\n"
    )
    applied = admin.ApplyRuleSet(
        routing_pb2.ApplyRuleSetRequest(source=own, file_name="fresh.yaml", confirm_safety_changes=True),
        timeout=10,
    )
    assert (applied.version, applied.tenant) == ("fresh-1", fresh)
    second = str(uuid.uuid4())
    produce(settings, [received(second, fresh)])
    routed_second = wait_routed(settings, [second])[second]
    assert (routed_second.rule_set_version, routed_second.team, routed_second.owner) == (
        "fresh-1",
        "care",
        "fay.agent",
    )
