"""NotificationAdmin over gRPC: validate, ask the service layer, map to protobuf.

Scoping (services/common/auth_policy.py): a complaint's tenant and team are those its events told
notifications (the contact record). Another tenant's complaint or delivery, or one outside an
agent's teams, is NOT_FOUND; with auth on, so is a complaint notifications never heard of (an
empty list there would tell it apart from another tenant's)."""

from __future__ import annotations

import grpc
from sqlmodel import Session

from services.common.auth import current_principal
from services.common.auth_policy import Hidden, can_see, tenant_scope
from services.common.db import as_utc
from services.common.grpc_server import abort_invalid
from services.common.pb.haq.v1 import notifications_pb2, notifications_pb2_grpc

from ..adapters import db
from ..adapters.db import DeliveryRow
from ..domain.guard import Verdict
from ..domain.model import DeliveryStatus, Template
from ..service_layer.admin import Admin, NotFound, NotRetryable


def delivery_to_pb(row: DeliveryRow) -> notifications_pb2.Delivery:
    out = notifications_pb2.Delivery(
        notification_id=row.notification_id,
        complaint_id=row.complaint_id,
        channel=row.channel,
        recipient=row.recipient,
        template=row.template,
        language=row.language,
        status=row.status,
        attempts=row.attempts,
        last_error=row.last_error,
        trigger_event_id=row.trigger_event_id,
        audience=row.audience,
        recipient_id=row.recipient_id,
        manual_retries=row.manual_retries,
        dead_lettered=row.dead_lettered,
    )
    updated = as_utc(row.updated_at)
    if updated is not None:
        out.updated_at.FromDatetime(updated)
    due = as_utc(row.next_attempt_at)
    if due is not None and row.status == DeliveryStatus.PENDING:
        out.next_attempt_at.FromDatetime(due)
    return out


def findings_to_pb(verdict: Verdict) -> list[notifications_pb2.GuardFinding]:
    return [
        notifications_pb2.GuardFinding(phrase=f.phrase, rule=f.rule.value, suggestion=f.suggestion)
        for f in verdict.findings
    ]


class NotificationAdminServicer(notifications_pb2_grpc.NotificationAdminServicer):
    def __init__(self, admin: Admin, default_tenant: str = "default"):
        self.admin = admin
        self.default_tenant = default_tenant

    def _visible(self, complaint: str) -> bool:
        """May the caller see this complaint (by id or reference)? True when auth is off."""
        if current_principal() is None:
            return True
        with Session(self.admin.engine) as session:
            contact = db.find_contact(session, complaint)
        if contact is None:
            return False
        return can_see(contact.tenant or self.default_tenant, contact.team)

    def ListDeliveries(self, request, context: grpc.ServicerContext):
        complaint = request.complaint_id.strip()
        if not complaint:
            abort_invalid(context, "complaint_id", "required")
        status = request.status.strip()
        if status and status not in set(DeliveryStatus):
            abort_invalid(context, "status", f"one of {', '.join(DeliveryStatus)}")
        if not self._visible(complaint):
            context.abort(grpc.StatusCode.NOT_FOUND, f"no complaint {complaint!r} known to notifications")
        # A complaint we never notified about has no deliveries yet: an empty list, not NOT_FOUND.
        rows = self.admin.list_deliveries(complaint, status)
        return notifications_pb2.ListDeliveriesResponse(deliveries=[delivery_to_pb(r) for r in rows])

    def CheckResponse(self, request, context: grpc.ServicerContext):
        if not request.body.strip():
            abort_invalid(context, "body", "required")
        language = request.language.strip().lower()
        if language and language not in ("fa", "en"):
            abort_invalid(context, "language", "fa, en or empty (detected)")
        try:
            tenant = tenant_scope(request.tenant, "")  # "" (auth off, none named): the default config
        except Hidden:
            context.abort(grpc.StatusCode.NOT_FOUND, f"tenant {request.tenant.strip()!r} not found")
        verdict = self.admin.check(tenant, language, request.body)
        return notifications_pb2.CheckResponseResponse(
            allowed=verdict.allowed, mode=verdict.mode.value, findings=findings_to_pb(verdict)
        )

    def PreviewTemplate(self, request, context: grpc.ServicerContext):
        complaint = request.complaint_id.strip()
        if not complaint:
            abort_invalid(context, "complaint_id", "required")
        template = request.template.strip()
        customer_and_staff = [t.value for t in Template if t is not Template.EVENT]
        if template not in customer_and_staff:
            abort_invalid(context, "template", f"one of {', '.join(customer_and_staff)}")
        if not self._visible(complaint):
            context.abort(grpc.StatusCode.NOT_FOUND, f"no complaint {complaint!r} known to notifications")
        try:
            rendered, verdict = self.admin.preview(complaint, template, request.language.strip())
        except NotFound as exc:
            context.abort(grpc.StatusCode.NOT_FOUND, str(exc))
        return notifications_pb2.PreviewTemplateResponse(
            template=rendered.template,
            language=rendered.language,
            direction=rendered.direction,
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html,
            findings=findings_to_pb(verdict),
        )

    def RetryDelivery(self, request, context: grpc.ServicerContext):
        notification_id = request.notification_id.strip()
        if not notification_id:
            abort_invalid(context, "notification_id", "required")
        if current_principal() is not None:
            with Session(self.admin.engine) as session:
                found = db.get_delivery(session, notification_id)
            if found is None or not self._visible(found.complaint_id):
                context.abort(grpc.StatusCode.NOT_FOUND, f"no delivery {notification_id!r}")
        try:
            row = self.admin.retry(notification_id)
        except NotFound as exc:
            context.abort(grpc.StatusCode.NOT_FOUND, str(exc))
        except NotRetryable as exc:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(exc))
        return notifications_pb2.RetryDeliveryResponse(delivery=delivery_to_pb(row))
