"""Records that are not events on the real lifecycle topic: a non-UTF-8 key and binary garbage in
the headers. A running service dead-letters each once, with the reason, and handles the next event;
the tail (haq watch, tests) and the dashboard feed report each once and read on."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from kafka import KafkaProducer

from services.common import topics
from services.common.codec import Envelope, encode, new_event
from services.common.pb.haq.v1 import complaint_pb2, events_pb2
from services.common.settings import Settings
from services.common.tail import collect
from services.console.dashboard.feed import LifecycleFeed
from services.console.stream import follow

pytestmark = pytest.mark.integration

BAD_KEY = b"\xff\xfe"
GARBAGE = b"\xff\x00\xfe\xc3\x28\x80"


def received(cid: str) -> Envelope:
    msg = events_pb2.ComplaintReceived(
        complaint=complaint_pb2.Complaint(
            id=cid,
            reference="HQ-TEST-01",
            tenant="default",
            channel=complaint_pb2.CHANNEL_WEB,
            sector=complaint_pb2.SECTOR_GENERAL,
            complainant_role=complaint_pb2.COMPLAINANT_ROLE_CONSUMER,
            body="The parcel arrived broken.",
        )
    )
    return new_event(msg, source="/haq/intake", subject=cid, event_id=f"evt-{cid}")


def poison_then_valid(settings: Settings, cid: str) -> None:
    """Two records that are not events, then a valid ComplaintReceived, on one partition."""
    valid = encode(received(cid))
    partition = 0
    # A well-formed event but for its key (the subject would come from the key: this one crashed
    # consumers and the dashboard); then one whose headers themselves are binary garbage.
    key_only = [(k, v) for k, v in valid.headers if k != "ce_subject"]
    garbage = [
        ("ce_type", b"haq.v1.ComplaintReceived"),
        ("ce_id", GARBAGE),
        ("ce_source", b"\x80\x81"),
        ("ce_specversion", b"1.0"),
        ("x-garbage", GARBAGE),
    ]
    producer = KafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap, acks="all", max_in_flight_requests_per_connection=1
    )
    try:
        for key, value, headers in (
            (BAD_KEY, valid.value, key_only),
            (BAD_KEY, GARBAGE, garbage),
            (valid.key, valid.value, valid.headers),
        ):
            producer.send(
                topics.LIFECYCLE_TOPIC, key=key, value=value, headers=headers, partition=partition
            ).get(30)
    finally:
        producer.close()


def test_a_running_service_dead_letters_undecodable_records_and_handles_the_next_event(
    settings: Settings, start_service
) -> None:
    start_service("routing")
    cid = str(uuid.uuid4())
    poison_then_valid(settings, cid)

    def routed(records):
        return [
            r
            for r in records
            if r.envelope is not None
            and r.envelope.type == "haq.v1.ComplaintRouted"
            and r.envelope.subject == cid
        ]

    lifecycle = collect(settings, topics.LIFECYCLE_TOPIC, until=lambda rs: bool(routed(rs)), timeout=60)
    assert len(routed(lifecycle)) == 1, "the event after the bad records was not routed"
    errors = [r for r in lifecycle if r.envelope is None]
    assert len(errors) == 2 and all("not UTF-8" in (r.error or "") for r in errors)

    letters = collect(
        settings,
        topics.DEAD_LETTER_TOPIC,
        until=lambda rs: sum(1 for r in rs if r.envelope and r.envelope.message.service == "routing") >= 2,
        timeout=30,
    )
    mine = sorted(
        (r.envelope.message for r in letters if r.envelope and r.envelope.message.service == "routing"),
        key=lambda m: m.offset,
    )
    assert [(m.source_topic, m.offset) for m in mine] == [
        (topics.LIFECYCLE_TOPIC, 0),
        (topics.LIFECYCLE_TOPIC, 1),
    ]
    assert "record key is not UTF-8" in mine[0].reason
    assert "header 'ce_id' is not UTF-8" in mine[1].reason
    assert mine[1].original_value == GARBAGE
    assert "x-garbage" in mine[1].original_headers


def test_tail_and_dashboard_feed_report_an_undecodable_record_once_and_read_on(settings: Settings) -> None:
    cid = str(uuid.uuid4())
    poison_then_valid(settings, cid)

    records = collect(
        settings, topics.LIFECYCLE_TOPIC, until=lambda rs: any(r.envelope for r in rs), timeout=30
    )
    assert [(r.offset, r.envelope is None) for r in records] == [(0, True), (1, True), (2, False)]
    assert "record key is not UTF-8" in (records[0].error or "")

    done: list[bool] = []
    deadline = time.monotonic() + 30
    seen = []
    for record, live in follow(
        settings, topics.LIFECYCLE_TOPIC, stop=lambda: bool(done) or time.monotonic() > deadline
    ):
        seen.append((record.offset, record.envelope is None, live))
        if record.envelope is not None:
            done.append(True)
    assert seen == [(0, True, False), (1, True, False), (2, False, False)]

    loop = asyncio.new_event_loop()
    feed = LifecycleFeed(settings)
    feed.start(loop)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if feed.caught_up.is_set() and feed.read(lambda s: s.events_by_type["ComplaintReceived"]):
                break
            time.sleep(0.1)
        assert feed.read(lambda s: s.events_by_type["ComplaintReceived"]) == 1
        assert feed.error is None and feed.skipped == 2
        assert feed.snapshot()["feed"]["skipped"] == 2
    finally:
        feed.stop()
        loop.close()
