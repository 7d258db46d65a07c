"""Authentication and authorisation for every gRPC API (and the dashboard).

Tokens are signed JWTs (HS256, PyJWT) carrying who the caller is (`sub`), their roles, their
tenant and, for agents, their teams. A server interceptor checks the token on every call except
health checks and reflection: no or bad token -> UNAUTHENTICATED; a role the method does not admit
-> PERMISSION_DENIED. Tenant and team scoping is the handlers' job (they know the resource): they
read the caller from `current_principal()` and answer NOT_FOUND for another tenant's complaint,
so a caller cannot even learn that it exists.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import grpc
import jwt

# `service` is internal: the token one Haq process mints (from the shared secret) to call another.
ROLES = ("integration", "agent", "team_lead", "ops", "admin", "service")
ALL_ROLES = frozenset(ROLES)
STAFF = frozenset({"agent", "team_lead", "ops", "admin"})
ISSUER = "haq"
EXEMPT_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")


@dataclass(frozen=True)
class Principal:
    subject: str
    tenant: str
    roles: frozenset[str]
    teams: frozenset[str] = field(default_factory=frozenset)

    def has_any(self, roles: Iterable[str]) -> bool:
        return bool(self.roles & set(roles))

    def sees_whole_tenant(self) -> bool:
        """Ops, admins and services see the whole tenant; team leads too when the token names no team."""
        return bool(self.roles & {"ops", "admin", "service"}) or (
            "team_lead" in self.roles and not self.teams
        )

    def sees_team(self, team: str) -> bool:
        """Agents (and team leads) see their own teams' complaints, the others the whole tenant."""
        return self.sees_whole_tenant() or team in self.teams


class AuthError(Exception):
    pass


def mint_token(
    secret: str,
    subject: str,
    tenant: str,
    roles: Iterable[str],
    teams: Iterable[str] = (),
    ttl_s: int = 30 * 24 * 3600,
    now: float | None = None,
) -> str:
    roles = sorted(set(roles))
    unknown = set(roles) - ALL_ROLES
    if unknown:
        raise ValueError(f"unknown role(s): {', '.join(sorted(unknown))}")
    issued = int(now if now is not None else time.time())
    claims = {
        "iss": ISSUER,
        "sub": subject,
        "tenant": tenant,
        "roles": roles,
        "teams": sorted(set(teams)),
        "iat": issued,
        "exp": issued + ttl_s,
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def verify_token(secret: str, token: str) -> Principal:
    try:
        claims = jwt.decode(
            token, secret, algorithms=["HS256"], issuer=ISSUER, options={"require": ["exp", "sub", "iss"]}
        )
    except jwt.PyJWTError as exc:
        raise AuthError(f"invalid token: {exc}") from exc
    roles = frozenset(claims.get("roles") or ())
    if not roles or not roles <= ALL_ROLES or not claims.get("tenant"):
        raise AuthError("invalid token: roles and tenant are required")
    return Principal(claims["sub"], claims["tenant"], roles, frozenset(claims.get("teams") or ()))


_principal: contextvars.ContextVar[Principal | None] = contextvars.ContextVar("haq_principal", default=None)


def current_principal() -> Principal | None:
    """The authenticated caller of the gRPC call being handled (None when auth is off)."""
    return _principal.get()


def bearer(metadata: Iterable[tuple[str, Any]] | None) -> str | None:
    for key, value in metadata or ():
        if key.lower() == "authorization":
            text = value.decode() if isinstance(value, bytes) else str(value)
            if text.lower().startswith("bearer "):
                return text[7:].strip()
    return None


class AuthInterceptor(grpc.ServerInterceptor):
    """Checks the bearer token and the method's roles; sets the principal for the handler."""

    def __init__(self, secret: str, policy: Mapping[str, frozenset[str]], default: frozenset[str]):
        self.secret = secret
        self.policy = policy
        self.default = default

    def intercept_service(self, continuation: Callable[[Any], Any], handler_call_details: Any) -> Any:
        method = handler_call_details.method
        if method.startswith(EXEMPT_PREFIXES):
            return continuation(handler_call_details)
        token = bearer(handler_call_details.invocation_metadata)
        if token is None:
            return _deny(grpc.StatusCode.UNAUTHENTICATED, "authorization: a bearer token is required")
        try:
            principal = verify_token(self.secret, token)
        except AuthError as exc:
            return _deny(grpc.StatusCode.UNAUTHENTICATED, f"authorization: {exc}")
        allowed = self.policy.get(method, self.default)
        if not principal.has_any(allowed):
            return _deny(
                grpc.StatusCode.PERMISSION_DENIED,
                f"{method} needs one of the roles {', '.join(sorted(allowed))}",
            )
        handler = continuation(handler_call_details)
        if handler is not None and handler.unary_stream is not None:  # e.g. RoutingAdmin.ExportAudit
            return _stream_with(principal, handler)
        if handler is None or handler.unary_unary is None:
            return handler  # the other methods of Haq's APIs are unary
        inner = handler.unary_unary

        def with_principal(request: Any, context: grpc.ServicerContext) -> Any:
            token_ctx = _principal.set(principal)
            try:
                return inner(request, context)
            finally:
                _principal.reset(token_ctx)

        return grpc.unary_unary_rpc_method_handler(
            with_principal,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


def _stream_with(principal: Principal, handler: Any) -> grpc.RpcMethodHandler:
    """A server-streaming handler run with the caller's principal set (for each step of it)."""
    inner = handler.unary_stream

    def with_principal(request: Any, context: grpc.ServicerContext) -> Any:
        _principal.set(principal)
        try:
            yield from inner(request, context)
        finally:
            _principal.set(None)

    return grpc.unary_stream_rpc_method_handler(
        with_principal,
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )


def _deny(code: grpc.StatusCode, details: str) -> grpc.RpcMethodHandler:
    def abort(_request: Any, context: grpc.ServicerContext) -> Any:
        context.abort(code, details)

    return grpc.unary_unary_rpc_method_handler(abort)


class BearerToken(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor):
    """Client side: adds `authorization: Bearer <token>` to every call on a channel."""

    def __init__(self, token: str):
        self.token = token

    def intercept_unary_unary(
        self, continuation: Callable[..., Any], client_call_details: Any, request: Any
    ) -> Any:
        metadata = list(client_call_details.metadata or []) + [("authorization", f"Bearer {self.token}")]
        details = client_call_details._replace(metadata=metadata)
        return continuation(details, request)

    def intercept_unary_stream(
        self, continuation: Callable[..., Any], client_call_details: Any, request: Any
    ) -> Any:
        return self.intercept_unary_unary(continuation, client_call_details, request)


def authorized_channel(target: str, token: str | None) -> grpc.Channel:
    channel = grpc.insecure_channel(target)
    return grpc.intercept_channel(channel, BearerToken(token)) if token else channel
