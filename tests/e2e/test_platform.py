"""The whole platform started as `make run` starts it (services.console.devrun): a complaint
submitted over gRPC is stored, routed with an owner, its clocks start, and the customer's
acknowledgement email reaches the SMTP sink; `haq show --json` shows all of it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import grpc
import pytest

from services.common.auth import authorized_channel
from services.common.broker import free_port
from services.common.pb.haq.v1 import complaint_pb2 as c
from services.common.pb.haq.v1 import intake_pb2, intake_pb2_grpc
from services.console.devrun import READY_LINE
from tests.conftest import REPO, make_settings, settings_env

pytestmark = pytest.mark.e2e


class Platform:
    def __init__(self, tmp_path: Path, **overrides: object):
        self.settings = make_settings(tmp_path / "var", f"127.0.0.1:{free_port()}", **overrides)
        self.env = settings_env(self.settings)
        self.output: list[str] = []
        self.ready = threading.Event()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "services.console.devrun"],
            cwd=REPO,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line)
            if READY_LINE in line:
                self.ready.set()

    def wait_ready(self, timeout: float = 180) -> None:
        if not self.ready.wait(timeout):
            raise AssertionError("platform not ready:\n" + "".join(self.output[-80:]))

    def token(self, name: str = "developer") -> str:
        """A development token `make run` wrote for this run (auth is on under devrun)."""
        return (self.settings.data_dir / "tokens" / f"{name}.token").read_text().strip()

    def channel(self, service: str, token: str = "developer") -> grpc.Channel:
        return authorized_channel(self.settings.grpc_target(service), self.token(token))

    def ports(self) -> list[int]:
        s = self.settings
        broker_port = int(s.kafka_bootstrap.rsplit(":", 1)[1])
        return [broker_port, s.smtp_port] + [
            getattr(s, f"{svc}_grpc_port") for svc in ("intake", "routing", "escalation", "notifications")
        ]

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
                raise
        return self.proc.returncode


@pytest.fixture
def platform(tmp_path: Path):
    p = Platform(tmp_path)
    try:
        p.wait_ready()
        yield p
    finally:
        p.stop()


def haq(platform: Platform, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).parent / "haq"), *args],
        env=platform.env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_complaint_flows_through_every_service(platform: Platform):
    stub = intake_pb2_grpc.IntakeServiceStub(platform.channel("intake"))
    submitted_at = time.monotonic()
    resp = stub.SubmitComplaint(
        intake_pb2.SubmitComplaintRequest(
            draft=c.ComplaintDraft(
                channel=c.CHANNEL_WEB,
                sector=c.SECTOR_HEALTHCARE,
                complainant_role=c.COMPLAINANT_ROLE_RELATIVE,
                customer=c.CustomerIdentifiers(email="maryam.k@example.com", phone="09121234567"),
                subject="نوبت ویزیت لغو شد",
                body="نوبت ویزیت مادرم بدون اطلاع لغو شد و کسی پاسخ نمی‌دهد.",
            )
        ),
        timeout=10,
    )

    deadline = time.monotonic() + 60
    while True:
        shown = haq(platform, "show", resp.reference, "--json")
        assert shown.returncode == 0, shown.stderr
        case = json.loads(shown.stdout)
        sent = [n for n in case["notifications"] if n["status"] == "sent"]
        if case["owner"] and case["team"] and case["sla"] and sent:
            break
        assert time.monotonic() < deadline, f"case file incomplete after 60 s: {case}"
        time.sleep(0.2)
    elapsed = time.monotonic() - submitted_at
    print(f"owner, team, SLA deadlines and acknowledgement visible {elapsed:.2f} s after submission")

    assert case["reference"] == resp.reference and case["id"] == resp.complaint_id
    assert case["sector"] == "healthcare"
    assert case["status"] in ("routed", "offered")
    assert case["priority"]
    assert {clock["clock"] for clock in case["sla"]} >= {"acknowledgement", "first_response"}
    assert all(clock["due_at"] for clock in case["sla"])
    assert sent[0]["channel"] == "email" and sent[0]["recipient"] == "maryam.k@example.com"
    types = [t["type"] for t in case["timeline"]]
    assert types[0] == "ComplaintReceived" and "ComplaintRouted" in types and "NotificationSent" in types

    # the acknowledgement really reached the SMTP sink, in the customer's language
    mails = sorted((platform.settings.data_dir / "mail").glob("*.eml"))
    texts = [m.read_bytes() for m in mails]
    ours = [t for t in texts if resp.reference.encode() in t or b"maryam.k@example.com" in t]
    assert ours, f"no acknowledgement for {resp.reference} among {len(mails)} stored mail(s)"
    import email
    import email.policy

    msg = email.message_from_bytes(ours[0], policy=email.policy.default)
    assert msg["To"] == "maryam.k@example.com"
    assert resp.reference in msg.get_body(preferencelist=("plain",)).get_content()
    assert msg["Content-Language"] == "fa"

    # Prometheus metrics, each where it happens: complaints by stage and consumer lag per partition
    # (intake), notification outcomes (notifications)
    def metrics(service: str) -> str:
        port = platform.settings.http_port(service)
        return (
            urllib.request.urlopen(f"http://{platform.settings.http_host}:{port}/metrics", timeout=5)
            .read()
            .decode()
        )

    wanted = {
        "intake": (
            'haq_complaints_total{stage="ComplaintRouted"} 1.0',
            'haq_consumer_lag{group="haq-intake",partition=',
            "haq_outbox_backlog",
        ),
        "notifications": (
            'haq_notifications_total{channel="email",outcome="sent",template="acknowledgement"} 1.0',
        ),
    }
    deadline = time.monotonic() + 45
    while True:
        missing = [w for svc, lines in wanted.items() for w in lines if w not in metrics(svc)]
        if not missing:
            break
        assert time.monotonic() < deadline, (
            missing,
            [
                line
                for svc in wanted
                for line in metrics(svc).splitlines()
                if line.startswith(("haq_notif", "haq_compl"))
            ],
        )
        time.sleep(0.5)


def descendants(pid: int) -> set[int]:
    out = subprocess.run(["ps", "-e", "-o", "pid=,ppid="], capture_output=True, text=True).stdout
    children: dict[int, list[int]] = {}
    for line in out.splitlines():
        child, parent = (int(x) for x in line.split())
        children.setdefault(parent, []).append(child)
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is gone in all but name
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(") ", 1)[1][0] != "Z"


def test_ctrl_c_leaves_no_process_and_no_bound_port(tmp_path: Path):
    p = Platform(tmp_path)
    try:
        p.wait_ready()
        spawned = descendants(p.proc.pid)
        assert len(spawned) >= 6  # broker, SMTP sink and four services at least
    finally:
        code = p.stop()
    assert code in (0, 130), "".join(p.output[-40:])
    assert [pid for pid in spawned if alive(pid)] == []
    for port in p.ports():
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", port))  # raises if anything still listens


def test_one_trace_follows_a_complaint_across_every_service(tmp_path: Path):
    traces = tmp_path / "traces"
    traces.mkdir()
    p = Platform(tmp_path, trace_file=str(traces / "{service}.jsonl"))

    def spans(service: str) -> list[dict]:
        path = traces / f"{service}.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    # each hop: the service, and the event it processes inside the complaint's trace
    hops = {
        "routing": "process ComplaintReceived",
        "escalation": "process ComplaintRouted",
        "notifications": "process ComplaintReceived",
        "intake": "process ComplaintRouted",  # the case file sees the routed event come back
    }
    try:
        p.wait_ready()
        stub = intake_pb2_grpc.IntakeServiceStub(p.channel("intake"))
        stub.SubmitComplaint(
            intake_pb2.SubmitComplaintRequest(
                draft=c.ComplaintDraft(
                    channel=c.CHANNEL_EMAIL,
                    customer=c.CustomerIdentifiers(email="trace@example.com"),
                    body="The heater I bought last week stopped working.",
                )
            ),
            timeout=10,
        )
        seen: dict[str, list[str]] = {}
        deadline = time.monotonic() + 60
        while True:
            submits = [s for s in spans("intake") if s["name"].endswith("SubmitComplaint")]
            if submits:
                trace_id = submits[0]["context"]["trace_id"]
                seen = {
                    svc: [s["name"] for s in spans(svc) if s["context"]["trace_id"] == trace_id]
                    for svc in hops
                }
                if all(any(hop in name for name in seen[svc]) for svc, hop in hops.items()):
                    break
            assert time.monotonic() < deadline, f"trace incomplete after 60 s: {seen or 'no submit span'}"
            time.sleep(0.2)
    finally:
        p.stop()
