"""The portal's pure rules: single-use hashed link tokens and their expiry, contact matching,
customer scoping, rate limits, the customer's words in both languages, and signed rating links."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.common.portal_links import PortalLinkSettings, check_rating_link, rating_links
from services.portal.domain import links, strings

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def test_a_link_token_is_random_and_only_its_hash_is_kept():
    a, b = links.issue_link(NOW, 1800), links.issue_link(NOW, 1800)
    assert a.token != b.token and len(a.token) >= 40
    assert a.token_hash == links.token_hash(a.token) and a.token not in a.token_hash
    assert a.expires_at == NOW + timedelta(minutes=30)


def test_a_link_works_once_and_not_after_it_expires():
    expires = NOW + timedelta(minutes=30)
    assert links.link_usable(expires, None, NOW)
    assert not links.link_usable(expires, NOW, NOW + timedelta(minutes=1))  # used
    assert not links.link_usable(expires, None, expires)  # expired
    assert not links.link_usable(expires, None, expires + timedelta(seconds=1))


def test_the_contact_must_match_one_on_record_in_normal_form():
    on_record = ["Maryam.K@Example.com", "+989121234567"]
    assert links.contact_matches(" maryam.k@example.COM ", on_record)
    assert links.contact_matches("09121234567", on_record)  # national form, region IR
    assert not links.contact_matches("someone@example.com", on_record)
    assert not links.contact_matches("09121234568", on_record)
    assert not links.contact_matches("", on_record) and not links.contact_matches("x" * 300, on_record)
    assert not links.contact_matches("maryam.k@example.com", ["", ""])


def test_a_customer_sees_only_their_own_complaints():
    assert links.may_see({"cust-1", "cust-merged"}, "cust-1")
    assert links.may_see({"cust-1", "cust-merged"}, "cust-merged")
    assert not links.may_see({"cust-1"}, "cust-2")
    assert not links.may_see({"cust-1"}, "")


def test_rate_limit_and_what_the_customer_reads():
    assert links.within_limit(2, 3) and not links.within_limit(3, 3)
    assert links.owner_role("healthcare", owned=True) == "role_patient_experience"
    assert links.owner_role("general", owned=True) == "role_customer_care"
    assert links.owner_role("healthcare", owned=False) == "role_unassigned"
    assert links.customer_status("waiting_on_customer") == "status_waiting_on_you"
    clocks = [
        links.ClockView("acknowledgement", "met", NOW),
        links.ClockView("resolution", "running", NOW + timedelta(days=3)),
        links.ClockView("first_response", "running", NOW + timedelta(hours=4)),
    ]
    assert links.next_promise(clocks) == ("first_response", NOW + timedelta(hours=4))
    assert links.next_promise([links.ClockView("first_response", "paused", NOW)]) is None


def test_every_string_exists_in_both_languages():
    assert set(strings.STRINGS["fa"]) == set(strings.STRINGS["en"])
    assert strings.choose("fa-IR") == "fa" and strings.choose("de") == strings.DEFAULT
    for key in ("role_patient_experience", "status_waiting_on_you"):
        assert strings.STRINGS["fa"][key] != strings.STRINGS["en"][key]


def test_rating_links_are_signed_per_complaint_and_expire():
    settings = PortalLinkSettings(portal_public_url="https://portal.example/", portal_link_secret="s3cret")
    made = rating_links("c-1", NOW, settings)
    assert [score for score, _ in made] == [1, 2, 3, 4, 5]
    url = made[3][1]
    assert url.startswith("https://portal.example/rate/c-1?score=4&")
    params = dict(p.split("=") for p in url.split("?", 1)[1].split("&"))
    exp, sig = int(params["exp"]), params["sig"]
    secret = settings.secret()
    assert check_rating_link("c-1", exp, sig, NOW, secret)
    assert not check_rating_link("c-2", exp, sig, NOW, secret)  # another complaint
    assert not check_rating_link("c-1", exp + 86400, sig, NOW, secret)  # a later expiry
    assert not check_rating_link("c-1", exp, sig, NOW + timedelta(days=31), secret)  # expired
    assert not check_rating_link("c-1", exp, sig, NOW, b"other secret")
