"""`haq rules ...`: routing rule sets and the directory, through the routing service's RoutingAdmin.
(Over ~450 lines: one command per RoutingAdmin RPC, kept together as the CLI's one routing page.)

Exit codes as for every `haq` command (services/console/grpc_cli.py): 0 done; 1 another failure;
2 invalid input (each problem on stderr as file:line: field: problem); 3 not found; 4 routing not
reachable; 5 refused for the current state (FAILED_PRECONDITION); 6 no token or one that may not do
this. Changes name who made them: --author/--actor, default $HAQ_ACTOR or $USER.
"""

from __future__ import annotations

import getpass
import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from google.protobuf.json_format import MessageToDict

from services.common.pb.haq.v1 import complaint_pb2, routing_pb2, routing_pb2_grpc
from services.console.grpc_cli import EXIT_INVALID, fail, service_stub

app = typer.Typer(help="routing commands", no_args_is_help=True)

RoutingOption = Annotated[
    str | None,
    typer.Option(
        "--routing", metavar="HOST:PORT", help="routing's gRPC address [default: from HAQ_* settings]"
    ),
]
TimeoutOption = Annotated[
    float, typer.Option("--timeout", min=0.1, help="deadline for the gRPC call, in seconds")
]
JsonOption = Annotated[bool, typer.Option("--json", help="print JSON for machines")]
TenantOption = Annotated[
    str, typer.Option("--tenant", help="whose rule sets [default: your token's tenant, or HAQ_TENANT]")
]


def _who() -> str:
    return os.environ.get("HAQ_ACTOR") or os.environ.get("USER") or getpass.getuser()


AuthorOption = Annotated[
    str, typer.Option("--author", "--actor", help="who makes the change [default: $HAQ_ACTOR or $USER]")
]
CommentOption = Annotated[
    str, typer.Option("--comment", "-m", help="why (kept in the version and the audit log)")
]


def _read(path: Path) -> str:
    try:
        return sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except OSError as exc:
        fail(f"{path}: {exc.strerror or exc}", EXIT_INVALID)


def _json(message: Any) -> None:
    typer.echo(json.dumps(MessageToDict(message), ensure_ascii=False, indent=2))


def _priority(value: int) -> str:
    return complaint_pb2.Priority.Name(value).removeprefix("PRIORITY_").lower()


# --- rule sets -------------------------------------------------------------------------------


@app.command()
def validate(
    file: Annotated[Path, typer.Argument(help="rule set YAML ('-' reads stdin)")],
    json_out: JsonOption = False,
    tenant: TenantOption = "",
    routing: RoutingOption = None,
    timeout: TimeoutOption = 10.0,
) -> None:
    """Check a rule set against the schema and the tenant's directory; changes nothing."""
    with service_stub("routing", routing_pb2_grpc.RoutingAdminStub, routing, timeout) as stub:
        resp = stub.ValidateRuleSet(
            routing_pb2.RuleSetSource(source=_read(file), file_name=file.name, tenant=tenant),
            timeout=timeout,
        )
    if json_out:
        _json(resp)
    elif resp.valid:
        typer.echo(f"{file}: valid (version {resp.version}, {resp.rules} rules)")
    for e in resp.errors if not json_out else ():
        typer.echo(
            f"{e.file}:{e.line}: {e.field}: {e.problem}" if e.field else f"{e.file}:{e.line}: {e.problem}",
            err=True,
        )
    if not resp.valid:
        raise typer.Exit(EXIT_INVALID)


