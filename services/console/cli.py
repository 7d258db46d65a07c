"""`haq`: submit and inspect complaints through intake's gRPC API, and watch the lifecycle topic.

Addresses come from the HAQ_* settings (the same defaults `make run` uses); `--intake HOST:PORT`
and `--kafka HOST:PORT` point a command elsewhere. Every gRPC call has a deadline (`--timeout`).

Calls carry a bearer token when one is found: `--token`, else HAQ_TOKEN, else the developer token
`make run` writes to `<data dir>/tokens/developer.token` (services/console/tokens.py).

Exit codes are the same for every `haq` command (services/console/grpc_cli.py): 0 done; 1 any other
failure; 2 invalid input (the field named on stderr); 3 not found; 4 a service or the broker not
reachable; 5 refused for the current state; 6 no token, or one that may not do this.
"""

from __future__ import annotations

import json
import os
import sys
from contextlib import closing
from pathlib import Path
from typing import Annotated, Any

import typer

from services.common import topics
from services.common.pb.haq.v1 import complaint_pb2, intake_pb2, intake_pb2_grpc
from services.common.settings import get_settings

from . import enums
from .drafts import DraftFlags, DraftInputError, build_draft, parse_social, read_json
from .grpc_cli import EXIT_INVALID, EXIT_UNREACHABLE, fail, service_stub
from .tokens import use_token
from .views import (
    case_file_to_dict,
    customer_complaints_to_dict,
    render_case_file,
    render_customer_complaints,
)

DEFAULT_TIMEOUT_S = 10.0

app = typer.Typer(
    name="haq",
    help="Haq: submit and inspect complaints, and watch the complaint lifecycle live.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

IntakeOption = Annotated[
    str | None,
    typer.Option(
        "--intake", metavar="HOST:PORT", help="intake's gRPC address [default: from HAQ_* settings]"
    ),
]
TimeoutOption = Annotated[
    float, typer.Option("--timeout", min=0.1, help="deadline for the gRPC call, in seconds")
]
JsonOption = Annotated[bool, typer.Option("--json", help="print JSON for machines")]
TenantOption = Annotated[str, typer.Option("--tenant", help="tenant [default: intake's default tenant]")]


@app.callback()
def _options(
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            metavar="JWT",
            help="bearer token for the gRPC calls [default: HAQ_TOKEN, else <data dir>/tokens/developer.token]",
        ),
    ] = None,
) -> None:
    """Haq: submit and inspect complaints, and watch the complaint lifecycle live."""
    use_token(token)


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


def _enum_option(descriptor: Any, value: str | None, flag: str) -> int:
    try:
        return enums.to_proto(descriptor, value or "")
    except ValueError as exc:
        fail(f"{flag}: {exc}", EXIT_INVALID)


