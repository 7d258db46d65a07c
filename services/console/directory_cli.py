"""`haq rules team`, `haq rules accounts`, `haq rules account`: a tenant's own teams and B2B
accounts, beside the other directory commands (teams, presence, capacity, agent) in rules_cli.py.
Exit codes as for every `haq` command (services/console/grpc_cli.py). With authentication on, the
tenant is the token's and the audit names the token's subject."""

from __future__ import annotations

from typing import Annotated

import typer

from services.common.pb.haq.v1 import routing_pb2, routing_pb2_grpc
from services.console.grpc_cli import service_stub
from services.console.rules_cli import JsonOption, RoutingOption, TimeoutOption, _json, app

TenantOption = Annotated[str, typer.Option("--tenant", help="empty: the caller's tenant")]


def _team_line(t: routing_pb2.Team) -> str:
    return (
        f"{t.id} ({t.strategy}, {t.time_zone}): {t.name}; duty owner {t.duty_owner or '-'}, "
        f"manager {t.manager or '-'}, director {t.director or '-'}"
    )


@app.command("team")
def team(
    team_id: Annotated[str, typer.Argument(metavar="TEAM", help="team id (new or existing)")],
    name: Annotated[str, typer.Option("--name")] = "",
    lead: Annotated[str, typer.Option("--lead", help="the duty owner (an agent id)")] = "",
    manager: Annotated[str, typer.Option("--manager")] = "",
    director: Annotated[str, typer.Option("--director")] = "",
    time_zone: Annotated[str, typer.Option("--time-zone", help="IANA, e.g. Asia/Tehran")] = "",
    strategy: Annotated[str, typer.Option("--strategy", help="most-available or round-robin")] = "",
    tenant: TenantOption = "",
    json_out: JsonOption = False,
    routing: RoutingOption = None,
    timeout: TimeoutOption = 10.0,
) -> None:
    """Add a team to your tenant's directory or change one (a tenant's first team gives it a
    directory of its own). Empty name, lead, time zone or strategy keep the stored value;
    manager and director are replaced."""
    pb = routing_pb2.Team(
        id=team_id,
        name=name,
        duty_owner=lead,
        manager=manager,
        director=director,
        time_zone=time_zone,
        strategy=strategy,
    )
    with service_stub("routing", routing_pb2_grpc.RoutingAdminStub, routing, timeout) as stub:
        resp = stub.UpsertTeam(routing_pb2.UpsertTeamRequest(team=pb, tenant=tenant), timeout=timeout)
    if json_out:
        _json(resp)
        return
    typer.echo(_team_line(resp.team))


@app.command("accounts")
def accounts(
    tenant: TenantOption = "",
    json_out: JsonOption = False,
    routing: RoutingOption = None,
    timeout: TimeoutOption = 10.0,
) -> None:
    """Your tenant's B2B accounts and their contract entitlements."""
    with service_stub("routing", routing_pb2_grpc.RoutingAdminStub, routing, timeout) as stub:
        resp = stub.ListAccounts(routing_pb2.ListAccountsRequest(tenant=tenant), timeout=timeout)
    if json_out:
        _json(resp)
        return
    if not resp.accounts:
        typer.echo("no accounts on record")
    for a in resp.accounts:
        hours = f"{a.response_hours} h" if a.response_hours else "-"
        typer.echo(
            f"{a.id:<14} {a.tier or '-':<9} {a.sla_policy or '-':<16} first response {hours:<6} "
            f"manager {a.account_manager or '-'}  {a.name}"
        )


@app.command("account")
def account(
    account_id: Annotated[str, typer.Argument(metavar="ACCOUNT", help="the customer's account id")],
    name: Annotated[str, typer.Option("--name")] = "",
    tier: Annotated[str, typer.Option("--tier", help="e.g. platinum, gold, standard")] = "",
    sla_policy: Annotated[str, typer.Option("--sla-policy", help="escalation's policy name")] = "",
    response_hours: Annotated[int, typer.Option("--response-hours", min=0)] = 0,
    manager: Annotated[str, typer.Option("--manager", help="the account manager, kept informed")] = "",
    tenant: TenantOption = "",
    json_out: JsonOption = False,
    routing: RoutingOption = None,
    timeout: TimeoutOption = 10.0,
) -> None:
    """Add or replace one of your tenant's B2B accounts (every field is replaced)."""
    pb = routing_pb2.Account(
        id=account_id,
        name=name,
        tier=tier,
        sla_policy=sla_policy,
        response_hours=response_hours,
        account_manager=manager,
    )
    with service_stub("routing", routing_pb2_grpc.RoutingAdminStub, routing, timeout) as stub:
        resp = stub.UpsertAccount(
            routing_pb2.UpsertAccountRequest(account=pb, tenant=tenant), timeout=timeout
        )
    if json_out:
        _json(resp)
        return
    a = resp.account
    typer.echo(
        f"{a.id}: {a.tier or '-'}, {a.sla_policy or '-'}, {a.response_hours} h, manager {a.account_manager or '-'}"
    )
