"""The event codec: what any bytes on a topic decode to. A record that is not a Haq event is an
EventDecodeError with a reason (which a consumer dead-letters), never another exception (which
crashed agents and the dashboard feed, again and again on the same record)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.common.codec import EventDecodeError, decode, encode, new_event
from services.common.pb.haq.v1 import events_pb2


def _valid_record():
    env = new_event(
        events_pb2.CustomerFollowedUp(complaint_id="c-1", body="any news?"),
        source="/haq/intake",
        subject="c-1",
        event_id="e-1",
    )
    return encode(env)


def test_a_valid_event_round_trips():
    record = _valid_record()
    env = decode(record.key, record.value, record.headers)
    assert (env.id, env.name, env.subject, env.message.body) == (
        "e-1",
        "CustomerFollowedUp",
        "c-1",
        "any news?",
    )


def test_the_key_gives_the_subject_when_the_header_is_absent():
    record = _valid_record()
    headers = [(k, v) for k, v in record.headers if k != "ce_subject"]
    assert decode(b"c-1", record.value, headers).subject == "c-1"


def test_a_non_utf8_key_is_a_decode_error_naming_the_key():
    record = _valid_record()
    headers = [(k, v) for k, v in record.headers if k != "ce_subject"]
    with pytest.raises(EventDecodeError, match="record key is not UTF-8"):
        decode(b"\xff\xfe", record.value, headers)
    with pytest.raises(EventDecodeError, match="record key is not UTF-8"):
        decode(b"\xff\xfe", record.value, record.headers)  # even when ce_subject would do


@pytest.mark.parametrize(
    "headers, reason",
    [
        ([(b"\xff\xfe", b"x"), ("ce_id", b"1"), ("ce_type", b"haq.v1.X")], "name of header 0 is not UTF-8"),
        ([("ce_id", b"\xff"), ("ce_type", b"haq.v1.CustomerFollowedUp")], "header 'ce_id' is not UTF-8"),
        ([("ce_id", b"1"), ("ce_type", b"haq.v1.CustomerFollowedUp"), ("ce_time", b"\xc3")], "ce_time"),
        ([("ce_id", b"1"), ("ce_type", b"google.protobuf.Timestamp"), ("ce_source", b"/x")], "unknown"),
        ([("ce_id", b"1"), ("ce_type", b"haq.v1.CustomerFollowedUp"), ("ce_time", b"soon")], "invalid"),
        ([("ce_id", b"1"), ("ce_type", b"haq.v1.Nope"), ("ce_source", b"/x")], "unknown event type"),
        ([("ce_type", b"haq.v1.CustomerFollowedUp")], "missing CloudEvents headers"),
        ([b"not-a-pair"], "not a (name, value) pair"),
    ],
)
def test_bad_headers_are_decode_errors_with_a_reason(headers, reason):
    with pytest.raises(EventDecodeError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        decode(b"k", b"", headers)


def test_headers_outside_cloudevents_may_hold_any_bytes():
    record = _valid_record()
    env = decode(record.key, record.value, [*record.headers, ("x-trace-bin", b"\xff\x00\xfe")])
    assert env.id == "e-1"


_bytes = st.binary(max_size=64)
_names = st.one_of(
    st.sampled_from(
        ["ce_id", "ce_type", "ce_source", "ce_time", "ce_subject", "ce_specversion", "content-type"]
    ),
    st.text(max_size=12),
    _bytes,
)
_values = st.one_of(
    _bytes,
    st.sampled_from(
        [b"haq.v1.CustomerFollowedUp", b"haq.v1.ComplaintReceived", b"1.0", b"0.3", b"2025-03-01T09:00:00Z"]
    ),
    st.text(max_size=12),
    st.none(),
)
_headers = st.one_of(
    st.lists(st.tuples(_names, _values), max_size=8),
    st.dictionaries(_names, _values, max_size=8),
    st.none(),
)


@given(key=st.one_of(st.none(), _bytes), value=st.one_of(st.none(), _bytes), headers=_headers)
def test_any_bytes_decode_to_an_event_or_raise_only_event_decode_error(key, value, headers):
    try:
        env = decode(key, value, headers)
    except EventDecodeError as exc:
        assert str(exc)  # always a reason
    else:
        assert env.type.startswith("haq.") and isinstance(env.subject, str)


@given(key=_bytes, value=_bytes, extra=st.lists(st.tuples(_names, _values), max_size=4))
def test_any_bytes_beside_valid_cloudevents_headers_never_raise_anything_else(key, value, extra):
    record = _valid_record()
    with contextlib.suppress(EventDecodeError):
        decode(key, value, [*record.headers, *extra])
