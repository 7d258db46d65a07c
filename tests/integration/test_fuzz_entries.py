"""Fuzzing every entry of the running platform (issue #10) with Hypothesis: gRPC drafts, HTTP
CloudEvents (binary and structured), raw integration records and agent actions.

The whole platform runs as `make run` starts it (broker, SMTP sink, the four services, auth on);
one platform serves the module. Inputs come from tests/fuzz_strategies.py, built from
docs/limits.md. For every answer: a refusal carries a reason naming what was wrong (gRPC
INVALID_ARGUMENT/FAILED_PRECONDITION/NOT_FOUND/PERMISSION_DENIED with details, HTTP 4xx with a body,
a dead letter with its reason), never UNKNOWN/INTERNAL, a 5xx, a swallowed record or a stuck
consumer. Valid complaints are sent between the hostile ones; each test ends by checking, on the
lifecycle topic, that every one of them was owned and acknowledged, and that every service still
answers SERVING.

Examples are derandomized (the same inputs on every run) and bounded, so the module runs in a few
minutes on a busy two-core machine.
"""

from __future__ import annotations

import http.client
import json
import re
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import grpc
import pytest
from confluent_kafka import Producer
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from services.common import topics
from services.common.auth import authorized_channel, mint_token
from services.common.pb.haq.v1 import complaint_pb2 as c
from services.common.pb.haq.v1 import escalation_pb2, escalation_pb2_grpc, intake_pb2, intake_pb2_grpc
from services.common.tail import TailedRecord, collect
from services.intake.adapters.mapping import draft_from_json
from services.intake.domain.draft import validate
from services.intake.entrypoints import cloudevents_in
from tests import fuzz_strategies as fz
from tests.e2e.test_platform import Platform

pytestmark = pytest.mark.integration

SECRET = "fuzz-test-secret-0123456789-abcdefghijklmnop"
TENANT = "default"
INTEGRATION = mint_token(SECRET, "fuzzer", TENANT, ["integration"])
ADMIN = mint_token(SECRET, "fuzz-admin", TENANT, ["admin"])

FUZZ = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
# gRPC codes that are answers; anything else (UNKNOWN, INTERNAL, UNAVAILABLE, DEADLINE_EXCEEDED...)
# is a crash, a hang or a dead service.
REFUSALS = {
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.PERMISSION_DENIED,
    grpc.StatusCode.ALREADY_EXISTS,
}
# grpcio's own refusal of a request over its 4 MiB receive limit, before any handler runs.
TOO_LARGE = re.compile(r"Received message larger than max \(\d+ vs\. \d+\)")
# `field: problem`, the field a name, a dotted path or an indexed/keyed element of one.
FIELD_REASON = re.compile(r"^[A-Za-z_][\w.\[\]'\"-]*(?:\[[^\]]*\])?[\w.]*: \S")
# A refusal quotes a field's name and limit, never the oversized input back (docs/limits.md).
MAX_DETAILS = 4096
SERVICES = ("intake", "routing", "escalation", "notifications")


class Running:
    def __init__(self, platform: Platform):
        self.platform = platform
        self.settings = platform.settings
        target = platform.settings.grpc_target
        self.intake = intake_pb2_grpc.IntakeServiceStub(authorized_channel(target("intake"), INTEGRATION))
        self.cases = escalation_pb2_grpc.CaseServiceStub(authorized_channel(target("escalation"), ADMIN))
        self.sla = escalation_pb2_grpc.SlaServiceStub(authorized_channel(target("escalation"), ADMIN))
        self.url_host = platform.settings.http_host
        self.url_port = platform.settings.intake_http_port


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    platform = Platform(tmp_path_factory.mktemp("fuzz"), auth_secret=SECRET)
    try:
        platform.wait_ready()
        yield Running(platform)
    finally:
        platform.stop()


# ---- valid complaints, sent between the hostile ones ---------------------------------------------
def valid_email(tag: str) -> str:
    return f"fuzz-{tag}-{uuid.uuid4().hex[:10]}@example.com"


