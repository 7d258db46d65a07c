"""Shared fixtures: the real local broker, settings on free ports, and service processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.common import topics
from services.common.broker import free_port
from services.common.settings import SERVICES, Settings
from tests.backends import BackendUnavailable, Broker, chosen_backend, start_broker

REPO = Path(__file__).resolve().parents[1]


def pytest_configure(config: pytest.Config) -> None:
    try:
        chosen_backend()  # a misspelt HAQ_TEST_BACKEND stops the run before any test starts
    except BackendUnavailable as exc:
        raise pytest.UsageError(str(exc)) from exc


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    """A fresh real broker for each test (tansu here; Apache Kafka with HAQ_TEST_BACKEND=
    testcontainers, see tests/backends.py): a test never waits for a previous test's
    consumer-group member to time out, nor sees its events."""
    b = start_broker(tmp_path / "tansu.log")
    yield b
    b.stop()


def make_settings(data_dir: Path, bootstrap: str, **overrides: object) -> Settings:
    """Settings with every port free and every database under data_dir."""
    ports: dict[str, object] = {}
    for svc in SERVICES:
        ports[f"{svc}_grpc_port"] = free_port()
        ports[f"{svc}_http_port"] = free_port()
    values: dict[str, object] = {
        "kafka_bootstrap": bootstrap,
        "data_dir": data_dir,
        "smtp_port": free_port(),
        **ports,
        **overrides,
    }
    return Settings(**values)


@pytest.fixture
def settings(tmp_path: Path, broker: Broker) -> Settings:
    s = make_settings(tmp_path, broker.bootstrap)
    topics.ensure_topics(s)
    return s


def settings_env(settings: Settings) -> dict[str, str]:
    """The HAQ_* environment that reproduces `settings` in a child process."""
    env = dict(os.environ)
    for name, value in settings.model_dump().items():
        env[f"HAQ_{name.upper()}"] = str(value)
    # The dashboard has its own settings class; keep it off the default port unless a test chose one.
    env.setdefault("HAQ_DASHBOARD_PORT", str(free_port()))
    # The portal likewise (devrun starts it too); its links point at the port it got.
    portal = env.setdefault("HAQ_PORTAL_PORT", str(free_port()))
    env.setdefault("HAQ_PORTAL_PUBLIC_URL", f"http://127.0.0.1:{portal}")
    return env


class ServiceProcess:
    """A service started as `python -m services.<name>`, exactly as `make run` starts it."""

    def __init__(self, name: str, settings: Settings, log_dir: Path):
        self.name = name
        self.settings = settings
        self.log_path = log_dir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, wait: bool = True, **env_overrides: str) -> ServiceProcess:
        env = settings_env(self.settings)
        env.update(env_overrides)
        log = open(self.log_path, "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", f"services.{self.name}"], cwd=REPO, env=env, stdout=log, stderr=log
        )
        if wait:
            wait_serving(self.settings.grpc_target(self.name), timeout=60, proc=self.proc, log=self.log_path)
        return self

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no flushing."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def wait_serving(
    target: str, timeout: float = 60, proc: subprocess.Popen[bytes] | None = None, log: Path | None = None
) -> None:
    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            if proc is not None and proc.poll() is not None:
                tail = log.read_text()[-3000:] if log else ""
                raise RuntimeError(f"service at {target} exited with {proc.returncode}:\n{tail}")
            try:
                resp = stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
                if resp.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.2)
    tail = log.read_text()[-3000:] if log else ""
    raise TimeoutError(f"{target} not SERVING after {timeout}s\n{tail}")


@pytest.fixture
def start_service(settings: Settings, tmp_path: Path) -> Iterator:
    started: list[ServiceProcess] = []

    def _start(name: str, wait: bool = True, **env: str) -> ServiceProcess:
        proc = ServiceProcess(name, settings, tmp_path).start(wait=wait, **env)
        started.append(proc)
        return proc

    yield _start
    for proc in started:
        proc.stop()
