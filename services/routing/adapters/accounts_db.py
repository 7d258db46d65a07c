"""Routing's record of each tenant's B2B accounts and their contract entitlements (tier, SLA policy,
contracted response hours, account manager). The seeded tenant's are seeded once from
seed/accounts.yaml; UpsertAccount manages them afterwards. Routing reads a tenant's accounts once
per consumer batch (service.BatchCache), never one query per complaint."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, Session, SQLModel, col, select

from services.common.db import utcnow


class RoutingAccount(SQLModel, table=True):
    __tablename__ = "routing_accounts"
    tenant: str = Field(primary_key=True)
    id: str = Field(primary_key=True)
    name: str = ""
    tier: str = ""
    sla_policy: str = ""
    response_hours: int = 0
    account_manager: str = ""
    updated_at: datetime = Field(default_factory=utcnow)


MODELS = [RoutingAccount]
