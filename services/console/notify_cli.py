"""`haq notify ...`: commands that talk to the notifications service over gRPC."""

from __future__ import annotations

import typer

app = typer.Typer(help="notifications commands", no_args_is_help=True)
