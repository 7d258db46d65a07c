"""What agents send: request ids scoped to (tenant, complaint, action), transfers checked against
the directory and re-based on the receiving team's calendar, limits and NUL on free text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import grpc
import pytest
from sqlmodel import Session

from services.common.codec import encode
from services.common.db import create_tables, make_engine
from services.common.pb.haq.v1 import escalation_pb2
from services.common.runtime import EventConsumer
from services.escalation.adapters.db import MODELS, load_case
from services.escalation.adapters.directory import StaticDirectory, load_calendars
from services.escalation.adapters.events import to_envelopes
from services.escalation.domain import (
    Assignment,
    CaseStatus,
    ClockName,
    ClocksStarted,
    InvalidInput,
    Ladder,
    ManualClock,
    Priority,
    Roster,
    accept,
    accept_transfer,
    add_note,
    decline_transfer,
    open_case,
    request_transfer,
    respond,
)
from services.escalation.domain.limits import (
    FIELD_LIMITS,
    ID_MAX,
    REASON_MAX,
    TEXT_MAX,
    limit_for,
    text_problem,
)
from services.escalation.entrypoints.grpc_api import check_limits
from services.escalation.service_layer.actions import CaseActions
from services.escalation.service_layer.handlers import EscalationHandlers
from services.escalation.service_layer.shared import Binder
from tests.unit.test_escalation_handlers import outbox, received, routed

T0 = datetime(2025, 3, 3, 6, 0, tzinfo=UTC)  # Monday 09:30 in Tehran, 06:00 in London
CALENDARS = load_calendars()
ROSTER = Roster(
    {
        "general-care": frozenset({"agent-7", "lead-1"}),
        "b2b-accounts": frozenset({"pouya.mansouri", "nima.b2b"}),
    }
)
FIRST = ClockName.FIRST_RESPONSE


def owned_case():
    case = open_case(
        Assignment("c-1", "general-care", "agent-7", Priority.HIGH, "default"),
        received_at=T0,
        now=T0,
        calendar=CALENDARS.for_team("general-care"),
        ladder=Ladder("lead-1", "manager-1", "director-1"),
    )
    accept(case, "agent-7", T0 + timedelta(minutes=1))
    case.events.clear()
    return case


# ---- item 4: transfers only to teams and people of the directory ----------------------------------


def test_a_transfer_to_a_team_the_directory_does_not_know_is_refused_naming_to_team():
    case = owned_case()
    with pytest.raises(InvalidInput) as refused:
        request_transfer(case, "agent-7", "no-such-team", "billing matter", T0, roster=ROSTER)
    assert refused.value.field == "to_team" and "no-such-team" in refused.value.problem
    assert case.transfer is None and not case.events


def test_a_transfer_to_a_person_outside_the_receiving_team_is_refused_naming_to_owner():
    case = owned_case()
    with pytest.raises(InvalidInput) as refused:
        request_transfer(
            case, "agent-7", "b2b-accounts", "contract", T0, to_owner="ghost.person", roster=ROSTER
        )
    assert refused.value.field == "to_owner" and "ghost.person" in refused.value.problem
    assert case.transfer is None


def test_only_a_member_of_the_receiving_team_answers_a_transfer():
    case = owned_case()
    request_transfer(case, "agent-7", "b2b-accounts", "contract", T0, roster=ROSTER)
    for answer in (
        lambda: accept_transfer(case, "made-up.name", T0, roster=ROSTER),
        lambda: decline_transfer(case, "made-up.name", "not ours", T0, roster=ROSTER),
    ):
        with pytest.raises(InvalidInput) as refused:
            answer()
        assert refused.value.field == "agent" and "b2b-accounts" in refused.value.problem
    assert case.transfer is not None and case.owner == "agent-7"
    accept_transfer(case, "nima.b2b", T0, roster=ROSTER)
    assert (case.owner, case.team) == ("nima.b2b", "b2b-accounts")


def test_the_seed_directory_knows_routings_teams_and_people():
    roster = StaticDirectory().roster()
    assert roster is not None
    assert "elena.rossi" in roster.members("privacy-office")
    assert "leila.ahmadi" in roster.members("general-care")  # the lead
    assert not roster.has_team("no-such-team")


# ---- item 4: the receiving team's business calendar -------------------------------------------


def test_transferred_clocks_run_on_the_receiving_teams_calendar():
    case = owned_case()
    tehran, london = CALENDARS.for_team("general-care"), CALENDARS.for_team("b2b-accounts")
    assert tehran.name != london.name
    asked = T0 + timedelta(hours=1)  # 10:30 Tehran, 07:00 London (before the London desk opens)
    transfer = request_transfer(
        case, "agent-7", "b2b-accounts", "contract", asked, roster=ROSTER, calendars=CALENDARS
    )
    # The receiver answers within its own working time.
    accept_window = case.sla.target(ClockName.OWNER_ACCEPTANCE, case.priority)
    assert transfer.respond_by == london.add(asked, accept_window)

    accepted = asked + timedelta(minutes=10)
    first = case.clock(FIRST)
    used = tehran.elapsed(first.run_from, accepted)
    accept_transfer(case, "nima.b2b", accepted, roster=ROSTER, calendars=CALENDARS)
    first = case.clock(FIRST)
    assert first.due_at == london.add(accepted, first.target - used)
    assert case.calendar.name == london.name
    restarted = [e for e in case.events if isinstance(e, ClocksStarted)]
    assert restarted and FIRST in {c.name for c in restarted[-1].clocks}


# ---- item 3: request ids are scoped to (tenant, complaint, action) --------------------------------


@pytest.fixture
def engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'escalation.db'}")
    create_tables(engine, MODELS)
    return engine


def test_a_request_id_reused_on_another_complaint_or_action_is_applied_not_swallowed(engine):
    clock = ManualClock(T0)
    handlers = EscalationHandlers(clock)
    consumer = EventConsumer("escalation-lifecycle", "escalation", engine, relay=None)
    for cid in ("c-a", "c-b"):
        consumer.apply(received(cid, T0), handlers.on_received)
        consumer.apply(routed(cid), handlers.on_routed)
    actions = CaseActions(engine, clock, Binder())

    def take(case, now):
        return accept(case, "agent-7", now)

    first = actions.apply("c-a", "req-1", take, kind="accept")
    assert first.event_ids and not first.replayed
    retried = actions.apply("c-a", "req-1", take, kind="accept")
    assert retried.replayed and retried.event_ids == []  # a retry applies once

    other = actions.apply("c-b", "req-1", take, kind="accept")  # same id, another complaint
    assert not other.replayed and other.event_ids
    assert set(other.event_ids).isdisjoint(first.event_ids)  # downstream dedupes by event id
    with Session(engine) as session:
        case = load_case(session, "c-b")
        assert case is not None and case.status is CaseStatus.OWNED
    assert {e.subject for e in outbox(engine) if e.type == "haq.v1.OwnerAccepted"} == {"c-a", "c-b"}


# ---- item 5: limits and NUL -----------------------------------------------------------------------


def test_free_text_has_documented_limits_and_refuses_nul():
    assert FIELD_LIMITS["body"] == TEXT_MAX == 10_000
    assert FIELD_LIMITS["reason"] == REASON_MAX == 500
    assert text_problem("x" * TEXT_MAX, TEXT_MAX) is None
    assert text_problem("x" * (TEXT_MAX + 1), TEXT_MAX) == "at most 10000 characters"
    assert text_problem("a\x00b", REASON_MAX) == "must not contain NUL characters"
    assert text_problem("agent-7", ID_MAX) is None


class Aborted(Exception):
    pass


class RecordingContext:
    """Stands in for the servicer context: records the status a check aborts with."""

    def abort(self, code, details):
        self.code, self.details = code, details
        raise Aborted(details)


CASE_REQUESTS = [
    escalation_pb2.AcceptRequest,
    escalation_pb2.DeclineRequest,
    escalation_pb2.RespondRequest,
    escalation_pb2.AddNoteRequest,
    escalation_pb2.RequestInfoRequest,
    escalation_pb2.RequestTransferRequest,
    escalation_pb2.TransferAnswerRequest,
    escalation_pb2.ResolveRequest,
    escalation_pb2.ReopenRequest,
    escalation_pb2.ListQueueRequest,
]


@pytest.mark.parametrize("message", CASE_REQUESTS, ids=lambda m: m.DESCRIPTOR.name)
def test_every_string_field_of_every_case_request_is_bounded_and_refuses_nul(message):
    strings = [f.name for f in message.DESCRIPTOR.fields if f.type == f.TYPE_STRING]
    assert strings
    check_limits(message(**{name: "x" * limit_for(name) for name in strings}), RecordingContext())
    for name in strings:
        for value, problem in (
            ("x" * (limit_for(name) + 1), f"at most {limit_for(name)} characters"),
            ("a\x00b", "must not contain NUL characters"),
        ):
            context = RecordingContext()
            with pytest.raises(Aborted):
                check_limits(message(**{name: value}), context)
            assert context.code == grpc.StatusCode.INVALID_ARGUMENT
            assert context.details == f"{name}: {problem}"


def test_an_action_at_every_limit_makes_events_far_below_the_broker_limit():
    case = owned_case()
    wide = "\U0001f600"  # 4 bytes in UTF-8
    respond(
        case,
        "agent-7",
        wide * TEXT_MAX,
        T0 + timedelta(minutes=2),
        response_id="r" * ID_MAX,
        channel="c" * FIELD_LIMITS["channel"],
    )
    add_note(case, "a" * ID_MAX, wide * TEXT_MAX, note_id="n" * ID_MAX)
    for envelope in to_envelopes(case.events, "action:default:c-1:respond:" + "r" * ID_MAX):
        record = encode(envelope)
        size = len(record.value) + len(record.key or b"") + sum(len(k) + len(v) for k, v in record.headers)
        assert size < 1024 * 1024 // 10, envelope.type
