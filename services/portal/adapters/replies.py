"""The public replies the portal shows, read from the lifecycle topic: what the agent wrote to the
customer (AgentResponded), asked them (InfoRequested) and the resolution summary (Resolved).
Internal notes are other events and never read. Filtered by the ce_type header before decoding;
stored by event id, so a record read twice is one row."""

from __future__ import annotations

import logging
import threading
from typing import Any

from kafka import KafkaConsumer
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from services.common import topics
from services.common.codec import EventDecodeError, decode
from services.common.proto_values import to_datetime
from services.common.settings import Settings

from .db import PublicMessageRow

log = logging.getLogger(__name__)
PUBLIC = {
    b"haq.v1.AgentResponded": "response",
    b"haq.v1.InfoRequested": "question",
    b"haq.v1.Resolved": "resolution",
}
MAX_BODY = 20_000


def public_message(envelope: Any) -> PublicMessageRow | None:
    msg = envelope.message
    name = envelope.name
    if name == "AgentResponded":
        kind, body, at = "response", msg.body, to_datetime(msg.responded_at)
    elif name == "InfoRequested":
        kind, body, at = "question", msg.question, None
    elif name == "Resolved":
        kind, body, at = "resolution", msg.summary, to_datetime(msg.resolved_at)
    else:
        return None
    if not body.strip():
        return None
    complaint_id = getattr(msg, "complaint_id", "") or envelope.subject
    return PublicMessageRow(
        event_id=envelope.id,
        complaint_id=complaint_id,
        kind=kind,
        body=body[:MAX_BODY],
        at=at or envelope.time,
    )


class ReplyReader:
    """A background thread in the consumer group haq-portal."""

    def __init__(self, engine: Engine, settings: Settings):
        self.engine = engine
        self.settings = settings
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="portal-replies", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                consumer = KafkaConsumer(
                    topics.LIFECYCLE_TOPIC,
                    bootstrap_servers=self.settings.kafka_bootstrap,
                    group_id="haq-portal",
                    auto_offset_reset="earliest",
                    enable_auto_commit=False,
                    client_id="haq-portal",
                )
                try:
                    while not self._stop.is_set():
                        batch = consumer.poll(timeout_ms=500, max_records=500)
                        records = [r for rs in batch.values() for r in rs]
                        if records:
                            self.store(records)
                            consumer.commit()
                finally:
                    consumer.close()
            except Exception:  # the broker away: try again; the pages still work without replies
                log.warning("portal reply reader failed; retrying", exc_info=True)
                self._stop.wait(2.0)

    def store(self, records: list[Any]) -> None:
        rows = []
        for record in records:
            ce_type = dict(record.headers or ()).get("ce_type")
            if ce_type not in PUBLIC:
                continue
            try:
                row = public_message(decode(record.key, record.value, record.headers))
            except EventDecodeError:
                continue
            if row is not None:
                rows.append(row)
        for row in rows:
            with Session(self.engine) as session:
                if session.get(PublicMessageRow, row.event_id) is None:
                    session.add(row)
                    try:
                        session.commit()
                    except IntegrityError:
                        session.rollback()
