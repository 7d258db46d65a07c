"""The customer portal: server-rendered pages (Jinja2) on aiohttp, in Persian (right to left) and
English. No passwords: a customer follows a complaint through a one-time link sent to the contact
on record for it, which opens a session scoped to that customer (docs/portal.md).

Every POST carries a form token (double-submit: a random cookie and the same value in a hidden
field, compared in constant time) and, when the browser sends one, an Origin of this site; cookies
are HttpOnly and SameSite=Lax (the link in an email is a cross-site navigation that must arrive
with the cookie it sets). Every complaint page checks that the complaint is the signed-in
customer's; another's reads exactly like one that does not exist.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jdatetime
import jinja2
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, Counter, generate_latest

from services.common.pb.haq.v1 import complaint_pb2
from services.common.portal_links import PortalLinkSettings, check_rating_link
from services.common.proto_values import enum_name, to_datetime

from .adapters.intake import IntakeError
from .domain import links, strings
from .service import Portal, Refused, Signed

HERE = Path(__file__).resolve().parent
SESSION_COOKIE = "haq_portal_session"
CSRF_COOKIE = "haq_portal_csrf"
LANG_COOKIE = "haq_portal_lang"
MAX_FORM = 64 * 1024  # bytes of a posted form
SECTORS = ("general", "healthcare", "education", "b2b")
PORTAL = web.AppKey("portal", Portal)
LINKS = web.AppKey("links", PortalLinkSettings)
TEMPLATES = web.AppKey("templates", jinja2.Environment)
CSRF_TOKEN = web.RequestKey("csrf", str)  # this request's form token (the cookie's value)
log = logging.getLogger(__name__)
PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
PAGES = Counter("haq_portal_requests_total", "Portal requests by route and status", ["route", "status"])


def format_time(value: datetime | None, language: str) -> str:
    if value is None:
        return ""
    local = value.astimezone(UTC).astimezone(_tehran())
    if language == "fa":
        j = jdatetime.datetime.fromgregorian(datetime=local, locale=jdatetime.FA_LOCALE)
        return f"{j.day} {j.strftime('%B')} {j.year}، ساعت {local:%H:%M}".translate(PERSIAN_DIGITS)
    return f"{local.day} {local:%B %Y}, {local:%H:%M}"


def _tehran():
    from zoneinfo import ZoneInfo

    return ZoneInfo("Asia/Tehran")


def _templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


def language(request: web.Request) -> str:
    return strings.choose(request.query.get("lang") or request.cookies.get(LANG_COOKIE))


def csrf_value(request: web.Request) -> str:
    return request.get(CSRF_TOKEN) or request.cookies.get(CSRF_COOKIE) or ""


def render(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    lang = language(request)
    t = strings.words(lang)
    page = request.app[TEMPLATES].get_template(template)
    html = page.render(
        lang=lang, dir="rtl" if lang == "fa" else "ltr", t=t, csrf=csrf_value(request), path=request.path,
        other_lang="en" if lang == "fa" else "fa", when=lambda v: format_time(v, lang),
        num=(lambda v: str(v).translate(PERSIAN_DIGITS)) if lang == "fa" else str, **context,
    )  # fmt: skip
    response = web.Response(text=html, content_type="text/html", charset="utf-8", status=status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"  # a link token never leaves in a Referer
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = "default-src 'self'; frame-ancestors 'none'"
    if request.query.get("lang") in strings.LANGUAGES:
        response.set_cookie(LANG_COOKIE, lang, httponly=True, samesite="Lax", path="/", max_age=365 * 86400)
    return response


@web.middleware
async def csrf_middleware(request: web.Request, handler):  # noqa: ANN001
    token = request.cookies.get(CSRF_COOKIE)
    new = not token or len(token) > 64
    if new:
        token = secrets.token_urlsafe(24)
    request[CSRF_TOKEN] = token
    if request.method == "POST":
        origin = request.headers.get("Origin")
        if origin and origin != "null" and origin.split("://", 1)[-1] != request.host:
            raise web.HTTPForbidden(text="cross-site form refused")
        form = await request.post()
        sent = str(form.get("csrf", ""))
        if new or not hmac.compare_digest(sent.encode(), token.encode()):
            raise web.HTTPForbidden(text="the form has expired: go back, reload the page and send it again")
    response = await handler(request)
    if new:
        response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="Lax", path="/")
    return response


@web.middleware
async def unavailable_middleware(request: web.Request, handler):  # noqa: ANN001
    route = request.match_info.route.resource.canonical if request.match_info.route.resource else "other"
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        PAGES.labels(route, str(exc.status)).inc()
        raise
    except IntakeError as exc:
        log.warning("intake call failed: %s", exc.code)
        response = render(request, "message.html.j2", status=503, message_key="unavailable")
    PAGES.labels(route, str(response.status)).inc()
    return response


async def run(fn, *args: Any) -> Any:  # noqa: ANN001
    return await asyncio.to_thread(fn, *args)


async def signed_in(request: web.Request) -> Signed | None:
    return await run(request.app[PORTAL].signed_in, request.cookies.get(SESSION_COOKIE))


async def require(request: web.Request) -> Signed:
    who = await signed_in(request)
    if who is None:
        raise web.HTTPFound("/?expired=1")
    return who


def form_text(form: Any, name: str, limit: int) -> str:
    value = form.get(name, "")
    value = value if isinstance(value, str) else ""
    if len(value) > limit:
        raise Refused(name, f"at most {limit} characters")
    return value.strip()


# -- pages ---------------------------------------------------------------------------------------


async def home(request: web.Request) -> web.Response:
    return render(request, "home.html.j2", sectors=SECTORS, expired=bool(request.query.get("expired")))


async def submit(request: web.Request) -> web.Response:
    form = await request.post()
    try:
        contact_email = form_text(form, "email", 254)
        contact_phone = form_text(form, "phone", 32)
        sector = form_text(form, "sector", 20)
        draft = complaint_pb2.ComplaintDraft(
            sector=getattr(complaint_pb2, f"SECTOR_{sector.upper()}", complaint_pb2.SECTOR_GENERAL)
            if sector in SECTORS
            else complaint_pb2.SECTOR_GENERAL,
            complainant_role=complaint_pb2.COMPLAINANT_ROLE_PATIENT
            if sector == "healthcare"
            else complaint_pb2.COMPLAINANT_ROLE_CONSUMER,
            customer=complaint_pb2.CustomerIdentifiers(
                email=contact_email, phone=contact_phone, display_name=form_text(form, "name", 200)
            ),
            subject=form_text(form, "subject", 300),
            body=form_text(form, "body", 10_000),
            language=language(request),
            idempotency_key="portal:" + form_text(form, "csrf", 64) + ":" + form_text(form, "nonce", 64),
        )
        result = await run(request.app[PORTAL].submit, draft)
    except Refused as exc:
        return render(
            request, "home.html.j2", status=400, sectors=SECTORS, error=exc.field, values=dict(form)
        )
    except IntakeError as exc:
        if exc.code != "INVALID_ARGUMENT":
            raise
        field = exc.detail.split(":", 1)[0].removeprefix("draft.").split(".")[-1] or "body"
        return render(request, "home.html.j2", status=400, sectors=SECTORS, error=field, values=dict(form))
    return render(request, "submitted.html.j2", reference=result.reference)


async def follow(request: web.Request) -> web.Response:
    form = await request.post()
    try:
        outcome = await run(
            request.app[PORTAL].request_link,
            form_text(form, "reference", links.MAX_REFERENCE),
            form_text(form, "contact", links.MAX_CONTACT),
            request.remote or "",
        )
    except Refused as exc:
        return render(
            request, "home.html.j2", status=400, sectors=SECTORS, error=exc.field, values=dict(form)
        )
    if outcome == "limited":
        return render(request, "message.html.j2", status=429, message_key="rate_limited")
    return render(request, "message.html.j2", message_key="link_sent")


async def open_link(request: web.Request) -> web.Response:
    token = await run(request.app[PORTAL].open_link, request.match_info["token"])
    if token is None:
        return render(request, "message.html.j2", status=410, message_key="link_invalid")
    response = web.HTTPFound("/complaints")
    response.set_cookie(
        SESSION_COOKIE, token, httponly=True, samesite="Lax", path="/",
        max_age=request.app[PORTAL].settings.session_ttl_s,
    )  # fmt: skip
    raise response


async def complaints(request: web.Request) -> web.Response:
    who = await require(request)
    rows = [
        {
            "reference": c.reference,
            "subject": c.subject,
            "status": links.customer_status(enum_name(complaint_pb2.ComplaintStatus, c.status)),
            "received_at": to_datetime(c.received_at),
        }
        for c in sorted(who.complaints, key=lambda c: c.received_at.seconds, reverse=True)
    ]
    return render(request, "complaints.html.j2", complaints=rows, signed=True)


async def complaint(request: web.Request) -> web.Response:
    who = await require(request)
    reference = request.match_info["reference"]
    case = await run(request.app[PORTAL].case_for, who, reference)
    if case is None:
        return render(request, "message.html.j2", status=404, message_key="not_found", signed=True)
    return await _complaint_page(request, case)


async def _complaint_page(request: web.Request, case: Any, status: int = 200, **extra: Any) -> web.Response:
    portal = request.app[PORTAL]
    c = case.complaint
    sector = enum_name(complaint_pb2.Sector, c.sector)
    raw_status = enum_name(complaint_pb2.ComplaintStatus, case.status)
    promise = links.next_promise(links.ClockView(d.clock, d.state, to_datetime(d.due_at)) for d in case.sla)
    messages = await run(portal.public_messages, c.id)
    rating = await run(portal.rating_of, c.id)
    return render(
        request, "complaint.html.j2", status=status, signed=True,
        case={
            "reference": c.reference, "subject": c.subject, "body": c.body, "language": c.language,
            "status": links.customer_status(raw_status), "role": links.owner_role(sector, bool(case.owner)),
            "received_at": to_datetime(c.received_at), "rateable": raw_status in ("resolved", "closed"),
        },
        promise=promise, messages=messages, rating=rating, sent=bool(request.query.get("sent")), **extra,
    )  # fmt: skip


async def reply(request: web.Request) -> web.Response:
    who = await require(request)
    reference = request.match_info["reference"]
    form = await request.post()
    portal = request.app[PORTAL]
    try:
        ok = await run(
            portal.reply, who, reference, form_text(form, "body", 10_000), form_text(form, "nonce", 64)
        )
    except Refused as exc:
        case = await run(portal.case_for, who, reference)
        if case is None:
            return render(request, "message.html.j2", status=404, message_key="not_found", signed=True)
        return await _complaint_page(request, case, status=400, error=exc.field)
    if not ok:
        return render(request, "message.html.j2", status=404, message_key="not_found", signed=True)
    raise web.HTTPFound(f"/complaints/{reference}?sent=1")


async def rate_signed_in(request: web.Request) -> web.Response:
    who = await require(request)
    portal = request.app[PORTAL]
    case = await run(portal.case_for, who, request.match_info["reference"])
    if case is None:
        return render(request, "message.html.j2", status=404, message_key="not_found", signed=True)
    return await _rate(request, case, signed=True)


async def _rate(request: web.Request, case: Any, signed: bool = False) -> web.Response:
    form = await request.post()
    try:
        score = int(str(form.get("rating", "0"))[:2] or 0)
        await run(request.app[PORTAL].rate, case, score, form_text(form, "comment", 2000))
    except (Refused, ValueError) as exc:
        field = exc.field if isinstance(exc, Refused) else "rating"
        return render(request, "rate.html.j2", status=400, error=field, case_ref=case.complaint.reference,
                      action=request.path_qs, score=0, signed=signed, hidden={})  # fmt: skip
    return render(request, "message.html.j2", message_key="rated", signed=signed)


def _link_params(request: web.Request, source: Any) -> tuple[int, str] | None:
    try:
        expires = int(str(source.get("exp", ""))[:12])
    except ValueError:
        return None
    sig = str(source.get("sig", ""))[:64]
    ok = check_rating_link(
        request.match_info["complaint"][:64], expires, sig, datetime.now(UTC), request.app[LINKS].secret()
    )
    return (expires, sig) if ok else None


async def rate_link_form(request: web.Request) -> web.Response:
    params = _link_params(request, request.query)
    if params is None:
        return render(request, "message.html.j2", status=410, message_key="link_invalid")
    case = await run(request.app[PORTAL].case_by_id, request.match_info["complaint"])
    if case is None:
        return render(request, "message.html.j2", status=404, message_key="not_found")
    try:
        score = int(request.query.get("score", "0")[:1] or 0)
    except ValueError:
        score = 0
    rating = await run(request.app[PORTAL].rating_of, case.complaint.id)
    return render(request, "rate.html.j2", case_ref=case.complaint.reference, action=request.path, score=score,
                  rating=rating, hidden={"exp": params[0], "sig": params[1]},
                  rateable=enum_name(complaint_pb2.ComplaintStatus, case.status) in ("resolved", "closed"))  # fmt: skip


async def rate_link_submit(request: web.Request) -> web.Response:
    form = await request.post()
    if _link_params(request, form) is None:
        return render(request, "message.html.j2", status=410, message_key="link_invalid")
    case = await run(request.app[PORTAL].case_by_id, request.match_info["complaint"])
    if case is None:
        return render(request, "message.html.j2", status=404, message_key="not_found")
    return await _rate(request, case)


async def sign_out(request: web.Request) -> web.Response:
    await run(request.app[PORTAL].sign_out, request.cookies.get(SESSION_COOKIE))
    response = web.HTTPFound("/")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


async def metrics(request: web.Request) -> web.Response:
    return web.Response(body=generate_latest(), content_type=CONTENT_TYPE_LATEST.split(";")[0])


def create_app(portal: Portal, link_settings: PortalLinkSettings) -> web.Application:
    app = web.Application(middlewares=[unavailable_middleware, csrf_middleware], client_max_size=MAX_FORM)
    app[PORTAL] = portal
    app[LINKS] = link_settings
    app[TEMPLATES] = _templates()
    app.router.add_get("/", home)
    app.router.add_post("/submit", submit)
    app.router.add_post("/follow", follow)
    app.router.add_get("/link/{token}", open_link)
    app.router.add_get("/complaints", complaints)
    app.router.add_get("/complaints/{reference}", complaint)
    app.router.add_post("/complaints/{reference}/reply", reply)
    app.router.add_post("/complaints/{reference}/rate", rate_signed_in)
    app.router.add_get("/rate/{complaint}", rate_link_form)
    app.router.add_post("/rate/{complaint}", rate_link_submit)
    app.router.add_post("/logout", sign_out)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    app.router.add_static("/static/", HERE / "static")
    return app
