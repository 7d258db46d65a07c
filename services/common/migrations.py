"""Schema migrations (Alembic) for every service database, run at start.

Each service has its own migration environment, `services/<svc>/migrations/` (`env.py` calls
`run_env(svc)`, revisions in `versions/`), over that service's tables plus the shared `outbox` and
`processed_events` tables, which exist in every service database. Configuration is programmatic:
no alembic.ini.

`migrate(engine, svc)` is what a worker calls at start instead of `create_all`:
- a database with an `alembic_version` table (or an empty one) is upgraded to head;
- a database made by the old `create_all` path (tables, no `alembic_version`) is adopted: when it
  already has the head schema it is stamped head; when its tables are those of the baseline
  revision (tables the baseline has and it lacks are created, as create_all would have) it is
  upgraded from the baseline; anything else is refused with the differences named, rather than
  stamped over;
- PostgreSQL: the upgrade runs under a session advisory lock per service, so two workers starting
  on one database never both run DDL (the second waits, then finds head and does nothing);
  SQLite file databases take an exclusive file lock beside the database for the same reason.

Developers (one command each; see docs/CONVENTIONS.md):

    python -m services.common.migrations revision <svc> -m "what changes"   # autogenerate
    python -m services.common.migrations check <svc>                        # models == head?
    python -m services.common.migrations upgrade <svc> [--url URL]          # what start does
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import importlib
import logging
import sys
import tempfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, create_engine, inspect, text
from sqlalchemy.engine import Connection, Engine

from .db import OutboxMessage, ProcessedEvent, make_engine

log = logging.getLogger(__name__)

# Where each service declares its tables (the list its worker used to pass to create_tables).
SERVICE_MODELS = {
    "intake": ("services.intake.adapters.db", "MODELS"),
    "routing": ("services.routing.adapters.db", "MODELS"),
    "escalation": ("services.escalation.adapters.satisfaction", "MODELS"),  # db.MODELS + ratings
    "notifications": ("services.notifications.adapters.db", "TABLES"),
}
SERVICES = tuple(SERVICE_MODELS)
BASELINE = "0001"  # the schema create_all made before migrations existed
VERSION_TABLE = "alembic_version"


class SchemaMismatch(RuntimeError):
    """An unversioned database whose tables are neither the baseline's nor head's: not adopted."""


def _check_service(svc: str) -> None:
    if svc not in SERVICE_MODELS:
        raise ValueError(f"unknown service {svc!r}: one of {', '.join(SERVICES)}")


def target_metadata(svc: str) -> MetaData:
    """The tables of one service database: the service's models plus the shared outbox tables."""
    _check_service(svc)
    module_name, attr = SERVICE_MODELS[svc]
    models = getattr(importlib.import_module(module_name), attr)
    metadata = MetaData()
    for model in (*models, OutboxMessage, ProcessedEvent):
        model.__table__.to_metadata(metadata)  # type: ignore[attr-defined]
    return metadata


def config(svc: str, connection: Connection | None = None, url: str | None = None) -> Config:
    """An Alembic Config for one service, on an open connection (or a URL), without alembic.ini."""
    _check_service(svc)
    cfg = Config()
    cfg.set_main_option("script_location", f"services.{svc}:migrations")
    cfg.attributes["service"] = svc
    if connection is not None:
        cfg.attributes["connection"] = connection
    if url is not None:
        cfg.attributes["url"] = url
    return cfg


def run_env(svc: str) -> None:
    """The body of every service's env.py."""
    from alembic import context

    cfg = context.config
    metadata = target_metadata(svc)
    options: dict[str, Any] = {
        "target_metadata": metadata,
        "render_as_batch": True,  # SQLite can only ALTER by copying the table: batch mode does that
        "compare_type": True,
        "version_table": VERSION_TABLE,
    }
    if context.is_offline_mode():
        url = cfg.attributes.get("url") or _default_url(svc)
        context.configure(url=url, literal_binds=True, **options)
        with context.begin_transaction():
            context.run_migrations()
        return
    connection = cfg.attributes.get("connection")
    if connection is not None:
        _run_online(context, connection, options)
        return
    engine = make_engine(cfg.attributes.get("url") or _default_url(svc))
    try:
        with engine.connect() as conn:
            _run_online(context, conn, options)
            conn.commit()
    finally:
        engine.dispose()


def _run_online(context: Any, connection: Connection, options: dict[str, Any]) -> None:
    context.configure(connection=connection, **options)
    with context.begin_transaction():
        context.run_migrations()


def _default_url(svc: str) -> str:
    from .settings import get_settings

    return get_settings().database_url(svc)


# --- at start -----------------------------------------------------------------------------------


def migrate(engine: Engine, svc: str) -> str:
    """Bring the service's database to head (see the module docstring). Returns what was done:
    "created", "upgraded", "current", "stamped" (adopted at head) or "adopted" (from the baseline)."""
    _check_service(svc)
    with _exclusive(engine, svc), engine.connect() as conn:
        outcome = _migrate(conn, svc)
        conn.commit()
    log.info("schema %s: %s at head", svc, outcome)
    return outcome


