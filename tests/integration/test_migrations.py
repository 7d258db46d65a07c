"""Schema migrations (Alembic), on SQLite and on a real PostgreSQL.

- For every service, an empty database upgraded to head has exactly the SQLModel tables (alembic's
  compare_metadata finds no difference): a model change without a revision fails here.
- A database made by the create_all path of the previous schema (no alembic_version), with rows in
  it, is adopted and upgraded at start; the rows are still there and the new schema is complete.
- A versioned database at the baseline is upgraded with its rows kept (notifications' contacts
  gain NOT NULL columns: the rows already there take the defaults).
- An unversioned database that is not a schema we know is refused, naming what differs.
- Two workers migrating one PostgreSQL database at once: one runs the DDL, the other waits.
- A real intake process adopts a previous-schema database and keeps complaints across restarts.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import grpc
import pytest
from sqlalchemy import MetaData, UniqueConstraint, inspect, text
from sqlalchemy.engine import Engine

from services.common.db import make_engine
from services.common.migrations import (
    BASELINE,
    SERVICES,
    SchemaMismatch,
    config,
    current_revision,
    migrate,
    schema_diff,
    target_metadata,
)
from services.common.pb.haq.v1 import complaint_pb2 as c
from services.common.pb.haq.v1 import intake_pb2, intake_pb2_grpc

pytestmark = pytest.mark.integration

# What the revisions after the baseline added: the previous schema is today's without them.
ADDED_INDEXES = {"processed_events": {"ix_processed_events_processed_at"}}  # 0002, every service
ADDED_COLUMNS = {
    "notifications": {
        "notification_contacts": {"owner_is_duty_lead", "status", "chat_thread"},  # 0003, 0005
        "deliveries": {"handed_over_at"},  # 0004
    },
    "routing": {
        "routing_teams": {"admin_managed"},  # 0004
        "routing_rule_sets": {"tenant"},  # 0005
        "routing_audit": {"tenant"},  # 0005
        "routing_decisions": {"rule_set_tenant", "rule_set_staged"},  # 0005
    },
}


ADDED_TABLES = {
    "intake": {"mail_threads"},  # 0003
    "escalation": {"escalation_ratings"},  # 0003
    # 0003, 0004, 0005 (routing_tenant_rule_sets replaced routing_active_rule_set, which the
    # baseline creates at adoption and 0005 copies and drops)
    "routing": {"routing_triage_corrections", "routing_accounts", "routing_tenant_rule_sets"},
}


def head(svc: str) -> str:
    from alembic.script import ScriptDirectory

    (only,) = ScriptDirectory.from_config(config(svc)).get_heads()
    return only


def previous_metadata(svc: str) -> MetaData:
    """The tables as create_all made them before the revisions after the baseline."""
    previous = MetaData()
    for table in target_metadata(svc).tables.values():
        if table.name in ADDED_TABLES.get(svc, set()):
            continue
        copy = table.to_metadata(previous)
        added = ADDED_COLUMNS.get(svc, {}).get(table.name, set())
        for name in added:
            copy._columns.remove(copy.c[name])
        for index in list(copy.indexes):
            if index.name in ADDED_INDEXES.get(table.name, set()) or {c.name for c in index.columns} & added:
                copy.indexes.discard(index)
        for constraint in list(copy.constraints):  # e.g. 0005's unique (tenant, version)
            if isinstance(constraint, UniqueConstraint) and {c.name for c in constraint.columns} & added:
                copy.constraints.discard(constraint)
    return previous


def engines(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Engine:
    if kind == "sqlite":
        return make_engine(f"sqlite:///{tmp_path / 'svc.db'}")
    return make_engine(request.getfixturevalue("postgres_db_url"))


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path):
    eng = engines(request.param, tmp_path, request)
    yield eng
    eng.dispose()


def tables(eng: Engine) -> set[str]:
    with eng.connect() as conn:
        return set(inspect(conn).get_table_names())


def count(eng: Engine, table: str) -> int:
    with eng.connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def seed_shared_rows(eng: Engine) -> None:
    """A processed-event marker and a published outbox row: every service database has these."""
    with eng.begin() as conn:
        conn.execute(
            text("INSERT INTO processed_events (consumer, event_id, processed_at) VALUES (:c, :e, :t)"),
            [{"c": "x-lifecycle", "e": f"ev-{i}", "t": NOW} for i in range(3)],
        )
        conn.execute(
            text(
                "INSERT INTO outbox (event_id, topic, key, value, headers_json, created_at, published_at)"
                " VALUES (:e, 'haq.lifecycle', :k, :v, '{}', :t, :t)"
            ),
            {"e": "out-1", "k": b"c-1", "v": b"\x00\x01", "t": NOW},
        )


# --- the check that cannot drift ----------------------------------------------------------------


@pytest.mark.parametrize("svc", SERVICES)
def test_an_empty_database_upgraded_to_head_has_exactly_the_models(engine, svc):
    assert migrate(engine, svc) == "created"
    with engine.connect() as conn:
        assert current_revision(conn) == head(svc)
        assert schema_diff(conn, svc) == []
    assert set(target_metadata(svc).tables) <= tables(engine)
    assert migrate(engine, svc) == "current"  # every later start: nothing to do


def test_the_comparison_sees_a_model_change_that_has_no_revision(engine):
    """The check above can fail: one column more in the models is a difference."""
    migrate(engine, "intake")
    from sqlalchemy import Column, String

    changed = target_metadata("intake")
    changed.tables["complaints"].append_column(Column("nickname", String(), nullable=True))
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), changed)
    assert [d[0] for d in diff] == ["add_column"]
    assert diff[0][3].name == "nickname"


# --- the previous schema, with rows ------------------------------------------------------------


@pytest.mark.parametrize("svc", SERVICES)
def test_a_create_all_database_of_the_previous_schema_is_adopted_without_losing_rows(engine, svc):
    previous_metadata(svc).create_all(engine)
    seed_shared_rows(engine)
    if svc == "notifications":
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO notification_contacts (complaint_id, tenant, reference, email, phone,"
                    " language, display_name, channel, preferred_channel, owner, team, priority,"
                    " keep_informed, updated_at) VALUES ('c-1', 'default', 'HQ-AAAA-11', 'm@example.com',"
                    " '', 'fa', 'Maryam', 'email', '', 'reza', 'care', 'high', '', :t)"
                ),
                {"t": NOW},
            )
    assert "alembic_version" not in tables(engine)

    assert migrate(engine, svc) == "adopted"

    with engine.connect() as conn:
        assert current_revision(conn) == head(svc)
        assert schema_diff(conn, svc) == []
        indexes = {i["name"] for i in inspect(conn).get_indexes("processed_events")}
        assert "ix_processed_events_processed_at" in indexes
    assert count(engine, "processed_events") == 3
    assert count(engine, "outbox") == 1
    if svc == "notifications":
        with engine.connect() as conn:
            row = conn.execute(
                text(
                    "SELECT email, owner, owner_is_duty_lead, status, chat_thread FROM notification_contacts"
                )
            ).one()
        assert (row.email, row.owner, bool(row.owner_is_duty_lead), row.status, row.chat_thread) == (
            "m@example.com",
            "reza",
            False,
            "",
            "",
        )


def test_a_create_all_database_missing_tables_gets_them_at_adoption(engine):
    """create_all made only the tables it knew then; the baseline creates the rest."""
    previous = previous_metadata("intake")
    previous.remove(previous.tables["idempotency_records"])
    previous.create_all(engine)
    seed_shared_rows(engine)
    assert migrate(engine, "intake") == "adopted"
    with engine.connect() as conn:
        assert schema_diff(conn, "intake") == []
    assert count(engine, "processed_events") == 3


def test_a_versioned_database_at_the_baseline_is_upgraded_with_its_rows(engine):
    from alembic import command

    with engine.connect() as conn:
        command.upgrade(config("notifications", connection=conn), BASELINE)
        conn.commit()
    seed_shared_rows(engine)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO notification_contacts (complaint_id, tenant, reference, email, phone, language,"
                " display_name, channel, preferred_channel, owner, team, priority, keep_informed,"
                " updated_at) VALUES (:id, 'default', :ref, '', '', 'en', '', 'web', '', '', '', '', '', :t)"
            ),
            [{"id": f"c-{i}", "ref": f"HQ-{i:04d}-00", "t": NOW} for i in range(50)],
        )
    assert migrate(engine, "notifications") == "upgraded"
    with engine.connect() as conn:
        assert current_revision(conn) == head("notifications")
        assert schema_diff(conn, "notifications") == []
        refs = conn.execute(text("SELECT reference FROM notification_contacts ORDER BY reference")).scalars()
        assert list(refs) == [f"HQ-{i:04d}-00" for i in range(50)]
    assert count(engine, "processed_events") == 3


def test_an_unknown_unversioned_schema_is_refused_naming_the_difference(engine):
    previous = previous_metadata("escalation")
    cases = previous.tables["escalation_cases"]
    cases._columns.remove(cases.c.version)  # a schema older than any baseline: column missing
    previous.create_all(engine)
    with pytest.raises(SchemaMismatch, match="escalation_cases lacks column\\(s\\) version"):
        migrate(engine, "escalation")
    assert "alembic_version" not in tables(engine)  # nothing stamped over it


def test_a_database_already_at_the_models_schema_is_stamped(engine):
    """Made by create_all with today's models (as some tests do): nothing to run, stamped head."""
    target_metadata("routing").create_all(engine)
    assert migrate(engine, "routing") == "stamped"
    with engine.connect() as conn:
        assert current_revision(conn) == head("routing")


