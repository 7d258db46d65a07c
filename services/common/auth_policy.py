"""Who may call what: the one policy every gRPC server enforces, and the scoping helpers handlers use.

Roles (tokens carry one or more):
- integration: submits complaints and follow-ups (gRPC and the HTTP CloudEvents endpoint); nothing else.
- agent: acts on and reads the complaints of the teams in their token; acts only as themselves.
- team_lead: like an agent, for their teams (the whole tenant when the token names no team), and
  may act for their agents and set their capacity.
- ops: reads everything in their tenant (case files, clocks, queues, rule sets, deliveries) and
  retries deliveries; changes no case.
- admin: everything in their tenant, its rule sets included (apply, stage, promote, cancel, rollback).
  Rule sets are per tenant; the operator tenant's (HAQ_TENANT) are the built-in ones routing every
  tenant without its own, so only an operator admin changes them (`tenant_scope` keeps every other
  admin to their own tenant).
- service: internal, minted by a Haq process from the shared secret to call another one
  (escalation and notifications read routing's directory; escalation asks the response guard).
  A service token may name any tenant in a request, since one process serves every tenant.

A method missing from POLICY is admin-only (secure default). Admins pass every method.

Tenant scoping: another tenant's resource is NOT_FOUND, never PERMISSION_DENIED, so a caller
cannot learn that it exists. The same holds for a complaint outside an agent's teams (a complaint
is personal data: its existence is secret). PERMISSION_DENIED is kept for what is not secret:
a role the method does not admit, an agent acting in another agent's name, an agent explaining
a complaint under another rule set. Another tenant's rule sets and audit are NOT_FOUND.
"""

from __future__ import annotations

from collections.abc import Iterable

from .auth import Principal, current_principal

ADMIN_ONLY = frozenset({"admin"})
SUBMITTERS = ("integration", "agent", "team_lead")
READERS = ("agent", "team_lead", "ops")
ACTORS = ("agent", "team_lead")


def _grant(service: str, methods: Iterable[str], roles: Iterable[str]) -> dict[str, frozenset[str]]:
    allowed = frozenset({*roles, "admin"})
    return {f"/haq.v1.{service}/{method}": allowed for method in methods}


POLICY: dict[str, frozenset[str]] = {
    **_grant("IntakeService", ("SubmitComplaint", "AddFollowUp"), SUBMITTERS),
    **_grant("IntakeService", ("GetComplaint", "ListCustomerComplaints"), READERS),
    **_grant("RoutingAdmin", ("ListTeams",), (*READERS, "service")),
    **_grant("RoutingAdmin", ("GetDecision", "ExplainComplaint"), READERS),
    **_grant(
        "RoutingAdmin",
        (
            "ValidateRuleSet",
            "ListRuleSetVersions",
            "GetRuleSet",
            "DiffRuleSets",
            "SimulateRuleSet",
            "ListAudit",
            "ExportAudit",
        ),
        ("ops",),
    ),
    # ApplyRuleSet, RollbackRuleSet, PromoteRuleSet, CancelStagedRuleSet, UpsertAgent, UpsertTeam,
    # UpsertAccount: admin only (the default).
    **_grant("RoutingAdmin", ("ListAccounts",), ("ops",)),
    **_grant("RoutingAdmin", ("SetPresence",), ACTORS),
    **_grant("RoutingAdmin", ("CorrectTriage",), ACTORS),  # of their teams' complaints
    **_grant("RoutingAdmin", ("ListCorrections",), READERS),
    **_grant("RoutingAdmin", ("SetCapacity",), ("team_lead",)),
    **_grant("SlaService", ("GetClocks", "ListAtRisk", "ListBreached", "GetCompliance"), READERS),
    **_grant(
        "CaseService",
        (
            "Accept",
            "Decline",
            "Respond",
            "AddNote",
            "RequestInfo",
            "RequestTransfer",
            "AcceptTransfer",
            "DeclineTransfer",
            "Resolve",
            "Reopen",
        ),
        ACTORS,
    ),
    **_grant("CaseService", ("ListQueue",), READERS),
    **_grant("NotificationAdmin", ("ListDeliveries", "PreviewTemplate"), READERS),
    **_grant("NotificationAdmin", ("CheckResponse",), (*ACTORS, "service")),
    **_grant("NotificationAdmin", ("RetryDelivery",), ("ops",)),
}


def allowed_roles(method: str) -> frozenset[str]:
    return POLICY.get(method, ADMIN_ONLY)


class Hidden(LookupError):
    """The resource belongs to another tenant (or outside the caller's teams): answer NOT_FOUND."""


class Forbidden(PermissionError):
    """Not allowed, and nothing secret about it: answer PERMISSION_DENIED."""


def _caller() -> Principal | None:
    return current_principal()


def tenant_scope(requested: str, default: str) -> str:
    """The tenant a request works in. Without auth: the requested one or the default. With auth:
    the caller's own tenant; naming another one is Hidden. Service tokens may name any tenant."""
    requested = requested.strip()
    principal = _caller()
    if principal is None:
        return requested or default
    if "service" in principal.roles:
        return requested or principal.tenant
    if requested and requested != principal.tenant:
        raise Hidden(f"tenant {requested!r}")
    return principal.tenant


def can_see(tenant: str, team: str) -> bool:
    """May the caller see a resource of `tenant` handled by `team` ("" = not routed yet)?"""
    principal = _caller()
    if principal is None or "service" in principal.roles:
        return True
    return tenant == principal.tenant and principal.sees_team(team)


def check_visible(tenant: str, team: str, what: str) -> None:
    if not can_see(tenant, team):
        raise Hidden(what)


def may_act_as(agent: str) -> bool:
    """Agents act in their own name only; team leads and admins may act for others."""
    principal = _caller()
    if principal is None or principal.roles & {"team_lead", "admin"}:
        return True
    return agent.strip() == principal.subject


def may_read_rule_sets() -> bool:
    """Reading rule sets (e.g. explaining a complaint under another version): ops and admins of
    the tenant, services; not agents or team leads."""
    principal = _caller()
    return principal is None or bool(principal.roles & {"ops", "admin", "service"})


def may_manage_rule_sets(operator_tenant: str) -> bool:
    """May the caller change the built-in rule sets (the operator tenant's, routing every tenant
    without its own)? Only the operator tenant's staff; every tenant manages its own."""
    principal = _caller()
    return principal is None or principal.tenant == operator_tenant