@app.command()
def submit(
    channel: Annotated[
        str | None, typer.Option(help=f"one of {', '.join(enums.choices(enums.CHANNEL))}")
    ] = None,
    sector: Annotated[
        str | None, typer.Option(help=f"one of {', '.join(enums.choices(enums.SECTOR))} [default: general]")
    ] = None,
    role: Annotated[
        str | None,
        typer.Option(help=f"complainant role: {', '.join(enums.choices(enums.ROLE))} [default: consumer]"),
    ] = None,
    customer_email: Annotated[str | None, typer.Option()] = None,
    customer_phone: Annotated[str | None, typer.Option(help="any format; intake normalises to E.164")] = None,
    customer_account: Annotated[str | None, typer.Option(help="the customer's account id")] = None,
    social: Annotated[
        list[str] | None, typer.Option(metavar="NETWORK:HANDLE", help="repeatable, e.g. x:@sara_k")
    ] = None,
    name: Annotated[str | None, typer.Option(help="the customer's display name")] = None,
    subject: Annotated[str | None, typer.Option()] = None,
    body: Annotated[str | None, typer.Option(help="what happened, in the customer's words")] = None,
    idempotency_key: Annotated[
        str | None, typer.Option(help="the same key again returns the first complaint")
    ] = None,
    language: Annotated[
        str | None, typer.Option(help="fa or en; detected from the text when omitted")
    ] = None,
    product: Annotated[str | None, typer.Option()] = None,
    purchase_date: Annotated[str | None, typer.Option(metavar="YYYY-MM-DD")] = None,
    category: Annotated[str | None, typer.Option()] = None,
    meta: Annotated[list[str] | None, typer.Option(metavar="KEY=VALUE", help="repeatable")] = None,
    tenant: Annotated[str | None, typer.Option(help="[default: intake's default tenant]")] = None,
    file: Annotated[
        str | None,
        typer.Option(
            "--file", "-f", metavar="PATH", help="a ComplaintDraft as JSON (snake_case); - reads stdin"
        ),
    ] = None,
    json_out: JsonOption = False,
    intake: IntakeOption = None,
    timeout: TimeoutOption = DEFAULT_TIMEOUT_S,
) -> None:
    """Submit a complaint; prints its id and reference."""
    flags = DraftFlags(
        tenant=tenant,
        channel=channel,
        sector=sector,
        role=role,
        customer_email=customer_email,
        customer_phone=customer_phone,
        customer_account=customer_account,
        name=name,
        social=social or [],
        subject=subject,
        body=body,
        idempotency_key=idempotency_key,
        language=language,
        product=product,
        purchase_date=purchase_date,
        category=category,
        meta=meta or [],
    )
    try:
        base = None
        if file is not None:
            text = sys.stdin.read() if file == "-" else _read_file(file)
            base = read_json(text, "--file")
        draft = build_draft(base, flags)
    except DraftInputError as exc:
        fail(str(exc), EXIT_INVALID)
    with service_stub("intake", intake_pb2_grpc.IntakeServiceStub, intake, timeout) as stub:
        resp = stub.SubmitComplaint(intake_pb2.SubmitComplaintRequest(draft=draft), timeout=timeout)
    if json_out:
        _print_json(
            {
                "id": resp.complaint_id,
                "reference": resp.reference,
                "customer_id": resp.customer_id,
                "language": resp.language,
                "duplicate": resp.duplicate,
            }
        )
        return
    typer.echo(f"{resp.reference}  {resp.complaint_id}")
    if resp.duplicate:
        typer.echo("(idempotency key seen before: this is the complaint it created)")


