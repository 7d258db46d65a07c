"""What `haq show` and `haq customer` print: plain dicts for `--json`, and compact text for people.

Pure functions over the protobuf messages, so they are tested without a server. Enum values are
the short lowercase names of `enums`; unset values (no owner yet, priority before routing) are None;
times are ISO 8601 in UTC ("2025-03-01T09:30:00Z").
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from services.common.pb.haq.v1 import complaint_pb2, intake_pb2
from services.common.proto_values import to_datetime

from . import enums


def ts_datetime(ts: Timestamp) -> datetime | None:
    return to_datetime(ts)


def ts_iso(ts: Timestamp) -> str | None:
    dt = ts_datetime(ts)
    return None if dt is None else dt.isoformat().replace("+00:00", "Z")


def _opt(text: str) -> str | None:
    return text or None


def customer_identifiers_to_dict(c: complaint_pb2.CustomerIdentifiers) -> dict[str, Any]:
    return {
        "email": _opt(c.email),
        "phone": _opt(c.phone),
        "social": [{"network": s.network, "handle": s.handle} for s in c.social],
        "account_id": _opt(c.account_id),
        "display_name": _opt(c.display_name),
    }


def case_file_to_dict(cf: intake_pb2.CaseFile) -> dict[str, Any]:
    """The case file as `haq show --json` prints it."""
    c = cf.complaint
    return {
        "id": c.id,
        "reference": c.reference,
        "tenant": c.tenant,
        "status": enums.to_name(enums.STATUS, cf.status),
        "sector": enums.to_name(enums.SECTOR, c.sector),
        "channel": enums.to_name(enums.CHANNEL, c.channel),
        "complainant_role": enums.to_name(enums.ROLE, c.complainant_role),
        "language": _opt(c.language),
        "received_at": ts_iso(c.received_at),
        "customer_id": _opt(c.customer_id),
        "customer": customer_identifiers_to_dict(c.customer),
        "subject": c.subject,
        "body": c.body,
        "product": _opt(c.product),
        "purchase_date": _opt(c.purchase_date),
        "category": _opt(c.category),
        "metadata": dict(sorted(c.metadata.items())),
        "idempotency_key": _opt(c.idempotency_key),
        "team": _opt(cf.team),
        "owner": _opt(cf.owner),
        "owner_is_duty_lead": cf.owner_is_duty_lead,
        "priority": enums.to_name(enums.PRIORITY, cf.priority),
        "sla_policy": _opt(cf.sla_policy),
        "sla": [
            {
                "clock": d.clock,
                "started_at": ts_iso(d.started_at),
                "due_at": ts_iso(d.due_at),
                "state": d.state,
                "stopped_at": ts_iso(d.stopped_at),
            }
            for d in cf.sla
        ],
        "notifications": [
            {
                "notification_id": n.notification_id,
                "channel": n.channel,
                "recipient": n.recipient,
                "template": n.template,
                "status": n.status,
                "at": ts_iso(n.at),
                "detail": _opt(n.detail),
            }
            for n in cf.notifications
        ],
        "timeline": [
            {
                "event_id": t.event_id,
                "at": ts_iso(t.at),
                "type": t.type,
                "source": t.source,
                "summary": t.summary,
            }
            for t in cf.timeline
        ],
        "routing": {"rule": _opt(cf.routing_rule), "explanation": _opt(cf.routing_explanation)},
    }


def _local(ts: Timestamp) -> str:
    dt = ts_datetime(ts)
    return "-" if dt is None else dt.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _relative(due: datetime, now: datetime) -> str:
    seconds = int((due - now).total_seconds())
    span = abs(seconds)
    hours, rest = divmod(span, 3600)
    minutes = rest // 60
    text = f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {rest % 60:02d}s"
    return f"in {text}" if seconds >= 0 else f"{text} overdue"


def _short(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def render_case_file(cf: intake_pb2.CaseFile, now: datetime | None = None) -> str:
    """A compact summary for people; free text is shown as written (Persian included)."""
    now = now or datetime.now(UTC)
    c = cf.complaint
    d = case_file_to_dict(cf)
    owner = d["owner"] or "(none yet)"
    if cf.owner_is_duty_lead:
        owner += " (duty lead: no agent had capacity)"
    lines = [
        f"{c.reference}  {d['status'] or '?'}",
        f"  id         {c.id}",
        f"  received   {_local(c.received_at)} via {d['channel'] or '?'}",
        f"  sector     {d['sector'] or '?'} · role {d['complainant_role'] or '?'} · language {c.language or '?'}",
        f"  customer   {c.customer_id or '?'}",
    ]
    if c.subject:
        lines.append(f"  subject    {_short(c.subject, 100)}")
    lines.append(f"  body       {_short(c.body, 160)}")
    extra = [f"{k} {v}" for k, v in (("product", c.product), ("purchased", c.purchase_date)) if v]
    if c.category:
        extra.append(f"category {c.category}")
    if extra:
        lines.append("  details    " + " · ".join(extra))
    lines += [
        f"  team       {d['team'] or '(not routed yet)'}",
        f"  owner      {owner}",
        f"  priority   {d['priority'] or '-'}" + (f" · SLA policy {cf.sla_policy}" if cf.sla_policy else ""),
    ]
    if cf.routing_rule or cf.routing_explanation:
        lines.append(f"  routing    {cf.routing_rule or '?'}: {_short(cf.routing_explanation, 160)}")
    if not cf.sla:
        lines.append("  SLA        (no clocks started yet)")
    else:
        lines.append("SLA clocks")
        for clock in cf.sla:
            due = ts_datetime(clock.due_at)
            when = f"due {_local(clock.due_at)}"
            if due is not None and clock.state in ("running", ""):
                when += f" ({_relative(due, now)})"
            elif ts_datetime(clock.stopped_at) is not None:
                when += f", stopped {_local(clock.stopped_at)}"
            lines.append(f"  {clock.clock:<18} {clock.state or '?':<9} {when}")
    if cf.notifications:
        lines.append("Notifications")
        for n in cf.notifications:
            detail = f" ({_short(n.detail, 80)})" if n.detail else ""
            lines.append(
                f"  {_local(n.at)}  {n.channel:<7} {n.template:<16} {n.status:<7} {n.recipient}{detail}"
            )
    if cf.timeline:
        lines.append("Timeline")
        for t in cf.timeline:
            lines.append(f"  {_local(t.at)}  {t.type:<20} {t.source:<19} {_short(t.summary, 100)}")
    return "\n".join(lines)


def customer_complaints_to_dict(resp: intake_pb2.ListCustomerComplaintsResponse) -> dict[str, Any]:
    p = resp.customer
    return {
        "customer": {
            "customer_id": p.customer_id,
            "tenant": p.tenant,
            "display_name": _opt(p.display_name),
            "emails": list(p.emails),
            "phones": list(p.phones),
            "social": [{"network": s.network, "handle": s.handle} for s in p.social],
            "account_ids": list(p.account_ids),
            "first_seen_at": ts_iso(p.first_seen_at),
        },
        "complaints": [
            {
                "id": s.complaint_id,
                "reference": s.reference,
                "status": enums.to_name(enums.STATUS, s.status),
                "channel": enums.to_name(enums.CHANNEL, s.channel),
                "sector": enums.to_name(enums.SECTOR, s.sector),
                "subject": s.subject,
                "received_at": ts_iso(s.received_at),
                "team": _opt(s.team),
                "owner": _opt(s.owner),
            }
            for s in resp.complaints
        ],
    }


def render_customer_complaints(resp: intake_pb2.ListCustomerComplaintsResponse) -> str:
    d = customer_complaints_to_dict(resp)
    p = d["customer"]
    known = [*p["emails"], *p["phones"], *(f"{s['network']}:{s['handle']}" for s in p["social"])]
    known += [f"account {a}" for a in p["account_ids"]]
    lines = [
        f"customer {p['customer_id']}" + (f"  {p['display_name']}" if p["display_name"] else ""),
        f"  known by    {', '.join(known) or '-'}",
        f"  first seen  {_local(resp.customer.first_seen_at)}",
        f"{len(resp.complaints)} complaint(s)",
    ]
    for s, row in zip(resp.complaints, d["complaints"], strict=True):
        who = "/".join(x for x in (row["team"], row["owner"]) if x) or "-"
        lines.append(
            f"  {row['reference']:<11} {row['status'] or '?':<20} {_local(s.received_at)}  "
            f"{row['channel'] or '?':<7} {row['sector'] or '?':<10} {who:<24} {_short(row['subject'], 60)}"
        )
    return "\n".join(lines)
