"""CloudEvents from integrations (raw topic, structured JSON) and webhooks (HTTP binding).

Two event types are accepted:
- `haq.complaint.submitted.v1`: data is a ComplaintDraft (snake_case JSON);
- `haq.complaint.followup.v1`: data is {"complaint": id or reference, "body": ..., "channel": ...}.
Without an explicit idempotency key, the CloudEvent's (source, id) is the key, so a redelivered or
re-posted event never makes a second complaint.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cloudevents.core.base import BaseCloudEvent

from ..adapters.mapping import JsonDraftError, draft_from_json
from ..domain.draft import DraftRejected, FieldError
from ..service import FollowUpResult, IntakeService, InvalidRequest, NotFound, SubmitResult

__all__ = ["FollowUpResult", "Refused", "SubmitResult", "accept"]

SUBMITTED = "haq.complaint.submitted.v1"
FOLLOW_UP = "haq.complaint.followup.v1"


@dataclass(frozen=True)
class Refused(Exception):
    """Why an incoming CloudEvent was not accepted; `field` names the offending part."""

    field: str
    problem: str

    def __str__(self) -> str:
        return f"{self.field}: {self.problem}"


def accept(
    service: IntakeService, event: BaseCloudEvent, tenant: str | None = None
) -> SubmitResult | FollowUpResult:
    """tenant: the authenticated caller's tenant (HTTP with auth on); the event may not name another."""
    ce_type = event.get_type()
    data = event.get_data()
    key_from_event = f"ce:{event.get_source()}:{event.get_id()}"
    try:
        if ce_type == SUBMITTED:
            draft = draft_from_json(data)
            draft.idempotency_key = draft.idempotency_key or key_from_event
            draft.tenant = _own_tenant(draft.tenant, tenant)
            return service.submit(draft)
        if ce_type == FOLLOW_UP:
            body = _object(data)
            return service.add_follow_up(
                complaint=str(body.get("complaint", "")),
                body=str(body.get("body", "")),
                channel=str(body.get("channel", "")).lower().removeprefix("channel_"),
                idempotency_key=str(body.get("idempotency_key") or key_from_event),
                tenant=_own_tenant(str(body.get("tenant", "")), tenant),
            )
    except JsonDraftError as exc:
        raise _refused(exc.error) from exc
    except DraftRejected as exc:
        first = exc.errors[0]
        raise Refused(f"data.{first.field}", "; ".join(str(e) for e in exc.errors)) from exc
    except InvalidRequest as exc:
        raise _refused(exc.error) from exc
    except NotFound as exc:  # a follow-up on a complaint that is unknown (or another tenant's)
        raise Refused("data.complaint", str(exc)) from exc
    raise Refused("type", f"unsupported event type {ce_type!r}; expected {SUBMITTED} or {FOLLOW_UP}")


def _own_tenant(named: str, caller: str | None) -> str:
    if caller is None:
        return named
    if named and named != caller:
        raise Refused("data.tenant", "not the tenant of your token")
    return caller


def _object(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise Refused("data", "must be a JSON object")
    return data


def _refused(error: FieldError) -> Refused:
    field = error.field if error.field.startswith("data") else f"data.{error.field}"
    return Refused(field, error.problem)
