"""`python -m services.portal`: the customer portal (`make run` starts it too)."""

from __future__ import annotations

import logging

from aiohttp import web

from services.common import topics
from services.common.logs import configure_logging
from services.common.outbox import OutboxRelay
from services.common.portal_links import get_link_settings
from services.common.settings import get_settings

from .adapters import db
from .adapters.intake import IntakeClient
from .adapters.replies import ReplyReader
from .app import create_app
from .service import Portal
from .settings import PortalSettings

SVC = "portal"


def main() -> None:
    settings = get_settings()
    portal_settings = PortalSettings()
    links = get_link_settings()
    configure_logging(settings.log_level)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    url = portal_settings.database_url or f"sqlite:///{(settings.data_dir / 'portal.db').resolve()}"
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = db.make_engine(url)
    topics.ensure_topics(settings)
    relay = OutboxRelay(engine, settings, SVC) if settings.outbox_relay_enabled else None
    intake = IntakeClient(settings, portal_settings)
    portal = Portal(
        engine, intake, portal_settings, tenant=settings.tenant, public_url=links.base_url(), relay=relay
    )
    reader = ReplyReader(engine, settings) if portal_settings.read_replies else None
    app = create_app(portal, links)

    async def start(app: web.Application) -> None:
        if relay is not None:
            relay.start()
        if reader is not None:
            reader.start()

    async def stop(app: web.Application) -> None:
        if reader is not None:
            reader.stop()
        if relay is not None:
            relay.stop()
        intake.close()

    app.on_startup.append(start)
    app.on_cleanup.append(stop)
    host = "127.0.0.1" if settings.http_host in ("0.0.0.0", "::") else settings.http_host
    web.run_app(
        app,
        host=settings.http_host,
        port=portal_settings.port,
        shutdown_timeout=3,
        print=lambda _text: print(f"portal on http://{host}:{portal_settings.port}/", flush=True),
    )


if __name__ == "__main__":
    main()
