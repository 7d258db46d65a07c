"""Reading topics without a consumer group: for `haq watch`, ops tooling and tests."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from .codec import Envelope, EventDecodeError, decode
from .settings import Settings


@dataclass(frozen=True)
class TailedRecord:
    """One record read: its envelope, or (`envelope` None) the reason it is not an event."""

    topic: str
    partition: int
    offset: int
    envelope: Envelope | None
    error: str | None
    raw_value: bytes


def read_record(topic: str, partition: int, record: Any) -> TailedRecord:
    """A fetched record as a TailedRecord. Never raises: whatever its key, headers and value, a
    record that does not decode is an error record (the reader reports it and moves past it, so it
    never fails twice on the same offset)."""
    try:
        env, err = decode(record.key, record.value, record.headers), None
    except EventDecodeError as exc:
        env, err = None, str(exc)
    except Exception as exc:  # decode raises only EventDecodeError; a reader must not die if it did not
        env, err = None, f"undecodable record: {type(exc).__name__}"
    value = record.value if isinstance(record.value, bytes) else b""
    return TailedRecord(topic, partition, record.offset, env, err, value)


def open_tail(settings: Settings, topic: str, from_beginning: bool = False) -> KafkaConsumer:
    consumer = KafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        enable_auto_commit=False,
        group_id=None,
        request_timeout_ms=int(settings.kafka_request_timeout_s * 1000) + 5000,
        client_id="haq-tail",
    )
    deadline = time.monotonic() + 30
    partitions = consumer.partitions_for_topic(topic)
    while not partitions and time.monotonic() < deadline:
        time.sleep(0.2)
        partitions = consumer.partitions_for_topic(topic)
    if not partitions:
        consumer.close()
        raise RuntimeError(f"topic {topic} not found on {settings.kafka_bootstrap}")
    tps = [TopicPartition(topic, p) for p in sorted(partitions)]
    consumer.assign(tps)
    if from_beginning:
        consumer.seek_to_beginning(*tps)
    else:
        consumer.seek_to_end(*tps)
        for tp in tps:
            consumer.position(tp)  # resolve "end" now, so events produced after this call are seen
    return consumer


def tail(
    settings: Settings,
    topic: str,
    from_beginning: bool = False,
    timeout: float | None = None,
    stop: Callable[[], bool] | None = None,
) -> Iterator[TailedRecord]:
    """Yield decoded records until `timeout` seconds pass (None: forever) or `stop()` is true."""
    consumer = open_tail(settings, topic, from_beginning)
    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        while deadline is None or time.monotonic() < deadline:
            if stop is not None and stop():
                return
            for tp, records in consumer.poll(timeout_ms=200).items():
                for r in records:
                    yield read_record(tp.topic, tp.partition, r)
    finally:
        consumer.close()


def collect(
    settings: Settings,
    topic: str,
    until: Callable[[list[TailedRecord]], bool],
    timeout: float = 30.0,
    from_beginning: bool = True,
) -> list[TailedRecord]:
    """Read from `topic` until `until(records)` holds or the timeout passes; returns what was read."""
    seen: list[TailedRecord] = []
    for rec in tail(settings, topic, from_beginning=from_beginning, timeout=timeout):
        seen.append(rec)
        if until(seen):
            break
    return seen
