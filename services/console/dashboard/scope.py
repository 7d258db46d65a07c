"""What the signed-in principal may see of the lifecycle state: the project's one policy
(services.common.auth_policy: `can_see`), applied to the dashboard's in-memory state.

The feed learns each complaint's tenant from its ComplaintReceived (`TenantFlowState`); a complaint
whose tenant is unknown (forgotten, or received before a replay-less start) is hidden from every
signed-in principal. With auth off there is no principal and everything is shown, as before.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.common import auth
from services.common.auth import Principal
from services.common.auth_policy import can_see
from services.common.pb.haq.v1 import events_pb2

from ..flow import ClockRecord, ComplaintFacts, FactsPredicate, FlowEvent, FlowState, iso


@contextmanager
def acting_as(principal: Principal | None) -> Iterator[None]:
    """Make `principal` the caller auth_policy sees (the context variable the gRPC interceptor
    sets for a handler), for one dashboard request."""
    token = auth._principal.set(principal)
    try:
        yield
    finally:
        auth._principal.reset(token)


@dataclass
class TenantFlowState(FlowState):
    """FlowState that also remembers each complaint's tenant and which complaint each clock
    outcome belongs to, so every view can be cut to what one principal may see."""

    tenants: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.outcomes: deque[tuple[datetime, bool, str]] = deque(maxlen=self.samples)

    def fact(self, cid: str) -> ComplaintFacts:
        if cid not in self.facts and len(self.facts) >= self.max_complaints and self.facts:
            self.tenants.pop(next(iter(self.facts)), None)  # the one FlowState is about to forget
        return super().fact(cid)

    def _on_ComplaintReceived(self, f: ComplaintFacts, m: events_pb2.ComplaintReceived, at: datetime) -> None:
        super()._on_ComplaintReceived(f, m, at)
        if m.complaint.tenant:
            self.tenants[f.complaint_id] = m.complaint.tenant

    def _count_outcome(self, record: ClockRecord, when: datetime) -> None:
        counted = record.outcome_counted
        super()._count_outcome(record, when)
        if record.outcome_counted and not counted:
            self.outcomes.append((when, record.state == "met", record.complaint_id))

    def tenant_of(self, cid: str) -> str:
        return self.tenants.get(cid, "")


def _tenant_of(state: FlowState, cid: str) -> str:
    return state.tenant_of(cid) if isinstance(state, TenantFlowState) else ""


def scoped() -> bool:
    """Is a principal signed in (so views must be cut to it)?"""
    return auth.current_principal() is not None


def facts_filter(state: FlowState) -> FactsPredicate | None:
    """The complaints the current principal may see (None: no principal, all of them)."""
    if not scoped():
        return None
    return lambda f: can_see(_tenant_of(state, f.complaint_id), f.team)


def row_visible(state: FlowState, row: FlowEvent) -> bool:
    """May the current principal see this flow row? Decided by the complaint's tenant and its
    current team (the same rule as its case file, which shows the whole timeline)."""
    facts = state.facts.get(row.complaint_id)
    return can_see(_tenant_of(state, row.complaint_id), facts.team if facts is not None else row.team)


def visible_rows(state: FlowState, rows: list[FlowEvent]) -> list[FlowEvent]:
    if not scoped():
        return rows
    return [r for r in rows if row_visible(state, r)]


def open_by_team(state: FlowState) -> dict[str, int]:
    include = facts_filter(state)
    if include is None:
        return state.open_by_team()
    return dict(Counter(f.team for f in state.facts.values() if f.team and f.open and include(f)))


def summary(state: FlowState, now: datetime) -> dict[str, Any]:
    """FlowState.summary cut to the current principal: counters, lists and charts are recomputed
    from the complaints it may see (the whole-state counters cover every tenant)."""
    include = facts_filter(state)
    if include is None:
        return state.summary(now)
    mine = [f for f in state.facts.values() if include(f)]
    ids = {f.complaint_id for f in mine}
    # The charts' arithmetic is FlowState's own, run on a throwaway state holding only these samples.
    charts = FlowState(samples=state.samples)
    charts.first_responses.extend(f.first_response_s for f in mine if f.first_response_s is not None)
    if isinstance(state, TenantFlowState):
        charts.clock_outcomes.extend((when, met) for when, met, cid in state.outcomes if cid in ids)
    sectors = Counter(f.sector for f in mine if f.sector)
    channels = Counter(f.channel for f in mine if f.channel)
    return {
        "now": iso(now),
        "complaints": len(mine),
        "stages": state.stage_counts(include),
        "at_risk": [v.to_dict() for v in state.at_risk(now, include=include)],
        "breached": [v.to_dict() for v in state.breached(now, include=include)],
        "by_sector": dict(sectors.most_common()),
        "by_channel": dict(channels.most_common()),
        "first_response": charts.first_response_histogram(),
        "compliance": charts.compliance_series(),
        "open_by_team": dict(Counter(f.team for f in mine if f.team and f.open)),
    }
