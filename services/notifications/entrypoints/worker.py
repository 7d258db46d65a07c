"""The notifications process: lifecycle consumer, NotificationAdmin gRPC, outbox relay, ops pages."""

from __future__ import annotations

import faust

from services.common import topics
from services.common.db import create_tables, make_engine
from services.common.grpc_server import GrpcServer
from services.common.outbox import OutboxRelay
from services.common.pb.haq.v1 import notifications_pb2_grpc
from services.common.runtime import (
    EventConsumer,
    ServiceRuntime,
    add_ops_pages,
    lifecycle_agent,
    make_app,
    run_worker,
)
from services.common.settings import Settings, get_settings

from ..adapters.db import ComplaintContact, DeliveryRow
from ..adapters.smtp import SmtpSender
from ..domain.templates import TemplateRenderer
from ..service import Notifier
from .grpc_api import NotificationAdminServicer

SVC = "notifications"


def build(settings: Settings) -> tuple[faust.App, ServiceRuntime]:
    engine = make_engine(settings.database_url(SVC))
    create_tables(engine, [ComplaintContact, DeliveryRow])
    topics.ensure_topics(settings)
    relay = OutboxRelay(engine, settings, SVC) if settings.outbox_relay_enabled else None
    notifier = Notifier(
        engine,
        SmtpSender.from_settings(settings).send,
        TemplateRenderer(),
        sender_address=settings.smtp_sender,
    )
    grpc_server = GrpcServer(
        settings.grpc_host,
        settings.grpc_port(SVC),
        [
            (
                notifications_pb2_grpc.add_NotificationAdminServicer_to_server,
                NotificationAdminServicer(notifier),
                "haq.v1.NotificationAdmin",
            )
        ],
    )
    app = make_app(SVC, settings)
    consumer = EventConsumer("notifications-lifecycle", SVC, engine, relay)
    lifecycle_agent(app, consumer, {"ComplaintReceived": notifier.on_complaint_received})
    add_ops_pages(app, SVC, grpc_server)
    return app, ServiceRuntime(SVC, grpc_server, relay)


def main() -> None:
    settings = get_settings()
    app, runtime = build(settings)
    run_worker(app, settings, runtime)
