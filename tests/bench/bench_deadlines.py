"""1,000,000 pending deadlines on SQLite: memory, firing lateness p50/p99, recovery after restart.

The deadline index is `escalation_cases.next_due_at` (B-tree). The firer asks it every tick for
what is due (`due_cases`, earliest first, bounded batch) and applies each case in its own
transaction through the real DeadlineFirer, so the in-memory state is one batch, not the
million. Figures are printed, never asserted.
"""

from __future__ import annotations

import os
import resource
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import Session

from services.common.db import create_tables, make_engine
from services.escalation.adapters.db import MODELS, next_deadlines
from services.escalation.domain import SystemClock
from services.escalation.service_layer.deadlines import DeadlineFirer

PENDING = int(os.environ.get("HAQ_BENCH_DEADLINES", "1000000"))
DUE_DURING_RUN = 1000
RUN_WINDOW_S = 10.0
TICK_S = 0.25  # settings.deadline_tick_s
_FMT = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores DateTime on SQLite


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _insert(engine, rows) -> None:
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.executemany(
            "INSERT INTO escalation_cases (complaint_id, owner, offered_to, team, status, priority, policy, sector,"
            " owner_is_duty_lead, offered_at, accept_by, received_at, received_at_known, opened_by_event,"
            " state_json, next_due_at, version, updated_at)"
            " VALUES (?, 'agent', '', 'team', 'owned', 'normal', 'default', '', 0, ?, ?, ?, 1, '', '{}', ?, 0, ?)",
            rows,
        )
        raw.commit()
    finally:
        raw.close()


def run() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "escalation.db"
        engine = make_engine(f"sqlite:///{path}")
        create_tables(engine, MODELS)
        start = datetime.now(UTC)
        base = start.strftime(_FMT)
        started = time.perf_counter()
        chunk: list[tuple] = []
        for i in range(DUE_DURING_RUN, PENDING):  # spread over the next 30 days
            due = start + timedelta(seconds=600 + (i * 2_592_000) // PENDING)
            chunk.append((f"c-{i:07d}", base, base, base, due.strftime(_FMT), base))
            if len(chunk) == 100_000:
                _insert(engine, chunk)
                chunk.clear()
        if chunk:
            _insert(engine, chunk)
        # Then the ones that fall due while we watch, spread over the window from now on.
        now = datetime.now(UTC)
        _insert(
            engine,
            [
                (
                    f"c-{i:07d}",
                    base,
                    base,
                    base,
                    (now + timedelta(seconds=2 + RUN_WINDOW_S * i / DUE_DURING_RUN)).strftime(_FMT),
                    base,
                )
                for i in range(DUE_DURING_RUN)
            ],
        )
        load_s = time.perf_counter() - started
        size_mb = path.stat().st_size / 1e6
        print(f"   pending deadlines: {PENDING:,} (loaded in {load_s:.1f} s, database {size_mb:.0f} MB)")

        # Lateness: the real firer on the real index, ticking as the worker does.
        clock = SystemClock()
        firer = DeadlineFirer(engine, clock, batch=500)
        lateness: list[float] = []
        original = firer._fire

        def timed(cid: str, due_at: datetime) -> bool:
            lateness.append((clock.now() - due_at).total_seconds())
            return original(cid, due_at)

        firer._fire = timed  # type: ignore[method-assign]
        until = time.monotonic() + RUN_WINDOW_S + 3
        while time.monotonic() < until and len(lateness) < DUE_DURING_RUN:
            tick_started = time.monotonic()
            firer.fire_due()
            time.sleep(max(0.0, TICK_S - (time.monotonic() - tick_started)))
        lateness.sort()
        p50 = statistics.median(lateness)
        p99 = lateness[int(len(lateness) * 0.99) - 1]
        print(
            f"   fired {len(lateness):,} of {DUE_DURING_RUN:,} due during the run; lateness p50 {p50 * 1000:.0f} ms, "
            f"p99 {p99 * 1000:.0f} ms, max {lateness[-1] * 1000:.0f} ms (tick {TICK_S * 1000:.0f} ms)"
        )
        print(f"   process memory (max RSS): {_rss_mb():.0f} MB")
        engine.dispose()

        # Recovery: a fresh engine (a restarted process) finds the next deadlines from the index.
        started = time.perf_counter()
        engine = make_engine(f"sqlite:///{path}")
        create_tables(engine, MODELS)
        with Session(engine) as session:
            window = next_deadlines(session, 1000)
        recovery_s = time.perf_counter() - started
        print(
            f"   recovery after restart: {recovery_s * 1000:.0f} ms to open the store and load the next "
            f"{len(window):,} deadlines (earliest due {window[0][1]:%H:%M:%S})"
        )
        engine.dispose()