def valid_draft(email: str) -> c.ComplaintDraft:
    return c.ComplaintDraft(
        channel=c.CHANNEL_WEB,
        customer=c.CustomerIdentifiers(email=email),
        subject="Broken kettle",
        body="The kettle I bought stopped working after two days.",
    )


def valid_data(email: str) -> dict[str, Any]:
    return {
        "channel": "email",
        "customer": {"email": email},
        "subject": "Refund",
        "body": "I was charged twice for one order.",
    }


def submit_valid(run: Running, sent: list[str], tag: str) -> None:
    email = valid_email(tag)
    resp = run.intake.SubmitComplaint(intake_pb2.SubmitComplaintRequest(draft=valid_draft(email)), timeout=30)
    assert resp.complaint_id and not resp.duplicate
    sent.append(email)


def assert_all_owned_and_acknowledged(run: Running, emails: list[str], timeout: float = 120) -> None:
    """Tail the lifecycle topic (as tests/bench/bench_storm.py does): every valid complaint has an
    owner (OwnerAssigned) and its customer's acknowledgement was sent (NotificationSent)."""
    wanted = {e.lower() for e in emails}
    assert wanted, "no valid complaint was sent"

    def progress(records: list[TailedRecord]) -> tuple[dict[str, str], set[str], set[str]]:
        ids: dict[str, str] = {}
        owned: set[str] = set()
        acked: set[str] = set()
        for r in records:
            env = r.envelope
            if env is None:
                continue
            if env.name == "ComplaintReceived" and env.message.complaint.customer.email in wanted:
                ids[env.message.complaint.customer.email] = env.subject
            elif env.name == "OwnerAssigned":
                owned.add(env.subject)
            elif env.name == "NotificationSent" and env.message.template == "acknowledgement":
                acked.add(env.subject)
        return ids, owned, acked

    def done(records: list[TailedRecord]) -> bool:
        ids, owned, acked = progress(records)
        return len(ids) == len(wanted) and all(i in owned and i in acked for i in ids.values())

    records = collect(run.settings, topics.LIFECYCLE_TOPIC, done, timeout=timeout)
    ids, owned, acked = progress(records)
    missing = {
        e: ("not received" if e not in ids else f"owned={ids[e] in owned} acknowledged={ids[e] in acked}")
        for e in wanted
        if e not in ids or ids[e] not in owned or ids[e] not in acked
    }
    assert not missing, f"{len(missing)} of {len(wanted)} valid complaints not done: {missing}"


def assert_every_service_serving(run: Running) -> None:
    for name in SERVICES:
        with grpc.insecure_channel(run.settings.grpc_target(name)) as channel:
            resp = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
            assert resp.status == health_pb2.HealthCheckResponse.SERVING, name


def check_refusal(err: grpc.RpcError, what: str) -> None:
    code, details = err.code(), err.details() or ""
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED and TOO_LARGE.search(details):
        return
    assert code in REFUSALS, f"{what}: {code.name} {details[:500]!r}"
    assert details.strip(), f"{what}: {code.name} without a reason"
    assert len(details) <= MAX_DETAILS, f"{what}: {len(details)} characters of details"
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        assert FIELD_REASON.match(details), f"{what}: INVALID_ARGUMENT not naming a field: {details[:300]!r}"


