"""Business calendars: when a team works, so SLA targets count working time only.

A calendar has a time zone, working hours per weekday (a half day is just shorter hours, and a
Saturday-Wednesday week simply lists those days) and holidays. `add` finds the instant a
business duration ends; `elapsed` measures the business time between two instants. Both work in
the team's local time through zoneinfo, so daylight-saving changes are handled by the library.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_MAX_DAYS = 3 * 366  # a calendar with no working time at all must not loop forever


class CalendarError(ValueError):
    """A calendar definition that cannot be used; the message says why."""


@dataclass(frozen=True)
class BusinessCalendar:
    name: str
    time_zone: str = "UTC"
    # weekday index (0 = Monday) -> working intervals in local time, sorted, not overlapping
    hours: Mapping[int, tuple[tuple[time, time], ...]] = field(default_factory=dict)
    holidays: frozenset[date] = frozenset()
    always: bool = False  # round the clock: every instant counts

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def _intervals(self, day: date) -> list[tuple[datetime, datetime]]:
        """The working intervals of one local day, as aware UTC instants."""
        if day in self.holidays:
            return []
        zone = self.zone
        out = []
        for start, end in self.hours.get(day.weekday(), ()):
            a = datetime.combine(day, start, zone).astimezone(UTC)
            b = (
                datetime.combine(day, end, zone).astimezone(UTC)
                if end != time(0)
                else (datetime.combine(day + timedelta(days=1), time(0), zone).astimezone(UTC))
            )
            out.append((a, b))
        return out

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The instant when `duration` of working time has passed after `start`."""
        if self.always:
            return start + duration
        remaining = duration
        day = start.astimezone(self.zone).date()
        for _ in range(_MAX_DAYS):
            for a, b in self._intervals(day):
                if b <= start:
                    continue
                a = max(a, start)
                if remaining <= b - a:
                    return a + remaining
                remaining -= b - a
            day += timedelta(days=1)
        raise CalendarError(f"calendar {self.name!r} has no working time within {_MAX_DAYS} days")

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        """Working time between two instants (zero when end is not after start)."""
        if end <= start:
            return timedelta(0)
        if self.always:
            return end - start
        total = timedelta(0)
        day = start.astimezone(self.zone).date()
        last = end.astimezone(self.zone).date()
        while day <= last:
            for a, b in self._intervals(day):
                lo, hi = max(a, start), min(b, end)
                if hi > lo:
                    total += hi - lo
            day += timedelta(days=1)
        return total

    def is_working(self, at: datetime) -> bool:
        if self.always:
            return True
        return any(a <= at < b for a, b in self._intervals(at.astimezone(self.zone).date()))


ROUND_THE_CLOCK = BusinessCalendar("24x7", always=True)


def _parse_interval(text: str, where: str) -> tuple[time, time]:
    try:
        a, b = (part.strip() for part in text.split("-"))
        start, end = time.fromisoformat(a), time.fromisoformat(b if b != "24:00" else "00:00")
    except ValueError:
        raise CalendarError(f"{where}: {text!r} is not HH:MM-HH:MM") from None
    if end != time(0) and end <= start:
        raise CalendarError(f"{where}: {text!r} ends before it starts")
    return start, end


def calendar_from_dict(name: str, spec: Mapping[str, object]) -> BusinessCalendar:
    """One calendar from its seed-file form:
    {time_zone: Asia/Tehran, week: {sat: "08:00-16:00", thu: "08:00-12:00"}, holidays: [2025-03-21]}."""
    if spec.get("always"):
        return BusinessCalendar(name, str(spec.get("time_zone", "UTC")), always=True)
    zone = str(spec.get("time_zone", "UTC"))
    try:
        ZoneInfo(zone)
    except Exception:
        raise CalendarError(f"calendars.{name}.time_zone: unknown time zone {zone!r}") from None
    week = spec.get("week") or {}
    if not isinstance(week, Mapping):
        raise CalendarError(f"calendars.{name}.week: expected a mapping of weekday to hours")
    hours: dict[int, tuple[tuple[time, time], ...]] = {}
    for day, text in week.items():
        key = str(day).lower()[:3]
        if key not in WEEKDAYS:
            raise CalendarError(f"calendars.{name}.week: unknown weekday {day!r}")
        parts = [text] if isinstance(text, str) else list(text)  # type: ignore[arg-type]
        hours[WEEKDAYS.index(key)] = tuple(
            sorted(_parse_interval(str(p), f"calendars.{name}.week.{key}") for p in parts)
        )
    if not any(hours.values()):
        raise CalendarError(f"calendars.{name}.week: no working hours")
    holidays = frozenset(_as_date(h, name) for h in spec.get("holidays") or [])  # type: ignore[union-attr]
    return BusinessCalendar(name, zone, hours, holidays)


def _as_date(value: object, name: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise CalendarError(f"calendars.{name}.holidays: {value!r} is not a date") from None


@dataclass(frozen=True)
class Calendars:
    """Each team's calendar, with a default for teams the file does not name."""

    calendars: Mapping[str, BusinessCalendar]
    teams: Mapping[str, str]
    default: str

    def for_team(self, team: str) -> BusinessCalendar:
        return self.calendars[self.teams.get(team, self.default)]

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Calendars:
        specs = data.get("calendars") or {}
        if not isinstance(specs, Mapping) or not specs:
            raise CalendarError("calendars: at least one calendar is required")
        calendars = {str(n): calendar_from_dict(str(n), s) for n, s in specs.items()}
        teams = {str(t): str(c) for t, c in (data.get("teams") or {}).items()}  # type: ignore[union-attr]
        default = str(data.get("default") or next(iter(calendars)))
        for where, cal in [("default", default), *((f"teams.{t}", c) for t, c in teams.items())]:
            if cal not in calendars:
                raise CalendarError(f"{where}: no calendar named {cal!r}")
        return cls(calendars, teams, default)

    @classmethod
    def single(cls, calendar: BusinessCalendar, teams: Iterable[str] = ()) -> Calendars:
        return cls({calendar.name: calendar}, dict.fromkeys(teams, calendar.name), calendar.name)


ALWAYS_OPEN = Calendars.single(ROUND_THE_CLOCK)
