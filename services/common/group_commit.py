"""Group commit: the units of work of many concurrent callers (gRPC and HTTP requests) share one
database transaction, so a storm of submissions costs one commit per group, not one per caller.

Each caller still gets its answer only after its own work is durable. When a group fails, every
unit in it runs again alone, so one bad request fails only its own caller.
"""

from __future__ import annotations

import contextvars
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import TypeVar

from prometheus_client import Histogram
from sqlalchemy.engine import Engine
from sqlmodel import Session

log = logging.getLogger(__name__)

T = TypeVar("T")
Work = Callable[[Session], T]

GROUP_SIZE = Histogram(
    "haq_group_commit_size",
    "Units of work committed in one transaction",
    ["service"],
    buckets=(1, 2, 4, 8, 16, 32, 64, 128),
)


class GroupCommit:
    """A committer thread: callers hand it `work(session)` (which adds rows and never commits)
    and wait for the group's commit."""

    def __init__(self, engine: Engine, service: str, max_group: int = 64):
        self.engine = engine
        self.max_group = max_group
        self.label = service
        self._queue: queue.SimpleQueue[tuple[Work, Future]] = queue.SimpleQueue()
        self._size = GROUP_SIZE.labels(service)
        self._thread = threading.Thread(target=self._run, name=f"{service}-group-commit", daemon=True)
        self._thread.start()

    def run(self, work: Work[T]) -> T:
        """Run `work` in the next group's transaction; returns its result once committed, or
        raises what it raised (run alone, when its group failed)."""
        future: Future[T] = Future()
        # The caller's context (its trace span, above all) goes with the work to the committer
        # thread, so the events it stages carry the caller's trace.
        context = contextvars.copy_context()
        self._queue.put((lambda session: context.run(work, session), future))
        return future.result()

    def _run(self) -> None:
        while True:
            group = [self._queue.get()]
            while len(group) < self.max_group:
                try:
                    group.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                self._commit_group(group)
            except Exception:  # the thread must live on: each caller got its own answer
                log.exception("group commit failed")

    def _commit_group(self, group: list[tuple[Work, Future]]) -> None:
        if len(group) > 1:
            try:
                with Session(self.engine) as session:
                    results = []
                    for work, _ in group:
                        results.append(work(session))
                        session.flush()  # the next unit sees this one's rows (same key, same customer)
                    session.commit()
            except Exception as exc:
                log.info("a group of %d failed (%s); committing each alone", len(group), type(exc).__name__)
            else:
                self._size.observe(len(group))
                for (_, future), result in zip(group, results, strict=True):
                    future.set_result(result)
                return
        for work, future in group:
            try:
                with Session(self.engine) as session:
                    result = work(session)
                    session.commit()
            except Exception as exc:
                future.set_exception(exc)
            else:
                self._size.observe(1)
                future.set_result(result)
