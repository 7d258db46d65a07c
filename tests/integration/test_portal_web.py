"""The portal's web layer against a real intake process: forms need the CSRF token and this site's
Origin, complaint pages need a session, and a signed-in customer never sees (or answers) another
customer's complaint -- it reads exactly like one that does not exist."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import grpc
import pytest
from aiohttp.test_utils import TestClient, TestServer

from services.common import topics
from services.common.pb.haq.v1 import complaint_pb2 as c
from services.common.pb.haq.v1 import intake_pb2, intake_pb2_grpc
from services.common.portal_links import PortalLinkSettings
from services.common.tail import collect
from services.portal.adapters import db
from services.portal.adapters.intake import IntakeClient
from services.portal.app import CSRF_COOKIE, SESSION_COOKIE, create_app
from services.portal.service import Portal
from services.portal.settings import PortalSettings

pytestmark = pytest.mark.integration
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def submit(stub, email: str, subject: str) -> intake_pb2.SubmitComplaintResponse:
    return stub.SubmitComplaint(
        intake_pb2.SubmitComplaintRequest(
            draft=c.ComplaintDraft(
                channel=c.CHANNEL_WEB, sector=c.SECTOR_HEALTHCARE, complainant_role=c.COMPLAINANT_ROLE_PATIENT,
                customer=c.CustomerIdentifiers(email=email), subject=subject, body=f"{subject}: please help.",
            )
        ),
        timeout=10,
    )  # fmt: skip


def test_forms_need_csrf_and_a_customer_sees_only_their_own_complaints(
    settings, start_service, tmp_path: Path
):
    start_service("intake")
    stub = intake_pb2_grpc.IntakeServiceStub(grpc.insecure_channel(settings.grpc_target("intake")))
    mine = submit(stub, "amir@example.com", "Wrong bill")
    theirs = submit(stub, "neda@example.com", "Lost file")
    own = PortalSettings(read_replies=False)
    engine = db.make_engine(f"sqlite:///{tmp_path / 'portal.db'}")
    intake = IntakeClient(settings, own)
    portal = Portal(engine, intake, own, tenant=settings.tenant, public_url="http://portal.test")
    # No relay: the link's event stays in the portal's outbox, where the test reads the token.
    assert portal.request_link(mine.reference, "amir@example.com", "127.0.0.1") == "sent"
    with engine.connect() as conn:
        (value,) = conn.exec_driver_sql("SELECT value FROM outbox").fetchone()
    token = re.search(rb"/link/([A-Za-z0-9_-]+)", value).group(1).decode()

    async def scenario() -> None:
        app = create_app(portal, PortalLinkSettings(portal_link_secret="x"))
        async with TestClient(TestServer(app)) as client:
            home = await client.get("/?lang=en")
            csrf = CSRF.search(await home.text()).group(1)
            assert client.session.cookie_jar.filter_cookies(client.make_url("/"))[CSRF_COOKIE].value == csrf

            no_token = await client.post("/follow", data={"reference": mine.reference, "contact": "x@y.z"})
            assert no_token.status == 403
            other_site = await client.post(
                "/follow", data={"csrf": csrf, "reference": mine.reference, "contact": "x@y.z"},
                headers={"Origin": "https://evil.example"},
            )  # fmt: skip
            assert other_site.status == 403
            same = await client.post(
                "/follow", data={"csrf": csrf, "reference": "HQ-NONE-00", "contact": "x@y.z"}
            )
            assert same.status == 200 and 'data-key="link_sent"' in await same.text()

            unsigned = await client.get(f"/complaints/{mine.reference}", allow_redirects=False)
            assert unsigned.status == 302 and unsigned.headers["Location"].startswith("/?expired")

            opened = await client.get(f"/link/{token}", allow_redirects=False)
            assert opened.status == 302 and SESSION_COOKIE in opened.cookies
            assert (await client.get(f"/link/{token}")).status == 410  # used up

            listing = await (await client.get("/complaints")).text()
            assert mine.reference in listing and theirs.reference not in listing
            page = await client.get(f"/complaints/{mine.reference}")
            assert page.status == 200 and "Wrong bill" in await page.text()
            for ref in (theirs.reference, theirs.complaint_id, "HQ-NONE-00"):
                other = await client.get(f"/complaints/{ref}")
                assert other.status == 404 and "Lost file" not in await other.text()
            answer = await client.post(
                f"/complaints/{theirs.reference}/reply", data={"csrf": csrf, "body": "hi"}
            )
            assert answer.status == 404
            too_long = await client.post(
                f"/complaints/{mine.reference}/reply", data={"csrf": csrf, "body": "x" * 10_001}
            )
            assert too_long.status == 400 and "body" in await too_long.text()
            forged = await client.get(f"/rate/{mine.complaint_id}?score=5&exp=9999999999&sig={'0' * 32}")
            assert forged.status == 410

            exposed = await (await client.get("/metrics")).text()
            assert 'haq_portal_requests_total{route="/complaints/{reference}",status="404"}' in exposed

            await client.post("/logout", data={"csrf": csrf})
            after = await client.get("/complaints", allow_redirects=False)
            assert after.status == 302

    try:
        asyncio.run(scenario())
    finally:
        intake.close()
    # Nothing left the portal for the follow-ups refused above.
    assert not any(
        r.envelope and r.envelope.name == "CustomerFollowedUp"
        for r in collect(settings, topics.LIFECYCLE_TOPIC, lambda rs: False, timeout=2)
    )
