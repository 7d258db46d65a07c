"""`make run`: the whole platform on one machine, on the embedded defaults.

    python -m services.console.devrun [--ready-timeout SECONDS] [--keep-data]
        (HAQ_READY_TIMEOUT_S, default 120; HAQ_KEEP_DATA=1 is --keep-data)

Starts, under a small supervisor of its own (each process in its own process group, output
multiplexed with a name prefix by honcho's printer):

1. the local Kafka-protocol broker (tansu, in memory) on HAQ_KAFKA_BOOTSTRAP; waits for its port
   and creates the topics (`services.common.topics.ensure_topics`);
2. the SMTP sink (`python -m services.console.smtp_sink`), saving mail under `<data dir>/mail/`;
3. intake, routing, escalation and notifications (`python -m services.<name>`), all with the same
   environment;
4. the ops dashboard (`python -m services.console.dashboard`) on HAQ_DASHBOARD_PORT (8090);

then waits until every service answers SERVING on the standard gRPC health check and the dashboard
answers /healthz, and prints the endpoints and a copy-paste example.

Supervision: before that READY line, a process that exits stops everything (the platform cannot
come up as configured; a line starting "FAILED:" says which and why). After it, a service (intake,
routing, escalation, notifications, the SMTP sink, the dashboard) that exits is restarted after
1 s, 2 s, 4 s … at most 30 s, the delay starting again once a run stayed up 60 s; 5 crashes within
2 minutes is a crash loop: "GAVE UP on <name> after 5 crashes …" with its last lines of output, and
only that service stays down (`RestartPolicy`). A service dying never stops the broker. The broker
dying is fatal, since it kept every topic in memory: FAILED, everything stops, exit 1.

Ctrl-C or SIGTERM stops everything: the SMTP sink and the services first (they may still flush their
outbox and leave their consumer groups), the broker last; whole process groups are signalled and
whatever is left after KILL_WAIT is SIGKILLed (a second Ctrl-C does that at once), so no process and
no bound port outlives this command. Exit status: 0 after Ctrl-C or SIGTERM; 1 when something did
not come up or the broker ended.

Auth: every run signs its tokens with a fresh random secret (HAQ_AUTH_SECRET, passed to every
child; an HAQ_AUTH_SECRET already set is kept), mints one development token per role into
`<data dir>/tokens/<name>.token` (services/console/tokens.py) and prints how to use them. The
dashboard calls the services with the ops token; the `haq` CLI finds the developer token itself.

Data: the SQLite databases live in HAQ_DATA_DIR (`var/`). The local broker keeps everything in
memory, so each run starts with empty topics; databases from a previous run would still hold
outbox rows, processed-event markers and case files that refer to events and offsets the new broker
never had. So every start removes `<data dir>/*.db*` first, unless --keep-data (HAQ_KEEP_DATA=1):
then the databases of the previous run are kept (complaints, case files, cases and clocks, routing's
directory, rule-set versions and holdings, deliveries) and each service migrates its own to the
current schema at start (services/common/migrations.py), so a schema change needs no fresh database.
What is not kept is the broker's: topics, their events and consumer offsets start empty, so the
dashboard's live feed and `haq watch --from-beginning` show only this run's events. Mail saved by
the sink is kept. Databases configured by URL (HAQ_<SERVICE>_DATABASE_URL) are never touched.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import importlib.util
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from honcho.colour import get_colours
from honcho.printer import Message, Printer
from tenacity import stop_after_delay

from services.common import topics
from services.common.broker import broker_command
from services.common.portal_links import get_link_settings
from services.common.settings import SERVICES, Settings, get_settings
from services.intake.settings import MailSettings

from .dashboard.settings import DashboardSettings
from .smtp_sink import mail_dir
from .tokens import DASHBOARD_LOGIN, DEV_TOKENS, read_token, tokens_dir, write_dev_tokens

REPO = Path(__file__).resolve().parents[2]
BROKER = "broker"
SMTP = "smtp"
DASHBOARD = "dashboard"
PORTAL = "portal"
ME = "devrun"  # the prefix of devrun's own messages
SYSTEM = "system"  # the prefix of "started", "stopped", "sending SIGTERM" lines
READY_LINE = "Haq is ready."
DEFAULT_READY_TIMEOUT_S = 120.0
# Seconds between SIGTERM and SIGKILL on stop: a faust worker needs a few to flush its outbox and
# leave its consumer group.
KILL_WAIT = 20
TAIL_LINES = 15  # of a process's output, quoted when it is given up


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    argv: list[str]  # run directly (no shell), so its pid is its process group


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
        ProcessSpec(PORTAL, [python, "-m", "services.portal"]),  # the customer portal (docs/portal.md)
    ]


def child_env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    # Children run with cwd=REPO; pin the data dir so a relative one means the same folder.
    env["HAQ_DATA_DIR"] = str(settings.data_dir.resolve())
    # Intake's email channel: mail to care@haq.local on the SMTP listener becomes a complaint.
    env.setdefault("HAQ_MAIL_SMTP_ENABLED", "1")
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
    mail = MailSettings()
    if mail.smtp_enabled or "HAQ_MAIL_SMTP_ENABLED" not in os.environ:
        wanted.append(("intake SMTP", mail.smtp_host, mail.smtp_port))
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


def keep_data_from_env() -> bool:
    return os.environ.get("HAQ_KEEP_DATA", "").strip().lower() in ("1", "true", "yes")


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
        f"  portal         {get_link_settings().base_url()}/  (customers: submit, follow by one-time link, reply, rate)",
        f"  broker         {host}:{port}  (Kafka protocol, in memory: empty at every start)",
    ]
    for svc in SERVICES:
        http = f"http://{settings.http_host}:{settings.http_port(svc)}"
        extra = f"  CloudEvents {http}/v1/events" if svc == "intake" else ""
        lines.append(f"  {svc:<14} gRPC {settings.grpc_target(svc)}  metrics {http}/metrics{extra}")
    lines += [
        f"  SMTP sink      {settings.smtp_host}:{settings.smtp_port}  mail saved in {mail_dir(settings)}",
        *mail_lines(),
        f"  data           {settings.data_dir.resolve()}  (SQLite; cleared at start unless --keep-data / HAQ_KEEP_DATA=1)",
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


def mail_lines() -> list[str]:
    """The email channel's listener, as child_env turns it on (unless HAQ_MAIL_SMTP_ENABLED says no)."""
    mail = MailSettings()
    if not (mail.smtp_enabled or "HAQ_MAIL_SMTP_ENABLED" not in os.environ):
        return []
    to = next(iter(mail.address_sectors()), "care@haq.local")
    return [
        f"  email in       {mail.smtp_host}:{mail.smtp_port}  mail to {to} becomes a complaint (docs/channels.md)",
        f"                 swaks --server {mail.smtp_host}:{mail.smtp_port} --to {to} --from sara@example.com"
        " --header 'Subject: Late delivery' --body 'My parcel never came.'",
    ]


