"""Agent actions (the gRPC use cases): load the case, apply the domain function, commit with its events."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.engine import Engine
from sqlmodel import Session

from services.common.db import ProcessedEvent
from services.common.outbox import OutboxRelay

from ..adapters.db import (
    StaleCase,
    load_case,
    save_case,
)
from ..adapters.guard import GuardVerdict
from ..domain import (
    Case,
    Clock,
)
from .shared import Binder, CaseNotFound, Guard, GuardBlocked, publish, stored_tenant

log = logging.getLogger(__name__)


ACTIONS_CONSUMER = "escalation-actions"

T = TypeVar("T")


@dataclass(frozen=True)
class ActionResult:
    case: Case
    event_ids: list[str]
    value: Any = None
    replayed: bool = False


class CaseActions:
    """Agent actions: each loads the case, applies the domain function, and commits the change
    with its events. A request id makes a retried call apply once; it is scoped to the case's
    tenant, the complaint and the action, so the same id on another complaint or another action
    is a new request (and its events get ids of their own)."""

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        binder: Binder,
        guard: Guard | None = None,
        relay: OutboxRelay | None = None,
        default_tenant: str = "default",
    ):
        self.engine = engine
        self.clock = clock
        self.binder = binder
        self.guard = guard
        self.relay = relay
        self.default_tenant = default_tenant

    def apply(
        self,
        complaint_id: str,
        request_id: str,
        action: Callable[[Case, datetime], T],
        *,
        kind: str,
    ) -> ActionResult:
        for attempt in range(3):
            with Session(self.engine) as session:
                case = load_case(session, complaint_id)
                if case is None:
                    raise CaseNotFound(f"complaint {complaint_id} has no case in escalation")
                stored = stored_tenant(session, complaint_id)
                self.binder(case, stored)
                if request_id:
                    tenant = stored or self.default_tenant
                    trigger = f"action:{tenant}:{complaint_id}:{kind}:{request_id}"
                    if session.get(ProcessedEvent, (ACTIONS_CONSUMER, trigger)) is not None:
                        return ActionResult(case, [], replayed=True)
                else:
                    trigger = f"action:{uuid.uuid4()}"
                value = action(case, self.clock.now())
                try:
                    save_case(session, case)
                    envelopes = publish(session, case, trigger)
                    if request_id:
                        session.add(ProcessedEvent(consumer=ACTIONS_CONSUMER, event_id=trigger))
                    session.commit()
                except StaleCase:
                    session.rollback()
                    if attempt == 2:
                        raise
                    continue
            if self.relay is not None:
                self.relay.wake()
            return ActionResult(case, [e.id for e in envelopes], value)
        raise AssertionError("unreachable")

    def check_response(self, body: str, language: str = "", tenant: str = "") -> GuardVerdict:
        """Ask the guard, with the settings of `tenant` (the complaint's; "" the operator's), before
        the reply is accepted; refuse it when the guard blocks it."""
        if self.guard is None:
            return GuardVerdict(allowed=True, ran=False)
        verdict = self.guard.check(body, language, tenant)
        if not verdict.allowed:
            raise GuardBlocked(verdict.findings)
        return verdict
