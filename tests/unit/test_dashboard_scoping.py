"""The dashboard shows each signed-in principal only its tenant (and an agent only its teams):
case files, pages, /api/summary and the /events stream, against the real aiohttp app.

The feed state is built from real encoded lifecycle events (encode -> decode, as the tail reads
them); intake and routing are replaced by a stand-in gateway that answers for any tenant, as a
dashboard holding a service token would, so only the dashboard's own checks stand in the way.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from aiohttp.test_utils import TestClient, TestServer

from services.common.auth import mint_token
from services.common.codec import decode, encode, new_event
from services.common.pb.haq.v1 import complaint_pb2 as c
from services.common.pb.haq.v1 import events_pb2 as e
from services.common.pb.haq.v1 import intake_pb2, routing_pb2
from services.common.settings import Settings
from services.console.dashboard.access import COOKIE
from services.console.dashboard.app import FEED, GATEWAY, create_app
from services.console.dashboard.gateway import GatewayError
from services.console.dashboard.settings import DashboardSettings

SECRET = "unit-test-secret-0123456789-abcdefghijklmnop"
OPERATOR, OTHER = "operator", "beta"
NOW = datetime.now(UTC)
# complaint id -> (tenant, team, customer email)
COMPLAINTS = {
    "cmp-op-care": (OPERATOR, "care", "op-care@example.org"),
    "cmp-op-billing": (OPERATOR, "billing", "op-billing@example.org"),
    "cmp-beta-care": (OTHER, "care", "beta-care@example.org"),
}
UNKNOWN = "cmp-nobody-xx"  # same length as the ids above: the 404 pages compare byte for byte


def token(subject: str, tenant: str, roles: list[str], teams: tuple[str, ...] = ()) -> str:
    return mint_token(SECRET, subject, tenant, roles, teams)


OPERATOR_ADMIN = token("root", OPERATOR, ["admin"])
OTHER_OPS = token("beta-ops", OTHER, ["ops"])
BILLING_AGENT = token("sara", OPERATOR, ["agent"], ("billing",))


def wire(message, cid: str, minutes_ago: float):
    """An event as the feed reads it off the topic: encoded to a Kafka record and decoded back."""
    env = new_event(message, source="/test", subject=cid, time=NOW - timedelta(minutes=minutes_ago))
    record = encode(env)
    return decode(record.key, record.value, record.headers)


def lifecycle(cid: str) -> list:
    tenant, team, email = COMPLAINTS[cid]
    complaint = c.Complaint(
        id=cid,
        reference=f"HQ-{cid.upper()}",
        tenant=tenant,
        sector=c.SECTOR_HEALTHCARE,
        channel=c.CHANNEL_EMAIL,
        customer=c.CustomerIdentifiers(email=email),
    )
    complaint.received_at.FromDatetime(NOW - timedelta(minutes=60))
    clock = e.SlaClock(name="first_response", state="running")
    clock.started_at.FromDatetime(NOW - timedelta(minutes=59))
    clock.due_at.FromDatetime(NOW - timedelta(minutes=5))  # overdue: in every principal's breached list
    return [
        wire(e.ComplaintReceived(complaint=complaint), cid, 60),
        wire(e.ComplaintRouted(complaint_id=cid, team=team, owner=f"{team}-owner"), cid, 59.5),
        wire(e.SlaClocksStarted(complaint_id=cid, clocks=[clock]), cid, 59),
    ]


class StandInGateway:
    """Answers for every tenant, so a case file reaches the page unless the dashboard stops it."""

    async def case_file(self, complaint: str, tenant: str = "") -> intake_pb2.CaseFile:
        if complaint not in COMPLAINTS:
            raise GatewayError("intake", "NOT_FOUND", f"no complaint {complaint!r}")
        owner_tenant, team, email = COMPLAINTS[complaint]
        return intake_pb2.CaseFile(
            complaint=c.Complaint(
                id=complaint,
                reference=f"HQ-{complaint.upper()}",
                tenant=owner_tenant,
                customer=c.CustomerIdentifiers(email=email),
                subject=f"the parcel never came, write to {email}",  # personal data on the page
            ),
            team=team,
            owner=f"{team}-owner",
        )

    async def teams(self, tenant: str = "") -> list[routing_pb2.Team]:
        return [
            routing_pb2.Team(id=team, name=f"Team-{team}-{tenant}")
            for team in sorted({t for owner, t, _ in COMPLAINTS.values() if owner == tenant})
        ]

    async def close(self) -> None:
        pass


def dashboard_app():
    settings = Settings(auth_secret=SECRET, tenant=OPERATOR)
    app = create_app(settings, DashboardSettings(replay=False))
    app.on_startup.clear()  # no broker tail and no gRPC channels: the state and gateway are given
    app.on_cleanup.clear()
    app[GATEWAY] = StandInGateway()
    for cid in COMPLAINTS:
        for env in lifecycle(cid):
            assert app[FEED].ingest(env) is not None
    return app


async def read_event_stream(client: TestClient, cookie: str) -> str:
    """The replayed part of /events (everything up to the `connected` comment)."""
    resp = await client.get("/events?after=0", cookies={COOKIE: cookie})
    assert resp.status == 200
    text = ""
    while ": connected" not in text:
        text += (await asyncio.wait_for(resp.content.readuntil(b"\n\n"), 5)).decode()
    resp.close()
    return text


async def get(client: TestClient, path: str, cookie: str) -> tuple[int, str]:
    resp = await client.get(path, cookies={COOKIE: cookie}, allow_redirects=False)
    return resp.status, await resp.text()


def visible_ids(text: str) -> set[str]:
    return {cid for cid in COMPLAINTS if cid in text}


def emails(text: str) -> set[str]:
    return {email for _, _, email in COMPLAINTS.values() if email in text}


async def check_scoping() -> None:
    async with TestClient(TestServer(dashboard_app())) as client:
        seen = {
            "operator admin": (OPERATOR_ADMIN, {"cmp-op-care", "cmp-op-billing"}),
            "other tenant's ops": (OTHER_OPS, {"cmp-beta-care"}),
            "billing agent": (BILLING_AGENT, {"cmp-op-billing"}),
        }
        for who, (cookie, mine) in seen.items():
            for cid in COMPLAINTS:
                status, body = await get(client, f"/complaints/{cid}", cookie)
                if cid in mine:
                    assert status == 200, (who, cid)
                    assert COMPLAINTS[cid][2] in body, (who, cid)  # the customer's text is shown
                else:
                    # Hidden exactly like an unknown complaint: same status, same page.
                    _, unknown_body = await get(client, f"/complaints/{UNKNOWN}", cookie)
                    assert status == 404, (who, cid)
                    assert body.replace(cid, UNKNOWN) == unknown_body, (who, cid)
                    assert not emails(body), (who, cid)

            stream = await read_event_stream(client, cookie)
            assert visible_ids(stream) == mine, who

            summary_resp = await client.get("/api/summary", cookies={COOKIE: cookie})
            assert summary_resp.status == 200
            summary = await summary_resp.json()
            assert summary["complaints"] == len(mine), who
            assert {v["complaint_id"] for v in summary["breached"]} == mine, who
            assert sum(summary["stages"].values()) == len(mine), who
            assert sum(summary["by_sector"].values()) == len(mine), who
            assert visible_ids(await summary_resp.text()) == mine, who

            for page in ("/", "/sla"):
                status, body = await get(client, page, cookie)
                assert status == 200, (who, page)
                assert visible_ids(body) == mine, (who, page)
                assert not emails(body), (who, page)

        # Queues: each principal's own tenant's directory, an agent only its own team.
        _, body = await get(client, "/queues", OTHER_OPS)
        assert "Team-care-beta" in body and "-operator" not in body
        _, body = await get(client, "/queues", BILLING_AGENT)
        assert "Team-billing-operator" in body and "Team-care-" not in body
        _, body = await get(client, "/queues", OPERATOR_ADMIN)
        assert "Team-billing-operator" in body and "Team-care-operator" in body and "-beta" not in body


def test_each_principal_sees_only_its_tenant_and_teams():
    asyncio.run(check_scoping())


async def check_live_stream() -> None:
    app = dashboard_app()
    async with TestClient(TestServer(app)) as client:
        feed = app[FEED]
        feed._loop = asyncio.get_running_loop()  # what feed.start does, without the broker tail
        resp = await client.get("/events", cookies={COOKIE: OTHER_OPS})
        text = ""
        while ": connected" not in text:
            text += (await asyncio.wait_for(resp.content.readuntil(b"\n\n"), 5)).decode()
        # The operator's complaint changes first, then the other tenant's: only the latter arrives.
        feed.ingest(wire(e.AgentResponded(complaint_id="cmp-op-care", agent="care-owner"), "cmp-op-care", 1))
        feed.ingest(
            wire(e.AgentResponded(complaint_id="cmp-beta-care", agent="care-owner"), "cmp-beta-care", 1)
        )
        message = ""
        while "event: flow" not in message:
            message = (await asyncio.wait_for(resp.content.readuntil(b"\n\n"), 5)).decode()
        assert "cmp-beta-care" in message and "cmp-op-care" not in message
        resp.close()


def test_the_live_stream_carries_only_the_principals_tenant():
    asyncio.run(check_live_stream())


def test_without_auth_everything_is_shown_as_before():
    async def check() -> None:
        app = create_app(Settings(tenant=OPERATOR), DashboardSettings(replay=False))
        app.on_startup.clear()
        app.on_cleanup.clear()
        app[GATEWAY] = StandInGateway()
        for cid in COMPLAINTS:
            for env in lifecycle(cid):
                app[FEED].ingest(env)
        async with TestClient(TestServer(app)) as client:
            summary = await (await client.get("/api/summary")).json()
            assert summary["complaints"] == len(COMPLAINTS)
            assert (await client.get("/complaints/cmp-op-care")).status == 200

    asyncio.run(check())
