"""The shared gRPC server's answers to two failures, on a real in-process server (GrpcServer):
request bytes that are not a valid message -> INVALID_ARGUMENT naming the method, a transient
database failure -> UNAVAILABLE without the database's address; any other exception is still UNKNOWN,
a servicer's own abort keeps its code, and health checking and reflection keep working."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from sqlalchemy.exc import IntegrityError, OperationalError

from services.common.auth import mint_token
from services.common.grpc_server import UNAVAILABLE_DETAILS, GrpcServer
from services.common.pb.haq.v1 import escalation_pb2, escalation_pb2_grpc

ADD_NOTE = "/haq.v1.CaseService/AddNote"
DB_ADDRESS = 'connection to server at "db-7.internal" (10.9.8.7), port 5433 failed: Connection refused'
SECRET = "unit-test-secret-of-at-least-32-bytes!"
NOTE = escalation_pb2.AddNoteRequest(complaint_id="c-1", agent="a", body="called").SerializeToString()


class Cases(escalation_pb2_grpc.CaseServiceServicer):
    """AddNote's body picks the outcome."""

    def AddNote(self, request: escalation_pb2.AddNoteRequest, context: grpc.ServicerContext):
        if request.body == "db-away":
            raise OperationalError("SELECT 1", {}, Exception(DB_ADDRESS))
        if request.body == "duplicate":
            raise IntegrityError("INSERT INTO notes", {}, Exception("duplicate key"))
        if request.body == "bug":
            raise RuntimeError("a bug in the servicer")
        if request.body == "missing":
            context.abort(grpc.StatusCode.NOT_FOUND, "complaint_id: no such complaint")
        return escalation_pb2.CaseReply(complaint_id=request.complaint_id)


def _serve(auth_secret: str = "") -> Iterator[grpc.Channel]:
    server = GrpcServer(
        "127.0.0.1",
        0,
        [(escalation_pb2_grpc.add_CaseServiceServicer_to_server, Cases(), "haq.v1.CaseService")],
        max_workers=4,
        auth_secret=auth_secret,
    )
    server.start()
    server.set_serving(True)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            yield channel
    finally:
        server.stop(grace=0)


@pytest.fixture(scope="module")
def channel() -> Iterator[grpc.Channel]:
    yield from _serve()


@pytest.fixture(scope="module")
def auth_channel() -> Iterator[grpc.Channel]:
    yield from _serve(SECRET)


def raw(channel: grpc.Channel, method: str = ADD_NOTE) -> grpc.UnaryUnaryMultiCallable:
    """No serializer on either side: the bytes go out exactly as given."""
    return channel.unary_unary(method, request_serializer=bytes, response_deserializer=bytes)


def note(channel: grpc.Channel, body: str) -> escalation_pb2.CaseReply:
    stub = escalation_pb2_grpc.CaseServiceStub(channel)
    return stub.AddNote(escalation_pb2.AddNoteRequest(complaint_id="c-1", agent="a", body=body), timeout=10)


@pytest.mark.parametrize(
    "data",
    [
        NOTE.replace(b"called", b"cal\xffed"),  # a string field that is not UTF-8
        NOTE[:-3] + b"\x12\xff",  # a length running past the end
        b"\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff",  # a varint that never ends
    ],
)
def test_bytes_that_are_not_a_valid_message_are_invalid_argument(channel: grpc.Channel, data: bytes):
    with pytest.raises(grpc.RpcError) as err:
        raw(channel)(data, timeout=10)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT, err.value.details()
    assert err.value.details() == "request: not a valid AddNote request (DecodeError)"


def test_valid_bytes_still_reach_the_servicer(channel: grpc.Channel):
    reply = escalation_pb2.CaseReply.FromString(raw(channel)(NOTE, timeout=10))
    assert reply.complaint_id == "c-1"


def test_with_auth_the_token_is_checked_before_the_bytes(auth_channel: grpc.Channel):
    bad = NOTE.replace(b"called", b"cal\xffed")
    with pytest.raises(grpc.RpcError) as err:
        raw(auth_channel)(bad, timeout=10)
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    token = mint_token(SECRET, "reza", "default", ["agent"])
    metadata = (("authorization", f"Bearer {token}"),)
    with pytest.raises(grpc.RpcError) as err:
        raw(auth_channel)(bad, metadata=metadata, timeout=10)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert err.value.details() == "request: not a valid AddNote request (DecodeError)"
    reply = escalation_pb2.CaseReply.FromString(raw(auth_channel)(NOTE, metadata=metadata, timeout=10))
    assert reply.complaint_id == "c-1"


def test_a_transient_database_failure_is_unavailable_without_the_address(
    channel: grpc.Channel, caplog: pytest.LogCaptureFixture
):
    with (
        caplog.at_level(logging.WARNING, logger="services.common.grpc_server"),
        pytest.raises(grpc.RpcError) as err,
    ):
        note(channel, "db-away")
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE, err.value.details()
    assert err.value.details() == UNAVAILABLE_DETAILS
    warnings = [r for r in caplog.records if r.name == "services.common.grpc_server"]
    assert warnings and warnings[-1].levelno == logging.WARNING
    logged = warnings[-1].getMessage()
    assert ADD_NOTE in logged and "OperationalError" in logged
    for secret in ("db-7.internal", "10.9.8.7", "5433", "SELECT"):
        assert secret not in logged and secret not in err.value.details()


@pytest.mark.parametrize(("body", "code"), [("bug", "UNKNOWN"), ("duplicate", "UNKNOWN")])
def test_any_other_exception_is_not_swallowed(channel: grpc.Channel, body: str, code: str):
    with pytest.raises(grpc.RpcError) as err:
        note(channel, body)
    assert err.value.code() == grpc.StatusCode[code], err.value.details()
    assert "Exception calling application" in (err.value.details() or "")


def test_a_servicer_abort_keeps_its_code(channel: grpc.Channel):
    with pytest.raises(grpc.RpcError) as err:
        note(channel, "missing")
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    assert err.value.details() == "complaint_id: no such complaint"


def test_health_and_reflection_still_work(channel: grpc.Channel):
    health = health_pb2_grpc.HealthStub(channel)
    check = health.Check(health_pb2.HealthCheckRequest(service="haq.v1.CaseService"), timeout=10)
    assert check.status == health_pb2.HealthCheckResponse.SERVING
    watch = health.Watch(health_pb2.HealthCheckRequest(service=""), timeout=10)  # unary-stream
    assert next(watch).status == health_pb2.HealthCheckResponse.SERVING
    watch.cancel()
    with pytest.raises(grpc.RpcError) as err:  # a malformed Watch request: unary-stream refused too
        next(raw_stream(channel, "/grpc.health.v1.Health/Watch")(b"\x0a\x05ab", timeout=10))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert err.value.details() == "request: not a valid Watch request (DecodeError)"
    reflect = reflection_pb2_grpc.ServerReflectionStub(channel)  # stream-stream
    answers = list(
        reflect.ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=10
        )
    )
    names = {s.name for s in answers[0].list_services_response.service}
    assert {"haq.v1.CaseService", "grpc.health.v1.Health"} <= names


def raw_stream(channel: grpc.Channel, method: str) -> grpc.UnaryStreamMultiCallable:
    return channel.unary_stream(method, request_serializer=bytes, response_deserializer=bytes)
