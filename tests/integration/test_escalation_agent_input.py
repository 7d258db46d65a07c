"""CaseService over real gRPC on a real escalation process: request ids scoped per complaint and
action, transfers checked against the directory, limits and NUL on every free-text field."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import grpc
import pytest

from services.common.codec import new_event
from services.common.pb.haq.v1 import complaint_pb2, escalation_pb2, escalation_pb2_grpc, events_pb2
from tests.integration.test_escalation_service import escalation_events, has, produce, received

pytestmark = pytest.mark.integration


def routed_to(cid: str, team: str, owner: str):
    msg = events_pb2.ComplaintRouted(
        complaint_id=cid, team=team, owner=owner, priority=complaint_pb2.PRIORITY_HIGH, sla_policy="default"
    )
    return new_event(msg, source="/haq/routing", subject=cid)


def refused(call) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as error:
        call()
    return error.value


@pytest.fixture
def cases(settings, start_service):
    start_service("escalation")
    return escalation_pb2_grpc.CaseServiceStub(grpc.insecure_channel(settings.grpc_target("escalation")))


def open_complaint(settings, team: str = "general-care", owner: str = "reza.karimi") -> str:
    cid = str(uuid.uuid4())
    produce(settings, received(cid, datetime.now(UTC)), routed_to(cid, team, owner))
    escalation_events(settings, cid, has("OwnerAssigned"))
    return cid


def test_a_request_id_reused_on_another_complaint_is_applied(settings, cases):
    a, b = open_complaint(settings), open_complaint(settings)
    first = cases.Accept(
        escalation_pb2.AcceptRequest(complaint_id=a, agent="reza.karimi", request_id="r-1"), timeout=10
    )
    assert first.event_ids
    other = cases.Accept(
        escalation_pb2.AcceptRequest(complaint_id=b, agent="reza.karimi", request_id="r-1"), timeout=10
    )
    assert other.status == complaint_pb2.COMPLAINT_STATUS_OWNED and other.event_ids
    # The same id on another action of the same complaint is a new request too.
    note = cases.AddNote(
        escalation_pb2.AddNoteRequest(complaint_id=a, agent="reza.karimi", body="called", request_id="r-1"),
        timeout=10,
    )
    assert note.event_ids
    assert escalation_events(settings, b, has("OwnerAccepted"))


def test_transfers_are_checked_against_the_directory(settings, cases):
    cid = open_complaint(settings)
    cases.Accept(escalation_pb2.AcceptRequest(complaint_id=cid, agent="reza.karimi"), timeout=10)

    def transfer(**fields):
        request = escalation_pb2.RequestTransferRequest(
            complaint_id=cid, agent="reza.karimi", reason="personal data", **fields
        )
        return cases.RequestTransfer(request, timeout=10)

    error = refused(lambda: transfer(to_team="no-such-team"))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and error.details().startswith("to_team:")
    error = refused(lambda: transfer(to_team="privacy-office", to_owner="ghost.person"))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and error.details().startswith("to_owner:")

    assert transfer(to_team="privacy-office").transfer_id
    answer = escalation_pb2.TransferAnswerRequest(complaint_id=cid, agent="made-up.name")
    error = refused(lambda: cases.AcceptTransfer(answer, timeout=10))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and error.details().startswith("agent:")
    reply = cases.AcceptTransfer(
        escalation_pb2.TransferAnswerRequest(complaint_id=cid, agent="elena.rossi"), timeout=10
    )
    assert (reply.owner, reply.team) == ("elena.rossi", "privacy-office")


def test_free_text_limits_and_nul_are_refused_naming_the_field(settings, cases):
    cid = open_complaint(settings)
    cases.Accept(escalation_pb2.AcceptRequest(complaint_id=cid, agent="reza.karimi"), timeout=10)

    error = refused(
        lambda: cases.AddNote(
            escalation_pb2.AddNoteRequest(complaint_id=cid, agent="reza.karimi", body="x" * 2_000_000),
            timeout=10,
        )
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details() == "body: at most 10000 characters"

    error = refused(
        lambda: cases.Respond(
            escalation_pb2.RespondRequest(complaint_id=cid, agent="reza.karimi", body="y" * 10_001),
            timeout=10,
        )
    )
    assert error.details() == "body: at most 10000 characters"

    error = refused(
        lambda: cases.RequestTransfer(
            escalation_pb2.RequestTransferRequest(
                complaint_id=cid, agent="reza.karimi", to_team="privacy-office", reason="r" * 501
            ),
            timeout=10,
        )
    )
    assert error.details() == "reason: at most 500 characters"

    error = refused(
        lambda: cases.RequestInfo(
            escalation_pb2.RequestInfoRequest(complaint_id=cid, agent="reza.karimi", question="which\x00one"),
            timeout=10,
        )
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details() == "question: must not contain NUL characters"

    error = refused(
        lambda: cases.Accept(escalation_pb2.AcceptRequest(complaint_id=cid, agent="a" * 129), timeout=10)
    )
    assert error.details() == "agent: at most 128 characters"

    # Within the limits the note is kept: the outbox is not wedged.
    ok = cases.AddNote(
        escalation_pb2.AddNoteRequest(complaint_id=cid, agent="reza.karimi", body="z" * 10_000), timeout=10
    )
    assert ok.event_ids
    escalation_events(settings, cid, has("InternalNoteAdded"))
