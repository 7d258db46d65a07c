"""`python -m services.console.dashboard`: the ops dashboard alone (`make run` starts it too)."""

from __future__ import annotations

import logging

from aiohttp import web

from services.common.logs import configure_logging
from services.common.settings import get_settings

from .app import create_app
from .settings import DashboardSettings


def main() -> None:
    settings = get_settings()
    dashboard = DashboardSettings()
    configure_logging(settings.log_level)
    # aiohttp logs each request at INFO, and a long-lived event stream is one request: keep it quiet.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    app = create_app(settings, dashboard)
    url = dashboard.url(settings.http_host)
    web.run_app(
        app,
        host=settings.http_host,
        port=dashboard.port,
        shutdown_timeout=3,  # open event streams are ended on shutdown; do not wait 60 s for them
        print=lambda _text: print(f"dashboard on {url}", flush=True),
    )


if __name__ == "__main__":
    main()