def _read_file(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise DraftInputError("--file", f"cannot read {path}: {exc.strerror or exc}") from exc


@app.command()
def show(
    complaint: Annotated[str, typer.Argument(metavar="ID_OR_REFERENCE")],
    json_out: JsonOption = False,
    tenant: TenantOption = "",
    intake: IntakeOption = None,
    timeout: TimeoutOption = DEFAULT_TIMEOUT_S,
) -> None:
    """The case file: status, team, owner, SLA clocks, notifications and timeline."""
    with service_stub("intake", intake_pb2_grpc.IntakeServiceStub, intake, timeout) as stub:
        case_file = stub.GetComplaint(
            intake_pb2.GetComplaintRequest(complaint=complaint, tenant=tenant), timeout=timeout
        )
    if json_out:
        _print_json(case_file_to_dict(case_file))
    else:
        typer.echo(render_case_file(case_file))


@app.command("follow-up")
def follow_up(
    complaint: Annotated[str, typer.Argument(metavar="ID_OR_REFERENCE")],
    body: Annotated[str, typer.Option(help="the customer's follow-up, in their words")],
    channel: Annotated[
        str | None, typer.Option(help=f"one of {', '.join(enums.choices(enums.CHANNEL))}")
    ] = None,
    idempotency_key: Annotated[
        str | None, typer.Option(help="the same key again returns the first follow-up")
    ] = None,
    tenant: TenantOption = "",
    json_out: JsonOption = False,
    intake: IntakeOption = None,
    timeout: TimeoutOption = DEFAULT_TIMEOUT_S,
) -> None:
    """Add a customer's follow-up to an existing complaint."""
    request = intake_pb2.AddFollowUpRequest(
        complaint=complaint,
        body=body,
        channel=_enum_option(enums.CHANNEL, channel, "--channel"),
        idempotency_key=idempotency_key or "",
        tenant=tenant,
    )
    with service_stub("intake", intake_pb2_grpc.IntakeServiceStub, intake, timeout) as stub:
        resp = stub.AddFollowUp(request, timeout=timeout)
    if json_out:
        _print_json(
            {
                "follow_up_id": resp.follow_up_id,
                "complaint_id": resp.complaint_id,
                "duplicate": resp.duplicate,
            }
        )
        return
    typer.echo(f"follow-up {resp.follow_up_id} on {resp.complaint_id}")
    if resp.duplicate:
        typer.echo("(idempotency key seen before: this is the follow-up it created)")


@app.command()
def customer(
    email: Annotated[str | None, typer.Option("--email")] = None,
    phone: Annotated[str | None, typer.Option("--phone")] = None,
    account: Annotated[str | None, typer.Option("--account", help="account id")] = None,
    social: Annotated[str | None, typer.Option("--social", metavar="NETWORK:HANDLE")] = None,
    customer_id: Annotated[str | None, typer.Option("--customer-id")] = None,
    tenant: TenantOption = "",
    json_out: JsonOption = False,
    intake: IntakeOption = None,
    timeout: TimeoutOption = DEFAULT_TIMEOUT_S,
) -> None:
    """Every complaint of one customer, across channels, found by any one identifier."""
    if not any((email, phone, account, social, customer_id)):
        fail("give one of --email, --phone, --account, --social or --customer-id", EXIT_INVALID)
    identifiers = complaint_pb2.CustomerIdentifiers(
        email=email or "", phone=phone or "", account_id=account or ""
    )
    if social:
        try:
            identifiers.social.append(parse_social(social))
        except DraftInputError as exc:
            fail(str(exc), EXIT_INVALID)
    request = intake_pb2.ListCustomerComplaintsRequest(
        tenant=tenant, customer_id=customer_id or "", identifiers=identifiers
    )
    with service_stub("intake", intake_pb2_grpc.IntakeServiceStub, intake, timeout) as stub:
        resp = stub.ListCustomerComplaints(request, timeout=timeout)
    if json_out:
        _print_json(customer_complaints_to_dict(resp))
    else:
        typer.echo(render_customer_complaints(resp))


_TOPICS = {
    "lifecycle": topics.LIFECYCLE_TOPIC,
    "deadletter": topics.DEAD_LETTER_TOPIC,
}


@app.command()
def watch(
    from_beginning: Annotated[
        bool, typer.Option("--from-beginning", help="replay the topic from its first event")
    ] = False,
    json_out: Annotated[bool, typer.Option("--json", help="one JSON object per line")] = False,
    types: Annotated[
        list[str] | None,
        typer.Option(
            "--type", "-t", metavar="TYPE", help="only this event type (repeatable), e.g. ComplaintRouted"
        ),
    ] = None,
    sectors: Annotated[
        list[str] | None,
        typer.Option(
            "--sector",
            metavar="SECTOR",
            help=f"only complaints of this sector (repeatable): {', '.join(enums.choices(enums.SECTOR))}",
        ),
    ] = None,
    teams: Annotated[
        list[str] | None,
        typer.Option(
            "--team", metavar="TEAM", help="only complaints this team holds (repeatable), e.g. contracts"
        ),
    ] = None,
    priorities: Annotated[
        list[str] | None,
        typer.Option(
            "--priority",
            metavar="PRIORITY",
            help=f"only complaints of this priority (repeatable): {', '.join(enums.choices(enums.PRIORITY))}",
        ),
    ] = None,
    summary: Annotated[
        bool,
        typer.Option(
            "--summary",
            help="a live summary instead of lines: complaints per stage, SLA at risk and breached, consumer lag",
        ),
    ] = False,
    topic: Annotated[str, typer.Option(help=f"one of {', '.join(_TOPICS)}")] = "lifecycle",
    kafka: Annotated[
        str | None, typer.Option("--kafka", metavar="HOST:PORT", help="broker [default: HAQ_KAFKA_BOOTSTRAP]")
    ] = None,
) -> None:
    """A live, decoded tail of the lifecycle topic, or a live summary (Ctrl-C stops).

    --sector, --team and --priority match what earlier events said about the complaint (an
    SlaBreached does not repeat the sector), so the topic's history is read first, silently,
    unless --from-beginning shows it.
    """
    from kafka.errors import KafkaError

    from .filters import WatchFilter
    from .flow import FlowState
    from .stream import follow
    from .watch import complaint_id, format_line, record_to_dict

    if topic not in _TOPICS:
        fail(f"--topic: {topic!r} is not one of {', '.join(_TOPICS)}", EXIT_INVALID)
    try:
        wanted = WatchFilter.parse(types or [], sectors or [], teams or [], priorities or [])
    except ValueError as exc:
        fail(str(exc), EXIT_INVALID)
    if wanted.needs_facts and topic != "lifecycle":
        fail("--sector, --team and --priority apply to the lifecycle topic only", EXIT_INVALID)
    settings = get_settings()
    if kafka:
        settings = settings.model_copy(update={"kafka_bootstrap": kafka})
    if summary:
        if topic != "lifecycle" or json_out:
            fail(
                "--summary reads the lifecycle topic and draws for people (no --json, no --topic)",
                EXIT_INVALID,
            )
        from .summary import run_summary

        try:
            run_summary(settings, wanted)
        except KeyboardInterrupt:
            return
        return

    state = FlowState()
    replay = from_beginning or wanted.needs_facts
    try:
        with closing(follow(settings, _TOPICS[topic], replay=replay)) as records:
            for record, live in records:
                env = record.envelope
                if env is not None and topic == "lifecycle":
                    state.apply(env)
                if not (live or from_beginning):
                    continue  # history read only to learn the complaints' facts
                facts = state.facts.get(complaint_id(env)) if env is not None else None
                if not wanted.matches(env, facts):
                    continue
                if json_out:
                    typer.echo(json.dumps(record_to_dict(record), ensure_ascii=False))
                else:
                    typer.echo(format_line(record))
    except KeyboardInterrupt:
        return
    except BrokenPipeError:
        # `haq watch | head`: the reader left; exit quietly without a traceback at shutdown.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return
    except (KafkaError, RuntimeError) as exc:
        fail(f"cannot read {_TOPICS[topic]} from {settings.kafka_bootstrap}: {exc}", EXIT_UNREACHABLE)


@app.command("mint-token")
def mint_token_command(
    subject: Annotated[str, typer.Option(help="who the token speaks for, e.g. an agent id")],
    role: Annotated[list[str], typer.Option(help="repeatable: integration, agent, team_lead, ops, admin")],
    team: Annotated[
        list[str] | None, typer.Option(help="repeatable: the teams of an agent or team lead")
    ] = None,
    tenant: Annotated[str | None, typer.Option(help="[default: HAQ_TENANT]")] = None,
    days: Annotated[int, typer.Option(min=1, help="validity")] = 30,
) -> None:
    """Print a token signed with HAQ_AUTH_SECRET (operators issue staff and integration tokens so)."""
    from services.common.auth import mint_token

    settings = get_settings()
    if not settings.auth_secret:
        fail("HAQ_AUTH_SECRET is not set: there is nothing to sign tokens with", EXIT_INVALID)
    try:
        typer.echo(
            mint_token(
                settings.auth_secret, subject, tenant or settings.tenant, role, team or (), ttl_s=days * 86400
            )
        )
    except ValueError as exc:
        fail(str(exc), EXIT_INVALID)


def _register_subcommands() -> None:
    from . import case_cli, directory_cli, notify_cli, rules_cli

    assert directory_cli.app is rules_cli.app  # team, accounts, account: beside the directory commands

    app.add_typer(
        rules_cli.app, name="rules", help="routing rule sets: validate, apply, diff, explain, simulate"
    )
    app.add_typer(case_cli.app, name="case", help="agent actions on a complaint, and SLA queries")
    app.add_typer(notify_cli.app, name="notify", help="notification templates, deliveries and retries")


_register_subcommands()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
