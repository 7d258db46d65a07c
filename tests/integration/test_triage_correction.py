"""A person corrects triage on the running services (intake, routing, escalation as real processes
on the real broker and databases, authentication on): a complaint with no safety words is routed to
an ordinary team; a team lead marks it "safety" over real gRPC (CorrectTriage); routing re-decides
at once and announces TriageCorrected and a ComplaintRouted reassignment to safety-security at
critical priority with policy safety-critical, the explanation naming the correction and who made
it; escalation's case takes the new team, priority and policy; intake's case file shows the
correction; ListCorrections (and `haq case corrections --jsonl`) returns it for the corpus, and
`haq case clear` by a lead of the safety team routes it back. A repeated request id corrects once; a bad
signal name is INVALID_ARGUMENT naming `signal`; an agent of another team cannot see the complaint."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import grpc
import pytest

from services.common import topics
from services.common.auth import authorized_channel, mint_token
from services.common.pb.haq.v1 import complaint_pb2 as c
from services.common.pb.haq.v1 import (
    escalation_pb2,
    escalation_pb2_grpc,
    events_pb2,
    intake_pb2,
    intake_pb2_grpc,
    routing_pb2,
    routing_pb2_grpc,
)
from services.common.settings import Settings
from services.common.tail import TailedRecord, collect
from tests.conftest import settings_env

pytestmark = pytest.mark.integration

SECRET = "triage-correction-test-secret-0123456789"


def token(settings: Settings, subject: str, roles: list[str], teams: tuple[str, ...] = ()) -> str:
    return mint_token(SECRET, subject, settings.tenant, roles, teams)


def wait_for(what: str, probe: Callable[[], Any], timeout: float = 90) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            found = probe()
        except grpc.RpcError as err:
            if err.code() != grpc.StatusCode.NOT_FOUND:
                raise
            found = None
        if found:
            return found
        assert time.monotonic() < deadline, f"waited {timeout} s for {what}"
        time.sleep(0.3)


def events_of(records: list[TailedRecord], cid: str, type_name: str) -> list[Any]:
    return [
        r.envelope.message
        for r in records
        if r.envelope is not None and r.envelope.subject == cid and r.envelope.type == f"haq.v1.{type_name}"
    ]


@pytest.mark.parametrize("routing_db", ["sqlite", "postgresql"])
def test_a_team_lead_marks_safety_and_the_complaint_is_rerouted_at_once(
    settings: Settings, start_service, routing_db: str, request: pytest.FixtureRequest
):
    # Routing's unit of work (locks, JSON input, outbox) on both databases it runs on.
    url = request.getfixturevalue("postgres_db_url") if routing_db == "postgresql" else ""
    start_service("routing", HAQ_AUTH_SECRET=SECRET, HAQ_ROUTING_DATABASE_URL=url)
    for name in ("escalation", "intake"):
        start_service(name, HAQ_AUTH_SECRET=SECRET)
    target = settings.grpc_target
    admin = token(settings, "ops-admin", ["admin"])
    intake = intake_pb2_grpc.IntakeServiceStub(
        authorized_channel(target("intake"), token(settings, "web-form", ["integration"]))
    )
    submitted = intake.SubmitComplaint(
        intake_pb2.SubmitComplaintRequest(
            draft=c.ComplaintDraft(
                channel=c.CHANNEL_EMAIL,
                sector=c.SECTOR_GENERAL,
                complainant_role=c.COMPLAINANT_ROLE_CONSUMER,
                customer=c.CustomerIdentifiers(email="triage.correction@example.com"),
                subject="Charged twice",
                body="I was charged twice for my subscription this month and want a refund.",
            )
        ),
        timeout=10,
    )
    cid = submitted.complaint_id
    routing_admin = routing_pb2_grpc.RoutingAdminStub(authorized_channel(target("routing"), admin))
    sla = escalation_pb2_grpc.SlaServiceStub(authorized_channel(target("escalation"), admin))
    cases = escalation_pb2_grpc.CaseServiceStub(authorized_channel(target("escalation"), admin))

    first = wait_for(
        "the first decision and escalation's case",
        lambda: (
            sla.GetClocks(escalation_pb2.GetClocksRequest(complaint_id=cid), timeout=5).owner
            and routing_admin.GetDecision(routing_pb2.GetDecisionRequest(complaint_id=cid), timeout=5)
        ),
    )
    ordinary_team = first.team
    assert ordinary_team != "safety-security" and first.sla_policy != "safety-critical"

    lead = token(settings, "lead-of-" + ordinary_team, ["team_lead"], (ordinary_team,))
    routing = routing_pb2_grpc.RoutingAdminStub(authorized_channel(target("routing"), lead))

    # Refused before anything changes: a bad signal name, and a complaint outside the caller's teams.
    with pytest.raises(grpc.RpcError) as bad:
        routing.CorrectTriage(
            routing_pb2.CorrectTriageRequest(complaint=cid, signal="danger", present=True, reason="x"),
            timeout=10,
        )
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "signal" in bad.value.details()
    outsider = routing_pb2_grpc.RoutingAdminStub(
        authorized_channel(target("routing"), token(settings, "agent-x", ["agent"], ("no-such-team",)))
    )
    with pytest.raises(grpc.RpcError) as hidden:
        outsider.CorrectTriage(
            routing_pb2.CorrectTriageRequest(complaint=cid, signal="safety", present=True, reason="x"),
            timeout=10,
        )
    assert hidden.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as unknown:
        routing.CorrectTriage(
            routing_pb2.CorrectTriageRequest(
                complaint="no-such-complaint", signal="safety", present=True, reason="x"
            ),
            timeout=10,
        )
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND

    request = routing_pb2.CorrectTriageRequest(
        complaint=cid,
        signal="safety",
        present=True,
        reason="the caller said the charger caught fire",
        request_id="r-1",
    )
    reply = routing.CorrectTriage(request, timeout=10)
    assert reply.changed and reply.previous_team == ordinary_team
    d = reply.decision
    assert (d.team, d.priority, d.sla_policy) == ("safety-security", c.PRIORITY_CRITICAL, "safety-critical")
    again = routing.CorrectTriage(request, timeout=10)  # a retry with the same request id
    assert (again.changed, again.previous_team, again.decision.team) == (
        True,
        ordinary_team,
        "safety-security",
    )

    # On the lifecycle topic: the correction and the reassignment it caused, each once.
    def announced(records: list[TailedRecord]) -> bool:
        escalated = [
            r
            for r in records
            if r.envelope is not None
            and r.envelope.subject == cid
            and r.envelope.source == "/haq/escalation"
            and r.envelope.type == "haq.v1.SlaClocksStarted"
            and r.envelope.message.policy == "safety-critical"
        ]
        return bool(events_of(records, cid, "TriageCorrected")) and bool(escalated)

    records = collect(settings, topics.LIFECYCLE_TOPIC, announced, timeout=60)
    (corrected,) = events_of(records, cid, "TriageCorrected")
    assert isinstance(corrected, events_pb2.TriageCorrected)
    assert (corrected.signal, corrected.present, corrected.corrected_by) == (
        "safety",
        True,
        "lead-of-" + ordinary_team,
    )
    assert (corrected.previous_team, corrected.team) == (ordinary_team, "safety-security")
    assert 0.0 <= corrected.model_score < 0.5  # the model had not seen danger in it
    reassigned = [m for m in events_of(records, cid, "ComplaintRouted") if m.reassignment]
    assert len(reassigned) == 1
    moved = reassigned[0]
    assert (moved.team, moved.priority, moved.sla_policy) == (
        "safety-security",
        c.PRIORITY_CRITICAL,
        "safety-critical",
    )
    assert moved.rule_id.startswith("safety") and moved.owner and moved.previous_owner == first.owner
    assert f"Triage corrected by lead-of-{ordinary_team}: safety marked present" in moved.explanation
    assert f"from {ordinary_team} to safety-security" in moved.explanation

    # Escalation's case: the new team, policy and priority, clocks restarted round the clock.
    clocks = wait_for(
        "escalation to take the correction",
        lambda: (
            (k := sla.GetClocks(escalation_pb2.GetClocksRequest(complaint_id=cid), timeout=5)).policy
            == "safety-critical"
            and k
        ),
    )
    assert clocks.team == "safety-security" and moved.owner in (clocks.owner, clocks.offered_to)
    first_response = [x for x in clocks.details if x.clock.name == "first_response"][-1]
    assert first_response.round_the_clock and first_response.target_seconds == 30 * 60
    queue = cases.ListQueue(escalation_pb2.ListQueueRequest(agent=moved.owner), timeout=5)
    (item,) = [i for i in queue.items if i.complaint_id == cid]
    assert (item.priority, item.policy, item.team) == ("critical", "safety-critical", "safety-security")

    # Intake's case file shows the correction and the new priority and policy.
    reader = intake_pb2_grpc.IntakeServiceStub(authorized_channel(target("intake"), admin))
    case_file = wait_for(
        "the case file to show the correction",
        lambda: (
            (f := reader.GetComplaint(intake_pb2.GetComplaintRequest(complaint=cid), timeout=5))
            and any(t.type == "TriageCorrected" for t in f.timeline)
            and f.sla_policy == "safety-critical"
            and f
        ),
    )
    (line,) = [t.summary for t in case_file.timeline if t.type == "TriageCorrected"]
    assert line == f"Triage corrected by lead-of-{ordinary_team}: safety marked; now with safety-security"
    assert case_file.priority == c.PRIORITY_CRITICAL

    # For the corpus: the correction with the text as routed.
    listed = routing_admin.ListCorrections(routing_pb2.ListCorrectionsRequest(), timeout=10)
    mine = [x for x in listed.corrections if x.complaint_id == cid]
    assert len(mine) == 1
    assert (mine[0].signal, mine[0].present, mine[0].corrected_by) == (
        "safety",
        True,
        "lead-of-" + ordinary_team,
    )
    assert (
        mine[0].text.startswith("Charged twice\n")
        and mine[0].language == "en"
        and mine[0].sector == "general"
    )
    # The explanation routing gives now carries the correction.
    explained = routing_admin.ExplainComplaint(routing_pb2.ExplainComplaintRequest(complaint=cid), timeout=10)
    assert explained.team == "safety-security"
    assert [s.source for s in explained.signals if s.signal == "safety"] == ["correction"]

    # The same from `haq case`: the corpus export, and a lead of the safety team clearing the mark
    # (the ordinary team's lead no longer sees the complaint: exit 3, not found).
    def haq(bearer: str, *args: str) -> subprocess.CompletedProcess[str]:
        env = {**settings_env(settings), "HAQ_TOKEN": bearer}
        return subprocess.run(
            [sys.executable, "-m", "services.console.cli", "case", *args, "--routing", target("routing")],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    exported = haq(admin, "corrections", "--jsonl")
    assert exported.returncode == 0, exported.stderr
    (record,) = [r for r in map(json.loads, exported.stdout.splitlines()) if r["id"] == f"corr-{cid}"]
    assert record["labels"]["safety"] == 1 and record["split"] == "train"
    assert (record["subject"], record["language"]) == ("Charged twice", "en")
    assert record["body"].startswith("I was charged twice")

    gone = haq(lead, "clear", cid, "safety")
    assert gone.returncode == 3, gone.stdout + gone.stderr
    safety_lead = token(settings, "lead-of-safety", ["team_lead"], ("safety-security",))
    cleared = haq(safety_lead, "clear", cid, "safety", "--reason", "it was a billing complaint after all")
    assert cleared.returncode == 0, cleared.stderr
    assert f"safety cleared; re-routed from safety-security to {ordinary_team}" in cleared.stdout
    decision = routing_admin.GetDecision(routing_pb2.GetDecisionRequest(complaint_id=cid), timeout=5)
    assert (decision.team, decision.sla_policy) == (ordinary_team, first.sla_policy)
