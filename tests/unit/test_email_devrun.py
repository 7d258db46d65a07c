"""`make run` turns on intake's email channel (services/console/devrun.py): the SMTP listener for
care@haq.local on port 2525, named in the banner with a command to try it, and checked for a
port collision like every other listener."""

from __future__ import annotations

import socket

from services.common.settings import Settings
from services.console import devrun


def test_child_env_turns_the_smtp_listener_on_unless_told_otherwise(monkeypatch):
    monkeypatch.delenv("HAQ_MAIL_SMTP_ENABLED", raising=False)
    assert devrun.child_env(Settings())["HAQ_MAIL_SMTP_ENABLED"] == "1"
    monkeypatch.setenv("HAQ_MAIL_SMTP_ENABLED", "0")
    assert devrun.child_env(Settings())["HAQ_MAIL_SMTP_ENABLED"] == "0"
    assert devrun.mail_lines() == []


def test_the_banner_names_the_care_address_and_port(monkeypatch):
    monkeypatch.delenv("HAQ_MAIL_SMTP_ENABLED", raising=False)
    text = "\n".join(devrun.banner(Settings()))
    assert "email in       127.0.0.1:2525  mail to care@haq.local" in text
    assert "swaks --server 127.0.0.1:2525 --to care@haq.local" in text


def test_a_busy_mail_port_is_reported(monkeypatch):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        monkeypatch.delenv("HAQ_MAIL_SMTP_ENABLED", raising=False)
        monkeypatch.setenv("HAQ_MAIL_SMTP_PORT", str(port))
        assert f"127.0.0.1:{port} (intake SMTP)" in devrun.ports_in_use(Settings())
