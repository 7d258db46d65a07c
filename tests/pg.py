"""A throwaway PostgreSQL server for the test session.

`postgres_server()` runs `initdb` into a fresh temporary directory, starts the server with
`pg_ctl` on a free port on 127.0.0.1 (its unix socket stays inside that directory), yields a
SQLAlchemy URL, then stops the server and deletes the directory. Nothing outside the
temporary directory is touched: no system cluster, no service manager.

- HAQ_TEST_POSTGRES_URL set: that server is used as it is; nothing is started.
- Binaries are looked for under /usr/lib/postgresql/*/bin (Debian/Ubuntu), then on PATH.
  When there are none, `PostgresUnavailable` says why (the fixture turns it into a skip, or
  into a failure when HAQ_TEST_REQUIRE_POSTGRES=1, as CI sets it).
- PostgreSQL refuses to run as root: as root, initdb/pg_ctl run as the `postgres` OS user
  (`runuser -u postgres --`), and the temporary directory is handed to that user.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

from services.common.broker import free_port

URL_ENV = "HAQ_TEST_POSTGRES_URL"
REQUIRE_ENV = "HAQ_TEST_REQUIRE_POSTGRES"
SUPERUSER = "haq"
DATABASE = "haq_test"


class PostgresUnavailable(RuntimeError):
    """No server can be started here (binaries or the `postgres` OS user are missing)."""


def find_bindir() -> Path:
    """The newest PostgreSQL bin directory that has initdb, pg_ctl and postgres."""
    needed = ("initdb", "pg_ctl", "postgres")
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: [int(n) for n in re.findall(r"\d+", p.parent.name)],
        reverse=True,
    )
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    for bindir in candidates:
        if all((bindir / exe).is_file() for exe in needed):
            return bindir
    raise PostgresUnavailable(
        "PostgreSQL server binaries (initdb, pg_ctl) not found under /usr/lib/postgresql/*/bin "
        "or on PATH: install them (Debian: `apt-get install -y postgresql`) or set "
        f"{URL_ENV} to an existing server"
    )


class _Runner:
    """Runs PostgreSQL commands as a user PostgreSQL accepts (never root)."""

    def __init__(self) -> None:
        self.as_root = os.geteuid() == 0
        self.owner: pwd.struct_passwd | None = None
        if self.as_root:
            try:
                self.owner = pwd.getpwnam("postgres")
            except KeyError as exc:
                raise PostgresUnavailable(
                    "running as root but there is no `postgres` OS user to run the server as "
                    "(the Debian postgresql package creates it)"
                ) from exc
            if shutil.which("runuser") is None:
                raise PostgresUnavailable("running as root but `runuser` (util-linux) is missing")

    def hand_over(self, path: Path) -> None:
        if self.owner is not None:
            os.chown(path, self.owner.pw_uid, self.owner.pw_gid)

    def run(self, argv: list[str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        if self.owner is not None:
            argv = ["runuser", "-u", self.owner.pw_name, "--", *argv]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C"
        return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def _check(proc: subprocess.CompletedProcess[str], what: str, log: Path | None = None) -> None:
    if proc.returncode == 0:
        return
    detail = (proc.stdout + proc.stderr).strip()
    if log is not None and log.exists():
        detail += "\n--- server log ---\n" + log.read_text(errors="replace")[-4000:]
    raise RuntimeError(f"{what} failed with exit code {proc.returncode}:\n{detail}")


class LocalPostgres:
    """One throwaway cluster in its own temporary directory; `start()` then `stop()`."""

    def __init__(self, bindir: Path | None = None, synchronous_commit: bool = False) -> None:
        """`synchronous_commit`: a commit returns once its WAL is written, so a server stopped in
        "immediate" mode (a crash) keeps every committed transaction, as production does; off
        (the fast default), the last few hundred milliseconds of commits can be lost then."""
        self.bindir = bindir or find_bindir()
        self.synchronous_commit = synchronous_commit
        self.runner = _Runner()
        self.root: Path | None = None
        self.port: int | None = None

    @property
    def datadir(self) -> Path:
        assert self.root is not None
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        assert self.root is not None
        return self.root / "socket"

    @property
    def log_file(self) -> Path:
        assert self.root is not None
        return self.root / "server.log"

    @property
    def url(self) -> str:
        return f"postgresql+psycopg2://{SUPERUSER}@127.0.0.1:{self.port}/{DATABASE}"

    def start(self) -> LocalPostgres:
        # Under the system temp dir (not pytest's 0700 tree), so the postgres user can reach it;
        # short, because a unix socket path must fit in ~100 bytes.
        self.root = Path(tempfile.mkdtemp(prefix="haq-pg-"))
        try:
            self.socket_dir.mkdir()
            for path in (self.root, self.socket_dir):
                self.runner.hand_over(path)
            _check(
                self.runner.run(
                    [
                        str(self.bindir / "initdb"),
                        "--pgdata",
                        str(self.datadir),
                        "--username",
                        SUPERUSER,
                        "--auth",
                        "trust",  # listens on 127.0.0.1 only, for one test session
                        "--encoding",
                        "UTF8",
                        "--no-locale",
                        "--no-sync",
                    ],
                    cwd=self.root,
                ),
                "initdb",
            )
            self._start_server()
            _check(
                self.runner.run(
                    [
                        str(self.bindir / "createdb"),
                        "--host",
                        "127.0.0.1",
                        "--port",
                        str(self.port),
                        "--username",
                        SUPERUSER,
                        DATABASE,
                    ],
                    cwd=self.root,
                ),
                "createdb",
                self.log_file,
            )
        except BaseException:
            self.stop()
            raise
        return self

    def _start_server(self, attempts: int = 3, keep_port: bool = False) -> None:
        # A free port can be taken between choosing it and binding it: retry with another
        # (unless the server must come back where its clients know it: `start_server`).
        for attempt in range(attempts):
            if not keep_port or self.port is None:
                self.port = free_port()
            options = " ".join(
                [
                    "-h 127.0.0.1",
                    f"-p {self.port}",
                    f"-k {self.socket_dir}",
                    # Throwaway data: durability buys nothing here and costs seconds.
                    "-c fsync=off",
                    f"-c synchronous_commit={'on' if self.synchronous_commit else 'off'}",
                    "-c full_page_writes=off",
                    "-c max_connections=200",
                ]
            )
            proc = self.runner.run(
                [
                    str(self.bindir / "pg_ctl"),
                    "start",
                    "--pgdata",
                    str(self.datadir),
                    "--log",
                    str(self.log_file),
                    "--options",
                    options,
                    "--wait",
                    "--timeout",
                    "60",
                ],
                cwd=self.root,  # type: ignore[arg-type]
            )
            if proc.returncode == 0:
                return
            if attempt == attempts - 1:
                _check(proc, "pg_ctl start", self.log_file)

    def stop_server(self, mode: str = "immediate") -> None:
        """Stop the server and keep its data (an outage, not the end): `start_server` brings it back
        on the same port with the same databases. "immediate" drops every connection at once, as
        a crash would; "fast" rolls back open transactions and shuts down cleanly."""
        assert self.root is not None, "not started"
        _check(
            self.runner.run(
                [
                    str(self.bindir / "pg_ctl"),
                    "stop",
                    "--pgdata",
                    str(self.datadir),
                    "--mode",
                    mode,
                    "--wait",
                    "--timeout",
                    "30",
                ],
                cwd=self.root,
            ),
            "pg_ctl stop",
            self.log_file,
        )

    def start_server(self) -> None:
        """Start a server stopped by `stop_server` again, on the same port and data."""
        assert self.root is not None, "not started"
        self._start_server(attempts=1, keep_port=True)

    def stop(self) -> None:
        if self.root is None:
            return
        if (self.datadir / "postmaster.pid").exists():
            proc = self.runner.run(
                [
                    str(self.bindir / "pg_ctl"),
                    "stop",
                    "--pgdata",
                    str(self.datadir),
                    "--mode",
                    "immediate",
                    "--wait",
                    "--timeout",
                    "30",
                ],
                cwd=self.root,
            )
            if proc.returncode != 0:
                _kill_postmaster(self.datadir)
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = None


def _kill_postmaster(datadir: Path) -> None:
    """Last resort when pg_ctl cannot stop the server: SIGKILL the postmaster from its pid file."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        pid = int((datadir / "postmaster.pid").read_text().splitlines()[0])
        os.kill(pid, 9)


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """Yield a SQLAlchemy URL: HAQ_TEST_POSTGRES_URL when set, else a throwaway local server."""
    external = os.environ.get(URL_ENV, "").strip()
    if external:
        yield external
        return
    server = LocalPostgres().start()
    try:
        yield server.url
    finally:
        server.stop()


@contextlib.contextmanager
def isolated_schema(url: str) -> Iterator[str]:
    """A fresh schema on `url`, dropped afterwards; yields a URL whose search_path is that schema.

    Each test gets empty tables even on a shared (e.g. HAQ_TEST_POSTGRES_URL) server, and needs
    only the CREATE privilege on the database, not CREATEDB.
    """
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    schema = f"t_{uuid.uuid4().hex[:16]}"
    # pre-ping: a server stopped and started again (LocalPostgres.stop_server) drops pooled connections
    admin = create_engine(url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        scoped = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
        try:
            yield scoped.render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text("SET lock_timeout = '15s'"))  # fail, not hang, on a leaked session
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        admin.dispose()
