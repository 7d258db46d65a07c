"""The outage storm, measured from outside as a user would (printed, never asserted).

One run, one table, on the local broker and SQLite (the `make run` defaults, auth on):

1. ceilings of this machine in this run: the local broker's produce and consume rates for
   complaint-sized records, and a bare consume -> produce hop (librdkafka, no work per record);
2. intake's durable accepts/s over gRPC at concurrency 64 (each answer means committed);
3. a storm of N complaints offered as fast as intake accepts them: time until every one is owned,
   clocked and acknowledged (seen by tailing the lifecycle topic, not by polling the API),
   sustained complaints/s, and CPU-ms per complaint for each service (from /proc);
4. submission -> owner assigned latency p50/p99 at a paced offered rate.

Sizes come from the environment so a quick look and the full storm use the same code:
HAQ_STORM_COMPLAINTS (20000), HAQ_STORM_PACED_RATE (100 per s), HAQ_STORM_PACED_SECONDS (10),
HAQ_STORM_CEILING_RECORDS (50000), HAQ_STORM_DEADLINE_S (1800: the storm gives up then and says so).
HAQ_STORM_PROFILE=DIR also samples every service with py-spy during the storm (`pip install py-spy`)
and writes DIR/<service>.txt as collapsed stacks (one line per stack, its sample count last).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import grpc
from confluent_kafka import Consumer, Producer, TopicPartition

from services.common import topics
from services.common.auth import mint_token
from services.common.broker import LocalBroker, wait_for_port
from services.common.pb.haq.v1 import complaint_pb2 as c
from services.common.pb.haq.v1 import events_pb2, intake_pb2, intake_pb2_grpc
from services.common.settings import SERVICES
from tests.conftest import REPO, ServiceProcess, make_settings, settings_env, wait_serving

COMPLAINTS = int(os.environ.get("HAQ_STORM_COMPLAINTS", "20000"))
PACED_RATE = float(os.environ.get("HAQ_STORM_PACED_RATE", "100"))
PACED_SECONDS = float(os.environ.get("HAQ_STORM_PACED_SECONDS", "10"))
CEILING_RECORDS = int(os.environ.get("HAQ_STORM_CEILING_RECORDS", "50000"))
DEADLINE_S = float(os.environ.get("HAQ_STORM_DEADLINE_S", "1800"))
CONCURRENCY = 64
CLK_TCK = os.sysconf("SC_CLK_TCK")

SECTORS = [c.SECTOR_GENERAL, c.SECTOR_HEALTHCARE, c.SECTOR_EDUCATION, c.SECTOR_B2B]
BODIES = [
    "The parcel arrived broken and nobody answers my emails about a replacement.",
    "نوبت ویزیت مادرم بدون اطلاع لغو شد و کسی پاسخ نمی‌دهد.",
    "My son's school charged the trip fee twice and the office keeps sending me elsewhere.",
    "Our contract promises a 4 hour response; we have waited two days for the outage ticket.",
]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))] if ordered else float("nan")


# ---- ceilings ---------------------------------------------------------------------------------
def broker_ceilings(bootstrap: str, records: int) -> dict[str, float]:
    """Produce, consume and hop rates for ~1 KB records (a ComplaintReceived is about that)."""
    value = os.urandom(1000)
    source, sink = f"bench.ceiling.{uuid.uuid4().hex[:6]}", f"bench.hop.{uuid.uuid4().hex[:6]}"
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "acks": "all"})
    started = time.perf_counter()
    for i in range(records):
        while True:
            try:
                producer.produce(source, key=str(i % 997).encode(), value=value)
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
    producer.flush(60)
    produce_rate = records / (time.perf_counter() - started)

    def drain(topic: str, expect: int, relay: Producer | None) -> float:
        consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": f"bench-{uuid.uuid4().hex[:6]}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
            }  # fmt: skip
        )
        consumer.subscribe([topic])
        got, first = 0, None
        deadline = time.monotonic() + 120
        while got < expect and time.monotonic() < deadline:
            for msg in consumer.consume(1000, 0.5):
                if msg.error():
                    continue
                first = first or time.perf_counter()
                got += 1
                if relay is not None:
                    while True:
                        try:
                            relay.produce(sink, key=msg.key(), value=msg.value())
                            break
                        except BufferError:
                            relay.poll(0.05)
                    relay.poll(0)
        if relay is not None:
            relay.flush(60)
        consumer.close()
        return got / (time.perf_counter() - first) if first and got else 0.0

    consume_rate = drain(source, records, None)
    hop_rate = drain(source, records, Producer({"bootstrap.servers": bootstrap, "linger.ms": 5}))
    return {"produce": produce_rate, "consume": consume_rate, "hop": hop_rate}


# ---- the platform -----------------------------------------------------------------------------
class Platform:
    """The broker, the SMTP sink and `workers` processes of each of the four services, auth on.
    `database_urls` (e.g. {"intake_database_url": ...}) puts the services on PostgreSQL; SQLite
    (the default) serves one process per service only."""

    def __init__(self, data: Path, workers: int = 1, database_urls: dict[str, str] | None = None):
        self.data = data
        self.broker = LocalBroker(log_file=data / "tansu.log").start()
        urls = database_urls or {}
        secret = uuid.uuid4().hex * 2
        self.settings = make_settings(data, self.broker.bootstrap, auth_secret=secret, **urls)
        # Every further worker: the same broker, databases, SMTP sink and secret; its own ports.
        sets = [self.settings] + [
            make_settings(data, self.broker.bootstrap, auth_secret=secret, smtp_port=self.settings.smtp_port, **urls)
            for _ in range(workers - 1)
        ]  # fmt: skip
        topics.ensure_topics(self.settings)
        env = settings_env(self.settings)
        self.sink = subprocess.Popen(
            [sys.executable, "-m", "services.console.smtp_sink"],
            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=open(data / "smtp.log", "ab"),  # noqa: SIM115
        )  # fmt: skip
        wait_for_port(self.settings.smtp_host, self.settings.smtp_port)
        self.processes: list[tuple[str, ServiceProcess]] = []
        # One set at a time, so each joins its consumer groups once (as the scale-out test does).
        for n, settings in enumerate(sets, start=1):
            log_dir = data / f"worker{n}"
            log_dir.mkdir(exist_ok=True)
            batch = [
                (f"{name}-{n}" if workers > 1 else name, ServiceProcess(name, settings, log_dir))
                for name in SERVICES
            ]
            for _label, svc in batch:
                svc.start(wait=False)
            for _label, svc in batch:
                wait_serving(svc.settings.grpc_target(svc.name), timeout=150, proc=svc.proc, log=svc.log_path)
            self.processes += batch
        self.token = mint_token(self.settings.auth_secret, "bench", self.settings.tenant, ["integration"])

    def cpu(self) -> dict[str, float]:
        """CPU seconds so far per service (summed over its workers), the sink and the broker."""
        out = dict.fromkeys(SERVICES, 0.0)
        for _label, svc in self.processes:
            if svc.proc:
                out[svc.name] += cpu_seconds(svc.proc.pid)
        out["smtp sink"] = cpu_seconds(self.sink.pid)
        out["broker"] = cpu_seconds(self.broker.proc.pid) if self.broker.proc else 0.0
        return out

    def stop(self) -> None:
        for _label, svc in self.processes:
            svc.stop()
        self.sink.terminate()
        self.sink.wait(10)
        self.broker.stop()


# ---- watching the lifecycle topic -------------------------------------------------------------
@dataclass
class Progress:
    owned_at: dict[str, float] = field(default_factory=dict)
    clocked: set[str] = field(default_factory=set)
    acknowledged: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    events: int = 0
    # complaint -> event type -> (the event's ce_time, when the watcher read it), epoch seconds
    stamps: dict[str, dict[str, tuple[float, float]]] = field(default_factory=lambda: defaultdict(dict))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def done(self, ids: set[str]) -> int:
        with self.lock:
            return sum(1 for i in ids if i in self.owned_at and i in self.clocked and i in self.acknowledged)


WATCHED = {b"haq.v1.OwnerAssigned", b"haq.v1.SlaClocksStarted", b"haq.v1.NotificationSent"}
HOPS = {
    b"haq.v1.ComplaintReceived": "received",
    b"haq.v1.ComplaintRouted": "routed",
    b"haq.v1.OwnerAssigned": "owned",
}


class Watcher(threading.Thread):
    """Tails the lifecycle topic without a group; decodes only the three event types it needs
    (filtering on the ce_type header first)."""

    def __init__(self, bootstrap: str):
        super().__init__(daemon=True)
        self.progress = Progress()
        self.stopping = threading.Event()
        self.consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "fetch.wait.max.ms": 10,  # the watcher must not add its own fetch wait to latencies
                "group.id": "bench-watch",
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
            }  # fmt: skip
        )
        meta = self.consumer.list_topics(topics.LIFECYCLE_TOPIC, timeout=30)
        parts = meta.topics[topics.LIFECYCLE_TOPIC].partitions
        self.consumer.assign([TopicPartition(topics.LIFECYCLE_TOPIC, p, 0) for p in parts])

    def run(self) -> None:
        p = self.progress
        while not self.stopping.is_set():
            for msg in self.consumer.consume(2000, 0.2):
                if msg.error():
                    continue
                now = time.perf_counter()
                p.events += 1
                headers = dict(msg.headers() or [])
                ce_type = headers.get("ce_type")
                cid = (msg.key() or b"").decode()
                if ce_type in HOPS and "ce_time" in headers:
                    at = datetime.fromisoformat(
                        headers["ce_time"].decode().replace("Z", "+00:00")
                    ).timestamp()
                    with p.lock:
                        p.stamps[cid].setdefault(HOPS[ce_type], (at, time.time()))
                if ce_type not in WATCHED:
                    continue
                with p.lock:
                    if ce_type == b"haq.v1.OwnerAssigned":
                        p.owned_at.setdefault(cid, now)
                    elif ce_type == b"haq.v1.SlaClocksStarted":
                        p.clocked.add(cid)
                    else:
                        sent = events_pb2.NotificationSent.FromString(msg.value())
                        if sent.template == "acknowledgement":
                            p.acknowledged[cid].add(sent.notification_id)
        self.consumer.close()


# ---- submitting -------------------------------------------------------------------------------
def draft(i: int) -> c.ComplaintDraft:
    return c.ComplaintDraft(
        channel=c.CHANNEL_WEB,
        sector=SECTORS[i % len(SECTORS)],
        customer=c.CustomerIdentifiers(email=f"storm{i}-{uuid.uuid4().hex[:6]}@example.com"),
        subject=f"Outage {i}",
        body=BODIES[i % len(BODIES)],
    )


async def submit_all(
    target: str, token: str, count: int, rate: float | None
) -> tuple[dict[str, float], float]:
    """Submit `count` complaints (at `rate` per s, or as fast as answered, 64 in flight);
    returns complaint id -> submission time and the seconds it took."""
    sent: dict[str, float] = {}
    metadata = (("authorization", f"Bearer {token}"),)
    async with grpc.aio.insecure_channel(target) as channel:
        stub = intake_pb2_grpc.IntakeServiceStub(channel)
        queue: asyncio.Queue[int] = asyncio.Queue()
        started = time.perf_counter()

        async def worker() -> None:
            while True:
                i = await queue.get()
                at = time.perf_counter()
                for _ in range(5):
                    try:
                        resp = await stub.SubmitComplaint(
                            intake_pb2.SubmitComplaintRequest(draft=draft(i)), metadata=metadata, timeout=30
                        )
                        sent[resp.complaint_id] = at
                        break
                    except grpc.aio.AioRpcError as exc:
                        if exc.code() not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                            print(f"   submission {i} refused: {exc.code().name} {exc.details()}")
                            break
                queue.task_done()

        workers = [asyncio.create_task(worker()) for _ in range(CONCURRENCY)]
        for i in range(count):
            if rate:
                delay = started + i / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            await queue.put(i)
        await queue.join()
        elapsed = time.perf_counter() - started
        for w in workers:
            w.cancel()
    return sent, elapsed


def start_profilers(platform: Platform, folder: str) -> list[subprocess.Popen[bytes]]:
    if not folder:
        return []
    Path(folder).mkdir(parents=True, exist_ok=True)
    return [
        subprocess.Popen(
            [
                shutil.which("py-spy", path=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}")
                or "py-spy",
                "record",
                "--format",
                "raw",
                "--rate",
                "50",
                "--nonblocking",
                "--pid",
                str(svc.proc.pid),
                "--output",
                str(Path(folder) / f"{label}.txt"),
            ],  # fmt: skip
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for label, svc in platform.processes
        if svc.proc is not None
    ]


def wait_done(progress: Progress, ids: set[str], deadline_s: float) -> float:
    started = time.perf_counter()
    while progress.done(ids) < len(ids) and time.perf_counter() - started < deadline_s:
        time.sleep(0.1)
    return time.perf_counter()


@dataclass(frozen=True)
class StormResult:
    accepted: int
    accept_s: float
    done: int
    seconds: float
    events_per_complaint: float
    duplicate_acks: int
    cpu_ms: dict[str, float]  # per complaint done, per process kind

    @property
    def accepts_per_s(self) -> float:
        return self.accepted / self.accept_s if self.accept_s else 0.0

    @property
    def rate(self) -> float:
        return self.done / self.seconds if self.seconds else 0.0

    @property
    def services_cpu_ms(self) -> float:
        return sum(ms for name, ms in self.cpu_ms.items() if name in SERVICES)


def storm(
    platform: Platform, watcher: Watcher, count: int, after: Callable[[], None] = lambda: None
) -> StormResult:
    """Offer `count` complaints as fast as intake accepts them; wait until each is owned, clocked
    and acknowledged (or the deadline); `after` runs once they are (e.g. stop the profilers)."""
    cpu_before = platform.cpu()
    events_before = watcher.progress.events
    sent, accept_s = asyncio.run(
        submit_all(platform.settings.grpc_target("intake"), platform.token, count, None)
    )
    ids = set(sent)
    start = min(sent.values()) if sent else time.perf_counter()
    finished = wait_done(watcher.progress, ids, DEADLINE_S)
    cpu_after = platform.cpu()
    after()
    done = watcher.progress.done(ids)
    with watcher.progress.lock:
        duplicate_acks = sum(1 for i in ids if len(watcher.progress.acknowledged.get(i, ())) > 1)
    events = watcher.progress.events - events_before
    cpu_ms = {name: (cpu_after[name] - cpu_before[name]) * 1000 / max(1, done) for name in cpu_after}
    return StormResult(
        len(sent), accept_s, done, finished - start, events / max(1, len(ids)), duplicate_acks, cpu_ms
    )


def stop_profilers(profilers: list[subprocess.Popen[bytes]]) -> None:
    for proc in profilers:
        proc.send_signal(2)  # py-spy writes its file on SIGINT
        proc.wait(60)


def run() -> None:
    ceilings_only = os.environ.get("HAQ_STORM_CEILINGS_ONLY") == "1"
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        platform = Platform(data)
        try:
            ceilings = broker_ceilings(platform.broker.bootstrap, CEILING_RECORDS)
            print(f"   machine: {os.cpu_count()} cores; local broker (tansu), SQLite, auth on")
            print(f"   ceiling: produce {ceilings['produce']:,.0f} rec/s, consume {ceilings['consume']:,.0f} rec/s, "
                  f"bare consume->produce hop {ceilings['hop']:,.0f} rec/s ({CEILING_RECORDS:,} x 1 KB)")  # fmt: skip
            if ceilings_only:
                return
            watcher = Watcher(platform.broker.bootstrap)
            watcher.start()

            # The storm: offered as fast as intake accepts.
            profilers = start_profilers(platform, os.environ.get("HAQ_STORM_PROFILE", ""))
            result = storm(platform, watcher, COMPLAINTS, after=lambda: stop_profilers(profilers))
            print(f"   intake durable accepts (gRPC, {CONCURRENCY} in flight, during the storm): "
                  f"{result.accepts_per_s:,.0f}/s ({result.accepted:,} in {result.accept_s:.1f} s)")  # fmt: skip
            print(f"   storm: {result.done:,} of {COMPLAINTS:,} owned + clocked + acknowledged in {result.seconds:.1f} s "
                  f"= {result.rate:,.1f} complaints/s sustained; {result.events_per_complaint:.1f} lifecycle "
                  f"events per complaint; {result.duplicate_acks} complaints acknowledged twice")  # fmt: skip
            row = [f"{name} {ms:.1f}" for name, ms in result.cpu_ms.items()]
            print(f"   CPU-ms per complaint: {', '.join(row)}; services total {result.services_cpu_ms:.1f}")
            print(f"   ratios: storm / bare hop ceiling {result.rate / ceilings['hop']:.4f}; "
                  f"intake accepts / produce ceiling {result.accepts_per_s / ceilings['produce']:.4f}")  # fmt: skip
            target = platform.settings.grpc_target("intake")

            # Latency at a paced offered rate, once the storm has drained.
            paced_count = int(PACED_RATE * PACED_SECONDS)
            sent, _ = asyncio.run(submit_all(target, platform.token, paced_count, PACED_RATE))
            wait_done(watcher.progress, set(sent), 120)
            with watcher.progress.lock:
                lat = [
                    watcher.progress.owned_at[i] - t
                    for i, t in sent.items()
                    if i in watcher.progress.owned_at
                ]
            print(f"   submission -> owner assigned at {PACED_RATE:.0f}/s offered ({len(lat)} of {paced_count}): "
                  f"p50 {percentile(lat, 0.5) * 1e3:.0f} ms, p99 {percentile(lat, 0.99) * 1e3:.0f} ms, "
                  f"mean {statistics.mean(lat) * 1e3 if lat else float('nan'):.0f} ms")  # fmt: skip
            with watcher.progress.lock:
                stamps = [
                    watcher.progress.stamps[i] for i in sent if len(watcher.progress.stamps.get(i, {})) == 3
                ]
            hops = {
                "intake relay": [s["received"][1] - s["received"][0] for s in stamps],
                "routing consume + decide": [s["routed"][0] - s["received"][0] for s in stamps],
                "routing relay": [s["routed"][1] - s["routed"][0] for s in stamps],
                "escalation consume + offer": [s["owned"][0] - s["routed"][0] for s in stamps],
                "escalation relay": [s["owned"][1] - s["owned"][0] for s in stamps],
            }
            print("   hops (median ms, event time to event time or to the topic): "
                  + ", ".join(f"{k} {statistics.median(v) * 1e3:.0f}" for k, v in hops.items() if v))  # fmt: skip
            watcher.stopping.set()
        finally:
            platform.stop()
