"""`make run`: the whole platform on one machine, on the embedded defaults.

    python -m services.console.devrun [--ready-timeout SECONDS]   (or HAQ_READY_TIMEOUT_S; default 120)

Starts, under honcho's process manager (each process in its own process group, output
multiplexed with a name prefix):

1. the local Kafka-protocol broker (tansu, in memory) on HAQ_KAFKA_BOOTSTRAP; waits for its port
   and creates the topics (`services.common.topics.ensure_topics`);
2. the SMTP sink (`python -m services.console.smtp_sink`), saving mail under `<data dir>/mail/`;
3. intake, routing, escalation and notifications (`python -m services.<name>`), all with the same
   environment;
4. the ops dashboard (`python -m services.console.dashboard`) on HAQ_DASHBOARD_PORT (8090);

then waits until every service answers SERVING on the standard gRPC health check and the dashboard
answers /healthz, and prints the endpoints and a copy-paste example. Ctrl-C or SIGTERM stops everything: the SMTP sink and the
services first (they may still flush their outbox and leave their consumer groups), the broker
last; honcho signals whole process groups and SIGKILLs whatever is left after KILL_WAIT, so no
process and no bound port outlives this command. Exit status: 0 after Ctrl-C or SIGTERM; 1 when
something did not come up or ended on its own (a line starting "FAILED:" says which and why).

Auth: every run signs its tokens with a fresh random secret (HAQ_AUTH_SECRET, passed to every
child; an HAQ_AUTH_SECRET already set is kept), mints one development token per role into
`<data dir>/tokens/<name>.token` (services/console/tokens.py) and prints how to use them. The
dashboard calls the services with the ops token; the `haq` CLI finds the developer token itself.

Data: the SQLite databases live in HAQ_DATA_DIR (`var/`). The local broker keeps everything in
memory, so each run starts with empty topics; databases from a previous run would still hold
outbox rows, processed-event markers and case files that refer to events and offsets the new broker
never had. So every start removes `<data dir>/*.db*` first, unless HAQ_KEEP_DATA=1. Mail saved by
the sink is kept. Databases configured by URL (HAQ_<SERVICE>_DATABASE_URL) are never touched.
"""

from __future__ import annotations

import argparse
import importlib.util
import multiprocessing
import os
import secrets
import shlex
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import grpc
import honcho.manager
from grpc_health.v1 import health_pb2, health_pb2_grpc
from honcho.manager import Manager
from honcho.printer import Message, Printer
from tenacity import stop_after_delay, stop_when_event_set

from services.common import topics
from services.common.broker import broker_command
from services.common.settings import SERVICES, Settings, get_settings

from .dashboard.settings import DashboardSettings
from .smtp_sink import mail_dir
from .tokens import DASHBOARD_LOGIN, DEV_TOKENS, read_token, tokens_dir, write_dev_tokens

REPO = Path(__file__).resolve().parents[2]
BROKER = "broker"
SMTP = "smtp"
DASHBOARD = "dashboard"
ME = "devrun"
READY_LINE = "Haq is ready."
STOPPED_ON_REQUEST = (130, 143)  # honcho's return codes after SIGINT / SIGTERM
DEFAULT_READY_TIMEOUT_S = 120.0
# Seconds between SIGTERM and SIGKILL. honcho's default (5 s) is shorter than a faust worker
# needs to flush its outbox and leave its consumer group, which then happens on every Ctrl-C.
honcho.manager.KILL_WAIT = 20


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    argv: list[str]

    @property
    def command(self) -> str:
        # honcho runs commands through `sh -c`; exec replaces the shell, so the pid honcho reports
        # (and the process group it signals) is the program itself.
        return "exec " + shlex.join(self.argv)


def broker_address(settings: Settings) -> tuple[str, int]:
    first = settings.kafka_bootstrap.split(",")[0].strip()
    host, _, port = first.rpartition(":")
    return host or "127.0.0.1", int(port)


def plan(settings: Settings, python: str = sys.executable) -> list[ProcessSpec]:
    host, port = broker_address(settings)
    return [
        ProcessSpec(BROKER, broker_command(host, port)),
        ProcessSpec(SMTP, [python, "-m", "services.console.smtp_sink"]),
        *(ProcessSpec(svc, [python, "-m", f"services.{svc}"]) for svc in SERVICES),
        ProcessSpec(DASHBOARD, [python, "-m", "services.console.dashboard"]),
    ]


def child_env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    # Children run with cwd=REPO; pin the data dir so a relative one means the same folder.
    env["HAQ_DATA_DIR"] = str(settings.data_dir.resolve())
    if settings.auth_secret:
        env["HAQ_AUTH_SECRET"] = settings.auth_secret
        ops = tokens_dir(settings) / f"{DASHBOARD_LOGIN}.token"
        if ops.is_file() and not env.get("HAQ_DASHBOARD_GRPC_TOKEN"):
            env["HAQ_DASHBOARD_GRPC_TOKEN"] = read_token(ops)  # the dashboard reads as ops
    return env


