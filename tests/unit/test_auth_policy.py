"""The central auth policy, the handlers' scoping helpers, and the development tokens."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from services.common import auth, auth_policy
from services.common.auth import Principal, mint_token, verify_token
from services.common.settings import Settings
from services.console import devrun, tokens

REPO = Path(__file__).resolve().parents[2]
SECRET = "unit-test-secret-0123456789-abcdefghijklmnop"


def proto_methods() -> set[str]:
    found = set()
    for proto in (REPO / "proto" / "haq" / "v1").glob("*.proto"):
        service = ""
        for line in proto.read_text().splitlines():
            if m := re.match(r"\s*service (\w+)", line):
                service = m.group(1)
            if m := re.match(r"\s*rpc (\w+)\(", line):
                found.add(f"/haq.v1.{service}/{m.group(1)}")
    return found


def test_the_policy_names_only_real_methods_and_admins_pass_everywhere():
    methods = proto_methods()
    assert set(auth_policy.POLICY) <= methods
    assert all("admin" in auth_policy.allowed_roles(m) for m in methods)
    # rule-set changes and agent records are left to the admin-only default
    for method in ("RoutingAdmin/ApplyRuleSet", "RoutingAdmin/RollbackRuleSet", "RoutingAdmin/UpsertAgent"):
        assert auth_policy.allowed_roles(f"/haq.v1.{method}") == {"admin"}
    assert auth_policy.allowed_roles("/haq.v1.Unknown/Thing") == {"admin"}


def test_an_integration_token_can_only_submit():
    submit = {m for m in proto_methods() if "integration" in auth_policy.allowed_roles(m)}
    assert submit == {"/haq.v1.IntakeService/SubmitComplaint", "/haq.v1.IntakeService/AddFollowUp"}


def test_ops_change_no_case():
    case_actions = {
        m for m in proto_methods() if m.startswith("/haq.v1.CaseService/") and not m.endswith("ListQueue")
    }
    assert not any("ops" in auth_policy.allowed_roles(m) for m in case_actions)


def as_caller(monkeypatch: pytest.MonkeyPatch, principal: Principal | None) -> None:
    monkeypatch.setattr(auth_policy, "current_principal", lambda: principal)


def test_tenant_scope_hides_other_tenants_but_services_may_name_any(monkeypatch):
    as_caller(monkeypatch, None)
    assert auth_policy.tenant_scope("", "default") == "default"
    assert auth_policy.tenant_scope("b", "default") == "b"
    as_caller(monkeypatch, Principal("ops1", "a", frozenset({"ops"})))
    assert auth_policy.tenant_scope("", "default") == "a"
    with pytest.raises(auth_policy.Hidden):
        auth_policy.tenant_scope("b", "default")
    as_caller(monkeypatch, Principal("haq-service", "default", frozenset({"service"})))
    assert auth_policy.tenant_scope("b", "default") == "b"


def test_agents_see_and_act_within_their_teams_and_name(monkeypatch):
    agent = Principal("reza", "a", frozenset({"agent"}), frozenset({"care"}))
    as_caller(monkeypatch, agent)
    assert auth_policy.can_see("a", "care")
    assert not auth_policy.can_see("a", "billing") and not auth_policy.can_see("b", "care")
    assert auth_policy.may_act_as("reza") and not auth_policy.may_act_as("sara")
    lead = Principal("leila", "a", frozenset({"team_lead"}), frozenset({"care"}))
    as_caller(monkeypatch, lead)
    assert auth_policy.can_see("a", "care") and not auth_policy.can_see("a", "billing")
    assert auth_policy.may_act_as("sara")
    as_caller(monkeypatch, Principal("boss", "a", frozenset({"team_lead"})))  # no teams named
    assert auth_policy.can_see("a", "billing")


def test_rule_sets_belong_to_the_operator_tenant(monkeypatch):
    as_caller(monkeypatch, Principal("root", "default", frozenset({"admin"})))
    assert auth_policy.may_manage_rule_sets("default")
    as_caller(monkeypatch, Principal("root", "b", frozenset({"admin"})))
    assert not auth_policy.may_manage_rule_sets("default")


def test_devrun_writes_a_token_per_role_and_the_cli_finds_the_developer_one(tmp_path, monkeypatch):
    settings = devrun.with_dev_secret(Settings(data_dir=tmp_path / "var"))
    assert settings.auth_secret and devrun.with_dev_secret(settings).auth_secret == settings.auth_secret
    written = tokens.write_dev_tokens(settings)
    assert set(written) == {"integration", "agent", "team_lead", "ops", "admin", "developer"}
    agent = verify_token(settings.auth_secret, tokens.read_token(written["agent"]))
    assert (agent.subject, agent.roles, agent.teams) == ("reza.karimi", {"agent"}, {"general-care"})
    assert written["developer"].stat().st_mode & 0o077 == 0  # owner only

    monkeypatch.delenv(tokens.TOKEN_ENV, raising=False)
    assert tokens.find_token(None, settings) == tokens.read_token(written["developer"])
    monkeypatch.setenv(tokens.TOKEN_ENV, "from-env")
    assert tokens.find_token(None, settings) == "from-env"
    assert tokens.find_token("explicit", settings) == "explicit"
    monkeypatch.delenv(tokens.TOKEN_ENV)
    assert tokens.find_token(None, Settings(data_dir=tmp_path / "elsewhere")) is None

    env = devrun.child_env(settings)
    assert env["HAQ_AUTH_SECRET"] == settings.auth_secret
    assert env["HAQ_DASHBOARD_GRPC_TOKEN"] == tokens.read_token(written["ops"])
    printed = "\n".join(devrun.banner(settings))
    assert str(written["integration"]) in printed and "?token=" + tokens.read_token(written["ops"]) in printed


def test_the_service_token_has_the_service_role_only_when_auth_is_on():
    assert Settings().service_token() is None
    principal = verify_token(SECRET, Settings(auth_secret=SECRET, tenant="t").service_token() or "")
    assert principal.roles == {"service"} and principal.tenant == "t"
    assert "service" in auth.ROLES and mint_token(SECRET, "x", "t", ["service"])
