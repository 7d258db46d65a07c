"""Helpers for the fault tests (tests/integration/test_faults.py): the whole platform as real
processes, a steady load over gRPC, a watcher of the lifecycle topic and a count of the mail.

- `FaultPlatform`: the local broker, the SMTP sink and the four services, each its own process,
  auth on; a service can be SIGKILLed and started again on the same data (SQLite files under the
  data dir, or the PostgreSQL URLs it was given); the broker can be SIGSTOPped and SIGCONTed.
- `Load`: complaints at a steady rate, each with its own idempotency key; every tenth key is
  submitted again later; UNAVAILABLE and DEADLINE_EXCEEDED are retried with the same key, as a
  real client does, until `retry_budget_s` has passed.
- `Watcher`: tails the lifecycle topic without a group, filtering on the ce_type header, and keeps
  for each complaint whether it was received (with its idempotency key), owned and clocked.
- `count_acknowledgements`: acknowledgement mails stored by the SMTP sink per (recipient, reference).
- `verdict`: what the issue asks for, as lists of offending complaints or keys (empty is good).
"""

from __future__ import annotations

import email.parser
import email.policy
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from aiosmtpd.controller import Controller
from confluent_kafka import Consumer, TopicPartition

from services.common import topics
from services.common.auth import mint_token
from services.common.broker import LocalBroker, wait_for_port
from services.common.pb.haq.v1 import complaint_pb2 as c
from services.common.pb.haq.v1 import events_pb2, intake_pb2, intake_pb2_grpc
from services.common.settings import SERVICES
from services.console.smtp_sink import MaildirSink, mail_dir
from tests.conftest import REPO, ServiceProcess, make_settings, settings_env, wait_serving

RETRYABLE = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
ACK_SUBJECT = "We have received your complaint"  # templates/en/acknowledgement.subject.j2


