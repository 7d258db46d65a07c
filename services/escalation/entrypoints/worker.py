"""The escalation worker: runs what `bootstrap.build()` wires (see docs/ARCHITECTURE.md)."""

from __future__ import annotations

from services.common.runtime import run_worker
from services.common.settings import get_settings

from ..bootstrap import build


def main() -> None:
    settings = get_settings()
    app, runtime = build(settings)
    run_worker(app, settings, runtime)
