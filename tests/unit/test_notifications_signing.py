"""Webhook signatures as a receiver checks them: the documented scheme, tampering, replay window."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from services.notifications.domain.signing import SignatureError, sign, verify

BODY = b'{"type":"haq.v1.Resolved","complaint":{"reference":"HQ-7KX2-94"}}'
T = 1_700_000_000


def test_header_is_the_documented_hmac_over_timestamp_dot_body() -> None:
    expected = hmac.new(b"s3cret", f"{T}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert sign("s3cret", BODY, timestamp=T) == f"t={T},v1={expected}"
    assert verify("s3cret", BODY, f"t={T},v1={expected}", now=T) == T


@pytest.mark.parametrize(
    ("secret", "body", "now", "message"),
    [
        ("s3cret", BODY.replace(b"HQ-7KX2-94", b"HQ-0000-00"), T, "does not match"),
        ("other", BODY, T, "does not match"),
        ("s3cret", BODY, T + 301, "replay window"),
        ("s3cret", BODY, T - 301, "replay window"),
    ],
)
def test_tampering_wrong_secret_and_replays_fail(secret: str, body: bytes, now: int, message: str) -> None:
    with pytest.raises(SignatureError, match=message):
        verify(secret, body, sign("s3cret", BODY, timestamp=T), now=now)


@pytest.mark.parametrize("header", ["", "v1=abc", f"t={T}", "garbage", f"t=soon,v1={'0' * 64}"])
def test_malformed_headers_fail(header: str) -> None:
    with pytest.raises(SignatureError, match="malformed"):
        verify("s3cret", BODY, header, now=T)


def test_any_of_several_signatures_matches_during_secret_rotation() -> None:
    old = sign("old", BODY, timestamp=T).split(",")[1]
    new = sign("new", BODY, timestamp=T)
    assert verify("old", BODY, f"{new},{old}", now=T) == T
