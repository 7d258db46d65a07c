"""Role and tenant checks on every gRPC service, the HTTP CloudEvents endpoint and the dashboard,
against the real platform (started as `make run` starts it) with HAQ_AUTH_SECRET set.

For each service: no token -> UNAUTHENTICATED; a role the method does not admit -> PERMISSION_DENIED;
another tenant's complaint -> NOT_FOUND (and the same for an agent outside the complaint's team).
One platform serves the whole module: starting it takes most of the time.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.common.auth import authorized_channel, mint_token
from services.common.pb.haq.v1 import complaint_pb2 as c
from services.common.pb.haq.v1 import (
    escalation_pb2,
    escalation_pb2_grpc,
    intake_pb2,
    intake_pb2_grpc,
    notifications_pb2,
    notifications_pb2_grpc,
    routing_pb2,
    routing_pb2_grpc,
)
from tests.e2e.test_platform import Platform

pytestmark = pytest.mark.integration

SECRET = "integration-test-secret-0123456789-abcdefghij"
HOME = "default"  # the platform's tenant (HAQ_TENANT), which owns the seeded directory
OTHER = "tenant-b"


def token(roles: list[str], tenant: str = HOME, subject: str = "tester", teams: tuple[str, ...] = ()) -> str:
    return mint_token(SECRET, subject, tenant, roles, teams)


ADMIN = token(["admin"])
OTHER_ADMIN = token(["admin"], tenant=OTHER)
INTEGRATION = token(["integration"])


class Running:
    """The platform, one complaint submitted and seen by every service, and stubs per token."""

    def __init__(self, platform: Platform, complaint_id: str, team: str, owner: str):
        self.platform = platform
        self.complaint_id = complaint_id
        self.team = team
        self.owner = owner

    def stub(self, stub_class: Callable[[grpc.Channel], Any], service: str, bearer: str | None) -> Any:
        return stub_class(authorized_channel(self.platform.settings.grpc_target(service), bearer))


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    platform = Platform(tmp_path_factory.mktemp("auth"), auth_secret=SECRET)
    try:
        platform.wait_ready()
        target = platform.settings.grpc_target
        intake = intake_pb2_grpc.IntakeServiceStub(authorized_channel(target("intake"), INTEGRATION))
        submitted = intake.SubmitComplaint(
            intake_pb2.SubmitComplaintRequest(
                draft=c.ComplaintDraft(
                    channel=c.CHANNEL_EMAIL,
                    customer=c.CustomerIdentifiers(email="auth.test@example.com"),
                    subject="Broken kettle",
                    body="The kettle I bought stopped working after two days.",
                )
            ),
            timeout=10,
        )
        cid = submitted.complaint_id
        routing = routing_pb2_grpc.RoutingAdminStub(authorized_channel(target("routing"), ADMIN))
        sla = escalation_pb2_grpc.SlaServiceStub(authorized_channel(target("escalation"), ADMIN))
        notify = notifications_pb2_grpc.NotificationAdminStub(
            authorized_channel(target("notifications"), ADMIN)
        )

        def seen_everywhere() -> tuple[str, str] | None:
            try:
                decision = routing.GetDecision(routing_pb2.GetDecisionRequest(complaint_id=cid), timeout=5)
                clocks = sla.GetClocks(escalation_pb2.GetClocksRequest(complaint_id=cid), timeout=5)
                deliveries = notify.ListDeliveries(
                    notifications_pb2.ListDeliveriesRequest(complaint_id=cid), timeout=5
                )
            except grpc.RpcError as err:
                if err.code() == grpc.StatusCode.NOT_FOUND:
                    return None
                raise
            if clocks.owner and deliveries.deliveries:
                return decision.team, clocks.owner
            return None

        deadline = time.monotonic() + 90
        while (found := seen_everywhere()) is None:
            assert time.monotonic() < deadline, "complaint not routed, owned and notified within 90 s"
            time.sleep(0.3)
        yield Running(platform, cid, *found)
    finally:
        platform.stop()


def code_of(call: Callable[[], Any]) -> grpc.StatusCode:
    try:
        call()
    except grpc.RpcError as err:
        return err.code()
    return grpc.StatusCode.OK


# (service, stub, method, request, role without access) per gRPC service, each about our complaint.
def calls(cid: str) -> list[tuple[str, Any, str, Any, str]]:
    return [
        ("intake", intake_pb2_grpc.IntakeServiceStub, "GetComplaint", intake_pb2.GetComplaintRequest(complaint=cid), "integration"),
        ("routing", routing_pb2_grpc.RoutingAdminStub, "GetDecision", routing_pb2.GetDecisionRequest(complaint_id=cid), "integration"),
        ("escalation", escalation_pb2_grpc.SlaServiceStub, "GetClocks", escalation_pb2.GetClocksRequest(complaint_id=cid), "integration"),
        (
            "escalation",
            escalation_pb2_grpc.CaseServiceStub,
            "AddNote",
            escalation_pb2.AddNoteRequest(complaint_id=cid, agent="tester", body="checked the order"),
            "ops",  # ops read; they do not work cases
        ),
        (
            "notifications",
            notifications_pb2_grpc.NotificationAdminStub,
            "ListDeliveries",
            notifications_pb2.ListDeliveriesRequest(complaint_id=cid),
            "integration",
        ),
    ]  # fmt: skip


METHODS = ["IntakeService.GetComplaint", "RoutingAdmin.GetDecision", "SlaService.GetClocks", "CaseService.AddNote",
           "NotificationAdmin.ListDeliveries"]  # fmt: skip


@pytest.mark.parametrize("index", range(len(METHODS)), ids=METHODS)
def test_each_service_refuses_no_token_wrong_role_and_other_tenants(running: Running, index: int):
    service, stub_class, method, request, wrong_role = calls(running.complaint_id)[index]

    def call(bearer: str | None) -> grpc.StatusCode:
        return code_of(
            lambda: getattr(running.stub(stub_class, service, bearer), method)(request, timeout=10)
        )

    assert call(None) == grpc.StatusCode.UNAUTHENTICATED
    assert call(mint_token("a-different-secret-of-enough-length-0123", "x", HOME, ["admin"])) == (
        grpc.StatusCode.UNAUTHENTICATED
    )
    assert call(token([wrong_role])) == grpc.StatusCode.PERMISSION_DENIED
    assert call(OTHER_ADMIN) == grpc.StatusCode.NOT_FOUND  # never a hint that it exists
    assert call(token(["agent"], subject="tester", teams=("no-such-team",))) == grpc.StatusCode.NOT_FOUND
    # the same call by staff of the complaint's tenant and team goes through
    assert call(token(["team_lead"], subject="tester", teams=(running.team,))) == grpc.StatusCode.OK


def test_health_stays_open_without_a_token(running: Running):
    for service in ("intake", "routing", "escalation", "notifications"):
        with grpc.insecure_channel(running.platform.settings.grpc_target(service)) as channel:
            resp = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
            assert resp.status == health_pb2.HealthCheckResponse.SERVING


def test_an_integration_token_only_submits(running: Running):
    intake = running.stub(intake_pb2_grpc.IntakeServiceStub, "intake", INTEGRATION)
    listed = code_of(
        lambda: intake.ListCustomerComplaints(
            intake_pb2.ListCustomerComplaintsRequest(
                identifiers=c.CustomerIdentifiers(email="auth.test@example.com")
            ),
            timeout=10,
        )
    )
    assert listed == grpc.StatusCode.PERMISSION_DENIED
    routing = running.stub(routing_pb2_grpc.RoutingAdminStub, "routing", INTEGRATION)
    assert code_of(lambda: routing.ListTeams(routing_pb2.ListTeamsRequest(), timeout=10)) == (
        grpc.StatusCode.PERMISSION_DENIED
    )


def test_an_agent_acts_only_in_their_own_name(running: Running):
    cases = running.stub(
        escalation_pb2_grpc.CaseServiceStub,
        "escalation",
        token(["agent"], subject="someone.else", teams=(running.team,)),
    )
    accept = escalation_pb2.AcceptRequest(complaint_id=running.complaint_id, agent=running.owner)
    assert code_of(lambda: cases.Accept(accept, timeout=10)) == grpc.StatusCode.PERMISSION_DENIED


def test_the_built_in_rule_set_belongs_to_the_operator_tenant(running: Running):
    """Another tenant's admin sees the built-in as inherited, but can neither read the operator's
    own versions nor roll them back: NOT_FOUND, and the operator's active version stays."""
    other = running.stub(routing_pb2_grpc.RoutingAdminStub, "routing", OTHER_ADMIN)
    ours = running.stub(routing_pb2_grpc.RoutingAdminStub, "routing", ADMIN)
    before = ours.ListRuleSetVersions(routing_pb2.ListRuleSetVersionsRequest(), timeout=10)
    assert before.active and not before.inherited
    theirs = other.ListRuleSetVersions(routing_pb2.ListRuleSetVersionsRequest(), timeout=10)
    assert (list(theirs.versions), theirs.active, theirs.inherited) == ([], before.active, True)
    home = routing_pb2.ListRuleSetVersionsRequest(tenant=HOME)
    assert code_of(lambda: other.ListRuleSetVersions(home, timeout=10)) == grpc.StatusCode.NOT_FOUND
    rollback = routing_pb2.RollbackRuleSetRequest(tenant=HOME, to_version="builtin-1", comment="y")
    assert code_of(lambda: other.RollbackRuleSet(rollback, timeout=10)) == grpc.StatusCode.NOT_FOUND
    after = ours.ListRuleSetVersions(routing_pb2.ListRuleSetVersionsRequest(), timeout=10)
    assert after.active == before.active and len(after.versions) == len(before.versions)


