"""Has escalation's consumer group caught up with the lifecycle topic since this process started?

After a restart, events that stop a clock (an acknowledgement sent, a reply) may still wait on the
topic while their deadline has passed; firing before they are read would raise a false breach and
escalate it. So the topic's end offsets are recorded once, at start, and deadlines fire only once
the group's committed offsets have reached them on every partition. Offsets are read with
kafka-python (blocking: call `check` in a thread, off the event loop), as ConsumerLag does.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from prometheus_client import Gauge

log = logging.getLogger(__name__)

CAUGHT_UP = Gauge(
    "haq_escalation_caught_up",
    "1 once the consumer group has read the lifecycle topic up to its end at start (deadlines fire)",
)


class CatchUp:
    """`check()` is False until the group's committed offsets reach the end offsets recorded on the
    first call, then True for good. After `max_wait_s` it gives up waiting (logged as an error):
    a consumer stuck for that long must not also stop every deadline."""

    def __init__(
        self,
        bootstrap: str,
        group: str,
        topic: str,
        *,
        max_wait_s: float = 300.0,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self.bootstrap = bootstrap
        self.group = group
        self.topic = topic
        self.max_wait_s = max_wait_s
        self._monotonic = monotonic
        self._started = monotonic()
        self._targets: dict[TopicPartition, int] | None = None
        self._admin: KafkaAdminClient | None = None
        self._consumer: KafkaConsumer | None = None
        self.done = False
        CAUGHT_UP.set(0)

    def record_targets(self) -> dict[TopicPartition, int]:
        """The topic's end offsets, recorded once (at start)."""
        if self._targets is None:
            if self._consumer is None:
                self._consumer = KafkaConsumer(bootstrap_servers=self.bootstrap, group_id=None)
            partitions = self._consumer.partitions_for_topic(self.topic) or set()
            if not partitions:
                raise RuntimeError(f"no partitions known for {self.topic} yet")
            ends = self._consumer.end_offsets([TopicPartition(self.topic, p) for p in partitions])
            self._targets = {tp: int(end) for tp, end in ends.items()}
            log.info(
                "deadlines wait until %s has read %s up to %s",
                self.group,
                self.topic,
                {tp.partition: end for tp, end in sorted(self._targets.items())},
            )
        return self._targets

    def behind(self) -> dict[int, int]:
        """Partition -> records still to be committed, against the recorded end offsets."""
        targets = self.record_targets()
        if self._admin is None:
            self._admin = KafkaAdminClient(bootstrap_servers=self.bootstrap)
        committed = self._admin.list_group_offsets(self.group).get(self.group, {})
        out: dict[int, int] = {}
        for tp, end in targets.items():
            meta = committed.get(tp)
            at = meta.offset if meta is not None and meta.offset >= 0 else 0
            if at < end:
                out[tp.partition] = end - at
        return out

    def check(self) -> bool:
        if self.done:
            return True
        try:
            behind = self.behind()
        except Exception:
            log.warning("could not read %s's offsets on %s", self.group, self.topic, exc_info=True)
            behind = None
        if behind == {}:
            log.info("%s caught up with %s: deadlines fire", self.group, self.topic)
            self._finish()
        elif self._monotonic() - self._started >= self.max_wait_s:
            log.error(
                "%s has not caught up with %s after %.0f s (behind: %s); firing deadlines anyway",
                self.group,
                self.topic,
                self.max_wait_s,
                behind,
            )
            self._finish()
        return self.done

    def _finish(self) -> None:
        self.done = True
        CAUGHT_UP.set(1)
        self.close()

    def close(self) -> None:
        for client in (self._admin, self._consumer):
            if client is not None:
                try:
                    client.close()
                except Exception:  # closing is best effort
                    log.debug("closing a kafka client failed", exc_info=True)
        self._admin = self._consumer = None
