"""SLA policies: how long each clock may run, by priority.

Targets are plain wall-clock durations at this stage. Business calendars (working hours per team
and time zone, Monday-Friday or Saturday-Wednesday weeks, holidays), pauses while waiting on the
customer, next-response and resolution clocks, and per-sector defaults with their sources arrive
with the escalation issue (#4); `SlaPolicy.targets` is the seam they plug into.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum


class Priority(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"


class ClockName(StrEnum):
    ACKNOWLEDGEMENT = "acknowledgement"  # the customer hears we have it
    OWNER_ACCEPTANCE = "owner_acceptance"  # the offered owner accepts the case
    FIRST_RESPONSE = "first_response"  # a person answers the customer


@dataclass(frozen=True)
class SlaPolicy:
    name: str
    acknowledgement: timedelta
    owner_acceptance: Mapping[Priority, timedelta]
    first_response: Mapping[Priority, timedelta]

    def targets(self, priority: Priority) -> dict[ClockName, timedelta]:
        return {
            ClockName.ACKNOWLEDGEMENT: self.acknowledgement,
            ClockName.OWNER_ACCEPTANCE: self.owner_acceptance[priority],
            ClockName.FIRST_RESPONSE: self.first_response[priority],
        }


def _minutes(critical: float, high: float, normal: float, low: float) -> dict[Priority, timedelta]:
    return {
        Priority.CRITICAL: timedelta(minutes=critical),
        Priority.HIGH: timedelta(minutes=high),
        Priority.NORMAL: timedelta(minutes=normal),
        Priority.LOW: timedelta(minutes=low),
    }


DEFAULT_POLICY = "default"

_ACK = timedelta(seconds=60)
_ACCEPT = _minutes(5, 15, 15, 15)
_FIRST_RESPONSE = _minutes(60, 4 * 60, 24 * 60, 72 * 60)
# Danger to someone (violence, self-harm, safeguarding, clinical harm): priority already says
# critical, but a lower-priority complaint under these policies must not wait a day either.
_URGENT_ACCEPT = _minutes(5, 5, 10, 10)
_URGENT_FIRST_RESPONSE = _minutes(30, 60, 4 * 60, 8 * 60)
# Contracts that buy faster answers.
_CONTRACT_FIRST_RESPONSE = _minutes(30, 2 * 60, 8 * 60, 24 * 60)


def _policy(
    name: str,
    accept: Mapping[Priority, timedelta] = _ACCEPT,
    first_response: Mapping[Priority, timedelta] = _FIRST_RESPONSE,
) -> SlaPolicy:
    return SlaPolicy(name, _ACK, accept, first_response)


# Keyed by the sla_policy names routing's rule sets use (services/routing/seed/rules.yaml).
POLICIES: Mapping[str, SlaPolicy] = {
    policy.name: policy
    for policy in (
        _policy(DEFAULT_POLICY),
        _policy("safety-critical", _URGENT_ACCEPT, _URGENT_FIRST_RESPONSE),
        _policy("healthcare-clinical", _URGENT_ACCEPT, _URGENT_FIRST_RESPONSE),
        _policy("education-safeguarding", _URGENT_ACCEPT, _URGENT_FIRST_RESPONSE),
        _policy("healthcare-privacy"),
        _policy("healthcare-standard"),
        _policy("education-standard"),
        _policy("b2b-contract", first_response=_CONTRACT_FIRST_RESPONSE),
        _policy("b2b-standard"),
    )
}


def policy_for(name: str, policies: Mapping[str, SlaPolicy] = POLICIES) -> SlaPolicy:
    """The named policy; an unknown or empty name gets the default, so no complaint runs without
    clocks (the policy actually applied is reported with the clocks)."""
    key = name.strip().lower()
    return policies.get(key) or policies[DEFAULT_POLICY]
