"""What the lifecycle topic says about complaints, aggregated in memory for ops views.

`FlowState.apply(envelope)` folds one event into: per-complaint facts (reference, sector, channel,
team, owner, priority, stage), the SLA clocks of open complaints (for the at-risk and breached
lists), counters for the charts and a ring of recent events for the live flow. The dashboard and
`haq watch --summary` both feed it from a group-less tail of the topic; it owns no durable state
(a restart rebuilds it by replaying the topic). Pure Python: no Kafka, gRPC or HTTP imports, so it
is tested with hand-made events and explicit `now` values.

Memory is bounded: facts and clocks of the oldest complaints are forgotten past `max_complaints`,
and the event ring, the event-id de-duplication set and the chart samples have fixed sizes.
"""

from __future__ import annotations

from collections import Counter, OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from services.common.codec import Envelope
from services.common.lifecycle import CaseLifecycle, fold
from services.common.pb.haq.v1 import events_pb2
from services.common.proto_values import to_datetime

from . import enums
from .watch import complaint_id, summarize

# The stages of the live flow, in the order a complaint normally passes them.
STAGES = ("received", "routed", "accepted", "escalated", "resolved")
STAGE_OF_EVENT = {
    "ComplaintReceived": "received",
    "ComplaintRouted": "routed",
    "OwnerAccepted": "accepted",
    "TransferAccepted": "accepted",  # the new owner accepted the transfer
    "Reopened": "accepted",  # back to work, with the owner named in the event
    "Escalated": "escalated",
    "Resolved": "resolved",
    "Closed": "resolved",
}
# A clock this far through its target (or with an SlaWarning from escalation) is at risk.
AT_RISK_SHARE = 0.75
# Bucket sizes for charts over time: the smallest that keeps a chart within MAX_BUCKETS bars.
BUCKET_SIZES_S = (60, 300, 900, 3600, 6 * 3600, 86400, 7 * 86400)
MAX_BUCKETS = 24
# Time-to-first-response histogram: upper bounds in seconds, with labels.
FIRST_RESPONSE_BINS = (
    (300, "< 5 min"),
    (900, "5–15 min"),
    (3600, "15–60 min"),
    (4 * 3600, "1–4 h"),
    (24 * 3600, "4–24 h"),
    (None, "> 24 h"),
)


def ts(value: Timestamp) -> datetime | None:
    return to_datetime(value)


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class ComplaintFacts:
    """What earlier events said about one complaint (facts that later events do not repeat)."""

    complaint_id: str
    reference: str = ""
    sector: str | None = None
    channel: str | None = None
    language: str = ""
    team: str = ""
    owner: str = ""
    priority: str | None = None
    stage: str | None = None
    received_at: datetime | None = None
    first_response_s: float | None = None
    lifecycle: CaseLifecycle = CaseLifecycle()  # ownership, status, priority: the shared fold

    @property
    def open(self) -> bool:
        return self.stage != "resolved"


FactsPredicate = Callable[[ComplaintFacts], bool]


@dataclass
class ClockRecord:
    complaint_id: str
    name: str
    started_at: datetime | None
    due_at: datetime | None
    state: str = "running"  # running, paused, met, breached, stopped
    warned: bool = False
    share_elapsed: float = 0.0
    outcome_counted: bool = False


@dataclass(frozen=True)
class FlowEvent:
    """One event as the live flow shows it: no personal data (summaries are redacted)."""

    seq: int
    event_id: str
    time: datetime
    name: str
    stage: str | None
    complaint_id: str
    reference: str
    sector: str | None
    channel: str | None
    team: str
    owner: str
    priority: str | None
    summary: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "id": self.event_id,
            "time": iso(self.time),
            "type": self.name,
            "stage": self.stage,
            "complaint_id": self.complaint_id,
            "reference": self.reference,
            "sector": self.sector,
            "channel": self.channel,
            "team": self.team,
            "owner": self.owner,
            "priority": self.priority,
            "summary": self.summary,
        }


@dataclass(frozen=True)
class ClockView:
    """A clock in the at-risk or breached list, seen at `now`."""

    complaint_id: str
    reference: str
    team: str
    owner: str
    priority: str | None
    clock: str
    due_at: datetime | None
    share_elapsed: float
    remaining_s: float | None  # negative once overdue
    state: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "complaint_id": self.complaint_id,
            "reference": self.reference,
            "team": self.team,
            "owner": self.owner,
            "priority": self.priority,
            "clock": self.clock,
            "due_at": iso(self.due_at),
            "share_elapsed": round(self.share_elapsed, 3),
            "remaining_s": None if self.remaining_s is None else round(self.remaining_s),
            "state": self.state,
        }


