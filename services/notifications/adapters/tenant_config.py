"""Tenant settings from the seed/config YAML file.

Loading checks every webhook, chat and SMS URL against the HTTP channels' URL policy
(`http_channels.check_url`: https only, http only to loopback while allowed, no credentials in the
URL, no link-local/metadata or 0.0.0.0 hosts), so a bad URL stops the service at start-up with the
tenant, the endpoint and the reason, instead of failing deliveries later. Empty URLs (channel not
configured) are fine. The same policy is applied again before each send.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import yaml

from ..domain.tenant import TenantConfig, parse_tenants
from .http_channels import ALLOW_HTTP_LOOPBACK, UrlRefused, check_url


def configured_urls(tenant: TenantConfig) -> Iterator[tuple[str, str]]:
    """(what, url) for every non-empty HTTP endpoint a tenant configures."""
    for hook in tenant.webhooks:
        yield f"webhook {hook.id!r} url", hook.url
    if tenant.chat_webhook_url:
        yield "chat webhook_url", tenant.chat_webhook_url
    if tenant.chat_reply_url:
        yield "chat reply_url", tenant.chat_reply_url
    if tenant.sms_provider_url:
        yield "sms url", tenant.sms_provider_url


def check_tenant_urls(
    tenants: Mapping[str, TenantConfig], *, allow_http_loopback: bool = ALLOW_HTTP_LOOPBACK
) -> None:
    """Raise ValueError naming the tenant, the endpoint and the reason for the first refused URL."""
    for name, tenant in tenants.items():
        for what, url in configured_urls(tenant):
            try:
                check_url(url, allow_http_loopback=allow_http_loopback)
            except UrlRefused as exc:
                raise ValueError(f"tenant {name!r}: {what} is refused: {exc}") from None


class TenantBook:
    """Tenant settings by name; a tenant the file does not list gets the defaults."""

    def __init__(self, tenants: dict[str, TenantConfig]):
        self.tenants = tenants

    @classmethod
    def load(cls, path: Path, *, allow_http_loopback: bool = ALLOW_HTTP_LOOPBACK) -> TenantBook:
        with open(path, encoding="utf-8") as fh:
            tenants = parse_tenants(yaml.safe_load(fh) or {})
        try:
            check_tenant_urls(tenants, allow_http_loopback=allow_http_loopback)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None
        return cls(tenants)

    def get(self, tenant: str) -> TenantConfig:
        name = tenant or "default"
        return self.tenants.get(name) or TenantConfig(tenant=name)
