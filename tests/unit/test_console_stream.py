"""Reading records for haq watch and the dashboard: a record that is not an event becomes an
error record with the reason, whatever its bytes; the reader never raises on it."""

from __future__ import annotations

from kafka.consumer.fetcher import ConsumerRecord

from services.common.codec import encode, new_event
from services.common.pb.haq.v1 import events_pb2
from services.common.tail import read_record


def record(key, value, headers, offset=7) -> ConsumerRecord:
    return ConsumerRecord("t", 0, -1, offset, 0, 0, key, value, headers, None, -1, -1, -1)


def test_a_valid_record_reads_as_its_envelope():
    rec = encode(new_event(events_pb2.CustomerFollowedUp(complaint_id="c"), source="/t", subject="c"))
    tailed = read_record("t", 0, record(rec.key, rec.value, rec.headers))
    assert tailed.error is None and tailed.envelope is not None and tailed.envelope.subject == "c"


def test_a_non_utf8_key_or_garbage_headers_read_as_an_error_record():
    rec = encode(new_event(events_pb2.CustomerFollowedUp(complaint_id="c"), source="/t", subject="c"))
    headers = [(k, v) for k, v in rec.headers if k != "ce_subject"]
    for key, value, hdrs in [
        (b"\xff\xfe", rec.value, headers),
        (b"\xff\xfe", b"\xff\x00", [("ce_type", b"haq.v1.X"), ("ce_id", b"\xff"), ("x", b"\xfe")]),
        (None, None, None),
    ]:
        tailed = read_record("t", 3, record(key, value, hdrs, offset=9))
        assert tailed.envelope is None and tailed.error
        assert (tailed.topic, tailed.partition, tailed.offset) == ("t", 3, 9)
        assert tailed.raw_value == (value or b"")
