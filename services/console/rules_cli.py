"""`haq rules ...`: commands that talk to the routing service over gRPC."""

from __future__ import annotations

import typer

app = typer.Typer(help="routing commands", no_args_is_help=True)
