"""SLA policies: the target of each clock by priority, counted in the team's business time.

Per-sector and contract defaults, with the sources they follow, are documented in docs/SLA.md.
Round-the-clock policies (danger to a person) count every minute; the acknowledgement is
automatic and always counts every minute.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
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
    NEXT_RESPONSE = "next_response"  # a person answers each customer follow-up
    RESOLUTION = "resolution"  # the complaint is resolved


# Clocks that a public reply to the customer satisfies.
RESPONSE_CLOCKS = (ClockName.FIRST_RESPONSE, ClockName.NEXT_RESPONSE)
# Clocks that stop counting while the complaint waits on the customer.
PAUSABLE_CLOCKS = (ClockName.RESOLUTION, ClockName.NEXT_RESPONSE, ClockName.FIRST_RESPONSE)
# Clocks that run from when the complaint is opened.
OPENING_CLOCKS = (
    ClockName.ACKNOWLEDGEMENT,
    ClockName.OWNER_ACCEPTANCE,
    ClockName.FIRST_RESPONSE,
    ClockName.RESOLUTION,
)

DEFAULT_WARN_SHARE = 0.75


@dataclass(frozen=True)
class SlaPolicy:
    name: str
    acknowledgement: timedelta
    owner_acceptance: Mapping[Priority, timedelta]
    first_response: Mapping[Priority, timedelta]
    next_response: Mapping[Priority, timedelta]
    resolution: Mapping[Priority, timedelta]
    round_the_clock: bool = False  # every clock counts every minute, not business hours
    warn_share: float = DEFAULT_WARN_SHARE  # SlaWarning when this share of the target is used

    def target(self, clock: ClockName, priority: Priority) -> timedelta:
        if clock is ClockName.ACKNOWLEDGEMENT:
            return self.acknowledgement
        return getattr(self, clock.value)[priority]

    def targets(self, priority: Priority) -> dict[ClockName, timedelta]:
        """The clocks that start when a complaint is opened."""
        return {name: self.target(name, priority) for name in OPENING_CLOCKS}

    def counts_every_minute(self, clock: ClockName) -> bool:
        return self.round_the_clock or clock is ClockName.ACKNOWLEDGEMENT


def _minutes(critical: float, high: float, normal: float, low: float) -> dict[Priority, timedelta]:
    return {
        Priority.CRITICAL: timedelta(minutes=critical),
        Priority.HIGH: timedelta(minutes=high),
        Priority.NORMAL: timedelta(minutes=normal),
        Priority.LOW: timedelta(minutes=low),
    }


def _hours(critical: float, high: float, normal: float, low: float) -> dict[Priority, timedelta]:
    return _minutes(critical * 60, high * 60, normal * 60, low * 60)


DEFAULT_POLICY = "default"

_ACK = timedelta(seconds=60)
# Business-hour targets (a working day is about 8 hours).
_ACCEPT = _minutes(5, 15, 15, 30)
_FIRST_RESPONSE = _hours(1, 4, 8, 16)
_NEXT_RESPONSE = _hours(1, 4, 8, 16)
_RESOLUTION = _hours(8, 24, 40, 80)
# Danger to someone (violence, self-harm, safeguarding, clinical harm): round the clock.
_URGENT_ACCEPT = _minutes(5, 5, 10, 10)
_URGENT_RESPONSE = _hours(0.5, 1, 4, 8)
_URGENT_RESOLUTION = _hours(24, 48, 72, 120)
# Personal-data complaints: a regulator expects an answer within a month; we answer faster.
_PRIVACY_RESOLUTION = _hours(8, 24, 40, 64)
# Contracts that buy faster answers.
_CONTRACT_RESPONSE = _hours(0.5, 2, 4, 8)
_CONTRACT_RESOLUTION = _hours(8, 16, 24, 40)


def _policy(name: str, **overrides: object) -> SlaPolicy:
    base = SlaPolicy(name, _ACK, _ACCEPT, _FIRST_RESPONSE, _NEXT_RESPONSE, _RESOLUTION)
    return replace(base, **overrides)  # type: ignore[arg-type]


_URGENT = {
    "owner_acceptance": _URGENT_ACCEPT,
    "first_response": _URGENT_RESPONSE,
    "next_response": _URGENT_RESPONSE,
    "resolution": _URGENT_RESOLUTION,
    "round_the_clock": True,
    "warn_share": 0.5,  # half the target: there is little room to recover
}

# Keyed by the sla_policy names routing's rule sets use (services/routing/seed/rules.yaml).
POLICIES: Mapping[str, SlaPolicy] = {
    policy.name: policy
    for policy in (
        _policy(DEFAULT_POLICY),
        _policy("safety-critical", **_URGENT),
        _policy("healthcare-clinical", **_URGENT),
        _policy("education-safeguarding", **_URGENT),
        _policy("healthcare-privacy", resolution=_PRIVACY_RESOLUTION),
        _policy("healthcare-standard"),
        _policy("education-standard"),
        _policy(
            "b2b-contract",
            first_response=_CONTRACT_RESPONSE,
            next_response=_CONTRACT_RESPONSE,
            resolution=_CONTRACT_RESOLUTION,
        ),
        _policy("b2b-standard"),
    )
}


def policy_for(name: str, policies: Mapping[str, SlaPolicy] = POLICIES) -> SlaPolicy:
    """The named policy; an unknown or empty name gets the default, so no complaint runs without
    clocks (the policy actually applied is reported with the clocks)."""
    key = name.strip().lower()
    return policies.get(key) or policies[DEFAULT_POLICY]


def with_warn_share(policies: Mapping[str, SlaPolicy], share: float | None) -> dict[str, SlaPolicy]:
    """Every policy warning at `share` of its targets (a deployment setting); None keeps each
    policy's own share."""
    if share is None:
        return dict(policies)
    if not 0 < share < 1:
        raise ValueError(f"warn share must be between 0 and 1, got {share}")
    return {name: replace(p, warn_share=share) for name, p in policies.items()}