# ---- gRPC SubmitComplaint ----------------------------------------------------------------------------
def test_grpc_drafts_are_accepted_or_refused_naming_the_field(running: Running) -> None:
    sent: list[str] = []
    answers: dict[str, int] = {}

    @FUZZ
    @given(draft=fz.proto_drafts(), valid_first=st.booleans())
    @example(draft=c.ComplaintDraft(channel=c.CHANNEL_WEB, body="x" * 1_100_000), valid_first=False)
    @example(
        draft=c.ComplaintDraft(channel=99, sector=-1, complainant_role=7, body="\x00", tenant="t" * 65),
        valid_first=False,
    )
    def one(draft: c.ComplaintDraft, valid_first: bool) -> None:
        if valid_first:
            submit_valid(running, sent, "grpc")
        request = intake_pb2.SubmitComplaintRequest(draft=draft)
        try:
            resp = running.intake.SubmitComplaint(request, timeout=30)
        except grpc.RpcError as err:
            check_refusal(err, "SubmitComplaint")
            if err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED:
                pass  # over grpcio's 4 MiB: refused before intake sees it
            elif err.code() == grpc.StatusCode.PERMISSION_DENIED:
                assert err.details().startswith("draft.tenant:"), err.details()
            else:
                assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, err.details()
                assert err.details().startswith("draft."), err.details()[:300]
            answers[err.code().name] = answers.get(err.code().name, 0) + 1
            return
        assert resp.complaint_id and resp.reference.startswith("HQ-")
        answers["OK"] = answers.get("OK", 0) + 1

    one()
    # A request without a draft at all.
    with pytest.raises(grpc.RpcError) as err:
        running.intake.SubmitComplaint(intake_pb2.SubmitComplaintRequest(), timeout=10)
    check_refusal(err.value, "SubmitComplaint without a draft")
    assert err.value.details().startswith("draft:")
    print(f"SubmitComplaint answers: {answers}")
    assert answers.get("INVALID_ARGUMENT", 0) > 0 and answers.get("OK", 0) > 0, (
        answers
    )  # the fuzzer did reach the validation
    submit_valid(running, sent, "grpc-last")
    assert_all_owned_and_acknowledged(running, sent)
    assert_every_service_serving(running)


def _mutated(raw: bytes) -> st.SearchStrategy[bytes]:
    """The bytes of a valid request with a few bytes replaced, inserted or cut off."""

    @st.composite
    def build(draw: st.DrawFn) -> bytes:
        data = bytearray(raw)
        for _ in range(draw(st.integers(1, 3))):
            at = draw(st.integers(0, len(data)))
            kind = draw(st.integers(0, 2))
            byte = draw(st.sampled_from([0xFF, 0xFE, 0xC3, 0xED, 0x80, 0x00, 0x0A, 0x12]))
            if kind == 0 and at < len(data):
                data[at] = byte
            elif kind == 1:
                data.insert(at, byte)
            else:
                del data[at:]
        return bytes(data)

    return build()


SUBMIT_BYTES = intake_pb2.SubmitComplaintRequest(
    draft=valid_draft("bytes.fuzz@example.com")
).SerializeToString()
NOTE_BYTES = escalation_pb2.AddNoteRequest(
    complaint_id="c-1", agent="reza.karimi", body="called"
).SerializeToString()


def test_request_bytes_that_are_not_a_valid_message_are_invalid_argument(running: Running) -> None:
    targets = {
        "intake": ("/haq.v1.IntakeService/SubmitComplaint", INTEGRATION),
        "escalation": ("/haq.v1.CaseService/AddNote", ADMIN),
    }

    @FUZZ
    @given(
        service_and_bytes=st.one_of(
            st.tuples(st.just("intake"), _mutated(SUBMIT_BYTES)),
            st.tuples(st.just("escalation"), _mutated(NOTE_BYTES)),
        )
    )
    @example(service_and_bytes=("intake", SUBMIT_BYTES.replace(b"stopped", b"stop\xff\xfeed")))
    @example(service_and_bytes=("escalation", NOTE_BYTES.replace(b"called", b"cal\xffed")))
    def one(service_and_bytes: tuple[str, bytes]) -> None:
        service, raw = service_and_bytes
        method, token = targets[service]
        with grpc.insecure_channel(running.settings.grpc_target(service)) as channel:
            call = channel.unary_unary(method, request_serializer=bytes, response_deserializer=bytes)
            try:
                call(raw, metadata=(("authorization", f"Bearer {token}"),), timeout=30)
            except grpc.RpcError as err:
                check_refusal(err, f"{service} {method} {raw[:80]!r}")

    one()
    assert_every_service_serving(running)


