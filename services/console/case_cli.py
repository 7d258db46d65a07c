"""`haq case ...`: agent actions and SLA queries, over escalation's CaseService and SlaService;
triage corrections (`mark`, `clear`, `corrections`) over routing's RoutingAdmin.

A complaint is named by its id or its reference (HQ-...; looked up through intake). Exit codes as
for every `haq` command (services/console/grpc_cli.py): 2 refused input (the field named), 3 not
found, 4 unreachable, 5 a transition the complaint's state forbids (the reason printed), 6 no token
or one that may not do this, 1 anything else.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

import typer
from google.protobuf import json_format

from services.common.pb.haq.v1 import (
    complaint_pb2,
    escalation_pb2,
    escalation_pb2_grpc,
    intake_pb2,
    intake_pb2_grpc,
    routing_pb2,
    routing_pb2_grpc,
)
from services.common.proto_values import to_datetime, to_timestamp
from services.console.grpc_cli import EXIT_INVALID, fail, service_stub

app = typer.Typer(help="escalation commands", no_args_is_help=True)

Complaint = Annotated[str, typer.Argument(help="complaint id or reference (HQ-...)")]
Agent = Annotated[str, typer.Option("--agent", "-a", help="who acts (agent id)")]
Json = Annotated[bool, typer.Option("--json", help="print JSON for machines")]
Timeout = Annotated[float, typer.Option("--timeout", min=0.1, help="deadline per gRPC call, seconds")]
Target = Annotated[
    str | None, typer.Option("--escalation", metavar="HOST:PORT", help="escalation's gRPC address")
]
RequestId = Annotated[str, typer.Option("--request-id", help="makes a retry safe: applied once")]


def resolve_id(complaint: str, timeout: float) -> str:
    """A reference (HQ-...) is looked up through intake; anything else is taken as the id."""
    complaint = complaint.strip()
    if not complaint.upper().startswith("HQ-"):
        return complaint
    with service_stub("intake", intake_pb2_grpc.IntakeServiceStub, None, timeout) as stub:
        case_file = stub.GetComplaint(intake_pb2.GetComplaintRequest(complaint=complaint), timeout=timeout)
    return case_file.complaint.id


def _status(value: int) -> str:
    return complaint_pb2.ComplaintStatus.Name(value).removeprefix("COMPLAINT_STATUS_").lower()


def _when(ts: Any) -> str:
    at = to_datetime(ts)
    return "-" if at is None else at.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _print(message: Any, as_json: bool, text: str) -> None:
    if as_json:
        typer.echo(
            json.dumps(
                json_format.MessageToDict(message, preserving_proto_field_name=True),
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        typer.echo(text)


def _case_text(reply: escalation_pb2.CaseReply) -> str:
    text = f"complaint {reply.complaint_id}: {_status(reply.status)}, owner {reply.owner} ({reply.team})"
    if reply.offered_to and reply.offered_to != reply.owner:
        text += f", offered to {reply.offered_to}"
    if reply.transfer_id:
        text += f", transfer {reply.transfer_id}"
    return text


def _act(method: str, request: Any, as_json: bool, timeout: float, target: str | None) -> Any:
    with service_stub("escalation", escalation_pb2_grpc.CaseServiceStub, target, timeout) as stub:
        reply = getattr(stub, method)(request, timeout=timeout)
    _print(reply, as_json, _case_text(reply.case if method == "Respond" else reply))
    return reply


@app.command("accept")
def accept_cmd(
    complaint: Complaint,
    agent: Agent,
    request_id: RequestId = "",
    json_: Json = False,
    timeout: Timeout = 10.0,
    escalation: Target = None,
) -> None:
    """Accept a complaint offered to you: you become its accountable owner."""
    cid = resolve_id(complaint, timeout)
    _act(
        "Accept",
        escalation_pb2.AcceptRequest(complaint_id=cid, agent=agent, request_id=request_id),
        json_,
        timeout,
        escalation,
    )


@app.command("decline")
def decline_cmd(
    complaint: Complaint,
    agent: Agent,
    reason: Annotated[str, typer.Option("--reason", help="why (required)")] = "",
    request_id: RequestId = "",
    json_: Json = False,
    timeout: Timeout = 10.0,
    escalation: Target = None,
) -> None:
    """Decline an offer: routing is asked for another owner; the team lead holds it meanwhile."""
    cid = resolve_id(complaint, timeout)
    _act(
        "Decline",
        escalation_pb2.DeclineRequest(complaint_id=cid, agent=agent, reason=reason, request_id=request_id),
        json_,
        timeout,
        escalation,
    )


@app.command("respond")
def respond_cmd(
    complaint: Complaint,
    agent: Agent,
    body: Annotated[str, typer.Option("--body", help="the public reply to the customer")] = "",
    channel: Annotated[str, typer.Option("--channel", help="empty: the customer's channel")] = "",
    language: Annotated[str, typer.Option("--language", help="fa or en; detected if empty")] = "",
    request_id: RequestId = "",
    json_: Json = False,
    timeout: Timeout = 10.0,
    escalation: Target = None,
) -> None:
    """Reply to the customer (checked by the response guard first)."""
    cid = resolve_id(complaint, timeout)
    reply = _act(
        "Respond",
        escalation_pb2.RespondRequest(
            complaint_id=cid,
            agent=agent,
            body=body,
            channel=channel,
            language=language,
            request_id=request_id,
        ),
        json_,
        timeout,
        escalation,
    )
    if not json_:
        for w in reply.warnings:
            typer.echo(
                f"  guard warning: {w.rule}: {w.phrase!r}"
                + (f" (try: {w.suggestion})" if w.suggestion else "")
            )
        if not reply.guard_ran:
            typer.echo("  the response guard could not be reached: the reply was accepted unchecked")


@app.command("note")
def note_cmd(
    complaint: Complaint,
    agent: Agent,
    body: Annotated[str, typer.Option("--body", help="internal note (staff only)")] = "",
    request_id: RequestId = "",
    json_: Json = False,
    timeout: Timeout = 10.0,
    escalation: Target = None,
) -> None:
    """Add an internal note."""
    cid = resolve_id(complaint, timeout)
    _act(
        "AddNote",
        escalation_pb2.AddNoteRequest(complaint_id=cid, agent=agent, body=body, request_id=request_id),
        json_,
        timeout,
        escalation,
    )


@app.command("request-info")
def request_info_cmd(
    complaint: Complaint,
    agent: Agent,
    question: Annotated[str, typer.Option("--question", help="what the customer is asked")] = "",
    request_id: RequestId = "",
    json_: Json = False,
    timeout: Timeout = 10.0,
    escalation: Target = None,
) -> None:
    """Ask the customer for information: the complaint waits on them and its clocks pause."""
    cid = resolve_id(complaint, timeout)
    _act(
        "RequestInfo",
        escalation_pb2.RequestInfoRequest(
            complaint_id=cid, agent=agent, question=question, request_id=request_id
        ),
        json_,
        timeout,
        escalation,
    )


@app.command("transfer")
def transfer_cmd(
    complaint: Complaint,
    agent: Agent,
    to_team: Annotated[str, typer.Option("--to-team", help="the receiving team")] = "",
    to_owner: Annotated[str, typer.Option("--to-owner", help="a named receiver (optional)")] = "",
    reason: Annotated[str, typer.Option("--reason", help="why (required)")] = "",
    request_id: RequestId = "",
    json_: Json = False,
    timeout: Timeout = 10.0,
    escalation: Target = None,
) -> None:
    """Request a transfer; you stay accountable until the receiver accepts."""
    cid = resolve_id(complaint, timeout)
    _act(
        "RequestTransfer",
        escalation_pb2.RequestTransferRequest(
            complaint_id=cid,
            agent=agent,
            to_team=to_team,
            to_owner=to_owner,
            reason=reason,
            request_id=request_id,
        ),
        json_,
        timeout,
        escalation,
    )


@app.command("accept-transfer")
def accept_transfer_cmd(
    complaint: Complaint,
    agent: Agent,
    request_id: RequestId = "",
    json_: Json = False,
    timeout: Timeout = 10.0,
    escalation: Target = None,
) -> None:
    """Accept a transfer to your team: you become the owner."""
    cid = resolve_id(complaint, timeout)
    _act(
        "AcceptTransfer",
        escalation_pb2.TransferAnswerRequest(complaint_id=cid, agent=agent, request_id=request_id),
        json_,
        timeout,
        escalation,
    )


@app.command("decline-transfer")
def decline_transfer_cmd(
    complaint: Complaint,
    agent: Agent,
    reason: Annotated[str, typer.Option("--reason", help="why (required)")] = "",
    request_id: RequestId = "",
    json_: Json = False,
    timeout: Timeout = 10.0,
    escalation: Target = None,
) -> None:
    """Decline a transfer: the complaint stays with its owner and their lead is told."""
    cid = resolve_id(complaint, timeout)
    _act(
        "DeclineTransfer",
        escalation_pb2.TransferAnswerRequest(
            complaint_id=cid, agent=agent, reason=reason, request_id=request_id
        ),
        json_,
        timeout,
        escalation,
    )


@app.command("resolve")
def resolve_cmd(
    complaint: Complaint,
    agent: Agent,
    code: Annotated[
        str, typer.Option("--code", help="resolution code, e.g. fixed, refunded, explained")
    ] = "",
    summary: Annotated[str, typer.Option("--summary", help="what was done, for the customer")] = "",
    request_id: RequestId = "",
    json_: Json = False,
    timeout: Timeout = 10.0,
    escalation: Target = None,
) -> None:
    """Resolve with a code and a summary for the customer ("not our department" is refused)."""
    cid = resolve_id(complaint, timeout)
    _act(
        "Resolve",
        escalation_pb2.ResolveRequest(
            complaint_id=cid, agent=agent, resolution_code=code, summary=summary, request_id=request_id
        ),
        json_,
        timeout,
        escalation,
    )


@app.command("reopen")
def reopen_cmd(
    complaint: Complaint,
    by: Annotated[str, typer.Option("--by", help="who reopens")] = "",
    reason: Annotated[str, typer.Option("--reason", help="why (required)")] = "",
    request_id: RequestId = "",
    json_: Json = False,
    timeout: Timeout = 10.0,
    escalation: Target = None,
) -> None:
    """Reopen a resolved or closed complaint: the owner has it again, with fresh clocks."""
    cid = resolve_id(complaint, timeout)
    _act(
        "Reopen",
        escalation_pb2.ReopenRequest(complaint_id=cid, by=by, reason=reason, request_id=request_id),
        json_,
        timeout,
        escalation,
    )


@app.command("queue")
def queue_cmd(
    agent: Agent,
    include_resolved: Annotated[bool, typer.Option("--all", help="include resolved")] = False,
    json_: Json = False,
    timeout: Timeout = 10.0,
    escalation: Target = None,
) -> None:
    """Your queue: complaints you own or are offered, the most urgent first."""
    with service_stub("escalation", escalation_pb2_grpc.CaseServiceStub, escalation, timeout) as stub:
        resp = stub.ListQueue(
            escalation_pb2.ListQueueRequest(agent=agent, include_resolved=include_resolved), timeout=timeout
        )
    lines = [f"{len(resp.items)} complaint(s) for {agent}"] + [
        f"  {i.complaint_id}  {_status(i.status):<20} {i.priority:<8} {i.team:<20} "
        f"{'OFFERED ' if i.offered else ''}{i.next_clock} due {_when(i.next_due_at)}"
        for i in resp.items
    ]
    _print(resp, json_, "\n".join(lines))


def _clock_line(d: escalation_pb2.ClockDetail) -> str:
    c = d.clock
    text = f"  {c.name:<18} #{d.cycle} {c.state:<9} due {_when(c.due_at)}"
    if c.state in ("running", "paused"):
        text += f"  ({d.share_elapsed:.0%} used, warn at {_when(d.warn_at)})"
    if c.HasField("stopped_at"):
        text += f"  stopped {_when(c.stopped_at)}"
    if d.escalation_step:
        text += f"  escalated to step {d.escalation_step}"
    return text + f"  [{d.calendar or ('24x7' if d.round_the_clock else '')}]"


@app.command("clocks")
def clocks_cmd(
    complaint: Complaint, json_: Json = False, timeout: Timeout = 10.0, escalation: Target = None
) -> None:
    """Every SLA clock of a complaint, every cycle, with warnings and escalation steps."""
    cid = resolve_id(complaint, timeout)
    with service_stub("escalation", escalation_pb2_grpc.SlaServiceStub, escalation, timeout) as stub:
        resp = stub.GetClocks(escalation_pb2.GetClocksRequest(complaint_id=cid), timeout=timeout)
    head = (
        f"complaint {resp.complaint_id}: {_status(resp.status)}, owner {resp.owner or '-'} ({resp.team or '-'}), "
        f"policy {resp.policy or '-'}"
    )
    if resp.offered_to and resp.offered_to != resp.owner:
        head += f", offered to {resp.offered_to} until {_when(resp.accept_by)}"
    if resp.pending_transfer_to:
        head += f", transfer to {resp.pending_transfer_to} pending"
    _print(resp, json_, "\n".join([head, *(_clock_line(d) for d in resp.details)]))


def _listing(
    method: str, team: str, sector: str, limit: int, json_: bool, timeout: float, target: str | None
) -> None:
    with service_stub("escalation", escalation_pb2_grpc.SlaServiceStub, target, timeout) as stub:
        resp = getattr(stub, method)(
            escalation_pb2.ListClocksRequest(team=team, sector=sector, limit=limit), timeout=timeout
        )
    lines = [f"{len(resp.entries)} clock(s)"] + [
        f"  {e.complaint_id}  {e.team:<20} {e.owner:<20}{_clock_line(e.detail)}" for e in resp.entries
    ]
    _print(resp, json_, "\n".join(lines))


TeamOpt = Annotated[str, typer.Option("--team", help="only this team")]
SectorOpt = Annotated[str, typer.Option("--sector", help="only this sector")]
LimitOpt = Annotated[int, typer.Option("--limit", min=1, help="at most this many")]


@app.command("at-risk")
def at_risk_cmd(
    team: TeamOpt = "",
    sector: SectorOpt = "",
    limit: LimitOpt = 100,
    json_: Json = False,
    timeout: Timeout = 10.0,
    escalation: Target = None,
) -> None:
    """Running clocks past their warning share, earliest deadline first."""
    _listing("ListAtRisk", team, sector, limit, json_, timeout, escalation)


@app.command("breached")
def breached_cmd(
    team: TeamOpt = "",
    sector: SectorOpt = "",
    limit: LimitOpt = 100,
    json_: Json = False,
    timeout: Timeout = 10.0,
    escalation: Target = None,
) -> None:
    """Breached clocks whose work is not done yet."""
    _listing("ListBreached", team, sector, limit, json_, timeout, escalation)


@app.command("compliance")
def compliance_cmd(
    since: Annotated[str, typer.Option("--since", help="ISO date or time (UTC if no offset)")] = "",
    json_: Json = False,
    timeout: Timeout = 10.0,
    escalation: Target = None,
) -> None:
    """Met and breached clocks per sector, team and clock; customer ratings (CSAT) per team, sector and channel."""
    request = escalation_pb2.GetComplianceRequest()
    if since:
        try:
            at = datetime.fromisoformat(since)
        except ValueError:
            fail(f"--since: {since!r} is not an ISO date or time", EXIT_INVALID)
        request.since.CopyFrom(to_timestamp(at))
    with service_stub("escalation", escalation_pb2_grpc.SlaServiceStub, escalation, timeout) as stub:
        resp = stub.GetCompliance(request, timeout=timeout)
    lines = [
        f"  {r.sector or '-':<12} {r.team:<22} {r.clock:<18} met {r.met:>5}  breached {r.breached:>5}  "
        f"{r.compliance:.1%}"
        for r in resp.rows
    ]
    text = "\n".join(["compliance", *lines]) if lines else "no finished clocks yet"
    csat = [
        f"  {r.team or '-':<22} {r.sector or '-':<12} {r.channel or '-':<9} ratings {r.ratings:>5}  "
        f"mean {r.mean:.2f}  rated 4-5 {r.satisfied_share:.1%}"
        for r in resp.csat
    ]
    text += "\n" + ("\n".join(["customer satisfaction (CSAT)", *csat]) if csat else "no customer ratings yet")
    _print(resp, json_, text)


# --- triage corrections (routing's CorrectTriage and ListCorrections) ---------------------------

Signal = Annotated[str, typer.Argument(help="safety, safeguarding, privacy, fraud_abuse or urgent")]
RoutingTarget = Annotated[
    str | None, typer.Option("--routing", metavar="HOST:PORT", help="routing's gRPC address")
]


def _priority(value: int) -> str:
    return complaint_pb2.Priority.Name(value).removeprefix("PRIORITY_").lower()


def _correct(
    complaint: str,
    signal: str,
    present: bool,
    reason: str,
    request_id: str,
    as_json: bool,
    timeout: float,
    target: str | None,
) -> None:
    request = routing_pb2.CorrectTriageRequest(
        complaint=complaint.strip(), signal=signal, present=present, reason=reason, request_id=request_id
    )
    with service_stub("routing", routing_pb2_grpc.RoutingAdminStub, target, timeout) as stub:
        reply = stub.CorrectTriage(request, timeout=timeout)
    d = reply.decision
    where = f"{d.team} at priority {_priority(d.priority)} with SLA policy {d.sla_policy} (rule {d.rule_id})"
    what = "marked" if present else "cleared"
    if not reply.changed:
        text = f"complaint {reply.complaint_id}: {signal} {what}; the decision stands: {where}"
    elif reply.previous_team != d.team:
        text = f"complaint {reply.complaint_id}: {signal} {what}; re-routed from {reply.previous_team} to {where}"
    else:
        text = f"complaint {reply.complaint_id}: {signal} {what}; now {where}"
    _print(reply, as_json, text)


@app.command("mark")
def mark_cmd(
    complaint: Complaint,
    signal: Signal,
    reason: Annotated[str, typer.Option("--reason", help="why (required; kept for the corpus)")] = "",
    request_id: RequestId = "",
    json_: Json = False,
    timeout: Timeout = 10.0,
    routing: RoutingTarget = None,
) -> None:
    """Mark a triage signal such as safety on a complaint: routing decides again at once, and the
    complaint goes to the team, priority and SLA policy the rules give it with the signal present."""
    _correct(complaint, signal, True, reason, request_id, json_, timeout, routing)


@app.command("clear")
def clear_cmd(
    complaint: Complaint,
    signal: Signal,
    reason: Annotated[str, typer.Option("--reason", help="why (optional)")] = "",
    request_id: RequestId = "",
    json_: Json = False,
    timeout: Timeout = 10.0,
    routing: RoutingTarget = None,
) -> None:
    """Clear a triage signal the model (or a person) set: routing decides again without it."""
    _correct(complaint, signal, False, reason, request_id, json_, timeout, routing)


@app.command("corrections")
def corrections_cmd(
    jsonl: Annotated[
        bool,
        typer.Option("--jsonl", help="corpus lines (triage/data/corpus.jsonl format), one per complaint"),
    ] = False,
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=5000, help="at most this many corrections")
    ] = 500,
    json_: Json = False,
    timeout: Timeout = 10.0,
    routing: RoutingTarget = None,
) -> None:
    """Triage corrections people made, newest first; --jsonl exports them to grow the corpus."""
    with service_stub("routing", routing_pb2_grpc.RoutingAdminStub, routing, timeout) as stub:
        resp = stub.ListCorrections(routing_pb2.ListCorrectionsRequest(limit=limit), timeout=timeout)
    if jsonl:
        from services.routing.corrections import corpus_records

        for record in corpus_records(list(resp.corrections)):
            typer.echo(json.dumps(record, ensure_ascii=False))
        return
    lines = [f"{len(resp.corrections)} correction(s)"] + [
        f"  {_when(c.corrected_at)}  {c.complaint_id}  {c.signal:<13} {'marked ' if c.present else 'cleared'} "
        f"by {c.corrected_by}  (model said {c.model_score:.2f})"
        for c in resp.corrections
    ]
    _print(resp, json_, "\n".join(lines))
