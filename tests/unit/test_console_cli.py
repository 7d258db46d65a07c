"""The console's pure parts (enum names, draft building, case-file JSON, watch lines) and the `haq`
commands against a real in-process gRPC server that plays intake."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent import futures
from datetime import UTC, datetime

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from typer.testing import CliRunner

from services.common.codec import new_event
from services.common.pb.haq.v1 import complaint_pb2, events_pb2, intake_pb2, intake_pb2_grpc
from services.common.tail import TailedRecord
from services.console import cli, enums, views, watch
from services.console.drafts import (
    DraftFlags,
    DraftInputError,
    build_draft,
    draft_from_dict,
    parse_meta,
    parse_social,
    read_json,
)

PERSIAN_SUBJECT = "نوبت جراحی لغو شد"
PERSIAN_BODY = "نوبت جراحی من دو بار لغو شد و کسی پاسخ نمی‌دهد."


def ts(text: str) -> Timestamp:
    t = Timestamp()
    t.FromDatetime(datetime.fromisoformat(text))
    return t


# -- enums ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "descriptor", [enums.CHANNEL, enums.SECTOR, enums.ROLE, enums.PRIORITY, enums.STATUS]
)
def test_every_enum_value_round_trips_through_its_short_name(descriptor):
    for value in descriptor.values:
        name = enums.to_name(descriptor, value.number)
        if value.number == 0:
            assert name is None
            continue
        assert name == name.lower() and "_unspecified" not in name
        assert enums.to_proto(descriptor, name) == value.number
    assert len(enums.choices(descriptor)) == len(descriptor.values) - 1


def test_enum_names_accept_case_dashes_and_full_proto_names():
    assert enums.to_proto(enums.SECTOR, "Healthcare") == complaint_pb2.SECTOR_HEALTHCARE
    assert enums.to_proto(enums.SECTOR, "SECTOR_B2B") == complaint_pb2.SECTOR_B2B
    assert enums.to_proto(enums.ROLE, "business-contact") == complaint_pb2.COMPLAINANT_ROLE_BUSINESS_CONTACT
    assert (
        enums.to_proto(enums.STATUS, "waiting_on_customer")
        == complaint_pb2.COMPLAINT_STATUS_WAITING_ON_CUSTOMER
    )
    assert enums.to_proto(enums.CHANNEL, "") == 0
    assert enums.to_name(enums.PRIORITY, complaint_pb2.PRIORITY_CRITICAL) == "critical"
    assert enums.to_name(enums.STATUS, 99) == "99"  # a value from a newer server


@pytest.mark.parametrize("bad", ["fax", "unspecified", "CHANNEL_UNSPECIFIED", "PRIORITY_HIGH"])
def test_unknown_enum_names_are_refused_with_the_choices(bad):
    with pytest.raises(ValueError, match="web, email, chat, social, phone, partner"):
        enums.to_proto(enums.CHANNEL, bad)


# -- drafts --------------------------------------------------------------------------------------


def test_every_flag_lands_in_the_draft():
    flags = DraftFlags(
        tenant="acme",
        channel="email",
        sector="healthcare",
        role="patient",
        customer_email="Sara@Example.com",
        customer_phone="0912 345 6789",
        customer_account="ACC-7",
        name="Sara K",
        social=["x:@sara_k", "telegram:sarak"],
        subject=PERSIAN_SUBJECT,
        body=PERSIAN_BODY,
        idempotency_key="k-1",
        language="fa",
        product="MRI",
        purchase_date="2025-01-31",
        category="appointments",
        meta=["ward=3B", "note=a=b"],
    )
    draft = build_draft(None, flags)
    assert draft == complaint_pb2.ComplaintDraft(
        tenant="acme",
        channel=complaint_pb2.CHANNEL_EMAIL,
        sector=complaint_pb2.SECTOR_HEALTHCARE,
        complainant_role=complaint_pb2.COMPLAINANT_ROLE_PATIENT,
        customer=complaint_pb2.CustomerIdentifiers(
            email="Sara@Example.com",  # intake normalises; the CLI sends what it was given
            phone="0912 345 6789",
            account_id="ACC-7",
            display_name="Sara K",
            social=[
                complaint_pb2.SocialHandle(network="x", handle="@sara_k"),
                complaint_pb2.SocialHandle(network="telegram", handle="sarak"),
            ],
        ),
        subject=PERSIAN_SUBJECT,
        body=PERSIAN_BODY,
        idempotency_key="k-1",
        language="fa",
        product="MRI",
        purchase_date="2025-01-31",
        category="appointments",
        metadata={"ward": "3B", "note": "a=b"},
    )


def test_flags_left_out_stay_unset():
    draft = build_draft(None, DraftFlags(body="hello", customer_email="a@b.co"))
    assert draft.channel == 0 and draft.sector == 0 and draft.complainant_role == 0
    assert not draft.HasField("customer") or draft.customer.phone == ""
    assert draft.tenant == "" and draft.language == "" and not draft.metadata


def test_json_document_in_the_draft_shape_with_short_enum_names():
    doc = read_json(
        json.dumps(
            {
                "channel": "phone",
                "sector": "education",
                "complainant_role": "parent",
                "customer": {"phone": "+98 912 345 6789", "social": [{"network": "x", "handle": "@p"}]},
                "subject": "Bus",
                "body": "The school bus left without my son.",
                "metadata": {"school": "12"},
                "idempotency_key": "file-1",
            }
        )
    )
    draft = draft_from_dict(doc)
    assert draft.channel == complaint_pb2.CHANNEL_PHONE
    assert draft.sector == complaint_pb2.SECTOR_EDUCATION
    assert draft.complainant_role == complaint_pb2.COMPLAINANT_ROLE_PARENT
    assert draft.customer.social[0].handle == "@p"
    assert dict(draft.metadata) == {"school": "12"}
    # proto enum names and numbers are accepted as well
    assert draft_from_dict({"channel": "CHANNEL_WEB", "sector": 2}).sector == complaint_pb2.SECTOR_HEALTHCARE


def test_flags_override_the_file_and_social_and_meta_add_to_it():
    base = {
        "channel": "web",
        "body": "from the file",
        "customer": {"email": "file@example.com", "social": [{"network": "x", "handle": "a"}]},
        "metadata": {"k": "file", "keep": "yes"},
    }
    draft = build_draft(base, DraftFlags(channel="chat", body="from a flag", social=["x:b"], meta=["k=flag"]))
    assert draft.channel == complaint_pb2.CHANNEL_CHAT
    assert draft.body == "from a flag"
    assert draft.customer.email == "file@example.com"
    assert [s.handle for s in draft.customer.social] == ["a", "b"]
    assert dict(draft.metadata) == {"k": "flag", "keep": "yes"}


@pytest.mark.parametrize(
    ("base", "flags", "field"),
    [
        (None, DraftFlags(channel="fax"), "--channel"),
        (None, DraftFlags(role="king"), "--role"),
        (None, DraftFlags(social=["no-colon"]), "--social"),
        (None, DraftFlags(social=["x:"]), "--social"),
        (None, DraftFlags(meta=["novalue"]), "--meta"),
        ({"sector": "space"}, DraftFlags(), "sector"),
        ({"colour": "red"}, DraftFlags(), "draft"),
        ({"metadata": {"n": 1}}, DraftFlags(), "draft"),
    ],
)
def test_bad_input_names_the_field(base, flags, field):
    with pytest.raises(DraftInputError) as err:
        build_draft(base, flags)
    assert err.value.field == field


def test_small_parsers():
    assert parse_social(" instagram : @sara ") == complaint_pb2.SocialHandle(
        network="instagram", handle="@sara"
    )
    assert parse_meta("url=https://x.test/?a=1") == ("url", "https://x.test/?a=1")
    with pytest.raises(DraftInputError, match="not valid JSON"):
        read_json("{nope")
    with pytest.raises(DraftInputError, match="one JSON object"):
        read_json("[1, 2]")


# -- case file -----------------------------------------------------------------------------------


def full_case_file() -> intake_pb2.CaseFile:
    return intake_pb2.CaseFile(
        complaint=complaint_pb2.Complaint(
            id="c-1",
            reference="HQ-7KX2-94",
            tenant="default",
            channel=complaint_pb2.CHANNEL_EMAIL,
            sector=complaint_pb2.SECTOR_HEALTHCARE,
            complainant_role=complaint_pb2.COMPLAINANT_ROLE_PATIENT,
            customer_id="cus-1",
            customer=complaint_pb2.CustomerIdentifiers(email="sara@example.com"),
            subject=PERSIAN_SUBJECT,
            body=PERSIAN_BODY,
            language="fa",
            received_at=ts("2025-03-01T09:30:00+00:00"),
        ),
        status=complaint_pb2.COMPLAINT_STATUS_OWNED,
        team="clinical-governance",
        owner="dr.omid",
        owner_is_duty_lead=True,
        priority=complaint_pb2.PRIORITY_CRITICAL,
        sla_policy="healthcare-clinical",
        sla=[
            intake_pb2.SlaDeadline(
                clock="first_response",
                started_at=ts("2025-03-01T09:30:00+00:00"),
                due_at=ts("2025-03-01T10:30:00+00:00"),
                state="running",
            )
        ],
        notifications=[
            intake_pb2.NotificationRecord(
                notification_id="n-1",
                channel="email",
                recipient="sara@example.com",
                template="acknowledgement",
                status="sent",
                at=ts("2025-03-01T09:30:02+00:00"),
            )
        ],
        timeline=[
            intake_pb2.TimelineEntry(
                event_id="e-1",
                type="ComplaintReceived",
                at=ts("2025-03-01T09:30:00+00:00"),
                source="/haq/intake",
                summary="Received via email",
            )
        ],
        routing_rule="healthcare-clinical",
        routing_explanation="sector is healthcare, mentions 'جراحی'",
    )


def test_case_file_json_shape():
    d = views.case_file_to_dict(full_case_file())
    assert d["id"] == "c-1" and d["reference"] == "HQ-7KX2-94" and d["customer_id"] == "cus-1"
    assert (d["status"], d["sector"], d["channel"], d["priority"]) == (
        "owned",
        "healthcare",
        "email",
        "critical",
    )
    assert (d["language"], d["team"], d["owner"], d["owner_is_duty_lead"]) == (
        "fa",
        "clinical-governance",
        "dr.omid",
        True,
    )
    assert d["sla"] == [
        {
            "clock": "first_response",
            "started_at": "2025-03-01T09:30:00Z",
            "due_at": "2025-03-01T10:30:00Z",
            "state": "running",
            "stopped_at": None,
        }
    ]
    n = d["notifications"][0]
    assert (n["channel"], n["recipient"], n["template"], n["status"], n["at"]) == (
        "email",
        "sara@example.com",
        "acknowledgement",
        "sent",
        "2025-03-01T09:30:02Z",
    )
    t = d["timeline"][0]
    assert (t["at"], t["type"], t["source"], t["summary"]) == (
        "2025-03-01T09:30:00Z",
        "ComplaintReceived",
        "/haq/intake",
        "Received via email",
    )
    assert d["routing"] == {
        "rule": "healthcare-clinical",
        "explanation": "sector is healthcare, mentions 'جراحی'",
    }
    # everything is plain JSON, Persian kept as text
    assert PERSIAN_SUBJECT in json.dumps(d, ensure_ascii=False)


def test_a_case_file_not_routed_yet_has_nulls_not_empty_strings():
    cf = intake_pb2.CaseFile(
        complaint=complaint_pb2.Complaint(id="c-2", reference="HQ-AAAA-01", body="x"),
        status=complaint_pb2.COMPLAINT_STATUS_RECEIVED,
    )
    d = views.case_file_to_dict(cf)
    assert d["status"] == "received"
    assert d["team"] is None and d["owner"] is None and d["priority"] is None
    assert d["sla"] == [] and d["notifications"] == [] and d["timeline"] == []
    assert d["routing"] == {"rule": None, "explanation": None}
    assert "(not routed yet)" in views.render_case_file(cf)


def test_human_case_file_shows_persian_as_written_and_the_clock():
    now = datetime(2025, 3, 1, 9, 45, tzinfo=UTC)
    text = views.render_case_file(full_case_file(), now=now)
    assert text.splitlines()[0] == "HQ-7KX2-94  owned"
    assert PERSIAN_SUBJECT in text and PERSIAN_BODY in text
    assert "dr.omid (duty lead" in text
    assert "first_response" in text and "in 45m 00s" in text
    assert "acknowledgement" in text and "ComplaintReceived" in text


# -- watch ---------------------------------------------------------------------------------------


def record(message, subject="c-1") -> TailedRecord:
    env = new_event(message, source="/haq/test", subject=subject)
    return TailedRecord("haq.complaints.lifecycle.v1", 0, 7, env, None, b"")


def test_watch_line_has_key_facts_and_no_personal_data():
    received = events_pb2.ComplaintReceived(
        complaint=complaint_pb2.Complaint(
            id="c-1",
            reference="HQ-7KX2-94",
            channel=complaint_pb2.CHANNEL_PHONE,
            sector=complaint_pb2.SECTOR_GENERAL,
            customer_id="cus-1",
            customer=complaint_pb2.CustomerIdentifiers(
                email="sara@example.com", phone="+989123456789", display_name="Sara K"
            ),
            subject="My refund",
            body="I paid 120 and never got it back",
            language="en",
        )
    )
    line = watch.format_line(record(received))
    assert "ComplaintReceived" in line and "c-1" in line and "ref=HQ-7KX2-94" in line
    assert "channel=phone" in line and "sector=general" in line and "customer=cus-1" in line
    for secret in ("sara@example.com", "+989123456789", "Sara K", "My refund", "never got it back"):
        assert secret not in line

    sent = events_pb2.NotificationSent(
        complaint_id="c-1", channel="email", recipient="sara@example.com", template="acknowledgement"
    )
    line = watch.format_line(record(sent))
    assert "template=acknowledgement" in line and "sara@example.com" not in line

    routed = events_pb2.ComplaintRouted(
        complaint_id="c-1",
        team="billing",
        owner="agent-7",
        owner_is_duty_lead=True,
        priority=complaint_pb2.PRIORITY_HIGH,
        rule_id="r-1",
    )
    line = watch.format_line(record(routed))
    assert "team=billing" in line and "priority=high" in line and "duty lead" in line


def test_watch_redacts_and_shortens_free_text_reasons():
    failed = events_pb2.NotificationFailed(
        complaint_id="c-1",
        channel="email",
        template="acknowledgement",
        attempts=3,
        reason="550 mailbox sara@example.com unknown\n[parameters: body='secret story']",
    )
    line = watch.format_line(record(failed))
    assert "attempts=3" in line and "[email]" in line
    assert "sara@example.com" not in line and "secret story" not in line


def test_watch_generic_line_for_types_it_does_not_know():
    # CustomerHistory stands in for an event type added to the proto later.
    history = complaint_pb2.CustomerHistory(
        previous_complaints=2, first_seen_at=ts("2025-03-01T09:30:00+00:00"), previous_owners=["a"]
    )
    line = watch.generic_facts(history)
    assert "previous_complaints=2" in line and "first_seen_at=" in line


def test_watch_undecodable_record_and_type_filter():
    bad = TailedRecord("haq.complaints.lifecycle.v1", 2, 9, None, "missing CloudEvents headers", b"x")
    assert "undecodable" in watch.format_line(bad) and "/2@9" in watch.format_line(bad)
    assert watch.record_to_dict(bad)["error"] == "missing CloudEvents headers"
    routed = record(events_pb2.ComplaintRouted(complaint_id="c-1"))
    keep = watch.type_filter(["complaintrouted", "haq.v1.SlaBreached"])
    assert keep(routed) and not keep(bad)
    assert not keep(record(events_pb2.NotificationSent(complaint_id="c-1")))
    assert watch.type_filter([])(bad)
    assert watch.record_to_dict(routed)["type"] == "haq.v1.ComplaintRouted"


# -- the commands, against a real gRPC server playing intake ----------------------------------------


class PlayIntake(intake_pb2_grpc.IntakeServiceServicer):
    """Answers like intake would; records the requests it got."""

    def __init__(self):
        self.requests: list = []

    def SubmitComplaint(self, request, context):
        self.requests.append(request)
        if "@" not in request.draft.customer.email:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "draft.customer.email: not a valid email address")
        return intake_pb2.SubmitComplaintResponse(
            complaint_id="c-1", reference="HQ-7KX2-94", customer_id="cus-1", language="fa"
        )

    def GetComplaint(self, request, context):
        self.requests.append(request)
        if request.complaint not in ("c-1", "HQ-7KX2-94"):
            context.abort(grpc.StatusCode.NOT_FOUND, f"no complaint {request.complaint!r}")
        return full_case_file()

    def AddFollowUp(self, request, context):
        self.requests.append(request)
        return intake_pb2.AddFollowUpResponse(follow_up_id="f-1", complaint_id="c-1")

    def ListCustomerComplaints(self, request, context):
        self.requests.append(request)
        return intake_pb2.ListCustomerComplaintsResponse(
            customer=intake_pb2.CustomerProfile(customer_id="cus-1", emails=["sara@example.com"]),
            complaints=[
                intake_pb2.ComplaintSummary(
                    complaint_id="c-1",
                    reference="HQ-7KX2-94",
                    status=complaint_pb2.COMPLAINT_STATUS_ROUTED,
                    subject=PERSIAN_SUBJECT,
                )
            ],
        )


@pytest.fixture
def intake() -> Iterator[tuple[str, PlayIntake]]:
    servicer = PlayIntake()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    intake_pb2_grpc.add_IntakeServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield f"127.0.0.1:{port}", servicer
    server.stop(0)


def run(*args: str, stdin: str | None = None):
    return CliRunner().invoke(cli.app, list(args), input=stdin)


def test_submit_sends_the_draft_and_prints_the_reference(intake):
    target, servicer = intake
    result = run(
        "submit", "--intake", target, "--channel", "email", "--sector", "healthcare", "--customer-email",
        "sara@example.com", "--social", "x:@sara", "--meta", "ward=3B", "--body", PERSIAN_BODY, "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "id": "c-1",
        "reference": "HQ-7KX2-94",
        "customer_id": "cus-1",
        "language": "fa",
        "duplicate": False,
    }
    draft = servicer.requests[-1].draft
    assert draft.sector == complaint_pb2.SECTOR_HEALTHCARE and draft.body == PERSIAN_BODY
    assert draft.customer.social[0].network == "x" and draft.metadata["ward"] == "3B"


def test_submit_from_stdin(intake):
    target, servicer = intake
    doc = {"channel": "web", "customer": {"email": "a@b.co"}, "body": "hi"}
    result = run("submit", "--intake", target, "--file", "-", stdin=json.dumps(doc))
    assert result.exit_code == 0, result.output
    assert result.stdout.split() == ["HQ-7KX2-94", "c-1"]
    assert servicer.requests[-1].draft.channel == complaint_pb2.CHANNEL_WEB


def test_invalid_argument_names_the_field_on_stderr_with_exit_code_2(intake):
    target, _ = intake
    result = run(
        "submit", "--intake", target, "--channel", "email", "--customer-email", "nope", "--body", "x"
    )
    assert result.exit_code == 2
    assert "draft.customer.email: not a valid email address" in result.stderr
    assert result.stdout == ""


def test_refused_before_sending_exit_code_2(intake):
    target, servicer = intake
    result = run("submit", "--intake", target, "--channel", "fax", "--body", "x")
    assert result.exit_code == 2 and "--channel" in result.stderr
    assert servicer.requests == []


def test_show_json_and_not_found(intake):
    target, servicer = intake
    result = run("show", "HQ-7KX2-94", "--intake", target, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["owner"] == "dr.omid"
    assert servicer.requests[-1] == intake_pb2.GetComplaintRequest(complaint="HQ-7KX2-94")
    human = run("show", "c-1", "--intake", target)
    assert human.exit_code == 0 and PERSIAN_SUBJECT in human.stdout
    missing = run("show", "HQ-0000-00", "--intake", target)
    assert missing.exit_code == 3 and "HQ-0000-00" in missing.stderr


def test_follow_up_and_customer(intake):
    target, servicer = intake
    result = run("follow-up", "HQ-7KX2-94", "--body", "any news?", "--channel", "phone", "--intake", target)
    assert result.exit_code == 0, result.output
    assert servicer.requests[-1] == intake_pb2.AddFollowUpRequest(
        complaint="HQ-7KX2-94", body="any news?", channel=complaint_pb2.CHANNEL_PHONE
    )
    result = run("customer", "--phone", "+989123456789", "--intake", target, "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["customer"]["customer_id"] == "cus-1"
    assert out["complaints"][0]["status"] == "routed"
    assert servicer.requests[-1].identifiers.phone == "+989123456789"
    assert run("customer", "--intake", target).exit_code == 2


def test_unreachable_intake_exit_code_4():
    from services.common.broker import free_port

    result = run("show", "c-1", "--intake", f"127.0.0.1:{free_port()}", "--timeout", "2")
    assert result.exit_code == 4 and "not reachable" in result.stderr
