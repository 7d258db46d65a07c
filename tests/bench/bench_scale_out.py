"""Scale-out on PostgreSQL, measured from outside (printed, never asserted).

The same storm as bench_storm (complaints offered as fast as intake accepts them, "done" = owned +
clocked + acknowledged, seen on the lifecycle topic) run twice on one throwaway PostgreSQL and the
local broker: first with one worker of every service, then with two workers of every service
(8 processes), each run on fresh schemas. Prints both rows and the ratio of sustained throughput,
CPU-ms per complaint and duplicate acknowledgements, from one run on this machine.

What it can show on 2 cores: whether a second worker adds throughput when one worker per service
leaves the cores idle (waiting on the broker, fsync or locks), and what the extra coordination
(two group members, PostgreSQL row locks) costs per complaint. It cannot show scaling beyond the
cores the machine has; deploy/SCALING.md has the arithmetic for that.

HAQ_SCALE_COMPLAINTS (2000) sets the storm size; HAQ_SCALE_WORKERS ("1,2") the runs.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from services.common.settings import SERVICES
from tests.bench.bench_storm import Platform, StormResult, Watcher, storm
from tests.pg import LocalPostgres, PostgresUnavailable, isolated_schema

COMPLAINTS = int(os.environ.get("HAQ_SCALE_COMPLAINTS", "2000"))
WORKERS = tuple(int(n) for n in os.environ.get("HAQ_SCALE_WORKERS", "1,2").split(","))


def one_run(pg_url: str, workers: int) -> StormResult:
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as schemas:
        urls = {f"{svc}_database_url": schemas.enter_context(isolated_schema(pg_url)) for svc in SERVICES}
        platform = Platform(Path(tmp), workers=workers, database_urls=urls)
        try:
            watcher = Watcher(platform.broker.bootstrap)
            watcher.start()
            try:
                return storm(platform, watcher, COMPLAINTS)
            finally:
                watcher.stopping.set()
                watcher.join(10)
        finally:
            platform.stop()


def run() -> None:
    try:
        server = LocalPostgres().start()
    except PostgresUnavailable as exc:
        print(f"   skipped: no PostgreSQL here ({exc})")
        return
    try:
        print(f"   machine: {os.cpu_count()} cores; local broker (tansu), one PostgreSQL, auth on; "
              f"{COMPLAINTS:,} complaints per run")  # fmt: skip
        results: dict[int, StormResult] = {}
        for workers in WORKERS:
            r = results[workers] = one_run(server.url, workers)
            cpu = ", ".join(f"{name} {r.cpu_ms[name]:.1f}" for name in SERVICES)
            print(f"   {workers} worker(s) per service: {r.done:,} of {COMPLAINTS:,} done in {r.seconds:.1f} s = "
                  f"{r.rate:,.1f} complaints/s; accepts {r.accepts_per_s:,.0f}/s; CPU-ms per complaint "
                  f"{cpu}, total {r.services_cpu_ms:.1f}; {r.duplicate_acks} acknowledged twice")  # fmt: skip
        if len(results) >= 2:
            base, most = results[min(results)], results[max(results)]
            print(f"   ratio {max(results)} / {min(results)} workers: throughput {most.rate / base.rate:.2f}x, "
                  f"CPU-ms per complaint {most.services_cpu_ms / base.services_cpu_ms:.2f}x")  # fmt: skip
    finally:
        server.stop()
