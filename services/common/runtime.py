"""The process shape every Haq service shares: a faust worker that also runs the service's gRPC
server and outbox relay, exposes /metrics and /healthz, and reports SERVING once its consumer
group has its partitions.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import faust
from faust.types import EventT
from kafka import KafkaAdminClient, KafkaConsumer
from mode import Service
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session
from tenacity import Retrying, stop_after_attempt, wait_exponential

from . import topics
from .codec import Envelope, EventDecodeError, decode, new_event
from .db import ProcessedEvent, utcnow
from .grpc_server import GrpcServer
from .logs import configure_logging, logging_config
from .outbox import OutboxRelay, stage
from .pb.haq.v1 import events_pb2
from .settings import Settings, get_settings
from .tracing import configure_tracing, consuming

log = logging.getLogger(__name__)

EVENTS_CONSUMED = Counter(
    "haq_events_consumed_total", "Lifecycle events handled", ["service", "consumer", "type", "outcome"]
)
HANDLE_SECONDS = Histogram(
    "haq_event_handle_seconds", "Time to apply one consumed event", ["service", "consumer"]
)
EVENT_AGE = Histogram(
    "haq_event_age_seconds",
    "From an event's time to its handling: the latency of each hop between services",
    ["service", "consumer"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)


def make_app(service: str, settings: Settings) -> faust.App:
    # Each service process builds exactly one app: process-wide telemetry is set up here.
    configure_tracing(service, settings)
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


def raw_topic(app: faust.App, name: str) -> faust.TopicT:
    return app.topic(name, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")


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


class EventConsumer:
    """Applies each lifecycle event once: the handler's changes, any events it stages in the outbox
    and the processed-event marker are committed in one transaction."""

    def __init__(self, name: str, service: str, engine: Engine, relay: OutboxRelay | None):
        self.name = name
        self.service = service
        self.engine = engine
        self.relay = relay

    def apply(self, envelope: Envelope, handler: Callable[[Session, Envelope], None]) -> bool:
        EVENT_AGE.labels(self.service, self.name).observe(
            max(0.0, (utcnow() - envelope.time).total_seconds())
        )
        with (
            consuming(self.service, self.name, envelope.type, envelope.id, envelope.extensions),
            HANDLE_SECONDS.labels(self.service, self.name).time(),
            Session(self.engine) as session,
        ):
            if session.get(ProcessedEvent, (self.name, envelope.id)) is not None:
                EVENTS_CONSUMED.labels(self.service, self.name, envelope.name, "duplicate").inc()
                return False
            handler(session, envelope)
            session.add(ProcessedEvent(consumer=self.name, event_id=envelope.id))
            try:
                session.commit()
            except IntegrityError:  # applied concurrently by another worker of the same group
                session.rollback()
                EVENTS_CONSUMED.labels(self.service, self.name, envelope.name, "duplicate").inc()
                return False
        EVENTS_CONSUMED.labels(self.service, self.name, envelope.name, "applied").inc()
        if self.relay is not None:
            self.relay.wake()
        return True

    def dead_letter(self, event: EventT, reason: str) -> None:
        """Record a refused Kafka record, with its original bytes, on the dead-letter topic."""
        msg = event.message
        stage_dead_letter(
            self.engine,
            self.relay,
            service=self.service,
            consumer=self.name,
            source_topic=msg.topic,
            partition=msg.partition,
            offset=msg.offset,
            reason=reason,
            value=event.value if isinstance(event.value, bytes) else bytes(event.value or b""),
            headers=event.headers,
        )


def stage_dead_letter(
    engine: Engine,
    relay: OutboxRelay | None,
    *,
    service: str,
    consumer: str,
    source_topic: str,
    partition: int,
    offset: int,
    reason: str,
    value: bytes,
    headers: Any,
    event_id: str | None = None,
) -> None:
    """Dead-letter via the outbox: the record of refused input survives a crash like any event,
    and a redelivered bad record is dead-lettered once."""
    items = headers.items() if isinstance(headers, dict) else (headers or [])
    header_text = {
        (k.decode() if isinstance(k, bytes) else str(k)): (
            v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
        )
        for k, v in items
    }
    letter = events_pb2.DeadLetter(
        source_topic=source_topic,
        partition=partition,
        offset=offset,
        reason=reason,
        original_value=value,
        original_headers=header_text,
        service=service,
    )
    letter.failed_at.GetCurrentTime()
    envelope = new_event(
        letter,
        source=f"/haq/{service}",
        subject=f"{source_topic}/{partition}/{offset}",
        event_id=event_id or f"dlq:{consumer}:{source_topic}:{partition}:{offset}",
    )
    with Session(engine) as session:
        if session.get(ProcessedEvent, (consumer, envelope.id)) is None:
            stage(session, envelope, topics.DEAD_LETTER_TOPIC)
            session.add(ProcessedEvent(consumer=consumer, event_id=envelope.id))
            session.commit()
    EVENTS_CONSUMED.labels(service, consumer, "refused", "dead_lettered").inc()
    log.warning("dead-lettered input from %s/%d@%d: %s", source_topic, partition, offset, reason)
    if relay is not None:
        relay.wake()


def lifecycle_agent(
    app: faust.App,
    consumer: EventConsumer,
    handlers: dict[str, Callable[[Session, Envelope], None]],
) -> None:
    """Subscribe `consumer` to the lifecycle topic; `handlers` maps event names
    ("ComplaintRouted") to functions applied inside the unit of work. Other types are skipped."""
    topic = raw_topic(app, topics.LIFECYCLE_TOPIC)

    async def agent(stream: Any) -> None:
        async for event in stream.events():
            try:
                envelope = decode(event.key, event.value, event.headers)
            except EventDecodeError as exc:
                await asyncio.to_thread(consumer.dead_letter, event, str(exc))
                continue
            handler = handlers.get(envelope.name)
            if handler is None:
                continue
            await handle_with_retries(consumer, event, envelope, handler)

    app.agent(topic, name=f"{consumer.service}.{consumer.name}")(agent)


async def handle_with_retries(
    consumer: EventConsumer, event: EventT, envelope: Envelope, handler: Callable[[Session, Envelope], None]
) -> None:
    """Transient failures are retried; an event that still fails is dead-lettered with the reason,
    so one poison event never stops the stream."""
    try:
        for attempt in Retrying(
            stop=stop_after_attempt(4), wait=wait_exponential(multiplier=0.2, max=2), reraise=True
        ):
            with attempt:
                await asyncio.to_thread(consumer.apply, envelope, handler)
    except Exception as exc:
        log.exception("handling %s %s failed", envelope.type, envelope.id)
        await asyncio.to_thread(
            consumer.dead_letter, event, f"{envelope.type} {envelope.id} failed: {type(exc).__name__}: {exc}"
        )


CONSUMER_LAG = Gauge(
    "haq_consumer_lag", "Messages not yet consumed by a group", ["group", "topic", "partition"]
)


class ConsumerLag:
    """Committed offsets of this service's consumer group against the topics' end offsets."""

    def __init__(self, service: str):
        self.group = f"haq-{service}"
        self.settings = get_settings()  # the process's settings, as main() read them
        self._admin: KafkaAdminClient | None = None
        self._consumer: KafkaConsumer | None = None

    def update(self) -> None:
        try:
            if self._admin is None:
                self._admin = KafkaAdminClient(bootstrap_servers=self.settings.kafka_bootstrap)
                self._consumer = KafkaConsumer(bootstrap_servers=self.settings.kafka_bootstrap, group_id=None)
            committed = self._admin.list_group_offsets(self.group).get(self.group, {})
            ends = self._consumer.end_offsets(list(committed)) if committed else {}
            for tp, meta in committed.items():
                if meta.offset >= 0 and tp in ends:
                    CONSUMER_LAG.labels(self.group, tp.topic, str(tp.partition)).set(
                        max(0, ends[tp] - meta.offset)
                    )
        except Exception:  # metrics must never take a service down
            log.warning("could not read consumer lag for %s", self.group, exc_info=True)


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
