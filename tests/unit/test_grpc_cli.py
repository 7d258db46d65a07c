"""The one mapping from a gRPC status to the `haq` CLI's message and exit code."""

from __future__ import annotations

import grpc
import pytest

from services.console import grpc_cli


class _Err(grpc.RpcError):
    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        self._code, self._details = code, details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details


@pytest.mark.parametrize(
    ("status", "exit_code", "says"),
    [
        (grpc.StatusCode.INVALID_ARGUMENT, grpc_cli.EXIT_INVALID, "routing refused the request"),
        (grpc.StatusCode.NOT_FOUND, grpc_cli.EXIT_NOT_FOUND, "not found: why"),
        (grpc.StatusCode.UNAVAILABLE, grpc_cli.EXIT_UNREACHABLE, "HAQ_ROUTING_GRPC_PORT"),
        (grpc.StatusCode.DEADLINE_EXCEEDED, grpc_cli.EXIT_UNREACHABLE, "within 2s"),
        (grpc.StatusCode.PERMISSION_DENIED, grpc_cli.EXIT_DENIED, "--token, HAQ_TOKEN"),
        (grpc.StatusCode.UNAUTHENTICATED, grpc_cli.EXIT_DENIED, "var/tokens/"),
        (grpc.StatusCode.FAILED_PRECONDITION, grpc_cli.EXIT_REFUSED, "refused: why"),
        (grpc.StatusCode.INTERNAL, grpc_cli.EXIT_FAILURE, "routing answered INTERNAL: why"),
    ],
)
def test_status_maps_to_one_message_and_exit_code(status, exit_code, says):
    message, code = grpc_cli.rpc_failure(_Err(status, "why"), "routing", "127.0.0.1:1", 2.0)
    assert code == exit_code and says in message


def test_invalid_argument_lists_each_field_on_its_own_line():
    message, _ = grpc_cli.rpc_failure(
        _Err(grpc.StatusCode.INVALID_ARGUMENT, "draft.a: bad; draft.b: worse"), "intake", "t", 1.0
    )
    assert message.splitlines()[1:] == ["  draft.a: bad", "  draft.b: worse"]
