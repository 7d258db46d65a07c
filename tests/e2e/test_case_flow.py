"""`haq case` drives one complaint through its whole life on the running platform (started as
`make run` starts it), and `haq show` shows every step and every clock."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.e2e.test_platform import Platform, haq

pytestmark = pytest.mark.e2e


def run(platform: Platform, *args: str) -> dict:
    done = haq(platform, *args, "--json")
    assert done.returncode == 0, f"haq {' '.join(args)} failed ({done.returncode}): {done.stderr}"
    return json.loads(done.stdout) if done.stdout.strip() else {}


def case_when(platform: Platform, reference: str, condition, what: str, timeout: float = 60) -> dict:
    """The case file once `condition(case)` holds: the case file follows the lifecycle topic."""
    deadline = time.monotonic() + timeout
    while True:
        case = run(platform, "show", reference)
        if condition(case):
            return case
        assert time.monotonic() < deadline, f"waited {timeout} s for {what}; case file: {case}"
        time.sleep(0.3)


def test_accept_request_info_follow_up_transfer_declined_then_accepted_and_resolve(tmp_path: Path):
    platform = Platform(tmp_path)
    try:
        platform.wait_ready()
        submitted = run(
            platform,
            "submit",
            "--channel",
            "email",
            "--sector",
            "healthcare",
            "--role",
            "patient",
            "--customer-email",
            "parisa@example.com",
            "--subject",
            "Bill charged twice",
            "--body",
            "I was charged twice for my appointment and nobody has explained why.",
        )
        ref = submitted["reference"]
        case = case_when(platform, ref, lambda k: k["owner"] and k["status"] == "offered", "an offered owner")
        owner, team = case["owner"], case["team"]

        run(platform, "case", "accept", ref, "--agent", owner)
        case_when(platform, ref, lambda k: k["status"] == "owned", "acceptance")

        run(platform, "case", "request-info", ref, "--agent", owner, "--question", "Which card was charged?")
        case_when(platform, ref, lambda k: k["status"] == "waiting_on_customer", "waiting on the customer")

        run(platform, "follow-up", ref, "--body", "The Visa card ending 4411, twice on 2 November.")
        case_when(
            platform,
            ref,
            lambda k: (
                k["status"] in ("in_progress", "owned")
                and any(t["type"] == "SlaClocksResumed" for t in k["timeline"])
            ),
            "the follow-up resuming the clocks",
        )

        # a transfer is a request: declined, the owner stays accountable
        run(
            platform,
            "case",
            "transfer",
            ref,
            "--agent",
            owner,
            "--to-team",
            "privacy-office",
            "--reason",
            "card data",
        )
        run(
            platform,
            "case",
            "decline-transfer",
            ref,
            "--agent",
            "elena.rossi",
            "--reason",
            "a billing matter",
        )
        case = case_when(
            platform,
            ref,
            lambda k: any(t["type"] == "TransferDeclined" for t in k["timeline"]),
            "the decline",
        )
        assert case["owner"] == owner and case["team"] == team

        # asked again and accepted: ownership moves only now
        run(
            platform,
            "case",
            "transfer",
            ref,
            "--agent",
            owner,
            "--to-team",
            "privacy-office",
            "--reason",
            "card data",
        )
        run(platform, "case", "accept-transfer", ref, "--agent", "elena.rossi")
        case_when(platform, ref, lambda k: k["owner"] == "elena.rossi", "the transfer to land")

        run(
            platform,
            "case",
            "resolve",
            ref,
            "--agent",
            "elena.rossi",
            "--code",
            "refunded",
            "--summary",
            "The duplicate charge was refunded to your card.",
        )
        case = case_when(platform, ref, lambda k: k["status"] == "resolved", "resolution")
    finally:
        platform.stop()

    types = [t["type"] for t in case["timeline"]]
    for expected in (
        "ComplaintReceived",
        "ComplaintRouted",
        "OwnerAssigned",
        "OwnerAccepted",
        "InfoRequested",
        "SlaClocksPaused",
        "CustomerFollowedUp",
        "SlaClocksResumed",
        "TransferRequested",
        "TransferDeclined",
        "TransferAccepted",
        "Resolved",
    ):
        assert expected in types, f"{expected} missing from the timeline: {types}"
    assert types.index("TransferDeclined") < types.index("TransferAccepted") < types.index("Resolved")
    clocks = {c["clock"]: c for c in case["sla"]}
    assert {"acknowledgement", "owner_acceptance", "first_response", "resolution"} <= set(clocks), clocks
    assert all(c["due_at"] for c in clocks.values())
    assert clocks["acknowledgement"]["state"] == "met"
    assert clocks["resolution"]["state"] == "met"
