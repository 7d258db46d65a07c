"""Per-tenant notification settings and staff preferences, parsed from plain data (YAML/JSON).

Staff contact details come from routing's directory; this file adds what routing does not own
(preferences, quiet hours, managers and account managers outside the directory) and the tenant's
choices: response guard mode, webhook endpoints and secrets, chat and SMS providers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from .guard import DEFAULT_MAX_CHARS, GuardMode
from .model import Channel
from .schedule import QuietHours

DEFAULT_TIME_ZONE = "Asia/Tehran"


@dataclass(frozen=True)
class StaffProfile:
    id: str
    name: str = ""
    email: str = ""
    chat_handle: str = ""
    phone: str = ""
    language: str = ""
    time_zone: str = ""
    channels: tuple[str, ...] = (Channel.EMAIL.value,)  # in order of preference
    quiet_hours: QuietHours | None = None
    muted: frozenset[str] = frozenset()  # templates this person does not want (except critical)

    def address(self, channel: str) -> str:
        return {
            Channel.EMAIL.value: self.email,
            Channel.CHAT.value: self.chat_handle,
            Channel.SMS.value: self.phone,
        }.get(channel, "")

    def merged_over(self, base: StaffProfile) -> StaffProfile:
        """This seed profile's non-empty values over `base` (routing's view of the same person)."""
        values = {
            name: getattr(self, name) or getattr(base, name)
            for name in ("name", "email", "chat_handle", "phone", "language", "time_zone")
        }
        return replace(self, **values)


@dataclass(frozen=True)
class WebhookEndpoint:
    id: str
    url: str
    secret: str
    events: frozenset[str] = frozenset({"*"})  # event names, e.g. "Resolved"; "*" for all

    def wants(self, event_name: str) -> bool:
        return "*" in self.events or event_name in self.events


@dataclass(frozen=True)
class TenantConfig:
    tenant: str = "default"
    guard_mode: GuardMode = GuardMode.WARN
    max_reply_chars: int = DEFAULT_MAX_CHARS
    time_zone: str = DEFAULT_TIME_ZONE
    respond_within_hours: int = 24  # promised in the acknowledgement
    chat_webhook_url: str = ""  # staff notices (Slack incoming webhook)
    # Customer replies on a chat/social thread (domain/chat_reply.py): a Slack chat.postMessage
    # URL or a bridge's; "" = the webhook URL. Bearer token and/or an HMAC secret (as webhooks).
    chat_reply_url: str = ""
    chat_reply_token: str = ""
    chat_reply_secret: str = ""
    sms_provider_url: str = ""
    sms_provider_token: str = ""
    sender_name: str = "Haq customer care"
    webhooks: tuple[WebhookEndpoint, ...] = ()
    staff: Mapping[str, StaffProfile] = field(default_factory=dict)

    @property
    def chat_replies_to(self) -> str:
        """Where replies to chat/social customers are posted ("" when chat is not configured)."""
        return self.chat_reply_url or self.chat_webhook_url


def _staff(person_id: str, raw: Mapping[str, Any], tenant_zone: str) -> StaffProfile:
    zone = str(raw.get("time_zone", "") or "")
    quiet = raw.get("quiet_hours")
    channels = tuple(str(c) for c in raw.get("channels", [Channel.EMAIL.value]))
    for channel in channels:
        Channel(channel)  # refuse a typo at start-up, not at 3 a.m.
    return StaffProfile(
        id=person_id,
        name=str(raw.get("name", "")),
        email=str(raw.get("email", "")),
        chat_handle=str(raw.get("chat_handle", "")),
        phone=str(raw.get("phone", "")),
        language=str(raw.get("language", "")),
        time_zone=zone,
        channels=channels,
        quiet_hours=QuietHours.parse(str(quiet), zone or tenant_zone) if quiet else None,
        muted=frozenset(str(t) for t in raw.get("muted", [])),
    )


def parse_tenants(data: Mapping[str, Any]) -> dict[str, TenantConfig]:
    """{"tenants": {"default": {...}}} -> TenantConfig per tenant. Raises ValueError on bad input."""
    out: dict[str, TenantConfig] = {}
    for tenant, raw in (data.get("tenants") or {}).items():
        raw = raw or {}
        zone = str(raw.get("time_zone", DEFAULT_TIME_ZONE))
        webhooks = tuple(
            WebhookEndpoint(
                id=str(w["id"]),
                url=str(w["url"]),
                secret=str(w["secret"]),
                events=frozenset(str(e) for e in w.get("events", ["*"])),
            )
            for w in raw.get("webhooks", []) or []
        )
        chat = raw.get("chat") or {}
        sms = raw.get("sms") or {}
        out[str(tenant)] = TenantConfig(
            tenant=str(tenant),
            guard_mode=GuardMode(str(raw.get("guard_mode", GuardMode.WARN.value))),
            max_reply_chars=int(raw.get("max_reply_chars", DEFAULT_MAX_CHARS)),
            time_zone=zone,
            respond_within_hours=int(raw.get("respond_within_hours", 24)),
            chat_webhook_url=str(chat.get("webhook_url", "")),
            chat_reply_url=str(chat.get("reply_url", "")),
            chat_reply_token=str(chat.get("reply_token", "")),
            chat_reply_secret=str(chat.get("reply_secret", "")),
            sms_provider_url=str(sms.get("url", "")),
            sms_provider_token=str(sms.get("token", "")),
            sender_name=str(raw.get("sender_name", "Haq customer care")),
            webhooks=webhooks,
            staff={
                str(pid): _staff(str(pid), praw or {}, zone) for pid, praw in (raw.get("staff") or {}).items()
            },
        )
    return out
