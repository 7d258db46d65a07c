"""The ops dashboard: server-rendered pages (Jinja2) on aiohttp, live by server-sent events.

Pages: / (live flow), /sla (at-risk and breached clocks), /queues (teams, duty owners, load),
/charts, /complaints/{id or reference} (the case file). JSON: /api/summary, /api/csat (customer
ratings per team, sector and channel, from escalation's GetCompliance); the event stream:
/events. Every page and endpoint except /healthz, /static and /login passes `access_check`: with
HAQ_AUTH_SECRET set, a staff token (access.py); without it, everyone on the listen address may look.

Scoping: with a signed-in principal, every page, /api/summary and /events show only its tenant's
complaints (and, for agents and team leads whose token names teams, those teams' ones), decided by
services.common.auth_policy (scope.py). A case file of another tenant or team answers 404 exactly
like an unknown complaint. Without auth there is no principal and everything is shown.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from services.common.auth_policy import Hidden, can_see, check_visible, tenant_scope
from services.common.settings import Settings

from .. import enums
from ..flow import STAGES, FlowEvent, FlowState, iso
from ..views import case_file_to_dict
from . import scope
from .access import PRINCIPAL, login_routes, token_check
from .feed import LifecycleFeed
from .gateway import Gateway, GatewayError
from .settings import DashboardSettings

HERE = Path(__file__).resolve().parent
HEARTBEAT_S = 15.0  # an SSE comment this often keeps proxies from closing an idle stream
RECENT_ROWS = 60
# Timeline entries that change who owns the complaint: its owner history.
OWNERSHIP_EVENTS = (
    "ComplaintRouted",
    "OwnerAssigned",
    "OwnerAccepted",
    "OwnerDeclined",
    "OwnerReplaced",
    "TransferRequested",
    "TransferAccepted",
    "TransferDeclined",
    "Escalated",
    "Resolved",
    "Reopened",
)
# Persian and Arabic script: such text is laid out right to left.
RTL_LANGUAGES = ("fa", "ar", "ur", "ps", "ckb", "he")

FEED = web.AppKey("feed", LifecycleFeed)
SETTINGS = web.AppKey("settings", Settings)
GATEWAY = web.AppKey("gateway", Gateway)
TEMPLATES = web.AppKey("templates", jinja2.Environment)
ACCESS_CHECK = web.AppKey("access_check", Callable[[web.Request], Awaitable[None]])
PUBLIC_PREFIXES = ("/healthz", "/static/")


async def allow_everyone(request: web.Request) -> None:
    """The access check until tokens exist: raise web.HTTPUnauthorized / HTTPForbidden to refuse."""


@web.middleware
async def access_middleware(request: web.Request, handler):  # noqa: ANN001
    if not request.path.startswith(PUBLIC_PREFIXES):
        await request.app[ACCESS_CHECK](request)
    # The policy's helpers (tenant_scope, can_see) read the caller from this, as in a gRPC handler.
    with scope.acting_as(request.get(PRINCIPAL)):
        return await handler(request)


def text_direction(language: str) -> str:
    """ "rtl" for right-to-left languages, else "auto" (the browser decides from the first strong letter)."""
    return "rtl" if language.split("-")[0].lower() in RTL_LANGUAGES else "auto"


def _templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["direction"] = text_direction
    env.filters["duration"] = format_duration
    env.globals["STAGES"] = STAGES
    return env


def format_duration(seconds: float | None) -> str:
    """1h 05m, 4m 09s, or "-"; negative durations read as overdue by the caller."""
    if seconds is None:
        return "-"
    span = int(abs(seconds))
    days, rest = divmod(span, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {secs:02d}s"


def render(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    page = request.app[TEMPLATES].get_template(template)
    feed = request.app[FEED]
    html = page.render(path=request.path, feed_error=feed.error, caught_up=feed.caught_up.is_set(), **context)
    return web.Response(text=html, content_type="text/html", charset="utf-8", status=status)


# -- pages ---------------------------------------------------------------------------------------


async def flow_page(request: web.Request) -> web.Response:
    feed = request.app[FEED]
    now = datetime.now(UTC)

    def read(state: FlowState) -> dict[str, Any]:
        include = scope.facts_filter(state)
        rows = scope.visible_rows(state, list(state.recent))[-RECENT_ROWS:]
        return {
            "rows": [r.to_dict() for r in reversed(rows)],
            "stages": state.stage_counts(include),
            "at_risk": len(state.at_risk(now, include=include)),
            "breached": len(state.breached(now, include=include)),
            "complaints": sum(1 for f in state.facts.values() if include is None or include(f)),
            "last_seq": state.seq,
        }

    return render(request, "flow.html.j2", title="Live flow", **feed.read(read))


async def sla_page(request: web.Request) -> web.Response:
    now = datetime.now(UTC)
    data = request.app[FEED].read(
        lambda s: {
            "at_risk": [v.to_dict() for v in s.at_risk(now, include=scope.facts_filter(s))],
            "breached": [v.to_dict() for v in s.breached(now, include=scope.facts_filter(s))],
        }
    )
    return render(request, "sla.html.j2", title="SLA", now=iso(now), **data)


async def queues_page(request: web.Request) -> web.Response:
    open_by_team = request.app[FEED].read(scope.open_by_team)
    tenant = tenant_scope("", request.app[SETTINGS].tenant)  # the principal's (auth off: the operator's)
    error = None
    teams: list[dict[str, Any]] = []
    try:
        for team in await request.app[GATEWAY].teams(tenant):
            if not can_see(tenant, team.id):  # an agent's or team lead's own teams only
                continue
            agents = sorted(team.agents, key=lambda a: (not a.is_lead, a.name or a.id))
            teams.append(
                {
                    "id": team.id,
                    "name": team.name or team.id,
                    "duty_owner": team.duty_owner,
                    "lead": team.lead,
                    "queued": team.queued,
                    "strategy": team.strategy,
                    "time_zone": team.time_zone,
                    "open": open_by_team.get(team.id, 0),
                    "online": sum(1 for a in agents if a.presence == "online"),
                    "open_assignments": sum(a.open_assignments for a in agents),
                    "capacity": sum(a.capacity for a in agents),
                    "agents": [
                        {
                            "id": a.id,
                            "name": a.name or a.id,
                            "presence": a.presence or "unknown",
                            "open": a.open_assignments,
                            "capacity": a.capacity,
                            "is_lead": a.is_lead,
                            "is_duty_owner": a.id == team.duty_owner,
                            "languages": list(a.languages),
                        }
                        for a in agents
                    ],
                }
            )
    except GatewayError as exc:
        error = str(exc)
    return render(request, "queues.html.j2", title="Queues", teams=teams, error=error)


async def charts_page(request: web.Request) -> web.Response:
    return render(request, "charts.html.j2", title="Charts")


async def complaint_search(request: web.Request) -> web.Response:
    query = request.query.get("q", "").strip()
    if not query:
        raise web.HTTPFound("/")
    raise web.HTTPFound(f"/complaints/{query}")


async def complaint_page(request: web.Request) -> web.Response:
    key = request.match_info["complaint"]
    unknown = GatewayError("intake", "NOT_FOUND", f"complaint {key!r} not found")
    try:
        # The gateway calls intake with the dashboard's own token: ask in the principal's tenant,
        # and check what comes back against the principal before showing any of it.
        tenant = tenant_scope("", request.app[SETTINGS].tenant)
        case_file = await request.app[GATEWAY].case_file(key, tenant)
        check_visible(case_file.complaint.tenant, case_file.team, key)
    except Hidden:
        # Another tenant's or team's complaint reads exactly like an unknown one.
        return render(request, "error.html.j2", status=404, title="Complaint", error=str(unknown), key=key)
    except GatewayError as exc:
        if exc.code == "NOT_FOUND":
            exc = unknown  # one wording, whatever intake said, so nothing tells the two apart
        status = 404 if exc.code == "NOT_FOUND" else 502
        return render(request, "error.html.j2", status=status, title="Complaint", error=str(exc), key=key)
    case = case_file_to_dict(case_file)
    now = datetime.now(UTC)
    for clock in case["sla"]:
        due = clock["due_at"]
        clock["remaining_s"] = (
            (datetime.fromisoformat(due.replace("Z", "+00:00")) - now).total_seconds() if due else None
        )
    owner_history = [t for t in case["timeline"] if t["type"] in OWNERSHIP_EVENTS]
    return render(
        request,
        "complaint.html.j2",
        title=case["reference"],
        case=case,
        owner_history=owner_history,
        direction=text_direction(case["language"] or ""),
        priority_label=enums.to_name(enums.PRIORITY, case_file.priority),
    )


# -- data ----------------------------------------------------------------------------------------


async def summary_api(request: web.Request) -> web.Response:
    return web.json_response(request.app[FEED].snapshot(), dumps=lambda d: json.dumps(d, ensure_ascii=False))


async def csat_api(request: web.Request) -> web.Response:
    """CSAT rows from escalation's GetCompliance, kept to what the user may see: the dashboard's
    token reads its own tenant, so a user of another tenant gets none, an agent their teams' rows."""
    settings = request.app[SETTINGS]
    if tenant_scope("", settings.tenant) != settings.tenant:
        return web.json_response({"rows": []})
    try:
        rows = await request.app[GATEWAY].csat()
    except GatewayError as exc:
        return web.json_response({"rows": [], "error": str(exc)})
    return web.json_response(
        {
            "rows": [
                {
                    "team": r.team, "sector": r.sector, "channel": r.channel, "ratings": r.ratings,
                    "mean": r.mean, "satisfied_share": r.satisfied_share,
                }
                for r in rows
                if can_see(settings.tenant, r.team)
            ]
        }
    )  # fmt: skip


