"""The plumbing every `haq` command group shares: exit codes, failing, and gRPC calls.

`service_stub` opens a channel to a service the way every command does (its address from
`--<service> HOST:PORT`, else the HAQ_* settings; the CLI's bearer token attached by
`tokens.cli_channel`) and turns a failed call into a message on stderr and an exit code.

Exit codes, the same for every `haq` command:
  0 done
  1 any other failure
  2 invalid input, refused by the CLI or by the service (INVALID_ARGUMENT, the field named on stderr)
  3 not found
  4 the service (or the broker) not reachable, or no answer within --timeout
  5 refused for the current state (FAILED_PRECONDITION, the reason printed)
  6 no token, or the token may not do this (UNAUTHENTICATED, PERMISSION_DENIED)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import NoReturn, TypeVar

import grpc
import typer

from services.common.settings import get_settings

from .tokens import TOKEN_ENV, cli_channel

EXIT_FAILURE = 1
EXIT_INVALID = 2
EXIT_NOT_FOUND = 3
EXIT_UNREACHABLE = 4
EXIT_REFUSED = 5
EXIT_DENIED = 6

Stub = TypeVar("Stub")


def fail(message: str, code: int) -> NoReturn:
    """Print `haq: message` on stderr and exit with `code`."""
    typer.echo(f"haq: {message}", err=True)
    raise typer.Exit(code)


def service_target(service: str, override: str | None) -> str:
    return override or get_settings().grpc_target(service)


def rpc_failure(err: grpc.RpcError, service: str, target: str, timeout: float) -> tuple[str, int]:
    """The message and exit code for a failed call to `service` at `target`."""
    code = err.code() if hasattr(err, "code") else grpc.StatusCode.UNKNOWN
    details = (err.details() if hasattr(err, "details") else "") or ""
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        problems = [p.strip() for p in details.split("; ") if p.strip()] or ["(no details)"]
        listed = "\n".join(f"  {p}" for p in problems)
        return f"{service} refused the request (INVALID_ARGUMENT):\n{listed}", EXIT_INVALID
    if code == grpc.StatusCode.NOT_FOUND:
        return f"not found: {details}", EXIT_NOT_FOUND
    hint = f"is `make run` running, or is --{service} / HAQ_{service.upper()}_GRPC_PORT right?"
    if code == grpc.StatusCode.UNAVAILABLE:
        return f"{service} is not reachable at {target} ({details}); {hint}", EXIT_UNREACHABLE
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return f"{service} at {target} did not answer within {timeout:g}s; {hint}", EXIT_UNREACHABLE
    if code in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED):
        hint = f"give a token that may do this: --token, {TOKEN_ENV}, or var/tokens/ (`make run` writes them)"
        return f"{service} at {target} answered {code.name}: {details}; {hint}", EXIT_DENIED
    if code == grpc.StatusCode.FAILED_PRECONDITION:
        return f"refused: {details}", EXIT_REFUSED
    return f"{service} answered {code.name}: {details}", EXIT_FAILURE


@contextmanager
def service_stub(
    service: str, stub_class: Callable[[grpc.Channel], Stub], override: str | None, timeout: float
) -> Iterator[Stub]:
    """A stub for `service` (at `override`, else from settings); a failed call exits the CLI."""
    target = service_target(service, override)
    with cli_channel(target) as channel:
        try:
            yield stub_class(channel)
        except grpc.RpcError as err:
            fail(*rpc_failure(err, service, target, timeout))