def with_dev_secret(settings: Settings) -> Settings:
    """The settings with a fresh random auth secret, unless one is configured."""
    if settings.auth_secret:
        return settings
    return settings.model_copy(update={"auth_secret": secrets.token_urlsafe(32)})


def token_lines(settings: Settings, dashboard: DashboardSettings) -> list[str]:
    """How to use the development tokens: one line each, and the dashboard's login URL."""
    if not settings.auth_secret:
        return []
    folder = tokens_dir(settings)
    lines = [f"Auth is on; development tokens in {folder} (valid for this run only):"]
    for spec in DEV_TOKENS:
        path = folder / f"{spec.name}.token"
        lines.append(f"  {spec.name:<12} {path}  ({spec.use})")
    lines += [
        f'  use one:     haq --token "$(cat {folder}/agent.token)" case queue --agent reza.karimi',
        f'               curl -H "authorization: Bearer $(cat {folder}/integration.token)" …/v1/events',
    ]
    ops = folder / f"{DASHBOARD_LOGIN}.token"
    if ops.is_file():
        lines.append(f"  dashboard login: {dashboard.url(settings.http_host)}?token={read_token(ops)}")
    return lines


def ports_in_use(settings: Settings, dashboard: DashboardSettings | None = None) -> list[str]:
    """What would collide with a listener that is already there (another `make run`?)."""
    dashboard = dashboard or DashboardSettings()
    wanted = [("broker", *broker_address(settings)), ("SMTP sink", settings.smtp_host, settings.smtp_port)]
    for svc in SERVICES:
        wanted.append((f"{svc} gRPC", settings.grpc_host, settings.grpc_port(svc)))
        wanted.append((f"{svc} HTTP", settings.http_host, settings.http_port(svc)))
    wanted.append(("dashboard", settings.http_host, dashboard.port))
    busy = []
    for label, host, port in wanted:
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((host, port))
            except OSError:
                busy.append(f"{host}:{port} ({label})")
    return busy


def missing_services() -> list[str]:
    return [svc for svc in SERVICES if importlib.util.find_spec(f"services.{svc}.__main__") is None]


def clean_data(settings: Settings, keep: bool) -> list[Path]:
    """Remove the SQLite files of the previous run (see the module docstring)."""
    data_dir = settings.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    if keep:
        return []
    removed = []
    for path in sorted(data_dir.glob("*.db*")):
        if path.is_file():
            path.unlink()
            removed.append(path)
    return removed


def banner(settings: Settings, dashboard: DashboardSettings | None = None) -> list[str]:
    dashboard = dashboard or DashboardSettings()
    host, port = broker_address(settings)
    lines = [
        READY_LINE,
        f"  dashboard      {dashboard.url(settings.http_host)}  (live flow, SLA, queues, charts, case files)",
        f"  broker         {host}:{port}  (Kafka protocol, in memory: empty at every start)",
    ]
    for svc in SERVICES:
        http = f"http://{settings.http_host}:{settings.http_port(svc)}"
        extra = f"  CloudEvents {http}/v1/events" if svc == "intake" else ""
        lines.append(f"  {svc:<14} gRPC {settings.grpc_target(svc)}  metrics {http}/metrics{extra}")
    lines += [
        f"  SMTP sink      {settings.smtp_host}:{settings.smtp_port}  mail saved in {mail_dir(settings)}",
        f"  data           {settings.data_dir.resolve()}  (SQLite; cleared at start unless HAQ_KEEP_DATA=1)",
        *token_lines(settings, dashboard),
        "Try it from another shell (haq finds the developer token by itself):",
    ]
    # The other shell may not have this one's HAQ_* variables: name any address that is not a default.
    defaults = Settings.model_construct()
    intake = settings.grpc_target("intake")
    target = "" if intake == defaults.grpc_target("intake") else f" --intake {intake}"
    kafka = (
        "" if settings.kafka_bootstrap == defaults.kafka_bootstrap else f" --kafka {settings.kafka_bootstrap}"
    )
    lines += [
        f"  haq submit{target} --channel email --sector healthcare --customer-email sara@example.com \\",
        "      --subject 'نوبت جراحی' --body 'نوبت جراحی من دو بار لغو شد و کسی پاسخ نمی‌دهد.'",
        f"  haq show{target} <reference> --json",
        f"  haq watch{kafka}            (or --summary, --sector healthcare, --team …, --priority high)",
        "Ctrl-C stops everything.",
    ]
    return lines


