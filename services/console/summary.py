"""`haq watch --summary`: a live terminal summary of the lifecycle topic (rich Live).

Complaints per stage, the SLA clocks at risk and breached, events per type, and the consumer lag of
every service's group per partition. A thread tails the topic (from its beginning: the counts cover
history) into a FlowState; another reads the lag every few seconds; the main thread redraws.
`render_summary` is pure: it is tested by rendering to a recording console.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from services.common import topics
from services.common.lag import GROUPS, ConsumerLagProbe, LagRow
from services.common.settings import Settings

from .filters import WatchFilter
from .flow import STAGES, ClockView, FlowState
from .stream import follow

CLOCK_ROWS = 8  # the first few of each SLA list; the dashboard has them all


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    span = int(abs(seconds))
    hours, rest = divmod(span, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {secs:02d}s"
    return text if seconds >= 0 else f"{text} overdue"


def _clock_table(title: str, views: Sequence[ClockView], style: str) -> Table:
    table = Table(title=f"{title} ({len(views)})", title_style=style, expand=True, show_edge=False)
    for column in ("complaint", "clock", "remaining", "used", "team", "owner"):
        table.add_column(column, no_wrap=column in ("complaint", "remaining"))
    for v in views[:CLOCK_ROWS]:
        table.add_row(
            v.reference or v.complaint_id[:8],
            v.clock,
            Text(_duration(v.remaining_s), style=style if (v.remaining_s or 0) < 0 else ""),
            f"{v.share_elapsed:.0%}",
            v.team,
            v.owner,
        )
    if len(views) > CLOCK_ROWS:
        table.add_row(f"… {len(views) - CLOCK_ROWS} more", "", "", "", "", "")
    return table


def _lag_table(rows: Sequence[LagRow] | None, error: str | None, groups: Sequence[str]) -> Table:
    table = Table(title="Consumer lag", expand=True, show_edge=False)
    for column in ("group", "topic", "partition", "committed", "end", "lag"):
        table.add_column(
            column, justify="right" if column in ("partition", "committed", "end", "lag") else "left"
        )
    if error:
        table.add_row(Text(f"cannot read lag: {error}", style="red"), "", "", "", "", "")
        return table
    if rows is None:
        table.add_row("reading…", "", "", "", "", "")
        return table
    seen = {r.group for r in rows}
    for row in rows:
        table.add_row(
            row.group,
            row.topic,
            str(row.partition),
            "-" if row.committed is None else str(row.committed),
            str(row.end),
            Text(str(row.lag), style="bold yellow" if row.lag else "green"),
        )
    for group in groups:
        if group not in seen:
            table.add_row(group, Text("no committed offsets yet", style="dim"), "", "", "", "")
    return table


def render_summary(
    state: FlowState,
    now: datetime,
    lag: Sequence[LagRow] | None = None,
    lag_error: str | None = None,
    wanted: WatchFilter | None = None,
    groups: Sequence[str] = GROUPS,
    feed_error: str | None = None,
) -> RenderableType:
    wanted = wanted or WatchFilter()
    include = wanted.includes if wanted.needs_facts else None
    stages = state.stage_counts(include)
    stage_table = Table(title="Complaints by stage", expand=True, show_edge=False)
    for stage in STAGES:
        stage_table.add_column(stage, justify="right")
    stage_table.add_row(*(str(stages[s]) for s in STAGES))

    types = Table(title="Events by type", expand=True, show_edge=False)
    types.add_column("type")
    types.add_column("events", justify="right")
    for name, count in state.events_by_type.most_common():
        if not wanted.types or name.lower() in wanted.types:
            types.add_row(name, str(count))

    filters = [
        f"{label} {', '.join(sorted(values))}"
        for label, values in (
            ("sector", wanted.sectors),
            ("team", wanted.teams),
            ("priority", wanted.priorities),
            ("type", wanted.types),
        )
        if values
    ]
    header = Text.assemble(
        ("Haq ", "bold"),
        f"· {len(state.facts)} complaints seen · ",
        now.astimezone().strftime("%H:%M:%S"),
        f" · only {'; '.join(filters)}" if filters else "",
    )
    parts: list[RenderableType] = [header]
    if feed_error:
        parts.append(Text(feed_error, style="bold red"))
    parts += [
        stage_table,
        _clock_table("Breached", state.breached(now, include=include), "bold red"),
        _clock_table("At risk", state.at_risk(now, include=include), "yellow"),
        types,
        _lag_table(lag, lag_error, groups),
    ]
    return Panel(Group(*parts), title="haq watch --summary", subtitle="Ctrl-C stops")


class _Collector:
    """The background readers: the topic into a FlowState, and the lag every `lag_every_s`."""

    def __init__(self, settings: Settings, lag_every_s: float):
        self.settings = settings
        self.lag_every_s = lag_every_s
        self.state = FlowState()
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.lag: list[LagRow] | None = None
        self.lag_error: str | None = None
        self.feed_error: str | None = None

    def start(self) -> None:
        threading.Thread(target=self._tail, name="summary-tail", daemon=True).start()
        threading.Thread(target=self._lag, name="summary-lag", daemon=True).start()

    def _tail(self) -> None:
        while not self.stop.is_set():
            try:
                for record, _live in follow(
                    self.settings, topics.LIFECYCLE_TOPIC, replay=True, stop=self.stop.is_set
                ):
                    self.feed_error = None
                    if record.envelope is not None:
                        with self.lock:
                            self.state.apply(record.envelope)
            except Exception as exc:  # the broker went away: show it, and try again
                self.feed_error = f"cannot read {topics.LIFECYCLE_TOPIC}: {exc}"
                self.stop.wait(2)

    def _lag(self) -> None:
        probe: ConsumerLagProbe | None = None
        while not self.stop.is_set():
            try:
                probe = probe or ConsumerLagProbe(self.settings)
                self.lag, self.lag_error = probe.read(), None
            except Exception as exc:
                self.lag_error = str(exc) or type(exc).__name__
                if probe is not None:
                    probe.close()
                    probe = None
            self.stop.wait(self.lag_every_s)
        if probe is not None:
            probe.close()


def run_summary(
    settings: Settings,
    wanted: WatchFilter,
    refresh_s: float = 1.0,
    lag_every_s: float = 5.0,
    console: Console | None = None,
) -> None:
    """Redraw until Ctrl-C."""
    collector = _Collector(settings, lag_every_s)
    collector.start()

    def view() -> RenderableType:
        with collector.lock:
            return render_summary(
                collector.state,
                datetime.now(UTC),
                collector.lag,
                collector.lag_error,
                wanted,
                feed_error=collector.feed_error,
            )

    try:
        with Live(view(), console=console, refresh_per_second=4, screen=False) as live:
            while not collector.stop.wait(refresh_s):
                live.update(view())
    finally:
        collector.stop.set()
