"""IntakeService over gRPC: validation errors are INVALID_ARGUMENT naming the field.

Scoping (services/common/auth_policy.py): the caller works in their token's tenant; another
tenant's complaint or customer, or a complaint outside an agent's teams, is NOT_FOUND."""

from __future__ import annotations

import grpc

from services.common.auth import current_principal
from services.common.auth_policy import Hidden, can_see, check_visible, tenant_scope
from services.common.grpc_server import abort_invalid
from services.common.pb.haq.v1 import complaint_pb2, intake_pb2, intake_pb2_grpc
from services.common.proto_values import to_timestamp

from ..adapters import mapping
from ..domain.draft import CustomerInput, DraftRejected, Social, validate_identifiers
from ..domain.identity import IdentityError
from ..service import CaseView, IntakeService, InvalidRequest, NotFound, complaint_message

NO_SUCH_CUSTOMER = "no such customer"  # the same answer for unknown and hidden customers


def _sees_whole_tenant() -> bool:
    principal = current_principal()
    return principal is None or principal.sees_whole_tenant()


class IntakeServicer(intake_pb2_grpc.IntakeServiceServicer):
    def __init__(self, service: IntakeService):
        self.service = service

    def _tenant(self, requested: str, context) -> str:
        try:
            return tenant_scope(requested, self.service.default_tenant)
        except Hidden:
            context.abort(grpc.StatusCode.NOT_FOUND, "no such complaint or customer")
            raise AssertionError("unreachable") from None

    def SubmitComplaint(self, request, context):  # noqa: N802 (gRPC method names)
        if not request.HasField("draft"):
            abort_invalid(context, "draft", "required")
        draft = mapping.draft_from_proto(request.draft)
        try:
            draft.tenant = tenant_scope(draft.tenant, self.service.default_tenant)
        except Hidden:
            # Not secret (the caller names the tenant): refuse plainly.
            context.abort(grpc.StatusCode.PERMISSION_DENIED, "draft.tenant: not the tenant of your token")
        try:
            result = self.service.submit(draft)
        except DraftRejected as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "; ".join(f"draft.{e}" for e in exc.errors))
        return intake_pb2.SubmitComplaintResponse(
            complaint_id=result.complaint_id,
            reference=result.reference,
            customer_id=result.customer_id,
            duplicate=result.duplicate,
            language=result.language,
        )

    def AddFollowUp(self, request, context):  # noqa: N802
        tenant = self._tenant(request.tenant, context)
        principal = current_principal()
        try:
            if principal is not None and "integration" not in principal.roles and request.complaint.strip():
                # Staff add follow-ups only to complaints they may see; an integration relays the
                # customer's message for any complaint of its tenant (it reads nothing back).
                row = self.service.get_case(request.complaint, tenant).complaint
                check_visible(row.tenant, row.team, request.complaint)
            result = self.service.add_follow_up(
                request.complaint,
                request.body,
                mapping.to_name(mapping.CHANNEL, request.channel),
                request.idempotency_key,
                tenant,
            )
        except InvalidRequest as exc:
            abort_invalid(context, exc.error.field, exc.error.problem)
        except NotFound as exc:
            context.abort(grpc.StatusCode.NOT_FOUND, str(exc))
        except Hidden:
            context.abort(grpc.StatusCode.NOT_FOUND, f"complaint {request.complaint!r} not found")
        return intake_pb2.AddFollowUpResponse(
            follow_up_id=result.follow_up_id, complaint_id=result.complaint_id, duplicate=result.duplicate
        )

    def GetComplaint(self, request, context):  # noqa: N802
        tenant = self._tenant(request.tenant, context)
        try:
            view = self.service.get_case(request.complaint, tenant)
            check_visible(view.complaint.tenant, view.complaint.team, request.complaint)
        except InvalidRequest as exc:
            abort_invalid(context, exc.error.field, exc.error.problem)
        except NotFound as exc:
            context.abort(grpc.StatusCode.NOT_FOUND, str(exc))
        except Hidden:
            context.abort(grpc.StatusCode.NOT_FOUND, f"complaint {request.complaint!r} not found")
        return case_file(view)

    def ListCustomerComplaints(self, request, context):  # noqa: N802
        identities = ()
        if not request.customer_id:
            ids = request.identifiers
            customer = CustomerInput(
                email=ids.email,
                phone=ids.phone,
                social=[Social(s.network, s.handle) for s in ids.social],
                account_id=ids.account_id,
            )
            try:
                identities = validate_identifiers(customer, self.service.phone_region)
            except IdentityError as exc:
                abort_invalid(context, f"identifiers.{exc.field}", exc.problem)
            if not identities:
                abort_invalid(context, "customer_id", "give a customer id or at least one identifier")
        tenant = self._tenant(request.tenant, context)
        try:
            view = self.service.customer_complaints(tenant, request.customer_id, identities)
        except NotFound:
            context.abort(grpc.StatusCode.NOT_FOUND, NO_SUCH_CUSTOMER)
        # An agent (or a team lead of named teams) sees the customer's complaints of their teams
        # only, and the profile only through one of them: with none visible, the customer is
        # NOT_FOUND exactly like an unknown one (the profile is personal data too). Staff with
        # tenant-wide rights, services and calls without auth see every complaint of the tenant.
        visible = [c for c in view.complaints if can_see(c.tenant, c.team)]
        if not visible and not _sees_whole_tenant():
            context.abort(grpc.StatusCode.NOT_FOUND, NO_SUCH_CUSTOMER)
        profile = intake_pb2.CustomerProfile(
            customer_id=view.customer.id,
            tenant=view.customer.tenant,
            display_name=view.customer.display_name,
            emails=[i.value for i in view.identities if i.kind == "email"],
            phones=[i.value for i in view.identities if i.kind == "phone"],
            social=[
                complaint_pb2.SocialHandle(network=i.value.split(":", 1)[0], handle=i.value.split(":", 1)[1])
                for i in view.identities
                if i.kind == "social"
            ],
            account_ids=[i.value for i in view.identities if i.kind == "account"],
        )
        profile.first_seen_at.CopyFrom(to_timestamp(view.customer.first_seen_at))
        summaries = []
        for c in visible:
            s = intake_pb2.ComplaintSummary(
                complaint_id=c.id,
                reference=c.reference,
                channel=mapping.to_number(mapping.CHANNEL, c.channel),
                sector=mapping.to_number(mapping.SECTOR, c.sector),
                subject=c.subject,
                status=mapping.to_number(mapping.STATUS, c.status),
                owner=c.owner,
                team=c.team,
            )
            s.received_at.CopyFrom(to_timestamp(c.received_at))
            summaries.append(s)
        return intake_pb2.ListCustomerComplaintsResponse(customer=profile, complaints=summaries)


