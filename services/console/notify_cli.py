"""`haq notify ...`: templates, deliveries, retries and the response guard, through the
notifications service's NotificationAdmin.

Exit codes as for every `haq` command (services/console/grpc_cli.py): 0 done (for `check`: nothing
found, or warn mode); 1 blocked by the guard, or another failure; 2 invalid input; 3 not found;
4 notifications not reachable; 5 refused for the current state (FAILED_PRECONDITION); 6 no token or
one that may not do this.
"""

from __future__ import annotations

import json
import sys
from contextlib import AbstractContextManager
from typing import Annotated, Any

import typer
from google.protobuf.json_format import MessageToDict

from services.common.pb.haq.v1 import notifications_pb2, notifications_pb2_grpc
from services.console.grpc_cli import EXIT_FAILURE, service_stub

app = typer.Typer(help="notifications commands", no_args_is_help=True)

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


def _admin(
    override: str | None, timeout: float
) -> AbstractContextManager[notifications_pb2_grpc.NotificationAdminStub]:
    return service_stub("notifications", notifications_pb2_grpc.NotificationAdminStub, override, timeout)


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
    with _admin(notifications, timeout) as stub:
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
    with _admin(notifications, timeout) as stub:
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
    with _admin(notifications, timeout) as stub:
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
    with _admin(notifications, timeout) as stub:
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
