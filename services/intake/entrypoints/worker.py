"""Wiring for the intake process: gRPC IntakeService, the raw integration topic, the HTTP
CloudEvents endpoint, the chat/social webhook, the email channel, the case-file projection of
the lifecycle topic, and the outbox relay."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import faust
from cloudevents.core.formats.json import JSONFormat
from tenacity import Retrying, stop_after_attempt, wait_exponential

from services.common import topics
from services.common.auth import AuthError, Principal, bearer, verify_token
from services.common.auth_policy import allowed_roles
from services.common.db import make_engine
from services.common.group_commit import GroupCommit
from services.common.grpc_server import GrpcServer
from services.common.migrations import migrate
from services.common.outbox import OutboxRelay
from services.common.pb.haq.v1 import intake_pb2_grpc
from services.common.runtime import (
    EventConsumer,
    ServiceRuntime,
    add_ops_pages,
    lifecycle_agent,
    make_app,
    raw_topic,
    run_worker,
    stage_dead_letter,
)
from services.common.settings import Settings, get_settings

from ..chat_service import ChatIntake
from ..domain import casefile
from ..domain.chat_inbound import ChatRejected
from ..service import IntakeService
from ..settings import ChatSettings
from . import chat_in, cloudevents_in
from .grpc_api import IntakeServicer
from .mail_runtime import IntakeRuntime, MailChannels

SVC = "intake"
log = logging.getLogger(__name__)
_JSON = JSONFormat()
SUBMIT_METHOD = "/haq.v1.IntakeService/SubmitComplaint"


def build(settings: Settings) -> tuple[faust.App, ServiceRuntime]:
    engine = make_engine(settings.database_url(SVC))
    migrate(engine, SVC)  # alembic upgrade head (services/intake/migrations)
    topics.ensure_topics(settings)
    relay = OutboxRelay(engine, settings, SVC) if settings.outbox_relay_enabled else None
    # Submissions from every channel share transactions under load (one commit per group).
    service = IntakeService(engine, settings.tenant, relay, group_commit=GroupCommit(engine, SVC))
    grpc_server = GrpcServer(
        settings.grpc_host,
        settings.grpc_port(SVC),
        [
            (
                intake_pb2_grpc.add_IntakeServiceServicer_to_server,
                IntakeServicer(service),
                "haq.v1.IntakeService",
            )
        ],
        auth_secret=settings.auth_secret,
        max_workers=64,  # callers wait on a group commit, not on the CPU: let a group form
    )
    app = make_app(SVC, settings)

    case_files = EventConsumer("intake-casefile", SVC, engine, relay)
    lifecycle_agent(
        app,
        case_files,
        {name: service.apply_lifecycle_event for name in casefile.CASE_FILE_EVENTS},
    )

    raw = EventConsumer("intake-raw", SVC, engine, relay)

    @app.agent(raw_topic(app, topics.RAW_TOPIC), name="intake.raw")
    async def integrations(stream: Any) -> None:
        async for event in stream.events():
            await asyncio.to_thread(accept_raw, service, raw, event)

    @app.page("/v1/events")
    class CloudEventsEndpoint(faust.web.View):
        """CloudEvents over HTTP (binary or structured mode): 202 with the complaint, or 400 with the field."""

        async def post(self, request: Any) -> Any:
            tenant = None
            if settings.auth_secret:
                principal, refusal = _http_principal(settings.auth_secret, request.headers)
                if principal is None:
                    return self.json(refusal, status=401 if refusal["field"] == "authorization" else 403)
                tenant = principal.tenant
            body = await request.read()
            headers = {k.lower(): v for k, v in request.headers.items()}
            try:
                event = cloudevents_in.read_http(headers, body)
            except cloudevents_in.Refused as exc:
                await asyncio.to_thread(_dead_letter_http, engine, relay, str(exc), body, headers)
                return self.json({"error": str(exc), "field": exc.field}, status=400)
            except Exception as exc:  # the SDK raises several types for malformed events
                reason = f"not a CloudEvent: {exc}"
                await asyncio.to_thread(_dead_letter_http, engine, relay, reason, body, headers)
                return self.json({"error": reason, "field": "event"}, status=400)
            try:
                result = await asyncio.to_thread(cloudevents_in.accept, service, event, tenant)
            except cloudevents_in.Refused as exc:
                await asyncio.to_thread(_dead_letter_http, engine, relay, str(exc), body, headers)
                return self.json({"error": str(exc), "field": exc.field}, status=400)
            return self.json(_result_json(result), status=202)

    chat_settings = ChatSettings()
    chat = ChatIntake(service, chat_settings.bot_ids())

    @app.page("/v1/chat/messages")
    class ChatEndpoint(faust.web.View):
        """The chat/social adapter contract (services/intake/entrypoints/chat_in.py, docs/channels.md)."""

        async def post(self, request: Any) -> Any:
            body = await request.read()
            headers = {k.lower(): v for k, v in request.headers.items()}
            tenant = None
            if settings.auth_secret and not chat_in.slack_signature_ok(
                chat_settings.slack_signing_secret, headers, body, chat_settings.slack_max_age_s
            ):
                principal, refusal = _http_principal(settings.auth_secret, request.headers)
                if principal is None:
                    return self.json(refusal, status=401 if refusal["field"] == "authorization" else 403)
                tenant = principal.tenant
            try:
                outcome = await asyncio.to_thread(chat.accept, chat_in.parse_body(body), tenant)
            except ChatRejected as exc:
                status = 413 if exc.field == "payload" and "bytes" in exc.problem else 400
                return self.json({"error": str(exc), "field": exc.field}, status=status)
            except Exception:
                log.exception("chat message not stored; the platform will retry")
                return self.json({"error": "not stored; try again", "field": ""}, status=503)
            return self.json(outcome.as_json(), status=200)

    add_ops_pages(app, SVC, grpc_server)
    # The email channel (SMTP listener, IMAP poller) when configured: services/intake/entrypoints/mail_runtime.py.
    return app, IntakeRuntime(SVC, grpc_server, relay, MailChannels.build(service, settings))


def _http_principal(secret: str, headers: Any) -> tuple[Principal | None, dict[str, str]]:
    """The caller of a webhook post, or the JSON error: 401 without a valid token, 403 for a token
    whose roles may not submit (the same roles as gRPC SubmitComplaint)."""
    token = bearer(headers.items())
    if token is None:
        return None, {"error": "authorization: a bearer token is required", "field": "authorization"}
    try:
        principal = verify_token(secret, token)
    except AuthError as exc:
        return None, {"error": f"authorization: {exc}", "field": "authorization"}
    allowed = allowed_roles(SUBMIT_METHOD)
    if not principal.has_any(allowed):
        return None, {"error": f"needs one of the roles {', '.join(sorted(allowed))}", "field": "roles"}
    return principal, {}


def accept_raw(service: IntakeService, consumer: EventConsumer, event: Any) -> None:
    """One structured-mode JSON CloudEvent from the raw topic; refused ones are dead-lettered."""
    try:
        ce = cloudevents_in.read_structured(event.value or b"")
    except cloudevents_in.Refused as exc:
        consumer.dead_letter(event, str(exc))
        return
    except Exception as exc:
        consumer.dead_letter(event, f"not a structured-mode JSON CloudEvent: {exc}")
        return
    try:
        # Transient failures (a locked database) are retried; what still fails is dead-lettered
        # with the reason, so one bad record never stops the integrations' stream.
        for attempt in Retrying(
            stop=stop_after_attempt(3), wait=wait_exponential(multiplier=0.2), reraise=True
        ):
            with attempt:
                cloudevents_in.accept(service, ce)
    except cloudevents_in.Refused as exc:
        consumer.dead_letter(event, str(exc))
    except Exception as exc:
        log.exception("raw event %s/%s failed", ce.get_source(), ce.get_id())
        consumer.dead_letter(event, f"failed: {type(exc).__name__}: {exc}")


def _dead_letter_http(engine: Any, relay: Any, reason: str, body: bytes, headers: dict[str, str]) -> None:
    import uuid

    stage_dead_letter(
        engine,
        relay,
        service=SVC,
        consumer="intake-http",
        source_topic="http:/v1/events",
        partition=0,
        offset=0,
        reason=reason,
        value=body,
        headers=headers,
        event_id=f"dlq:intake-http:{uuid.uuid4()}",
    )


def _result_json(result: Any) -> dict[str, Any]:
    if isinstance(result, cloudevents_in.SubmitResult):
        return {
            "complaint_id": result.complaint_id,
            "reference": result.reference,
            "customer_id": result.customer_id,
            "duplicate": result.duplicate,
        }
    return {
        "follow_up_id": result.follow_up_id,
        "complaint_id": result.complaint_id,
        "duplicate": result.duplicate,
    }


def main() -> None:
    settings = get_settings()
    app, runtime = build(settings)
    run_worker(app, settings, runtime)
