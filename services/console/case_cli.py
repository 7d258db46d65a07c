"""`haq case ...`: commands that talk to the escalation service over gRPC."""

from __future__ import annotations

import typer

app = typer.Typer(help="escalation commands", no_args_is_help=True)