def test_another_tenant_cannot_read_our_directory(running: Running):
    other = running.stub(routing_pb2_grpc.RoutingAdminStub, "routing", OTHER_ADMIN)
    request = routing_pb2.ListTeamsRequest(tenant=HOME)
    assert code_of(lambda: other.ListTeams(request, timeout=10)) == grpc.StatusCode.NOT_FOUND


def post_event(running: Running, bearer: str | None) -> tuple[int, dict]:
    port = running.platform.settings.intake_http_port
    headers = {
        "content-type": "application/json",
        "ce-specversion": "1.0",
        "ce-id": f"auth-{time.monotonic_ns()}",
        "ce-source": "tests/auth",
        "ce-type": "haq.complaint.submitted.v1",
    }
    if bearer:
        headers["authorization"] = f"Bearer {bearer}"
    body = json.dumps(
        {"channel": "email", "customer": {"email": "hook@example.com"}, "body": "Parcel broken."}
    )
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/events", data=body.encode(), headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_the_http_endpoint_needs_a_submitting_token(running: Running):
    status, answer = post_event(running, None)
    assert status == 401 and answer["field"] == "authorization"
    status, _ = post_event(running, "garbage")
    assert status == 401
    status, answer = post_event(running, token(["ops"]))
    assert status == 403 and answer["field"] == "roles"
    status, answer = post_event(running, INTEGRATION)
    assert status == 202 and answer["reference"].startswith("HQ-")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def dashboard_get(running: Running, path: str, cookie: str = "") -> tuple[int, dict[str, str], str]:
    url = f"http://127.0.0.1:{running.platform.env['HAQ_DASHBOARD_PORT']}{path}"
    request = urllib.request.Request(url, headers={"cookie": cookie} if cookie else {})
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read().decode()


