"""Database plumbing shared by every service: engines, the outbox and processed-event tables."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, DisconnectionError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlmodel import Field, SQLModel, create_engine


def utcnow() -> datetime:
    return datetime.now(UTC)


def is_transient(exc: BaseException) -> bool:
    """A failure of the database or its connection (not of this event or request): wait and try
    again. Shared by the consumers (pause and retry) and the gRPC servers (answer UNAVAILABLE)."""
    if isinstance(exc, IntegrityError):
        return False
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, OperationalError | DisconnectionError | PoolTimeout | ConnectionError)


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class OutboxMessage(SQLModel, table=True):
    """An event committed with the state change it announces, waiting to be relayed to Kafka."""

    __tablename__ = "outbox"
    seq: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(index=True)
    topic: str
    key: bytes
    value: bytes
    headers_json: str
    created_at: datetime = Field(default_factory=utcnow)
    published_at: datetime | None = Field(default=None, index=True)


class ProcessedEvent(SQLModel, table=True):
    """Event ids a consumer has applied: the broker delivers at least once, we apply once."""

    __tablename__ = "processed_events"
    consumer: str = Field(primary_key=True)
    event_id: str = Field(primary_key=True)
    # Indexed for the hourly prune (`processed_at < cutoff`), which otherwise reads the whole table.
    processed_at: datetime = Field(default_factory=utcnow, index=True)


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, pool_pre_ping=True
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # WAL lets readers run beside the one writer
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def create_tables(engine: Engine, models: Iterable[type[SQLModel]]) -> None:
    """Create this service's tables (and the shared outbox tables) if missing."""
    tables = [m.__table__ for m in (*models, OutboxMessage, ProcessedEvent)]  # type: ignore[attr-defined]
    SQLModel.metadata.create_all(engine, tables=tables)