@app.command()
def apply(
    file: Annotated[Path, typer.Argument(help="rule set YAML ('-' reads stdin)")],
    author: AuthorOption = "",
    comment: CommentOption = "",
    tenant: TenantOption = "",
    stage_percent: Annotated[
        int | None,
        typer.Option("--stage-percent", min=1, max=100, help="stage it: route only this share of traffic"),
    ] = None,
    stage_channel: Annotated[
        list[str] | None,
        typer.Option("--stage-channel", help="stage it for this channel only (repeatable; web, email, ...)"),
    ] = None,
    confirm_safety_changes: Annotated[
        bool,
        typer.Option(
            "--confirm-safety-changes", help="apply even if complaints would leave a safety override"
        ),
    ] = False,
    simulate_last: Annotated[
        int, typer.Option("--simulate-last", min=0, help="recent complaints the safety check replays [100]")
    ] = 0,
    routing: RoutingOption = None,
    timeout: TimeoutOption = 30.0,
) -> None:
    """Store the rule set as a new version of the tenant and make it active for every routing
    worker at once, or stage it (--stage-percent/--stage-channel) until `haq rules promote`.
    An invalid set is refused and the running one stays; so is one that would move a recent
    complaint away from a safety override, unless --confirm-safety-changes."""
    request = routing_pb2.ApplyRuleSetRequest(
        source=_read(file),
        file_name=file.name,
        author=author or _who(),
        comment=comment,
        tenant=tenant,
        confirm_safety_changes=confirm_safety_changes,
        simulate_last=simulate_last,
    )
    if stage_percent is not None or stage_channel:
        request.staging.CopyFrom(
            routing_pb2.Staging(percent=stage_percent or 100, channels=stage_channel or [])
        )
    with service_stub("routing", routing_pb2_grpc.RoutingAdminStub, routing, timeout) as stub:
        v = stub.ApplyRuleSet(request, timeout=timeout)
    where = f" (tenant {v.tenant})" if v.tenant else ""
    if v.staged:
        channels = ", ".join(v.staging.channels) or "every channel"
        typer.echo(
            f"staged {v.version}{where} for {v.staging.percent}% of {channels} "
            f"({v.rules} rules, sha256 {v.checksum[:12]}) by {v.author}; promote with `haq rules promote`"
        )
    else:
        typer.echo(
            f"applied {v.version}{where} ({v.rules} rules, sha256 {v.checksum[:12]}) by {v.author}; active now"
        )


@app.command()
def promote(
    comment: CommentOption = "",
    tenant: TenantOption = "",
    routing: RoutingOption = None,
    timeout: TimeoutOption = 30.0,
) -> None:
    """Make the staged version active for all of the tenant's traffic (audited)."""
    with service_stub("routing", routing_pb2_grpc.RoutingAdminStub, routing, timeout) as stub:
        v = stub.PromoteRuleSet(
            routing_pb2.PromoteRuleSetRequest(tenant=tenant, comment=comment), timeout=timeout
        )
    typer.echo(f"promoted {v.version}; active now")


@app.command("cancel-stage")
def cancel_stage(
    comment: CommentOption = "",
    tenant: TenantOption = "",
    routing: RoutingOption = None,
    timeout: TimeoutOption = 10.0,
) -> None:
    """Stop routing anything by the staged version; the active one stays (audited)."""
    with service_stub("routing", routing_pb2_grpc.RoutingAdminStub, routing, timeout) as stub:
        v = stub.CancelStagedRuleSet(
            routing_pb2.CancelStagedRuleSetRequest(tenant=tenant, comment=comment), timeout=timeout
        )
    typer.echo(f"stage cancelled; {v.version} stays active")


@app.command()
def versions(
    json_out: JsonOption = False,
    tenant: TenantOption = "",
    routing: RoutingOption = None,
    timeout: TimeoutOption = 10.0,
) -> None:
    """The tenant's stored versions, newest first; * marks the active one, ~ the staged one."""
    with service_stub("routing", routing_pb2_grpc.RoutingAdminStub, routing, timeout) as stub:
        resp = stub.ListRuleSetVersions(
            routing_pb2.ListRuleSetVersionsRequest(tenant=tenant), timeout=timeout
        )
    if json_out:
        _json(resp)
        return
    if resp.inherited:
        typer.echo(f"* {resp.active:<24} (built-in: this tenant has applied no rule set of its own)")
    for v in resp.versions:
        when = v.created_at.ToDatetime().strftime("%Y-%m-%d %H:%M:%S")
        mark = "*" if v.active else ("~" if v.staged else " ")
        typer.echo(f"{mark} {v.version:<24} {v.rules:>4} rules  {when}  {v.author:<16} {v.comment}")


@app.command()
def show(
    version: Annotated[str, typer.Argument(help="version [default: the active one]")] = "",
    tenant: TenantOption = "",
    routing: RoutingOption = None,
    timeout: TimeoutOption = 10.0,
) -> None:
    """Print a stored version's YAML."""
    with service_stub("routing", routing_pb2_grpc.RoutingAdminStub, routing, timeout) as stub:
        v = stub.GetRuleSet(routing_pb2.GetRuleSetRequest(version=version, tenant=tenant), timeout=timeout)
    typer.echo(v.source, nl=False)


