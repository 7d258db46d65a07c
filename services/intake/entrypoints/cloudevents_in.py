"""CloudEvents from integrations (raw topic, structured JSON) and webhooks (HTTP binding).

Two event types are accepted:
- `haq.complaint.submitted.v1`: data is a ComplaintDraft (snake_case JSON);
- `haq.complaint.followup.v1`: data is {"complaint": id or reference, "body": ..., "channel": ...}.
Without an explicit idempotency key, the CloudEvent's (source, id) is the key, so a redelivered or
re-posted event never makes a second complaint. An event must therefore carry its own `id` (and
`specversion`): the SDK would invent a fresh id for each retry, so `read_structured`/`read_http`
refuse such events before the SDK sees them.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.bindings import http as ce_http
from cloudevents.core.bindings.common import get_event_factory_for_version
from cloudevents.core.formats.json import JSONFormat

from ..adapters.mapping import JsonDraftError, draft_from_json, quote
from ..domain.draft import DraftRejected, FieldError
from ..service import FollowUpResult, IntakeService, InvalidRequest, NotFound, SubmitResult

__all__ = [
    "FollowUpResult",
    "Refused",
    "SubmitResult",
    "accept",
    "event_idempotency_key",
    "read_http",
    "read_structured",
]

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
    key_from_event = event_idempotency_key(event.get_source(), event.get_id())
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
    raise Refused("type", f"unsupported event type {quote(ce_type)}; expected {SUBMITTED} or {FOLLOW_UP}")


# Attributes the SDK fills in when they are absent (a new uuid4 id, "1.0"): an event without them
# could not be recognised when it is retried, so it is refused instead.
_MUST_CARRY = ("specversion", "id")
_JSON = JSONFormat()


def _strict_factory(attributes: dict[str, Any], data: Any) -> BaseCloudEvent:
    """The SDK's event factory, seeing the attributes as they arrived, before any default."""
    for name in _MUST_CARRY:
        value = attributes.get(name)
        if value is None or value == "":
            raise Refused(name, "required: a CloudEvent must carry its own id and specversion")
    return get_event_factory_for_version(str(attributes["specversion"]))(attributes, data)


def read_structured(value: bytes) -> BaseCloudEvent:
    """A structured-mode JSON CloudEvent (the raw topic). Raises Refused for a missing id or
    specversion, and what the SDK raises for anything else malformed."""
    return _JSON.read(_strict_factory, value)


def read_http(headers: Mapping[str, str], body: bytes) -> BaseCloudEvent:
    """A CloudEvent over HTTP, binary (ce-* headers) or structured mode. Raises Refused for a
    missing id or specversion, and what the SDK raises for anything else malformed."""
    return ce_http.from_http(ce_http.HTTPMessage(headers=dict(headers), body=body), _JSON, _strict_factory)


# The longest derived key kept readable: draft idempotency keys are bounded (200 characters).
_MAX_READABLE_KEY = 200
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def event_idempotency_key(source: str, event_id: str) -> str:
    """The idempotency key of a CloudEvent that names none: its (source, id) pair, unambiguously.

    `ce:{source}:{id}` while the id holds no ':' (the id is then everything after the last ':',
    so two different pairs never share a key, and keys recorded before this rule still match);
    otherwise, or when that key would be long or not storable, `ce-sha256:` and the SHA-256 of
    the JSON pair. (The old `ce:{source}:{id}` for every pair made ("a:b", "c") and ("a", "b:c")
    one key.)"""
    readable = f"ce:{source}:{event_id}"
    if ":" not in event_id and len(readable) <= _MAX_READABLE_KEY and not _UNSTORABLE.search(readable):
        return readable
    pair = json.dumps([source, event_id], ensure_ascii=True)
    return "ce-sha256:" + hashlib.sha256(pair.encode()).hexdigest()


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
