"""The deadline firer: applies whatever time made due, one case per transaction."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from prometheus_client import Counter, Histogram
from sqlalchemy.engine import Engine
from sqlmodel import Session

from services.common.outbox import OutboxRelay

from ..adapters.db import (
    StaleCase,
    due_cases,
    load_case,
    save_case,
)
from ..domain import (
    Clock,
    tick,
)
from .shared import Binder, publish, stored_tenant

log = logging.getLogger(__name__)


FIRE_FAILURES = Counter(
    "haq_deadline_fire_failures",
    "Cases whose due work failed to apply (isolated, retried with backoff)",
)
DEADLINE_LATENESS = Histogram(
    "haq_deadline_lateness_seconds",
    "How long after its due time a deadline was applied",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 30, 300),
)


class DeadlineFirer:
    """Applies whatever time made due (warnings, breaches, ladder steps, transfer timeouts,
    closing), one case per transaction, found through the durable deadline index.

    The case is written only over the version that was read, and the events' ids are fixed per
    deadline (breach, warning, ladder step, with the clock's cycle) or per case version, so with
    several workers, a redelivery or a restart a deadline still fires at most once downstream.

    Each case is isolated: one that fails (anything but a concurrent change) is logged, counted
    (haq_deadline_fire_failures_total) and retried later with a growing backoff, while the rest of
    the batch fires; its deadline stays in the index, so a restart retries it too. Nothing here
    calls another service: the binder reads the directory from its cache.
    """

    RETRY_FIRST = timedelta(seconds=1)
    RETRY_MAX = timedelta(minutes=5)

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        relay: OutboxRelay | None = None,
        batch: int = 500,
        binder: Binder | None = None,
    ):
        self.engine = engine
        self.clock = clock
        self.relay = relay
        self.batch = batch
        self.binder = binder or Binder()
        # complaint id -> (failed attempts, not to be tried before)
        self._retries: dict[str, tuple[int, datetime]] = {}

    def fire_due(self) -> int:
        """Cases whose due work produced events in this call."""
        now = self.clock.now()
        waiting = [cid for cid, (_, retry_at) in self._retries.items() if retry_at > now]
        with Session(self.engine) as session:
            due = due_cases(session, now, self.batch, exclude=waiting)
        fired = 0
        for cid, due_at in due:
            try:
                fired += self._fire(cid, due_at)
            except Exception:  # one case must not stop the others: retried after a backoff
                self._failed(cid, now)
            else:
                self._retries.pop(cid, None)
        if fired and self.relay is not None:
            self.relay.wake()
        return fired

    def _failed(self, complaint_id: str, now: datetime) -> None:
        attempts = self._retries.get(complaint_id, (0, now))[0] + 1
        delay = min(self.RETRY_FIRST * 2 ** (attempts - 1), self.RETRY_MAX)
        self._retries[complaint_id] = (attempts, now + delay)
        FIRE_FAILURES.inc()
        log.exception(
            "firing the due work of complaint %s failed (attempt %d); retrying in %.0f s",
            complaint_id,
            attempts,
            delay.total_seconds(),
        )

    def _fire(self, complaint_id: str, due_at: datetime) -> bool:
        with Session(self.engine) as session:
            case = load_case(session, complaint_id)
            if case is None:
                return False
            self.binder(case, stored_tenant(session, complaint_id))
            trigger = f"tick:{complaint_id}:{case.version}"
            now = self.clock.now()
            tick(case, now)
            emitted = bool(case.events)
            try:
                save_case(session, case)  # moves the deadline index on even when nothing was due
                publish(session, case, trigger)
                session.commit()
            except StaleCase:
                session.rollback()
                return False  # changed since the query: the next pass sees the new deadline
        DEADLINE_LATENESS.observe(max(0.0, (now - due_at).total_seconds()))
        return emitted
