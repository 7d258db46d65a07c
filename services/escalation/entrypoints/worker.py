"""The escalation worker: wiring only (see docs/CONVENTIONS.md)."""

from __future__ import annotations

import asyncio
import logging

import faust

from services.common import topics
from services.common.db import create_tables, make_engine
from services.common.grpc_server import GrpcServer
from services.common.outbox import OutboxRelay
from services.common.pb.haq.v1 import escalation_pb2_grpc
from services.common.runtime import (
    EventConsumer,
    ServiceRuntime,
    add_ops_pages,
    lifecycle_agent,
    make_app,
    run_worker,
)
from services.common.settings import Settings, get_settings

from ..adapters.db import MODELS
from ..domain import Clock, SystemClock
from ..handlers import DeadlineFirer, EscalationHandlers
from .grpc_api import SlaServicer

SVC = "escalation"
log = logging.getLogger(__name__)


def build(settings: Settings, clock: Clock | None = None) -> tuple[faust.App, ServiceRuntime]:
    clock = clock or SystemClock()
    engine = make_engine(settings.database_url(SVC))
    create_tables(engine, MODELS)
    topics.ensure_topics(settings)
    relay = OutboxRelay(engine, settings, SVC) if settings.outbox_relay_enabled else None
    grpc_server = GrpcServer(
        settings.grpc_host,
        settings.grpc_port(SVC),
        [(escalation_pb2_grpc.add_SlaServiceServicer_to_server, SlaServicer(engine), "haq.v1.SlaService")],
    )
    app = make_app(SVC, settings)
    handlers = EscalationHandlers(clock)
    consumer = EventConsumer("escalation-lifecycle", SVC, engine, relay)
    lifecycle_agent(
        app,
        consumer,
        {
            "ComplaintReceived": handlers.on_received,
            "ComplaintRouted": handlers.on_routed,
            "NotificationSent": handlers.on_notification_sent,
        },
    )
    deadlines = DeadlineFirer(engine, clock, relay)

    @app.timer(interval=settings.deadline_tick_s)
    async def fire_due_deadlines() -> None:
        # Wait for the consumer group: events that stop a clock may still be waiting to be read.
        if not getattr(app, "_haq_ready", False):
            return
        try:
            await asyncio.to_thread(deadlines.fire_due)
        except Exception:  # a failed tick is retried by the next one; the timer must live on
            log.exception("firing due deadlines failed")

    add_ops_pages(app, SVC, grpc_server)
    return app, ServiceRuntime(SVC, grpc_server, relay)


def main() -> None:
    settings = get_settings()
    app, runtime = build(settings)
    run_worker(app, settings, runtime)
