"""The process shape every Haq service shares: a faust worker that also runs the service's gRPC
server and outbox relay, exposes /metrics and /healthz, and reports SERVING once its consumer
group has its partitions.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import faust
from mode import Service
from prometheus_client import CONTENT_TYPE_LATEST, Gauge, generate_latest

from .consumer import EventConsumer, lifecycle_agent, raw_topic, stage_dead_letter
from .grpc_server import GrpcServer
from .lag import ConsumerLagProbe
from .logs import configure_logging, logging_config
from .outbox import OutboxRelay
from .settings import Settings, get_settings
from .tracing import configure_tracing

# The workers' wiring imports these from here, beside the process shape.
__all__ = [
    "ConsumerLag", "EventConsumer", "ServiceRuntime", "add_ops_pages", "lifecycle_agent", "make_app",
    "raw_topic", "run_worker", "stage_dead_letter",
]  # fmt: skip

log = logging.getLogger(__name__)


def _bounded_fetch_wait(wait_ms: int) -> None:
    """faust 0.15 creates its worker consumer with fetch_max_wait_ms=1500 and no setting to change
    it; the local broker holds a fetch that long before it answers with records that arrived in
    the meantime, which adds up to 1.5 s to every hop. Set the wait on the consumer it creates."""
    from faust.transport.drivers import aiokafka as driver

    thread = driver.AIOKafkaConsumerThread
    if getattr(thread, "_haq_fetch_wait_ms", None) == wait_ms:
        return
    create = getattr(thread, "_haq_create_worker_consumer", thread._create_worker_consumer)

    def create_worker_consumer(self: Any, transport: Any) -> Any:
        consumer = create(self, transport)
        consumer._fetch_max_wait_ms = wait_ms  # read when the consumer starts its fetcher
        return consumer

    thread._haq_create_worker_consumer = create
    thread._create_worker_consumer = create_worker_consumer
    thread._haq_fetch_wait_ms = wait_ms


def make_app(service: str, settings: Settings) -> faust.App:
    # Each service process builds exactly one app: process-wide telemetry is set up here.
    configure_tracing(service, settings)
    _bounded_fetch_wait(settings.kafka_fetch_max_wait_ms)
    brokers = ";".join(f"kafka://{b.strip()}" for b in settings.kafka_bootstrap.split(","))
    return faust.App(
        f"haq-{service}",
        broker=brokers,
        value_serializer="raw",
        key_serializer="raw",
        store="memory://",
        datadir=str(settings.data_dir / f"faust-{service}"),
        web_enabled=True,
        web_bind=settings.http_host,
        web_port=settings.http_port(service),
        web_host=settings.http_host,
        broker_max_poll_interval=settings.kafka_max_poll_interval_s,
        broker_session_timeout=settings.kafka_session_timeout_s,
        broker_heartbeat_interval=settings.kafka_heartbeat_interval_s,
        broker_request_timeout=settings.kafka_request_timeout_s,
        consumer_auto_offset_reset="earliest",
        topic_allow_declare=False,
        topic_disable_leader=True,
        producer_acks=-1,
    )


class ServiceRuntime(Service):
    """Starts and stops the gRPC server and the outbox relay with the faust worker."""

    def __init__(self, name: str, grpc_server: GrpcServer | None, relay: OutboxRelay | None, **kw: Any):
        super().__init__(**kw)
        self.service_name = name
        self.grpc_server = grpc_server
        self.relay = relay

    async def on_start(self) -> None:
        if self.relay is not None:
            self.relay.start()
        if self.grpc_server is not None:
            self.grpc_server.start()
            log.info("%s gRPC listening on port %d", self.service_name, self.grpc_server.port)

    async def on_stop(self) -> None:
        if self.grpc_server is not None:
            await asyncio.to_thread(self.grpc_server.stop)
        if self.relay is not None:
            await asyncio.to_thread(self.relay.stop)


CONSUMER_LAG = Gauge(
    "haq_consumer_lag", "Messages not yet consumed by a group", ["group", "topic", "partition"]
)


class ConsumerLag:
    """This service's consumer group's lag, read as `haq watch --summary` reads it (common/lag.py),
    published as the `haq_consumer_lag` gauge."""

    def __init__(self, service: str):
        self.group = f"haq-{service}"
        self.settings = get_settings()  # the process's settings, as main() read them
        self._probe: ConsumerLagProbe | None = None

    def update(self) -> None:
        try:
            if self._probe is None:
                self._probe = ConsumerLagProbe(self.settings, (self.group,))
            for row in self._probe.read():
                CONSUMER_LAG.labels(row.group, row.topic, str(row.partition)).set(row.lag)
        except Exception:  # metrics must never take a service down
            log.warning("could not read consumer lag for %s", self.group, exc_info=True)
            if self._probe is not None:  # a broken connection is rebuilt on the next reading
                with contextlib.suppress(Exception):
                    self._probe.close()
                self._probe = None


def add_ops_pages(app: faust.App, service: str, grpc_server: GrpcServer | None) -> None:
    @app.page("/metrics")
    async def metrics(web: Any, request: Any) -> Any:
        return web.bytes(generate_latest(), content_type=CONTENT_TYPE_LATEST.split(";")[0])

    @app.page("/healthz")
    async def healthz(web: Any, request: Any) -> Any:
        return web.json({"service": service, "ready": bool(getattr(app, "_haq_ready", False))})

    lag_reader = ConsumerLag(service)

    @app.timer(interval=15.0)
    async def _consumer_lag() -> None:
        if getattr(app, "_haq_ready", False):
            await asyncio.to_thread(lag_reader.update)

    @app.on_partitions_assigned.connect
    async def _ready(sender: Any, assigned: Any, **kwargs: Any) -> None:
        # The consumer group has joined: from now on events are handled, so report SERVING.
        app._haq_ready = True  # type: ignore[attr-defined]
        if grpc_server is not None:
            grpc_server.set_serving(True)


def run_worker(app: faust.App, settings: Settings, runtime: ServiceRuntime) -> None:
    """Run the faust worker with the service's gRPC server and outbox relay beside it.
    SIGTERM and Ctrl-C stop everything cleanly."""
    configure_logging(settings.log_level)
    worker = faust.Worker(
        app,
        runtime,
        loglevel=settings.log_level,
        logging_config=logging_config(settings.log_level),
        quiet=True,
        redirect_stdouts=False,
    )
    worker.execute_from_commandline()
