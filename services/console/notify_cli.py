"""`haq notify ...`: templates, deliveries, retries and the response guard, through the
notifications service's NotificationAdmin.

Exit codes: 0 done (for `check`: nothing found, or warn mode); 1 refused for the current state
(FAILED_PRECONDITION), blocked by the guard, or another failure; 2 invalid input; 3 not found;
4 notifications not reachable.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, NoReturn

import grpc
import typer
from google.protobuf.json_format import MessageToDict

from services.common.pb.haq.v1 import notifications_pb2, notifications_pb2_grpc
from services.common.settings import get_settings
from services.console.tokens import cli_channel

app = typer.Typer(help="notifications commands", no_args_is_help=True)

EXIT_FAILURE, EXIT_INVALID, EXIT_NOT_FOUND, EXIT_UNREACHABLE = 1, 2, 3, 4

TargetOption = Annotated[
    str | None,
    typer.Option(
        "--notifications", metavar="HOST:PORT", help="notifications' gRPC address [default: settings]"
    ),
]
TimeoutOption = Annotated[
    float, typer.Option("--timeout", min=0.1, help="deadline for the gRPC call, in seconds")
]
JsonOption = Annotated[bool, typer.Option("--json", help="print JSON for machines")]


def _fail(message: str, code: int) -> NoReturn:
    typer.echo(f"haq: {message}", err=True)
    raise typer.Exit(code)


def _rpc_exit(err: grpc.RpcError, target: str, timeout: float) -> NoReturn:
    code = err.code() if hasattr(err, "code") else grpc.StatusCode.UNKNOWN
    details = (err.details() if hasattr(err, "details") else "") or ""
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        _fail(f"refused (INVALID_ARGUMENT): {details}", EXIT_INVALID)
    if code == grpc.StatusCode.NOT_FOUND:
        _fail(f"not found: {details}", EXIT_NOT_FOUND)
    if code == grpc.StatusCode.FAILED_PRECONDITION:
        _fail(details, EXIT_FAILURE)
    if code == grpc.StatusCode.UNAVAILABLE:
        _fail(
            f"notifications is not reachable at {target} ({details}); is `make run` running?",
            EXIT_UNREACHABLE,
        )
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        _fail(f"notifications at {target} did not answer within {timeout:g}s", EXIT_UNREACHABLE)
    _fail(f"notifications answered {code.name}: {details}", EXIT_FAILURE)


@contextmanager
def _stub(override: str | None, timeout: float) -> Iterator[notifications_pb2_grpc.NotificationAdminStub]:
    target = override or get_settings().grpc_target("notifications")
    with cli_channel(target) as channel:
        try:
            yield notifications_pb2_grpc.NotificationAdminStub(channel)
        except grpc.RpcError as err:
            _rpc_exit(err, target, timeout)


def _json(message: Any) -> None:
    data = MessageToDict(message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True)
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


def _findings(findings: Any) -> None:
    for f in findings:
        typer.echo(f"  {f.rule}: “{f.phrase}”\n    try: {f.suggestion}")


@app.command()
def preview(
    complaint: Annotated[str, typer.Argument(help="complaint id or reference (HQ-...)")],
    template: Annotated[
        str, typer.Argument(help="acknowledgement, agent_response, resolved, new_assignment, ...")
    ],
    language: Annotated[str, typer.Option("--language", help="fa or en [default: the complaint's]")] = "",
    html: Annotated[bool, typer.Option("--html", help="print the HTML part instead of the text")] = False,
    notifications: TargetOption = None,
    timeout: TimeoutOption = 5.0,
    as_json: JsonOption = False,
) -> None:
    """Render a template for a complaint without sending anything."""
    with _stub(notifications, timeout) as stub:
        resp = stub.PreviewTemplate(
            notifications_pb2.PreviewTemplateRequest(
                complaint_id=complaint, template=template, language=language
            ),
            timeout=timeout,
        )
    if as_json:
        _json(resp)
        return
    typer.echo(f"[{resp.template} · {resp.language} · {resp.direction}]")
    typer.echo(f"Subject: {resp.subject}\n")
    typer.echo(resp.html if html else resp.text)
    if resp.findings:
        typer.echo("response guard:")
        _findings(resp.findings)


@app.command()
def deliveries(
    complaint: Annotated[str, typer.Argument(help="complaint id or reference (HQ-...)")],
    status: Annotated[str, typer.Option("--status", help="pending, sending, sent or failed")] = "",
    notifications: TargetOption = None,
    timeout: TimeoutOption = 5.0,
    as_json: JsonOption = False,
) -> None:
    """List a complaint's deliveries with their status."""
    with _stub(notifications, timeout) as stub:
        resp = stub.ListDeliveries(
            notifications_pb2.ListDeliveriesRequest(complaint_id=complaint, status=status), timeout=timeout
        )
    if as_json:
        _json(resp)
        return
    if not resp.deliveries:
        typer.echo("no deliveries")
        return
    for d in resp.deliveries:
        when = d.updated_at.ToDatetime().strftime("%Y-%m-%d %H:%M:%S") if d.updated_at.seconds else ""
        line = f"{d.notification_id}  {d.status:<8} {d.channel:<8} {d.template:<22} {d.recipient_id or d.recipient}"
        typer.echo(f"{line}  attempts={d.attempts}  {when}")
        if d.last_error:
            typer.echo(f"    {d.last_error}")


@app.command()
def retry(
    notification_id: Annotated[str, typer.Argument(help="a failed (dead-lettered) delivery's id")],
    notifications: TargetOption = None,
    timeout: TimeoutOption = 5.0,
    as_json: JsonOption = False,
) -> None:
    """Send a failed delivery again (once: it must be failed to be re-queued)."""
    with _stub(notifications, timeout) as stub:
        resp = stub.RetryDelivery(
            notifications_pb2.RetryDeliveryRequest(notification_id=notification_id), timeout=timeout
        )
    if as_json:
        _json(resp)
        return
    typer.echo(f"{resp.delivery.notification_id} re-queued (manual retry {resp.delivery.manual_retries})")


@app.command()
def check(
    body: Annotated[str, typer.Argument(help="the reply text, or - to read it from stdin")],
    language: Annotated[str, typer.Option("--language", help="fa or en [default: detected]")] = "",
    tenant: Annotated[str, typer.Option("--tenant", help="tenant whose guard mode applies")] = "",
    notifications: TargetOption = None,
    timeout: TimeoutOption = 5.0,
    as_json: JsonOption = False,
) -> None:
    """Run the response guard on a reply before sending it."""
    text = sys.stdin.read() if body == "-" else body
    with _stub(notifications, timeout) as stub:
        resp = stub.CheckResponse(
            notifications_pb2.CheckResponseRequest(tenant=tenant, language=language, body=text),
            timeout=timeout,
        )
    if as_json:
        _json(resp)
    elif not resp.findings:
        typer.echo("ok: nothing to change")
    else:
        typer.echo(f"{'blocked' if not resp.allowed else 'warning'} ({resp.mode} mode):")
        _findings(resp.findings)
    if not resp.allowed:
        raise typer.Exit(EXIT_FAILURE)
