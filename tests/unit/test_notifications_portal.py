"""Notifications for the portal: the one-time link goes to the contact on record, the resolution
notice carries five signed rating links, and a low rating alerts the team lead (configurable)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.common.pb.haq.v1 import events_pb2
from services.notifications.domain.audience import CaseState, TeamLadder, needs_directory, plan
from services.notifications.domain.model import Audience, Template
from services.notifications.domain.templates import TemplateRenderer
from services.notifications.domain.tenant import StaffProfile, TenantConfig
from services.notifications.service_layer.planner import LowRatingRule, template_values, to_trigger

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
CASE = CaseState(
    complaint_id="c-1", reference="HQ-AB12-34", email="on.record@example.com", channel="web", team="care"
)
LADDER = TeamLadder(lead="lead.one")
LEAD = StaffProfile(id="lead.one", name="Lead One", email="lead@example.com")


def planned(trigger):
    return plan(trigger, CASE, TenantConfig(), person={"lead.one": LEAD}.get, ladder=LADDER, now=NOW)


def test_the_portal_link_goes_to_the_contact_on_record_and_renders_in_both_languages():
    msg = events_pb2.PortalLinkRequested(
        complaint_id="c-1", link_id="l-1", url="http://portal/link/abc", purpose="follow"
    )
    msg.expires_at.FromDatetime(NOW + timedelta(minutes=30))
    trigger = to_trigger("portal-link:l-1", "PortalLinkRequested", msg, "c-1")
    (p,) = planned(trigger)
    assert (p.template, p.audience, p.address) == (
        Template.PORTAL_LINK,
        Audience.CUSTOMER,
        "on.record@example.com",
    )
    values = template_values(trigger, CASE, TenantConfig(), recipient_name="customer", people={})
    for language in ("en", "fa"):
        text = TemplateRenderer().render("portal_link", language, values).text
        assert "http://portal/link/abc" in text


def test_the_resolution_notice_carries_five_rating_links():
    msg = events_pb2.Resolved(complaint_id="c-1", owner="a1", summary="Fixed.")
    msg.resolved_at.FromDatetime(NOW)
    trigger = to_trigger("resolved:c-1", "Resolved", msg, "c-1")
    values = template_values(trigger, CASE, TenantConfig(), recipient_name="customer", people={})
    assert [score for score, _ in values["rating_links"]] == [1, 2, 3, 4, 5]
    text = TemplateRenderer().render("resolved", "en", values).text
    assert all(f"/rate/c-1?score={n}&" in text for n in range(1, 6))


def test_a_low_rating_alerts_the_team_lead_unless_configured_otherwise():
    def rated(rating: int, rule: LowRatingRule):
        return to_trigger(
            f"rated:{rating}",
            "ComplaintRated",
            events_pb2.ComplaintRated(complaint_id="c-1", rating=rating),
            "c-1",
            rule,
        )

    low = rated(2, LowRatingRule())
    assert needs_directory(low, CASE)
    (p,) = planned(low)
    assert (p.template, p.recipient_id, p.address) == (Template.LOW_RATING, "lead.one", "lead@example.com")
    assert planned(rated(3, LowRatingRule())) == []  # above the threshold
    assert planned(rated(1, LowRatingRule("none"))) == []
    assert planned(rated(1, LowRatingRule("reopen"))) == []  # escalation's to do, not a mail
    assert planned(rated(3, LowRatingRule(threshold=3)))[0].template is Template.LOW_RATING
