"""A throwaway PostgreSQL cluster on 127.0.0.1, without Docker.

Uses the PostgreSQL server binaries already on the machine (Debian's
``/usr/lib/postgresql/<major>/bin``), installing Debian's ``postgresql`` package when
they are missing and we run as root. Tuned for tests, not durability: fsync, full page
writes and synchronous commit are off, unless ``durable=True`` (``make run``, whose data
is kept between runs).

Python API::

    from deploy.postgres.cluster import PostgresCluster

    with PostgresCluster() as pg:                       # temp folder, free port
        url = pg.create_database("orders")              # postgresql+asyncpg://postgres@127.0.0.1:<port>/orders

    pg = PostgresCluster(Path("var/pg"), port=5432, durable=True, log_file=Path("var/log/postgres.log"))
    pg.start()
    url = pg.ensure_database("network")                 # created unless it exists

Command line (``python -m deploy.postgres.cluster --help``)::

    python -m deploy.postgres.cluster start [--dir var/pg] [--port 5432]   # detached
    python -m deploy.postgres.cluster stop  [--dir var/pg]
    python -m deploy.postgres.cluster run   [--dir var/pg] [--port 5432]   # foreground (Procfile)

When run as root, initdb and postgres run as the unprivileged ``postgres`` system user
(``runuser -u postgres --``). If that user cannot reach the given folder (a parent such as
pytest's ``/tmp/pytest-of-root`` is private), the server files go to a private temp folder
instead and ``<base_dir>/server`` links to it; remove() deletes both.
Only the standard library is used; SQL goes through the ``psql`` binary.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

from deploy.processes import children, free_port, pid_alive, port_accepts, wait_gone, wait_reaped

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]

HOST = "127.0.0.1"
SUPERUSER = "postgres"
OS_USER = "postgres"   # unprivileged account used for initdb/postgres when we are root

DATA_DIR_NAME = "data"
SOCKET_DIR_NAME = "socket"
SERVER_LINK_NAME = "server"     # root only: link to a reachable temp folder, see _prepare_server_dir
LOG_FILE_NAME = "postgres.log"
LOCAL_CONF_NAME = "local.conf"  # rewritten on every start; included from postgresql.conf

_REQUIRED = ("initdb", "pg_ctl", "postgres", "psql", "pg_isready")
_SOCKET_PATH_MAX = 100  # sun_path is 108 bytes on Linux, ".s.PGSQL.<port>" included


class PostgresError(RuntimeError):
    """The cluster could not be set up, started, stopped or queried."""


# --------------------------------------------------------------------------- binaries


def _has_server(bindir: Path) -> bool:
    return all((bindir / name).is_file() for name in _REQUIRED)


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", path.parent.name)) or (0,)


def find_bindir() -> Path | None:
    """The PostgreSQL server bin folder on this machine (pg_config's, else the newest major), or None."""
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10)
            if out.returncode == 0 and _has_server(Path(out.stdout.strip())):
                return Path(out.stdout.strip())
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version_key, reverse=True)
    for bindir in candidates:
        if _has_server(bindir):
            return bindir
    initdb = shutil.which("initdb")
    if initdb and _has_server(Path(initdb).resolve().parent):
        return Path(initdb).resolve().parent
    return None


_bindir_cache: Path | None = None