class LockedPrinter(Printer):
    """honcho's printer, safe to call from the health-check thread as well as the main loop."""

    def __init__(self, *args: object, **kwargs: object):
        super().__init__(*args, **kwargs)
        self._lock = threading.Lock()

    def write(self, message: Message) -> None:
        with self._lock:
            super().write(message)


class PlatformManager(Manager):
    """honcho's Manager with the start-up order and the shutdown order the platform needs.

    Start: the broker alone; once its port answers and the topics exist, everything else; then a
    thread waits for every service's gRPC health check. Stop: everything but the broker, then the
    broker once the others are gone (or KILL_WAIT passes, when honcho SIGKILLs what is left).
    """

    def __init__(
        self,
        settings: Settings,
        ready_timeout: float,
        printer: Printer | None = None,
        dashboard: DashboardSettings | None = None,
    ):
        super().__init__(printer or LockedPrinter(sys.stdout))
        self.settings = settings
        self.dashboard = dashboard or DashboardSettings()
        self.ready_timeout = ready_timeout
        self.ready = threading.Event()
        self.failed: str | None = None
        self._stopping = threading.Event()

    def add_processes(self, specs: list[ProcessSpec], env: dict[str, str]) -> None:
        for spec in specs:
            self.add_process(spec.name, spec.command, env=env, cwd=str(REPO))
        self._printer.width = max(self._printer.width, len(ME))

    # -- output -------------------------------------------------------------------------------

    def say(self, text: str) -> None:
        for line in text.splitlines() or [""]:
            self._printer.write(Message("line", line + "\n", self._clock.now(), ME, None))

    # -- start ----------------------------------------------------------------------------------

    def _spawn(self, name: str) -> None:
        # What honcho's own _start does for every process at once, here one process at a time.
        entry = self._processes[name]
        entry["process"] = multiprocessing.Process(
            name=name, target=entry["obj"].run, args=(self.events, True)
        )
        entry["process"].start()

    def _start(self) -> None:
        later = {name: self._processes.pop(name) for name in list(self._processes) if name != BROKER}
        self._spawn(BROKER)
        if not self._prepare_broker():
            self.terminate()
            return  # the others were never started; loop() ends once the broker has stopped
        self._processes.update(later)
        for name in later:
            self._spawn(name)
        threading.Thread(target=self._watch, name="devrun-watch", daemon=True).start()

    def _prepare_broker(self) -> bool:
        host, port = broker_address(self.settings)
        broker = self._processes[BROKER]["process"]
        deadline = time.monotonic() + 30
        while not self._stopping.is_set():
            with socket.socket() as s:
                s.settimeout(0.5)
                if s.connect_ex((host, port)) == 0:
                    break
            if not broker.is_alive():
                self._fail(f"the broker exited before it listened on {host}:{port}; its output is above")
                return False
            if time.monotonic() > deadline:
                self._fail(f"the broker did not listen on {host}:{port} within 30 s")
                return False
            time.sleep(0.1)
        if self._stopping.is_set():
            return False
        try:
            topics.ensure_topics.retry_with(stop=stop_after_delay(30) | stop_when_event_set(self._stopping))(
                self.settings
            )
        except Exception as exc:
            if self._stopping.is_set():
                return False
            self._fail(f"could not create the topics on {host}:{port}: {exc}")
            return False
        self.say(
            f"broker up on {host}:{port}; topics ready: {', '.join(t.name for t in topics.all_topics(self.settings))}"
        )
        return True

    def _watch(self) -> None:
        """Wait for every service's SERVING (and the dashboard's /healthz), print the banner, then
        keep watching: a process that ends on its own (before or after ready) is named, and honcho
        stops the rest."""
        pending = [*SERVICES, DASHBOARD]
        deadline = time.monotonic() + self.ready_timeout
        channels = {svc: grpc.insecure_channel(self.settings.grpc_target(svc)) for svc in SERVICES}
        try:
            while True:
                # honcho records a return code before it starts stopping the others, so an
                # unexpected exit is seen here before _stopping is.
                ended = [(n, p["returncode"]) for n, p in self._processes.items() if "returncode" in p]
                if ended:
                    name, rc = ended[0]
                    when = "before it reported SERVING" if name in pending else "unexpectedly"
                    self._fail(f"{name} exited (rc={rc}) {when}; its output is above")
                    return
                if self._stopping.is_set():
                    return
                for svc in list(pending):
                    if svc == DASHBOARD:
                        if self._dashboard_up():
                            pending.remove(svc)
                            self.say(f"dashboard is up on {self.dashboard.url(self.settings.http_host)}")
                    elif self._serving(channels[svc]):
                        pending.remove(svc)
                        self.say(f"{svc} is SERVING on {self.settings.grpc_target(svc)}")
                    if not pending:
                        self.say("\n".join(banner(self.settings, self.dashboard)))
                        self.ready.set()
                if pending and time.monotonic() > deadline:
                    self._fail(
                        f"{', '.join(pending)} did not report SERVING (the dashboard: answer /healthz) within "
                        f"{self.ready_timeout:g} s; the output above says why (raise --ready-timeout "
                        "if the machine is just slow)"
                    )
                    return
                self._stopping.wait(0.25 if pending else 0.5)
        finally:
            for channel in channels.values():
                channel.close()

    def _dashboard_up(self) -> bool:
        # /healthz answers as soon as the page server listens (even while the broker is still away).
        url = self.dashboard.url(self.settings.http_host) + "healthz"
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                return resp.status == 200
        except (urllib.error.URLError, OSError):
            return False

    @staticmethod
    def _serving(channel: grpc.Channel) -> bool:
        try:
            resp = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=1)
        except grpc.RpcError:
            return False
        return resp.status == health_pb2.HealthCheckResponse.SERVING

    def _fail(self, reason: str) -> None:
        if self.failed is None and self.returncode not in STOPPED_ON_REQUEST:
            self.failed = reason
            self.say(f"FAILED: {reason}. Stopping everything.")
            self.terminate()

    # -- stop -----------------------------------------------------------------------------------

    def terminate(self) -> None:
        self._stopping.set()
        super().terminate()

    def _killall(self, force: bool = False) -> None:
        running = [n for n, p in self._processes.items() if "returncode" not in p and "process" in p]
        if force:
            for name in running:
                self._signal(name, force=True)
            return
        for name in running:
            if name != BROKER:
                self._signal(name, force=False)
        if BROKER in running:
            threading.Thread(target=self._stop_broker_last, name="devrun-stop-broker", daemon=True).start()

    def _stop_broker_last(self) -> None:
        """SIGTERM the broker once the others have stopped, or shortly before honcho's SIGKILL."""
        deadline = time.monotonic() + max(1.0, honcho.manager.KILL_WAIT - 2)
        while time.monotonic() < deadline:
            others = [p for n, p in self._processes.items() if n != BROKER and "process" in p]
            if all("returncode" in p for p in others):
                break
            time.sleep(0.1)
        self._signal(BROKER, force=False)

    def _signal(self, name: str, force: bool) -> None:
        """Signal the process group of `name`; when its pid is not known yet (it was spawned a moment
        ago and the main loop has not read its start message), wait for it in the background."""
        entry = self._processes[name]
        if entry.get("pid") is None:
            threading.Thread(target=self._signal_when_started, args=(name, force), daemon=True).start()
            return
        self._system_print(f"sending {'SIGKILL' if force else 'SIGTERM'} to {name} (pid {entry['pid']})\n")
        if force:
            self._procmgr.kill(entry["pid"])
        else:
            self._procmgr.terminate(entry["pid"])

    def _signal_when_started(self, name: str, force: bool) -> None:
        entry = self._processes[name]
        deadline = time.monotonic() + 10
        while entry.get("pid") is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if entry.get("pid") is not None and "returncode" not in entry:
            self._signal(name, force)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.console.devrun", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--ready-timeout",
        type=float,
        default=float(os.environ.get("HAQ_READY_TIMEOUT_S", DEFAULT_READY_TIMEOUT_S)),
        help="seconds to wait for every service to report SERVING (default %(default)s)",
    )
    args = parser.parse_args(argv)
    settings = with_dev_secret(get_settings())

    missing = missing_services()
    if missing:
        print(f"devrun: cannot start {', '.join(missing)}: no services/<name>/__main__.py", file=sys.stderr)
        return 1
    busy = ports_in_use(settings)
    if busy:
        print(
            "devrun: these ports are already in use (another `make run`?): " + ", ".join(busy),
            file=sys.stderr,
        )
        return 1
    keep = os.environ.get("HAQ_KEEP_DATA", "") in ("1", "true", "yes")
    removed = clean_data(settings, keep)
    write_dev_tokens(settings)

    manager = PlatformManager(settings, args.ready_timeout)
    manager.add_processes(plan(settings), child_env(settings))
    if keep:
        manager.say(f"HAQ_KEEP_DATA=1: keeping the databases in {settings.data_dir.resolve()}")
    elif removed:
        manager.say(
            f"removed {len(removed)} database file(s) of the previous run from {settings.data_dir.resolve()}"
        )
    manager.loop()
    if manager.failed:
        return 1
    if manager.returncode in STOPPED_ON_REQUEST:
        manager.say("all processes stopped")
        return 0
    return manager.returncode or 1


if __name__ == "__main__":
    sys.exit(main())
