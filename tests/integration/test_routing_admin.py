"""Routing administration against the real service on the real broker: a rule set applied while
complaints flow (none lost, each routed wholly by one version), queued complaints assigned when
capacity frees, reroute requests, `haq rules explain|simulate|validate` as a subprocess, and the
triage model and thresholds versioned with the rule set (refused when unknown, simulated, explained)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import grpc
import pytest

from services.common import topics
from services.common.codec import new_event
from services.common.pb.haq.v1 import complaint_pb2, events_pb2, routing_pb2, routing_pb2_grpc
from services.common.settings import Settings
from services.common.tail import TailedRecord, collect
from services.routing.adapters.files import BUILTIN_RULES, parse_rule_set_text
from tests.conftest import settings_env
from tests.integration.test_routing_service import produce, received, routed

pytestmark = pytest.mark.integration

GENERAL, CONSUMER = complaint_pb2.SECTOR_GENERAL, complaint_pb2.COMPLAINANT_ROLE_CONSUMER
V2_RULE = """  - id: general-consumer-v2
    pack: consumer
    description: v2 sends ordinary consumer complaints at low priority.
    when: {sectors: [general]}
    then: {team: general-care, priority: low, sla_policy: default}
"""


def candidate_v2() -> str:
    """The built-in packs with the general consumer rule replaced: v2 routes the same complaints
    by a different rule at a different priority, so each event shows which version decided it."""
    source = BUILTIN_RULES.read_text(encoding="utf-8").replace("version: builtin-2", "version: v2-low")
    start = source.index("  - id: general-consumer\n")
    end = source.index("\ndefault:")
    return source[:start] + V2_RULE + source[end:]


def stub_for(settings: Settings) -> tuple[grpc.Channel, routing_pb2_grpc.RoutingAdminStub]:
    channel = grpc.insecure_channel(settings.grpc_target("routing"))
    return channel, routing_pb2_grpc.RoutingAdminStub(channel)


def routed_msgs(records: list[TailedRecord], cid: str | None = None) -> list[events_pb2.ComplaintRouted]:
    return [r.envelope.message for r in routed(records, cid)]  # type: ignore[union-attr,misc]


def test_apply_while_complaints_flow_each_routed_wholly_by_one_version(
    settings: Settings, start_service
) -> None:
    start_service("routing")
    ids = [str(uuid.uuid4()) for _ in range(120)]
    applied = threading.Event()

    def producer() -> None:
        for i in range(0, 80, 10):
            produce(
                settings,
                [received(c, GENERAL, CONSUMER, "the kettle is slow", f"evt-{c}") for c in ids[i : i + 10]],
            )
        applied.wait(60)
        produce(
            settings, [received(c, GENERAL, CONSUMER, "the kettle is slow", f"evt-{c}") for c in ids[80:]]
        )

    thread = threading.Thread(target=producer, daemon=True)
    thread.start()
    collect(settings, topics.LIFECYCLE_TOPIC, until=lambda rs: len(routed(rs)) >= 10, timeout=60)
    channel, stub = stub_for(settings)
    with channel:
        version = stub.ApplyRuleSet(
            routing_pb2.ApplyRuleSetRequest(
                source=candidate_v2(), file_name="v2.yaml", author="ops@test", comment="lower"
            ),
            timeout=10,
        )
        assert version.version == "v2-low" and version.active
        applied.set()
        thread.join(60)
        records = collect(
            settings,
            topics.LIFECYCLE_TOPIC,
            until=lambda rs: {m.complaint_id for m in routed_msgs(rs)} >= set(ids),
            timeout=90,
        )
        msgs = routed_msgs(records)
        assert sorted(m.complaint_id for m in msgs) == sorted(ids)  # none lost, none twice
        by_version = {"builtin-2": ("general-consumer", complaint_pb2.PRIORITY_NORMAL),
                      "v2-low": ("general-consumer-v2", complaint_pb2.PRIORITY_LOW)}  # fmt: skip
        for m in msgs:
            assert (m.rule_id, m.priority) == by_version[m.rule_set_version], m.complaint_id
            assert f"(rule set {m.rule_set_version})" in m.explanation
        versions = {m.rule_set_version for m in msgs}
        assert versions == {"builtin-2", "v2-low"}
        after = {m.complaint_id: m.rule_set_version for m in msgs}
        assert all(after[c] == "v2-low" for c in ids[80:])  # produced after the switch committed

        # An invalid set is refused with file, line and field; the running version stays.
        bad = (
            candidate_v2()
            .replace("version: v2-low", "version: v3-bad")
            .replace("priority: low", "priority: urgent")
        )
        with pytest.raises(grpc.RpcError) as refused:
            stub.ApplyRuleSet(
                routing_pb2.ApplyRuleSetRequest(source=bad, file_name="v3.yaml", author="ops@test"),
                timeout=10,
            )
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        line = (
            bad.splitlines().index("    then: {team: general-care, priority: urgent, sla_policy: default}")
            + 1
        )
        assert (
            f"v3.yaml:{line}: rules[" in refused.value.details()
            and ".then.priority" in refused.value.details()
        )
        listed = stub.ListRuleSetVersions(routing_pb2.ListRuleSetVersionsRequest(), timeout=10)
        assert listed.active == "v2-low" and [v.version for v in listed.versions] == ["v2-low", "builtin-2"]

        rolled = stub.RollbackRuleSet(
            routing_pb2.RollbackRuleSetRequest(author="ops@test", comment="undo"), timeout=10
        )
        assert rolled.version == "builtin-2" and rolled.active
        actions = [e.action for e in stub.ListAudit(routing_pb2.ListAuditRequest(), timeout=10).entries]
        assert actions[:3] == ["rules.rollback", "rules.apply_refused", "rules.apply"]
        diff = stub.DiffRuleSets(
            routing_pb2.DiffRuleSetsRequest(from_version="builtin-2", to_version="v2-low"), timeout=10
        )
        assert {(c.rule_id, c.change) for c in diff.changes} == {
            ("general-consumer-v2", "added"),
            ("general-consumer", "removed"),
        }


def _wait_routed(settings: Settings, cid: str, count: int = 1) -> list[events_pb2.ComplaintRouted]:
    records = collect(
        settings, topics.LIFECYCLE_TOPIC, until=lambda rs: len(routed(rs, cid)) >= count, timeout=60
    )
    msgs = routed_msgs(records, cid)
    assert len(msgs) >= count, f"{cid}: {len(msgs)} ComplaintRouted, wanted {count}"
    return msgs


def _event(message, cid: str, event_id: str):
    return new_event(message, source="/haq/escalation", subject=cid, event_id=event_id)


def test_queued_complaints_are_assigned_oldest_first_when_capacity_frees(
    settings: Settings, start_service
) -> None:
    start_service("routing")
    channel, stub = stub_for(settings)
    with channel:
        # safeguarding has one agent besides its lead: with no capacity, complaints queue on the lead.
        stub.SetCapacity(
            routing_pb2.SetCapacityRequest(agent="hamid.navabi", capacity=0, actor="ops@test"), timeout=10
        )
        first, second = str(uuid.uuid4()), str(uuid.uuid4())
        for cid in (first, second):
            produce(settings, [received(cid, complaint_pb2.SECTOR_EDUCATION, complaint_pb2.COMPLAINANT_ROLE_PARENT,
                                        "My son is bullied every day", f"evt-{cid}")])  # fmt: skip
            (msg,) = _wait_routed(settings, cid)
            assert (msg.team, msg.owner, msg.owner_is_duty_lead) == ("safeguarding", "parisa.ghorbani", True)
            assert "queue" in msg.explanation
        teams = {t.id: t for t in stub.ListTeams(routing_pb2.ListTeamsRequest(), timeout=10).teams}
        assert teams["safeguarding"].queued == 2

        update = stub.SetCapacity(
            routing_pb2.SetCapacityRequest(agent="hamid.navabi", capacity=1, actor="ops@test"), timeout=10
        )
        assert list(update.assigned) == [first]  # the oldest first; only one slot
        reassigned = _wait_routed(settings, first, 2)[-1]
        assert (reassigned.reassignment, reassigned.owner, reassigned.previous_owner) == (
            True,
            "hamid.navabi",
            "parisa.ghorbani",
        )
        assert reassigned.team == "safeguarding" and "capacity freed" in reassigned.reason
        assert reassigned.rule_id == "education-safeguarding" and reassigned.rule_set_version == "builtin-2"

        # hamid resolves the first: the second, still queued, is his next.
        produce(settings, [_event(events_pb2.Resolved(complaint_id=first, owner="hamid.navabi", team="safeguarding"),
                                  first, f"resolved-{first}")])  # fmt: skip
        nxt = _wait_routed(settings, second, 2)[-1]
        assert (nxt.reassignment, nxt.owner, nxt.previous_owner) == (True, "hamid.navabi", "parisa.ghorbani")
        deadline = time.monotonic() + 30
        while True:
            teams = {t.id: t for t in stub.ListTeams(routing_pb2.ListTeamsRequest(), timeout=10).teams}
            counts = {a.id: a.open_assignments for a in teams["safeguarding"].agents}
            if teams["safeguarding"].queued == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert teams["safeguarding"].queued == 0
        assert counts == {"parisa.ghorbani": 0, "hamid.navabi": 1}


def test_reroute_request_picks_another_owner_in_the_team(settings: Settings, start_service) -> None:
    start_service("routing")
    cid = str(uuid.uuid4())
    produce(settings, [received(cid, complaint_pb2.SECTOR_HEALTHCARE, complaint_pb2.COMPLAINANT_ROLE_PATIENT,
                                "I was given the wrong medication", f"evt-{cid}")])  # fmt: skip
    (first,) = _wait_routed(settings, cid)
    assert first.team == "clinical-governance" and not first.owner_is_duty_lead
    request = events_pb2.RerouteRequested(
        complaint_id=cid, team="clinical-governance", exclude_owners=[first.owner],
        reason="owner did not accept in time", current_owner=first.owner,
    )  # fmt: skip
    produce(settings, [_event(request, cid, f"reroute-{cid}")])
    second = _wait_routed(settings, cid, 2)[-1]
    assert second.reassignment and second.previous_owner == first.owner
    assert second.team == "clinical-governance" and second.owner not in (first.owner, "")
    assert not second.owner_is_duty_lead and "did not accept in time" in second.reason
    assert second.rule_set_version == first.rule_set_version and second.rule_id == first.rule_id
    channel, stub = stub_for(settings)
    with channel:
        deadline = time.monotonic() + 30
        while True:
            teams = {t.id: t for t in stub.ListTeams(routing_pb2.ListTeamsRequest(), timeout=10).teams}
            counts = {a.id: a.open_assignments for a in teams["clinical-governance"].agents}
            if counts[second.owner] == 1 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    assert counts[first.owner] == 0 and counts[second.owner] == 1


def haq(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).parent / "haq"), "rules", *args],
        env=settings_env(settings),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_explain_simulate_and_validate(settings: Settings, start_service, tmp_path: Path) -> None:
    start_service("routing")
    consumer_ids = [str(uuid.uuid4()) for _ in range(3)]
    clinical = str(uuid.uuid4())
    envs = [received(c, GENERAL, CONSUMER, "my order is late", f"evt-{c}") for c in consumer_ids]
    envs.append(received(clinical, complaint_pb2.SECTOR_HEALTHCARE, complaint_pb2.COMPLAINANT_ROLE_PATIENT,
                         "They gave me the wrong medication", f"evt-{clinical}"))  # fmt: skip
    produce(settings, envs)
    for cid in [*consumer_ids, clinical]:
        _wait_routed(settings, cid)

    shown = haq(settings, "explain", clinical)
    assert shown.returncode == 0, shown.stderr
    assert "MATCH healthcare-clinical [rule]: sector is healthcare" in shown.stdout
    assert "no    safety-security [override]" in shown.stdout
    assert "routed:    clinical-governance" in shown.stdout and "priority critical" in shown.stdout
    as_json = json.loads(haq(settings, "explain", clinical, "--json").stdout)
    assert as_json["ruleId"] == "healthcare-clinical" and as_json["routed"]["ruleSetVersion"] == "builtin-2"

    candidate = tmp_path / "v2.yaml"
    candidate.write_text(candidate_v2(), encoding="utf-8")
    sim = haq(settings, "simulate", str(candidate), "--last", "10")
    assert sim.returncode == 0, sim.stderr
    assert "v2-low vs active builtin-2: 3 of 4 complaint(s) would change" in sim.stdout
    report = json.loads(haq(settings, "simulate", str(candidate), "--last", "10", "--json").stdout)
    assert sorted(c["complaintId"] for c in report["changes"]) == sorted(consumer_ids)
    assert {c["toRule"] for c in report["changes"]} == {"general-consumer-v2"}
    assert haq(settings, "versions").stdout.split()[:2] == ["*", "builtin-2"]  # simulate applied nothing

    bad = tmp_path / "bad.yaml"
    bad.write_text(
        candidate_v2().replace(
            "    then: {team: general-care, priority: low", "    then: {team: nowhere, priority: low"
        )
    )
    refused = haq(settings, "validate", str(bad))
    assert refused.returncode == 2
    line = (
        bad.read_text().splitlines().index("    then: {team: nowhere, priority: low, sla_policy: default}")
        + 1
    )
    assert (
        f"bad.yaml:{line}: rules[" in refused.stderr
        and "team 'nowhere' is not in the directory" in refused.stderr
    )

    moved = haq(settings, "presence", "reza.karimi", "offline", "--actor", "ops@test")
    assert moved.returncode == 0 and "reza.karimi (general-care): offline" in moved.stdout
    assert "agent.presence" in haq(settings, "audit", "--action", "agent.presence").stdout


HARM = "The heater in my flat burned my hand and smoke filled the room"  # no safety keyword


def test_the_triage_model_and_thresholds_change_only_through_versioned_rule_sets(
    settings: Settings, start_service, tmp_path: Path
) -> None:
    start_service("routing")
    harm, late = str(uuid.uuid4()), str(uuid.uuid4())
    produce(settings, [received(harm, GENERAL, CONSUMER, HARM, f"evt-{harm}"),
                       received(late, GENERAL, CONSUMER, "my order is late", f"evt-{late}")])  # fmt: skip
    (msg,) = _wait_routed(settings, harm)
    assert (msg.team, msg.priority, msg.rule_id) == (
        "safety-security",
        complaint_pb2.PRIORITY_CRITICAL,
        "safety-security-signal",
    )
    assert (
        "safety signal " in msg.explanation
        and "Decided by the safety signal of triage model triage-1" in (msg.explanation)
    )
    _wait_routed(settings, late)
    builtin = BUILTIN_RULES.read_text(encoding="utf-8")
    threshold = next(
        b.min
        for r in parse_rule_set_text(builtin).overrides
        if r.id == "safety-security-signal"
        for b in r.when.signals
    )
    channel, stub = stub_for(settings)
    with channel:
        # Explain shows every signal, its source and words, and the model that scored it.
        e = stub.ExplainComplaint(routing_pb2.ExplainComplaintRequest(complaint=harm), timeout=10)
        assert e.triage_model == "triage-1"
        assert [s.signal for s in e.signals] == ["safety", "safeguarding", "privacy", "fraud_abuse", "urgent"]
        safety = e.signals[0]
        assert safety.score >= threshold and safety.source == "model" and "burned" in safety.top_terms

        # An unknown model is refused with its field; the running version stays.
        unknown = builtin.replace("version: builtin-2", "version: v-model").replace(
            "triage: {model: triage-1}", "triage: {model: triage-9}"
        )
        with pytest.raises(grpc.RpcError) as refused:
            stub.ApplyRuleSet(
                routing_pb2.ApplyRuleSetRequest(source=unknown, file_name="m.yaml", author="ops@test"),
                timeout=10,
            )
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        line = unknown.splitlines().index("triage: {model: triage-9}") + 1
        assert (
            f"m.yaml:{line}: triage.model: 'triage-9' is not a shipped triage model"
            in refused.value.details()
        )
        assert (
            stub.ListRuleSetVersions(routing_pb2.ListRuleSetVersionsRequest(), timeout=10).active
            == "builtin-2"
        )
        audit = stub.ListAudit(routing_pb2.ListAuditRequest(action="rules.apply_refused"), timeout=10).entries
        assert audit and "triage.model" in audit[0].detail

    # A stricter safety threshold: simulate says which recent complaints would move, changing nothing.
    stricter = builtin.replace("version: builtin-2", "version: v-strict").replace(
        f"signals: {{safety: {{min: {threshold:g}}}}}", "signals: {safety: {min: 0.99}}"
    )
    assert stricter.count("min: 0.99") == 1
    candidate = tmp_path / "strict.yaml"
    candidate.write_text(stricter, encoding="utf-8")
    report = json.loads(haq(settings, "simulate", str(candidate), "--last", "50", "--json").stdout)
    moved = {c["complaintId"]: c for c in report["changes"]}
    assert harm in moved and late not in moved
    assert (moved[harm]["fromRule"], moved[harm]["toRule"]) == ("safety-security-signal", "general-consumer")
    assert moved[harm]["fromTeam"] == "safety-security" and moved[harm]["toTeam"] == "general-care"
    diffed = haq(settings, "diff", "--file", str(candidate))
    assert diffed.returncode == 0, diffed.stderr
    assert f"when.signals: [safety ≥ {threshold:g}] -> [safety ≥ 0.99]" in diffed.stdout

    shown = haq(settings, "explain", harm)
    assert shown.returncode == 0, shown.stderr
    assert "signals (triage model triage-1):" in shown.stdout
    assert "MATCH safety-security-signal [override]: safety signal" in shown.stdout
    assert haq(settings, "versions").stdout.split()[:2] == ["*", "builtin-2"]  # nothing applied
