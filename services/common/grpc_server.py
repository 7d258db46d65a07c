"""gRPC server bootstrap: every server gets standard health checking and reflection, tracing and,
when a secret is set (HAQ_AUTH_SECRET), token checks by the central policy (`auth_policy`).

Two failures get the status a client can act on, for every method of every service:
- request bytes that are not a valid message (a string that is not UTF-8, a truncated varint):
  INVALID_ARGUMENT `request: not a valid <Method> request (DecodeError)`, not grpcio's INTERNAL
  "Exception deserializing request!" (`MalformedRequestInterceptor`);
- a transient database failure (`db.is_transient`: the database or its connection is away):
  UNAVAILABLE, which clients retry with the same idempotency key, not UNKNOWN "Exception calling
  application: ..." quoting the database host (`TransientFailureInterceptor`). Any other exception
  is left to grpcio (UNKNOWN), as before.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from concurrent import futures
from typing import Any, NoReturn

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from .auth import AuthInterceptor
from .auth_policy import ADMIN_ONLY, POLICY
from .db import is_transient
from .tracing import grpc_server_interceptors

log = logging.getLogger(__name__)


class GrpcServer:
    def __init__(
        self,
        host: str,
        port: int,
        registrations: Sequence[tuple[Callable[[Any, grpc.Server], None], Any, str]],
        max_workers: int = 16,
        auth_secret: str = "",
    ):
        """registrations: (add_XServicer_to_server, servicer, full service name). auth_secret:
        check every call's bearer token (health and reflection stay open); empty = auth off."""
        # First (outermost): its deserializer is the one grpcio calls, whatever the others rebuild.
        interceptors: list[grpc.ServerInterceptor] = [MalformedRequestInterceptor()]
        interceptors.extend(grpc_server_interceptors())
        if auth_secret:
            # After tracing: a refused call is still traced, and the handler sees the principal.
            interceptors.append(AuthInterceptor(auth_secret, POLICY, ADMIN_ONLY))
        else:
            log.warning(
                "AUTHENTICATION IS OFF: HAQ_AUTH_SECRET is not set, so gRPC on %s:%s accepts every "
                "call without a token. Production must set HAQ_AUTH_SECRET.",
                host,
                port,
            )
        # Last (innermost, next to the servicer): tracing records the UNAVAILABLE it answers.
        interceptors.append(TransientFailureInterceptor())
        self.auth_enabled = bool(auth_secret)
        self.server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=max_workers), interceptors=interceptors
        )
        self.health = health.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        names = [health.SERVICE_NAME, reflection.SERVICE_NAME]
        self._service_names = []
        for add, servicer, name in registrations:
            add(servicer, self.server)
            names.append(name)
            self._service_names.append(name)
        reflection.enable_server_reflection(names, self.server)
        self.port = self.server.add_insecure_port(f"{host}:{port}")
        self.set_serving(False)

    def start(self) -> None:
        self.server.start()

    def stop(self, grace: float = 3.0) -> None:
        self.set_serving(False)
        self.server.stop(grace).wait(grace + 1)

    def set_serving(self, serving: bool) -> None:
        status = (
            health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        for name in ("", *self._service_names):
            self.health.set(name, status)


def abort_invalid(context: grpc.ServicerContext, field: str, problem: str) -> NoReturn:
    """INVALID_ARGUMENT naming the field, e.g. `draft.customer.email: not a valid email address`."""
    context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"{field}: {problem}")
    raise AssertionError("unreachable")  # context.abort raises


UNAVAILABLE_DETAILS = "temporarily unavailable; retry (with the same idempotency key)"


def _method_name(full_method: str) -> str:
    """ "/haq.v1.IntakeService/SubmitComplaint" -> "SubmitComplaint"."""
    return full_method.rsplit("/", 1)[-1] or full_method


def _rebuild(
    handler: grpc.RpcMethodHandler,
    unary_response: Callable[[Callable[..., Any]], Callable[..., Any]],
    stream_response: Callable[[Callable[..., Any]], Callable[..., Any]],
    request_deserializer: Callable[[bytes], Any] | None,
) -> grpc.RpcMethodHandler:
    """The same method handler, its behaviour wrapped (by the wrapper for its response arity) and
    its request deserializer replaced; the response serializer is kept."""
    out = handler.response_serializer
    if handler.unary_unary is not None:
        return grpc.unary_unary_rpc_method_handler(
            unary_response(handler.unary_unary), request_deserializer, out
        )
    if handler.unary_stream is not None:
        return grpc.unary_stream_rpc_method_handler(
            stream_response(handler.unary_stream), request_deserializer, out
        )
    if handler.stream_unary is not None:
        return grpc.stream_unary_rpc_method_handler(
            unary_response(handler.stream_unary), request_deserializer, out
        )
    return grpc.stream_stream_rpc_method_handler(
        stream_response(handler.stream_stream), request_deserializer, out
    )


