"""Routing's record of each tenant's B2B accounts and their contract entitlements (tier, SLA policy,
contracted response hours, account manager). The seeded tenant's are seeded once from
seed/accounts.yaml; UpsertAccount manages them afterwards. Routing reads a tenant's accounts once
per consumer batch (service.BatchCache), never one query per complaint."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, select

from services.common.db import utcnow

from ..domain.model import Account


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


def get_account(session: Session, tenant: str, account_id: str) -> RoutingAccount | None:
    return session.get(RoutingAccount, (tenant, account_id))


def list_accounts(session: Session, tenant: str) -> list[RoutingAccount]:
    return list(
        session.exec(
            select(RoutingAccount).where(RoutingAccount.tenant == tenant).order_by(col(RoutingAccount.id))
        ).all()
    )


def count_accounts(session: Session, tenant: str) -> int:
    return len(session.exec(select(RoutingAccount.id).where(RoutingAccount.tenant == tenant)).all())


def seed_accounts(engine: Engine, tenant: str, accounts: Mapping[str, Account]) -> int:
    """The accounts file's entries the tenant does not have yet (safe at every start: an account
    UpsertAccount changed keeps the admin's values). Returns how many were added."""
    added = 0
    with Session(engine) as session:
        have = {row.id for row in list_accounts(session, tenant)}
        for account in accounts.values():
            if account.id in have:
                continue
            session.add(
                RoutingAccount(
                    tenant=tenant,
                    id=account.id,
                    tier=account.tier,
                    sla_policy=account.sla_policy,
                    response_hours=account.response_hours,
                    account_manager=account.account_manager,
                )
            )
            added += 1
        try:
            session.commit()
        except IntegrityError:  # another worker seeded first
            session.rollback()
            return 0
    return added


def load_accounts(session: Session, tenant: str) -> dict[str, Account]:
    """A tenant's accounts as routing uses them (read once per consumer batch)."""
    return {
        row.id: Account(
            id=row.id,
            tier=row.tier,
            sla_policy=row.sla_policy,
            response_hours=row.response_hours,
            account_manager=row.account_manager,
        )
        for row in list_accounts(session, tenant)
    }
