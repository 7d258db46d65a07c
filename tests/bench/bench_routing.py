"""Routing figures (printed, never asserted): the decision time for a 500-rule set (p50/p99), and
routed complaints per second through the routing service on the real local broker."""

from __future__ import annotations

import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from services.common import topics
from services.common.broker import LocalBroker
from services.common.pb.haq.v1 import complaint_pb2
from services.common.settings import Settings
from services.common.tail import tail
from services.routing.adapters.files import BUILTIN_RULES, load_directory, parse_rule_set_text
from services.routing.domain.model import AgentLoad, RoutingInput
from services.routing.domain.routing import decide
from tests.conftest import ServiceProcess, make_settings
from tests.integration.test_routing_service import produce, received

RULES = 500
DECISIONS = 5000
THROUGHPUT_COMPLAINTS = 1000
VOCABULARY = [f"word{i}" for i in range(400)] + ["قرارداد", "داروی", "اشتباه", "refund", "broken", "bill"]


def rule_set_text(n: int, rng: random.Random) -> str:
    """The built-in packs with n - (their size) generated sector rules before them, each with
    8 keywords (some phrases, some prefixes), so most complaints are checked against most rules."""
    base = BUILTIN_RULES.read_text(encoding="utf-8").replace("version: builtin-2", f"version: bench-{n}")
    builtin = parse_rule_set_text(base)
    extra = n - len(builtin)
    teams = sorted(builtin.teams())
    lines = []
    for i in range(extra):
        words = rng.sample(VOCABULARY, 8)
        words[0] = f"{words[0]} {words[1]}"  # a phrase
        words[2] = f"{words[2][:4]}*"  # a prefix
        sector = rng.choice(["general", "healthcare", "education", "b2b"])
        lines.append(
            f"  - id: gen-{i}\n    when: {{sectors: [{sector}], keywords: [{', '.join(words)}]}}\n"
            f"    then: {{team: {rng.choice(teams)}, priority: normal, sla_policy: default}}\n"
        )
    return base.replace("rules:\n", "rules:\n" + "".join(lines), 1)


def decision_times() -> None:
    rng = random.Random(7)
    rule_set = parse_rule_set_text(rule_set_text(RULES, rng))
    directory = load_directory(Settings().directory_file)
    loads = {
        a.id: AgentLoad(rng.randint(0, 3), rng.randint(0, 30)) for t in directory.teams for a in t.members
    }
    complaints = [
        RoutingInput(
            f"c-{i}",
            sector=rng.choice(["general", "healthcare", "education", "b2b", ""]),
            body=" ".join(
                rng.choice(VOCABULARY + ["the", "and", "was", "خیلی"]) for _ in range(rng.randint(10, 80))
            ),
        )
        for i in range(DECISIONS)
    ]
    times = []
    for c in complaints:
        start = time.perf_counter()
        decide(rule_set, directory, loads, c)
        times.append(time.perf_counter() - start)
    times.sort()
    p50, p99 = times[len(times) // 2], times[int(len(times) * 0.99)]
    print(f"   decision, {len(rule_set)}-rule set, {DECISIONS} complaints: "
          f"p50 {p50 * 1e3:.3f} ms  p99 {p99 * 1e3:.3f} ms  mean {statistics.mean(times) * 1e3:.3f} ms")  # fmt: skip


def throughput() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        broker = LocalBroker(log_file=data / "tansu.log").start()
        try:
            settings = make_settings(data, broker.bootstrap)
            topics.ensure_topics(settings)
            service = ServiceProcess("routing", settings, data).start()
            try:
                sectors = [
                    complaint_pb2.SECTOR_GENERAL,
                    complaint_pb2.SECTOR_HEALTHCARE,
                    complaint_pb2.SECTOR_B2B,
                ]
                envs = []
                for i in range(THROUGHPUT_COMPLAINTS):
                    cid = str(uuid.uuid4())
                    envs.append(
                        received(cid, sectors[i % 3], 0, f"complaint {i}: the service was slow", f"evt-{cid}")
                    )
                wanted = {e.subject for e in envs}
                seen: set[str] = set()
                start = time.perf_counter()
                produce(settings, envs)
                produced = time.perf_counter() - start
                for rec in tail(settings, topics.LIFECYCLE_TOPIC, from_beginning=True, timeout=600,
                                stop=lambda: seen >= wanted):  # fmt: skip
                    if rec.envelope is not None and rec.envelope.type == "haq.v1.ComplaintRouted":
                        seen.add(rec.envelope.subject)
                elapsed = time.perf_counter() - start
            finally:
                service.stop()
        finally:
            broker.stop()
    print(f"   through the routing service (1 worker, SQLite, local broker): {len(seen)} of {len(wanted)} routed "
          f"in {elapsed:.1f} s = {len(seen) / elapsed:.0f} complaints/s (producing took {produced:.1f} s)")  # fmt: skip


def run() -> None:
    decision_times()
    throughput()
