"""Tokens and the gRPC auth interceptor, on a real gRPC server in the test process."""

from __future__ import annotations

from concurrent import futures

import grpc
import pytest

from services.common.auth import (
    AuthError,
    AuthInterceptor,
    authorized_channel,
    current_principal,
    mint_token,
    verify_token,
)
from services.common.broker import free_port

SECRET = "test-secret-with-enough-entropy-0123456789"


def test_a_minted_token_verifies_to_its_principal():
    token = mint_token(SECRET, "reza", "acme", ["agent"], teams=["general-care"])
    p = verify_token(SECRET, token)
    assert (p.subject, p.tenant, p.roles, p.teams) == ("reza", "acme", {"agent"}, {"general-care"})
    assert p.sees_team("general-care") and not p.sees_team("contracts")


@pytest.mark.parametrize(
    "token",
    [
        mint_token("another-secret-that-is-also-long-enough-000", "x", "acme", ["admin"]),
        mint_token(SECRET, "x", "acme", ["admin"], ttl_s=-10),
        "not.a.token",
    ],
)
def test_forged_expired_or_garbled_tokens_are_refused(token):
    with pytest.raises(AuthError):
        verify_token(SECRET, token)


def test_unknown_roles_cannot_be_minted():
    with pytest.raises(ValueError):
        mint_token(SECRET, "x", "acme", ["superuser"])


@pytest.fixture
def server():
    seen = []

    def whoami(request: bytes, context: grpc.ServicerContext) -> bytes:
        principal = current_principal()
        seen.append(principal)
        return f"{principal.subject}@{principal.tenant}".encode()

    handlers = grpc.method_handlers_generic_handler(
        "test.Probe",
        {
            "Read": grpc.unary_unary_rpc_method_handler(whoami),
            "Write": grpc.unary_unary_rpc_method_handler(whoami),
        },
    )
    policy = {"/test.Probe/Read": frozenset({"agent", "admin"}), "/test.Probe/Write": frozenset({"admin"})}
    srv = grpc.server(
        futures.ThreadPoolExecutor(4), interceptors=[AuthInterceptor(SECRET, policy, frozenset({"admin"}))]
    )
    srv.add_generic_rpc_handlers((handlers,))
    port = srv.add_insecure_port(f"127.0.0.1:{free_port()}")
    srv.start()
    yield f"127.0.0.1:{port}", seen
    srv.stop(0)


def call(target: str, method: str, token: str | None) -> bytes:
    channel = authorized_channel(target, token)
    return channel.unary_unary(method)(b"", timeout=5)


def test_no_token_is_unauthenticated(server):
    target, _ = server
    with pytest.raises(grpc.RpcError) as err:
        call(target, "/test.Probe/Read", None)
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_a_bad_token_is_unauthenticated(server):
    target, _ = server
    with pytest.raises(grpc.RpcError) as err:
        call(target, "/test.Probe/Read", "garbage")
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_a_role_the_method_does_not_admit_is_permission_denied(server):
    target, seen = server
    agent = mint_token(SECRET, "reza", "acme", ["agent"])
    assert call(target, "/test.Probe/Read", agent) == b"reza@acme"
    with pytest.raises(grpc.RpcError) as err:
        call(target, "/test.Probe/Write", agent)
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert [p.subject for p in seen] == ["reza"]  # the denied call never reached the handler


def test_an_integration_token_cannot_read(server):
    target, _ = server
    integration = mint_token(SECRET, "crm", "acme", ["integration"])
    with pytest.raises(grpc.RpcError) as err:
        call(target, "/test.Probe/Read", integration)
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
