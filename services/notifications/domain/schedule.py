"""When to try a delivery: exponential backoff with full jitter, and staff quiet hours."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_s: float = 1.0
    cap_s: float = 60.0

    def delay(self, attempt: int, rand: Callable[[], float] = random.random) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based). Full jitter: a random
        share of the exponential step, so many failed deliveries do not return in lockstep."""
        step = min(self.cap_s, self.base_s * 2 ** (attempt - 1))
        return step * rand()

    def exhausted(self, attempts: int) -> bool:
        return attempts >= self.max_attempts


@dataclass(frozen=True)
class QuietHours:
    start: time
    end: time  # may be earlier than start: the quiet period spans midnight
    zone: str = "Asia/Tehran"

    @classmethod
    def parse(cls, spec: str, zone: str) -> QuietHours:
        """ "22:00-07:00" -> QuietHours(22:00, 07:00)."""
        start, _, end = spec.partition("-")
        return cls(time.fromisoformat(start.strip()), time.fromisoformat(end.strip()), zone)

    def _contains(self, t: time) -> bool:
        if self.start <= self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end

    def release_at(self, now: datetime) -> datetime | None:
        """When a message held at `now` may go out (aware UTC), or None when it is not quiet."""
        local = now.astimezone(ZoneInfo(self.zone))
        if not self._contains(local.time()):
            return None
        end = local.replace(hour=self.end.hour, minute=self.end.minute, second=0, microsecond=0)
        if end <= local:
            end += timedelta(days=1)
        return end.astimezone(ZoneInfo("UTC"))
