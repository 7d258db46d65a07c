"""A real IMAP server for tests: dovecot, started with its own configuration in a temporary
directory, on its own ports (IMAPS with a self-signed certificate generated for 127.0.0.1, and
plain IMAP for STARTTLS), with one mailbox user. Tests skip when dovecot is not installed, unless
HAQ_TEST_REQUIRE_DOVECOT=1 (CI), where its absence is a failure."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from services.common.broker import free_port

DOVECOT = shutil.which("dovecot") or ("/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None)
USER, PASSWORD = "care@haq.local", "test-password"


def require_dovecot() -> str:
    if DOVECOT is None:
        if os.environ.get("HAQ_TEST_REQUIRE_DOVECOT") == "1":
            pytest.fail(
                "HAQ_TEST_REQUIRE_DOVECOT=1 but dovecot is not installed (apt-get install dovecot-imapd)"
            )
        pytest.skip("dovecot is not installed (apt-get install dovecot-imapd); the IMAP poller test needs it")
    return DOVECOT


@dataclass
class Dovecot:
    folder: Path
    imaps_port: int
    imap_port: int
    ca_file: Path
    proc: subprocess.Popen[bytes]
    user: str = USER
    password: str = PASSWORD

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.folder, ignore_errors=True)

    def log(self) -> str:
        path = self.folder / "dovecot.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""


def start_dovecot() -> Dovecot:
    binary = require_dovecot()
    # Not under pytest's tmp_path: dovecot's unprivileged processes must be able to reach it.
    folder = Path(tempfile.mkdtemp(prefix="haq-dovecot-"))
    folder.chmod(0o755)
    me = pwd.getpwuid(os.getuid())
    if os.getuid() == 0:
        mail_user, internal, login = pwd.getpwnam("nobody"), "dovecot", "dovenull"
    else:
        mail_user, internal, login = me, me.pw_name, me.pw_name
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    home = folder / "home"
    home.mkdir()
    os.chown(home, mail_user.pw_uid, mail_user.pw_gid)
    (folder / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
    imaps_port, imap_port = free_port(), free_port()
    config = folder / "dovecot.conf"
    config.write_text(
        f"""
base_dir = {folder}/run
state_dir = {folder}/state
log_path = {folder}/dovecot.log
protocols = imap
listen = 127.0.0.1
default_internal_user = {internal}
default_login_user = {login}
first_valid_uid = 0
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = no
auth_mechanisms = plain login
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {folder}/passwd
}}
userdb {{
  driver = static
  args = uid={mail_user.pw_uid} gid={mail_user.pw_gid} home={home}/%u
}}
mail_location = maildir:~/Maildir
service imap-login {{
  inet_listener imap {{
    port = {imap_port}
  }}
  inet_listener imaps {{
    port = {imaps_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
"""
    )
    proc = subprocess.Popen(
        [binary, "-F", "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 20
    server = Dovecot(folder, imaps_port, imap_port, cert, proc)
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            shutil.rmtree(folder, ignore_errors=True)
            raise RuntimeError(f"dovecot exited with {proc.returncode}: {err}")
        try:
            with (
                socket.create_connection(("127.0.0.1", imap_port), timeout=1),
                socket.create_connection(("127.0.0.1", imaps_port), timeout=1),
            ):
                return server
        except OSError:
            time.sleep(0.1)
    server.stop()
    raise TimeoutError(f"dovecot did not listen within 20 s:\n{server.log()}")