# --- concurrent starts ------------------------------------------------------------------------


def test_two_workers_starting_on_one_postgres_database_do_not_both_run_ddl(postgres_db_url):
    outcomes: list[str] = []
    errors: list[BaseException] = []
    gate = threading.Barrier(2)

    def worker() -> None:
        eng = make_engine(postgres_db_url)
        try:
            gate.wait(10)
            outcomes.append(migrate(eng, "escalation"))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            eng.dispose()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert sorted(outcomes) == ["created", "current"]


# --- a real service ---------------------------------------------------------------------------


def intake_stub(settings):
    return intake_pb2_grpc.IntakeServiceStub(grpc.insecure_channel(settings.grpc_target("intake")))


def test_intake_adopts_a_previous_schema_database_and_keeps_complaints_across_restarts(
    settings, start_service
):
    url = settings.database_url("intake")
    eng = make_engine(url)
    previous_metadata("intake").create_all(eng)
    seed_shared_rows(eng)
    with eng.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO customers (id, tenant, display_name, first_seen_at) VALUES"
                " ('cust-1', 'default', 'Maryam', :t)"
            ),
            {"t": NOW},
        )
        conn.execute(
            text(
                "INSERT INTO complaints (id, reference, tenant, customer_id, channel, sector,"
                " complainant_role, subject, body, language, product, purchase_date, category,"
                " metadata_json, customer_json, idempotency_key, received_at, status, team, owner,"
                " owner_is_duty_lead, priority, sla_policy, routing_rule, routing_explanation, updated_at)"
                " VALUES ('c-old', 'HQ-7KX2-94', 'default', 'cust-1', 'email', 'healthcare', 'patient',"
                " 'Before the upgrade', 'Filed before migrations existed.', 'en', '', '', '', '{}', '{}',"
                " '', :t, 'received', '', '', false, '', '', '', '', :t)"
            ),
            {"t": NOW},
        )
    eng.dispose()

    intake = start_service("intake")
    case = intake_stub(settings).GetComplaint(
        intake_pb2.GetComplaintRequest(complaint="HQ-7KX2-94"), timeout=5
    )
    assert case.complaint.id == "c-old"
    new = intake_stub(settings).SubmitComplaint(
        intake_pb2.SubmitComplaintRequest(
            draft=c.ComplaintDraft(
                channel=c.CHANNEL_WEB,
                body="Filed after the upgrade.",
                customer=c.CustomerIdentifiers(email="maryam@example.com"),
            )
        ),
        timeout=10,
    )
    intake.stop()

    start_service("intake")  # same database: the second start finds head and keeps everything
    for ref, complaint_id in (("HQ-7KX2-94", "c-old"), (new.reference, new.complaint_id)):
        got = intake_stub(settings).GetComplaint(intake_pb2.GetComplaintRequest(complaint=ref), timeout=5)
        assert got.complaint.id == complaint_id
    eng = make_engine(url)
    try:
        with eng.connect() as conn:
            assert current_revision(conn) == head("intake")
            assert schema_diff(conn, "intake") == []
        assert count(eng, "complaints") == 2
        assert count(eng, "processed_events") >= 3
    finally:
        eng.dispose()