class FaultPlatform:
    """Broker, SMTP sink and the four services as separate processes, auth on."""

    def __init__(
        self,
        data: Path,
        database_urls: dict[str, str] | None = None,
        on_rcpt: Callable[[str], None] | None = None,
    ):
        """`on_rcpt`: run the SMTP sink in this process and call it with each recipient address
        (before the message is handed over); otherwise the sink runs as `make run` starts it."""
        self.data = data
        self.broker = LocalBroker(log_file=data / "tansu.log").start()
        urls = {f"{svc}_database_url": url for svc, url in (database_urls or {}).items()}
        self.settings = make_settings(data, self.broker.bootstrap, auth_secret=uuid.uuid4().hex * 2, **urls)
        topics.ensure_topics(self.settings)
        env = settings_env(self.settings)
        self.sink: subprocess.Popen[bytes] | None = None
        self.controller: Controller | None = None
        if on_rcpt is None:
            self.sink = subprocess.Popen(
                [sys.executable, "-m", "services.console.smtp_sink"],
                cwd=REPO,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=open(data / "smtp.log", "ab"),  # noqa: SIM115
            )
        else:
            self.controller = Controller(
                HookedSink(mail_dir(self.settings), on_rcpt),
                hostname=self.settings.smtp_host,
                port=self.settings.smtp_port,
            )
            self.controller.start()
        wait_for_port(self.settings.smtp_host, self.settings.smtp_port)
        self.services = {name: ServiceProcess(name, self.settings, data) for name in SERVICES}
        for svc in self.services.values():
            svc.start(wait=False)
        self.wait_all_serving(timeout=150)
        self.token = mint_token(
            self.settings.auth_secret, "fault-load", self.settings.tenant, ["integration"]
        )

    @property
    def mail_dir(self) -> Path:
        return mail_dir(self.settings)

    def wait_all_serving(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for name, svc in self.services.items():
            left = max(1.0, deadline - time.monotonic())
            wait_serving(self.settings.grpc_target(name), timeout=left, proc=svc.proc, log=svc.log_path)

    def kill(self, name: str) -> None:
        self.services[name].kill()

    def restart(self, name: str) -> None:
        """Start a killed service again on the same settings, data dir and databases."""
        self.services[name].start(wait=False)

    def pause_broker(self) -> None:
        assert self.broker.proc is not None
        os.kill(self.broker.proc.pid, signal.SIGSTOP)

    def resume_broker(self) -> None:
        assert self.broker.proc is not None
        os.kill(self.broker.proc.pid, signal.SIGCONT)

    def log_tail(self, name: str, chars: int = 3000) -> str:
        path = self.services[name].log_path
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def stop(self) -> None:
        if self.broker.proc is not None and self.broker.proc.poll() is None:
            os.kill(self.broker.proc.pid, signal.SIGCONT)  # a stopped broker cannot be terminated
        for svc in self.services.values():
            svc.stop()
        if self.sink is not None:
            self.sink.terminate()
            try:
                self.sink.wait(10)
            except subprocess.TimeoutExpired:
                self.sink.kill()
                self.sink.wait()
        if self.controller is not None:
            self.controller.stop()
        self.broker.stop()


class HookedSink(MaildirSink):
    """The SMTP sink's handler (same files), calling `on_rcpt(address)` at each RCPT TO: the moment
    a sender is mid-delivery, after it committed its attempt and before the message is stored."""

    def __init__(self, folder: Path, on_rcpt: Callable[[str], None]):
        super().__init__(folder)
        self.on_rcpt = on_rcpt

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        self.on_rcpt(address)
        envelope.rcpt_tos.append(address)
        return "250 OK"


# ---- the load ---------------------------------------------------------------------------------
@dataclass
class Submission:
    key: str
    email: str
    index: int


@dataclass
class LoadResults:
    # every OK answer: idempotency key -> complaint ids answered for it
    ids_by_key: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    reference: dict[str, str] = field(default_factory=dict)  # complaint id -> reference
    email: dict[str, str] = field(default_factory=dict)  # complaint id -> customer email
    duplicates_answered: int = 0  # OK answers with duplicate=true (resubmissions, retries)
    retries: Counter = field(default_factory=Counter)  # status code name -> retries
    refused: list[tuple[str, str, str]] = field(default_factory=list)  # key, code, details
    gave_up: list[str] = field(default_factory=list)  # keys still unanswered after the budget
    submitted_keys: set[str] = field(default_factory=set)


class Load:
    """Complaints at `rate` per second over gRPC, each with an idempotency key, until stopped."""

    RESUBMIT_EVERY = 10
    RESUBMIT_AFTER = 7  # submissions later

    def __init__(self, target: str, token: str, rate: float = 5.0, retry_budget_s: float = 90.0):
        self.target = target
        self.metadata = (("authorization", f"Bearer {token}"),)
        self.rate = rate
        self.retry_budget_s = retry_budget_s
        self.results = LoadResults()
        self.run_id = uuid.uuid4().hex[:8]
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=48, thread_name_prefix="fault-load")
        self._channel = grpc.insecure_channel(target)
        self._stub = intake_pb2_grpc.IntakeServiceStub(self._channel)
        self._thread = threading.Thread(target=self._pace, name="fault-pacer", daemon=True)
        self._futures: list = []

    def start(self) -> Load:
        self._thread.start()
        return self

    def stop(self, timeout: float) -> None:
        """Stop offering new complaints and wait (bounded) for those in flight to be answered."""
        self._stop.set()
        self._thread.join(5)
        deadline = time.monotonic() + timeout
        for future in list(self._futures):
            future.result(timeout=max(0.1, deadline - time.monotonic()))
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._channel.close()

    def _pace(self) -> None:
        started = time.monotonic()
        pending_resubmits: list[tuple[int, Submission]] = []
        i = 0
        while not self._stop.is_set():
            delay = started + i / self.rate - time.monotonic()
            if delay > 0 and self._stop.wait(delay):
                break
            sub = Submission(
                key=f"fault-{self.run_id}-{i}", email=f"fault{i}-{self.run_id}@example.com", index=i
            )
            self._submit(sub)
            if i % self.RESUBMIT_EVERY == 0:
                pending_resubmits.append((i + self.RESUBMIT_AFTER, sub))
            while pending_resubmits and pending_resubmits[0][0] <= i:
                self._submit(pending_resubmits.pop(0)[1])
            i += 1

    def _submit(self, sub: Submission) -> None:
        with self._lock:
            self.results.submitted_keys.add(sub.key)
        self._futures.append(self._pool.submit(self._call, sub))

    def _call(self, sub: Submission) -> None:
        request = intake_pb2.SubmitComplaintRequest(
            draft=c.ComplaintDraft(
                channel=c.CHANNEL_EMAIL,
                sector=c.SECTOR_GENERAL,
                customer=c.CustomerIdentifiers(email=sub.email),
                subject=f"Fault load {sub.index}",
                body="The parcel arrived broken and nobody answers my emails about a replacement.",
                language="en",
                idempotency_key=sub.key,
            )
        )
        deadline = time.monotonic() + self.retry_budget_s
        backoff = 0.2
        while True:
            try:
                resp = self._stub.SubmitComplaint(request, metadata=self.metadata, timeout=10)
            except grpc.RpcError as exc:
                code = exc.code()
                if code in RETRYABLE and time.monotonic() + backoff < deadline:
                    with self._lock:
                        self.results.retries[code.name] += 1
                    time.sleep(backoff)
                    backoff = min(2.0, backoff * 2)
                    continue
                with self._lock:
                    if code in RETRYABLE:
                        self.results.gave_up.append(sub.key)
                    else:
                        self.results.refused.append((sub.key, code.name, (exc.details() or "")[:300]))
                return
            with self._lock:
                r = self.results
                r.ids_by_key[sub.key].add(resp.complaint_id)
                r.reference[resp.complaint_id] = resp.reference
                r.email[resp.complaint_id] = sub.email
                r.duplicates_answered += int(resp.duplicate)
            return


