"""Customer satisfaction after resolution: each complaint's latest rating (ComplaintRated), and
the CSAT figures SlaService.GetCompliance reports per team, sector and channel.

Kept beside the clock tables rather than in them: a rating changes no clock, and a customer may
rate again (the portal lets them change their mind) -- the later rating replaces the earlier one,
so every complaint counts once. An event older than the stored rating (redelivered out of order)
changes nothing.

A low rating can reopen the complaint (HAQ_NOTIFY_LOW_RATING_ACTION=reopen, the same setting that
makes notifications alert the team lead instead): the handler only marks the rating
`reopen_pending` in the consumer's transaction; the worker's timer then takes escalation's own
reopen path (CaseActions.apply with the domain's `reopen`, request id "rating:<rating id>", so a
retry reopens once) outside any consumer transaction, and clears the mark with the outcome.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from typing import Any

from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import DateTime, func
from sqlalchemy import case as when
from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, col, select

from services.common.codec import Envelope
from services.common.db import as_utc, utcnow
from services.common.pb.haq.v1 import complaint_pb2
from services.common.proto_values import enum_name, to_datetime

from ..domain import CaseError, reopen
from . import db

log = logging.getLogger(__name__)

_TS = DateTime(timezone=True)
MIN_RATING, MAX_RATING = 1, 5
SATISFIED = 4  # a rating of 4 or 5 counts as satisfied (the usual CSAT share)


class RatingRow(SQLModel, table=True):
    __tablename__ = "escalation_ratings"
    complaint_id: str = Field(primary_key=True)
    rating_id: str = ""
    rating: int = 0
    team: str = Field(default="", index=True)
    sector: str = ""
    channel: str = ""
    rated_at: datetime = Field(sa_type=_TS, index=True)
    updated_at: datetime = Field(sa_type=_TS)
    reopen_pending: bool = Field(default=False, index=True)  # a low rating waiting to reopen the case
    reopen_outcome: str = ""  # "reopened", or why not (not resolved any more, no case)


class LowRatingSettings(BaseSettings):
    """The one low-rating setting notifications reads too (services/notifications/settings.py)."""

    model_config = SettingsConfigDict(env_prefix="HAQ_NOTIFY_", extra="ignore")
    low_rating_action: str = "alert_lead"  # alert_lead | reopen | none
    low_rating_threshold: int = 2

    def reopens(self, rating: int) -> bool:
        return self.low_rating_action == "reopen" and MIN_RATING <= rating <= self.low_rating_threshold


@lru_cache
def low_rating_settings() -> LowRatingSettings:
    return LowRatingSettings()


# Every table of escalation's database (the migrations compare against this list).
MODELS = [*db.MODELS, RatingRow]


def on_rated(session: Session, envelope: Envelope) -> None:
    """Record a ComplaintRated: the latest rating per complaint. A rating outside 1..5 is ignored
    (the portal never sends one; a bad producer must not skew the figures)."""
    msg: Any = envelope.message
    complaint_id = msg.complaint_id or envelope.subject
    if not complaint_id or not MIN_RATING <= msg.rating <= MAX_RATING:
        return
    rated_at = to_datetime(msg.rated_at) or envelope.time
    row = session.get(RatingRow, complaint_id)
    if row is not None and as_utc(row.rated_at) > as_utc(rated_at):
        return
    case = session.get(db.CaseRow, complaint_id)
    team = msg.team or (case.team if case is not None else "")
    sector = msg.sector or (case.sector if case is not None else "")
    if row is None:
        row = RatingRow(complaint_id=complaint_id, rated_at=rated_at, updated_at=utcnow())
    row.rating_id, row.rating, row.rated_at, row.updated_at = msg.rating_id, msg.rating, rated_at, utcnow()
    row.team, row.sector = team[:200], sector[:100]
    row.channel = enum_name(complaint_pb2.Channel, msg.channel)
    row.reopen_pending = low_rating_settings().reopens(msg.rating)
    row.reopen_outcome = ""
    session.add(row)


REOPENED_BY = "customer-rating"


def reopen_pending(engine: Engine, apply: Callable[..., Any], limit: int = 50) -> int:
    """Reopen the complaints whose latest rating asked for it, through `apply` (CaseActions.apply).
    Returns how many were settled; a transient failure leaves the mark for the next tick."""
    with Session(engine) as session:
        rows = session.exec(select(RatingRow).where(col(RatingRow.reopen_pending)).limit(limit)).all()
        pending = [(r.complaint_id, r.rating_id, r.rating) for r in rows]
    settled = 0
    for complaint_id, rating_id, rating in pending:
        reason = f"the customer rated the resolution {rating}/5"
        try:
            apply(
                complaint_id,
                f"rating:{rating_id}",
                lambda case, now, reason=reason: reopen(case, REOPENED_BY, reason, now),
                kind="reopen",
            )
            outcome = "reopened"
        except (CaseError, LookupError) as exc:  # not resolved any more, or no case here
            outcome = f"not reopened: {exc}"[:300]
        with Session(engine) as session:
            row = session.get(RatingRow, complaint_id)
            if row is not None and row.rating_id == rating_id:  # a newer rating decides for itself
                row.reopen_pending, row.reopen_outcome = False, outcome
                session.add(row)
                session.commit()
        log.info("low rating of %s: %s", complaint_id, outcome)
        settled += 1
    return settled


def csat(
    session: Session, since: datetime | None = None, scope: db.Scope | None = None
) -> list[tuple[str, str, str, int, float, float]]:
    """(team, sector, channel, ratings, mean, satisfied share) over the latest ratings."""
    query = select(
        RatingRow.team,
        RatingRow.sector,
        RatingRow.channel,
        func.count(),
        func.sum(RatingRow.rating),
        func.sum(when((col(RatingRow.rating) >= SATISFIED, 1), else_=0)),
    )
    if since is not None:
        query = query.where(col(RatingRow.rated_at) >= since)
    if scope is not None:
        in_tenant = select(db.ComplaintFactsRow.complaint_id).where(
            col(db.ComplaintFactsRow.tenant).in_(scope.tenants())
        )
        query = query.where(col(RatingRow.complaint_id).in_(in_tenant))
        if scope.teams is not None:
            query = query.where(col(RatingRow.team).in_(sorted(scope.teams)))
    query = query.group_by(RatingRow.team, RatingRow.sector, RatingRow.channel).order_by(
        RatingRow.team, RatingRow.sector, RatingRow.channel
    )
    out = []
    for team, sector, channel, n, total, satisfied in session.exec(query).all():
        n = int(n or 0)
        if n:
            out.append((team, sector, channel, n, round(int(total) / n, 3), round(int(satisfied) / n, 4)))
    return out
