"""Transactional outbox: stage events in the service's own transaction, relay them afterwards.

A crash between the commit and the relay loses nothing (the row is still there on restart); a
crash between the send and the mark re-sends the same event id, which consumers skip.
"""

from __future__ import annotations

import json
import logging
import threading
import zlib
from dataclasses import replace
from typing import Any

from kafka import KafkaProducer
from kafka.errors import MessageSizeTooLargeError
from prometheus_client import Counter, Gauge
from sqlalchemy import func, insert
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, delete, select, text, update

from .codec import Envelope, encode, new_event
from .db import OutboxMessage, utcnow
from .pb.haq.v1 import events_pb2
from .settings import Settings
from .topics import DEAD_LETTER_TOPIC
from .tracing import current_trace_extensions

log = logging.getLogger(__name__)

OUTBOX_BACKLOG = Gauge("haq_outbox_backlog", "Events committed but not yet relayed to Kafka", ["service"])
OUTBOX_RELAYED = Counter("haq_outbox_relayed_total", "Events relayed from the outbox to Kafka", ["service"])
OUTBOX_REFUSED = Counter(
    "haq_outbox_refused_total", "Outbox rows the broker refused for good, dead-lettered", ["service"]
)
OUTBOX_FAILURES = Counter(
    "haq_outbox_relay_failures_total", "Relay passes that failed and will retry", ["service"]
)

# Errors of one record that no retry can mend (kafka-python checks the size before sending).
PERMANENT_SEND_ERRORS = (MessageSizeTooLargeError,)
MAX_DEAD_LETTER_QUOTE = 64 * 1024
PURGE_EVERY = 50  # relay passes between purges of old published rows


def stage(session: Session, envelope: Envelope, topic: str) -> None:
    """Add an event to the outbox inside the caller's transaction, carrying the current trace."""
    session.add(OutboxMessage(**outbox_row(envelope, topic)))


def outbox_row(envelope: Envelope, topic: str) -> dict[str, Any]:
    """The row `stage` adds, as column values (with the current trace), for `stage_rows`."""
    trace_context = current_trace_extensions()
    if trace_context and "traceparent" not in envelope.extensions:
        envelope = replace(envelope, extensions={**envelope.extensions, **trace_context})
    record = encode(envelope)
    return {
        "event_id": envelope.id,
        "topic": topic,
        "key": record.key,
        "value": record.value,
        "headers_json": json.dumps([(k, v.decode("utf-8")) for k, v in record.headers]),
        "created_at": utcnow(),
        "published_at": None,
    }


def stage_rows(session: Session, rows: list[dict[str, Any]]) -> None:
    """Stage many `outbox_row`s with one INSERT (executemany), in their order, in the caller's
    transaction: what a batched consumer stages, without an ORM object and flush per event."""
    if rows:
        session.execute(insert(OutboxMessage.__table__), rows)  # type: ignore[attr-defined]


def make_producer(settings: Settings, client_id: str) -> KafkaProducer:
    # acks=all and no idempotence: the local broker has no idempotent producer; consumers dedupe.
    return KafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        client_id=client_id,
        acks="all",
        linger_ms=2,
        retries=5,
        request_timeout_ms=int(settings.kafka_request_timeout_s * 1000),
        max_in_flight_requests_per_connection=1,  # keeps per-key order across retries
    )


