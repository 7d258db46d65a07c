"""NotificationAdmin's use cases: list deliveries, retry a failed one, check a reply, preview a template."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from services.common.db import as_utc, utcnow

from ..adapters import db
from ..adapters.tenant_config import TenantBook
from ..domain import guard
from ..domain.audience import Trigger
from ..domain.model import Template
from ..domain.templates import RenderedMessage
from .dispatcher import Dispatcher
from .planner import Planner, case_from, template_values


class NotFound(Exception):
    pass


class NotRetryable(Exception):
    pass


class Admin:
    def __init__(
        self,
        engine: Engine,
        planner: Planner,
        tenants: TenantBook,
        dispatcher: Dispatcher | None,
        clock: Callable[[], datetime] = utcnow,
    ):
        self.engine = engine
        self.planner = planner
        self.tenants = tenants
        self.dispatcher = dispatcher
        self.clock = clock

    def list_deliveries(self, complaint: str, status: str = "") -> list[db.DeliveryRow]:
        with Session(self.engine) as session:
            contact = db.find_contact(session, complaint)
            complaint_id = contact.complaint_id if contact else complaint
            return db.list_deliveries(session, complaint_id, status)

    def retry(self, notification_id: str) -> db.DeliveryRow:
        with Session(self.engine) as session:
            row = db.get_delivery(session, notification_id)
        if row is None:
            raise NotFound(f"no delivery {notification_id!r}")
        requeued = db.requeue_failed(self.engine, notification_id, now=self.clock())
        if requeued is None:
            raise NotRetryable(
                f"delivery {notification_id} is {row.status}; only a failed delivery can be retried"
            )
        if self.dispatcher is not None:
            self.dispatcher.wake()
        return requeued

    def check(self, tenant: str, language: str, body: str) -> guard.Verdict:
        config = self.tenants.get(tenant)
        return guard.check(body, mode=config.guard_mode, language=language, max_chars=config.max_reply_chars)

    def preview(
        self, complaint: str, template: str, language: str = ""
    ) -> tuple[RenderedMessage, guard.Verdict]:
        Template(template)  # ValueError for an unknown name
        with Session(self.engine) as session:
            contact = db.find_contact(session, complaint)
        if contact is None:
            raise NotFound(f"no complaint {complaint!r} known to notifications")
        case = case_from(contact, contact.complaint_id)
        tenant = self.tenants.get(case.tenant)
        now = self.clock()
        sample: dict[str, Any] = {
            "body": "(the agent's reply)", "question": "(the agent's question)", "summary": "(the resolution summary)",
            "follow_up": "(the customer's message)", "reason": "", "level": "team_lead", "clock": "first_response",
            "share_elapsed": 80, "accept_by": now + timedelta(minutes=30), "due_at": now + timedelta(hours=1),
            "resolved_at": now, "received_at": as_utc(contact.received_at) or now,
        }  # fmt: skip
        name = "ComplaintReceived" if template == Template.ACKNOWLEDGEMENT else ""
        trigger = Trigger("preview", name, case.complaint_id, values=sample)
        values = template_values(trigger, case, tenant, recipient_name=case.owner or "colleague", people={})
        rendered = self.planner.renderer.render(template, language or case.language, values)
        return rendered, guard.check(
            rendered.subject + "\n" + rendered.text, mode=tenant.guard_mode, max_chars=0
        )