# ---- HTTP CloudEvents ----------------------------------------------------------------------------------
def http_post(run: Running, headers: list[tuple[str, bytes]], body: bytes) -> tuple[int, bytes]:
    """POST with headers given as raw bytes (latin-1 on the wire, so any byte can be sent)."""
    conn = http.client.HTTPConnection(run.url_host, run.url_port, timeout=30)
    try:
        conn.putrequest("POST", "/v1/events", skip_accept_encoding=True)
        conn.putheader("Authorization", f"Bearer {INTEGRATION}")
        conn.putheader("Content-Length", str(len(body)))
        for name, value in headers:
            conn.putheader(name, value)
        conn.endheaders()
        conn.send(body)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


# Header values in UTF-8 (any character but CR/LF); bytes that are not UTF-8 are fuzzed on their
# own below (test_http_header_bytes_that_are_not_utf8_are_refused_not_500).
header_bytes = st.one_of(
    st.text(fz.proto_chars.filter(lambda ch: ch not in "\r\n"), min_size=1, max_size=40).map(str.encode),
    st.sampled_from([b"1.0", b"haq.complaint.submitted.v1", b"helpdesk/webhook", b"a:b", b"\xc3\xa9"]),
    st.builds(lambda n: b"h" * n, st.sampled_from([199, 200, 201, 8_000])),
)
CE_HEADERS = ["ce-specversion", "ce-id", "ce-source", "ce-type", "ce-time", "ce-subject", "ce-x"]


@st.composite
def binary_requests(draw: st.DrawFn) -> tuple[list[tuple[str, bytes]], bytes]:
    headers: list[tuple[str, bytes]] = []
    good = {
        "ce-specversion": b"1.0",
        "ce-id": f"bin-{draw(st.integers(0, 10**9))}".encode(),
        "ce-source": b"helpdesk/webhook",
        "ce-type": b"haq.complaint.submitted.v1",
    }
    for name in CE_HEADERS:
        choice = draw(st.integers(0, 7))  # mostly well-formed, so the data's checks are reached
        if choice <= 5 and name in good:
            headers.append((name, good[name]))
        elif choice == 6:
            value = draw(header_bytes)
            if name == "ce-type":  # an unknown type is quoted back whole: see the xfail test below
                value = value[:300]
            headers.append((name, value))
    content_type = draw(
        st.sampled_from([b"application/json", b"text/plain", b"application/json; charset=latin-1", b""])
    )
    if content_type:
        headers.append(("Content-Type", content_type))
    body = draw(
        st.one_of(
            st.builds(fz.to_json_bytes, fz.json_drafts()),
            st.binary(max_size=300),
            st.sampled_from([b"", fz.deep_json(100_000), b"\xed\xa0\x80", b'{"body": "\xff"}']),
        )
    )
    return headers, body


@st.composite
def structured_requests(draw: st.DrawFn) -> tuple[list[tuple[str, bytes]], bytes]:
    content_type = draw(
        st.sampled_from(
            [
                b"application/cloudevents+json",
                b"application/cloudevents+json; charset=utf-8",
                b"application/cloudevents-batch+json",
            ]
        )
    )
    return [("Content-Type", content_type)], draw(fz.structured_bodies())


def check_http_answer(status: int, body: bytes, what: str) -> dict[str, Any] | None:
    assert status < 500, f"{what}: {status} {body[:500]!r}"
    if 200 <= status < 300:
        answer = json.loads(body)
        assert answer["complaint_id"], answer
        return answer
    assert 400 <= status < 500, f"{what}: {status} {body[:300]!r}"
    assert body.strip(), f"{what}: {status} without a reason"
    try:
        refusal = json.loads(body)
    except ValueError:
        return None  # the HTTP server's own refusal (a malformed request), in plain text
    assert isinstance(refusal, dict) and str(refusal.get("error", "")).strip(), refusal
    assert refusal.get("field"), refusal
    assert len(body) <= MAX_DETAILS, f"{what}: {len(body)} bytes of refusal"
    return None


