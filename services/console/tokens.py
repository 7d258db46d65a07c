"""Development tokens for `make run`, and how the `haq` CLI finds its token.

`make run` signs a fresh secret per run (unless HAQ_AUTH_SECRET is set), mints one token per role
and writes each to `<data dir>/tokens/<name>.token`. The CLI takes `--token`, else HAQ_TOKEN, else
`<data dir>/tokens/developer.token` when it exists, so on the local platform every command works
without extra flags.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import grpc

from services.common.auth import authorized_channel, mint_token
from services.common.settings import Settings

TOKEN_ENV = "HAQ_TOKEN"
DEVELOPER = "developer"
DASHBOARD_LOGIN = "ops"  # the token the printed dashboard login URL carries


@dataclass(frozen=True)
class DevToken:
    name: str
    subject: str
    roles: tuple[str, ...]
    teams: tuple[str, ...] = ()
    use: str = ""


# Agents and the team lead of the seeded directory (services/routing/seed/directory.yaml).
DEV_TOKENS = (
    DevToken("integration", "partner/dev-integration", ("integration",), use="submit only: curl /v1/events"),
    DevToken("agent", "reza.karimi", ("agent",), ("general-care",), use="agent reza.karimi of general-care"),
    DevToken("team_lead", "leila.ahmadi", ("team_lead",), ("general-care",), use="lead of general-care"),
    DevToken("ops", "dev-ops", ("ops",), use="reads the whole tenant; the dashboard"),
    DevToken("admin", "dev-admin", ("admin",), use="administers the tenant: rule sets, agents"),
    DevToken(DEVELOPER, "developer", ("agent", "team_lead", "ops", "admin"), use="the haq CLI's default"),
)


def tokens_dir(settings: Settings) -> Path:
    return settings.data_dir.resolve() / "tokens"


def write_dev_tokens(settings: Settings) -> dict[str, Path]:
    """Mint every development token with settings.auth_secret; the files are readable by the owner only."""
    folder = tokens_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for spec in DEV_TOKENS:
        token = mint_token(settings.auth_secret, spec.subject, settings.tenant, spec.roles, spec.teams)
        path = folder / f"{spec.name}.token"
        path.write_text(token + "\n")
        path.chmod(0o600)
        written[spec.name] = path
    return written


def read_token(path: Path) -> str:
    return path.read_text().strip()


_explicit: str | None = None  # `haq --token`, set once by the CLI's callback


def use_token(token: str | None) -> None:
    global _explicit
    _explicit = token


def cli_channel(target: str) -> grpc.Channel:
    """A channel for one CLI command, carrying the CLI's token when it has one."""
    from services.common.settings import get_settings

    return authorized_channel(target, find_token(_explicit, get_settings()))


def find_token(explicit: str | None, settings: Settings) -> str | None:
    """The CLI's token: --token, else HAQ_TOKEN, else the local platform's developer token."""
    if explicit:
        return explicit.strip()
    from_env = os.environ.get(TOKEN_ENV, "").strip()
    if from_env:
        return from_env
    developer = tokens_dir(settings) / f"{DEVELOPER}.token"
    if developer.is_file():
        return read_token(developer)
    return None