# ---- the lifecycle topic ------------------------------------------------------------------------
@dataclass
class Seen:
    ids_by_key: dict[str, set[str]] = field(
        default_factory=lambda: defaultdict(set)
    )  # from ComplaintReceived
    received: set[str] = field(default_factory=set)
    owned: set[str] = field(default_factory=set)
    clocked: set[str] = field(default_factory=set)
    ack_events: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # NotificationSent ids
    records: int = 0


WATCHED = {
    b"haq.v1.ComplaintReceived",
    b"haq.v1.OwnerAssigned",
    b"haq.v1.SlaClocksStarted",
    b"haq.v1.NotificationSent",
}


class Watcher(threading.Thread):
    """Tails the lifecycle topic from the start without a group (as tests/bench/bench_storm.py does),
    decoding only the event types it needs, picked by their ce_type header."""

    def __init__(self, bootstrap: str):
        super().__init__(daemon=True, name="fault-watcher")
        self.seen = Seen()
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": f"fault-watch-{uuid.uuid4().hex[:6]}",
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "fetch.wait.max.ms": 50,
            }  # fmt: skip
        )
        meta = self.consumer.list_topics(topics.LIFECYCLE_TOPIC, timeout=30)
        parts = meta.topics[topics.LIFECYCLE_TOPIC].partitions
        self.consumer.assign([TopicPartition(topics.LIFECYCLE_TOPIC, p, 0) for p in parts])

    def run(self) -> None:
        s = self.seen
        try:
            while not self.stopping.is_set():
                for msg in self.consumer.consume(1000, 0.2):
                    if msg.error():
                        continue
                    ce_type = dict(msg.headers() or []).get("ce_type")
                    with self.lock:
                        s.records += 1
                        if ce_type not in WATCHED:
                            continue
                        cid = (msg.key() or b"").decode()
                        if ce_type == b"haq.v1.ComplaintReceived":
                            complaint = events_pb2.ComplaintReceived.FromString(msg.value()).complaint
                            s.received.add(complaint.id)
                            s.ids_by_key[complaint.idempotency_key].add(complaint.id)
                        elif ce_type == b"haq.v1.OwnerAssigned":
                            s.owned.add(cid)
                        elif ce_type == b"haq.v1.SlaClocksStarted":
                            s.clocked.add(cid)
                        else:
                            sent = events_pb2.NotificationSent.FromString(msg.value())
                            if sent.template == "acknowledgement":
                                s.ack_events[cid].add(sent.notification_id)
        finally:
            self.consumer.close()

    def stop(self) -> None:
        self.stopping.set()
        self.join(10)


