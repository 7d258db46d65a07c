"""Which rule set routes one complaint: the tenant's own (active or staged) or the built-in one.

Each tenant has a pointer: its active version ("" while it has applied none: the built-in, the
operator tenant's, routes it) and at most one staged version with the share of traffic it routes.
A complaint is in the stage when its channel is listed (no channels: any) and a stable hash of its
id (CRC-32, the same in every process and every run, unlike Python's `hash`) modulo 100 is below
the percentage. A tenant routed by the built-in is routed by the operator's pointer, stage and all:
a staged built-in version is tried on every tenant the built-in routes."""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from dataclasses import dataclass

from .model import CHANNELS, InvalidData


@dataclass(frozen=True)
class Staging:
    percent: int = 100  # 1..100
    channels: tuple[str, ...] = ()  # empty: every channel

    def describe(self) -> str:
        where = f" of {', '.join(self.channels)}" if self.channels else ""
        return f"{self.percent}%{where}"


def parse_staging(percent: int, channels: Iterable[str]) -> Staging:
    """A request's staging (percent 0 means 100); raises InvalidData naming the field."""
    if percent == 0:
        percent = 100
    if not 1 <= percent <= 100:
        raise InvalidData("staging.percent", "must be between 1 and 100")
    names: list[str] = []
    for i, raw in enumerate(channels):
        name = raw.strip().lower()
        if name not in CHANNELS:
            raise InvalidData(f"staging.channels[{i}]", f"{raw!r} is not one of {', '.join(CHANNELS)}")
        if name not in names:
            names.append(name)
    return Staging(percent, tuple(names))


def bucket(complaint_id: str) -> int:
    """0..99, stable for a complaint id across processes, restarts and machines."""
    return zlib.crc32(complaint_id.encode("utf-8")) % 100


def in_stage(staging: Staging, complaint_id: str, channel: str) -> bool:
    if staging.channels and channel not in staging.channels:
        return False
    return bucket(complaint_id) < staging.percent


@dataclass(frozen=True)
class Pointer:
    """A tenant's routing pointer as stored: active ("" = none of its own) and staged ("" = none)."""

    tenant: str
    active: str = ""
    staged: str = ""
    staging: Staging | None = None


@dataclass(frozen=True)
class Choice:
    tenant: str  # whose rule set: the complaint's tenant's own, or the operator's (built-in)
    version: str
    staged: bool


def choose(own: Pointer | None, built_in: Pointer, complaint_id: str, channel: str) -> Choice:
    """The version routing one complaint of `own.tenant` (None: a tenant with no pointer).
    The tenant's stage first; then its active version; then the built-in's stage and active."""
    for pointer in (own, built_in):
        if pointer is None:
            continue
        if (
            pointer.staged
            and pointer.staging is not None
            and in_stage(pointer.staging, complaint_id, channel)
        ):
            return Choice(pointer.tenant, pointer.staged, True)
        if pointer.active:
            return Choice(pointer.tenant, pointer.active, False)
    raise LookupError("no rule set is active: the built-in has no active version")
