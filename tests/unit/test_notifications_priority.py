"""The customer first under pressure: deliveries are sent by class (customer messages and alerts on
critical complaints, then staff alerts that ask for action, then staff information), then by due time."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from services.common.db import create_tables, make_engine, utcnow
from services.notifications.adapters import db
from services.notifications.domain.model import (
    CUSTOMER_FIRST,
    STAFF_ACTION,
    STAFF_INFO,
    delivery_class,
)


def test_classes() -> None:
    assert delivery_class("acknowledgement", "customer", "normal") == CUSTOMER_FIRST
    assert delivery_class("new_assignment", "staff", "critical") == CUSTOMER_FIRST  # safety first
    assert delivery_class("escalation", "staff", "high") == STAFF_ACTION
    assert delivery_class("sla_warning", "staff", "normal") == STAFF_ACTION
    assert delivery_class("new_assignment", "staff", "normal") == STAFF_INFO
    assert delivery_class("event", "integration", "normal") == STAFF_INFO


def test_a_backlog_of_staff_mail_does_not_hold_back_a_later_acknowledgement(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'n.db'}")
    create_tables(engine, db.TABLES)
    now = utcnow()

    def row(i: int, template: str, audience: str, age_s: float) -> db.DeliveryRow:
        return db.DeliveryRow(
            notification_id=f"n-{i}", complaint_id=f"c-{i}", trigger_event_id=f"e-{i}", recipient=f"r{i}@x.example",
            channel="email", template=template, language="en", audience=audience,
            priority_class=delivery_class(template, audience, "normal"),
            next_attempt_at=now - timedelta(seconds=age_s), created_at=now - timedelta(seconds=age_s),
        )  # fmt: skip

    staff = [row(i, "new_assignment", "staff", 300 - i) for i in range(300)]
    warning = row(900, "sla_warning", "staff", 5)
    ack = row(999, "acknowledgement", "customer", 1)
    for i, batch in enumerate((staff, [warning], [ack])):
        db.plan_deliveries(engine, f"e-batch-{i}", batch)
    due = db.due_deliveries(engine, now, limit=50)
    assert [r.notification_id for r in due[:2]] == ["n-999", "n-900"]
    assert due[2].notification_id == "n-0"  # then the oldest staff mail