class LockedPrinter(Printer):
    """honcho's printer (time, padded name, `| `), safe to call from several threads at once."""

    def __init__(self, *args: object, **kwargs: object):
        super().__init__(*args, **kwargs)
        self._lock = threading.Lock()

    def write(self, message: Message) -> None:
        with self._lock:
            super().write(message)


# -- restart policy (pure: times are passed in, nothing sleeps) -----------------------------------


@dataclass(frozen=True)
class RestartPolicy:
    """How a crashed service is restarted: after 1 s, 2 s, 4 s … at most `max_delay`; the delay
    starts again from `first_delay` once a run stayed up `stable_after` seconds; `max_crashes`
    crashes within `window` seconds is a crash loop, and the service is given up."""

    first_delay: float = 1.0
    max_delay: float = 30.0
    stable_after: float = 60.0
    max_crashes: int = 5
    window: float = 120.0


class CrashHistory:
    """The crashes of one process under a RestartPolicy (monotonic seconds in, decisions out)."""

    def __init__(self, policy: RestartPolicy | None = None):
        self.policy = policy or RestartPolicy()
        self._recent: deque[float] = deque()
        self._streak = 0

    @property
    def recent(self) -> int:
        """Crashes inside the policy's window, as of the last one recorded."""
        return len(self._recent)

    def crashed(self, started_at: float, ended_at: float) -> float | None:
        """Record a run that started at `started_at` and crashed at `ended_at`: the seconds to wait
        before starting it again, or None when this crash completes a crash loop (give up)."""
        p = self.policy
        if ended_at - started_at >= p.stable_after:
            self._streak = 0
        self._streak += 1
        self._recent.append(ended_at)
        while self._recent[0] <= ended_at - p.window:
            self._recent.popleft()
        if len(self._recent) >= p.max_crashes:
            return None
        return min(p.max_delay, p.first_delay * 2 ** min(self._streak - 1, 32))