class _Malformed:
    """What the wrapped deserializer returns for bytes that do not parse: the reason, no bytes."""

    __slots__ = ("reason",)

    def __init__(self, reason: str):
        self.reason = reason


class MalformedRequestInterceptor(grpc.ServerInterceptor):
    """Request bytes that are not a valid message answer INVALID_ARGUMENT naming the method.

    grpcio answers INTERNAL "Exception deserializing request!" when a generated deserializer raises,
    before any interceptor's behaviour runs, so the deserializer itself is wrapped: a parse error
    becomes a `_Malformed` marker, and the wrapped behaviour aborts on it before calling the next
    interceptor or the servicer. Must be the first (outermost) interceptor: grpcio calls the
    deserializer of the handler the outermost interceptor returns."""

    def intercept_service(self, continuation: Callable[[Any], Any], handler_call_details: Any) -> Any:
        handler = continuation(handler_call_details)
        if handler is None or handler.request_deserializer is None:
            return handler  # unknown method (UNIMPLEMENTED), or a refusal that reads no request
        parse = handler.request_deserializer
        details = f"request: not a valid {_method_name(handler_call_details.method)} request"

        def deserialize(data: bytes) -> Any:
            try:
                return parse(data)
            except Exception as exc:  # DecodeError, and whatever else a deserializer may raise
                return _Malformed(type(exc).__name__)

        def refuse(context: grpc.ServicerContext, bad: _Malformed) -> NoReturn:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"{details} ({bad.reason})")
            raise AssertionError("unreachable")  # context.abort raises

        def checked(requests: Iterator[Any], context: grpc.ServicerContext) -> Iterator[Any]:
            for request in requests:
                if isinstance(request, _Malformed):
                    refuse(context, request)
                yield request

        streaming_requests = handler.request_streaming

        def unary_response(behaviour: Callable[..., Any]) -> Callable[..., Any]:
            def run(request: Any, context: grpc.ServicerContext) -> Any:
                if streaming_requests:
                    return behaviour(checked(request, context), context)
                if isinstance(request, _Malformed):
                    refuse(context, request)
                return behaviour(request, context)

            return run

        def stream_response(behaviour: Callable[..., Any]) -> Callable[..., Any]:
            def run(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
                if streaming_requests:
                    yield from behaviour(checked(request, context), context)
                    return
                if isinstance(request, _Malformed):
                    refuse(context, request)
                yield from behaviour(request, context)

            return run

        return _rebuild(handler, unary_response, stream_response, deserialize)


class TransientFailureInterceptor(grpc.ServerInterceptor):
    """A transient database failure escaping a handler answers UNAVAILABLE (retryable, with the
    same idempotency key) instead of UNKNOWN; it is logged as a warning naming the exception types
    only, never its text (which quotes the database host and port, and the statement). Any other
    exception propagates unchanged (grpcio answers UNKNOWN and logs it)."""

    def intercept_service(self, continuation: Callable[[Any], Any], handler_call_details: Any) -> Any:
        handler = continuation(handler_call_details)
        if handler is None:
            return handler
        method = handler_call_details.method

        def unavailable(context: grpc.ServicerContext, exc: Exception) -> NoReturn:
            orig = getattr(exc, "orig", None)  # the DBAPI error under a SQLAlchemy one
            log.warning(
                "%s: database temporarily unavailable (%s%s); answered UNAVAILABLE",
                method,
                type(exc).__name__,
                f" from {type(orig).__module__}.{type(orig).__qualname__}" if orig is not None else "",
            )
            context.abort(grpc.StatusCode.UNAVAILABLE, UNAVAILABLE_DETAILS)
            raise AssertionError("unreachable")  # context.abort raises

        def unary_response(behaviour: Callable[..., Any]) -> Callable[..., Any]:
            def run(request: Any, context: grpc.ServicerContext) -> Any:
                try:
                    return behaviour(request, context)
                except Exception as exc:
                    if not is_transient(exc):
                        raise
                    unavailable(context, exc)

            return run

        def stream_response(behaviour: Callable[..., Any]) -> Callable[..., Any]:
            def run(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
                try:
                    yield from behaviour(request, context)
                except Exception as exc:
                    if not is_transient(exc):
                        raise
                    unavailable(context, exc)

            return run

        return _rebuild(handler, unary_response, stream_response, handler.request_deserializer)
