"""`make run` (python -m deploy.local) end to end: on an empty var folder it starts
PostgreSQL, Keycloak on its own database there, a Kafka broker, the four services on their
own PostgreSQL databases and the gateway; network provisions staff to that Keycloak; prints
one banner once all of them are ready and keeps routine logs off the terminal; SIGTERM
leaves no process of it behind."""
from __future__ import annotations

import asyncio
import json
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

from deploy.oidc.keycloak import CREDENTIALS_FILE_NAME, REALM
from deploy.postgres.cluster import PostgresCluster
from deploy.processes import children, pid_alive
from services.network.people.accounts import ProviderAdmin, StaffAccounts
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
        self.keycloak_port = free_port()
        self.ports = {name: free_port() for name in SERVICES}
        # The platform's settings from the caller's shell (a broker, databases, ports) are not this run's.
        ours = tuple(f"{name.upper()}_" for name in (*SERVICES, "gateway", "local", "kafka", "platform"))
        env = {key: value for key, value in os.environ.items() if not key.startswith(ours) and key != "LOG_LEVEL"}
        env.update({f"{name.upper()}_PORT": str(port) for name, port in self.ports.items()})
        argv = [sys.executable, "-m", "deploy.local", "--var-dir", str(var), "--pg-port", str(self.pg_port),
                "--kafka-port", str(free_port()), "--kafka-controller-port", str(free_port()),
                "--gateway-port", str(self.gateway_port), "--keycloak-port", str(self.keycloak_port),
                "--keycloak-management-port", str(free_port())]
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

    def issuer(self) -> str:
        match = re.search(r"sign-in\s+(http\S+)", self.terminal())
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


async def account_of(run: LocalRun, employee_no: str) -> dict | None:
    """The person's account at the run's Keycloak, read with the provisioning client's secret make run kept."""
    secret = json.loads((run.var / "keycloak" / CREDENTIALS_FILE_NAME).read_text())["provisioning_secret"]
    async with StaffAccounts(ProviderAdmin(f"http://127.0.0.1:{run.keycloak_port}", secret)) as accounts:
        return await accounts.find(employee_no)


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

    # Keycloak, the staff's sign-in, runs on its own database of the same cluster, and network
    # provisions to it: an HQ analyst registered through the gateway gets an account there.
    issuer = local_run.issuer()
    assert issuer == f"http://127.0.0.1:{local_run.keycloak_port}/realms/{REALM}"
    assert httpx.get(f"{issuer}/.well-known/openid-configuration").json()["issuer"] == issuer
    hired = httpx.post(f"{gateway}/api/network/v1/people", headers={"Authorization": f"Bearer {local_run.hq_key()}"},
                       json={"name": "赵敏", "phone": "13900000007", "employee_no": "HQ-0007", "hq_role": "hq_analyst"})
    assert hired.status_code == 201, hired.text
    account = wait_for(lambda: asyncio.run(account_of(local_run, "HQ-0007")), 60, "the HQ analyst's account")
    assert account["attributes"]["person_id"] == [hired.json()["id"]]

    # Each service migrated its own database on the launcher's PostgreSQL and holds sessions on it.
    for name in SERVICES:
        assert asyncio.run(migrated(local_run.pg_port, name)), f"{name} has no applied migration"
    wait_for(lambda: set(asyncio.run(service_sessions(local_run.pg_port))) == set(SERVICES), 30,
             "a session on every service's database")
    assert not list(var.glob("*.db")), "no database files beside PostgreSQL"

    # The broker's and the database's own logs went to files; the terminal has no routine lines.
    assert "database system is ready to accept connections" in (var / "log" / "postgres.log").read_text()
    assert "Kafka Server started" in (var / "log" / "kafka.log").read_text()
    assert re.search(r"Keycloak [\d.]+ on JVM .* started", (var / "log" / "keycloak.log").read_text())
    terminal = local_run.terminal()
    assert '"level": "info"' not in terminal, "services and gateway show warnings and errors only"
    assert "] INFO " not in terminal and " LOG: " not in terminal, "the broker's and database's lines stay in var/log"
    for name in (*SERVICES, "gateway"):
        assert f"{name} started (pid=" in terminal

    # Everything it started, read while it runs: services and gateway (its children's children),
    # the broker and Keycloak (its children, in sessions of their own) and the postmaster (detached by pg_ctl).
    launched = descendants(local_run.proc.pid)
    keycloak_pid = int((var / "keycloak" / "keycloak.pid").read_text())
    assert keycloak_pid in launched and pid_alive(keycloak_pid)
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
    # Services and gateway first, then the broker, Keycloak, the database.
    stopped = [terminal.find(line) for line in ("gateway stopped", "kafka     | stopped", "keycloak  | stopped",
                                                "postgres  | stopped")]
    assert -1 not in stopped and stopped == sorted(stopped), terminal
    still = {pid for pid in launched | {broker_pid, postmaster} if pid_alive(pid)}
    assert not still, f"left running: {still}"
    assert not processes_mentioning(str(var))


def test_without_java_21_make_run_goes_on_without_sign_in_and_says_so_once(tmp_path, monkeypatch):
    """What `make run` does on a machine whose newest JDK is 17 (Debian bookworm's): no Keycloak,
    network and the gateway left unconfigured for sign-in, one line saying why."""
    import io

    from deploy import local
    from deploy.oidc.keycloak import KeycloakError

    def no_java() -> None:
        raise KeycloakError("Keycloak 26.7.3 needs Java 21 or newer; found /usr/lib/jvm/java-17 (Java 17).")

    monkeypatch.setattr(local, "find_java_home", no_java)
    out = io.StringIO()
    env: dict[str, str] = {}
    ports = local.Ports(postgres=free_port(), kafka=0, kafka_controller=0, gateway=0, services={},
                        keycloak=free_port(), keycloak_management=free_port())

    sign_in = local._sign_in(local.Terminal(out, width=9), PostgresCluster(tmp_path / "pg"), env, tmp_path, ports)

    assert sign_in is None
    assert env == {}
    assert out.getvalue().count("sign-in off") == 1 and "needs Java 21 or newer" in out.getvalue()
    assert not (tmp_path / "keycloak").exists()
