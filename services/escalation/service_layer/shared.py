"""Escalation's service layer, shared by its rooms: metrics, the ports it reads (directory, guard),
the binder and publishing a case's events."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Protocol

from prometheus_client import Counter
from sqlmodel import Session

from services.common import topics
from services.common.codec import Envelope
from services.common.outbox import outbox_row, stage

from ..adapters.db import (
    CaseBatch,
    case_tenant,
)
from ..adapters.events import to_envelopes
from ..adapters.guard import Finding, GuardVerdict
from ..domain import (
    ALWAYS_OPEN,
    POLICIES,
    Calendars,
    Case,
    ClockBreached,
    Escalated,
    Ladder,
    Roster,
    SlaPolicy,
    SlaWarning,
    policy_for,
)

log = logging.getLogger(__name__)


BREACHES = Counter("haq_sla_breaches_total", "SLA clocks marked breached", ["clock"])
WARNINGS = Counter("haq_sla_warnings_total", "SLA warnings raised", ["clock"])
ESCALATIONS = Counter("haq_escalations_total", "Escalation ladder steps", ["level"])


class Directory(Protocol):
    """Read from a cache only: never a call to another service (it may run inside a transaction).

    `tenant` is the complaint's tenant; "" means the operator tenant."""

    def ladder(self, team: str, tenant: str = "") -> Ladder: ...

    def roster(self, tenant: str = "") -> Roster | None: ...


class Guard(Protocol):
    """`tenant`: whose settings (guard mode, reply length) apply; "" means the guard's own."""

    def check(self, body: str, language: str = "", tenant: str = "") -> GuardVerdict: ...


class NoLadder:
    def ladder(self, team: str, tenant: str = "") -> Ladder:
        return Ladder()

    def roster(self, tenant: str = "") -> Roster | None:
        return None  # no directory: transfers are not checked against one


def stored_tenant(session: Session, complaint_id: str) -> str:
    """The tenant the complaint's ComplaintReceived named; "" (the operator tenant) when none."""
    return case_tenant(session, complaint_id, "")


class CaseNotFound(LookupError):
    pass


class GuardBlocked(RuntimeError):
    """The response guard refused the reply; findings say what to change."""

    def __init__(self, findings: tuple[Finding, ...]):
        super().__init__("; ".join(f.describe() for f in findings) or "refused by the response guard")
        self.findings = findings


def publish(session: Session, case: Case, trigger_id: str) -> list[Envelope]:
    envelopes = to_envelopes(case.events, trigger_id)
    batch = CaseBatch.current(session)
    for envelope in envelopes:
        if batch is not None:  # inserted with the batch's other writes, in this order
            batch.outbox.append(outbox_row(envelope, topics.LIFECYCLE_TOPIC))
        else:
            stage(session, envelope, topics.LIFECYCLE_TOPIC)
    _count(case)
    case.events.clear()
    return envelopes


def _count(case: Case) -> None:
    for event in case.events:
        if isinstance(event, ClockBreached):
            BREACHES.labels(event.clock.name.value).inc()
            log.warning(
                "SLA clock %s breached for complaint %s (owner %s, team %s)",
                event.clock.name.value,
                case.complaint_id,
                event.owner,
                event.team,
            )
        elif isinstance(event, SlaWarning):
            WARNINGS.labels(event.clock.name.value).inc()
        elif isinstance(event, Escalated):
            ESCALATIONS.labels(event.level).inc()


class Binder:
    """Gives a loaded case what is not stored with it: its policy, calendar and ladder (the
    complaint's tenant's; "" reads the operator tenant's)."""

    def __init__(
        self,
        policies: Mapping[str, SlaPolicy] = POLICIES,
        calendars: Calendars = ALWAYS_OPEN,
        directory: Directory | None = None,
    ):
        self.policies = policies
        self.calendars = calendars
        self.directory: Directory = directory or NoLadder()

    def __call__(self, case: Case, tenant: str = "") -> Case:
        return case.bind(
            policy_for(case.policy, self.policies),
            self.calendars.for_team(case.team),
            self.directory.ladder(case.team, tenant),
        )
