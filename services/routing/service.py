"""Routing's service layer: turn a received complaint into a stored decision and a
`ComplaintRouted` event, in the consumer's one transaction."""

from __future__ import annotations

import logging

from google.protobuf.internal.enum_type_wrapper import EnumTypeWrapper
from prometheus_client import Counter
from sqlmodel import Session

from services.common import topics
from services.common.codec import Envelope, new_event
from services.common.outbox import stage
from services.common.pb.haq.v1 import complaint_pb2, events_pb2

from .adapters import db
from .domain.model import Decision, RoutingInput
from .domain.routing import decide
from .domain.rules import RuleSet

SVC = "routing"
SOURCE = "/haq/routing"
log = logging.getLogger(__name__)

DECISIONS = Counter(
    "haq_routing_decisions_total", "Complaints routed", ["team", "rule_id", "owner_is_duty_lead"]
)


def enum_name(enum: EnumTypeWrapper, value: int, prefix: str) -> str:
    """`SECTOR_HEALTHCARE` -> "healthcare"; unspecified or unknown numbers -> ""."""
    try:
        name = enum.Name(value)
    except ValueError:
        return ""
    short = name.removeprefix(prefix).lower()
    return "" if short == "unspecified" else short


def routing_input(received: events_pb2.ComplaintReceived, tenant: str) -> RoutingInput:
    c = received.complaint
    return RoutingInput(
        complaint_id=c.id,
        tenant=tenant,
        sector=enum_name(complaint_pb2.Sector, c.sector, "SECTOR_"),
        complainant_role=enum_name(complaint_pb2.ComplainantRole, c.complainant_role, "COMPLAINANT_ROLE_"),
        channel=enum_name(complaint_pb2.Channel, c.channel, "CHANNEL_"),
        language=c.language,
        subject=c.subject,
        body=c.body,
        category=c.category,
        previous_owners=tuple(o for o in received.history.previous_owners if o),
    )


def priority_value(priority: str) -> int:
    return complaint_pb2.Priority.Value(f"PRIORITY_{priority.upper()}")


def routed_message(decision: Decision) -> events_pb2.ComplaintRouted:
    return events_pb2.ComplaintRouted(
        complaint_id=decision.complaint_id,
        team=decision.team,
        owner=decision.owner,
        owner_is_duty_lead=decision.owner_is_duty_lead,
        priority=priority_value(decision.priority),
        sla_policy=decision.sla_policy,
        rule_id=decision.rule_id,
        rule_set_version=decision.rule_set_version,
        explanation=decision.explanation,
        tags=list(decision.tags),
        keep_informed=list(decision.keep_informed),
        required_skills=list(decision.required_skills),
        sector=decision.sector,
    )


class Router:
    def __init__(self, rule_set: RuleSet, default_tenant: str, fallback_directory: str):
        self.rule_set = rule_set
        self.default_tenant = default_tenant
        self.fallback_directory = fallback_directory  # the seeded tenant

    def on_received(self, session: Session, envelope: Envelope) -> None:
        received = envelope.message
        assert isinstance(received, events_pb2.ComplaintReceived)
        complaint_id = received.complaint.id
        if not complaint_id:
            raise ValueError("ComplaintReceived has no complaint.id")
        if db.get_decision(session, complaint_id) is not None:
            # Routed already under another event id (e.g. re-emitted by intake): one decision per complaint.
            log.info("complaint %s already routed; %s ignored", complaint_id, envelope.id)
            return
        tenant = received.complaint.tenant or self.default_tenant
        # A tenant without its own directory is served by the default one rather than left unowned.
        directory_tenant = tenant if db.has_directory(session, tenant) else self.fallback_directory
        directory, loads = db.load_directory(session, directory_tenant, lock=True)
        decision = decide(self.rule_set, directory, loads, routing_input(received, tenant))
        db.record_assignment(session, directory_tenant, decision.owner)
        db.save_decision(session, decision, envelope.id)
        routed = new_event(
            routed_message(decision),
            source=SOURCE,
            subject=complaint_id,
            event_id=f"routed:{envelope.id}",  # a redelivered trigger can never mint a second event
        )
        stage(session, routed, topics.LIFECYCLE_TOPIC)
        DECISIONS.labels(decision.team, decision.rule_id, str(decision.owner_is_duty_lead).lower()).inc()
        log.info(
            "routed %s to %s owner=%s rule=%s priority=%s duty_lead=%s",
            complaint_id,
            decision.team,
            decision.owner,
            decision.rule_id,
            decision.priority,
            decision.owner_is_duty_lead,
        )