def test_http_cloudevents_are_accepted_or_refused_with_a_reason(running: Running) -> None:
    sent: list[str] = []
    seen: dict[int, int] = {}

    def send_valid() -> None:
        email = valid_email("http")
        event = {
            "specversion": "1.0",
            "id": f"valid-{uuid.uuid4()}",
            "source": "fuzz/http",
            "type": "haq.complaint.submitted.v1",
            "data": valid_data(email),
        }
        status, body = http_post(
            running, [("Content-Type", b"application/cloudevents+json")], fz.to_json_bytes(event)
        )
        assert status == 202, (status, body[:300])
        sent.append(email)

    @FUZZ
    @given(request=st.one_of(binary_requests(), structured_requests()), valid_first=st.booleans())
    @example(
        request=([("Content-Type", b"application/cloudevents+json")], fz.deep_json(100_000)),
        valid_first=False,
    )
    @example(
        request=(
            [("Content-Type", b"application/cloudevents+json")],
            fz.to_json_bytes(
                {
                    "specversion": "1.0",
                    "id": "s-1",
                    "source": "x",
                    "type": "haq.complaint.submitted.v1",
                    "data": {"channel": "\ud800", "body": "b"},
                }
            ),
        ),
        valid_first=False,
    )
    def one(request: tuple[list[tuple[str, bytes]], bytes], valid_first: bool) -> None:
        if valid_first:
            send_valid()
        headers, body = request
        status, answer = http_post(running, headers, body)
        seen[status] = seen.get(status, 0) + 1
        check_http_answer(status, answer, f"POST {headers!r} {body[:200]!r}")

    one()
    print(f"HTTP statuses: {seen}")
    assert seen.get(400, 0) > 0 and seen.get(202, 0) > 0, seen
    send_valid()
    assert_all_owned_and_acknowledged(running, sent)
    assert_every_service_serving(running)


def test_http_header_bytes_that_are_not_utf8_are_refused_not_500(running: Running) -> None:
    """Regression: a refused webhook whose headers held bytes that are not UTF-8 answered 500
    (aiohttp hands them over as surrogateescape, '\\udcff'; the dead letter's map<string,string>
    could not encode them). Found by the fuzzer: Content-Type: \\xff on an empty body."""

    @FUZZ
    @given(
        name=st.sampled_from(["Content-Type", "ce-id", "ce-source", "x-forwarded-for"]),
        value=st.binary(min_size=1, max_size=20).filter(lambda b: b"\r" not in b and b"\n" not in b),
        body=st.sampled_from([b"", b"{}", b'{"channel": "web"}']),
    )
    @example(name="Content-Type", value=b"\xff", body=b"")  # found by the fuzzer: 500
    def one(name: str, value: bytes, body: bytes) -> None:
        headers = [
            ("ce-specversion", b"1.0"),
            ("ce-id", b"bin-0"),
            ("ce-source", b"helpdesk/webhook"),
            ("ce-type", b"haq.complaint.submitted.v1"),
        ]
        headers = [(k, v) for k, v in headers if k.lower() != name.lower()] + [(name, value)]
        status, answer = http_post(running, headers, body)
        check_http_answer(status, answer, f"POST {name}: {value!r} {body!r}")

    one()
    assert_every_service_serving(running)


def test_an_unknown_event_type_is_refused_without_quoting_it_back_whole(running: Running) -> None:
    @FUZZ
    @given(length=st.integers(min_value=MAX_DETAILS, max_value=8_000), structured=st.booleans())
    @example(length=8_000, structured=False)  # found by the fuzzer: an 8,124-byte refusal
    def one(length: int, structured: bool) -> None:
        ce_type = "h" * length
        if structured:
            event = {"specversion": "1.0", "id": "t-1", "source": "s", "type": ce_type, "data": {}}
            headers = [("Content-Type", b"application/cloudevents+json")]
            status, answer = http_post(running, headers, fz.to_json_bytes(event))
        else:
            headers = [
                ("ce-specversion", b"1.0"),
                ("ce-id", b"t-1"),
                ("ce-source", b"s"),
                ("ce-type", ce_type.encode()),
                ("Content-Type", b"application/json"),
            ]
            status, answer = http_post(running, headers, b"{}")
        assert status == 400, (status, answer[:200])
        check_http_answer(status, answer, f"type of {length} characters, structured={structured}")

    one()


SURROGATE_NAMES = [
    {"channel": "web", "body": "b", "customer": {"email": "a@example.com", "\udcff": "x"}},
    {"channel": "web", "body": "b", "customer": {"email": "a@example.com"}, "\ud800x": 1},
]


