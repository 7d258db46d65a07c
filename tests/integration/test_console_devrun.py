"""`make run` as a real process tree: devrun starts the broker, the SMTP sink and the four services,
prints its ready line, restarts a service that dies (the broker and its in-memory topics live on),
and leaves no process and no bound port behind when it is stopped."""

from __future__ import annotations

import contextlib
import io
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc
import pytest

from services.common.auth import authorized_channel
from services.common.broker import free_port
from services.common.pb.haq.v1 import complaint_pb2 as c
from services.common.pb.haq.v1 import intake_pb2, intake_pb2_grpc
from services.common.settings import SERVICES, Settings
from services.common.tail import collect
from services.common.topics import LIFECYCLE_TOPIC
from services.console import devrun
from services.console.devrun import READY_LINE
from tests.conftest import REPO, make_settings, settings_env, wait_serving

pytestmark = pytest.mark.integration

STARTED = re.compile(r"\|\s*(\S+) started \(pid=(\d+)\)")
ALL_PROCESSES = {"broker", "smtp", *SERVICES, "dashboard", "portal"}


class DevRun:
    """`python -m services.console.devrun` with its output collected line by line."""

    def __init__(self, settings: Settings, **env_overrides: str):
        env = settings_env(settings)
        env.update(env_overrides)
        self.settings = settings
        self.dashboard_port = int(env["HAQ_DASHBOARD_PORT"])
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "services.console.devrun", "--ready-timeout", "150"],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # our own group: a Ctrl-C on pytest does not reach it
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in line for line in self.lines):
                return
            if self.proc.poll() is not None:
                self._reader.join(5)
                if any(text in line for line in self.lines):
                    return
                pytest.fail(f"devrun exited ({self.proc.returncode}) before {text!r}:\n{self.output[-6000:]}")
            time.sleep(0.2)
        pytest.fail(f"no {text!r} after {timeout}s:\n{self.output[-6000:]}")

    def children(self) -> dict[str, int]:
        return {m.group(1): int(m.group(2)) for line in self.lines if (m := STARTED.search(line))}

    def wait_exit(self, timeout: float) -> int:
        rc = self.proc.wait(timeout)
        self._reader.join(5)
        return rc

    def cleanup(self) -> None:
        """After a failed test only: SIGKILL the process groups this test started (the children's,
        read off devrun's output, then devrun's own), so a failure leaves no orphans either."""
        if self.proc.poll() is None or any(not gone(pid) for pid in self.children().values()):
            for pgid in [*self.children().values(), self.proc.pid]:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pgid, signal.SIGKILL)
            self.proc.wait(10)


def all_ports(settings: Settings, dashboard_port: int) -> dict[str, int]:
    ports = {
        "broker": int(settings.kafka_bootstrap.rsplit(":", 1)[1]),
        "smtp": settings.smtp_port,
        "dashboard": dashboard_port,
    }
    for svc in SERVICES:
        ports[f"{svc} gRPC"] = settings.grpc_port(svc)
        ports[f"{svc} HTTP"] = settings.http_port(svc)
    return ports


def listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def bindable(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is not "bound"
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def gone(pid: int) -> bool:
    """Neither the process nor anything else in its process group is left."""
    for probe in (os.kill, os.killpg):
        try:
            probe(pid, 0)
        except ProcessLookupError:
            continue
        return False
    return True


def assert_nothing_left(run: DevRun, pids: dict[str, int]) -> None:
    deadline = time.monotonic() + 10  # the kernel may take a moment to release a socket
    while time.monotonic() < deadline:
        left = [name for name, pid in pids.items() if not gone(pid)]
        bound = [
            f"{name}:{port}"
            for name, port in all_ports(run.settings, run.dashboard_port).items()
            if not bindable(port)
        ]
        if not left and not bound:
            return
        time.sleep(0.2)
    pytest.fail(f"left behind: processes {left}, ports {bound}\n{run.output[-4000:]}")


def test_devrun_starts_everything_and_ctrl_c_leaves_nothing_behind(tmp_path: Path):
    data = tmp_path / "var"
    (data / "mail").mkdir(parents=True)
    (data / "mail" / "earlier.eml").write_bytes(b"Subject: kept\r\n\r\nkept\r\n")
    # A database of an earlier run: intake could not even open it, so devrun must remove it.
    (data / "intake.db").write_bytes(b"not a database, left by an earlier run")
    (data / "routing.db-wal").write_bytes(b"junk")
    settings = make_settings(data, f"127.0.0.1:{free_port()}")
    run = DevRun(settings)
    try:
        run.wait_for(READY_LINE, timeout=180)
        pids = run.children()
        assert set(pids) == ALL_PROCESSES, run.output[-4000:]
        for name, port in all_ports(settings, run.dashboard_port).items():
            assert listening(port), f"{name} not listening on {port}"
        assert f"gRPC {settings.grpc_target('intake')}" in run.output
        assert f"http://127.0.0.1:{settings.http_port('intake')}/v1/events" in run.output
        assert "haq submit" in run.output and "haq show" in run.output
        assert f"dashboard      http://127.0.0.1:{run.dashboard_port}/" in run.output
        assert (data / "mail" / "earlier.eml").exists()
        assert (data / "intake.db").read_bytes()[:16] == b"SQLite format 3\x00"
        assert not (data / "routing.db-wal").exists() or (data / "routing.db-wal").read_bytes() != b"junk"

        run.proc.send_signal(signal.SIGINT)
        assert run.wait_exit(timeout=60) == 0, run.output[-4000:]
        assert_nothing_left(run, pids)
        assert "sending SIGTERM to broker" in run.output
    finally:
        run.cleanup()


def test_a_service_that_cannot_start_stops_the_platform_with_a_clear_message(tmp_path: Path):
    blocker = tmp_path / "a-file"
    blocker.write_text("routing's database cannot live under a file")
    settings = make_settings(
        tmp_path / "var", f"127.0.0.1:{free_port()}", routing_database_url=f"sqlite:///{blocker}/routing.db"
    )
    run = DevRun(settings)
    try:
        rc = run.wait_exit(timeout=120)
        pids = run.children()
        assert rc == 1, run.output[-4000:]
        assert "FAILED: routing exited" in run.output, run.output[-4000:]
        assert READY_LINE not in run.output
        assert_nothing_left(run, pids)
    finally:
        run.cleanup()


def test_sigterm_stops_it_as_well(tmp_path: Path):
    settings = make_settings(tmp_path / "var", f"127.0.0.1:{free_port()}")
    run = DevRun(settings)
    try:
        run.wait_for(READY_LINE, timeout=180)
        pids = run.children()
        run.proc.terminate()
        assert run.wait_exit(timeout=60) == 0, run.output[-4000:]
        assert_nothing_left(run, pids)
    finally:
        run.cleanup()


def routed_case(
    intake: intake_pb2_grpc.IntakeServiceStub, reference: str, timeout: float
) -> intake_pb2.CaseFile:
    """The case file once routing's answer came back over the broker (it names a team)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            case = intake.GetComplaint(intake_pb2.GetComplaintRequest(complaint=reference), timeout=5)
            if case.team:
                return case
        except grpc.RpcError as exc:
            if exc.code() not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                raise
        if time.monotonic() > deadline:
            pytest.fail(f"{reference} not routed within {timeout} s")
        time.sleep(0.3)


def submit(intake: intake_pb2_grpc.IntakeServiceStub, email: str) -> intake_pb2.SubmitComplaintResponse:
    draft = c.ComplaintDraft(
        channel=c.CHANNEL_EMAIL,
        sector=c.SECTOR_HEALTHCARE,
        customer=c.CustomerIdentifiers(email=email),
        subject="نوبت جراحی",
        body="نوبت جراحی من دو بار لغو شد و کسی پاسخ نمی‌دهد.",
    )
    return intake.SubmitComplaint(intake_pb2.SubmitComplaintRequest(draft=draft), timeout=10)


def test_a_killed_service_comes_back_and_the_broker_keeps_its_events(tmp_path: Path):
    settings = make_settings(tmp_path / "var", f"127.0.0.1:{free_port()}")
    run = DevRun(settings)
    try:
        run.wait_for(READY_LINE, timeout=180)
        before = run.children()
        token = (settings.data_dir / "tokens" / "developer.token").read_text().strip()
        with authorized_channel(settings.grpc_target("intake"), token) as channel:
            intake = intake_pb2_grpc.IntakeServiceStub(channel)
            first = submit(intake, "sara@example.com")
            routed_case(intake, first.reference, timeout=60)

            os.kill(before["intake"], signal.SIGKILL)
            deadline = time.monotonic() + 60
            while run.children()["intake"] == before["intake"]:
                assert run.proc.poll() is None, (
                    f"devrun exited ({run.proc.returncode}):\n{run.output[-4000:]}"
                )
                assert time.monotonic() < deadline, f"intake not restarted:\n{run.output[-4000:]}"
                time.sleep(0.2)
            wait_serving(settings.grpc_target("intake"), timeout=120)

            assert run.proc.poll() is None, run.output[-4000:]
            assert "Stopping everything" not in run.output
            now = run.children()
            assert {n: p for n, p in now.items() if n != "intake"} == {
                n: p for n, p in before.items() if n != "intake"
            }, "only intake may have been restarted"
            assert not gone(now["broker"])

            # The complaint from before the kill, and its event on the broker's in-memory topic.
            case = intake.GetComplaint(intake_pb2.GetComplaintRequest(complaint=first.reference), timeout=5)
            assert case.complaint.id == first.complaint_id and case.team
            events = collect(
                settings,
                LIFECYCLE_TOPIC,
                until=lambda seen: any(r.envelope and r.envelope.subject == first.complaint_id for r in seen),
                timeout=30,
            )
            assert any(
                r.envelope
                and r.envelope.subject == first.complaint_id
                and r.envelope.name == "ComplaintReceived"
                for r in events
            ), "the broker lost the events from before the kill"
            # and the platform still works end to end: a new complaint is routed as well
            second = submit(intake, "maryam@example.com")
            routed_case(intake, second.reference, timeout=90)

        run.proc.send_signal(signal.SIGINT)
        assert run.wait_exit(timeout=60) == 0, run.output[-4000:]
        assert_nothing_left(run, {**run.children(), "intake (killed)": before["intake"]})
    finally:
        run.cleanup()


def tiny_supervisor(**flaky: str) -> tuple[devrun.Supervisor, io.StringIO]:
    """A Supervisor over small Python processes (a stand-in broker, a steady one and the given
    ones), past its READY line, with a fast restart policy."""
    out = io.StringIO()
    policy = devrun.RestartPolicy(first_delay=0.05, max_delay=0.2, stable_after=60, max_crashes=3, window=60)
    sup = devrun.Supervisor(Settings(), ready_timeout=1, printer=devrun.LockedPrinter(out), policy=policy)
    sleeper = [sys.executable, "-c", "import time; time.sleep(120)"]
    specs = [devrun.ProcessSpec("broker", sleeper), devrun.ProcessSpec("steady", sleeper)]
    specs += [devrun.ProcessSpec(name, [sys.executable, "-c", code]) for name, code in flaky.items()]
    sup.add_processes(specs, dict(os.environ))
    for child in sup.children.values():
        sup._spawn(child)
    sup.ready.set()
    return sup, out


def supervise_until(sup: devrun.Supervisor, done, out: io.StringIO, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, out.getvalue()
        sup._supervise()
        time.sleep(0.02)


def test_a_crash_loop_gives_up_that_process_alone():
    sup, out = tiny_supervisor(flaky="print('boom: no config'); raise SystemExit(3)")
    first = {name: child.proc for name, child in sup.children.items()}
    try:
        supervise_until(sup, lambda: sup.children["flaky"].state == devrun.GAVE_UP, out)
        text = out.getvalue()
        assert text.count("flaky started") == 3 and "flaky crashed (rc=3); restarting it in" in text
        assert "GAVE UP on flaky after 3 crashes" in text and "boom: no config" in text, text
        for name in ("broker", "steady"):
            assert sup.children[name].proc is first[name] and first[name].poll() is None
        assert sup.failed is None
    finally:
        sup._shutdown()
    assert all(child.proc.poll() is not None for child in sup.children.values())
    assert "sending SIGTERM to broker" in out.getvalue()


def test_the_broker_dying_is_fatal():
    sup, out = tiny_supervisor()
    try:
        sup.children["broker"].proc.kill()
        supervise_until(sup, lambda: sup.failed is not None, out)
        assert "FAILED: the broker exited (rc=-9, SIGKILL)" in out.getvalue()
        assert "events of this run are gone" in sup.failed
        assert sup.children["steady"].proc.poll() is None  # stopping is the shutdown's job
    finally:
        sup._shutdown()
    assert sup.children["steady"].proc.poll() is not None
