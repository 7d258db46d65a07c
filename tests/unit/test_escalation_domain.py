"""Escalation's domain on simulated time: case opening, SLA clocks, deadlines, breaches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from services.escalation.domain import (
    POLICIES,
    Assignment,
    CaseError,
    CaseOffered,
    CaseStatus,
    ClockBreached,
    ClockName,
    ClocksStarted,
    ClockState,
    ClockStopped,
    Deadline,
    FixedClock,
    ManualClock,
    Priority,
    breach,
    breach_due,
    find_due,
    open_case,
    policy_for,
    record_receipt,
    stop_clock,
)

ROUTING_RULES = Path(__file__).resolve().parents[2] / "services/routing/seed/rules.yaml"
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
ACK, ACCEPT, FIRST = ClockName.ACKNOWLEDGEMENT, ClockName.OWNER_ACCEPTANCE, ClockName.FIRST_RESPONSE


def assignment(priority: Priority = Priority.NORMAL, **kw) -> Assignment:
    values = {"complaint_id": "c-1", "team": "billing", "owner": "agent-7", "priority": priority}
    return Assignment(**{**values, **kw})


def breaches(case) -> list[ClockBreached]:
    return [e for e in case.events if isinstance(e, ClockBreached)]


def test_manual_clock_moves_only_when_told_and_refuses_naive_times():
    clock = ManualClock(T0)
    assert clock.now() == T0 == clock.now()
    assert clock.advance(90) == T0 + timedelta(seconds=90)
    assert clock.advance(timedelta(minutes=1)) == T0 + timedelta(seconds=150)
    assert FixedClock(T0).now() == T0
    with pytest.raises(ValueError, match="naive"):
        ManualClock(datetime(2025, 1, 1))


@pytest.mark.parametrize(
    ("priority", "accept_within", "first_response_within"),
    [
        (Priority.CRITICAL, timedelta(minutes=5), timedelta(hours=1)),
        (Priority.HIGH, timedelta(minutes=15), timedelta(hours=4)),
        (Priority.NORMAL, timedelta(minutes=15), timedelta(hours=8)),
        (Priority.LOW, timedelta(minutes=30), timedelta(hours=16)),
    ],
)
def test_opening_a_case_offers_it_and_starts_clocks_per_priority(
    priority, accept_within, first_response_within
):
    clock = ManualClock(T0)
    received_at = T0 - timedelta(seconds=20)
    case = open_case(assignment(priority), received_at=received_at, now=clock.now())

    assert (case.owner, case.team, case.status) == ("agent-7", "billing", CaseStatus.OFFERED)
    assert case.policy == "default"
    ack, accept, first = case.clock(ACK), case.clock(ACCEPT), case.clock(FIRST)
    # The customer's waiting starts when they complained; the owner's when the case is offered.
    assert (ack.started_at, ack.due_at) == (received_at, received_at + timedelta(seconds=60))
    assert (accept.started_at, accept.due_at) == (T0, T0 + accept_within)
    assert (first.started_at, first.due_at) == (received_at, received_at + first_response_within)
    assert all(c.state is ClockState.RUNNING for c in case.clocks.values())
    assert case.accept_by == accept.due_at

    offered, started = case.events
    assert offered == CaseOffered("c-1", "agent-7", "billing", accept.due_at)
    assert isinstance(started, ClocksStarted)
    assert {c.name for c in started.clocks} == {ACK, ACCEPT, FIRST, ClockName.RESOLUTION}


def test_policies_are_looked_up_by_name_with_the_default_for_unknown_names():
    assert policy_for("b2b-contract").name == "b2b-contract"
    assert policy_for(" B2B-Contract ").name == "b2b-contract"
    assert policy_for("no-such-policy").name == "default"
    assert policy_for("").name == "default"
    case = open_case(assignment(Priority.HIGH, sla_policy="b2b-contract"), received_at=T0, now=T0)
    assert case.policy == "b2b-contract"
    assert case.clock(FIRST).due_at == T0 + timedelta(hours=2)
    # Danger to someone: even a low-priority complaint is offered and answered within hours.
    urgent = open_case(assignment(Priority.LOW, sla_policy="safety-critical"), received_at=T0, now=T0)
    assert urgent.clock(ACCEPT).due_at == T0 + timedelta(minutes=10)
    assert urgent.clock(FIRST).due_at == T0 + timedelta(hours=8)


def test_every_policy_routings_seeded_rules_can_choose_has_its_own_targets():
    def policy_names(node) -> set[str]:
        if isinstance(node, dict):
            found = {node["sla_policy"]} if isinstance(node.get("sla_policy"), str) else set()
            return found.union(*(policy_names(v) for v in node.values()))
        if isinstance(node, list):
            return set().union(*(policy_names(v) for v in node))
        return set()

    names = policy_names(yaml.safe_load(ROUTING_RULES.read_text(encoding="utf-8")))
    assert names, "routing's seeded rules name no SLA policy"
    assert names <= set(POLICIES), f"no SLA policy for {sorted(names - set(POLICIES))}"


def test_a_case_is_never_opened_without_an_owner():
    with pytest.raises(CaseError, match="no owner"):
        open_case(assignment(owner=""), received_at=T0, now=T0)


def test_acknowledgement_met_before_the_deadline_never_breaches():
    clock = ManualClock(T0)
    case = open_case(assignment(), received_at=T0, now=clock.now())

    clock.advance(30)
    stopped = stop_clock(case, ACK, clock.now())
    assert stopped is not None
    assert (stopped.state, stopped.stopped_at) == (ClockState.MET, T0 + timedelta(seconds=30))
    assert case.events[-1] == ClockStopped("c-1", stopped.snapshot())

    clock.advance(3600)
    assert ACK not in {d.clock for d in find_due([case], clock.now())}
    assert breach(case, ACK, clock.now()) is None
    assert stop_clock(case, ACK, clock.now()) is None  # a second acknowledgement changes nothing
    assert case.clock(ACK).state is ClockState.MET
    assert breaches(case) == []


def test_a_due_clock_breaches_exactly_once():
    clock = ManualClock(T0)
    case = open_case(assignment(), received_at=T0, now=clock.now())

    clock.advance(59)
    assert find_due([case], clock.now()) == []
    assert breach(case, ACK, clock.now()) is None  # not due yet

    clock.advance(1)  # exactly at the deadline
    assert find_due([case], clock.now()) == [Deadline("c-1", ACK, T0 + timedelta(seconds=60))]
    breached = breach(case, ACK, clock.now())
    assert breached is not None and breached.state is ClockState.BREACHED

    for _ in range(3):
        clock.advance(10)
        assert breach(case, ACK, clock.now()) is None
        assert breach_due(case, clock.now()) == []
    assert [b.clock.name for b in breaches(case)] == [ACK]
    assert breaches(case)[0].owner == "agent-7"


def test_every_overdue_clock_breaches_once_and_in_deadline_order():
    clock = ManualClock(T0)
    critical = open_case(assignment(Priority.CRITICAL, complaint_id="c-crit"), received_at=T0, now=T0)
    low = open_case(assignment(Priority.LOW, complaint_id="c-low"), received_at=T0, now=T0)

    clock.advance(timedelta(hours=2))
    due = find_due([low, critical], clock.now())
    assert [(d.complaint_id, d.clock) for d in due] == [
        ("c-crit", ACK),
        ("c-low", ACK),
        ("c-crit", ACCEPT),
        ("c-low", ACCEPT),
        ("c-crit", FIRST),
    ]
    assert {c.name for c in breach_due(critical, clock.now())} == {ACK, ACCEPT, FIRST}
    assert breach_due(critical, clock.now()) == []
    assert low.clock(FIRST).state is ClockState.RUNNING


def test_an_acknowledgement_after_the_deadline_is_a_breach_recorded_once():
    case = open_case(assignment(), received_at=T0, now=T0)
    late = stop_clock(case, ACK, T0 + timedelta(seconds=75))  # before the deadline tick saw it
    assert late is not None
    assert (late.state, late.stopped_at) == (ClockState.BREACHED, T0 + timedelta(seconds=75))
    assert breach(case, ACK, T0 + timedelta(seconds=80)) is None
    assert len(breaches(case)) == 1

    other = open_case(assignment(), received_at=T0, now=T0)
    assert breach(other, ACK, T0 + timedelta(seconds=61)) is not None  # the tick came first
    done = stop_clock(other, ACK, T0 + timedelta(seconds=75))
    assert done is not None and done.state is ClockState.BREACHED
    assert done.stopped_at == T0 + timedelta(seconds=75)
    assert len(breaches(other)) == 1


def clock_values(case):
    return {c.name: (c.started_at, c.due_at, c.state, c.stopped_at) for c in case.clocks.values()}


def test_received_then_routed_and_routed_then_received_give_the_same_clocks():
    received_at = T0 - timedelta(seconds=5)
    clock = ManualClock(T0)

    in_order = open_case(assignment(), received_at=received_at, now=clock.now())

    routed_first = open_case(assignment(), received_at=None, now=clock.now())
    assert not routed_first.received_at_known
    clock.advance(2)
    changed = record_receipt(routed_first, received_at)

    assert {c.name for c in changed} == {ACK, FIRST, ClockName.RESOLUTION}
    assert clock_values(routed_first) == clock_values(in_order)
    assert routed_first.received_at == received_at and routed_first.received_at_known
    assert isinstance(routed_first.events[-1], ClocksStarted)
    assert record_receipt(routed_first, received_at - timedelta(hours=1)) == []  # first receipt wins
    assert record_receipt(in_order, received_at) == []


def test_a_receipt_learned_late_turns_an_acknowledgement_that_was_too_late_into_a_breach():
    case = open_case(assignment(), received_at=None, now=T0)
    stop_clock(case, ACK, T0 + timedelta(seconds=30))  # met against the provisional start
    record_receipt(case, T0 - timedelta(minutes=5))
    assert case.clock(ACK).state is ClockState.BREACHED
    assert [b.clock.name for b in breaches(case)] == [ACK]


@given(
    steps=st.lists(
        st.tuples(st.integers(min_value=0, max_value=4000), st.sampled_from(["tick", "ack"])),
        max_size=30,
    )
)
def test_whatever_happens_each_clock_breaches_at_most_once_and_met_clocks_never(steps):
    clock = ManualClock(T0)
    case = open_case(assignment(Priority.CRITICAL), received_at=T0, now=clock.now())
    for seconds, action in steps:
        clock.advance(seconds)
        if action == "tick":
            for deadline in find_due([case], clock.now()):
                breach(case, deadline.clock, clock.now())
        else:
            stop_clock(case, ACK, clock.now())
    names = [b.clock.name for b in breaches(case)]
    assert len(names) == len(set(names))
    for c in case.clocks.values():
        assert (c.state is ClockState.BREACHED) == (c.name in names)
        if c.state is ClockState.MET:
            assert c.stopped_at is not None and c.stopped_at <= c.due_at
