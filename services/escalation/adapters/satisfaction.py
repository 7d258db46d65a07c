"""Customer satisfaction after resolution: each complaint's latest rating (ComplaintRated), and
the CSAT figures SlaService.GetCompliance reports per team, sector and channel.

Kept beside the clock tables rather than in them: a rating changes no clock, and a customer may
rate again (the portal lets them change their mind) -- the later rating replaces the earlier one,
so every complaint counts once. An event older than the stored rating (redelivered out of order)
changes nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, func
from sqlalchemy import case as when
from sqlmodel import Field, Session, SQLModel, col, select

from services.common.codec import Envelope
from services.common.db import as_utc, utcnow
from services.common.pb.haq.v1 import complaint_pb2
from services.common.proto_values import enum_name, to_datetime

from . import db

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
    session.add(row)


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