@app.command()
def diff(
    from_version: Annotated[str, typer.Argument(help="base version [default: the active one]")] = "",
    to_version: Annotated[str, typer.Argument(help="version to compare with")] = "",
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="compare with a candidate file instead")
    ] = None,
    text: Annotated[bool, typer.Option("--text", help="also print the unified diff of the YAML")] = False,
    json_out: JsonOption = False,
    tenant: TenantOption = "",
    routing: RoutingOption = None,
    timeout: TimeoutOption = 10.0,
) -> None:
    """Rule by rule: added, removed, changed (field by field), moved."""
    request = routing_pb2.DiffRuleSetsRequest(from_version=from_version, to_version=to_version, tenant=tenant)
    if file is not None:
        request.to_source, request.to_file_name = _read(file), file.name
    with service_stub("routing", routing_pb2_grpc.RoutingAdminStub, routing, timeout) as stub:
        resp = stub.DiffRuleSets(request, timeout=timeout)
    if json_out:
        _json(resp)
        return
    typer.echo(f"{resp.from_version} -> {resp.to_version}: {len(resp.changes)} change(s)")
    for c in resp.changes:
        typer.echo(f"  {c.change:<8} {c.rule_id}")
        for d in c.details:
            typer.echo(f"           {d}")
    if text:
        typer.echo(resp.unified_diff, nl=False)


@app.command()
def rollback(
    version: Annotated[str, typer.Argument(help="version to re-activate [default: the previous one]")] = "",
    author: AuthorOption = "",
    comment: CommentOption = "",
    tenant: TenantOption = "",
    routing: RoutingOption = None,
    timeout: TimeoutOption = 10.0,
) -> None:
    """Make an earlier version of the tenant active again (audited)."""
    request = routing_pb2.RollbackRuleSetRequest(
        to_version=version, author=author or _who(), comment=comment, tenant=tenant
    )
    with service_stub("routing", routing_pb2_grpc.RoutingAdminStub, routing, timeout) as stub:
        v = stub.RollbackRuleSet(request, timeout=timeout)
    typer.echo(f"rolled back to {v.version}; active now")


@app.command()
def explain(
    complaint: Annotated[str, typer.Argument(help="complaint id or reference")],
    version: Annotated[
        str, typer.Option("--version", help="a stored version [default: the active one]")
    ] = "",
    file: Annotated[Path | None, typer.Option("--file", "-f", help="a candidate rule set instead")] = None,
    json_out: JsonOption = False,
    routing: RoutingOption = None,
    timeout: TimeoutOption = 10.0,
) -> None:
    """Which rules a complaint met and why: team, owner, priority and SLA policy, and how it was
    actually routed."""
    request = routing_pb2.ExplainComplaintRequest(complaint=complaint, version=version)
    if file is not None:
        request.source, request.file_name = _read(file), file.name
    with service_stub("routing", routing_pb2_grpc.RoutingAdminStub, routing, timeout) as stub:
        e = stub.ExplainComplaint(request, timeout=timeout)
    if json_out:
        _json(e)
        return
    r = e.routed
    typer.echo(f"complaint {e.complaint_id} {e.reference}".rstrip())
    typer.echo(
        f"routed:    {r.team} owner {r.owner}{' (duty owner)' if r.owner_is_duty_lead else ''}, "
        f"priority {_priority(r.priority)}, SLA {r.sla_policy}, rule {r.rule_id} (rule set {r.rule_set_version})"
    )
    typer.echo(f"held by:   {e.current_owner}{' (queued)' if e.queued else ''}")
    typer.echo(
        f"rule set {e.rule_set_version} now: {e.team}, priority {_priority(e.priority)}, SLA {e.sla_policy}, "
        f"rule {e.rule_id}, owner {e.owner}{' (duty owner)' if e.owner_is_duty_lead else ''}"
    )
    if e.signals:
        typer.echo(f"signals (triage model {e.triage_model or 'unknown'}):")
        for sig in e.signals:
            terms = f"  words: {', '.join(sig.top_terms)}" if sig.top_terms else ""
            typer.echo(f"  {sig.signal:<13} {sig.score:.2f}  {sig.source or 'model':<10}{terms}")
    else:
        typer.echo("signals: not scored")
    typer.echo("rules considered:")
    for t in e.considered:
        typer.echo(f"  {'MATCH' if t.matched else 'no   '} {t.rule_id} [{t.kind}]: {t.reason}")
    for t in (f for f in e.flags if f.matched):
        typer.echo(f"  FLAG  {t.rule_id}: {t.reason}")
    if e.tags:
        typer.echo(f"tags: {', '.join(e.tags)}")
    if e.keep_informed:
        typer.echo(f"kept informed: {', '.join(e.keep_informed)}")
    typer.echo("why:")
    for line in e.explanation.splitlines():
        typer.echo(f"  {line}")