def ensure_binaries() -> Path:
    """The PostgreSQL server bin folder (newest found); installs Debian's `postgresql` if missing (root only)."""
    global _bindir_cache
    if _bindir_cache is not None:
        return _bindir_cache
    bindir = find_bindir()
    if bindir is None:
        if os.geteuid() != 0 or shutil.which("apt-get") is None:
            raise PostgresError(
                "PostgreSQL server binaries not found (looked at `pg_config --bindir` and "
                "/usr/lib/postgresql/*/bin); install them with: apt-get update && apt-get install -y postgresql"
            )
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for cmd in (["apt-get", "update"], ["apt-get", "install", "-y", "postgresql"]):
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
            if proc.returncode != 0:
                raise PostgresError(f"`{' '.join(cmd)}` failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
        bindir = find_bindir()
        if bindir is None:
            raise PostgresError("installed the `postgresql` package but still found no server binaries")
    _bindir_cache = bindir
    return bindir


def server_version(bindir: Path) -> str:
    """The server's version, e.g. "15.18"."""
    out = subprocess.run([str(bindir / "postgres"), "--version"], capture_output=True, text=True, timeout=30).stdout
    match = re.search(r"\) (\d+(?:\.\d+)?)", out)
    if match is None:
        raise PostgresError(f"cannot read the version from `postgres --version`: {out!r}")
    return match.group(1)


# --------------------------------------------------------------------------- helpers


def _quote_ident(name: str) -> str:
    if not name or "\0" in name:
        raise ValueError(f"invalid database name {name!r}")
    return '"' + name.replace('"', '""') + '"'


def _quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _conf_str(value: object) -> str:
    return "'" + str(value).replace("'", "''") + "'"


# --------------------------------------------------------------------------- cluster


class PostgresCluster:
    """One PostgreSQL cluster: initdb'd into ``base_dir`` (a new temp folder if None), on a free port.

    Layout: ``<server>/data`` (PGDATA), ``<server>/socket`` (unix socket), ``<server>/postgres.log``
    (or ``log_file``), where ``<server>`` is ``base_dir`` (or, as root with an unreachable
    base_dir, the temp folder ``<base_dir>/server`` links to).
    Auth is ``trust`` for superuser ``postgres``; encoding UTF8, locale C.
    Used as a context manager it starts on enter; on exit it is removed if it lives in a
    temp folder it created, otherwise only stopped.
    """

    def __init__(self, base_dir: Path | None = None, port: int = 0, *,
                 log_file: Path | None = None, durable: bool = False):
        self._owns_dir = base_dir is None
        self.base_dir: Path | None = None if base_dir is None else Path(base_dir).resolve()
        self.port = int(port) or free_port(HOST)
        self.durable = durable
        self._log_file = None if log_file is None else Path(log_file).resolve()
        self._socket_dir_override: Path | None = None
        self._lock = threading.RLock()

    # -- paths and urls ------------------------------------------------------

    @property
    def server_dir(self) -> Path:
        """Folder holding data, socket and log: base_dir, or the folder base_dir/server links to."""
        link = self._base() / SERVER_LINK_NAME
        return link.resolve() if link.is_symlink() else self._base()

    @property
    def data_dir(self) -> Path:
        return self.server_dir / DATA_DIR_NAME

    @property
    def socket_dir(self) -> Path:
        return self._socket_dir_override or self.server_dir / SOCKET_DIR_NAME

    @property
    def log_file(self) -> Path:
        """The server's own log (stdout and stderr of the postmaster and its processes)."""
        return self._log_file or self.server_dir / LOG_FILE_NAME

    def url(self, database: str) -> str:
        """Async SQLAlchemy URL for a database of this cluster."""
        return f"postgresql+asyncpg://{SUPERUSER}@{HOST}:{self.port}/{quote(database, safe='')}"

    @property
    def admin_url(self) -> str:
        return self.url("postgres")

    @property
    def pid(self) -> int | None:
        """PID of the running postmaster, else None."""
        pid = self._postmaster_pid_in_file()
        return pid if pid is not None and pid_alive(pid) else None

    def is_running(self) -> bool:
        return self.pid is not None

    # -- lifecycle -------------------------------------------------------------

    def start(self, timeout: float = 60) -> PostgresCluster:
        """initdb on first use, then start postgres and wait until it accepts connections."""
        with self._lock:
            if self.is_running():
                self.port = self._configured_port() or self.port  # the port it really listens on
                return self
            deadline = time.monotonic() + timeout
            bindir = ensure_binaries()
            if self.base_dir is None:
                self.base_dir = Path(tempfile.mkdtemp(prefix="pgcluster-"))
                self._owns_dir = True
            self.base_dir.mkdir(parents=True, exist_ok=True)
            if self._as_root():
                self._prepare_server_dir()
            stale = self._postmaster_pid_in_file()
            if stale is not None and not pid_alive(stale):
                wait_reaped(stale, 15)  # a dead postmaster's zombie still blocks a new start
            if port_accepts(self.port, HOST, timeout=0.2):
                raise PostgresError(f"{HOST}:{self.port} is already in use by another process")
            self._prepare_socket_dir()
            if self._as_root():
                self._chown_to_server_user()
            if not (self.data_dir / "PG_VERSION").exists():
                self._initdb(bindir)
            self._check_major(bindir)
            self._write_local_conf()
            self.log_file.parent.mkdir(parents=True, exist_ok=True)
            # Opened here and handed down (not `pg_ctl -l`): as root the server runs as `postgres`,
            # which may not be allowed to open a file in the caller's folder.
            with open(self.log_file, "ab") as log:
                self._pg_ctl(bindir, "start", "-w", "-t", str(max(int(deadline - time.monotonic()), 1)),
                             timeout=max(deadline - time.monotonic(), 1) + 5, output=log)
            self._wait_ready(bindir, deadline)
            return self

    def stop(self, timeout: float = 60) -> None:
        """Fast shutdown (`pg_ctl stop -m fast`); a no-op if not running."""
        with self._lock:
            pid = self.pid
            if pid is None:
                return
            self._pg_ctl(ensure_binaries(), "stop", "-m", "fast", "-w", "-t", str(int(timeout)),
                         timeout=timeout + 5)
            # pg_ctl returns once postmaster.pid is gone, a moment before the process has exited.
            if not wait_gone([pid], 10):
                raise PostgresError(f"postmaster {pid} still alive after pg_ctl stop")

    def restart(self, timeout: float = 60) -> PostgresCluster:
        """Stop and start again on the same port, keeping the data (crash recovery after kill())."""
        self.stop(timeout=timeout)
        return self.start(timeout=timeout)

    def kill(self) -> None:
        """SIGKILL the postmaster, as a crash would; waits until its children have exited too.

        With synchronous_commit=off a commit is acknowledged before its WAL is written, so a
        bare SIGKILL would also lose the last ~0.6 s of acknowledged commits, which a
        production server (synchronous_commit=on) never does. So the WAL is flushed first
        (best effort, 5 s) and the crash then loses only in-flight work; restart() runs
        crash recovery.
        """
        with self._lock:
            pid = self.pid
            if pid is None:
                return
            with contextlib.suppress(PostgresError, subprocess.TimeoutExpired):
                # A transaction that writes WAL and commits with synchronous_commit=on flushes all WAL
                # before it; a transactional logical message is such a write with no other effect.
                self.execute("SET synchronous_commit = on; "
                             "SELECT pg_logical_emit_message(true, 'deploy.postgres.kill', '');", timeout=5)
            backends = children(pid)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            # Children notice the postmaster's death and exit; they must be gone before a restart,
            # or the new postmaster refuses to start while the old shared memory is still attached.
            if not wait_gone([pid, *backends], 15):
                for backend in backends:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(backend, signal.SIGKILL)
                wait_gone([pid, *backends], 5)
            # pg_ctl detached the postmaster, so init reaps it, here after up to ~2 s; until then
            # a new postmaster takes the pid in the stale postmaster.pid for a running server.
            wait_reaped(pid, 15)

    def remove(self) -> None:
        """Stop (killing if a clean stop fails) and delete the cluster folder."""
        with self._lock:
            if self.base_dir is None:
                return
            try:
                self.stop()
            except PostgresError:
                self.kill()
            server_dir = self.server_dir
            if server_dir != self.base_dir:
                shutil.rmtree(server_dir, ignore_errors=True)
            shutil.rmtree(self.base_dir, ignore_errors=True)
            if self._socket_dir_override is not None:
                shutil.rmtree(self._socket_dir_override, ignore_errors=True)
                self._socket_dir_override = None
            if self._owns_dir:
                self.base_dir = None  # a later start() makes a fresh temp folder

    def __enter__(self) -> PostgresCluster:
        return self.start()

    def __exit__(self, *exc) -> None:
        if self._owns_dir:
            self.remove()
        else:
            self.stop()

    def __repr__(self) -> str:
        return f"PostgresCluster({str(self.base_dir)!r}, port={self.port})"

    # -- databases -------------------------------------------------------------

    def create_database(self, name: str) -> str:
        """CREATE DATABASE (fails if it exists); returns its async SQLAlchemy URL."""
        self.execute(f"CREATE DATABASE {_quote_ident(name)}")
        return self.url(name)

    def ensure_database(self, name: str) -> str:
        """CREATE DATABASE unless it exists (its data is kept); returns its async SQLAlchemy URL."""
        if not self.execute(f"SELECT 1 FROM pg_database WHERE datname = {_quote_literal(name)}").strip():
            self.create_database(name)
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """DROP DATABASE IF EXISTS ... WITH (FORCE): open connections are terminated."""
        self.execute(f"DROP DATABASE IF EXISTS {_quote_ident(name)} WITH (FORCE)")

    def execute(self, sql: str, database: str = "postgres", timeout: float = 60) -> str:
        """Run SQL through psql as the superuser; returns psql's unaligned, tuples-only output."""
        cmd = [str(ensure_binaries() / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
               "-h", HOST, "-p", str(self.port), "-U", SUPERUSER, "-d", database, "-c", sql]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, "PGCONNECT_TIMEOUT": str(max(int(timeout), 2))}, cwd=self.server_dir)
        if proc.returncode != 0:
            raise PostgresError(f"psql failed (exit {proc.returncode}) for {sql!r}: {proc.stderr.strip()}")
        return proc.stdout

    # -- internals -------------------------------------------------------------

    def _base(self) -> Path:
        if self.base_dir is None:
            raise PostgresError("cluster folder not created yet; call start() first")
        return self.base_dir

    def _postmaster_pid_in_file(self) -> int | None:
        if self.base_dir is None:
            return None
        try:
            return int((self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
        except (FileNotFoundError, NotADirectoryError, ValueError, PermissionError):
            return None

    def _as_root(self) -> bool:
        return os.geteuid() == 0

    def _prepare_socket_dir(self) -> None:
        sock_dir = self.server_dir / SOCKET_DIR_NAME
        if len(os.fsencode(str(sock_dir))) + len(f"/.s.PGSQL.{self.port}") > _SOCKET_PATH_MAX:
            # unix socket paths are limited to ~107 bytes; use a short temp folder instead
            if self._socket_dir_override is None:
                self._socket_dir_override = Path(tempfile.mkdtemp(prefix="pgsock-"))
        else:
            sock_dir.mkdir(exist_ok=True)

    def _server_user(self) -> pwd.struct_passwd:
        """The unprivileged account that runs initdb/postgres when we are root (created if missing)."""
        try:
            pw = pwd.getpwnam(OS_USER)
        except KeyError:
            proc = subprocess.run(
                ["useradd", "--system", "--user-group", "--no-create-home",
                 "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", OS_USER],
                capture_output=True, text=True,
            )
            if proc.returncode != 0:
                raise PostgresError(f"could not create system user {OS_USER!r}: {proc.stderr.strip()}") from None
            pw = pwd.getpwnam(OS_USER)
        if shutil.which("runuser") is None:
            raise PostgresError("running as root needs `runuser` (util-linux) to drop to the postgres user")
        return pw

    def _server_user_can_write(self, path: Path) -> bool:
        return subprocess.run(self._as_server_user(["test", "-w", str(path)]), cwd="/").returncode == 0

    def _prepare_server_dir(self) -> None:
        """Root only: give the server folder to `postgres`; relocate it if that user cannot reach it."""
        pw = self._server_user()
        base = self._base()
        link = base / SERVER_LINK_NAME
        if link.is_symlink() and not link.exists():
            link.unlink()  # its temp folder was cleaned away; start afresh
        if not link.is_symlink():
            os.chown(base, pw.pw_uid, pw.pw_gid)
            if not self._server_user_can_write(base):
                if (base / DATA_DIR_NAME).exists():
                    raise PostgresError(f"user {OS_USER!r} cannot reach the existing cluster in {base}")
                # A parent folder is private (e.g. pytest's /tmp/pytest-of-root): keep the
                # server files in a temp folder of their own, linked from base_dir.
                real = Path(tempfile.mkdtemp(prefix="pgcluster-"))
                link.symlink_to(real, target_is_directory=True)
        server_dir = self.server_dir
        os.chown(server_dir, pw.pw_uid, pw.pw_gid)
        if not self._server_user_can_write(server_dir):
            raise PostgresError(f"user {OS_USER!r} cannot write to {server_dir}")

    def _chown_to_server_user(self) -> None:
        pw = self._server_user()
        server_dir = self.server_dir
        for path in (server_dir, self.socket_dir):
            os.chown(path, pw.pw_uid, pw.pw_gid)
            for root, dirs, files in os.walk(path):
                if Path(root) == server_dir:
                    dirs[:] = [d for d in dirs if d != DATA_DIR_NAME]  # initdb/postgres own PGDATA already
                for name in dirs + files:
                    os.chown(os.path.join(root, name), pw.pw_uid, pw.pw_gid, follow_symlinks=False)

    def _as_server_user(self, cmd: list[str]) -> list[str]:
        return ["runuser", "-u", OS_USER, "--", *cmd] if self._as_root() else cmd

    def _run_server_tool(self, cmd: list[str], timeout: float,
                         output: IO[bytes] | None = None) -> subprocess.CompletedProcess:
        """Run cmd as the server's user; its output is captured, or goes to `output` (both streams)."""
        streams: dict[str, Any] = (
            {"capture_output": True} if output is None else {"stdout": output, "stderr": subprocess.STDOUT}
        )
        try:
            return subprocess.run(self._as_server_user(cmd), text=True, timeout=timeout,
                                  cwd=self.server_dir, stdin=subprocess.DEVNULL, **streams)
        except subprocess.TimeoutExpired as exc:
            raise PostgresError(f"`{' '.join(cmd)}` timed out after {timeout:.0f}s\n{self._log_tail()}") from exc

    def _initdb(self, bindir: Path) -> None:
        cmd = [str(bindir / "initdb"), "-D", str(self.data_dir), "-U", SUPERUSER, "-A", "trust",
               "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"]
        proc = self._run_server_tool(cmd, timeout=120)
        if proc.returncode != 0:
            raise PostgresError(f"initdb failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        with open(self.data_dir / "postgresql.conf", "a") as conf:
            conf.write(f"\n# throwaway-cluster settings (deploy/postgres/cluster.py)\n"
                       f"include_if_exists = {_conf_str(LOCAL_CONF_NAME)}\n")

    def _write_local_conf(self) -> None:
        settings: dict[str, str | int] = {
            "listen_addresses": HOST,
            "port": self.port,
            "unix_socket_directories": str(self.socket_dir),
            "max_connections": 300,
        }
        if not self.durable:
            # tests: a crash of the machine may lose the cluster, which they throw away anyway
            settings.update(fsync="off", synchronous_commit="off", full_page_writes="off")
        path = self.data_dir / LOCAL_CONF_NAME
        path.write_text("# Rewritten by deploy/postgres/cluster.py on every start.\n" + "".join(
            f"{key} = {value if isinstance(value, int) else _conf_str(value)}\n" for key, value in settings.items()
        ))
        if self._as_root():
            pw = pwd.getpwnam(OS_USER)
            os.chown(path, pw.pw_uid, pw.pw_gid)

    def _pg_ctl(self, bindir: Path, action: str, *args: str, timeout: float,
                output: IO[bytes] | None = None) -> None:
        cmd = [str(bindir / "pg_ctl"), action, "-D", str(self.data_dir), *args]
        proc = self._run_server_tool(cmd, timeout=timeout, output=output)
        if proc.returncode != 0:
            said = "" if output is not None else f"{proc.stdout}{proc.stderr}"  # else it is in the log
            raise PostgresError(f"pg_ctl {action} failed (exit {proc.returncode}):\n{said}\n{self._log_tail()}")

    def _check_major(self, bindir: Path) -> None:
        """A kept cluster (var/pg) outlives upgrades of the machine; a new major cannot open it."""
        made_by = (self.data_dir / "PG_VERSION").read_text().strip()
        running = server_version(bindir).split(".")[0]
        if made_by != running:
            raise PostgresError(
                f"the cluster in {self.data_dir} was made by PostgreSQL {made_by}, but this machine's server "
                f"({bindir}) is {running}; install PostgreSQL {made_by}'s server package, or move "
                f"{self._base()} away to start a new, empty cluster"
            )

    def _configured_port(self) -> int | None:
        """The port written into local.conf at the last start."""
        with contextlib.suppress(OSError, PostgresError):
            match = re.search(r"^port = (\d+)$", (self.data_dir / LOCAL_CONF_NAME).read_text(), re.MULTILINE)
            if match:
                return int(match.group(1))
        return None

    def _wait_ready(self, bindir: Path, deadline: float) -> None:
        cmd = [str(bindir / "pg_isready"), "-q", "-h", HOST, "-p", str(self.port), "-U", SUPERUSER,
               "-d", "postgres", "-t", "2"]
        while True:
            if subprocess.run(cmd, cwd=self.server_dir).returncode == 0:
                return
            if not self.is_running():
                raise PostgresError(f"postgres exited during start\n{self._log_tail()}")
            if time.monotonic() >= deadline:
                raise PostgresError(f"postgres on {HOST}:{self.port} not ready in time\n{self._log_tail()}")
            time.sleep(0.1)  # poll interval

    def _log_tail(self, lines: int = 30) -> str:
        try:
            tail = self.log_file.read_text(errors="replace").splitlines()[-lines:]
        except (OSError, PostgresError):
            return ""
        return f"--- {self.log_file} ---\n" + "\n".join(tail)


# --------------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m deploy.postgres.cluster",
        description="Run a local throwaway PostgreSQL cluster on 127.0.0.1 (no Docker; fsync off).",
    )
    parser.add_argument("command", choices=["start", "stop", "run"],
                        help="start: initdb if needed and start detached; stop: fast shutdown; "
                             "run: start in the foreground until SIGINT/SIGTERM, then stop")
    parser.add_argument("--dir", default=str(REPO_ROOT / "var" / "pg"),
                        help="cluster folder (data, socket, postgres.log); default: <repo>/var/pg")
    parser.add_argument("--port", type=int, default=5432,
                        help="TCP port on 127.0.0.1; 0 = any free port (default 5432)")
    parser.add_argument("--timeout", type=float, default=60, help="seconds to wait for start/stop (default 60)")
    args = parser.parse_args(argv)

    cluster = PostgresCluster(Path(args.dir), port=args.port)
    try:
        if args.command == "stop":
            if not cluster.is_running():
                print("not running")
                return 0
            cluster.stop(timeout=args.timeout)
            print("stopped")
            return 0

        if args.command == "start":
            cluster.start(timeout=args.timeout)  # a running one is reported with the port it listens on
            print(cluster.admin_url)
            return 0

        stop_requested = threading.Event()
        signal.signal(signal.SIGINT, lambda *_: stop_requested.set())
        signal.signal(signal.SIGTERM, lambda *_: stop_requested.set())
        cluster.start(timeout=args.timeout)
        print(f"PostgreSQL ready: {cluster.admin_url} (pid {cluster.pid})", flush=True)
        while not stop_requested.wait(0.5):
            if not cluster.is_running():
                print("postgres exited unexpectedly", file=sys.stderr, flush=True)
                return 1
        cluster.stop(timeout=args.timeout)
        return 0
    except PostgresError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
