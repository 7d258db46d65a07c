"""After a restart, escalation reads what waited on the lifecycle topic before it fires deadlines:
an acknowledgement sent while it was down stops the clock, and no false breach follows."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.common.codec import new_event
from services.common.pb.haq.v1 import complaint_pb2, events_pb2
from services.escalation.adapters.events import from_timestamp
from tests.integration.test_escalation_service import (
    acknowledged,
    escalation_events,
    has,
    produce,
    received,
    routed,
)

pytestmark = pytest.mark.integration


def queued_ahead(cid: str, n: int):
    """Another complaint routed while escalation was down, on the same partition as `cid` (same
    key): real work queued ahead of the acknowledgement."""
    msg = events_pb2.ComplaintRouted(
        complaint_id=f"{cid}-ahead-{n}", team="billing", owner="agent-8", sla_policy="default"
    )
    return new_event(msg, source="/haq/routing", subject=cid)


def test_no_false_breach_for_a_clock_stopped_while_escalation_was_down(settings, start_service):
    service = start_service("escalation")
    cid = str(uuid.uuid4())
    received_at = datetime.now(UTC) - timedelta(seconds=48)  # acknowledgement due in 12 s
    produce(settings, received(cid, received_at), routed(cid, complaint_pb2.PRIORITY_HIGH))
    started = escalation_events(settings, cid, has("SlaClocksStarted"))
    clocks = next(e for e in started if e.name == "SlaClocksStarted").message.clocks
    due = from_timestamp(next(c for c in clocks if c.name == "acknowledgement").due_at)
    service.stop()

    # While escalation is down the customer is acknowledged in time (behind other traffic), and
    # the deadline passes.
    produce(
        settings,
        *(queued_ahead(cid, n) for n in range(1500)),
        acknowledged(cid, received_at + timedelta(seconds=5)),
    )
    while datetime.now(UTC) < due + timedelta(seconds=1):
        time.sleep(0.2)

    service.start()
    events = escalation_events(settings, cid, has("SlaClockStopped"))
    stopped = next(e for e in events if e.name == "SlaClockStopped").message.clock
    assert (stopped.name, stopped.state) == ("acknowledgement", "met")
    assert from_timestamp(stopped.stopped_at) == received_at + timedelta(seconds=5)
    # Later traffic has been handled and fired: a false breach would be on the topic by now.
    later = str(uuid.uuid4())
    produce(
        settings,
        received(later, datetime.now(UTC) - timedelta(minutes=5)),
        routed(later, complaint_pb2.PRIORITY_HIGH),
    )
    escalation_events(settings, later, has("SlaBreached"))
    events = escalation_events(settings, cid, lambda _e: False, timeout=2)
    assert [e.name for e in events if e.name in ("SlaBreached", "Escalated")] == []