@app.command()
def simulate(
    file: Annotated[Path, typer.Argument(help="candidate rule set YAML ('-' reads stdin)")],
    last: Annotated[int, typer.Option("--last", "-n", min=1, help="how many of the latest complaints")] = 100,
    json_out: JsonOption = False,
    tenant: TenantOption = "",
    routing: RoutingOption = None,
    timeout: TimeoutOption = 60.0,
) -> None:
    """Route the last N routed complaints (their stored inputs, scored by each set's triage model,
    corrections kept) by the candidate and by the active set, and report what would change.
    Changes nothing."""
    request = routing_pb2.SimulateRuleSetRequest(
        source=_read(file), file_name=file.name, last=last, tenant=tenant
    )
    with service_stub("routing", routing_pb2_grpc.RoutingAdminStub, routing, timeout) as stub:
        rep = stub.SimulateRuleSet(request, timeout=timeout)
    if json_out:
        _json(rep)
        return
    typer.echo(
        f"{rep.candidate_version} vs active {rep.baseline_version}: {rep.changed} of {rep.complaints} "
        "complaint(s) would change"
    )
    typer.echo(
        f"  team {rep.team_changed}, priority {rep.priority_changed}, SLA {rep.sla_changed}, "
        f"safety override {rep.safety_changed}"
    )
    for move, n in sorted(rep.team_moves.items(), key=lambda kv: -kv[1]):
        typer.echo(f"  {n:>5}  {move}")
    for c in rep.changes:
        parts = [f"rule {c.from_rule} -> {c.to_rule}"]
        if c.from_team != c.to_team:
            parts.append(f"team {c.from_team} -> {c.to_team}")
        if c.from_priority != c.to_priority:
            parts.append(f"priority {_priority(c.from_priority)} -> {_priority(c.to_priority)}")
        if c.from_sla_policy != c.to_sla_policy:
            parts.append(f"SLA {c.from_sla_policy} -> {c.to_sla_policy}")
        if c.leaves_safety_override:
            parts.append("LEAVES the safety override")
        if c.enters_safety_override:
            parts.append("enters a safety override")
        typer.echo(f"  {c.reference or c.complaint_id}: {'; '.join(parts)}")


@app.command()
def audit(
    limit: Annotated[
        int, typer.Option("--limit", min=0, max=1000, help="newest N [50]; --jsonl: 0 = all")
    ] = 0,
    action: Annotated[str, typer.Option("--action", help="e.g. rules.apply, agent.presence")] = "",
    jsonl: Annotated[
        bool, typer.Option("--jsonl", help="export the tenant's whole audit, oldest first, as JSON lines")
    ] = False,
    json_out: JsonOption = False,
    tenant: TenantOption = "",
    routing: RoutingOption = None,
    timeout: TimeoutOption = 60.0,
) -> None:
    """Every change of the tenant: who, when, what (newest first; --jsonl: all, oldest first)."""
    request = routing_pb2.ListAuditRequest(limit=limit, action=action, tenant=tenant)
    with service_stub("routing", routing_pb2_grpc.RoutingAdminStub, routing, timeout) as stub:
        if jsonl:
            for entry in stub.ExportAudit(request, timeout=timeout):
                typer.echo(json.dumps(MessageToDict(entry), ensure_ascii=False, sort_keys=True))
            return
        request.limit = limit or 50
        resp = stub.ListAudit(request, timeout=timeout)
    if json_out:
        _json(resp)
        return
    for a in resp.entries:
        when = a.at.ToDatetime().strftime("%Y-%m-%d %H:%M:%S")
        note = f"  # {a.comment}" if a.comment else ""
        typer.echo(f"{when}  {a.actor:<16} {a.action:<20} {a.target:<24} {a.detail}{note}")


# --- directory -------------------------------------------------------------------------------


