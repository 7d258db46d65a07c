"""The one lifecycle fold (services.common.lifecycle) and the readers that use it.

After a reroute every reader must name the same accountable owner: a reassignment ComplaintRouted
is a proposal while somebody owns the complaint; ownership moves only with OwnerAccepted,
OwnerReplaced or TransferAccepted.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.common.codec import new_event
from services.common.lifecycle import CaseLifecycle, advance_status, enum_name, fold
from services.common.pb.haq.v1 import complaint_pb2 as c
from services.common.pb.haq.v1 import events_pb2 as ev
from services.console.flow import FlowState
from services.notifications.adapters.db import ComplaintContact
from services.notifications.service_layer.recorder import case_update

CID = "c-1"
OWNED = c.COMPLAINT_STATUS_OWNED


def reroute_story() -> list[tuple[str, object]]:
    """Routed to the duty lead (team at capacity), who owns it; a drain proposes agent-b; agent-b
    is offered it and accepts; later a transfer to team-2 and a replacement."""
    return [
        ("ComplaintReceived", ev.ComplaintReceived(complaint=c.Complaint(id=CID, tenant="t"))),
        (
            "ComplaintRouted",
            ev.ComplaintRouted(
                complaint_id=CID,
                team="team-1",
                owner="lead-1",
                owner_is_duty_lead=True,
                priority=c.PRIORITY_HIGH,
                rule_id="r1",
                sla_policy="standard",
            ),
        ),  # fmt: skip
        ("OwnerAssigned", ev.OwnerAssigned(complaint_id=CID, owner="lead-1", team="team-1", status=OWNED)),
        (
            "ComplaintRouted",
            ev.ComplaintRouted(
                complaint_id=CID,
                team="team-1",
                owner="agent-b",
                reassignment=True,
                previous_owner="lead-1",
                priority=c.PRIORITY_HIGH,
                rule_id="r1",
            ),
        ),  # fmt: skip
        (
            "OwnerAssigned",
            ev.OwnerAssigned(
                complaint_id=CID, owner="agent-b", team="team-1", status=c.COMPLAINT_STATUS_OFFERED
            ),
        ),
        ("OwnerAccepted", ev.OwnerAccepted(complaint_id=CID, owner="agent-b", team="team-1", status=OWNED)),
        (
            "TransferAccepted",
            ev.TransferAccepted(
                complaint_id=CID,
                new_owner="agent-c",
                new_team="team-2",
                previous_owner="agent-b",
                status=OWNED,
            ),
        ),
        (
            "OwnerReplaced",
            ev.OwnerReplaced(
                complaint_id=CID,
                previous_owner="agent-c",
                new_owner="lead-2",
                new_owner_is_duty_lead=True,
                status=OWNED,
            ),
        ),  # fmt: skip
    ]


# The accountable owner after each step of the story.
EXPECTED_OWNERS = ["", "lead-1", "lead-1", "lead-1", "lead-1", "agent-b", "agent-c", "lead-2"]


def test_the_fold_keeps_the_accountable_owner_through_a_reroute() -> None:
    state = CaseLifecycle()
    owners = []
    for name, msg in reroute_story():
        state = fold(state, name, msg)
        owners.append(state.owner)
    assert owners == EXPECTED_OWNERS
    assert state == CaseLifecycle(
        status="owned", team="team-2", owner="lead-2", owner_is_duty_lead=True, priority="high",
        sla_policy="standard", routing_rule="r1",
    )  # fmt: skip


def test_a_first_offer_names_the_owner_and_acceptance_clears_the_duty_lead_flag() -> None:
    state = fold(CaseLifecycle(status="received"), "ComplaintRouted", ev.ComplaintRouted(team="t", owner="a"))
    assert (state.owner, state.status, state.accepted) == ("a", "routed", False)
    state = fold(
        state, "OwnerAssigned", ev.OwnerAssigned(owner="b", team="t", status=c.COMPLAINT_STATUS_OFFERED)
    )
    assert (state.owner, state.status) == ("b", "offered")  # not accepted yet: the offer names the owner
    state = fold(state, "OwnerAccepted", ev.OwnerAccepted(owner="b", status=OWNED))
    assert (state.owner, state.status, state.accepted) == ("b", "owned", True)


def test_a_reassignment_without_an_owner_names_one() -> None:
    state = fold(
        CaseLifecycle(), "ComplaintRouted", ev.ComplaintRouted(team="t", owner="a", reassignment=True)
    )
    assert state.owner == "a"


def test_status_moves_forward_early_freely_at_work_and_back_on_reopen() -> None:
    state = CaseLifecycle(status="owned", owner="a", team="t")
    assert fold(state, "ComplaintRouted", ev.ComplaintRouted(team="t", owner="a")).status == "owned"
    resolved = fold(state, "Resolved", ev.Resolved(status=c.COMPLAINT_STATUS_RESOLVED))
    assert resolved.status == "resolved"
    reopened = fold(resolved, "Reopened", ev.Reopened(owner="a", status=c.COMPLAINT_STATUS_IN_PROGRESS))
    assert reopened.status == "in_progress"
    assert advance_status("waiting_on_customer", "in_progress") == "in_progress"
    assert advance_status("offered", "routed") == "offered"


def test_events_that_decide_nothing_return_the_same_state() -> None:
    state = CaseLifecycle(status="owned", owner="a")
    assert fold(state, "NotificationSent", ev.NotificationSent()) is state
    assert fold(state, "InternalNoteAdded", ev.InternalNoteAdded()) is state


def test_enum_names() -> None:
    assert enum_name(ev.OwnerAssigned(status=c.COMPLAINT_STATUS_WAITING_ON_CUSTOMER), "status") == (
        "waiting_on_customer"
    )
    assert enum_name(ev.OwnerAssigned(), "status") == ""
    assert enum_name(ev.ComplaintRouted(priority=c.PRIORITY_CRITICAL), "priority") == "critical"
    assert enum_name(ev.NotificationSent(), "status") == ""  # no such field


@pytest.mark.parametrize("reader", ["console", "notifications"])
def test_every_reader_names_the_same_owner_as_the_fold(reader: str) -> None:
    """Before the shared fold, the console and notifications took the proposed owner of a
    reassignment ComplaintRouted as the owner (agent-b at step 4, while lead-1 still owned it)."""
    owners = []
    if reader == "console":
        flow = FlowState()
        for i, (_name, msg) in enumerate(reroute_story()):
            event = new_event(msg, source="test", subject=CID, event_id=f"e{i}", time=datetime.now(UTC))
            flow.apply(event)
            owners.append(flow.facts[CID].owner)
    else:
        contact: ComplaintContact | None = None
        for name, msg in reroute_story():
            update = case_update(contact, name, msg)
            contact = contact or ComplaintContact(complaint_id=CID)
            for key, value in update.items():
                setattr(contact, key, value)
            owners.append(contact.owner)
    assert owners == EXPECTED_OWNERS
