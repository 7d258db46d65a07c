"""One SLA clock on a case: its deadline, the business time it has used, its pauses, warning and
ladder steps. Data only; what happens to clocks is in `clocks`, `breaches` and `deadlines`."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from .policy import ClockName


class ClockState(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    MET = "met"
    BREACHED = "breached"  # the deadline passed first; stopped_at still records when it was done


@dataclass
class SlaClock:
    name: ClockName
    started_at: datetime
    due_at: datetime
    state: ClockState = ClockState.RUNNING
    stopped_at: datetime | None = None
    cycle: int = 0  # repeating clocks (next response, a re-offer, a reopen) count their cycles
    target: timedelta = timedelta(0)  # in the clock's business time
    consumed: timedelta = timedelta(0)  # business time used before run_from
    run_from: datetime | None = None  # when the current running stretch began; None: paused/stopped
    warn_at: datetime | None = None
    warned: bool = False
    escalations: int = 0  # ladder steps fired for this breach
    next_step_at: datetime | None = None
    paused_at: datetime | None = None
    every_minute: bool = False  # round the clock rather than the team's business hours

    def __post_init__(self) -> None:
        if self.run_from is None and self.stopped_at is None and self.state is ClockState.RUNNING:
            self.run_from = self.started_at
        if not self.target:
            self.target = self.due_at - self.started_at

    @property
    def open(self) -> bool:
        return self.stopped_at is None

    @property
    def paused(self) -> bool:
        return self.open and self.run_from is None

    def is_due(self, at: datetime) -> bool:
        return self.state is ClockState.RUNNING and self.run_from is not None and self.due_at <= at

    def snapshot(self) -> SlaClock:
        return replace(self)
