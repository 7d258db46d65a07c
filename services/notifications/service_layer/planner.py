"""Plan: a job's event as a trigger, who hears what, rendered and checked by the guard, as delivery rows."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from google.protobuf.json_format import MessageToDict

from services.common import portal_links
from services.common.db import utcnow
from services.common.pb.haq.v1 import events_pb2
from services.common.proto_values import to_datetime

from ..adapters import db
from ..adapters import smtp as smtp_adapter
from ..adapters.directory import DirectorySnapshot
from ..adapters.tenant_config import TenantBook
from ..domain import guard
from ..domain.audience import CUSTOMER_EVENTS, CaseState, Planned, TeamLadder, Trigger, needs_directory, plan
from ..domain.model import Audience, Channel, DeliveryKey, Template, delivery_class
from ..domain.templates import RenderedMessage, TemplateRenderer, choose_language
from ..domain.tenant import StaffProfile, TenantConfig
from .shared import GUARD_FINDINGS

log = logging.getLogger(__name__)

# Values the agent wrote: checked for length as well as phrases.
AUTHORED_FIELDS = ("body", "question", "summary")


class Blocked(Exception):
    """The response guard refused the message (tenant in block mode)."""


def to_trigger(
    event_id: str, name: str, msg: Any, complaint_id: str, low_rating: LowRatingRule | None = None
) -> Trigger:
    """The planning view of an event: who it names and the values its templates use."""
    values: dict[str, Any] = {}
    staff: tuple[str, ...] = ()
    level = clock = reply_channel = ""
    if name == "ComplaintReceived":
        values["received_at"] = to_datetime(msg.complaint.received_at)
    elif name == "AgentResponded":
        values |= {"body": msg.body, "agent": msg.agent}
        reply_channel = msg.channel
    elif name == "InfoRequested":
        values |= {"question": msg.question, "agent": msg.agent}
    elif name == "Resolved":
        values |= {"summary": msg.summary, "resolved_at": to_datetime(msg.resolved_at), "agent": msg.owner}
    elif name == "Reopened":
        values |= {"reason": msg.reason}
    elif name == "PortalLinkRequested":
        values |= {"portal_url": msg.url, "expires_at": to_datetime(msg.expires_at)}
    elif name == "ComplaintRated":
        values |= {"rating": msg.rating, "comment": msg.comment}
        if low_rating is not None and low_rating.alerts(msg.rating):
            level = "team_lead"
    elif name == "OwnerAssigned":
        staff = (msg.owner,)
        values |= {"accept_by": to_datetime(msg.accept_by), "team": msg.team}
    elif name == "OwnerReplaced":
        staff = (msg.new_owner,)
        values |= {"reason": msg.reason, "team": msg.team}
    elif name == "TransferAccepted":
        staff = (msg.new_owner,)
        values |= {"team": msg.new_team}
    elif name == "SlaWarning":
        staff = (msg.owner,) if msg.owner else ()
        clock = msg.clock.name
        values |= {
            "clock": msg.clock.name,
            "due_at": to_datetime(msg.clock.due_at),
            "share_elapsed": round(msg.share_elapsed * 100),
        }
    elif name == "CustomerFollowedUp":
        values |= {"follow_up": msg.body}
    elif name == "Escalated":
        staff = tuple(msg.notify)
        level = msg.level
        values |= {"level": msg.level, "reason": msg.reason, "owner": msg.owner, "team": msg.team}
    return Trigger(event_id, name, complaint_id, staff, level, clock, reply_channel, values)


def case_from(row: db.ComplaintContact | None, complaint_id: str) -> CaseState:
    if row is None:
        return CaseState(complaint_id=complaint_id)
    return CaseState(
        complaint_id=row.complaint_id,
        tenant=row.tenant or "default",
        reference=row.reference,
        language=choose_language(row.language),
        email=row.email,
        phone=row.phone,
        display_name=row.display_name,
        channel=row.channel,
        preferred_channel=row.preferred_channel,
        owner=row.owner,
        team=row.team,
        priority=row.priority,
        keep_informed=tuple(p for p in row.keep_informed.split(",") if p),
        chat_thread=row.chat_thread,
    )


TEMPLATE_KEYS = (
    "body", "question", "summary", "reason", "agent_name", "accept_by", "due_at", "clock", "share_elapsed",
    "level", "owner", "team", "priority", "follow_up", "resolved_at", "respond_by", "recipient_name",
    "portal_url", "rating", "comment",
)  # fmt: skip


@dataclass(frozen=True)
class LowRatingRule:
    """What a low rating does here (HAQ_NOTIFY_LOW_RATING_ACTION): alert_lead mails the team lead
    for a rating at or below the threshold; reopen (escalation reopens the case) and none send
    nothing from notifications."""

    action: str = "alert_lead"
    threshold: int = 2

    def alerts(self, rating: int) -> bool:
        return self.action == "alert_lead" and 1 <= rating <= self.threshold


def template_values(
    trigger: Trigger,
    case: CaseState,
    tenant: TenantConfig,
    *,
    recipient_name: str,
    people: Mapping[str, StaffProfile],
) -> dict[str, Any]:
    """Everything a template may use (StrictUndefined: each key is present, possibly empty)."""
    values: dict[str, Any] = dict.fromkeys(TEMPLATE_KEYS, "")
    values |= {k: None for k in ("accept_by", "due_at", "resolved_at", "respond_by", "expires_at")}
    values["rating_links"] = []
    values |= {
        "reference": case.reference or case.complaint_id,
        "complaint_id": case.complaint_id,
        "display_name": case.display_name,
        "team": case.team,
        "owner": case.owner,
        "priority": case.priority,
        "time_zone": tenant.time_zone,
        "sender_name": tenant.sender_name if tenant.sender_name != "Haq customer care" else "",
        "recipient_name": recipient_name,
    }
    values |= {k: v for k, v in trigger.values.items() if v not in ("", None) or k not in values}
    agent = trigger.values.get("agent", "")
    if agent:
        values["agent_name"] = (people.get(agent) or StaffProfile(id=agent)).name or ""
    if trigger.name == "Resolved":
        # One link per score into the portal's rating form (signed; services/common/portal_links.py).
        values["rating_links"] = portal_links.rating_links(case.complaint_id, utcnow())
    if trigger.name == "ComplaintReceived":
        start = trigger.values.get("received_at") or utcnow()
        values["respond_by"] = start + timedelta(hours=tenant.respond_within_hours)
    return values


class Planner:
    """Who hears what for one job, rendered and guarded, as delivery rows."""

    def __init__(
        self,
        renderer: TemplateRenderer,
        tenants: TenantBook,
        directory: Any,
        low_rating: LowRatingRule = LowRatingRule(),
    ):
        self.low_rating = low_rating
        self.renderer = renderer
        self.tenants = tenants
        self.directory = directory  # .snapshot(tenant) -> DirectorySnapshot, or raises DirectoryUnavailable

    def people(self, tenant: TenantConfig, snapshot: DirectorySnapshot) -> dict[str, StaffProfile]:
        merged = dict(snapshot.people)
        for pid, seed in tenant.staff.items():
            merged[pid] = seed.merged_over(merged[pid]) if pid in merged else seed
        return merged

    def plan_job(
        self, job: db.NotificationJob, contact: db.ComplaintContact | None, now: datetime
    ) -> list[tuple[db.DeliveryRow, str]]:
        """[(row, refusal)]: rows to claim; a non-empty refusal means the row is failed at once
        (nobody knows the person's address, or the guard blocked the message)."""
        msg = getattr(events_pb2, job.event_name).FromString(job.event_value)
        trigger = to_trigger(job.trigger_event_id, job.event_name, msg, job.complaint_id, self.low_rating)
        case = case_from(contact, job.complaint_id)
        tenant = self.tenants.get(case.tenant)
        snapshot = DirectorySnapshot()
        if needs_directory(trigger, case):
            snapshot = self.directory.snapshot(case.tenant)  # DirectoryUnavailable: try later
        people = self.people(tenant, snapshot)
        ladder = snapshot.teams.get(case.team) or TeamLadder()
        planned = plan(trigger, case, tenant, person=people.get, ladder=ladder, now=now)
        return [self._row(p, trigger, case, tenant, people, msg, now) for p in planned]

    def _row(
        self, p: Planned, trigger: Trigger, case: CaseState, tenant: TenantConfig,
        people: Mapping[str, StaffProfile], msg: Any, now: datetime,
    ) -> tuple[db.DeliveryRow, str]:  # fmt: skip
        key = DeliveryKey.of(trigger.event_id, p.channel, p.address or p.recipient_id)
        row = db.DeliveryRow(
            notification_id=key.notification_id,
            complaint_id=case.complaint_id,
            trigger_event_id=trigger.event_id,
            recipient=key.recipient,
            channel=p.channel,
            template=p.template.value,
            language=choose_language(p.language),
            tenant=case.tenant,
            audience=p.audience.value,
            recipient_id=p.recipient_id,
            reference=case.reference,
            priority_class=delivery_class(p.template.value, p.audience.value, case.priority),
            next_attempt_at=p.hold_until or now,
            created_at=now,
            updated_at=now,
        )
        if p.channel == Channel.EMAIL and p.audience is Audience.CUSTOMER:
            row.payload = smtp_adapter.thread_payload(msg)  # the customer's Message-ID, if they mailed
        if p.template is Template.EVENT:
            row.payload = json.dumps(
                {
                    "id": key.notification_id,
                    "type": f"haq.v1.{trigger.name}",
                    "event_id": trigger.event_id,
                    "complaint": {
                        "id": case.complaint_id,
                        "reference": case.reference,
                        "tenant": case.tenant,
                    },
                    "data": MessageToDict(msg, preserving_proto_field_name=True),
                },
                ensure_ascii=False,
                sort_keys=True,
            )
            return row, ""
        if not p.address:
            return row, f"no {p.channel} address for {p.recipient_id}"
        name = (people.get(p.recipient_id) or StaffProfile(id=p.recipient_id)).name or p.recipient_id
        values = template_values(trigger, case, tenant, recipient_name=name, people=people)
        rendered = self.renderer.render(p.template.value, p.language, values)
        row.subject, row.text, row.html, row.language = (
            rendered.subject,
            rendered.text,
            rendered.html,
            rendered.language,
        )
        if p.audience is Audience.CUSTOMER:
            verdict = check_public(rendered, trigger, tenant)
            if not verdict.allowed:
                phrases = "; ".join(f.phrase for f in verdict.findings)
                return row, f"blocked by the response guard ({tenant.guard_mode}): {phrases}"
        return row, ""


def check_public(rendered: RenderedMessage, trigger: Trigger, tenant: TenantConfig) -> guard.Verdict:
    """The guard on a customer message: phrases in everything we send, length in what the agent wrote."""
    authored = "\n".join(str(trigger.values.get(k, "")) for k in AUTHORED_FIELDS if trigger.values.get(k))
    whole = guard.check(rendered.subject + "\n" + rendered.text, mode=tenant.guard_mode, max_chars=0)
    length = guard.check(
        authored, mode=tenant.guard_mode, language=rendered.language, max_chars=tenant.max_reply_chars
    )
    findings = whole.findings + tuple(f for f in length.findings if f.rule is guard.Rule.TOO_LONG)
    source = "agent_response" if trigger.name in CUSTOMER_EVENTS and authored else "template"
    for f in findings:
        GUARD_FINDINGS.labels(f.rule.value, source).inc()
    if findings:
        log.warning(
            "response guard: %d finding(s) in %s for %s (%s)",
            len(findings), trigger.name, trigger.complaint_id, ", ".join(f.rule.value for f in findings),
        )  # fmt: skip
    return guard.Verdict(whole.mode, findings)