def test_the_dashboard_needs_a_staff_token(running: Running):
    status, headers, _ = dashboard_get(running, "/sla")
    assert status == 302 and headers["Location"] == "/login"
    status, _, body = dashboard_get(running, "/events")
    assert status == 401 and "staff token" in body
    status, headers, _ = dashboard_get(running, "/?token=" + urllib.parse.quote(INTEGRATION))
    assert status == 302 and headers["Location"].startswith("/login")  # not staff

    status, headers, _ = dashboard_get(running, "/sla?token=" + urllib.parse.quote(token(["ops"])))
    assert status == 302 and headers["Location"] == "/sla"  # the token leaves the address bar
    cookie = headers["Set-Cookie"].split(";", 1)[0]
    status, _, body = dashboard_get(running, "/sla", cookie=cookie)
    assert status == 200 and "SLA" in body
    status, _, body = dashboard_get(running, f"/complaints/{running.complaint_id}", cookie=cookie)
    assert status == 200 and "Broken kettle" in body  # its gRPC calls carry the dashboard's token
    assert dashboard_get(running, "/healthz")[0] == 200


def test_the_developer_token_is_written_for_the_cli(running: Running):
    # devrun keeps a configured secret and mints the development tokens with it
    path = running.platform.settings.data_dir / "tokens" / "developer.token"
    developer = path.read_text().strip()
    intake = running.stub(intake_pb2_grpc.IntakeServiceStub, "intake", developer)
    case = intake.GetComplaint(intake_pb2.GetComplaintRequest(complaint=running.complaint_id), timeout=10)
    assert case.complaint.id == running.complaint_id


def test_only_the_receiving_team_answers_a_transfer(running: Running):
    """Last in this module: it moves the shared complaint to another team."""

    def cases_as(subject: str, team: str) -> Any:
        return running.stub(
            escalation_pb2_grpc.CaseServiceStub,
            "escalation",
            token(["agent"], subject=subject, teams=(team,)),
        )

    owner = cases_as(running.owner, running.team)
    owner.Accept(
        escalation_pb2.AcceptRequest(complaint_id=running.complaint_id, agent=running.owner), timeout=10
    )
    owner.RequestTransfer(
        escalation_pb2.RequestTransferRequest(
            complaint_id=running.complaint_id,
            agent=running.owner,
            to_team="privacy-office",
            reason="personal data",
        ),
        timeout=10,
    )
    colleague = cases_as("a.colleague", running.team)  # sees the case, but is not the receiver
    answer = escalation_pb2.TransferAnswerRequest(complaint_id=running.complaint_id, agent="a.colleague")
    assert code_of(lambda: colleague.AcceptTransfer(answer, timeout=10)) == grpc.StatusCode.PERMISSION_DENIED
    receiver = cases_as("elena.rossi", "privacy-office")
    reply = receiver.AcceptTransfer(
        escalation_pb2.TransferAnswerRequest(complaint_id=running.complaint_id, agent="elena.rossi"),
        timeout=10,
    )
    assert reply.owner == "elena.rossi"
