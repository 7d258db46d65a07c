"""NotificationAdmin over gRPC: validate, ask the service layer, map to protobuf."""

from __future__ import annotations

import grpc

from services.common.db import as_utc
from services.common.grpc_server import abort_invalid
from services.common.pb.haq.v1 import notifications_pb2, notifications_pb2_grpc

from ..adapters.db import DeliveryRow
from ..service import Notifier


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
    )
    updated = as_utc(row.updated_at)
    if updated is not None:
        out.updated_at.FromDatetime(updated)
    return out


class NotificationAdminServicer(notifications_pb2_grpc.NotificationAdminServicer):
    def __init__(self, notifier: Notifier):
        self.notifier = notifier

    def ListDeliveries(
        self, request: notifications_pb2.ListDeliveriesRequest, context: grpc.ServicerContext
    ) -> notifications_pb2.ListDeliveriesResponse:
        complaint_id = request.complaint_id.strip()
        if not complaint_id:
            abort_invalid(context, "complaint_id", "required")
        # A complaint we never notified about has no deliveries yet: an empty list, not NOT_FOUND.
        rows = self.notifier.list_deliveries(complaint_id)
        return notifications_pb2.ListDeliveriesResponse(deliveries=[delivery_to_pb(r) for r in rows])
