"""Consuming the lifecycle topic: idempotent units of work, applied a batch at a time.

Cost per event is a design property. A batch of records is filtered by its `ce_type` header before
anything is decoded, the events a service handles are applied in one transaction with their
processed-event markers, and the relay is woken once. When the batch fails, its events are applied
one at a time so a poison event is isolated: a transient failure (the database is away) pauses
and retries without end, anything else is retried a few times and then dead-lettered with the
reason, and the stream goes on. Nothing is ever dropped.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import faust
from faust.types import EventT
from prometheus_client import Counter, Histogram
from sqlalchemy import insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, delete, select

from . import topics
from .codec import Envelope, EventDecodeError, decode, new_event
from .db import ProcessedEvent, is_transient, utcnow  # is_transient: re-exported, moved to db
from .handler import Batched, Handler
from .outbox import OutboxRelay, stage
from .pb.haq.v1 import events_pb2
from .settings import Settings, get_settings
from .tracing import consuming

log = logging.getLogger(__name__)


EVENTS_CONSUMED = Counter(
    "haq_events_consumed_total", "Lifecycle events handled", ["service", "consumer", "type", "outcome"]
)
EVENTS_SKIPPED = Counter(
    "haq_events_skipped_total",
    "Records passed over by their ce_type header, never decoded",
    ["service", "consumer"],
)
HANDLE_SECONDS = Histogram(
    "haq_event_handle_seconds", "Time to apply one consumed batch", ["service", "consumer"]
)
BATCH_SIZE = Histogram(
    "haq_event_batch_size",
    "Events applied in one transaction",
    ["service", "consumer"],
    buckets=(1, 2, 5, 10, 25, 50, 100, 250, 500, 1000),
)
EVENT_AGE = Histogram(
    "haq_event_age_seconds",
    "From an event's time to its handling: the latency of each hop between services",
    ["service", "consumer"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
CONSUMER_STALLED = Counter(
    "haq_consumer_retries_total",
    "Retries of an event the consumer could not apply yet (a dependency outage pauses the stream)",
    ["service", "consumer", "kind"],
)

# A poison event (the handler raises the same way every time) is tried this often before it is
# dead-lettered; a transient failure (the database is away) is retried without end.
POISON_ATTEMPTS = 3
TRANSIENT_BACKOFF_CAP_S = 5.0
# What a dead letter quotes of the error: reasons never carry unbounded input.
MAX_REASON_CHARS = 1000


def header_value(headers: Any, name: str) -> bytes | None:
    """One header of a Kafka record, without decoding the rest (faust gives a dict or a list)."""
    if not headers:
        return None
    if isinstance(headers, dict):
        value = headers.get(name)
        if value is None:
            value = headers.get(name.encode())
        return value if value is None or isinstance(value, bytes) else str(value).encode()
    for k, v in headers:
        if k == name or k == name.encode():
            return v if isinstance(v, bytes) else str(v).encode()
    return None


def event_name_of(ce_type: bytes) -> str:
    """ "haq.v1.ComplaintRouted" -> "ComplaintRouted", as Envelope.name has it."""
    return ce_type.decode("utf-8", "replace").rsplit(".", 1)[-1]


@dataclass(frozen=True)
class Refused:
    """A record that is not an event this consumer can read: dead-lettered with the reason."""

    record: EventT
    reason: str


class EventConsumer:
    """Applies each lifecycle event once: the handler's changes, any events it stages in the outbox
    and the processed-event markers are committed in one transaction."""

    def __init__(self, name: str, service: str, engine: Engine, relay: OutboxRelay | None):
        self.name = name
        self.service = service
        self.engine = engine
        self.relay = relay
        self._age = EVENT_AGE.labels(service, name)
        self._handle = HANDLE_SECONDS.labels(service, name)
        self._batch = BATCH_SIZE.labels(service, name)
        self.sleep = time.sleep  # the pause between retries; tests make it instant

    # ---- one batch, one transaction ------------------------------------------------------------
    def apply_batch(self, items: Sequence[tuple[Envelope, Handler]]) -> int:
        """Apply every new event of the batch in one transaction; returns how many were applied.
        Raises whatever a handler or the commit raised (the caller then goes one by one)."""
        if not items:
            return 0
        now = utcnow()
        for envelope, _ in items:
            self._age.observe(max(0.0, (now - envelope.time).total_seconds()))
        applied: list[Envelope] = []
        run: list[Envelope] = []  # consecutive events for one Batched handler
        run_handler: Batched | None = None

        def apply_run(session: Session) -> None:
            if run_handler is None or not run:
                return
            for envelope in run:  # each event's hop stays in its trace; the work is the batch's
                with consuming(self.service, self.name, envelope.type, envelope.id, envelope.extensions):
                    pass
            run_handler.many(session, list(run))
            applied.extend(run)
            run.clear()

        with self._handle.time(), Session(self.engine) as session:
            done = self._already_applied(session, [e.id for e, _ in items])
            for envelope, handler in items:
                if envelope.id in done:
                    self._count(envelope, "duplicate")
                    continue
                done.add(envelope.id)
                if isinstance(handler, Batched):
                    if handler is not run_handler:
                        apply_run(session)
                        run_handler = handler
                    run.append(envelope)
                    continue
                apply_run(session)
                with consuming(self.service, self.name, envelope.type, envelope.id, envelope.extensions):
                    handler(session, envelope)
                applied.append(envelope)
            apply_run(session)
            if applied:
                session.execute(
                    insert(ProcessedEvent),
                    [{"consumer": self.name, "event_id": e.id, "processed_at": now} for e in applied],
                )
            session.commit()
        self._batch.observe(len(applied))
        for envelope in applied:
            self._count(envelope, "applied")
        if applied and self.relay is not None:
            self.relay.wake()
        return len(applied)

    def apply(self, envelope: Envelope, handler: Handler) -> bool:
        """One event in its own transaction; False when it was applied before (by us or by
        another worker of the same group, racing)."""
        try:
            return self.apply_batch([(envelope, handler)]) == 1
        except IntegrityError:  # applied concurrently by another worker of the same group
            self._count(envelope, "duplicate")
            return False

    def _already_applied(self, session: Session, ids: list[str]) -> set[str]:
        return set(
            session.exec(
                select(ProcessedEvent.event_id).where(
                    ProcessedEvent.consumer == self.name, col(ProcessedEvent.event_id).in_(set(ids))
                )
            ).all()
        )

    def _count(self, envelope: Envelope, outcome: str) -> None:
        EVENTS_CONSUMED.labels(self.service, self.name, envelope.name, outcome).inc()

    # ---- the slow path: one at a time, isolating what fails -------------------------------------
    def apply_isolated(self, envelope: Envelope, handler: Handler, record: EventT | None) -> None:
        """Apply one event whatever it takes: a transient failure waits and retries without end
        (the stream pauses, nothing is discarded); a poison event is dead-lettered after
        POISON_ATTEMPTS, and the stream goes on."""
        failures = 0
        transient_waits = 0
        while True:
            try:
                self.apply(envelope, handler)
                return
            except Exception as exc:
                if is_transient(exc):
                    transient_waits += 1
                    CONSUMER_STALLED.labels(self.service, self.name, "transient").inc()
                    delay = min(TRANSIENT_BACKOFF_CAP_S, 0.2 * 2 ** min(transient_waits, 6))
                    log.warning(
                        "%s: cannot apply %s %s yet (%s); retrying in %.1fs",
                        self.name, envelope.name, envelope.id, type(exc).__name__, delay,
                    )  # fmt: skip
                    self.sleep(delay)
                    continue
                failures += 1
                CONSUMER_STALLED.labels(self.service, self.name, "poison").inc()
                if failures < POISON_ATTEMPTS:
                    self.sleep(0.2 * failures)
                    continue
                log.exception("%s: %s %s failed %d times", self.name, envelope.type, envelope.id, failures)
                reason = f"{envelope.type} {envelope.id} failed: {type(exc).__name__}: {exc}"
                self.dead_letter_envelope(envelope, record, reason)
                return

    def dead_letter_envelope(self, envelope: Envelope, record: EventT | None, reason: str) -> None:
        if record is not None:
            self.dead_letter(record, reason)
            return
        stage_dead_letter_until_done(
            self, source_topic=topics.LIFECYCLE_TOPIC, partition=-1, offset=-1, reason=reason,
            value=envelope.message.SerializeToString(), headers={"ce_id": envelope.id, "ce_type": envelope.type},
            event_id=f"dlq:{self.name}:{envelope.id}",
        )  # fmt: skip

    def dead_letter(self, event: EventT, reason: str) -> None:
        """Record a refused Kafka record, with its original bytes, on the dead-letter topic."""
        msg = event.message
        stage_dead_letter_until_done(
            self,
            source_topic=msg.topic,
            partition=msg.partition,
            offset=msg.offset,
            reason=reason,
            value=event.value if isinstance(event.value, bytes) else bytes(event.value or b""),
            headers=event.headers,
        )

    # ---- what an agent hands over: raw records --------------------------------------------------
    def process_records(self, records: Iterable[EventT], handlers: dict[str, Handler]) -> None:
        """Filter by ce_type, decode what is handled, apply the batch; fall back one by one."""
        items: list[tuple[Envelope, Handler, EventT]] = []
        skipped = 0
        for record in records:
            ce_type = header_value(record.headers, "ce_type")
            if ce_type is not None and event_name_of(ce_type) not in handlers:
                skipped += 1  # not ours: never decoded
                continue
            try:
                envelope = decode(record.key, record.value, record.headers)
            except EventDecodeError as exc:
                self.dead_letter(record, str(exc))
                continue
            except Exception as exc:  # a decoder bug must not stop the stream either
                self.dead_letter(record, f"undecodable record: {type(exc).__name__}: {exc}")
                continue
            handler = handlers.get(envelope.name)
            if handler is not None:
                items.append((envelope, handler, record))
        if skipped:
            EVENTS_SKIPPED.labels(self.service, self.name).inc(skipped)
        if not items:
            return
        try:
            self.apply_batch([(e, h) for e, h, _ in items])
        except Exception as exc:
            log.info(
                "%s: batch of %d failed (%s); applying one by one", self.name, len(items), type(exc).__name__
            )
            for envelope, handler, record in items:
                self.apply_isolated(envelope, handler, record)


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
    and a redelivered bad record is dead-lettered once. Credentials in the headers are never
    copied, and the reason is cut to MAX_REASON_CHARS."""
    letter = events_pb2.DeadLetter(
        source_topic=source_topic,
        partition=partition,
        offset=offset,
        reason=reason[:MAX_REASON_CHARS],
        original_value=value,
        original_headers=safe_headers(headers),
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
    log.warning("dead-lettered input from %s/%d@%d: %s", source_topic, partition, offset, reason[:200])
    if relay is not None:
        relay.wake()


def stage_dead_letter_until_done(consumer: EventConsumer, **letter: Any) -> None:
    """A dead letter that cannot be written yet (the database is away) waits: never dropped."""
    waits = 0
    while True:
        try:
            stage_dead_letter(
                consumer.engine, consumer.relay, service=consumer.service, consumer=consumer.name, **letter
            )
            return
        except Exception as exc:
            if not is_transient(exc):
                raise
            waits += 1
            CONSUMER_STALLED.labels(consumer.service, consumer.name, "transient").inc()
            consumer.sleep(min(TRANSIENT_BACKOFF_CAP_S, 0.2 * 2 ** min(waits, 6)))


# Headers that carry credentials: a refused webhook's bearer token must not reach the topic.
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"})
MAX_HEADER_CHARS = 1000


def safe_headers(headers: Any) -> dict[str, str]:
    """Headers as text for a dead letter: credentials left out, every value bounded."""
    items = headers.items() if isinstance(headers, dict) else (headers or [])
    out: dict[str, str] = {}
    for k, v in items:
        name = _valid_text(k)
        if name.lower() in SECRET_HEADERS:
            continue
        out[name[:200]] = _valid_text(v)[:MAX_HEADER_CHARS]
    return out


def _valid_text(value: Any) -> str:
    """Text that protobuf can encode: bytes decoded with U+FFFD for what is not UTF-8, and str
    without lone surrogates (aiohttp and os APIs hand undecodable bytes over as surrogateescape)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    text = str(value)
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        try:
            return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        except UnicodeEncodeError:
            return text.encode("utf-8", "replace").decode("utf-8")


def prune_processed(engine: Engine, older_than: datetime) -> int:
    """Forget processed-event markers older than the topics keep records: no redelivery can bring
    those events back, and the table would otherwise grow with every event ever handled."""
    with Session(engine) as session:
        result = session.exec(delete(ProcessedEvent).where(col(ProcessedEvent.processed_at) < older_than))
        session.commit()
        return result.rowcount or 0


def raw_topic(app: faust.App, name: str) -> faust.TopicT:
    return app.topic(name, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")


def lifecycle_agent(
    app: faust.App, consumer: EventConsumer, handlers: dict[str, Handler], settings: Settings | None = None
) -> None:
    """Subscribe `consumer` to the lifecycle topic; `handlers` maps event names
    ("ComplaintRouted") to functions applied inside the unit of work. Other types are skipped
    by their ce_type header, undecoded. Records come in batches of up to
    `consumer_batch_max`, or what arrived within `consumer_batch_window_s`; faust acknowledges
    a batch's offsets only after it was applied."""
    settings = settings or get_settings()
    topic = raw_topic(app, topics.LIFECYCLE_TOPIC)

    async def agent(stream: Any) -> None:
        async for records in stream.take_events(
            settings.consumer_batch_max, within=settings.consumer_batch_window_s
        ):
            await asyncio.to_thread(consumer.process_records, records, handlers)

    app.agent(topic, name=f"{consumer.service}.{consumer.name}")(agent)

    retention = timedelta(days=settings.processed_events_retention_days)

    @app.timer(interval=3600.0, name=f"{consumer.service}.{consumer.name}.prune")
    async def prune() -> None:
        try:
            await asyncio.to_thread(prune_processed, consumer.engine, utcnow() - retention)
        except Exception:  # pruning is housekeeping: it never stops the service
            log.warning("pruning processed-event markers failed", exc_info=True)
