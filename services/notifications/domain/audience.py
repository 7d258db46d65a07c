"""Who hears what: from one lifecycle event to the deliveries it causes.

- the customer: acknowledgement, every public response, requests for information, resolution,
  reopening; on the channel they used unless they chose another;
- the owner: a new assignment, the accept window closing, a customer follow-up, an SLA warning;
- team lead, manager and director: escalations at their level;
- people the routing rule asked to keep informed (e.g. a B2B account manager);
- integrations: every event their webhook subscribed to.

Staff preferences (channels, muted templates) and quiet hours are honoured except for critical
complaints, which reach people at once on every channel they listed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .chat_reply import parse_thread
from .model import Audience, Channel, Template
from .tenant import StaffProfile, TenantConfig

CUSTOMER_EVENTS: dict[str, Template] = {
    "ComplaintReceived": Template.ACKNOWLEDGEMENT,
    "AgentResponded": Template.AGENT_RESPONSE,
    "InfoRequested": Template.INFO_REQUESTED,
    "Resolved": Template.RESOLVED,
    "Reopened": Template.REOPENED,
    # Sent to the contact on record for the complaint, never to an address typed into the portal.
    "PortalLinkRequested": Template.PORTAL_LINK,
}
NEW_OWNER_EVENTS = frozenset({"OwnerAssigned", "OwnerReplaced", "TransferAccepted"})
LADDER = ("team_lead", "manager", "director")


@dataclass(frozen=True)
class CaseState:
    """What notifications knows of a complaint (from its events)."""

    complaint_id: str
    tenant: str = "default"
    reference: str = ""
    language: str = "en"
    email: str = ""
    phone: str = ""
    display_name: str = ""
    channel: str = ""  # the channel the customer used: email, web, phone, chat, social, partner
    preferred_channel: str = ""  # the customer's own choice, if they made one
    owner: str = ""
    team: str = ""
    priority: str = ""  # critical, high, normal, low
    keep_informed: tuple[str, ...] = ()
    chat_thread: str = ""  # the chat/social thread the complaint came in on (chat_reply.py)

    @property
    def critical(self) -> bool:
        return self.priority == "critical"


@dataclass(frozen=True)
class TeamLadder:
    lead: str = ""
    manager: str = ""
    director: str = ""
    time_zone: str = ""

    def at(self, level: str) -> str:
        return {"team_lead": self.lead, "manager": self.manager, "director": self.director}.get(level, "")


@dataclass(frozen=True)
class Trigger:
    """One lifecycle event, reduced to what planning needs."""

    event_id: str
    name: str  # event message name, e.g. "Resolved"
    complaint_id: str
    staff: tuple[str, ...] = ()  # people the event names (new owner, escalation notify list)
    level: str = ""  # Escalated: the rung
    clock: str = ""  # SlaWarning: which clock
    reply_channel: str = ""  # AgentResponded: the channel the agent chose
    values: Mapping[str, Any] = field(default_factory=dict)  # template values from the event


@dataclass(frozen=True)
class Planned:
    template: Template
    audience: Audience
    recipient_id: str  # "customer", a staff id, or a webhook id
    channel: str
    address: str  # "" when nobody knows how to reach them: recorded as a failed delivery
    language: str
    hold_until: datetime | None = None  # quiet hours


def customer_channel(case: CaseState, tenant: TenantConfig, requested: str = "") -> tuple[str, str]:
    """(channel, address) for the customer: the requested or chosen channel if we can reach them
    there, else the one they used, else whatever we have. A complaint that came in on a chat or
    social thread is answered on that thread (the address is the thread key) instead of by email,
    while the tenant has a chat endpoint; an agent or customer choosing email or SMS still wins."""
    sms_ok = bool(tenant.sms_provider_url and case.phone)
    on_thread = (
        case.channel in ("chat", "social") and bool(tenant.chat_replies_to) and parse_thread(case.chat_thread)
    )
    reachable = {
        Channel.EMAIL.value: case.email if case.email else "",
        Channel.SMS.value: case.phone if sms_ok else "",
        Channel.CHAT.value: case.chat_thread if on_thread else "",
    }
    used = {
        "phone": Channel.SMS.value,
        "email": Channel.EMAIL.value,
        "chat": Channel.CHAT.value,
        "social": Channel.CHAT.value,
    }.get(case.channel, Channel.EMAIL.value)
    for choice in (requested, case.preferred_channel, used, Channel.EMAIL.value, Channel.SMS.value):
        if choice in reachable and reachable[choice]:
            return choice, reachable[choice]
    return "", ""


def staff_targets(trigger: Trigger, case: CaseState, ladder: TeamLadder | None) -> list[tuple[str, Template]]:
    """(person id, template) for the staff this event concerns, without duplicates."""
    targets: list[tuple[str, Template]] = []
    name = trigger.name
    if name in NEW_OWNER_EVENTS:
        targets += [(p, Template.NEW_ASSIGNMENT) for p in trigger.staff]
    elif name == "SlaWarning":
        template = (
            Template.ACCEPT_WINDOW_CLOSING if trigger.clock == "owner_acceptance" else Template.SLA_WARNING
        )
        targets += [(p, template) for p in (trigger.staff or (case.owner,)) if p]
    elif name == "CustomerFollowedUp" and case.owner:
        targets.append((case.owner, Template.CUSTOMER_FOLLOW_UP))
    elif name == "Escalated":
        people = trigger.staff
        if not people and ladder is not None:
            # No explicit list: everyone on the ladder up to this rung.
            rungs = LADDER[: LADDER.index(trigger.level) + 1] if trigger.level in LADDER else ()
            people = tuple(ladder.at(r) for r in rungs)
        targets += [(p, Template.ESCALATION) for p in people if p]
    elif name == "ComplaintRouted":
        targets += [(p, Template.KEEP_INFORMED) for p in case.keep_informed]
    elif name == "ComplaintRated" and trigger.level == "team_lead" and ladder is not None and ladder.lead:
        targets.append((ladder.lead, Template.LOW_RATING))  # to_trigger sets the level for a low rating
    seen: set[str] = set()
    unique = []
    for person, template in targets:
        if person not in seen:
            seen.add(person)
            unique.append((person, template))
    return unique


def needs_directory(trigger: Trigger, case: CaseState) -> bool:
    return bool(
        staff_targets(trigger, case, TeamLadder())
        or trigger.name == "Escalated"
        or (trigger.name == "ComplaintRated" and trigger.level)
    )


def plan_staff(
    person_id: str,
    template: Template,
    profile: StaffProfile | None,
    case: CaseState,
    tenant: TenantConfig,
    now: datetime,
) -> list[Planned]:
    if profile is None and "@" in person_id:  # keep_informed may name an address outright
        profile = StaffProfile(id=person_id, email=person_id)
    if profile is None:
        return [Planned(template, Audience.STAFF, person_id, Channel.EMAIL.value, "", "en")]
    if template.value in profile.muted and not case.critical:
        return []
    usable = [
        c
        for c in profile.channels
        if profile.address(c)
        and (c != Channel.CHAT.value or tenant.chat_webhook_url)
        and (c != Channel.SMS.value or tenant.sms_provider_url)
    ]
    if not usable:  # none of their channels works: any that does, rather than silence
        usable = [
            c
            for c in (Channel.EMAIL.value, Channel.CHAT.value, Channel.SMS.value)
            if profile.address(c)
            and (c != Channel.CHAT.value or tenant.chat_webhook_url)
            and (c != Channel.SMS.value or tenant.sms_provider_url)
        ][:1]
    if not usable:
        return [
            Planned(template, Audience.STAFF, person_id, profile.channels[0], "", profile.language or "en")
        ]
    if not case.critical:
        usable = usable[:1]  # the preferred one; critical goes out on every listed channel
    hold = None
    if profile.quiet_hours is not None and not case.critical:
        hold = profile.quiet_hours.release_at(now)
    return [
        Planned(template, Audience.STAFF, person_id, c, profile.address(c), profile.language or "en", hold)
        for c in usable
    ]


def plan(
    trigger: Trigger,
    case: CaseState,
    tenant: TenantConfig,
    *,
    person: Callable[[str], StaffProfile | None],
    ladder: TeamLadder | None,
    now: datetime,
) -> list[Planned]:
    planned: list[Planned] = []
    customer_template = CUSTOMER_EVENTS.get(trigger.name)
    if customer_template is not None:
        channel, address = customer_channel(case, tenant, trigger.reply_channel)
        if channel:
            planned.append(
                Planned(customer_template, Audience.CUSTOMER, "customer", channel, address, case.language)
            )
    for person_id, template in staff_targets(trigger, case, ladder):
        planned += plan_staff(person_id, template, person(person_id), case, tenant, now)
    for hook in tenant.webhooks:
        if hook.wants(trigger.name):
            planned.append(
                Planned(
                    Template.EVENT,
                    Audience.INTEGRATION,
                    hook.id,
                    Channel.WEBHOOK.value,
                    hook.url,
                    case.language,
                )
            )
    return planned
