"""The deadline firer: one failing case never stops the batch (it is retried with backoff), and
nothing synchronous to another service happens while a case is fired (the directory is a cache
refreshed outside every transaction)."""

from __future__ import annotations

import threading
from concurrent import futures
from datetime import UTC, datetime

import grpc
import pytest
from prometheus_client import REGISTRY
from sqlmodel import Session

from services.common.broker import free_port
from services.common.db import create_tables, make_engine
from services.common.pb.haq.v1 import routing_pb2, routing_pb2_grpc
from services.common.runtime import EventConsumer
from services.escalation.adapters.db import MODELS, load_case
from services.escalation.adapters.directory import RoutingDirectory, StaticDirectory
from services.escalation.domain import ClockName, ClockState, ManualClock
from services.escalation.service_layer.deadlines import DeadlineFirer
from services.escalation.service_layer.handlers import EscalationHandlers
from services.escalation.service_layer.shared import Binder
from tests.unit.test_escalation_handlers import outbox, received, routed

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
ACK = ClockName.ACKNOWLEDGEMENT


@pytest.fixture
def engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'escalation.db'}")
    create_tables(engine, MODELS)
    return engine


def open_cases(engine, clock, *cids: str) -> None:
    handlers = EscalationHandlers(clock)
    consumer = EventConsumer("escalation-lifecycle", "escalation", engine, relay=None)
    for cid in cids:
        consumer.apply(received(cid, T0), handlers.on_received)
        consumer.apply(routed(cid), handlers.on_routed)


class FlakyBinder(Binder):
    """Binds like the real one, but fails for the complaints in `broken` (a poison case)."""

    def __init__(self, broken: set[str]):
        super().__init__()
        self.broken = broken
        self.calls: list[str] = []

    def __call__(self, case, tenant=""):
        self.calls.append(case.complaint_id)
        if case.complaint_id in self.broken:
            raise RuntimeError(f"cannot bind {case.complaint_id}")
        return super().__call__(case, tenant)


def fire_failures() -> float:
    return REGISTRY.get_sample_value("haq_deadline_fire_failures_total") or 0.0


def breaches(engine) -> list[str]:
    return [e.subject for e in outbox(engine) if e.type == "haq.v1.SlaBreached"]


def test_a_failing_case_does_not_abort_the_batch_and_is_retried_with_backoff(engine):
    clock = ManualClock(T0)
    open_cases(engine, clock, "c-1", "c-bad", "c-3")
    clock.advance(61)  # every acknowledgement is overdue
    binder = FlakyBinder({"c-bad"})
    firer = DeadlineFirer(engine, clock, binder=binder)
    failures = fire_failures()

    assert firer.fire_due() == 2  # the other two fire although c-bad fails
    assert sorted(breaches(engine)) == ["c-1", "c-3"]
    assert fire_failures() == failures + 1

    binder.calls.clear()
    clock.advance(0.5)  # inside the backoff: c-bad is not tried again yet
    firer.fire_due()
    assert "c-bad" not in binder.calls

    clock.advance(1)  # after the first backoff (1 s) it is tried again, and fails again
    firer.fire_due()
    assert binder.calls.count("c-bad") == 1
    assert fire_failures() == failures + 2

    binder.broken.clear()  # fixed: the next retry (2 s later) fires it, once
    clock.advance(1)
    firer.fire_due()
    assert "c-bad" not in breaches(engine)
    clock.advance(1.5)
    assert firer.fire_due() == 1
    assert sorted(breaches(engine)) == ["c-1", "c-3", "c-bad"]
    with Session(engine) as session:
        case = load_case(session, "c-bad")
        assert case is not None and case.clock(ACK).state is ClockState.BREACHED


def test_backed_off_cases_do_not_crowd_out_the_rest_of_the_index(engine):
    clock = ManualClock(T0)
    open_cases(engine, clock, "c-bad-1", "c-bad-2", "c-ok")
    clock.advance(61)
    firer = DeadlineFirer(engine, clock, batch=2, binder=FlakyBinder({"c-bad-1", "c-bad-2"}))
    assert firer.fire_due() == 0  # the batch of two is both poison
    assert firer.fire_due() == 1  # the next pass skips them: the healthy case fires
    assert breaches(engine) == ["c-ok"]


class BlockingRouting(routing_pb2_grpc.RoutingAdminServicer):
    """A real routing directory server that answers only when released (routing is 'down')."""

    def __init__(self):
        self.release = threading.Event()
        self.calls = 0

    def ListTeams(self, request, context):
        self.calls += 1
        self.release.wait(10)
        if not self.release.is_set():
            context.abort(grpc.StatusCode.UNAVAILABLE, "down")
        return routing_pb2.ListTeamsResponse(
            teams=[
                routing_pb2.Team(
                    id="billing",
                    lead="routing-lead",
                    manager="routing-manager",
                    director="routing-director",
                    agents=[routing_pb2.Agent(id="agent-7", team="billing")],
                )
            ]
        )


@pytest.fixture
def routing():
    servicer = BlockingRouting()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    routing_pb2_grpc.add_RoutingAdminServicer_to_server(servicer, server)
    port = server.add_insecure_port(f"127.0.0.1:{free_port()}")
    server.start()
    yield servicer, f"127.0.0.1:{port}"
    servicer.release.set()
    server.stop(0)


def test_firing_never_calls_routing_and_uses_the_seed_ladder_while_routing_hangs(engine, routing):
    servicer, target = routing
    clock = ManualClock(T0)
    open_cases(engine, clock, "c-1")
    clock.advance(61)
    directory = RoutingDirectory(target, fallback=StaticDirectory(), deadline_s=1.0)
    firer = DeadlineFirer(engine, clock, binder=Binder(directory=directory))

    assert firer.fire_due() == 1
    assert servicer.calls == 0  # no call to routing while a case was fired (nor inside its transaction)
    escalated = [e for e in outbox(engine) if e.type == "haq.v1.Escalated"]
    seed = StaticDirectory().ladder("billing")
    assert list(escalated[0].message.notify) == ["agent-7", seed.lead]
    directory.close()


def test_the_directory_refreshes_outside_and_keeps_the_last_known_ladder_when_routing_fails(routing):
    servicer, target = routing
    directory = RoutingDirectory(target, fallback=StaticDirectory(), deadline_s=5.0, ttl_s=0)
    servicer.release.set()
    assert directory.refresh()
    assert directory.ladder("billing").lead == "routing-lead"
    calls = servicer.calls
    assert directory.ladder("billing").lead == "routing-lead"
    assert servicer.calls == calls  # reading the ladder never calls routing, even past its ttl

    directory.deadline_s = 0.2
    servicer.release.clear()  # routing hangs now: the refresh times out, the last value stays
    assert not directory.refresh()
    assert directory.ladder("billing").lead == "routing-lead"
    assert directory.roster() is not None and "agent-7" in directory.roster().members("billing")
    directory.close()


def test_a_deadline_fired_on_routings_ladder_names_routings_lead(engine, routing):
    servicer, target = routing
    servicer.release.set()
    clock = ManualClock(T0)
    open_cases(engine, clock, "c-1")
    directory = RoutingDirectory(target, fallback=StaticDirectory())
    directory.refresh()
    clock.advance(61)
    DeadlineFirer(engine, clock, binder=Binder(directory=directory)).fire_due()
    escalated = [e for e in outbox(engine) if e.type == "haq.v1.Escalated"]
    assert list(escalated[0].message.notify) == ["agent-7", "routing-lead"]
    directory.close()
