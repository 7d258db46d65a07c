"""Who may look at the dashboard: staff with a valid token (when HAQ_AUTH_SECRET is set).

A browser signs in once: `/login` takes a token in a small form, or any page takes `?token=` once;
either way the token goes into an HttpOnly cookie and the browser is sent on without it in the URL.
Without a valid staff token, pages redirect to /login and the data endpoints (/events, /api/)
answer 401 with a JSON error. The signed-in principal is kept on the request (PRINCIPAL): every
page, API and the event stream show only what it may see (scope.py, auth_policy).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from services.common.auth import STAFF, AuthError, Principal, mint_token, verify_token
from services.common.settings import Settings

from .settings import DashboardSettings

COOKIE = "haq_dashboard_token"
LOGIN_PATH = "/login"
DATA_PREFIXES = ("/events", "/api/")
PRINCIPAL = web.RequestKey("principal", Principal)  # set by token_check for the request's handler


def staff_principal(secret: str, token: str | None) -> Principal | None:
    if not token:
        return None
    try:
        principal = verify_token(secret, token)
    except AuthError:
        return None
    return principal if principal.has_any(STAFF) else None


def token_check(secret: str) -> Callable[[web.Request], Awaitable[None]]:
    """The dashboard's access check (create_app(access_check=...)) for a deployment with auth on."""

    async def check(request: web.Request) -> None:
        if request.path == LOGIN_PATH:
            return
        offered = request.query.get("token")
        if offered is not None:
            if staff_principal(secret, offered) is None:
                raise web.HTTPFound(f"{LOGIN_PATH}?failed=1")
            # Into the cookie, and out of the address bar (and the browser history).
            query = {k: v for k, v in request.query.items() if k != "token"}
            response = web.HTTPFound(request.rel_url.with_query(query).path_qs)
            set_cookie(response, offered)
            raise response
        principal = staff_principal(secret, request.cookies.get(COOKIE))
        if principal is not None:
            request[PRINCIPAL] = principal
            return
        if request.path.startswith(DATA_PREFIXES):
            raise web.HTTPUnauthorized(
                text='{"error": "a staff token is required: sign in at /login"}',
                content_type="application/json",
            )
        raise web.HTTPFound(LOGIN_PATH)

    return check


def set_cookie(response: web.StreamResponse, token: str) -> None:
    response.set_cookie(COOKIE, token, httponly=True, samesite="Strict", path="/")


LOGIN_FORM = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Haq · sign in</title>
<link rel="stylesheet" href="/static/dashboard.css"></head><body><main class="login">
<h1>Haq ops dashboard</h1>{message}
<form method="post" action="/login"><label>Staff token
<textarea name="token" rows="4" cols="60" required></textarea></label>
<button type="submit">Sign in</button></form>
<p>On the local platform: <code>var/tokens/ops.token</code> (or the login URL <code>make run</code> prints).</p>
</main></body></html>"""


def login_routes(secret: str) -> list[web.RouteDef]:
    async def form(request: web.Request) -> web.Response:
        failed = request.query.get("failed")
        message = '<p class="error">That token is not a valid staff token.</p>' if failed else ""
        return web.Response(text=LOGIN_FORM.format(message=message), content_type="text/html")

    async def submit(request: web.Request) -> web.Response:
        token = str((await request.post()).get("token", "")).strip()
        if staff_principal(secret, token) is None:
            raise web.HTTPFound(f"{LOGIN_PATH}?failed=1")
        response = web.HTTPFound("/")
        set_cookie(response, token)
        raise response

    return [web.get(LOGIN_PATH, form), web.post(LOGIN_PATH, submit)]


def grpc_token(settings: Settings, dashboard: DashboardSettings) -> str:
    """The token the dashboard's own gRPC calls carry: HAQ_DASHBOARD_GRPC_TOKEN, else an ops token
    minted from the shared secret (reads only), else none (auth off)."""
    if dashboard.grpc_token:
        return dashboard.grpc_token
    if settings.auth_secret:
        return mint_token(
            settings.auth_secret, "haq-dashboard", settings.tenant, ["ops"], ttl_s=365 * 24 * 3600
        )
    return ""
