"""DirectoryAdministration on a throwaway SQLite database: checks that name the field, a tenant's
first team, a seeded team an admin changed keeps the admin's values when the file is seeded
again, and accounts seeded once from the file then owned by the tenant."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlmodel import Session

from services.common import auth_policy
from services.common.db import create_tables, make_engine
from services.routing.adapters import accounts_db, db
from services.routing.adapters.files import SEED, load_accounts, load_directory
from services.routing.admin import NotFound
from services.routing.directory_admin import AccountRecord, DirectoryAdministration, TeamChange
from services.routing.domain.model import Account, InvalidData
from services.routing.service import Router, RuleSets


@pytest.fixture
def directory(tmp_path: Path) -> DirectoryAdministration:
    engine = make_engine(f"sqlite:///{tmp_path / 'routing.db'}")
    create_tables(engine, db.MODELS)
    db.seed_directory(engine, load_directory(SEED / "directory.yaml"))
    accounts_db.seed_accounts(engine, "default", load_accounts(SEED / "accounts.yaml"))
    router = Router(RuleSets(), default_tenant="default", fallback_directory="default")
    return DirectoryAdministration(engine, router, relay=None)


@pytest.mark.parametrize(
    ("team", "field"),
    [
        (TeamChange(id=""), "team.id"),
        (TeamChange(id="x" * 65), "team.id"),
        (TeamChange(id="t", name="n" * 201), "team.name"),
        (TeamChange(id="t", time_zone="Mars/Olympus"), "team.time_zone"),
        (TeamChange(id="t", time_zone="../../etc/passwd"), "team.time_zone"),
        (TeamChange(id="t", strategy="random"), "team.strategy"),
        (TeamChange(id="t", manager="a\nb"), "team.manager"),
        (TeamChange(id="t", director="d" * 65), "team.director"),
    ],
)
def test_a_bad_team_is_refused_naming_the_field(directory, team, field):
    with pytest.raises(InvalidData) as err:
        directory.upsert_team("acme", team, "admin")
    assert err.value.path == field
    with Session(directory.engine) as session:
        assert not db.has_directory(session, "acme")


def test_a_tenants_first_team_gives_it_its_own_directory(directory):
    with Session(directory.engine) as session:
        assert not db.has_directory(session, "acme")
    row = directory.upsert_team("acme", TeamChange(id="care", name="Care", time_zone="Europe/Berlin"), "ann")
    assert (row.tenant, row.id, row.time_zone, row.strategy) == (
        "acme",
        "care",
        "Europe/Berlin",
        "most-available",
    )
    with Session(directory.engine) as session:
        assert db.has_directory(session, "acme")
        assert directory.router.directory_tenant(session, "acme") == "acme"
        assert [v.team.id for v in db.list_teams(session, "acme")] == ["care"]
    # the seeded tenant's agents are not in acme's directory, whatever acme names
    with pytest.raises(NotFound):
        directory.set_presence("acme", "reza.karimi", "offline", "ann")


def test_a_tenant_without_a_directory_cannot_change_the_seeded_one(directory):
    with pytest.raises(NotFound):
        directory.set_capacity("tenant-b", "reza.karimi", 0, "bob")
    with Session(directory.engine) as session:
        assert db.get_agent(session, "default", "reza.karimi").capacity == 8


def test_a_seeded_team_an_admin_changed_keeps_the_admins_values_when_seeded_again(directory):
    directory.upsert_team(
        "default",
        TeamChange(id="general-care", name="General", time_zone="UTC", strategy="round-robin"),
        "ann",
    )
    db.seed_directory(directory.engine, load_directory(SEED / "directory.yaml"))
    with Session(directory.engine) as session:
        row = db.get_team(session, "default", "general-care")
        other = db.get_team(session, "default", "clinical-governance")
    assert (row.name, row.time_zone, row.strategy, row.duty_owner) == (
        "General",
        "UTC",
        "round-robin",
        "leila.ahmadi",
    )
    assert other is not None and not other.admin_managed


def test_accounts_are_seeded_once_then_the_tenants_own(directory):
    assert {a.id for a in directory.accounts("default")} == {"ACME-001", "PARS-042", "TOOS-310"}
    assert directory.accounts("tenant-b") == []
    directory.upsert_account("default", AccountRecord(id="ACME-001", tier="gold", response_hours=12), "ann")
    directory.upsert_account(
        "tenant-b", AccountRecord(id="ACME-001", sla_policy="b2b-b", response_hours=2), "bob"
    )
    added = accounts_db.seed_accounts(directory.engine, "default", load_accounts(SEED / "accounts.yaml"))
    assert added == 0
    with Session(directory.engine) as session:
        home = accounts_db.load_accounts(session, "default")
        bare = accounts_db.load_accounts(session, "tenant-b")
        # once per batch: a second call in the same transaction reads nothing new
        first = directory.router.accounts_of(session, "tenant-b")
        assert directory.router.accounts_of(session, "tenant-b") is first
    assert home["ACME-001"] == Account(id="ACME-001", tier="gold", response_hours=12)
    assert bare == {"ACME-001": Account(id="ACME-001", sla_policy="b2b-b", response_hours=2)}
    for bad, field in (
        (AccountRecord(id=""), "account.id"),
        (AccountRecord(id="A", response_hours=-1), "account.response_hours"),
        (AccountRecord(id="A", account_manager="m" * 65), "account.account_manager"),
    ):
        with pytest.raises(InvalidData) as err:
            directory.upsert_account("tenant-b", bad, "bob")
        assert err.value.path == field


def test_directory_writes_are_admin_only_and_ops_may_list_accounts():
    for method in ("UpsertTeam", "UpsertAccount", "UpsertAgent"):
        assert auth_policy.allowed_roles(f"/haq.v1.RoutingAdmin/{method}") == {"admin"}
    assert auth_policy.allowed_roles("/haq.v1.RoutingAdmin/ListAccounts") == {"admin", "ops"}


@pytest.mark.parametrize("column", [True, False])
def test_each_change_is_audited_with_the_actor_and_the_tenant(directory, monkeypatch, column):
    from services.routing import directory_admin

    if not column:  # before migration 0005 gave the audit a tenant column: the detail names it
        monkeypatch.setattr(directory_admin, "_AUDIT_TAKES_TENANT", False)
    elif not directory_admin._AUDIT_TAKES_TENANT:
        pytest.skip("db.audit has no tenant column yet")
    directory.upsert_team("acme", TeamChange(id="care", name="Care"), "ann")
    directory.upsert_account("acme", AccountRecord(id="A-1", tier="gold"), "ann")
    directory.set_capacity("default", "reza.karimi", 3, "leila.ahmadi")
    with Session(directory.engine) as session:
        rows = session.exec(db.select(db.RoutingAudit).order_by(db.RoutingAudit.id)).all()
    got = [
        (r.action, r.target, r.actor, getattr(r, "tenant", "") or json.loads(r.detail).get("tenant"))
        for r in rows
    ]
    assert got == [
        ("team.upsert", "care", "ann", "acme"),
        ("account.upsert", "A-1", "ann", "acme"),
        ("agent.capacity", "reza.karimi", "leila.ahmadi", "default"),
    ]
    assert json.loads(rows[0].detail)["after"]["name"] == "Care"