def case_file(view: CaseView) -> intake_pb2.CaseFile:
    row = view.complaint
    out = intake_pb2.CaseFile(
        complaint=complaint_message(row),
        status=mapping.to_number(mapping.STATUS, row.status),
        team=row.team,
        owner=row.owner,
        priority=mapping.to_number(mapping.PRIORITY, row.priority),
        sla_policy=row.sla_policy,
        routing_rule=row.routing_rule,
        routing_explanation=row.routing_explanation,
        owner_is_duty_lead=row.owner_is_duty_lead,
    )
    for clock in view.clocks:
        d = out.sla.add(clock=clock.clock, state=clock.state)
        if clock.started_at:
            d.started_at.CopyFrom(to_timestamp(clock.started_at))
        if clock.due_at:
            d.due_at.CopyFrom(to_timestamp(clock.due_at))
        if clock.stopped_at:
            d.stopped_at.CopyFrom(to_timestamp(clock.stopped_at))
    for note in view.notifications:
        n = out.notifications.add(
            notification_id=note.notification_id,
            channel=note.channel,
            recipient=note.recipient,
            template=note.template,
            status=note.status,
            detail=note.detail,
        )
        n.at.CopyFrom(to_timestamp(note.at))
    for entry in view.timeline:
        t = out.timeline.add(
            event_id=entry.event_id, type=entry.type, source=entry.source, summary=entry.summary
        )
        t.at.CopyFrom(to_timestamp(entry.at))
    return out
