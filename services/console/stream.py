"""Tail a topic from its beginning, telling the history (already there at start) from live records.

Ops views need the past to know each complaint's facts (sector, team, clocks) but show only what
happens from now on; `follow` reads both with one group-less consumer (services.common.tail).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from services.common.settings import Settings
from services.common.tail import TailedRecord, open_tail, read_record


def follow(
    settings: Settings,
    topic: str,
    replay: bool = True,
    stop: Callable[[], bool] | None = None,
    poll_ms: int = 200,
    on_caught_up: Callable[[], None] | None = None,
) -> Iterator[tuple[TailedRecord, bool]]:
    """Yield (record, live) until `stop()` is true; `live` is False for records that were in the
    topic when the tail started (only read when `replay`). `on_caught_up` is called once, when
    that history has been read."""
    consumer = open_tail(settings, topic, from_beginning=replay)
    try:
        start_ends = consumer.end_offsets(list(consumer.assignment())) if replay else {}
        behind = True
        while stop is None or not stop():
            if behind and all(consumer.position(tp) >= end for tp, end in start_ends.items()):
                behind = False
                if on_caught_up is not None:
                    on_caught_up()
            for tp, records in consumer.poll(timeout_ms=poll_ms).items():
                history_end = start_ends.get(tp, 0)
                for r in records:
                    # never raises: an undecodable record is yielded as an error record, once
                    yield read_record(tp.topic, tp.partition, r), r.offset >= history_end
    finally:
        consumer.close()