def test_a_json_field_name_that_is_a_lone_surrogate_is_refused_naming_data(running: Running) -> None:
    @FUZZ
    @given(data=st.sampled_from(SURROGATE_NAMES), structured=st.booleans())
    @example(data=SURROGATE_NAMES[0], structured=True)
    def one(data: dict[str, Any], structured: bool) -> None:
        event_id = f"sur-{uuid.uuid4()}"
        if structured:
            event = {
                "specversion": "1.0",
                "id": event_id,
                "source": "s",
                "type": cloudevents_in.SUBMITTED,
                "data": data,
            }
            headers = [("Content-Type", b"application/cloudevents+json")]
            status, answer = http_post(running, headers, fz.to_json_bytes(event))
        else:
            headers = [
                ("ce-specversion", b"1.0"),
                ("ce-id", event_id.encode()),
                ("ce-source", b"s"),
                ("ce-type", cloudevents_in.SUBMITTED.encode()),
                ("Content-Type", b"application/json"),
            ]
            status, answer = http_post(running, headers, fz.to_json_bytes(data))
        check_http_answer(status, answer, f"data {data!r}, structured={structured}")
        assert status == 400 and json.loads(answer)["field"].startswith("data"), (status, answer[:300])

    one()
    assert_every_service_serving(running)


# ---- raw topic records -------------------------------------------------------------------------------
def predicted_acceptable(value: bytes | None) -> bool:
    """Would intake accept this record? The same pure steps as accept_raw (read, map, validate),
    without a database: a record predicted refused must reach the dead-letter topic."""
    try:
        event = cloudevents_in.read_structured(value or b"")
        if event.get_type() != cloudevents_in.SUBMITTED:
            return False  # follow-ups here never name a known complaint; other types are refused
        draft = draft_from_json(event.get_data())
        validate(draft, TENANT, datetime.now(UTC).date())
    except Exception:
        return False
    return True


raw_headers = st.lists(
    st.tuples(
        st.one_of(
            st.sampled_from(["ce_type", "ce_id", "content-type", "authorization", "x"]),
            st.text(fz.proto_chars, max_size=20),
        ),
        st.one_of(st.none(), st.binary(max_size=64), st.just(b"\xff" * 2000)),
    ),
    max_size=5,
)


@st.composite
def raw_records(draw: st.DrawFn) -> tuple[bytes | None, bytes | None, list[tuple[str, bytes | None]]]:
    key = draw(st.one_of(st.none(), st.binary(max_size=40), st.just(b"\xff\xfe")))
    value = draw(st.one_of(fz.structured_bodies(), st.none(), st.binary(max_size=500)))
    return key, value, draw(raw_headers)


