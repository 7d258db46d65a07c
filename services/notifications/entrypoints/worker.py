"""The notifications process: lifecycle consumer, dispatcher thread, NotificationAdmin gRPC,
outbox relay, ops pages."""

from __future__ import annotations

import asyncio
from typing import Any

import faust

from services.common import topics
from services.common.db import make_engine
from services.common.grpc_server import GrpcServer
from services.common.migrations import migrate
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

from ..adapters.directory import RoutingDirectory
from ..adapters.http_channels import HttpChannels
from ..adapters.smtp import SmtpSender
from ..adapters.tenant_config import TenantBook
from ..domain.schedule import RetryPolicy
from ..domain.templates import TemplateRenderer
from ..service_layer.admin import Admin
from ..service_layer.dispatcher import Dispatcher, Senders
from ..service_layer.planner import LowRatingRule, Planner
from ..service_layer.recorder import Recorder
from ..settings import NotifySettings, get_notify_settings
from .grpc_api import NotificationAdminServicer

SVC = "notifications"


class NotificationsRuntime(ServiceRuntime):
    """The shared runtime plus the dispatcher thread, started after the relay, stopped before it."""

    def __init__(
        self, dispatcher: Dispatcher, directory: RoutingDirectory, smtp: SmtpSender, *args: Any, **kw: Any
    ):
        super().__init__(*args, **kw)
        self.dispatcher = dispatcher
        self.directory = directory
        self.smtp = smtp

    async def on_start(self) -> None:
        await super().on_start()
        self.dispatcher.start()

    async def on_stop(self) -> None:
        await asyncio.to_thread(self.dispatcher.stop)
        await asyncio.to_thread(self.smtp.close)  # QUIT on the kept-open connection
        self.directory.close()
        await super().on_stop()


def build(settings: Settings, notify: NotifySettings | None = None) -> tuple[faust.App, ServiceRuntime]:
    notify = notify or get_notify_settings()
    engine = make_engine(settings.database_url(SVC))
    migrate(engine, SVC)  # alembic upgrade head (services/notifications/migrations)
    topics.ensure_topics(settings)
    relay = OutboxRelay(engine, settings, SVC) if settings.outbox_relay_enabled else None
    tenants = TenantBook.load(notify.config_file)
    directory = RoutingDirectory(
        settings.grpc_target("routing"),
        timeout_s=notify.directory_timeout_s,
        refresh_s=notify.directory_refresh_s,
        max_stale_s=notify.directory_max_stale_s,
        token=settings.service_token(),
    )
    planner = Planner(
        TemplateRenderer(),
        tenants,
        directory,
        LowRatingRule(notify.low_rating_action, notify.low_rating_threshold),
    )
    smtp = SmtpSender.from_settings(settings)
    dispatcher = Dispatcher(
        engine,
        planner,
        Senders(smtp.send, HttpChannels(timeout_s=notify.http_timeout_s)),
        tenants,
        sender_address=settings.smtp_sender,
        retry=RetryPolicy(notify.max_attempts, notify.retry_base_s, notify.retry_cap_s),
        job_retry=RetryPolicy(0, notify.job_retry_base_s, notify.job_retry_cap_s),
        sending_stale_s=notify.sending_stale_s,
        batch=notify.dispatch_batch,
        poll_s=notify.dispatch_poll_s,
        on_settled=relay.wake if relay is not None else (lambda: None),
        http_workers=notify.http_workers,
        http_per_tenant=notify.http_per_tenant,
    )
    recorder = Recorder(wake=dispatcher.wake)
    grpc_server = GrpcServer(
        settings.grpc_host,
        settings.grpc_port(SVC),
        [
            (
                notifications_pb2_grpc.add_NotificationAdminServicer_to_server,
                NotificationAdminServicer(
                    Admin(engine, planner, tenants, dispatcher), default_tenant=settings.tenant
                ),
                "haq.v1.NotificationAdmin",
            )
        ],
        auth_secret=settings.auth_secret,
    )
    app = make_app(SVC, settings)
    consumer = EventConsumer("notifications-lifecycle", SVC, engine, relay)
    lifecycle_agent(app, consumer, recorder.handlers())
    add_ops_pages(app, SVC, grpc_server)
    return app, NotificationsRuntime(dispatcher, directory, smtp, SVC, grpc_server, relay)


def main() -> None:
    settings = get_settings()
    app, runtime = build(settings)
    run_worker(app, settings, runtime)
