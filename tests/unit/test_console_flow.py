"""The in-memory aggregation behind the dashboard and `haq watch --summary`, the watch filters,
consumer-lag arithmetic and the summary's rendering: pure code fed with hand-made events."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from kafka import TopicPartition
from rich.console import Console

from services.common.codec import Envelope, new_event
from services.common.lag import LagRow, lag_rows
from services.common.pb.haq.v1 import complaint_pb2 as c
from services.common.pb.haq.v1 import events_pb2 as e
from services.console.dashboard.app import format_duration, sse_message, text_direction
from services.console.filters import WatchFilter
from services.console.flow import FlowState, choose_bucket
from services.console.summary import render_summary

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def ev(message, cid: str, minutes: float, event_id: str | None = None) -> Envelope:
    return new_event(message, source="/test", subject=cid, event_id=event_id, time=at(minutes))


def clock(
    name: str, start: float, due: float, state: str = "running", stopped: float | None = None
) -> e.SlaClock:
    msg = e.SlaClock(name=name, state=state)
    msg.started_at.FromDatetime(at(start))
    msg.due_at.FromDatetime(at(due))
    if stopped is not None:
        msg.stopped_at.FromDatetime(at(stopped))
    return msg


def received(
    cid: str, ref: str, sector=c.SECTOR_HEALTHCARE, channel=c.CHANNEL_EMAIL, minutes: float = 0
) -> Envelope:
    complaint = c.Complaint(id=cid, reference=ref, sector=sector, channel=channel, language="fa")
    complaint.received_at.FromDatetime(at(minutes))
    return ev(e.ComplaintReceived(complaint=complaint), cid, minutes)


def routed(cid: str, team: str, owner: str, priority=c.PRIORITY_HIGH, minutes: float = 0.1) -> Envelope:
    return ev(e.ComplaintRouted(complaint_id=cid, team=team, owner=owner, priority=priority), cid, minutes)


def test_stages_follow_each_complaint_and_redelivered_events_count_once():
    state = FlowState()
    for env in (
        received("a", "HQ-A"),
        routed("a", "patient-experience", "ali"),
        received("b", "HQ-B", sector=c.SECTOR_B2B, channel=c.CHANNEL_CHAT),
        ev(e.OwnerAccepted(complaint_id="a", owner="ali", team="patient-experience"), "a", 1),
        received("c", "HQ-C"),
        routed("c", "contracts", "tara"),
        ev(e.Escalated(complaint_id="c", level="team_lead", step=1), "c", 2),
        ev(e.Resolved(complaint_id="c", owner="tara", team="contracts"), "c", 3),
    ):
        assert state.apply(env) is not None
    first_b = state.recent[2]
    redelivered = replace(received("b", "HQ-B", sector=c.SECTOR_B2B), id=first_b.event_id)
    assert state.apply(redelivered) is None

    assert state.stage_counts() == {"received": 1, "routed": 0, "accepted": 1, "escalated": 0, "resolved": 1}
    assert dict(state.received_by_sector) == {"healthcare": 2, "b2b": 1}
    assert dict(state.received_by_channel) == {"email": 2, "chat": 1}
    assert state.open_by_team() == {"patient-experience": 1}
    # later rows carry what earlier events said: a Resolved event names no sector or reference
    last = state.recent[-1]
    assert (last.stage, last.reference, last.sector, last.priority) == (
        "resolved",
        "HQ-C",
        "healthcare",
        "high",
    )


def test_at_risk_and_breached_lists_with_the_clock_of_each():
    state = FlowState()
    started = e.SlaClocksStarted(
        complaint_id="a",
        clocks=[
            clock("first_response", 0, 100),
            clock("resolution", 0, 1000),
            clock("acknowledgement", 0, 10),
        ],
    )
    for env in (received("a", "HQ-A"), routed("a", "team-a", "ali"), ev(started, "a", 0.2)):
        state.apply(env)

    now = at(80)  # 80% of first_response used; acknowledgement overdue without a breach event yet
    risk = state.at_risk(now)
    assert [(v.reference, v.clock, v.team, v.owner) for v in risk] == [
        ("HQ-A", "first_response", "team-a", "ali")
    ]
    assert risk[0].remaining_s == pytest.approx(20 * 60)
    assert risk[0].share_elapsed == pytest.approx(0.8)
    assert [v.clock for v in state.breached(now)] == ["acknowledgement"]
    assert state.breached(now)[0].remaining_s == pytest.approx(-70 * 60)

    # escalation's warning puts a clock at risk before the share says so
    state.apply(
        ev(e.SlaWarning(complaint_id="a", clock=clock("resolution", 0, 1000), share_elapsed=0.5), "a", 81)
    )
    assert {v.clock for v in state.at_risk(now)} == {"first_response", "resolution"}

    # a met clock leaves the lists and counts towards compliance; a resolved complaint leaves them all
    state.apply(
        ev(e.SlaClockStopped(complaint_id="a", clock=clock("first_response", 0, 100, "met", 90)), "a", 90)
    )
    assert {v.clock for v in state.at_risk(now)} == {"resolution"}
    state.apply(ev(e.Resolved(complaint_id="a", owner="ali", team="team-a"), "a", 95))
    assert state.at_risk(now) == [] and state.breached(now) == []


def test_paused_clocks_are_neither_at_risk_nor_breached():
    state = FlowState()
    state.apply(received("a", "HQ-A"))
    state.apply(ev(e.SlaClocksStarted(complaint_id="a", clocks=[clock("resolution", 0, 10)]), "a", 0))
    state.apply(
        ev(e.SlaClocksPaused(complaint_id="a", clocks=[clock("resolution", 0, 10, "paused")]), "a", 5)
    )
    assert state.at_risk(at(9)) == [] and state.breached(at(20)) == []
    state.apply(ev(e.SlaClocksResumed(complaint_id="a", clocks=[clock("resolution", 0, 30)]), "a", 25))
    assert [v.clock for v in state.at_risk(at(28))] == ["resolution"]


def test_first_response_histogram_and_compliance_over_time():
    state = FlowState()
    for i, minutes in enumerate((3, 10, 90)):
        cid = f"c{i}"
        state.apply(received(cid, f"HQ-{i}"))
        responded = e.AgentResponded(complaint_id=cid, agent="ali")
        responded.responded_at.FromDatetime(at(minutes))
        state.apply(ev(responded, cid, minutes))
        state.apply(ev(e.AgentResponded(complaint_id=cid, agent="ali"), cid, minutes + 60))  # not the first
    histogram = state.first_response_histogram()
    assert histogram["counts"] == [1, 1, 0, 1, 0, 0]
    assert histogram["median_s"] == 600 and histogram["samples"] == 3

    state.apply(
        ev(e.SlaClockStopped(complaint_id="c0", clock=clock("acknowledgement", 0, 5, "met", 2)), "c0", 2)
    )
    breach = e.SlaBreached(complaint_id="c1", clock=clock("acknowledgement", 0, 5, "breached"))
    state.apply(ev(breach, "c1", 5))
    # the same breach later stopped as breached is one outcome, not two
    state.apply(
        ev(
            e.SlaClockStopped(complaint_id="c1", clock=clock("acknowledgement", 0, 5, "breached", 12)),
            "c1",
            12,
        )
    )
    series = state.compliance_series()
    assert series["bucket_s"] == 60
    assert sum(series["met"]) == 1 and sum(series["breached"]) == 1
    assert series["compliance"][0] == 100.0 and series["compliance"][-1] == 0.0
    assert series["labels"][0] == "2025-03-01T09:02:00Z"


def test_choose_bucket_keeps_charts_short():
    assert choose_bucket(timedelta(minutes=10)) == 60
    assert choose_bucket(timedelta(hours=1)) == 300
    assert choose_bucket(timedelta(days=2)) == 6 * 3600
    assert choose_bucket(timedelta(days=400)) == 7 * 86400


def test_watch_filters_use_facts_from_earlier_events():
    state = FlowState()
    for env in (
        received("a", "HQ-A", sector=c.SECTOR_HEALTHCARE),
        routed("a", "patient-experience", "ali", priority=c.PRIORITY_HIGH),
        received("b", "HQ-B", sector=c.SECTOR_B2B),
        routed("b", "contracts", "tara", priority=c.PRIORITY_NORMAL),
    ):
        state.apply(env)
    breach_a = ev(e.SlaBreached(complaint_id="a", clock=clock("acknowledgement", 0, 1, "breached")), "a", 2)
    breach_b = ev(e.SlaBreached(complaint_id="b", clock=clock("acknowledgement", 0, 1, "breached")), "b", 2)
    for env in (breach_a, breach_b):
        state.apply(env)

    def passing(flt: WatchFilter) -> list[str]:
        return [env.subject for env in (breach_a, breach_b) if flt.matches(env, state.facts.get(env.subject))]

    assert passing(WatchFilter.parse(sectors=["Healthcare"])) == ["a"]
    assert passing(WatchFilter.parse(teams=["CONTRACTS"])) == ["b"]
    assert passing(WatchFilter.parse(priorities=["high", "critical"])) == ["a"]
    assert passing(WatchFilter.parse(types=["haq.v1.SlaBreached"], sectors=["b2b"])) == ["b"]
    assert passing(WatchFilter.parse(types=["ComplaintRouted"])) == []
    assert passing(WatchFilter()) == ["a", "b"]
    # an event of a complaint whose facts were never seen cannot match a fact filter
    assert not WatchFilter.parse(sectors=["b2b"]).matches(breach_b, None)
    assert not WatchFilter.parse(types=["SlaBreached"]).matches(None, None)
    with pytest.raises(ValueError, match="--priority"):
        WatchFilter.parse(priorities=["urgent"])


def test_lag_rows_against_end_offsets():
    lifecycle = "haq.complaints.lifecycle.v1"
    committed = {
        TopicPartition(lifecycle, 1): 7,
        TopicPartition(lifecycle, 0): None,
        TopicPartition(lifecycle, 2): 9,
    }
    ends = {
        TopicPartition(lifecycle, 0): 4,
        TopicPartition(lifecycle, 1): 10,
        TopicPartition(lifecycle, 2): 9,
    }
    rows = lag_rows("haq-routing", committed, ends)
    assert [(r.partition, r.committed, r.end, r.lag) for r in rows] == [
        (0, None, 4, 4),
        (1, 7, 10, 3),
        (2, 9, 9, 0),
    ]


def test_summary_renders_stages_clocks_and_lag_for_the_filtered_complaints():
    state = FlowState()
    for env in (
        received("a", "HQ-AAAA-11", sector=c.SECTOR_HEALTHCARE),
        routed("a", "patient-experience", "ali"),
        received("b", "HQ-BBBB-22", sector=c.SECTOR_B2B),
        routed("b", "contracts", "tara"),
        ev(e.SlaClocksStarted(complaint_id="a", clocks=[clock("first_response", 0, 10)]), "a", 0.2),
        ev(e.SlaClocksStarted(complaint_id="b", clocks=[clock("first_response", 0, 10)]), "b", 0.2),
    ):
        state.apply(env)
    lag = [LagRow("haq-routing", "haq.complaints.lifecycle.v1", 3, 5, 12, 7)]
    console = Console(record=True, width=140)
    console.print(
        render_summary(
            state,
            at(15),
            lag,
            wanted=WatchFilter.parse(sectors=["healthcare"]),
            groups=["haq-routing", "haq-intake"],
        )
    )
    text = console.export_text()
    assert "HQ-AAAA-11" in text and "HQ-BBBB-22" not in text  # only healthcare counts
    assert "Breached (1)" in text and "5m 00s overdue" in text
    assert "only sector healthcare" in text
    assert "haq-routing" in text and " 7 " in text.split("Consumer lag", 1)[1]
    assert "haq-intake" in text and "no committed offsets yet" in text


def test_dashboard_helpers():
    assert text_direction("fa") == "rtl" and text_direction("fa-IR") == "rtl"
    assert text_direction("en") == "auto" and text_direction("") == "auto"
    assert (
        format_duration(3725) == "1h 02m"
        and format_duration(-65) == "1m 05s"
        and format_duration(None) == "-"
    )
    state = FlowState()
    row = state.apply(received("a", "HQ-A"))
    assert row is not None
    message = sse_message(row).decode()
    assert message.startswith(f"id: {row.seq}\nevent: flow\ndata: ") and message.endswith("\n\n")
    assert '"reference": "HQ-A"' in message and '"stage": "received"' in message
