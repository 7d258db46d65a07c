"""The routing worker: wiring only (see docs/CONVENTIONS.md)."""

from __future__ import annotations

import faust
from sqlmodel import Session

from services.common import topics
from services.common.db import make_engine
from services.common.grpc_server import GrpcServer
from services.common.migrations import migrate
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

from ..adapters import accounts_db, db, lifecycle
from ..adapters.files import accounts_file_for, load_accounts, load_directory
from ..admin import RoutingAdministration, seed_rule_set
from ..directory_admin import DirectoryAdministration
from ..service import SVC, Router, RuleSets, routing_input
from .grpc_api import RoutingAdminServicer


def build(settings: Settings) -> tuple[faust.App, ServiceRuntime]:
    directory = load_directory(settings.directory_file)
    accounts = load_accounts(accounts_file_for(settings.directory_file))

    engine = make_engine(settings.database_url(SVC))
    migrate(engine, SVC)  # alembic upgrade head (services/routing/migrations)
    db.seed_directory(engine, directory)
    # The seeded tenant's accounts come from the file once; each tenant manages its own afterwards
    # (UpsertAccount), and routing reads them per tenant from the database.
    accounts_db.seed_accounts(engine, directory.tenant, accounts)
    # The built-in packs become the first version of a fresh database; it refuses to start when
    # they name a team the directory lacks, rather than route complaints to teams nobody staffs.
    seed_rule_set(engine, {t.id for t in directory.teams}, settings.tenant)
    topics.ensure_topics(settings)
    relay = OutboxRelay(engine, settings, SVC) if settings.outbox_relay_enabled else None

    rule_sets = RuleSets(settings.tenant)  # the operator tenant's versions are the built-in ones
    with Session(engine) as session:
        # Parse the active rule set and read its triage model's file (~1 MB) now, at start,
        # rather than inside the first complaint's transaction.
        rule_sets.active(session)
    router = Router(rule_sets, default_tenant=settings.tenant, fallback_directory=directory.tenant)

    def read_recent(last: int) -> list:
        """Simulating before anything is stored: the topic's last complaints, each with its own
        tenant's accounts (each tenant's read once)."""
        received = [msg for _, msg in lifecycle.recent_received(settings, last)]
        with Session(engine) as session:
            tenants = [msg.complaint.tenant or settings.tenant for msg in received]
            return [
                routing_input(msg, tenant, router.accounts_of(session, tenant))
                for msg, tenant in zip(received, tenants, strict=True)
            ]

    admin = RoutingAdministration(engine, router, rule_sets, relay, read_recent)
    grpc_server = GrpcServer(
        settings.grpc_host,
        settings.grpc_port(SVC),
        [
            (
                routing_pb2_grpc.add_RoutingAdminServicer_to_server,
                RoutingAdminServicer(
                    engine, settings.tenant, admin, DirectoryAdministration(engine, router, relay)
                ),
                "haq.v1.RoutingAdmin",
            )
        ],
        auth_secret=settings.auth_secret,
    )
    app = make_app(SVC, settings)
    consumer = EventConsumer("routing-lifecycle", SVC, engine, relay)
    lifecycle_agent(
        app,
        consumer,
        {
            "ComplaintReceived": router.on_received,
            "Resolved": router.on_resolved,
            "Closed": router.on_closed,
            "TransferAccepted": router.on_transfer_accepted,
            "TransferDeclined": router.on_transfer_declined,
            "OwnerReplaced": router.on_owner_replaced,
            "OwnerDeclined": router.on_owner_declined,
            "RerouteRequested": router.on_reroute_requested,
        },
    )
    add_ops_pages(app, SVC, grpc_server)
    return app, ServiceRuntime(SVC, grpc_server, relay)


def main() -> None:
    settings = get_settings()
    app, runtime = build(settings)
    run_worker(app, settings, runtime)