def test_raw_records_are_accepted_or_dead_lettered_with_a_reason(running: Running) -> None:
    producer = Producer({"bootstrap.servers": running.settings.kafka_bootstrap, "acks": "all"})
    produced: list[tuple[int, int, bytes | None]] = []  # partition, offset, value
    sent: list[str] = []
    failures: list[str] = []

    def produce(key: bytes | None, value: bytes | None, headers: list[tuple[str, bytes | None]]) -> None:
        def report(error: Any, msg: Any) -> None:
            if error is not None:
                failures.append(str(error))
            else:
                produced.append((msg.partition(), msg.offset(), value))

        producer.produce(topics.RAW_TOPIC, key=key, value=value, headers=headers, on_delivery=report)
        producer.flush(30)

    def send_valid() -> None:
        email = valid_email("raw")
        event = {
            "specversion": "1.0",
            "id": f"valid-{uuid.uuid4()}",
            "source": "fuzz/raw",
            "type": "haq.complaint.submitted.v1",
            "data": valid_data(email),
        }
        produce(email.encode(), fz.to_json_bytes(event), [("content-type", b"application/cloudevents+json")])
        sent.append(email)

    @FUZZ
    @given(record=raw_records(), valid_first=st.booleans())
    @example(record=(b"\xff\xfe", fz.deep_json(100_000), [("x-garbage", b"\xff\x00")]), valid_first=False)
    @example(
        record=(
            None,
            fz.to_json_bytes(
                {
                    "specversion": "1.0",
                    "id": "r-1",
                    "source": "x",
                    "type": "haq.complaint.submitted.v1",
                    "data": {"channel": "\ud800", "body": "b"},
                }
            ),
            [],
        ),
        valid_first=False,
    )
    def one(
        record: tuple[bytes | None, bytes | None, list[tuple[str, bytes | None]]], valid_first: bool
    ) -> None:
        if valid_first:
            send_valid()
        produce(*record)

    one()
    send_valid()
    assert not failures, failures[:5]

    valid_offsets = {(p, o) for p, o, v in produced if v is not None and b"fuzz/raw" in v and b"valid-" in v}
    expected_letters = {
        (p, o) for p, o, v in produced if (p, o) not in valid_offsets and not predicted_acceptable(v)
    }
    assert expected_letters, "the fuzzer produced no record intake must refuse"
    print(f"raw records: {len(produced)} produced, {len(expected_letters)} predicted refused")

    def letters(records: list[TailedRecord]) -> dict[tuple[int, int], Any]:
        out = {}
        for r in records:
            if r.envelope is not None and r.envelope.name == "DeadLetter":
                m = r.envelope.message
                if m.source_topic == topics.RAW_TOPIC:
                    out[(m.partition, m.offset)] = m
        return out

    records = collect(
        running.settings,
        topics.DEAD_LETTER_TOPIC,
        lambda rs: expected_letters <= set(letters(rs)),
        timeout=120,
    )
    found = letters(records)
    missing = sorted(expected_letters - set(found))
    assert not missing, f"{len(missing)} refused records never reached the dead-letter topic: {missing[:10]}"
    for place, letter in found.items():
        assert place not in valid_offsets, f"a valid record was dead-lettered: {letter.reason}"
        assert letter.reason.strip() and len(letter.reason) <= 1000, letter.reason[:300]
        assert letter.service == "intake"
        # A crash inside accept (not a refusal) is dead-lettered as "failed: <exception>".
        assert not letter.reason.startswith("failed:"), (
            f"record {place} crashed intake: {letter.reason[:300]}"
        )
        assert "authorization" not in {k.lower() for k in letter.original_headers}
    assert_all_owned_and_acknowledged(running, sent)
    assert_every_service_serving(running)


# ---- agent actions (escalation CaseService) --------------------------------------------------------
def open_case(run: Running, sent: list[str]) -> tuple[str, str, str]:
    """A real complaint, submitted over gRPC and owned: (complaint id, team, owner)."""
    email = valid_email("case")
    resp = run.intake.SubmitComplaint(intake_pb2.SubmitComplaintRequest(draft=valid_draft(email)), timeout=30)
    sent.append(email)
    deadline = time.monotonic() + 90
    while True:
        try:
            clocks = run.sla.GetClocks(
                escalation_pb2.GetClocksRequest(complaint_id=resp.complaint_id), timeout=10
            )
            if clocks.owner:
                return resp.complaint_id, clocks.team, clocks.owner
        except grpc.RpcError as err:
            if err.code() != grpc.StatusCode.NOT_FOUND:
                raise
        assert time.monotonic() < deadline, "complaint not owned within 90 s"
        time.sleep(0.3)