# ---- the mail -----------------------------------------------------------------------------------
def count_acknowledgements(mail_dir: Path) -> Counter:
    """(recipient, X-Haq-Reference) -> acknowledgement mails the SMTP sink stored."""
    parser = email.parser.BytesHeaderParser(policy=email.policy.default)
    counts: Counter = Counter()
    if not mail_dir.exists():
        return counts
    for path in mail_dir.glob("*.eml"):
        headers = parser.parsebytes(path.read_bytes())
        if str(headers.get("Subject", "")).startswith(ACK_SUBJECT):
            counts[(str(headers.get("X-Original-To", "")), str(headers.get("X-Haq-Reference", "")))] += 1
    return counts


# ---- the verdict --------------------------------------------------------------------------------
@dataclass
class Verdict:
    accepted: int
    lost: list[str]  # accepted, never received on the topic
    unowned: list[str]
    unclocked: list[str]
    unacknowledged: list[str]  # no acknowledgement mail
    acknowledged_twice: dict[str, int]  # complaint id -> mails
    keys_with_several_ids: dict[str, set[str]]  # answers or topic: one key, several complaints

    @property
    def ok(self) -> bool:
        return not (
            self.lost
            or self.unowned
            or self.unclocked
            or self.unacknowledged
            or self.acknowledged_twice
            or self.keys_with_several_ids
        )

    def summary(self) -> str:
        def few(items: object) -> str:
            seq = list(items)  # type: ignore[call-overload]
            return f"{len(seq)} {seq[:5]}"

        return (
            f"accepted {self.accepted}; lost {few(self.lost)}; unowned {few(self.unowned)}; "
            f"unclocked {few(self.unclocked)}; unacknowledged {few(self.unacknowledged)}; "
            f"acknowledged more than once {few(self.acknowledged_twice.items())}; "
            f"keys with several complaints {few(self.keys_with_several_ids.items())}"
        )


def verdict(results: LoadResults, watcher: Watcher, mail_dir: Path) -> Verdict:
    accepted = set(results.reference)
    mails = count_acknowledgements(mail_dir)
    with watcher.lock:
        seen = watcher.seen
        several = {k: set(v) for k, v in results.ids_by_key.items() if len(v) != 1}
        for key, ids in seen.ids_by_key.items():
            if key in results.submitted_keys and len(ids | results.ids_by_key.get(key, set())) != 1:
                several[key] = ids | results.ids_by_key.get(key, set())
        per_mail = {cid: mails.get((results.email[cid], results.reference[cid]), 0) for cid in accepted}
        return Verdict(
            accepted=len(accepted),
            lost=sorted(accepted - seen.received),
            unowned=sorted(accepted - seen.owned),
            unclocked=sorted(accepted - seen.clocked),
            unacknowledged=sorted(cid for cid, n in per_mail.items() if n == 0),
            acknowledged_twice={cid: n for cid, n in per_mail.items() if n > 1},
            keys_with_several_ids=several,
        )


def wait_for_verdict(results: LoadResults, watcher: Watcher, mail_dir: Path, timeout: float) -> Verdict:
    """Poll until every accepted complaint is owned, clocked and acknowledged, or `timeout`; then
    give the stragglers a moment more so a late duplicate mail or event is counted too."""
    deadline = time.monotonic() + timeout
    while True:
        v = verdict(results, watcher, mail_dir)
        if v.ok or time.monotonic() > deadline:
            break
        time.sleep(1.0)
    time.sleep(3.0)  # a duplicate arriving just after the last original is still caught
    return verdict(results, watcher, mail_dir)
