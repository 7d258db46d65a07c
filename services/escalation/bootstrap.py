"""Escalation's bootstrap: wiring only (engine, tables, topics, relay, servicers, agents, ops pages;
see docs/ARCHITECTURE.md). `entrypoints/worker.py` runs what `build()` returns."""

from __future__ import annotations

import asyncio
import logging

import faust

from services.common import topics
from services.common.db import make_engine
from services.common.grpc_server import GrpcServer
from services.common.handler import Handler
from services.common.migrations import migrate
from services.common.outbox import OutboxRelay
from services.common.pb.haq.v1 import escalation_pb2_grpc
from services.common.runtime import (
    EventConsumer,
    ServiceRuntime,
    add_ops_pages,
    lifecycle_agent,
    make_app,
)
from services.common.settings import Settings

from .adapters import satisfaction
from .adapters.catch_up import CatchUp
from .adapters.directory import RoutingDirectory, StaticDirectory, load_calendars
from .adapters.guard import ResponseGuard
from .domain import POLICIES, Clock, SystemClock, with_warn_share
from .entrypoints.grpc_api import CaseServicer, SlaServicer
from .service_layer.actions import CaseActions
from .service_layer.deadlines import DeadlineFirer
from .service_layer.handlers import EscalationHandlers
from .service_layer.shared import Binder
from .settings import EscalationSettings, get_escalation_settings

SVC = "escalation"
log = logging.getLogger(__name__)


def lifecycle_handlers(handlers: EscalationHandlers) -> dict[str, Handler]:
    """The lifecycle events escalation's consumer applies, by name."""
    # One Batched object for every case event: consecutive ones of any of these types are one run.
    return {
        **dict.fromkeys(handlers.HANDLED, handlers.batched),
        "ComplaintRated": satisfaction.on_rated,  # CSAT for GetCompliance (adapters/satisfaction.py)
    }


def build(
    settings: Settings, clock: Clock | None = None, own: EscalationSettings | None = None
) -> tuple[faust.App, ServiceRuntime]:
    clock = clock or SystemClock()
    own = own or get_escalation_settings()
    engine = make_engine(settings.database_url(SVC))
    migrate(engine, SVC)  # alembic upgrade head (services/escalation/migrations)
    topics.ensure_topics(settings)
    relay = OutboxRelay(engine, settings, SVC) if settings.outbox_relay_enabled else None
    service_token = settings.service_token()
    directory = RoutingDirectory(
        settings.grpc_target("routing"),
        fallback=StaticDirectory(own.ladder_file, settings.directory_file),
        ttl_s=own.directory_ttl_s,
        deadline_s=own.directory_deadline_s,
        tenant=settings.tenant,
        token=service_token,
    )
    binder = Binder(with_warn_share(POLICIES, own.warn_share), load_calendars(own.calendars_file), directory)
    guard = ResponseGuard(
        settings.grpc_target("notifications"), own.guard_deadline_s, settings.tenant, token=service_token
    )
    actions = CaseActions(engine, clock, binder, guard, relay, default_tenant=settings.tenant)
    grpc_server = GrpcServer(
        settings.grpc_host,
        settings.grpc_port(SVC),
        [
            (
                escalation_pb2_grpc.add_SlaServiceServicer_to_server,
                SlaServicer(engine, clock, binder, default_tenant=settings.tenant),
                "haq.v1.SlaService",
            ),
            (
                escalation_pb2_grpc.add_CaseServiceServicer_to_server,
                CaseServicer(actions, default_tenant=settings.tenant),
                "haq.v1.CaseService",
            ),
        ],
        auth_secret=settings.auth_secret,
    )
    app = make_app(SVC, settings)
    handlers = EscalationHandlers(clock, binder=binder)
    consumer = EventConsumer("escalation-lifecycle", SVC, engine, relay)
    lifecycle_agent(app, consumer, lifecycle_handlers(handlers))
    deadlines = DeadlineFirer(engine, clock, relay, binder=binder)
    # Deadlines wait for the group to read what waited on the topic at start (events that stop a
    # clock may be among it): its end offsets now, the group's committed offsets on each tick.
    catch_up = CatchUp(
        settings.kafka_bootstrap, app.conf.id, topics.LIFECYCLE_TOPIC, max_wait_s=own.catch_up_max_s
    )

    @app.task
    async def at_start() -> None:
        # Off the event loop: Kafka's offsets and routing's directory are blocking calls.
        try:
            await asyncio.to_thread(catch_up.record_targets)
        except Exception:  # retried by the first deadline tick
            log.warning("could not record the lifecycle topic's end offsets yet", exc_info=True)
        await asyncio.to_thread(directory.refresh)

    @app.timer(interval=max(own.directory_ttl_s, 1.0))
    async def refresh_directory() -> None:
        # Never inside a transaction: handlers, actions and the firer only read the cache.
        try:
            await asyncio.to_thread(directory.refresh_if_stale)
        except Exception:
            log.exception("refreshing routing's directory failed")

    @app.timer(interval=settings.deadline_tick_s)
    async def fire_due_deadlines() -> None:
        # Wait for the consumer group: events that stop a clock may still be waiting to be read.
        if not getattr(app, "_haq_ready", False):
            return
        if not catch_up.done and not await asyncio.to_thread(catch_up.check):
            return
        try:
            # Drain a backlog (after a restart) batch by batch within one tick.
            while await asyncio.to_thread(deadlines.fire_due) >= deadlines.batch:
                pass
        except Exception:  # a failed tick is retried by the next one; the timer must live on
            log.exception("firing due deadlines failed")

    @app.timer(interval=1.0)
    async def reopen_on_low_ratings() -> None:
        # HAQ_NOTIFY_LOW_RATING_ACTION=reopen: escalation's own reopen path, outside the consumer.
        if not getattr(app, "_haq_ready", False):
            return
        try:
            await asyncio.to_thread(satisfaction.reopen_pending, engine, actions.apply)
        except Exception:  # retried by the next tick
            log.exception("reopening on low ratings failed")

    add_ops_pages(app, SVC, grpc_server)
    return app, ServiceRuntime(SVC, grpc_server, relay)