class OutboxRelay:
    """Background thread that publishes committed outbox rows in order, then marks them."""

    def __init__(self, engine: Engine, settings: Settings, service: str, batch_size: int = 500):
        self._engine = engine
        self._settings = settings
        self._service = service
        self._batch_size = batch_size
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._producer: KafkaProducer | None = None
        self._relays = 0
        # One advisory lock per service database (PostgreSQL): one relay publishes at a time.
        self._lock_key = zlib.crc32(f"haq-outbox-{service}".encode())

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"{self._service}-outbox", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Called after a commit that staged events, so they go out without waiting for a poll."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout)
        if self._producer:
            self._producer.close(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if self._producer is None:
                    self._producer = make_producer(self._settings, f"haq-{self._service}-outbox")
                relayed = self.relay_once()
            except Exception:
                OUTBOX_FAILURES.labels(self._service).inc()
                log.exception("outbox relay failed; retrying")
                relayed = 0
                self._stop.wait(1.0)
            if relayed < self._batch_size:
                self._wake.wait(self._settings.outbox_poll_interval_s)
                self._wake.clear()

    def relay_once(self) -> int:
        """Publish the oldest unpublished rows (up to a batch) in order, then mark them.

        Several relays of one service (several workers on one PostgreSQL database) stay correct:
        a transaction-scoped advisory lock lets one of them publish at a time, so rows keep
        their order per key; the others find the lock taken and wait for the next wake. A row the
        broker refuses for good (larger than it accepts) is dead-lettered and passed, so one
        record never wedges the relay; a broker that is away fails the batch, which is sent
        again (consumers skip the duplicates)."""
        assert self._producer is not None
        with Session(self._engine) as session:
            if (
                self._engine.dialect.name == "postgresql"
                and not session.exec(
                    text("SELECT pg_try_advisory_xact_lock(:key)").bindparams(key=self._lock_key)
                ).scalar()
            ):
                return 0
            rows = session.exec(
                select(OutboxMessage)
                .where(col(OutboxMessage.published_at).is_(None))
                .order_by(col(OutboxMessage.seq))
                .limit(self._batch_size)
            ).all()
            if not rows:
                OUTBOX_BACKLOG.labels(self._service).set(0)
                return 0
            sent: list[tuple[OutboxMessage, Any]] = []
            refused: list[tuple[OutboxMessage, Exception]] = []
            for row in rows:
                try:
                    future = self._producer.send(
                        row.topic,
                        key=row.key,
                        value=row.value,
                        headers=[(k, v.encode("utf-8")) for k, v in json.loads(row.headers_json)],
                    )
                    sent.append((row, future))
                except PERMANENT_SEND_ERRORS as exc:  # checked before sending: the record is too large
                    refused.append((row, exc))
            self._producer.flush()
            for row, future in sent:
                try:
                    future.get(timeout=self._settings.kafka_request_timeout_s)
                except PERMANENT_SEND_ERRORS as exc:
                    refused.append((row, exc))
                # any other error (the broker is away) raises: the batch is tried again
            for row, exc in refused:
                self._dead_letter(row, exc)
            now = utcnow()
            session.exec(
                update(OutboxMessage)
                .where(col(OutboxMessage.seq).in_([row.seq for row in rows]))
                .values(published_at=now)
            )
            self._relays += 1
            if self._relays % PURGE_EVERY == 0:
                # Published rows are kept a while for inspection, then purged.
                session.exec(
                    delete(OutboxMessage).where(
                        col(OutboxMessage.seq) < rows[-1].seq - 10_000,
                        col(OutboxMessage.published_at).is_not(None),
                    )
                )
            session.commit()
            if len(rows) < self._batch_size:
                OUTBOX_BACKLOG.labels(self._service).set(0)
            else:
                backlog = session.exec(
                    select(func.count()).where(col(OutboxMessage.published_at).is_(None))
                ).one()
                OUTBOX_BACKLOG.labels(self._service).set(backlog)
        OUTBOX_RELAYED.labels(self._service).inc(len(rows) - len(refused))
        return len(rows)

    def _dead_letter(self, row: OutboxMessage, exc: Exception) -> None:
        """Straight to the dead-letter topic (it is the outbox's own failure): what the row was,
        why, and the first MAX_DEAD_LETTER_QUOTE bytes of it."""
        assert self._producer is not None
        OUTBOX_REFUSED.labels(self._service).inc()
        log.error(
            "outbox row %s (%s, %d bytes) refused by the broker: %s; dead-lettered",
            row.event_id, row.topic, len(row.value), type(exc).__name__,
        )  # fmt: skip
        letter = events_pb2.DeadLetter(
            source_topic=row.topic,
            partition=-1,
            offset=row.seq or -1,
            reason=f"the broker refused event {row.event_id} ({len(row.value)} bytes): {type(exc).__name__}: {exc}"[
                :1000
            ],
            original_value=row.value[:MAX_DEAD_LETTER_QUOTE],
            original_headers={k: v[:1000] for k, v in json.loads(row.headers_json)},
            service=self._service,
        )
        letter.failed_at.GetCurrentTime()
        record = encode(
            new_event(
                letter,
                source=f"/haq/{self._service}",
                subject=row.event_id,
                event_id=f"dlq:outbox:{row.event_id}",
            )
        )
        self._producer.send(
            DEAD_LETTER_TOPIC, key=record.key, value=record.value, headers=record.headers
        ).get(timeout=self._settings.kafka_request_timeout_s)