async def healthz(request: web.Request) -> web.Response:
    feed = request.app[FEED]
    return web.json_response(
        {"ok": feed.error is None, "caught_up": feed.caught_up.is_set(), "error": feed.error}
    )


def sse_message(row: FlowEvent) -> bytes:
    data = json.dumps(row.to_dict(), ensure_ascii=False)
    return f"id: {row.seq}\nevent: flow\ndata: {data}\n\n".encode()


async def events(request: web.Request) -> web.StreamResponse:
    """Server-sent events: one `flow` event per lifecycle event. A reconnecting browser sends
    Last-Event-ID and gets what it missed from the recent-events ring first."""
    feed = request.app[FEED]
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )
    await response.prepare(request)
    queue = feed.subscribe()
    try:
        last = request.headers.get("Last-Event-ID", request.query.get("after", ""))
        if last.isdigit():
            missed = feed.read(lambda s: scope.visible_rows(s, [r for r in s.recent if r.seq > int(last)]))
            for row in missed:
                await response.write(sse_message(row))
        await response.write(b"retry: 2000\n: connected\n\n")
        sent = int(last) if last.isdigit() else 0
        while feed.is_subscribed(queue) or not queue.empty():
            try:
                row = await asyncio.wait_for(queue.get(), HEARTBEAT_S)
            except TimeoutError:
                await response.write(b": heartbeat\n\n")
                continue
            if row is None:
                break
            if row.seq > sent and feed.shows(row):
                await response.write(sse_message(row))
                sent = row.seq
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        feed.unsubscribe(queue)
    return response


