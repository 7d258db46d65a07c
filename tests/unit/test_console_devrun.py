"""devrun's plan and housekeeping, and the SMTP sink (a real aiosmtpd server on a free port)."""

from __future__ import annotations

import email
import email.policy
import smtplib
import socket
from email.message import EmailMessage
from pathlib import Path

from services.common.broker import free_port
from services.common.settings import SERVICES, Settings
from services.console import devrun, smtp_sink
from services.console.dashboard.settings import DashboardSettings


def test_plan_starts_broker_sink_and_every_service():
    settings = Settings(kafka_bootstrap="127.0.0.1:19999")
    specs = devrun.plan(settings, python="/venv/bin/python")
    assert [s.name for s in specs] == ["broker", "smtp", *SERVICES, "dashboard", "portal"]
    assert specs[-1].argv == ["/venv/bin/python", "-m", "services.portal"]
    broker = specs[0]
    assert "tcp://127.0.0.1:19999" in broker.argv and "memory://tansu/" in broker.argv
    assert specs[1].argv == ["/venv/bin/python", "-m", "services.console.smtp_sink"]
    assert specs[2].argv == ["/venv/bin/python", "-m", "services.intake"]


def test_restart_delays_double_up_to_the_cap_and_reset_after_a_stable_run():
    policy = devrun.RestartPolicy(first_delay=1, max_delay=30, stable_after=60, max_crashes=5, window=120)
    history = devrun.CrashHistory(policy)
    # crashes 50 s into each run: never stable, and never 5 within 2 minutes
    delays, t = [], 0.0
    for _ in range(7):
        started, t = t, t + 50
        delays.append(history.crashed(started, t))
        t += delays[-1]
    assert delays == [1, 2, 4, 8, 16, 30, 30]
    # a run that stayed up a minute starts the backoff again
    assert history.crashed(t, t + 60) == 1
    assert history.crashed(t + 61, t + 62) == 2


def test_five_crashes_within_two_minutes_is_a_crash_loop():
    history = devrun.CrashHistory(devrun.RestartPolicy())
    t, delays = 0.0, []
    for _ in range(5):
        started, t = t, t + 3  # crashes 3 s after every start
        delays.append(history.crashed(started, t))
        t += delays[-1] or 0
    assert delays == [1, 2, 4, 8, None]
    assert history.recent == 5


def test_crashes_older_than_the_window_do_not_count():
    history = devrun.CrashHistory(devrun.RestartPolicy(max_crashes=3, window=120, stable_after=1e9))
    assert history.crashed(0, 10) is not None
    assert history.crashed(11, 20) is not None
    assert history.crashed(150, 200) is not None  # the first two are more than 2 minutes old
    assert history.recent == 1
    assert history.crashed(201, 205) is not None
    assert history.crashed(206, 210) is None  # three within 2 minutes


def test_exit_status_names_the_signal():
    assert devrun.exit_status(3) == "rc=3"
    assert devrun.exit_status(-9) == "rc=-9, SIGKILL"


def test_child_env_pins_the_data_dir(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    env = devrun.child_env(Settings(data_dir=Path("var")))
    assert env["HAQ_DATA_DIR"] == str(tmp_path / "var")
    assert env["PYTHONUNBUFFERED"] == "1"


def test_clean_data_removes_only_the_databases(tmp_path: Path):
    for name in ("intake.db", "intake.db-wal", "intake.db-shm", "routing.db"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "mail").mkdir()
    (tmp_path / "mail" / "a.eml").write_bytes(b"x")
    (tmp_path / "notes.txt").write_bytes(b"x")
    settings = Settings(data_dir=tmp_path)

    assert devrun.clean_data(settings, keep=True) == []
    assert (tmp_path / "intake.db").exists()

    removed = devrun.clean_data(settings, keep=False)
    assert sorted(p.name for p in removed) == ["intake.db", "intake.db-shm", "intake.db-wal", "routing.db"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mail", "notes.txt"]
    assert (tmp_path / "mail" / "a.eml").exists()


def test_ports_in_use_names_the_listener():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        settings = Settings(
            kafka_bootstrap=f"127.0.0.1:{free_port()}",
            smtp_port=free_port(),
            intake_grpc_port=port,
            **{f"{s}_grpc_port": free_port() for s in SERVICES if s != "intake"},
            **{f"{s}_http_port": free_port() for s in SERVICES},
        )
        dashboard = DashboardSettings(port=free_port())
        assert devrun.ports_in_use(settings, dashboard) == [f"127.0.0.1:{port} (intake gRPC)"]


def test_banner_lists_every_endpoint_and_a_runnable_example():
    default = "\n".join(devrun.banner(Settings()))
    assert default.startswith(devrun.READY_LINE)
    assert "http://127.0.0.1:8080/v1/events" in default
    for svc in SERVICES:
        assert f"gRPC {Settings().grpc_target(svc)}" in default
    assert "haq submit --channel email" in default and "--intake" not in default
    assert "dashboard      http://127.0.0.1:8090/" in default
    assert "http://127.0.0.1:9000/" in "\n".join(devrun.banner(Settings(), DashboardSettings(port=9000)))
    moved = "\n".join(devrun.banner(Settings(intake_grpc_port=6001, kafka_bootstrap="127.0.0.1:6000")))
    assert "haq submit --intake 127.0.0.1:6001" in moved and "haq watch --kafka 127.0.0.1:6000" in moved


def test_devrun_refuses_to_start_over_a_busy_port(tmp_path: Path, monkeypatch, capsys):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        monkeypatch.setenv("HAQ_KAFKA_BOOTSTRAP", f"127.0.0.1:{listener.getsockname()[1]}")
        monkeypatch.setenv("HAQ_DATA_DIR", str(tmp_path))
        devrun.get_settings.cache_clear()
        try:
            assert devrun.main([]) == 1
        finally:
            devrun.get_settings.cache_clear()
    assert "(broker)" in capsys.readouterr().err


def test_smtp_sink_saves_each_message_as_eml(tmp_path: Path, caplog):
    settings = Settings(data_dir=tmp_path, smtp_port=free_port())
    controller = smtp_sink.make_controller(settings)
    controller.start()
    try:
        msg = EmailMessage()
        msg["From"] = "Haq <care@haq.local>"
        msg["To"] = "sara@example.com"
        msg["Subject"] = "شکایت شما ثبت شد: HQ-7KX2-94"
        msg.set_content("سلام سارا، شکایت شما ثبت شد.")
        with (
            caplog.at_level("INFO", logger="haq.smtp_sink"),
            smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10) as client,
        ):
            client.send_message(msg, to_addrs=["sara@example.com", "audit@haq.local"])
    finally:
        controller.stop()
    files = sorted((tmp_path / "mail").glob("*.eml"))
    assert len(files) == 1 and not list((tmp_path / "mail").glob("*.part"))
    saved = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert saved["Subject"] == "شکایت شما ثبت شد: HQ-7KX2-94"
    assert saved["X-Original-To"] == "sara@example.com, audit@haq.local"
    assert "سلام سارا" in saved.get_content()
    log = caplog.text
    assert "mail 1 stored: 2 recipient(s)" in log
    assert "sara@example.com" not in log and "HQ-7KX2-94" not in log
