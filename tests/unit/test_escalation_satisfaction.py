"""Escalation's CSAT store: the latest rating of each complaint counts once, per team, sector and
channel, scoped to the caller's tenant and teams (on a real SQLite database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from services.common.codec import new_event
from services.common.db import create_tables, make_engine
from services.common.pb.haq.v1 import complaint_pb2, events_pb2
from services.escalation.adapters import db, satisfaction

T0 = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)


def rated(
    complaint_id: str, rating: int, at: datetime, team: str = "care", channel=complaint_pb2.CHANNEL_WEB
):
    msg = events_pb2.ComplaintRated(
        complaint_id=complaint_id, rating_id=f"r-{complaint_id}-{rating}", rating=rating,
        team=team, sector="healthcare", channel=channel,
    )  # fmt: skip
    msg.rated_at.FromDatetime(at)
    return new_event(msg, source="/haq/portal", subject=complaint_id, time=at)


def test_latest_rating_counts_once_and_figures_are_per_team_sector_channel(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'e.db'}")
    create_tables(engine, satisfaction.MODELS)
    with Session(engine) as s:
        for cid, tenant in (("c1", "default"), ("c2", "default"), ("c3", "default"), ("c4", "other")):
            s.add(db.ComplaintFactsRow(complaint_id=cid, tenant=tenant))
        satisfaction.on_rated(s, rated("c1", 2, T0))
        satisfaction.on_rated(s, rated("c1", 5, T0 + timedelta(minutes=5)))  # changed their mind
        satisfaction.on_rated(s, rated("c1", 1, T0 - timedelta(minutes=5)))  # older, redelivered late
        satisfaction.on_rated(s, rated("c2", 3, T0))
        satisfaction.on_rated(s, rated("c3", 4, T0, channel=complaint_pb2.CHANNEL_EMAIL))
        satisfaction.on_rated(s, rated("c4", 1, T0, team="billing"))
        satisfaction.on_rated(s, rated("c5", 9, T0))  # out of range: ignored
        s.commit()
        everything = satisfaction.csat(s)
        assert everything == [
            ("billing", "healthcare", "web", 1, 1.0, 0.0),
            ("care", "healthcare", "email", 1, 4.0, 1.0),
            ("care", "healthcare", "web", 2, 4.0, 0.5),
        ]
        scoped = satisfaction.csat(s, scope=db.Scope("default", "default", frozenset({"care"})))
        assert [r[:4] for r in scoped] == [
            ("care", "healthcare", "email", 1),
            ("care", "healthcare", "web", 2),
        ]
        assert satisfaction.csat(s, since=T0 + timedelta(minutes=1)) == [
            ("care", "healthcare", "web", 1, 5.0, 1.0)
        ]


def test_a_low_rating_marks_a_reopen_only_when_configured_and_the_timer_settles_it(tmp_path, monkeypatch):
    engine = make_engine(f"sqlite:///{tmp_path / 'e.db'}")
    create_tables(engine, satisfaction.MODELS)
    satisfaction.low_rating_settings.cache_clear()
    with Session(engine) as s:
        satisfaction.on_rated(s, rated("c1", 1, T0))  # the default action alerts the lead: no reopen
        s.commit()
        assert not s.get(satisfaction.RatingRow, "c1").reopen_pending
    monkeypatch.setenv("HAQ_NOTIFY_LOW_RATING_ACTION", "reopen")
    satisfaction.low_rating_settings.cache_clear()
    try:
        with Session(engine) as s:
            satisfaction.on_rated(s, rated("c1", 2, T0 + timedelta(minutes=1)))
            satisfaction.on_rated(s, rated("c2", 3, T0))  # above the threshold
            satisfaction.on_rated(s, rated("c3", 1, T0))
            s.commit()
        calls = []

        def apply(complaint_id, request_id, action, *, kind):
            calls.append((complaint_id, request_id, kind))
            if complaint_id == "c3":
                raise LookupError("complaint c3 has no case in escalation")

        assert satisfaction.reopen_pending(engine, apply) == 2
        assert calls == [("c1", "rating:r-c1-2", "reopen"), ("c3", "rating:r-c3-1", "reopen")]
        with Session(engine) as s:
            rows = {cid: s.get(satisfaction.RatingRow, cid) for cid in ("c1", "c2", "c3")}
            assert [r.reopen_pending for r in rows.values()] == [False, False, False]
            assert rows["c1"].reopen_outcome == "reopened" and rows["c3"].reopen_outcome.startswith(
                "not reopened"
            )
        assert satisfaction.reopen_pending(engine, apply) == 0  # settled: nothing twice
    finally:
        satisfaction.low_rating_settings.cache_clear()
