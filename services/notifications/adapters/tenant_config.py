"""Tenant settings from the seed/config YAML file."""

from __future__ import annotations

from pathlib import Path

import yaml

from ..domain.tenant import TenantConfig, parse_tenants


class TenantBook:
    """Tenant settings by name; a tenant the file does not list gets the defaults."""

    def __init__(self, tenants: dict[str, TenantConfig]):
        self.tenants = tenants

    @classmethod
    def load(cls, path: Path) -> TenantBook:
        with open(path, encoding="utf-8") as fh:
            return cls(parse_tenants(yaml.safe_load(fh) or {}))

    def get(self, tenant: str) -> TenantConfig:
        name = tenant or "default"
        return self.tenants.get(name) or TenantConfig(tenant=name)
