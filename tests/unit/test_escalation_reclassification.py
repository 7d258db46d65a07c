"""Escalation takes a new priority, SLA policy and team from a routing reassignment (a triage
correction): services/escalation/domain/reclassification.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.escalation.adapters.directory import load_calendars
from services.escalation.domain import (
    Assignment,
    CaseStatus,
    ClockName,
    ClocksStarted,
    Ladder,
    OwnerReplaced,
    Priority,
    TransferRequested,
    accept,
    offer,
    open_case,
    policy_for,
    rerouted,
)
from services.escalation.domain.sla_clock import ClockState

T0 = datetime(2025, 3, 3, 6, 0, tzinfo=UTC)  # Monday 09:30 in Tehran
CALENDARS = load_calendars()
SAFETY = policy_for("safety-critical")


def new_case():
    return open_case(
        Assignment("c-1", "general-care", "agent-7", Priority.NORMAL, "default"),
        received_at=T0,
        now=T0,
        calendar=CALENDARS.for_team("general-care"),
        ladder=Ladder("lead-1", "manager-1", "director-1"),
    )


def test_an_offered_case_moves_to_the_new_team_with_the_new_priority_and_restarted_clocks():
    case = new_case()
    now = T0 + timedelta(minutes=3)
    moved = rerouted(case, "safety-security", "sam", Priority.CRITICAL, SAFETY, "corrected", now,
                     CALENDARS.for_team("safety-security"))  # fmt: skip
    assert moved.changed and moved.offer
    assert (case.team, case.priority, case.policy) == (
        "safety-security",
        Priority.CRITICAL,
        "safety-critical",
    )
    first = case.clocks[ClockName.FIRST_RESPONSE]
    assert first.started_at == now and first.every_minute and first.due_at == now + timedelta(minutes=30)
    assert case.clocks[ClockName.RESOLUTION].due_at == now + timedelta(hours=24)
    started = [e for e in case.events if isinstance(e, ClocksStarted)][-1]
    assert started.policy == "safety-critical"
    assert {c.name for c in started.clocks} >= {ClockName.FIRST_RESPONSE, ClockName.RESOLUTION}
    # Then the new owner is offered it the normal way; the acceptance clock is the new policy's.
    assert offer(case, "sam", duty_lead=False, now=now, reason="corrected")
    assert case.offered_to == "sam" and case.accept_by == now + timedelta(minutes=5)
    accept(case, "sam", now + timedelta(minutes=1))
    assert (case.owner, case.team, case.status) == ("sam", "safety-security", CaseStatus.OWNED)


def test_a_breached_clock_stays_breached_and_a_repeat_changes_nothing():
    case = new_case()
    case.clocks[ClockName.RESOLUTION].state = ClockState.BREACHED
    rerouted(case, "general-care", "agent-7", Priority.CRITICAL, SAFETY, "corrected", T0 + timedelta(hours=1))
    assert case.clocks[ClockName.RESOLUTION].state is ClockState.BREACHED
    assert case.clocks[ClockName.RESOLUTION].started_at == T0
    case.events.clear()
    again = rerouted(
        case, "general-care", "agent-7", Priority.CRITICAL, SAFETY, "corrected", T0 + timedelta(hours=2)
    )
    assert not again.changed and not case.events


def test_an_owned_case_is_transferred_to_the_new_team_and_its_owner_stays_accountable():
    case = new_case()
    accept(case, "agent-7", T0 + timedelta(minutes=1))
    case.events.clear()
    moved = rerouted(
        case,
        "safety-security",
        "sam",
        Priority.CRITICAL,
        SAFETY,
        "triage corrected",
        T0 + timedelta(minutes=10),
    )
    assert moved.changed and not moved.offer
    assert (case.owner, case.team, case.priority) == ("agent-7", "general-care", Priority.CRITICAL)
    assert case.transfer is not None and (case.transfer.to_team, case.transfer.to_owner) == (
        "safety-security",
        "sam",
    )
    assert [e for e in case.events if isinstance(e, TransferRequested)]
    assert not [e for e in case.events if isinstance(e, OwnerReplaced)]


def test_a_reassignment_within_the_team_at_the_same_priority_is_an_ordinary_offer():
    case = new_case()
    before = dict(case.clocks)
    moved = rerouted(case, "general-care", "agent-9", Priority.NORMAL, policy_for("default"), "queue", T0)
    assert moved == type(moved)(False, True)
    assert case.clocks == before
