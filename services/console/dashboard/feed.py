"""The lifecycle topic, folded into a FlowState and fanned out to the browsers' event streams.

A daemon thread tails the topic with kafka-python (no consumer group: the dashboard commits
nothing and owns no state) and applies each event to the FlowState under a lock; live events are
handed to the aiohttp loop, which puts them on every subscriber's queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from services.common import topics
from services.common.codec import Envelope
from services.common.settings import Settings

from ..flow import FlowEvent, FlowState
from ..stream import follow
from . import scope

log = logging.getLogger(__name__)

SUBSCRIBER_QUEUE = 1000  # events a slow browser may fall behind before it is dropped


class LifecycleFeed:
    def __init__(self, settings: Settings, replay: bool = True, state: FlowState | None = None):
        self.settings = settings
        self.replay = replay
        self.state = state or scope.TenantFlowState()  # knows each complaint's tenant
        self.lock = threading.Lock()
        self.caught_up = threading.Event()  # the history present at start has been read
        self.error: str | None = None
        self.skipped = 0  # records passed over: not events, or events the state could not fold in
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._subscribers: set[asyncio.Queue[FlowEvent | None]] = set()

    # -- the tail thread --------------------------------------------------------------------------

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._thread = threading.Thread(target=self._run, name="dashboard-feed", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._tail()
            except Exception as exc:  # the broker went away: say so on the pages, and retry
                self.error = f"cannot read {topics.LIFECYCLE_TOPIC}: {exc}"
                log.warning("dashboard feed: %s; retrying", self.error)
                self._stop.wait(2)

    def _tail(self) -> None:
        # After a reconnect, replaying again is harmless: FlowState drops already-seen event ids.
        records = follow(
            self.settings,
            topics.LIFECYCLE_TOPIC,
            replay=self.replay,
            stop=self._stop.is_set,
            on_caught_up=self.caught_up.set,
        )
        self.error = None
        for record, _live in records:
            if record.envelope is None:
                # Undecodable records are the services' dead letters, not the dashboard's: passed
                # over once, never a reason to restart the tail (which would meet them again).
                self.skipped += 1
                continue
            try:
                self.ingest(record.envelope)
            except Exception:
                self.skipped += 1
                log.exception(
                    "dashboard feed: cannot fold %s %s (%s/%d@%d) in; skipped",
                    record.envelope.name, record.envelope.id, record.topic, record.partition, record.offset,
                )  # fmt: skip

    def ingest(self, envelope: Envelope) -> FlowEvent | None:
        """Fold one event into the state and hand its row to the open event streams."""
        with self.lock:
            row = self.state.apply(envelope)
        if row is not None:
            self._publish(row)
        return row

    def _publish(self, row: FlowEvent) -> None:
        if self._loop is None or self._loop.is_closed():
            return
        self._loop.call_soon_threadsafe(self._fan_out, row)

    # -- the aiohttp side -------------------------------------------------------------------------

    def _fan_out(self, row: FlowEvent) -> None:
        for queue in list(self._subscribers):
            try:
                queue.put_nowait(row)
            except asyncio.QueueFull:
                # Too slow: end its stream; the browser's EventSource reconnects and catches up.
                self._subscribers.discard(queue)

    def subscribe(self) -> asyncio.Queue[FlowEvent | None]:
        queue: asyncio.Queue[FlowEvent | None] = asyncio.Queue(maxsize=SUBSCRIBER_QUEUE)
        self._subscribers.add(queue)
        return queue

    def end_streams(self) -> None:
        """Tell every open event stream to finish (the server is shutting down)."""
        for queue in list(self._subscribers):
            self._subscribers.discard(queue)
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(None)

    def unsubscribe(self, queue: asyncio.Queue[FlowEvent | None]) -> None:
        self._subscribers.discard(queue)

    def is_subscribed(self, queue: asyncio.Queue[FlowEvent | None]) -> bool:
        return queue in self._subscribers

    def read(self, fn: Callable[[FlowState], Any]) -> Any:
        """Run `fn` on the state under the lock (the tail thread writes it concurrently)."""
        with self.lock:
            return fn(self.state)

    def shows(self, row: FlowEvent) -> bool:
        """May the current principal (the request's) see this live row? Always, with auth off."""
        if not scope.scoped():
            return True
        with self.lock:
            return scope.row_visible(self.state, row)

    def snapshot(self, now: datetime | None = None) -> dict[str, Any]:
        """The summary the current principal may see (all of it when auth is off)."""
        now = now or datetime.now(UTC)
        with self.lock:
            data = scope.summary(self.state, now)
        data["feed"] = {"error": self.error, "caught_up": self.caught_up.is_set(), "skipped": self.skipped}
        return data
