"""The ownership state machine, calendars, pauses, warnings and the ladder, on simulated time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from services.escalation.adapters.directory import StaticDirectory, load_calendars
from services.escalation.domain import (
    Assignment,
    CaseError,
    CaseStatus,
    ClockName,
    ClockState,
    Escalated,
    InvalidInput,
    Ladder,
    OwnerReplaced,
    Priority,
    RerouteRequested,
    SlaWarning,
    TransferDeclined,
    accept,
    accept_transfer,
    customer_followed_up,
    decline,
    decline_transfer,
    next_due,
    offer,
    open_case,
    reopen,
    request_info,
    request_transfer,
    resolve,
    respond,
    tick,
    unowned_beyond_window,
)

T0 = datetime(2025, 3, 3, 6, 0, tzinfo=UTC)  # Monday 09:30 in Tehran
LADDER = Ladder("lead-1", "manager-1", "director-1")
CALENDARS = load_calendars()
ACCEPT, FIRST, NEXT, RES = (
    ClockName.OWNER_ACCEPTANCE,
    ClockName.FIRST_RESPONSE,
    ClockName.NEXT_RESPONSE,
    ClockName.RESOLUTION,
)


def new_case(policy: str = "default", priority: Priority = Priority.HIGH, calendar=None):
    return open_case(
        Assignment("c-1", "general-care", "agent-7", priority, policy),
        received_at=T0,
        now=T0,
        calendar=calendar or CALENDARS.for_team("general-care"),
        ladder=LADDER,
    )


def of(case, kind):
    return [e for e in case.events if isinstance(e, kind)]


def owned_case():
    case = new_case()
    accept(case, "agent-7", T0 + timedelta(minutes=1))
    return case


# ---- calendars (SLA.md clause 6) -----------------------------------------------------------------


def test_a_saturday_to_wednesday_week_with_a_thursday_half_day_and_holidays():
    tehran = CALENDARS.calendars["tehran-office"]
    thursday_11 = datetime(2025, 3, 6, 7, 30, tzinfo=UTC)  # 11:00 local, half day ends 12:00
    # 1 h left on Thursday, Friday off, the rest on Saturday from 08:00 local (04:30 UTC).
    assert tehran.add(thursday_11, timedelta(hours=3)) == datetime(2025, 3, 8, 6, 30, tzinfo=UTC)
    assert tehran.elapsed(thursday_11, datetime(2025, 3, 8, 6, 30, tzinfo=UTC)) == timedelta(hours=3)
    # Nowruz holidays (2025-03-20..24) are skipped entirely.
    before = datetime(2025, 3, 19, 12, 0, tzinfo=UTC)  # Wednesday 15:30 local
    assert tehran.add(before, timedelta(hours=1)).astimezone(tehran.zone).date() == date(2025, 3, 25)


def test_a_monday_to_friday_week_with_a_friday_half_day_across_daylight_saving():
    london = CALENDARS.calendars["london-office"]
    friday_12 = datetime(2025, 3, 28, 12, 0, tzinfo=UTC)  # 12:00 GMT, half day ends 13:00
    # 1 h on Friday; Monday 31 March is BST, 09:00 local = 08:00 UTC.
    assert london.add(friday_12, timedelta(hours=2)) == datetime(2025, 3, 31, 9, 0, tzinfo=UTC)


def test_round_the_clock_policies_count_every_minute_and_others_business_time():
    night = datetime(2025, 3, 3, 20, 0, tzinfo=UTC)  # 23:30 in Tehran
    calendar = CALENDARS.for_team("general-care")
    urgent = open_case(
        Assignment("c-2", "general-care", "a", Priority.HIGH, "safety-critical"),
        received_at=night,
        now=night,
        calendar=calendar,
    )
    standard = open_case(
        Assignment("c-3", "general-care", "a", Priority.HIGH, "default"),
        received_at=night,
        now=night,
        calendar=calendar,
    )
    assert urgent.clock(FIRST).due_at == night + timedelta(hours=1)
    assert (
        standard.clock(FIRST).due_at == calendar.add(night, timedelta(hours=4)) > night + timedelta(hours=8)
    )
    assert standard.clock(ClockName.ACKNOWLEDGEMENT).due_at == night + timedelta(minutes=1)  # always 24x7


# ---- ownership (clauses 2-5) ---------------------------------------------------------------------


def test_accept_by_the_offered_owner_only():
    case = new_case()
    with pytest.raises(CaseError, match="offered to agent-7"):
        accept(case, "someone-else", T0)
    with pytest.raises(InvalidInput, match="agent"):
        accept(case, " ", T0)
    accept(case, "agent-7", T0 + timedelta(minutes=2))
    assert case.status is CaseStatus.OWNED and case.clock(ACCEPT).state is ClockState.MET
    with pytest.raises(CaseError, match="no open offer"):
        accept(case, "agent-7", T0)


def test_decline_hands_the_complaint_to_the_duty_lead_and_asks_routing_for_another_owner():
    case = new_case()
    with pytest.raises(InvalidInput, match="reason"):
        decline(case, "agent-7", "", T0)
    decline(case, "agent-7", "on leave tomorrow", T0 + timedelta(minutes=1))
    assert (case.owner, case.owner_is_duty_lead, case.status) == ("lead-1", True, CaseStatus.OWNED)
    (reroute,) = of(case, RerouteRequested)
    assert reroute.exclude_owners == ("agent-7",) and reroute.current_owner == "lead-1"
    # Routing answers: the duty lead's complaint is offered the normal way.
    assert offer(case, "agent-9", duty_lead=False, now=T0 + timedelta(minutes=2))
    assert (case.owner, case.offered_to, case.status) == ("agent-9", "agent-9", CaseStatus.OFFERED)
    assert case.clock(ACCEPT).cycle == 1


def test_an_offer_not_accepted_in_its_window_goes_to_the_team_lead_and_is_rerouted():
    case = new_case()
    tick(case, case.accept_by)
    assert not unowned_beyond_window(case, case.accept_by + timedelta(seconds=1))
    assert (case.owner, case.status) == ("lead-1", CaseStatus.OWNED)
    assert [e.step for e in of(case, Escalated) if e.clock and e.clock.name is ACCEPT] == [1]
    assert of(case, RerouteRequested)[0].exclude_owners == ("agent-7",)


def test_a_reassignment_of_an_owned_complaint_keeps_the_current_owner_until_accepted():
    case = owned_case()
    assert offer(case, "agent-9", duty_lead=False, now=T0 + timedelta(minutes=5))
    assert (case.owner, case.offered_to, case.status) == ("agent-7", "agent-9", CaseStatus.OWNED)
    accept(case, "agent-9", T0 + timedelta(minutes=6))
    assert case.owner == "agent-9" and of(case, OwnerReplaced)[-1].previous_owner == "agent-7"


def test_a_transfer_is_a_request_accepted_or_declined_by_the_receiver():
    case = owned_case()
    request_transfer(case, "agent-7", "privacy-office", "personal data involved", T0, to_owner="p-1")
    with pytest.raises(CaseError, match="pending"):
        request_transfer(case, "agent-7", "contracts", "again", T0)
    with pytest.raises(CaseError, match="addressed to p-1"):
        accept_transfer(case, "p-2", T0)
    assert case.owner == "agent-7"  # still accountable while the transfer is pending
    decline_transfer(case, "p-1", "not personal data", T0 + timedelta(minutes=1))
    assert (case.owner, case.team, case.transfer) == ("agent-7", "general-care", None)
    assert of(case, Escalated)[-1].notify == ("agent-7", "lead-1")

    request_transfer(case, "agent-7", "privacy-office", "it is personal data", T0 + timedelta(minutes=2))
    with pytest.raises(CaseError, match="asked for this transfer"):
        accept_transfer(case, "agent-7", T0 + timedelta(minutes=3))  # the sender cannot answer it
    accept_transfer(case, "p-2", T0 + timedelta(minutes=3))
    assert (case.owner, case.team, case.status) == ("p-2", "privacy-office", CaseStatus.OWNED)


def test_a_transfer_nobody_answers_times_out_stays_and_escalates():
    case = owned_case()
    transfer = request_transfer(case, "agent-7", "contracts", "contract question", T0)
    tick(case, transfer.respond_by)
    (declined,) = of(case, TransferDeclined)
    assert declined.timed_out and declined.owner == "agent-7" and case.transfer is None


@pytest.mark.parametrize("code", ["not_our_department", "wrong-team", "referred elsewhere"])
def test_not_our_department_cannot_close_a_complaint(code):
    case = owned_case()
    with pytest.raises(CaseError, match="deflects"):
        resolve(case, "agent-7", code, "We passed it on.", T0)
    with pytest.raises(CaseError, match="deflects"):
        resolve(case, "agent-7", "explained", "This is not our department, sorry.", T0)
    assert case.status is CaseStatus.OWNED


def test_resolve_needs_a_known_code_a_summary_and_no_pending_transfer():
    case = owned_case()
    with pytest.raises(InvalidInput, match="resolution_code"):
        resolve(case, "agent-7", "whatever", "done", T0)
    with pytest.raises(InvalidInput, match="summary"):
        resolve(case, "agent-7", "fixed", " ", T0)
    request_transfer(case, "agent-7", "contracts", "contract", T0)
    with pytest.raises(CaseError, match="transfer"):
        resolve(case, "agent-7", "fixed", "Refunded the fee.", T0)


def test_resolve_then_close_after_the_reopen_window_and_reopen():
    case = owned_case()
    resolve(case, "agent-7", "refunded", "We refunded the fee.", T0 + timedelta(hours=1))
    assert all(not c.open for c in case.clocks.values())
    with pytest.raises(CaseError, match="reopen it first"):
        respond(case, "agent-7", "hi", T0, response_id="r")
    tick(case, case.close_at)
    assert case.status is CaseStatus.CLOSED
    reopen(case, "agent-7", "customer says the refund never arrived", case.close_at + timedelta(days=1))
    assert case.status is CaseStatus.OWNED
    assert case.clock(RES).cycle == 1 and case.clock(RES).open


def test_respond_before_accepting_is_refused_with_the_reason():
    case = new_case()
    with pytest.raises(CaseError, match="not accepted yet"):
        respond(case, "agent-7", "Hello", T0, response_id="r-1")


# ---- pauses, follow-ups, warnings, ladder (clauses 7-10) -----------------------------------------


def test_waiting_on_the_customer_pauses_and_a_follow_up_resumes_and_starts_next_response():
    case = owned_case()
    request_info(case, "agent-7", "Which invoice?", T0 + timedelta(hours=1), request_id="q-1")
    assert case.status is CaseStatus.WAITING_ON_CUSTOMER
    assert case.clock(FIRST).state is ClockState.MET and case.clock(RES).state is ClockState.PAUSED
    long_after = T0 + timedelta(days=30)
    tick(case, long_after)
    assert case.clock(RES).state is ClockState.PAUSED and not of(case, SlaWarning)  # paused: no breach
    customer_followed_up(case, long_after)
    res = case.clock(RES)
    assert case.status is CaseStatus.IN_PROGRESS and res.state is ClockState.RUNNING
    assert res.due_at == case.calendar.add(long_after, res.target - res.consumed)
    nxt = case.clock(NEXT)
    assert nxt.started_at == long_after and nxt.cycle == 0
    respond(case, "agent-7", "Found it.", long_after + timedelta(minutes=5), response_id="r")
    customer_followed_up(case, long_after + timedelta(hours=1))
    assert case.clock(NEXT).cycle == 1  # each follow-up after an answer restarts the clock


def test_a_warning_comes_at_the_configured_share_once_per_cycle():
    case = owned_case()
    first = case.clock(FIRST)
    tick(case, first.warn_at)
    tick(case, first.warn_at + timedelta(seconds=1))
    (warning,) = [w for w in of(case, SlaWarning) if w.clock.name is FIRST]
    assert warning.share_elapsed == pytest.approx(0.75, abs=0.01)


def test_a_breach_climbs_the_ladder_once_per_level_and_the_owner_is_replaced_when_unresponsive():
    case = owned_case()
    first = case.clock(FIRST)
    far = first.due_at + timedelta(days=3)
    tick(case, first.due_at)
    tick(case, first.due_at)
    steps = [(e.level, e.notify) for e in of(case, Escalated) if e.clock and e.clock.name is FIRST]
    assert steps == [("team_lead", ("agent-7", "lead-1"))]
    tick(case, far)
    tick(case, far)
    steps = [(e.level, e.notify) for e in of(case, Escalated) if e.clock and e.clock.name is FIRST]
    assert steps == [
        ("team_lead", ("agent-7", "lead-1")),
        ("manager", ("lead-1", "manager-1")),
        ("director", ("manager-1", "director-1")),
    ]
    assert any("unresponsive" in r.reason for r in of(case, RerouteRequested))


def test_next_due_is_the_earliest_pending_work():
    case = new_case()
    assert next_due(case) == case.clock(ClockName.ACKNOWLEDGEMENT).warn_at


def test_the_seed_ladder_names_every_rung_for_every_seeded_team():
    directory = StaticDirectory()
    for team in directory.teams:
        ladder = directory.ladder(team)
        assert ladder.lead and ladder.manager and ladder.director, team
