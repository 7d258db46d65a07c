"""Consumer lag of the services' consumer groups: committed offsets against end offsets.

What Burrow or kafka-exporter report, read on demand with kafka-python's admin client (the
committed offsets of each group) and a group-less consumer (the end offsets). One reading for
everyone: each service's `haq_consumer_lag` metric and `haq watch --summary` both use
`ConsumerLagProbe`, so they agree (a partition the group never committed on lags by everything
in it). `lag_rows` is the pure part.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

from .settings import SERVICES, Settings

# faust's app id is the group id: services.common.runtime.make_app names them haq-<service>.
GROUPS = tuple(f"haq-{svc}" for svc in SERVICES)


@dataclass(frozen=True)
class LagRow:
    group: str
    topic: str
    partition: int
    committed: int | None  # None: the group has not committed on this partition yet
    end: int
    lag: int

    def to_dict(self) -> dict[str, object]:
        return {
            "group": self.group,
            "topic": self.topic,
            "partition": self.partition,
            "committed": self.committed,
            "end": self.end,
            "lag": self.lag,
        }


def lag_rows(
    group: str, committed: Mapping[TopicPartition, int | None], ends: Mapping[TopicPartition, int]
) -> list[LagRow]:
    """One row per partition; a partition without a commit lags by everything in it (the services
    start from the earliest offset). Sorted by topic and partition."""
    rows = []
    for tp in sorted(committed, key=lambda t: (t.topic, t.partition)):
        end = ends.get(tp)
        if end is None:
            continue
        offset = committed[tp]
        lag = end if offset is None or offset < 0 else max(0, end - offset)
        rows.append(
            LagRow(group, tp.topic, tp.partition, None if offset is None or offset < 0 else offset, end, lag)
        )
    return rows


class ConsumerLagProbe:
    """Reads the lag of GROUPS on demand; keeps its two clients open between reads."""

    def __init__(self, settings: Settings, groups: tuple[str, ...] = GROUPS):
        self.groups = groups
        timeout_ms = int(settings.kafka_request_timeout_s * 1000)
        self._admin = KafkaAdminClient(
            bootstrap_servers=settings.kafka_bootstrap, client_id="haq-lag", request_timeout_ms=timeout_ms
        )
        self._consumer = KafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap,
            group_id=None,
            enable_auto_commit=False,
            client_id="haq-lag",
            request_timeout_ms=timeout_ms + 5000,
        )

    def read(self) -> list[LagRow]:
        committed: dict[str, dict[TopicPartition, int | None]] = {}
        for group in self.groups:
            # One group per request: the local broker may not support multi-group OffsetFetch (v8).
            offsets = self._admin.list_group_offsets({group: None}).get(group, {})
            committed[group] = {
                tp: (meta.offset if meta is not None else None) for tp, meta in offsets.items()
            }
            # A partition the group never committed on is still lag (everything in it is unread).
            for topic in {tp.topic for tp in offsets}:
                for partition in self._consumer.partitions_for_topic(topic) or ():
                    committed[group].setdefault(TopicPartition(topic, partition), None)
        partitions = {tp for offsets in committed.values() for tp in offsets}
        ends = self._consumer.end_offsets(list(partitions)) if partitions else {}
        rows: list[LagRow] = []
        for group in self.groups:
            rows += lag_rows(group, committed[group], ends)
        return rows

    def close(self) -> None:
        self._admin.close()
        self._consumer.close()
