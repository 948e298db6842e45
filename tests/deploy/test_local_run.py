"""`make run` (python -m deploy.local) end to end: on an empty var folder it starts
PostgreSQL and a Kafka broker, the four services on their own PostgreSQL databases and
the gateway; prints one banner once all of them are ready and keeps routine logs off the
terminal; SIGTERM leaves no process of it behind."""
from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from deploy.postgres.cluster import PostgresCluster
from deploy.processes import children, pid_alive
from tests.support.processes import REPO_ROOT, free_port

SERVICES = ("network", "reception", "workshop", "crm")
BANNER = "platform ready"


def descendants(pid: int) -> set[int]:
    found: set[int] = set()
    todo = [pid]
    while todo:
        kids = children(todo.pop())
        found.update(kids)
        todo.extend(kids)
    return found


def processes_mentioning(text: str) -> set[int]:
    """Live processes whose command line names `text` (here: the test's var folder)."""
    pids = set()
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if text.encode() in cmdline.read_bytes() and pid_alive(int(cmdline.parent.name)):
                pids.add(int(cmdline.parent.name))
        except (OSError, ValueError):
            continue
    return pids


def wait_for(condition, timeout: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


class LocalRun:
    """`python -m deploy.local` on free ports with its own var folder; its terminal goes to a file."""

    def __init__(self, var: Path, log: Path) -> None:
        self.var, self.log = var, log
        self.pg_port, self.gateway_port = free_port(), free_port()
        self.ports = {name: free_port() for name in SERVICES}
        # The platform's settings from the caller's shell (a broker, databases, ports) are not this run's.
        ours = tuple(f"{name.upper()}_" for name in (*SERVICES, "gateway", "local", "kafka", "platform"))
        env = {key: value for key, value in os.environ.items() if not key.startswith(ours) and key != "LOG_LEVEL"}
        env.update({f"{name.upper()}_PORT": str(port) for name, port in self.ports.items()})
        argv = [sys.executable, "-m", "deploy.local", "--var-dir", str(var), "--pg-port", str(self.pg_port),
                "--kafka-port", str(free_port()), "--kafka-controller-port", str(free_port()),
                "--gateway-port", str(self.gateway_port)]
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(argv, cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)

    def terminal(self) -> str:
        return self.log.read_text(errors="replace")

    def banner_shown(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"deploy.local exited with {self.proc.returncode}:\n{self.terminal()}")
        return BANNER in self.terminal()

    def hq_key(self) -> str:
        match = re.search(r"HQ admin key\s+(\S+)", self.terminal())
        assert match, self.terminal()
        return match.group(1)


@pytest.fixture
def local_run(tmp_path) -> Iterator[LocalRun]:
    run = LocalRun(tmp_path / "var", tmp_path / "terminal.txt")
    try:
        yield run
    finally:
        # Whatever the test left running is stopped, and the database's files go with the folder.
        if run.proc.poll() is None:
            run.proc.send_signal(signal.SIGTERM)
            try:
                run.proc.wait(90)
            except subprocess.TimeoutExpired:
                os.killpg(run.proc.pid, signal.SIGKILL)
        for pid in processes_mentioning(str(run.var)):
            os.kill(pid, signal.SIGKILL)
        PostgresCluster(run.var / "pg", port=run.pg_port).remove()


async def service_sessions(pg_port: int) -> dict[str, int]:
    """How many sessions are open on each service's database."""
    conn = await asyncpg.connect(host="127.0.0.1", port=pg_port, user="postgres", database="postgres")
    try:
        rows = await conn.fetch("SELECT datname, count(*) AS n FROM pg_stat_activity "
                                "WHERE datname = any($1::text[]) AND pid <> pg_backend_pid() GROUP BY datname",
                                list(SERVICES))
    finally:
        await conn.close()
    return {row["datname"]: row["n"] for row in rows}


async def migrated(pg_port: int, database: str) -> str | None:
    conn = await asyncpg.connect(host="127.0.0.1", port=pg_port, user="postgres", database=database)
    try:
        return await conn.fetchval("SELECT version_num FROM alembic_version")
    finally:
        await conn.close()


@pytest.mark.timeout(600)
def test_make_run_starts_on_postgresql_announces_once_and_leaves_nothing_behind(local_run: LocalRun):
    wait_for(local_run.banner_shown, 300, "the banner")
    var = local_run.var

    # The gateway forwards an HQ call to network, which reads its PostgreSQL database.
    gateway = f"http://127.0.0.1:{local_run.gateway_port}"
    answer = httpx.get(f"{gateway}/api/network/v1/stores", headers={"Authorization": f"Bearer {local_run.hq_key()}"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["items"] == []
    assert httpx.get(f"{gateway}/readyz").json()["checks"] == dict.fromkeys(("reception", "workshop", "crm", "network"),
                                                                              True)

    # Each service migrated its own database on the launcher's PostgreSQL and holds sessions on it.
    for name in SERVICES:
        assert asyncio.run(migrated(local_run.pg_port, name)), f"{name} has no applied migration"
    wait_for(lambda: set(asyncio.run(service_sessions(local_run.pg_port))) == set(SERVICES), 30,
             "a session on every service's database")
    assert not list(var.glob("*.db")), "no database files beside PostgreSQL"

    # The broker's and the database's own logs went to files; the terminal has no routine lines.
    assert "database system is ready to accept connections" in (var / "log" / "postgres.log").read_text()
    assert "Kafka Server started" in (var / "log" / "kafka.log").read_text()
    terminal = local_run.terminal()
    assert '"level": "info"' not in terminal, "services and gateway show warnings and errors only"
    assert "] INFO " not in terminal and " LOG: " not in terminal, "the broker's and database's lines stay in var/log"
    for name in (*SERVICES, "gateway"):
        assert f"{name} started (pid=" in terminal

    # Everything it started, read while it runs: services and gateway (its children's children),
    # the broker (its child, in a session of its own) and the postmaster (detached by pg_ctl).
    launched = descendants(local_run.proc.pid)
    broker_pid = int((var / "kafka" / "broker.pid").read_text())
    postmaster = PostgresCluster(var / "pg", port=local_run.pg_port).pid
    assert postmaster is not None and pid_alive(broker_pid)
    assert broker_pid in launched
    commands = {pid: Path(f"/proc/{pid}/cmdline").read_bytes() for pid in launched}
    platform = {pid for pid, cmd in commands.items() if b"-m\0services." in cmd or b"-m\0gateway\0" in cmd}
    assert len(platform) == 5, "four services and the gateway"

    local_run.proc.send_signal(signal.SIGTERM)
    assert local_run.proc.wait(120) == 128 + signal.SIGTERM
    terminal = local_run.terminal()
    assert terminal.count(BANNER) == 1
    # Services and gateway first, then the broker, then the database.
    stopped = [terminal.find(line) for line in ("gateway stopped", "kafka     | stopped", "postgres  | stopped")]
    assert -1 not in stopped and stopped == sorted(stopped), terminal
    still = {pid for pid in launched | {broker_pid, postmaster} if pid_alive(pid)}
    assert not still, f"left running: {still}"
    assert not processes_mentioning(str(var))
