"""Routing's tables and service layer on a SQLite file (no broker): seeding, counts, one decision
and one staged ComplaintRouted per complaint."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from sqlmodel import Session, select

from services.common.codec import decode, new_event
from services.common.db import OutboxMessage, create_tables, make_engine
from services.common.pb.haq.v1 import complaint_pb2, events_pb2
from services.common.runtime import EventConsumer
from services.common.settings import Settings
from services.routing.adapters import db
from services.routing.adapters.files import load_directory
from services.routing.admin import seed_rule_set
from services.routing.service import Router, RuleSets

DIRECTORY = load_directory(Settings().directory_file)


@pytest.fixture
def engine(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path / 'routing.db'}")
    create_tables(engine, db.MODELS)
    db.seed_directory(engine, DIRECTORY)
    seed_rule_set(engine, {t.id for t in DIRECTORY.teams})
    return engine


def received(complaint_id: str, body: str, sector: int = complaint_pb2.SECTOR_HEALTHCARE, event_id: str = ""):
    msg = events_pb2.ComplaintReceived(
        complaint=complaint_pb2.Complaint(id=complaint_id, tenant="default", sector=sector, body=body)
    )
    return new_event(msg, source="/test", subject=complaint_id, event_id=event_id or f"evt-{complaint_id}")


def test_seeding_is_idempotent_and_keeps_counts(engine) -> None:
    with Session(engine) as s:
        db.record_assignment(s, "default", "reza.karimi")
        s.commit()
    # The file changes capacity and drops an agent; a restart re-seeds.
    general = DIRECTORY.team("general-care")
    assert general is not None
    changed = replace(
        general,
        members=tuple(replace(m, capacity=3) if m.id == "reza.karimi" else m for m in general.members[:2]),
    )
    edited = replace(
        DIRECTORY, teams=tuple(changed if t.id == "general-care" else t for t in DIRECTORY.teams)
    )
    db.seed_directory(engine, edited)
    db.seed_directory(engine, edited)  # twice: nothing changes the second time
    with Session(engine) as s:
        views = {v.team.id: v for v in db.list_teams(s, "default")}
        agents = {a.id: a for a in views["general-care"].agents}
        assert len(views) == len(DIRECTORY.teams)
        assert (agents["reza.karimi"].capacity, agents["reza.karimi"].open_assignments) == (3, 1)
        assert agents["sara.mohammadi"].presence == "offline"  # dropped from the file, kept offline
        assert [a.id for a in views["general-care"].agents][0] == "leila.ahmadi"  # lead first


def test_one_decision_and_one_routed_event_per_complaint(engine) -> None:
    router = Router(RuleSets(), default_tenant="default", fallback_directory="default")
    consumer = EventConsumer("routing-lifecycle", "routing", engine, relay=None)
    first = received("c-1", "wrong medication")
    assert consumer.apply(first, router.on_received)
    assert not consumer.apply(first, router.on_received)  # same event id: skipped
    assert consumer.apply(received("c-1", "wrong medication", event_id="evt-again"), router.on_received)

    with Session(engine) as s:
        rows = s.exec(select(OutboxMessage)).all()
        decision = db.get_decision(s, "c-1")
        owner = s.get(db.RoutingAgent, ("default", decision.owner)) if decision else None
    assert len(rows) == 1 and rows[0].event_id == "routed:evt-c-1"
    assert decision is not None and decision.team == "clinical-governance"
    assert owner is not None and owner.open_assignments == 1
    env = decode(rows[0].key, rows[0].value, [(k, v.encode()) for k, v in json.loads(rows[0].headers_json)])
    assert env.type == "haq.v1.ComplaintRouted" and env.subject == "c-1" and env.source == "/haq/routing"
    routed = env.message
    assert isinstance(routed, events_pb2.ComplaintRouted)
    assert (routed.team, routed.owner, routed.priority) == (
        decision.team,
        decision.owner,
        complaint_pb2.PRIORITY_CRITICAL,
    )
    assert (routed.sector, routed.rule_set_version, list(routed.required_skills)) == (
        "healthcare",
        "builtin-2",
        ["clinical-review"],
    )


def test_full_team_goes_to_the_duty_owner_and_counts_as_queued(engine) -> None:
    router = Router(RuleSets(), default_tenant="default", fallback_directory="default")
    consumer = EventConsumer("routing-lifecycle", "routing", engine, relay=None)
    team = DIRECTORY.team("safeguarding")
    assert team is not None
    slots = sum(m.capacity for m in team.members if not m.is_lead)
    for i in range(slots + 2):
        consumer.apply(
            received(f"s-{i}", "bullying at school", complaint_pb2.SECTOR_EDUCATION), router.on_received
        )
    with Session(engine) as s:
        view = next(v for v in db.list_teams(s, "default") if v.team.id == "safeguarding")
        last = db.get_decision(s, f"s-{slots + 1}")
    assert last is not None and last.owner == team.duty_owner and last.owner_is_duty_lead
    assert view.queued == 2
    assert all(a.open_assignments == a.capacity for a in view.agents if not a.is_lead)


def test_unknown_tenant_is_served_by_the_seeded_directory(engine) -> None:
    router = Router(RuleSets(), default_tenant="default", fallback_directory="default")
    consumer = EventConsumer("routing-lifecycle", "routing", engine, relay=None)
    msg = events_pb2.ComplaintReceived(complaint=complaint_pb2.Complaint(id="x-1", tenant="acme", body="hi"))
    consumer.apply(new_event(msg, source="/test", subject="x-1"), router.on_received)
    with Session(engine) as s:
        d = db.get_decision(s, "x-1")
    assert d is not None and d.tenant == "acme" and d.team == "general-care" and d.owner


def _counts(engine, team: str) -> dict[str, int]:
    with Session(engine) as s:
        view = next(v for v in db.list_teams(s, "default") if v.team.id == team)
    return {a.id: a.open_assignments for a in view.agents}


def _apply(consumer, router, handler, message, cid: str, event_id: str) -> None:
    assert consumer.apply(
        new_event(message, source="/haq/escalation", subject=cid, event_id=event_id), handler
    )


def test_each_complaint_counts_once_against_whoever_holds_it(engine) -> None:
    """Release and move events from escalation (and our own reroutes) change counts exactly once,
    however they overlap: a reroute then escalation's OwnerReplaced for the same move; Resolved
    then Closed."""
    router = Router(RuleSets(), default_tenant="default", fallback_directory="default")
    consumer = EventConsumer("routing-lifecycle", "routing", engine, relay=None)
    consumer.apply(received("m-1", "wrong medication"), router.on_received)
    with Session(engine) as s:
        first = db.get_decision(s, "m-1").owner  # type: ignore[union-attr]
    assert _counts(engine, "clinical-governance")[first] == 1

    reroute = events_pb2.RerouteRequested(
        complaint_id="m-1", exclude_owners=[first], current_owner=first, reason="slow"
    )
    _apply(consumer, router, router.on_reroute_requested, reroute, "m-1", "rr-1")
    with Session(engine) as s:
        second = db.get_holding(s, "m-1").owner  # type: ignore[union-attr]
    assert second not in ("", first)
    replaced = events_pb2.OwnerReplaced(
        complaint_id="m-1", previous_owner=first, new_owner=second, team="clinical-governance"
    )
    _apply(consumer, router, router.on_owner_replaced, replaced, "m-1", "or-1")
    counts = _counts(engine, "clinical-governance")
    assert (counts[first], counts[second]) == (0, 1)

    moved = events_pb2.TransferAccepted(complaint_id="m-1", new_owner="elena.rossi", new_team="privacy-office",
                                        previous_owner=second, previous_team="clinical-governance")  # fmt: skip
    _apply(consumer, router, router.on_transfer_accepted, moved, "m-1", "ta-1")
    assert _counts(engine, "clinical-governance")[second] == 0
    assert _counts(engine, "privacy-office")["elena.rossi"] == 1

    _apply(
        consumer,
        router,
        router.on_resolved,
        events_pb2.Resolved(complaint_id="m-1", owner="elena.rossi"),
        "m-1",
        "rs-1",
    )
    _apply(consumer, router, router.on_closed, events_pb2.Closed(complaint_id="m-1"), "m-1", "cl-1")
    assert _counts(engine, "privacy-office")["elena.rossi"] == 0
    with Session(engine) as s:
        rows = s.exec(select(OutboxMessage)).all()
    assert [r.event_id for r in rows] == ["routed:evt-m-1", "routed:rr-1"]  # moves by others emit nothing


def test_a_declined_hand_off_gives_the_proposed_owners_slot_back(engine) -> None:
    """A triage correction holds routing's new owner in the new team at once; when that transfer
    is declined, the complaint counts against the owner who kept it, not the proposed one. An
    ordinary declined transfer (routing held nobody else) changes nothing."""
    router = Router(RuleSets(), default_tenant="default", fallback_directory="default")
    consumer = EventConsumer("routing-lifecycle", "routing", engine, relay=None)
    consumer.apply(received("d-1", "wrong medication"), router.on_received)
    with Session(engine) as s:
        kept = db.get_holding(s, "d-1").owner  # type: ignore[union-attr]
    declined = events_pb2.TransferDeclined(complaint_id="d-1", transfer_id="d-1-t1", owner=kept)
    _apply(consumer, router, router.on_transfer_declined, declined, "d-1", "td-0")
    assert _counts(engine, "clinical-governance")[kept] == 1  # nothing to give back

    with Session(engine) as s:  # what a correction does: hold the new team's owner at once
        db.hold(s, "default", "d-1", "privacy-office", "elena.rossi", queued=False)
        s.commit()
    assert _counts(engine, "clinical-governance")[kept] == 0
    assert _counts(engine, "privacy-office")["elena.rossi"] == 1
    declined = events_pb2.TransferDeclined(complaint_id="d-1", transfer_id="d-1-t2", owner=kept)
    _apply(consumer, router, router.on_transfer_declined, declined, "d-1", "td-1")
    assert _counts(engine, "privacy-office")["elena.rossi"] == 0
    assert _counts(engine, "clinical-governance")[kept] == 1
    with Session(engine) as s:
        holding = db.get_holding(s, "d-1")
        assert holding is not None and (holding.team, holding.owner) == ("clinical-governance", kept)


def test_a_freed_slot_assigns_the_oldest_queued_complaint(engine) -> None:
    router = Router(RuleSets(), default_tenant="default", fallback_directory="default")
    consumer = EventConsumer("routing-lifecycle", "routing", engine, relay=None)
    team = DIRECTORY.team("safeguarding")
    assert team is not None
    slots = sum(m.capacity for m in team.members if not m.is_lead)
    ids = [f"q-{i}" for i in range(slots + 2)]
    for cid in ids:
        consumer.apply(
            received(cid, "bullying at school", complaint_pb2.SECTOR_EDUCATION), router.on_received
        )
    queued = ids[slots:]
    _apply(consumer, router, router.on_resolved, events_pb2.Resolved(complaint_id=ids[0]), ids[0], "rs-q0")
    with Session(engine) as s:
        assert db.get_holding(s, queued[0]).queued is False  # type: ignore[union-attr]
        assert db.get_holding(s, queued[1]).queued is True  # type: ignore[union-attr]
        events = [r for r in s.exec(select(OutboxMessage)).all() if r.event_id.startswith("routed:rs-q0")]
    assert [e.event_id for e in events] == [f"routed:rs-q0:{queued[0]}"]
    env = decode(
        events[0].key, events[0].value, [(k, v.encode()) for k, v in json.loads(events[0].headers_json)]
    )
    msg = env.message
    assert isinstance(msg, events_pb2.ComplaintRouted)
    assert (msg.reassignment, msg.previous_owner, msg.owner_is_duty_lead) == (True, team.duty_owner, False)
    assert msg.rule_id == "education-safeguarding" and msg.priority == complaint_pb2.PRIORITY_CRITICAL