ACTIONS: dict[str, tuple[Any, tuple[str, ...]]] = {
    "Accept": (escalation_pb2.AcceptRequest, ("agent", "request_id")),
    "Decline": (escalation_pb2.DeclineRequest, ("agent", "reason", "request_id")),
    "Respond": (escalation_pb2.RespondRequest, ("agent", "body", "channel", "language", "request_id")),
    "AddNote": (escalation_pb2.AddNoteRequest, ("agent", "body", "request_id")),
    "RequestInfo": (escalation_pb2.RequestInfoRequest, ("agent", "question", "request_id")),
    "RequestTransfer": (
        escalation_pb2.RequestTransferRequest,
        ("agent", "to_team", "to_owner", "reason", "request_id"),
    ),
    "AcceptTransfer": (escalation_pb2.TransferAnswerRequest, ("agent", "reason", "request_id")),
    "DeclineTransfer": (escalation_pb2.TransferAnswerRequest, ("agent", "reason", "request_id")),
    "Resolve": (escalation_pb2.ResolveRequest, ("agent", "resolution_code", "summary", "request_id")),
    "Reopen": (escalation_pb2.ReopenRequest, ("by", "reason", "request_id")),
}
PLAUSIBLE = {
    "agent": ["OWNER", "reza.karimi", "elena.rossi", "made-up.name"],
    "by": ["OWNER", "customer", "reza.karimi"],
    "to_team": ["privacy-office", "general-care", "TEAM", "no-such-team"],
    "to_owner": ["", "elena.rossi", "ghost.person"],
    "resolution_code": ["resolved", "refunded", "no_such_code", ""],
    "channel": ["email", "sms", "pigeon", ""],
    "language": ["fa", "en", "xx", ""],
    "request_id": ["", "r-1", "r-2"],
}


@st.composite
def actions(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    method = draw(st.sampled_from(sorted(ACTIONS)))
    _, names = ACTIONS[method]
    fields: dict[str, Any] = {
        "complaint_id": draw(
            st.one_of(
                st.just("CASE"), st.just("CASE"), st.just("OTHER"), fz.hostile_text(128), st.just(" CASE ")
            )
        )
    }
    for name in names:
        choice = draw(st.integers(0, 4))
        if choice == 4:
            continue  # missing
        if choice == 3:
            fields[name] = draw(
                st.one_of(fz.hostile_text(fz.esc_limits.limit_for(name)), st.just(fz.HUGE))
                if name in ("body", "question", "summary")
                else fz.hostile_text(fz.esc_limits.limit_for(name))
            )
        elif name in PLAUSIBLE:
            fields[name] = draw(st.sampled_from(PLAUSIBLE[name]))
        else:
            fields[name] = draw(fz.action_text(name))
    return method, fields


def test_agent_actions_on_a_real_complaint_answer_with_a_status_and_a_reason(running: Running) -> None:
    sent: list[str] = []
    cid, team, owner = open_case(running, sent)
    other, _, _ = open_case(running, sent)
    codes: dict[str, int] = {}

    def fill(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        return {"CASE": cid, " CASE ": f" {cid} ", "OTHER": other, "OWNER": owner, "TEAM": team}.get(
            value, value
        )

    @FUZZ
    @given(steps=st.lists(actions(), min_size=1, max_size=4), valid_first=st.booleans())
    @example(
        steps=[("AddNote", {"complaint_id": "CASE", "agent": "OWNER", "body": "x" * 2_000_000})],
        valid_first=False,
    )
    @example(
        steps=[
            ("Resolve", {"complaint_id": "CASE", "agent": "OWNER", "resolution_code": "\x00", "summary": "s"})
        ],
        valid_first=False,
    )
    def one(steps: list[tuple[str, dict[str, Any]]], valid_first: bool) -> None:
        if valid_first:
            submit_valid(running, sent, "case")
        for method, fields in steps:
            request_class, _ = ACTIONS[method]
            request = request_class(**{k: fill(v) for k, v in fields.items()})
            try:
                getattr(running.cases, method)(request, timeout=30)
            except grpc.RpcError as err:
                check_refusal(err, f"{method}({ {k: str(v)[:40] for k, v in fields.items()} })")
                codes[err.code().name] = codes.get(err.code().name, 0) + 1
            else:
                codes["OK"] = codes.get("OK", 0) + 1

    one()
    print(f"CaseService answers: {codes}")
    assert codes.get("OK", 0) > 0 and codes.get("INVALID_ARGUMENT", 0) > 0, codes
    # The case still answers, whatever was done to it.
    clocks = running.sla.GetClocks(escalation_pb2.GetClocksRequest(complaint_id=cid), timeout=10)
    assert clocks.complaint_id == cid
    submit_valid(running, sent, "case-last")
    assert_all_owned_and_acknowledged(running, sent)
    assert_every_service_serving(running)
