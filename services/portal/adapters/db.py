"""The portal's own small database: follow links and sessions (hashed tokens only), link
requests (for the rate limits), ratings, the public replies it read from the lifecycle topic, and
the outbox its events leave through (services/common/outbox.py)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import DateTime, func
from sqlmodel import Field, Session, SQLModel, col, delete, select

from services.common.db import as_utc, create_tables
from services.common.db import make_engine as _make_engine

_TS = DateTime(timezone=True)


class LinkRow(SQLModel, table=True):
    __tablename__ = "portal_links"
    token_hash: str = Field(primary_key=True)
    link_id: str = Field(index=True)
    tenant: str
    complaint_id: str
    customer_id: str
    purpose: str = "follow"
    created_at: datetime = Field(sa_type=_TS)
    expires_at: datetime = Field(sa_type=_TS)
    used_at: datetime | None = Field(default=None, sa_type=_TS)


class SessionRow(SQLModel, table=True):
    __tablename__ = "portal_sessions"
    token_hash: str = Field(primary_key=True)
    tenant: str
    customer_id: str
    csrf: str  # the form token of this session (compared with each POST's hidden field)
    language: str = "fa"
    created_at: datetime = Field(sa_type=_TS)
    expires_at: datetime = Field(sa_type=_TS, index=True)


class LinkRequestRow(SQLModel, table=True):
    __tablename__ = "portal_link_requests"
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(index=True)  # "ref:<reference>" or "client:<address>"
    at: datetime = Field(sa_type=_TS, index=True)


class RatingRow(SQLModel, table=True):
    __tablename__ = "portal_ratings"
    complaint_id: str = Field(primary_key=True)
    rating_id: str
    rating: int
    comment: str = ""
    rated_at: datetime = Field(sa_type=_TS)


class PublicMessageRow(SQLModel, table=True):
    __tablename__ = "portal_public_messages"
    event_id: str = Field(primary_key=True)
    complaint_id: str = Field(index=True)
    kind: str  # response, question, resolution
    body: str
    at: datetime = Field(sa_type=_TS)


TABLES = [LinkRow, SessionRow, LinkRequestRow, RatingRow, PublicMessageRow]  # + the outbox


def make_engine(url: str):
    engine = _make_engine(url)
    create_tables(engine, TABLES)  # a small store of short-lived rows: no migrations (docs/portal.md)
    return engine


def count_requests(session: Session, key: str, since: datetime) -> int:
    return session.exec(
        select(func.count()).where(LinkRequestRow.key == key, col(LinkRequestRow.at) >= since)
    ).one()


def prune(session: Session, now: datetime, keep_s: int) -> None:
    """Expired sessions and links, and link requests older than the window."""
    session.exec(delete(SessionRow).where(col(SessionRow.expires_at) < now))
    session.exec(delete(LinkRow).where(col(LinkRow.expires_at) < now - timedelta(days=1)))
    session.exec(delete(LinkRequestRow).where(col(LinkRequestRow.at) < now - timedelta(seconds=keep_s)))


def public_messages(session: Session, complaint_id: str) -> list[PublicMessageRow]:
    return list(
        session.exec(
            select(PublicMessageRow)
            .where(PublicMessageRow.complaint_id == complaint_id)
            .order_by(col(PublicMessageRow.at))
        ).all()
    )


def aware(value: datetime | None) -> datetime | None:
    return as_utc(value)