# -- the application -----------------------------------------------------------------------------


def create_app(
    settings: Settings,
    dashboard: DashboardSettings,
    access_check: Callable[[web.Request], Awaitable[None]] | None = None,
) -> web.Application:
    if access_check is None:
        access_check = token_check(settings.auth_secret) if settings.auth_secret else allow_everyone
    app = web.Application(middlewares=[access_middleware])
    app[TEMPLATES] = _templates()
    app[SETTINGS] = settings
    app[ACCESS_CHECK] = access_check
    app[FEED] = LifecycleFeed(settings, replay=dashboard.replay)

    async def start_feed(app: web.Application) -> None:
        app[GATEWAY] = Gateway(settings, dashboard)
        app[FEED].start(asyncio.get_running_loop())

    async def stop_feed(app: web.Application) -> None:
        await asyncio.get_running_loop().run_in_executor(None, app[FEED].stop)
        await app[GATEWAY].close()

    async def end_streams(app: web.Application) -> None:
        app[FEED].end_streams()

    app.on_startup.append(start_feed)
    app.on_shutdown.append(end_streams)
    app.on_cleanup.append(stop_feed)
    app.router.add_get("/", flow_page)
    app.router.add_get("/sla", sla_page)
    app.router.add_get("/queues", queues_page)
    app.router.add_get("/charts", charts_page)
    app.router.add_get("/complaints", complaint_search)
    app.router.add_get("/complaints/{complaint}", complaint_page)
    app.router.add_get("/api/summary", summary_api)
    app.router.add_get("/api/csat", csat_api)
    app.router.add_get("/events", events)
    app.router.add_get("/healthz", healthz)
    app.router.add_static("/static/", HERE / "static")
    if settings.auth_secret:
        app.router.add_routes(login_routes(settings.auth_secret))
    return app