def choose_bucket(span: timedelta) -> int:
    """Bucket width in seconds so that `span` needs at most MAX_BUCKETS buckets."""
    seconds = max(span.total_seconds(), 1)
    for size in BUCKET_SIZES_S:
        if seconds / size <= MAX_BUCKETS:
            return size
    return BUCKET_SIZES_S[-1]


def _bucket_start(when: datetime, size: int) -> datetime:
    epoch = int(when.timestamp())
    return datetime.fromtimestamp(epoch - epoch % size, tz=UTC)


@dataclass
class FlowState:
    max_complaints: int = 50_000
    recent_events: int = 300
    samples: int = 20_000
    facts: OrderedDict[str, ComplaintFacts] = field(default_factory=OrderedDict)
    clocks: dict[tuple[str, str], ClockRecord] = field(default_factory=dict)
    received_by_sector: Counter[str] = field(default_factory=Counter)
    received_by_channel: Counter[str] = field(default_factory=Counter)
    events_by_type: Counter[str] = field(default_factory=Counter)
    seq: int = 0

    def __post_init__(self) -> None:
        self.recent: deque[FlowEvent] = deque(maxlen=self.recent_events)
        self.first_responses: deque[float] = deque(maxlen=self.samples)
        # (when the clock stopped or breached, met?) for compliance over time
        self.clock_outcomes: deque[tuple[datetime, bool]] = deque(maxlen=self.samples)
        self._seen_ids: OrderedDict[str, None] = OrderedDict()

    # -- folding events in -----------------------------------------------------------------------

    def fact(self, cid: str) -> ComplaintFacts:
        facts = self.facts.get(cid)
        if facts is None:
            facts = self.facts[cid] = ComplaintFacts(cid)
            if len(self.facts) > self.max_complaints:
                oldest, _ = self.facts.popitem(last=False)
                for key in [k for k in self.clocks if k[0] == oldest]:
                    del self.clocks[key]
        return facts

    def apply(self, env: Envelope) -> FlowEvent | None:
        """Fold one event in; returns its flow row, or None for a redelivered event id."""
        if env.id in self._seen_ids:
            return None
        self._seen_ids[env.id] = None
        if len(self._seen_ids) > 4 * self.max_complaints:
            self._seen_ids.popitem(last=False)
        cid = complaint_id(env)
        facts = self.fact(cid)
        name = env.name
        self.events_by_type[name] += 1
        handler = getattr(self, f"_on_{name}", None)
        if handler is not None:
            handler(facts, env.message, env.time)
        lifecycle = fold(facts.lifecycle, name, env.message)
        if lifecycle is not facts.lifecycle:
            facts.lifecycle = lifecycle
            facts.team, facts.owner = lifecycle.team, lifecycle.owner
            facts.priority = lifecycle.priority or facts.priority
        stage = STAGE_OF_EVENT.get(name)
        # A complaint does not move back to "received" (events may arrive slightly out of order).
        if stage is not None and not (stage == "received" and facts.stage is not None):
            facts.stage = stage
        self.seq += 1
        row = FlowEvent(
            seq=self.seq,
            event_id=env.id,
            time=env.time,
            name=name,
            stage=stage,
            complaint_id=cid,
            reference=facts.reference,
            sector=facts.sector,
            channel=facts.channel,
            team=facts.team,
            owner=facts.owner,
            priority=facts.priority,
            summary=summarize(env),
        )
        self.recent.append(row)
        return row

    def _on_ComplaintReceived(self, f: ComplaintFacts, m: events_pb2.ComplaintReceived, at: datetime) -> None:
        c = m.complaint
        first_time = f.reference == ""
        f.reference = c.reference
        f.sector = enums.to_name(enums.SECTOR, c.sector) or "unspecified"
        f.channel = enums.to_name(enums.CHANNEL, c.channel) or "unspecified"
        f.language = c.language
        f.received_at = ts(c.received_at) or at
        if first_time:
            self.received_by_sector[f.sector] += 1
            self.received_by_channel[f.channel] += 1

    def _on_ComplaintRouted(self, f: ComplaintFacts, m: events_pb2.ComplaintRouted, at: datetime) -> None:
        if m.sector and not f.sector:
            f.sector = m.sector

    def _on_AgentResponded(self, f: ComplaintFacts, m: events_pb2.AgentResponded, at: datetime) -> None:
        responded = ts(m.responded_at) or at
        if f.first_response_s is None and f.received_at is not None:
            f.first_response_s = max(0.0, (responded - f.received_at).total_seconds())
            self.first_responses.append(f.first_response_s)

    def _on_Closed(self, f: ComplaintFacts, m: events_pb2.Closed, at: datetime) -> None:
        for clock in self._clocks_of(f.complaint_id):
            if clock.state in ("running", "paused"):
                clock.state = "stopped"

    def _on_SlaClocksStarted(self, f: ComplaintFacts, m: events_pb2.SlaClocksStarted, at: datetime) -> None:
        for c in m.clocks:
            self.clocks[(f.complaint_id, c.name)] = ClockRecord(
                f.complaint_id, c.name, ts(c.started_at), ts(c.due_at), c.state or "running"
            )

    def _update_clock(self, cid: str, c: events_pb2.SlaClock) -> ClockRecord:
        record = self.clocks.get((cid, c.name))
        if record is None:
            record = self.clocks[(cid, c.name)] = ClockRecord(cid, c.name, ts(c.started_at), ts(c.due_at))
        record.started_at = ts(c.started_at) or record.started_at
        record.due_at = ts(c.due_at) or record.due_at
        if c.state:
            record.state = c.state
        return record

    def _count_outcome(self, record: ClockRecord, when: datetime) -> None:
        if record.outcome_counted or record.state not in ("met", "breached"):
            return
        record.outcome_counted = True
        self.clock_outcomes.append((when, record.state == "met"))
        if record.name == "first_response" and record.state == "met" and record.started_at:
            facts = self.facts.get(record.complaint_id)
            if facts is not None and facts.first_response_s is None:
                facts.first_response_s = max(0.0, (when - record.started_at).total_seconds())
                self.first_responses.append(facts.first_response_s)

    def _on_SlaClockStopped(self, f: ComplaintFacts, m: events_pb2.SlaClockStopped, at: datetime) -> None:
        record = self._update_clock(f.complaint_id, m.clock)
        if record.state == "running":  # a stop without a verdict
            record.state = "stopped"
        self._count_outcome(record, ts(m.clock.stopped_at) or at)

    def _on_SlaBreached(self, f: ComplaintFacts, m: events_pb2.SlaBreached, at: datetime) -> None:
        record = self._update_clock(f.complaint_id, m.clock)
        record.state = "breached"
        f.team, f.owner = m.team or f.team, m.owner or f.owner
        self._count_outcome(record, record.due_at or at)

    def _on_SlaWarning(self, f: ComplaintFacts, m: events_pb2.SlaWarning, at: datetime) -> None:
        record = self._update_clock(f.complaint_id, m.clock)
        record.warned = True
        record.share_elapsed = max(record.share_elapsed, m.share_elapsed)

    def _on_SlaClocksPaused(self, f: ComplaintFacts, m: events_pb2.SlaClocksPaused, at: datetime) -> None:
        for c in m.clocks:
            self._update_clock(f.complaint_id, c).state = c.state or "paused"

    def _on_SlaClocksResumed(self, f: ComplaintFacts, m: events_pb2.SlaClocksResumed, at: datetime) -> None:
        for c in m.clocks:
            self._update_clock(f.complaint_id, c).state = c.state or "running"

    def _clocks_of(self, cid: str) -> list[ClockRecord]:
        return [c for (owner_id, _), c in self.clocks.items() if owner_id == cid]

    # -- reading -----------------------------------------------------------------------------------

    def stage_counts(self, include: FactsPredicate | None = None) -> dict[str, int]:
        """How many known complaints (those `include` accepts) are at each stage now."""
        counts = Counter(f.stage for f in self.facts.values() if f.stage and (include is None or include(f)))
        return {stage: counts.get(stage, 0) for stage in STAGES}

    def _view(self, record: ClockRecord, now: datetime) -> ClockView:
        facts = self.facts.get(record.complaint_id) or ComplaintFacts(record.complaint_id)
        share = record.share_elapsed
        remaining = None
        if record.due_at is not None:
            remaining = (record.due_at - now).total_seconds()
            if record.started_at is not None and record.due_at > record.started_at:
                target = (record.due_at - record.started_at).total_seconds()
                share = max(share, (now - record.started_at).total_seconds() / target)
        return ClockView(
            complaint_id=record.complaint_id,
            reference=facts.reference,
            team=facts.team,
            owner=facts.owner,
            priority=facts.priority,
            clock=record.name,
            due_at=record.due_at,
            share_elapsed=share,
            remaining_s=remaining,
            state=record.state,
        )

    def _open_clocks(self, include: FactsPredicate | None = None) -> list[ClockRecord]:
        out = []
        for c in self.clocks.values():
            f = self.facts.get(c.complaint_id)
            if f is not None and not f.open:
                continue
            if include is not None and (f is None or not include(f)):
                continue
            out.append(c)
        return out

    def breached(self, now: datetime, include: FactsPredicate | None = None) -> list[ClockView]:
        """Clocks of open complaints that breached (or are past due while still running), most overdue first."""
        views = [
            self._view(c, now)
            for c in self._open_clocks(include)
            if c.state == "breached" or (c.state == "running" and c.due_at is not None and c.due_at <= now)
        ]
        return sorted(views, key=lambda v: v.remaining_s if v.remaining_s is not None else 0.0)

    def at_risk(
        self, now: datetime, share: float = AT_RISK_SHARE, include: FactsPredicate | None = None
    ) -> list[ClockView]:
        """Running clocks of open complaints not yet due but warned or past `share` of their target;
        the nearest deadline first."""
        views = []
        for c in self._open_clocks(include):
            if c.state != "running" or c.due_at is None or c.due_at <= now:
                continue
            view = self._view(c, now)
            if c.warned or view.share_elapsed >= share:
                views.append(view)
        return sorted(views, key=lambda v: v.remaining_s if v.remaining_s is not None else 0.0)

    def first_response_histogram(self) -> dict[str, Any]:
        counts = [0] * len(FIRST_RESPONSE_BINS)
        for seconds in self.first_responses:
            for i, (upper, _) in enumerate(FIRST_RESPONSE_BINS):
                if upper is None or seconds < upper:
                    counts[i] += 1
                    break
        ordered = sorted(self.first_responses)
        median = ordered[len(ordered) // 2] if ordered else None
        return {
            "labels": [label for _, label in FIRST_RESPONSE_BINS],
            "counts": counts,
            "median_s": median,
            "samples": len(ordered),
        }

    def compliance_series(self) -> dict[str, Any]:
        """Clocks met and breached per time bucket, and the share met (None when nothing stopped)."""
        if not self.clock_outcomes:
            return {"bucket_s": None, "labels": [], "met": [], "breached": [], "compliance": []}
        times = [t for t, _ in self.clock_outcomes]
        size = choose_bucket(max(times) - min(times))
        met: Counter[datetime] = Counter()
        breached: Counter[datetime] = Counter()
        for when, ok in self.clock_outcomes:
            (met if ok else breached)[_bucket_start(when, size)] += 1
        start, end = _bucket_start(min(times), size), _bucket_start(max(times), size)
        buckets = []
        cursor = start
        while cursor <= end:
            buckets.append(cursor)
            cursor += timedelta(seconds=size)
        return {
            "bucket_s": size,
            "labels": [iso(b) for b in buckets],
            "met": [met[b] for b in buckets],
            "breached": [breached[b] for b in buckets],
            "compliance": [
                round(100 * met[b] / (met[b] + breached[b]), 1) if met[b] + breached[b] else None
                for b in buckets
            ],
        }

    def open_by_team(self) -> dict[str, int]:
        return dict(Counter(f.team for f in self.facts.values() if f.team and f.open))

    def summary(self, now: datetime) -> dict[str, Any]:
        """Everything the dashboard's counters, lists and charts show, as JSON-ready data."""
        return {
            "now": iso(now),
            "complaints": len(self.facts),
            "stages": self.stage_counts(),
            "at_risk": [v.to_dict() for v in self.at_risk(now)],
            "breached": [v.to_dict() for v in self.breached(now)],
            "by_sector": dict(self.received_by_sector.most_common()),
            "by_channel": dict(self.received_by_channel.most_common()),
            "first_response": self.first_response_histogram(),
            "compliance": self.compliance_series(),
            "open_by_team": self.open_by_team(),
        }
