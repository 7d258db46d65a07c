"""Escalation's directory cache per tenant (issue #10, item 15), against a routing stand-in served
over real gRPC: each tenant reads its own teams; a tenant routing has no directory for
(NOT_FOUND) reads the seeded default one, as routing routes it; reads never wait on routing."""

from __future__ import annotations

import threading
import time
from concurrent import futures

import grpc
import pytest

from services.common.broker import free_port
from services.common.pb.haq.v1 import (
    notifications_pb2,
    notifications_pb2_grpc,
    routing_pb2,
    routing_pb2_grpc,
)
from services.escalation.adapters.directory import RoutingDirectory, StaticDirectory
from services.escalation.adapters.guard import ResponseGuard


def team(tenant: str, lead: str) -> routing_pb2.Team:
    return routing_pb2.Team(
        id="general-care",
        lead=lead,
        manager=f"{tenant}-manager",
        director=f"{tenant}-director",
        agents=[routing_pb2.Agent(id=f"{tenant}-agent", team="general-care")],
    )


class Routing(routing_pb2_grpc.RoutingAdminServicer):
    """Two tenants with directories (the seeded `default` and `acme`); any other: NOT_FOUND."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.lock = threading.Lock()

    def ListTeams(self, request, context):  # noqa: N802
        with self.lock:
            self.asked.append(request.tenant)
        if request.tenant == "default":
            return routing_pb2.ListTeamsResponse(teams=[team("default", "default-lead")])
        if request.tenant == "acme":
            return routing_pb2.ListTeamsResponse(teams=[team("acme", "acme-lead")])
        context.abort(grpc.StatusCode.NOT_FOUND, f"tenant {request.tenant!r} has no routing directory")


@pytest.fixture
def routing():
    servicer = Routing()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    routing_pb2_grpc.add_RoutingAdminServicer_to_server(servicer, server)
    port = server.add_insecure_port(f"127.0.0.1:{free_port()}")
    server.start()
    yield servicer, f"127.0.0.1:{port}"
    server.stop(0)


def wait_until(check, what: str, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def test_each_tenant_reads_its_own_directory_and_one_without_reads_the_default(routing):
    servicer, target = routing
    directory = RoutingDirectory(target, fallback=StaticDirectory(), tenant="default", deadline_s=5.0)
    assert directory.fallback_tenant == "default"  # routing's seed file names the default tenant
    assert directory.refresh()
    assert servicer.asked == ["default"]
    assert directory.ladder("general-care").lead == "default-lead"  # no tenant: the operator's

    # A first read of acme answers from the seed at once and fetches acme in the background.
    seed = StaticDirectory().ladder("general-care")
    assert directory.ladder("general-care", "acme").lead in (seed.lead, "acme-lead")
    wait_until(lambda: directory.ladder("general-care", "acme").lead == "acme-lead", "acme fetched")
    ladder = directory.ladder("general-care", "acme")
    assert (ladder.manager, ladder.director) == ("acme-manager", "acme-director")
    assert directory.roster("acme").members("general-care") >= {"acme-agent", "acme-lead"}
    assert "default-agent" not in directory.roster("acme").members("general-care")
    assert directory.own_directory("acme") is True

    # tenant-b has no directory: routing gives its complaints to the default teams, and so do we.
    directory.prime("tenant-b")
    assert directory.ladder("general-care", "tenant-b").lead == "default-lead"
    assert "default-agent" in directory.roster("tenant-b").members("general-care")
    assert directory.own_directory("tenant-b") is False

    # Every later refresh keeps every tenant read so far fresh; reads never call routing.
    servicer.asked.clear()
    assert directory.refresh()
    assert sorted(set(servicer.asked)) == ["acme", "default", "tenant-b"]
    servicer.asked.clear()
    for tenant in ("", "default", "acme", "tenant-b"):
        directory.ladder("general-care", tenant)
        directory.roster(tenant)
    assert servicer.asked == []
    directory.close()


class RecordingGuard(notifications_pb2_grpc.NotificationAdminServicer):
    """Notifications' CheckResponse stand-in: blocks for tenant acme only, and records who asked."""

    def __init__(self):
        self.asked: list[str] = []

    def CheckResponse(self, request, context):
        self.asked.append(request.tenant)
        return notifications_pb2.CheckResponseResponse(allowed=request.tenant != "acme")


def test_the_guard_is_asked_with_the_complaints_tenant_and_the_shared_client_keeps_its_own():
    servicer = RecordingGuard()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    notifications_pb2_grpc.add_NotificationAdminServicer_to_server(servicer, server)
    port = server.add_insecure_port(f"127.0.0.1:{free_port()}")
    server.start()
    guard = ResponseGuard(f"127.0.0.1:{port}", tenant="default")
    try:
        assert not guard.check("reply", "en", "acme").allowed
        assert guard.check("reply", "en").allowed  # no tenant: the client's own (the operator's)
        assert guard.check("reply", "en", "tenant-b").allowed
        assert servicer.asked == ["acme", "default", "tenant-b"]
        assert guard.tenant == "default"
    finally:
        guard.close()
        server.stop(0)
