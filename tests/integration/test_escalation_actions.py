"""Escalation as a real process: deadlines survive SIGKILL and fire once after the restart; agent
actions over CaseService, with the response guard asked over real gRPC."""

from __future__ import annotations

import uuid
from concurrent import futures
from datetime import UTC, datetime, timedelta

import grpc
import pytest

from services.common.pb.haq.v1 import (
    complaint_pb2,
    escalation_pb2,
    escalation_pb2_grpc,
    notifications_pb2,
    notifications_pb2_grpc,
)
from tests.integration.test_escalation_service import escalation_events, has, produce, received, routed

pytestmark = pytest.mark.integration


def test_pending_deadlines_fire_after_a_sigkill_and_restart_exactly_once(settings, start_service):
    service = start_service("escalation")
    cid = str(uuid.uuid4())
    # The acknowledgement falls due a few seconds from now: pending when the process is killed.
    produce(
        settings,
        received(cid, datetime.now(UTC) - timedelta(seconds=56)),
        routed(cid, complaint_pb2.PRIORITY_HIGH),
    )
    escalation_events(settings, cid, has("SlaClocksStarted"))
    service.kill()
    assert not [
        e for e in escalation_events(settings, cid, lambda _e: False, timeout=1) if e.name == "SlaBreached"
    ]

    service.start()
    events = escalation_events(settings, cid, has("SlaBreached", "Escalated"))
    assert [e.id for e in events if e.name == "SlaBreached"] == [f"breach:{cid}:acknowledgement:0"]
    later = str(uuid.uuid4())
    produce(
        settings,
        received(later, datetime.now(UTC) - timedelta(minutes=5)),
        routed(later, complaint_pb2.PRIORITY_HIGH),
    )
    escalation_events(settings, later, has("SlaBreached"))
    events = escalation_events(settings, cid, lambda _e: False, timeout=2)
    assert [e.name for e in events].count("SlaBreached") == 1
    steps = [(e.message.clock.name, e.message.step) for e in events if e.name == "Escalated"]
    assert steps.count(("acknowledgement", 1)) == 1


class Guard(notifications_pb2_grpc.NotificationAdminServicer):
    """A real gRPC server with the guard's contract: blocks "calm down", warns on "policy"."""

    def CheckResponse(self, request, context):
        findings = []
        if "calm down" in request.body.lower():
            findings.append(
                notifications_pb2.GuardFinding(phrase="calm down", rule="blame", suggestion="We understand")
            )
            return notifications_pb2.CheckResponseResponse(allowed=False, mode="block", findings=findings)
        if "policy" in request.body.lower():
            findings.append(
                notifications_pb2.GuardFinding(phrase="policy", rule="deflection", suggestion="explain")
            )
        return notifications_pb2.CheckResponseResponse(allowed=True, mode="warn", findings=findings)


@pytest.fixture
def guard_server(settings):
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    notifications_pb2_grpc.add_NotificationAdminServicer_to_server(Guard(), server)
    server.add_insecure_port(settings.grpc_target("notifications"))
    server.start()
    yield server
    server.stop(0)


def test_case_actions_over_grpc_with_the_response_guard(settings, start_service, guard_server):
    start_service("escalation")
    cid = str(uuid.uuid4())
    produce(settings, received(cid, datetime.now(UTC)), routed(cid, complaint_pb2.PRIORITY_HIGH))
    escalation_events(settings, cid, has("OwnerAssigned"))
    stub = escalation_pb2_grpc.CaseServiceStub(grpc.insecure_channel(settings.grpc_target("escalation")))

    with pytest.raises(grpc.RpcError) as early:
        stub.Respond(
            escalation_pb2.RespondRequest(complaint_id=cid, agent="agent-7", body="Hello"), timeout=10
        )
    assert (
        early.value.code() == grpc.StatusCode.FAILED_PRECONDITION and "not accepted" in early.value.details()
    )
    with pytest.raises(grpc.RpcError) as missing:
        stub.Accept(escalation_pb2.AcceptRequest(complaint_id=cid), timeout=10)
    assert missing.value.code() == grpc.StatusCode.INVALID_ARGUMENT and missing.value.details().startswith(
        "agent"
    )
    with pytest.raises(grpc.RpcError) as unknown:
        stub.Accept(escalation_pb2.AcceptRequest(complaint_id="nope", agent="a"), timeout=10)
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND

    reply = stub.Accept(
        escalation_pb2.AcceptRequest(complaint_id=cid, agent="agent-7", request_id="acc-1"), timeout=10
    )
    assert reply.status == complaint_pb2.COMPLAINT_STATUS_OWNED and reply.event_ids
    again = stub.Accept(
        escalation_pb2.AcceptRequest(complaint_id=cid, agent="agent-7", request_id="acc-1"), timeout=10
    )
    assert again.event_ids == []  # a retried request applies once

    with pytest.raises(grpc.RpcError) as blocked:
        stub.Respond(
            escalation_pb2.RespondRequest(complaint_id=cid, agent="agent-7", body="Calm down."), timeout=10
        )
    assert (
        blocked.value.code() == grpc.StatusCode.FAILED_PRECONDITION and "calm down" in blocked.value.details()
    )
    warned = stub.Respond(
        escalation_pb2.RespondRequest(complaint_id=cid, agent="agent-7", body="Our policy allows a refund."),
        timeout=10,
    )
    assert warned.guard_ran and [w.rule for w in warned.warnings] == ["deflection"]
    events = escalation_events(settings, cid, has("AgentResponded"))
    responded = next(e for e in events if e.name == "AgentResponded").message
    assert responded.guard_warnings and responded.status == complaint_pb2.COMPLAINT_STATUS_IN_PROGRESS

    with pytest.raises(grpc.RpcError) as deflect:
        stub.Resolve(
            escalation_pb2.ResolveRequest(
                complaint_id=cid, agent="agent-7", resolution_code="not_our_department", summary="elsewhere"
            ),
            timeout=10,
        )
    assert (
        deflect.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        and "not our department" in deflect.value.details()
    )

    guard_server.stop(0)  # the guard is down: the reply is still accepted, and marked unchecked
    unchecked = stub.Respond(
        escalation_pb2.RespondRequest(complaint_id=cid, agent="agent-7", body="Refund sent today."),
        timeout=10,
    )
    assert not unchecked.guard_ran
