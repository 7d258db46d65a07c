"""The routing worker: wiring only (see docs/CONVENTIONS.md)."""

from __future__ import annotations

import faust

from services.common import topics
from services.common.db import create_tables, make_engine
from services.common.grpc_server import GrpcServer
from services.common.outbox import OutboxRelay
from services.common.pb.haq.v1 import routing_pb2_grpc
from services.common.runtime import (
    EventConsumer,
    ServiceRuntime,
    add_ops_pages,
    lifecycle_agent,
    make_app,
    run_worker,
)
from services.common.settings import Settings, get_settings

from ..adapters import db
from ..adapters.files import load_directory, load_rule_set
from ..domain.rules import check_teams
from ..service import SVC, Router
from .grpc_api import RoutingAdminServicer


def build(settings: Settings) -> tuple[faust.App, ServiceRuntime]:
    directory = load_directory(settings.directory_file)
    rule_set = load_rule_set()
    missing = check_teams(rule_set, {t.id for t in directory.teams})
    if missing:  # refuse to start rather than route complaints to teams nobody staffs
        raise SystemExit(f"rule set {rule_set.version} names teams missing from the directory: {missing}")

    engine = make_engine(settings.database_url(SVC))
    create_tables(engine, db.MODELS)
    db.seed_directory(engine, directory)
    topics.ensure_topics(settings)
    relay = OutboxRelay(engine, settings, SVC) if settings.outbox_relay_enabled else None
    grpc_server = GrpcServer(
        settings.grpc_host,
        settings.grpc_port(SVC),
        [
            (
                routing_pb2_grpc.add_RoutingAdminServicer_to_server,
                RoutingAdminServicer(engine, settings.tenant),
                "haq.v1.RoutingAdmin",
            )
        ],
    )
    app = make_app(SVC, settings)
    router = Router(rule_set, default_tenant=settings.tenant, fallback_directory=directory.tenant)
    consumer = EventConsumer("routing-lifecycle", SVC, engine, relay)
    lifecycle_agent(app, consumer, {"ComplaintReceived": router.on_received})
    add_ops_pages(app, SVC, grpc_server)
    return app, ServiceRuntime(SVC, grpc_server, relay)


def main() -> None:
    settings = get_settings()
    app, runtime = build(settings)
    run_worker(app, settings, runtime)