def _migrate(conn: Connection, svc: str) -> str:
    cfg = config(svc, connection=conn)
    present = set(inspect(conn).get_table_names())
    ours = set(target_metadata(svc).tables)
    if VERSION_TABLE in present:
        before = current_revision(conn)
        command.upgrade(cfg, "head")
        return "current" if current_revision(conn) == before else "upgraded"
    if not present & ours:
        command.upgrade(cfg, "head")
        return "created"
    # Made by create_all, before migrations: adopt it only when it is a schema we know.
    if not schema_diff(conn, svc):
        command.stamp(cfg, "head")
        return "stamped"
    problems = baseline_mismatch(conn, svc)
    if problems:
        raise SchemaMismatch(
            f"the {svc} database has tables but no {VERSION_TABLE} and they are not the baseline "
            f"schema ({'; '.join(problems)}); not adopting it: migrate it by hand or start from an "
            "empty database"
        )
    command.upgrade(cfg, "head")  # the baseline creates only the tables it lacks, then the rest runs
    return "adopted"


def current_revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).get_current_revision()


def schema_diff(conn: Connection, svc: str) -> list[Any]:
    """Alembic's autogenerate comparison of the database with the service's models: [] when equal."""
    context = MigrationContext.configure(
        conn,
        opts={"compare_type": True, "render_as_batch": True, "version_table": VERSION_TABLE},
    )
    return list(compare_metadata(context, target_metadata(svc)))


def baseline_mismatch(conn: Connection, svc: str) -> list[str]:
    """How the existing tables differ from the baseline revision's (columns, index names), by name.

    The baseline's shape comes from running the baseline revision itself on a scratch in-memory
    SQLite database, so it cannot drift from the revision file."""
    scratch = create_engine("sqlite://")  # in memory, one connection
    try:
        with scratch.connect() as s:
            command.upgrade(config(svc, connection=s), BASELINE)
            s.commit()
            baseline = _shape(s)
    finally:
        scratch.dispose()
    found = _shape(conn)
    problems = []
    for table, (columns, indexes) in sorted(baseline.items()):
        if table == VERSION_TABLE or table not in found:
            continue  # a table create_all had not made yet: the baseline creates it
        have_columns, have_indexes = found[table]
        if columns - have_columns:
            problems.append(f"{table} lacks column(s) {', '.join(sorted(columns - have_columns))}")
        if have_columns - columns:
            problems.append(f"{table} has unknown column(s) {', '.join(sorted(have_columns - columns))}")
        if indexes - have_indexes:
            problems.append(f"{table} lacks index(es) {', '.join(sorted(indexes - have_indexes))}")
    return problems


def _shape(conn: Connection) -> dict[str, tuple[set[str], set[str]]]:
    insp = inspect(conn)
    return {
        t: ({c["name"] for c in insp.get_columns(t)}, {i["name"] for i in insp.get_indexes(t) if i["name"]})
        for t in insp.get_table_names()
    }


def advisory_key(svc: str) -> int:
    """The PostgreSQL advisory lock taken around a service's upgrade (stable across processes)."""
    return zlib.crc32(f"haq.migrations.{svc}".encode())


@contextlib.contextmanager
def _exclusive(engine: Engine, svc: str) -> Iterator[None]:
    """One migrator at a time per database: a PG session advisory lock, or a file lock for SQLite."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as lock:
            lock.execute(text("SELECT pg_advisory_lock(:k)"), {"k": advisory_key(svc)})
            lock.commit()
            try:
                yield
            finally:
                lock.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": advisory_key(svc)})
                lock.commit()
        return
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:" or database.startswith("file:"):
        yield
        return
    with open(f"{database}-migrate.lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --- developer commands -------------------------------------------------------------------------


def _scratch_at_head(svc: str, folder: Path) -> str:
    url = f"sqlite:///{folder / f'{svc}.db'}"
    engine = make_engine(url)
    try:
        migrate(engine, svc)
    finally:
        engine.dispose()
    return url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.common.migrations", description=__doc__.split("\n")[0]
    )
    sub = parser.add_subparsers(dest="cmd", required=True)
    rev = sub.add_parser(
        "revision", help="autogenerate a revision from the models (against a scratch database at head)"
    )
    rev.add_argument("svc", choices=SERVICES)
    rev.add_argument("-m", "--message", required=True)
    rev.add_argument(
        "--empty", action="store_true", help="an empty revision to fill by hand (data migrations)"
    )
    chk = sub.add_parser("check", help="exit 1 when the models differ from head")
    chk.add_argument("svc", choices=SERVICES)
    up = sub.add_parser("upgrade", help="migrate a database as a worker does at start")
    up.add_argument("svc", choices=SERVICES)
    up.add_argument("--url", help="database URL (default: the service's from settings)")
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.cmd == "upgrade":
        engine = make_engine(args.url or _default_url(args.svc))
        try:
            print(f"{args.svc}: {migrate(engine, args.svc)}")
        finally:
            engine.dispose()
        return 0
    with tempfile.TemporaryDirectory() as folder:
        url = _scratch_at_head(args.svc, Path(folder))
        if args.cmd == "check":
            engine = make_engine(url)
            try:
                with engine.connect() as conn:
                    diff = schema_diff(conn, args.svc)
            finally:
                engine.dispose()
            for item in diff:
                print(item)
            print(f"{args.svc}: {'models differ from head: add a revision' if diff else 'models match head'}")
            return 1 if diff else 0
        cfg = config(args.svc, url=url)
        command.revision(cfg, message=args.message, autogenerate=not args.empty, rev_id=next_rev_id(cfg))
    return 0


def next_rev_id(cfg: Config) -> str:
    """Revisions are numbered 0001, 0002, … so `versions/` reads in order."""
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory.from_config(cfg).get_heads()
    numbers = [int(h) for h in heads if h.isdigit()]
    return f"{max(numbers, default=0) + 1:04d}"


if __name__ == "__main__":
    sys.exit(main())
