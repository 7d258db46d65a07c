"""Reading recent complaints back from the lifecycle topic (for simulations): no consumer group,
from the start of each partition up to its end at the time of the call."""

from __future__ import annotations

import time
from collections.abc import Callable

from services.common import topics
from services.common.codec import Envelope, EventDecodeError, decode
from services.common.pb.haq.v1 import events_pb2
from services.common.settings import Settings
from services.common.tail import open_tail


def recent_received(
    settings: Settings, last: int, timeout: float = 30.0
) -> list[tuple[Envelope, events_pb2.ComplaintReceived]]:
    """The last `last` ComplaintReceived events (by event time), oldest first."""
    consumer = open_tail(settings, topics.LIFECYCLE_TOPIC, from_beginning=True)
    found: dict[str, tuple[Envelope, events_pb2.ComplaintReceived]] = {}
    try:
        partitions = list(consumer.assignment())
        ends = consumer.end_offsets(partitions)
        deadline = time.monotonic() + timeout
        while any(consumer.position(tp) < ends[tp] for tp in partitions):
            if time.monotonic() > deadline:
                raise TimeoutError(f"reading {topics.LIFECYCLE_TOPIC} took longer than {timeout:g}s")
            for records in consumer.poll(timeout_ms=200).values():
                for r in records:
                    try:
                        env = decode(r.key, r.value, r.headers)
                    except EventDecodeError:
                        continue  # routing dead-letters these when it consumes them
                    if isinstance(env.message, events_pb2.ComplaintReceived) and env.message.complaint.id:
                        found[env.message.complaint.id] = (env, env.message)  # a re-emit counts once
    finally:
        consumer.close()
    ordered = sorted(found.values(), key=lambda pair: (pair[0].time, pair[1].complaint.id))
    return ordered[-last:] if last > 0 else []


def reader(
    settings: Settings, convert: Callable[[events_pb2.ComplaintReceived], object]
) -> Callable[[int], list]:
    return lambda last: [convert(msg) for _, msg in recent_received(settings, last)]