@app.command()
def teams(
    tenant: Annotated[str, typer.Option("--tenant")] = "",
    json_out: JsonOption = False,
    routing: RoutingOption = None,
    timeout: TimeoutOption = 10.0,
) -> None:
    """Teams, their duty owner and queue, and each agent's presence and load."""
    with service_stub("routing", routing_pb2_grpc.RoutingAdminStub, routing, timeout) as stub:
        resp = stub.ListTeams(routing_pb2.ListTeamsRequest(tenant=tenant), timeout=timeout)
    if json_out:
        _json(resp)
        return
    for t in resp.teams:
        typer.echo(f"{t.id} ({t.strategy}, {t.time_zone}): duty owner {t.duty_owner}, queued {t.queued}")
        for a in t.agents:
            role = "lead " if a.is_lead else "     "
            typer.echo(
                f"  {role}{a.id:<22} {a.presence:<7} {a.open_assignments:>3}/{a.capacity:<3} "
                f"{','.join(a.skills)} [{','.join(a.languages)}]"
            )


def _agent_update(resp: routing_pb2.AgentUpdate) -> None:
    a = resp.agent
    typer.echo(f"{a.id} ({a.team}): {a.presence}, {a.open_assignments}/{a.capacity} open")
    if resp.assigned:
        typer.echo(f"assigned from the queue: {', '.join(resp.assigned)}")


@app.command()
def presence(
    agent: Annotated[str, typer.Argument(help="agent id")],
    state: Annotated[str, typer.Argument(help="online, away or offline")],
    actor: AuthorOption = "",
    tenant: Annotated[str, typer.Option("--tenant")] = "",
    routing: RoutingOption = None,
    timeout: TimeoutOption = 10.0,
) -> None:
    """Set an agent's presence; going online assigns queued complaints at once."""
    request = routing_pb2.SetPresenceRequest(
        agent=agent, presence=state, actor=actor or _who(), tenant=tenant
    )
    with service_stub("routing", routing_pb2_grpc.RoutingAdminStub, routing, timeout) as stub:
        _agent_update(stub.SetPresence(request, timeout=timeout))


@app.command()
def capacity(
    agent: Annotated[str, typer.Argument(help="agent id")],
    slots: Annotated[int, typer.Argument(min=0, help="how many open complaints the agent can hold")],
    actor: AuthorOption = "",
    tenant: Annotated[str, typer.Option("--tenant")] = "",
    routing: RoutingOption = None,
    timeout: TimeoutOption = 10.0,
) -> None:
    """Set an agent's capacity; more room assigns queued complaints at once."""
    request = routing_pb2.SetCapacityRequest(
        agent=agent, capacity=slots, actor=actor or _who(), tenant=tenant
    )
    with service_stub("routing", routing_pb2_grpc.RoutingAdminStub, routing, timeout) as stub:
        _agent_update(stub.SetCapacity(request, timeout=timeout))


def _split(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _hours(spec: str) -> routing_pb2.WorkingHours:
    """`sun,mon,tue 09:00-17:00`"""
    try:
        days, span = spec.split()
        start, end = span.split("-")
    except ValueError:
        fail(f"--hours: {spec!r} is not like 'sun,mon,tue 09:00-17:00'", EXIT_INVALID)
    return routing_pb2.WorkingHours(days=_split(days), start=start, end=end)


@app.command()
def agent(
    agent_id: Annotated[str, typer.Argument(metavar="AGENT", help="agent id (new or existing)")],
    team: Annotated[str, typer.Option("--team", help="team id")],
    name: Annotated[str, typer.Option("--name")] = "",
    skills: Annotated[str, typer.Option("--skills", help="comma-separated")] = "",
    languages: Annotated[str, typer.Option("--languages", help="comma-separated: fa,en")] = "",
    slots: Annotated[int, typer.Option("--capacity", min=0)] = 0,
    state: Annotated[str, typer.Option("--presence")] = "offline",
    email: Annotated[str, typer.Option("--email")] = "",
    hours: Annotated[
        list[str] | None, typer.Option("--hours", help="'sun,mon 09:00-17:00' (repeatable)")
    ] = None,
    actor: AuthorOption = "",
    tenant: Annotated[str, typer.Option("--tenant")] = "",
    routing: RoutingOption = None,
    timeout: TimeoutOption = 10.0,
) -> None:
    """Add an agent or replace one's details."""
    pb = routing_pb2.Agent(
        id=agent_id,
        team=team,
        name=name,
        skills=_split(skills),
        languages=_split(languages),
        capacity=slots,
        presence=state,
        email=email,
        working_hours=[_hours(h) for h in hours or []],
    )
    request = routing_pb2.UpsertAgentRequest(agent=pb, actor=actor or _who(), tenant=tenant)
    with service_stub("routing", routing_pb2_grpc.RoutingAdminStub, routing, timeout) as stub:
        _agent_update(stub.UpsertAgent(request, timeout=timeout))
