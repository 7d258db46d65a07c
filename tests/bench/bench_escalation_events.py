"""Escalation's consumer alone, in process: CPU-ms per complaint and events/s (printed, never asserted).

N complaints' worth of the lifecycle records escalation's consumer reads in a storm, encoded with
the real codec, go through the real `EventConsumer.process_records` and escalation's handlers (the
worker's wiring) against SQLite in a temp dir, in batches of the consumer's size. The stream is
pipelined the way the storm's is: while complaint i is received, complaint i-LAG is routed and
complaint i-2*LAG is acknowledged, so a batch mixes types and complaints, and holds some
consecutive events of one complaint. Per complaint: ComplaintReceived, ComplaintRouted, the
OwnerAssigned and SlaClocksStarted escalation itself published (passed over by their header), the
acknowledgement's NotificationSent and the owner's new-assignment NotificationSent.

HAQ_BENCH_ESC_COMPLAINTS (3000), HAQ_BENCH_ESC_BATCH (records per batch, 500: the consumer's
HAQ_CONSUMER_BATCH_MAX), HAQ_BENCH_ESC_LAG (50). Run: `python -m tests.bench escalation_events`.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from services.common.codec import encode, new_event
from services.common.db import OutboxMessage, ProcessedEvent, create_tables, make_engine
from services.common.pb.haq.v1 import complaint_pb2, events_pb2
from services.common.runtime import EventConsumer
from services.escalation.adapters.db import MODELS
from services.escalation.adapters.events import timestamp
from services.escalation.bootstrap import lifecycle_handlers
from services.escalation.domain import SystemClock
from services.escalation.service_layer.handlers import EscalationHandlers

COMPLAINTS = int(os.environ.get("HAQ_BENCH_ESC_COMPLAINTS", "3000"))
BATCH = int(os.environ.get("HAQ_BENCH_ESC_BATCH", "500"))
LAG = int(os.environ.get("HAQ_BENCH_ESC_LAG", "50"))
POLICIES = ["default", "healthcare-standard", "education-standard", "b2b-contract", "safety-critical"]
PRIORITIES = [complaint_pb2.PRIORITY_NORMAL, complaint_pb2.PRIORITY_HIGH, complaint_pb2.PRIORITY_CRITICAL]


@dataclass
class Message:  # the record metadata a dead letter would quote
    topic: str = "haq.complaints.lifecycle.v1"
    partition: int = 0
    offset: int = 0


@dataclass
class Record:  # what faust hands the agent
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]
    message: Message = field(default_factory=Message)


def _record(message, source: str, cid: str, event_id: str, offset: int) -> Record:
    r = encode(new_event(message, source=source, subject=cid, event_id=event_id))
    return Record(r.key, r.value, r.headers, Message(offset=offset))


def complaint_records(i: int, stage: int, at: datetime, offset: int) -> list[Record]:
    cid = f"bench-{i:06d}"
    if stage == 0:
        complaint = complaint_pb2.Complaint(id=cid, received_at=timestamp(at), tenant="default")
        return [
            _record(
                events_pb2.ComplaintReceived(complaint=complaint), "/haq/intake", cid, f"rcv-{cid}", offset
            )
        ]
    if stage == 1:
        routed = events_pb2.ComplaintRouted(
            complaint_id=cid,
            team=f"team-{i % 7}",
            owner=f"agent-{i % 40}",
            priority=PRIORITIES[i % len(PRIORITIES)],
            sla_policy=POLICIES[i % len(POLICIES)],
            sector="general",
            reason="rule",
        )
        assigned = events_pb2.OwnerAssigned(complaint_id=cid, owner=f"agent-{i % 40}")
        started = events_pb2.SlaClocksStarted(complaint_id=cid)
        return [
            _record(routed, "/haq/routing", cid, f"rtd-{cid}", offset),
            _record(assigned, "/haq/escalation", cid, f"rtd-{cid}:owner-assigned", offset + 1),
            _record(started, "/haq/escalation", cid, f"rtd-{cid}:sla-clocks-started", offset + 2),
        ]
    out = []
    for n, template in enumerate(("acknowledgement", "new_assignment")):
        sent = events_pb2.NotificationSent(
            complaint_id=cid,
            notification_id=f"n-{cid}-{template}",
            channel="email",
            template=template,
            sent_at=timestamp(at + timedelta(seconds=2)),
        )
        out.append(_record(sent, "/haq/notifications", cid, f"sent-{cid}-{template}", offset + n))
    return out


def stream(n: int, lag: int) -> Iterator[Record]:
    """Every complaint's records, pipelined: receive i, route i-lag, acknowledge i-2*lag."""
    now = datetime.now(UTC)
    offset = 0
    for step in range(n + 2 * lag):
        for stage in range(3):
            i = step - stage * lag
            if 0 <= i < n:
                records = complaint_records(i, stage, now, offset)
                offset += len(records)
                yield from records


def batches(records: Iterator[Record], size: int) -> Iterator[list[Record]]:
    batch: list[Record] = []
    for record in records:
        batch.append(record)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def run() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'escalation.db'}")
        create_tables(engine, MODELS)
        consumer = EventConsumer("escalation-lifecycle", "escalation", engine, relay=None)
        handlers = lifecycle_handlers(EscalationHandlers(SystemClock()))
        prepared = list(batches(stream(COMPLAINTS, LAG), BATCH))
        records = sum(len(b) for b in prepared)
        cpu, wall = time.process_time(), time.perf_counter()
        for batch in prepared:
            consumer.process_records(batch, handlers)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        with engine.connect() as conn:
            staged = conn.execute(select(func.count()).select_from(OutboxMessage)).scalar_one()
            marked = conn.execute(select(func.count()).select_from(ProcessedEvent)).scalar_one()
        handled = marked
        print(
            f"   {COMPLAINTS} complaints, {records} records in {len(prepared)} batches of <= {BATCH}"
            f" ({handled} handled, {records - handled} passed over by header), {staged} outbox rows"
        )
        print(f"   CPU {cpu * 1000 / COMPLAINTS:.2f} ms per complaint ({cpu:.2f} s), wall {wall:.2f} s")
        print(f"   {handled / wall:,.0f} handled events/s, {records / wall:,.0f} records/s (wall)")


if __name__ == "__main__":
    run()
