"""Transactional outbox: stage events in the service's own transaction, relay them afterwards.

A crash between the commit and the relay loses nothing (the row is still there on restart); a
crash between the send and the mark re-sends the same event id, which consumers skip.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import replace

from kafka import KafkaProducer
from prometheus_client import Counter, Gauge
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, delete, select

from .codec import Envelope, encode
from .db import OutboxMessage, utcnow
from .settings import Settings
from .tracing import current_trace_extensions

log = logging.getLogger(__name__)

OUTBOX_BACKLOG = Gauge("haq_outbox_backlog", "Events committed but not yet relayed to Kafka", ["service"])
OUTBOX_RELAYED = Counter("haq_outbox_relayed_total", "Events relayed from the outbox to Kafka", ["service"])


def stage(session: Session, envelope: Envelope, topic: str) -> None:
    """Add an event to the outbox inside the caller's transaction, carrying the current trace."""
    trace_context = current_trace_extensions()
    if trace_context and "traceparent" not in envelope.extensions:
        envelope = replace(envelope, extensions={**envelope.extensions, **trace_context})
    record = encode(envelope)
    session.add(
        OutboxMessage(
            event_id=envelope.id,
            topic=topic,
            key=record.key,
            value=record.value,
            headers_json=json.dumps([(k, v.decode("utf-8")) for k, v in record.headers]),
        )
    )


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
                log.exception("outbox relay failed; retrying")
                relayed = 0
                self._stop.wait(1.0)
            if relayed < self._batch_size:
                self._wake.wait(self._settings.outbox_poll_interval_s)
                self._wake.clear()

    def relay_once(self) -> int:
        assert self._producer is not None
        with Session(self._engine) as session:
            rows = session.exec(
                select(OutboxMessage)
                .where(col(OutboxMessage.published_at).is_(None))
                .order_by(col(OutboxMessage.seq))
                .limit(self._batch_size)
            ).all()
            if not rows:
                OUTBOX_BACKLOG.labels(self._service).set(0)
                return 0
            futures = [
                self._producer.send(
                    row.topic,
                    key=row.key,
                    value=row.value,
                    headers=[(k, v.encode("utf-8")) for k, v in json.loads(row.headers_json)],
                )
                for row in rows
            ]
            self._producer.flush()
            for fut in futures:
                fut.get(timeout=self._settings.kafka_request_timeout_s)  # raise if any send failed
            now = utcnow()
            for row in rows:
                row.published_at = now
                session.add(row)
            session.commit()
            # Published rows are kept a while for inspection, then purged.
            session.exec(
                delete(OutboxMessage).where(
                    col(OutboxMessage.seq) < rows[-1].seq - 10_000,
                    col(OutboxMessage.published_at).is_not(None),
                )
            )
            session.commit()
            backlog = session.exec(
                select(func.count()).where(col(OutboxMessage.published_at).is_(None))
            ).one()
            OUTBOX_BACKLOG.labels(self._service).set(backlog)
        OUTBOX_RELAYED.labels(self._service).inc(len(rows))
        return len(rows)
