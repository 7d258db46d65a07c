"""gRPC server bootstrap: every server gets standard health checking and reflection, tracing and,
when a secret is set (HAQ_AUTH_SECRET), token checks by the central policy (`auth_policy`)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent import futures
from typing import Any, NoReturn

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from .auth import AuthInterceptor
from .auth_policy import ADMIN_ONLY, POLICY
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
        interceptors = list(grpc_server_interceptors())
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