# -- the supervisor -------------------------------------------------------------------------------

STARTING, RUNNING, WAITING, GAVE_UP, STOPPED = "starting", "running", "waiting", "gave up", "stopped"


def exit_status(rc: int) -> str:
    if rc < 0:
        with contextlib.suppress(ValueError):
            return f"rc={rc}, {signal.Signals(-rc).name}"
    return f"rc={rc}"


@dataclass
class Child:
    """One supervised process: its current run (if any) and its history."""

    spec: ProcessSpec
    colour: str
    crashes: CrashHistory
    state: str = STARTING
    proc: subprocess.Popen[bytes] | None = None
    reader: threading.Thread | None = None
    started_at: float = 0.0
    restart_at: float = 0.0
    runs: int = 0
    announced: int = 0  # the run whose SERVING (or /healthz) was last reported
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=TAIL_LINES))

    @property
    def name(self) -> str:
        return self.spec.name


class Supervisor:
    """Runs the platform's processes, each in its own process group with its output prefixed by
    its name, and keeps them running.

    Start: the broker alone; once its port answers and the topics exist, everything else; a
    thread waits for every service's gRPC health check (and the dashboard's /healthz) and prints
    the banner. Before that READY line, any exit is fatal: the platform cannot come up as
    configured. After it, a service that exits is restarted under the RestartPolicy, and one that
    crash-loops is given up alone; the broker exiting is fatal, since its topics were in memory.
    Stop (Ctrl-C, SIGTERM, or a fatal failure): everything but the broker, then the broker once the
    others are gone; whatever is left after KILL_WAIT is SIGKILLed, group and all.

    All process bookkeeping happens on the main thread; signal handlers only record the signal.
    """

    def __init__(
        self,
        settings: Settings,
        ready_timeout: float,
        printer: Printer | None = None,
        dashboard: DashboardSettings | None = None,
        policy: RestartPolicy | None = None,
    ):
        self.settings = settings
        self.dashboard = dashboard or DashboardSettings()
        self.ready_timeout = ready_timeout
        self.policy = policy or RestartPolicy()
        self.ready = threading.Event()
        self.failed: str | None = None
        self.returncode: int | None = None  # 130 / 143 after SIGINT / SIGTERM
        self.children: dict[str, Child] = {}
        self.env: dict[str, str] = {}
        self._printer = printer or LockedPrinter(sys.stdout)
        self._printer.width = max(self._printer.width, len(ME), len(SYSTEM))
        self._colours = get_colours()
        self._stop = threading.Event()
        self._signals: list[int] = []

    def add_processes(self, specs: list[ProcessSpec], env: dict[str, str]) -> None:
        self.env = env
        for spec in specs:
            self.children[spec.name] = Child(spec, next(self._colours), CrashHistory(self.policy))
            self._printer.width = max(self._printer.width, len(spec.name))

    # -- output -------------------------------------------------------------------------------

    def _write(self, name: str, text: str, colour: str | None = None) -> None:
        for line in text.splitlines() or [""]:
            self._printer.write(Message("line", line + "\n", datetime.datetime.now(), name, colour))

    def say(self, text: str) -> None:
        self._write(ME, text)

    def _system(self, text: str) -> None:
        self._write(SYSTEM, text)

    def _pump(self, child: Child, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        for raw in iter(proc.stdout.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            child.tail.append(line)
            self._write(child.name, line, child.colour)
        proc.stdout.close()

    # -- signals ----------------------------------------------------------------------------------

    def _on_signal(self, signum: int, frame: object) -> None:
        self._signals.append(signum)  # nothing else here: the main thread may hold any lock

    def _check_signals(self) -> bool:
        """On the main thread: turn a recorded signal into a stop; True once stopping."""
        if self._signals and self.returncode is None and not self._stop.is_set():
            signum = self._signals[0]
            self._system(f"{signal.Signals(signum).name} received")
            self.returncode = 128 + signum
            self._stop.set()
        return self._stop.is_set()

    def _fail(self, reason: str) -> None:
        if self.failed is None and not self._stop.is_set():
            self.failed = reason
            self.say(f"FAILED: {reason}. Stopping everything.")
            self._stop.set()

    # -- processes --------------------------------------------------------------------------------

    def _spawn(self, child: Child) -> None:
        proc = subprocess.Popen(
            child.spec.argv,
            cwd=REPO,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: signalled as a whole, not by Ctrl-C
        )
        child.proc, child.state, child.started_at = proc, RUNNING, time.monotonic()
        child.runs += 1
        child.reader = threading.Thread(target=self._pump, args=(child, proc), daemon=True)
        child.reader.start()
        self._system(f"{child.name} started (pid={proc.pid})")

    def _reap(self, child: Child) -> int:
        """After its main process ended: SIGKILL anything left in its group, drain its output."""
        assert child.proc is not None and child.proc.returncode is not None
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child.proc.pid, signal.SIGKILL)
        if child.reader is not None:
            child.reader.join(2)
        self._system(f"{child.name} stopped ({exit_status(child.proc.returncode)})")
        return child.proc.returncode

    def _signal(self, child: Child, sig: signal.Signals) -> None:
        assert child.proc is not None
        self._system(f"sending {sig.name} to {child.name} (pid {child.proc.pid})")
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child.proc.pid, sig)

    def _ended(self, child: Child, now: float) -> None:
        rc = self._reap(child)
        status = exit_status(rc)
        if child.name == BROKER:
            child.state = STOPPED
            self._fail(
                f"the broker exited ({status}); it kept every topic in memory, so the events of this "
                "run are gone and the services cannot go on"
            )
            return
        if not self.ready.is_set():
            child.state = STOPPED
            watched = child.name in (*SERVICES, DASHBOARD)
            when = (
                "before it reported SERVING" if watched and child.announced < child.runs else "unexpectedly"
            )
            self._fail(f"{child.name} exited ({status}) {when}; its output is above")
            return
        delay = child.crashes.crashed(child.started_at, now)
        if delay is None:
            child.state = GAVE_UP
            p = self.policy
            last = "\n".join(f"    {line}" for line in child.tail) or "    (no output)"
            self.say(
                f"GAVE UP on {child.name} after {child.crashes.recent} crashes within {p.window:g} s "
                f"(last: {status}); the other processes keep running. Its last lines:\n{last}"
            )
            return
        child.state, child.restart_at = WAITING, now + delay
        self.say(f"{child.name} crashed ({status}); restarting it in {delay:g} s")

    def _supervise(self) -> None:
        now = time.monotonic()
        for child in self.children.values():
            if child.state == RUNNING and child.proc is not None and child.proc.poll() is not None:
                self._ended(child, now)
            elif child.state == WAITING and now >= child.restart_at:
                self._spawn(child)
            if self._stop.is_set():
                return

    # -- run --------------------------------------------------------------------------------------

    def run(self) -> None:
        """Start, supervise until Ctrl-C/SIGTERM or a fatal failure, then stop everything."""
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            if self._start():
                while not self._check_signals():
                    self._supervise()
                    self._stop.wait(0.1)
        finally:
            self._stop.set()
            self._shutdown()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _start(self) -> bool:
        self._spawn(self.children[BROKER])
        if not self._prepare_broker():
            return False
        for child in self.children.values():
            if child.name != BROKER:
                self._spawn(child)
        threading.Thread(target=self._watch, name="devrun-watch", daemon=True).start()
        return True

    def _prepare_broker(self) -> bool:
        host, port = broker_address(self.settings)
        broker = self.children[BROKER].proc
        assert broker is not None
        deadline = time.monotonic() + 30
        while not self._check_signals():
            with socket.socket() as s:
                s.settimeout(0.5)
                if s.connect_ex((host, port)) == 0:
                    break
            if broker.poll() is not None:
                self._fail(f"the broker exited before it listened on {host}:{port}; its output is above")
                return False
            if time.monotonic() > deadline:
                self._fail(f"the broker did not listen on {host}:{port} within 30 s")
                return False
            time.sleep(0.1)
        if self._stop.is_set():
            return False
        try:
            topics.ensure_topics.retry_with(
                stop=stop_after_delay(30) | (lambda _state: self._check_signals())
            )(self.settings)
        except Exception as exc:
            if self._check_signals():
                return False
            self._fail(f"could not create the topics on {host}:{port}: {exc}")
            return False
        self.say(
            f"broker up on {host}:{port}; topics ready: {', '.join(t.name for t in topics.all_topics(self.settings))}"
        )
        return True

    def _watch(self) -> None:
        """Wait for every service's SERVING (and the dashboard's /healthz) and print the banner;
        after that, say when a restarted service is back."""
        watched = [*SERVICES, DASHBOARD]
        deadline = time.monotonic() + self.ready_timeout
        channels = {svc: grpc.insecure_channel(self.settings.grpc_target(svc)) for svc in SERVICES}
        try:
            while not self._stop.is_set():
                for name in watched:
                    child = self.children[name]
                    run = child.runs
                    if child.state != RUNNING or child.announced >= run:
                        continue
                    if not (self._dashboard_up() if name == DASHBOARD else self._serving(channels[name])):
                        continue
                    child.announced = run
                    where = (
                        f"up on {self.dashboard.url(self.settings.http_host)}"
                        if name == DASHBOARD
                        else f"SERVING on {self.settings.grpc_target(name)}"
                    )
                    again = f" again (run {run})" if run > 1 else ""
                    self.say(f"{name} is {where}{again}")
                pending = [n for n in watched if self.children[n].announced == 0]
                if not pending and not self.ready.is_set():
                    self.say("\n".join(banner(self.settings, self.dashboard)))
                    self.ready.set()
                if pending and time.monotonic() > deadline:
                    self._fail(
                        f"{', '.join(pending)} did not report SERVING (the dashboard: answer /healthz) within "
                        f"{self.ready_timeout:g} s; the output above says why (raise --ready-timeout "
                        "if the machine is just slow)"
                    )
                    return
                self._stop.wait(0.25 if pending else 0.5)
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

    # -- stop -------------------------------------------------------------------------------------

    def _shutdown(self) -> None:
        """SIGTERM everything but the broker; the broker once they are gone (or shortly before
        KILL_WAIT); SIGKILL whatever is left after KILL_WAIT. A second Ctrl-C SIGKILLs at once."""
        for child in self.children.values():
            if child.state == WAITING:
                child.state = STOPPED  # a pending restart is cancelled
        running = [c for c in self.children.values() if c.state == RUNNING]
        start, signals_seen = time.monotonic(), len(self._signals)
        broker = self.children.get(BROKER)
        for child in running:
            if child is not broker:
                self._signal(child, signal.SIGTERM)

        def wait(children: list[Child], until: float) -> bool:
            """Reap the ones that end; True when all have ended, False at `until` or a second signal."""
            while True:
                for child in children:
                    if child.state == RUNNING and child.proc is not None and child.proc.poll() is not None:
                        self._reap(child)
                        child.state = STOPPED
                if all(c.state != RUNNING for c in children):
                    return True
                if time.monotonic() >= until or len(self._signals) > signals_seen:
                    return False
                time.sleep(0.1)

        wait([c for c in running if c is not broker], start + max(1.0, KILL_WAIT - 2))
        if broker is not None and broker.state == RUNNING and len(self._signals) == signals_seen:
            self._signal(broker, signal.SIGTERM)
        if not wait(running, start + KILL_WAIT):
            for child in running:
                if child.state == RUNNING:
                    self._signal(child, signal.SIGKILL)
            wait(running, time.monotonic() + 10)


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
    parser.add_argument(
        "--keep-data",
        action="store_true",
        default=keep_data_from_env(),
        help="keep the SQLite databases of the previous run (migrated at start); also HAQ_KEEP_DATA=1",
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
    keep = args.keep_data
    removed = clean_data(settings, keep)
    write_dev_tokens(settings)

    supervisor = Supervisor(settings, args.ready_timeout)
    supervisor.add_processes(plan(settings), child_env(settings))
    if keep:
        supervisor.say(
            f"keeping the databases in {settings.data_dir.resolve()} (each service migrates its own at"
            " start); the broker's topics start empty"
        )
    elif removed:
        supervisor.say(
            f"removed {len(removed)} database file(s) of the previous run from {settings.data_dir.resolve()}"
        )
    supervisor.run()
    if supervisor.failed or supervisor.returncode is None:
        return 1
    given_up = [c.name for c in supervisor.children.values() if c.state == GAVE_UP]
    supervisor.say(
        "all processes stopped" + (f" ({', '.join(given_up)} had been given up)" if given_up else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
