"""Where SLA code gets the time: injected, so deadlines are tested with simulated time, not sleeps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


def utc(value: datetime) -> datetime:
    """Every time in the domain is aware UTC; a naive time is refused rather than guessed."""
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: the SLA domain needs timezone-aware times")
    return value.astimezone(UTC)


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """Always the same instant."""

    def __init__(self, at: datetime):
        self._at = utc(at)

    def now(self) -> datetime:
        return self._at


class ManualClock(FixedClock):
    """Simulated time that tests move forward explicitly."""

    def advance(self, by: timedelta | float) -> datetime:
        self._at += by if isinstance(by, timedelta) else timedelta(seconds=by)
        return self._at

    def set(self, at: datetime) -> datetime:
        self._at = utc(at)
        return self._at
