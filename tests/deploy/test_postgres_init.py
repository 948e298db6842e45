"""The PostgreSQL init script of docker compose (deploy/postgres-init) really creates one
isolated database per service, run twice against a throwaway local server."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from deploy.postgres.cluster import ensure_binaries
from tests.deploy.manifests import REPO, SERVICES, free_port


@pytest.fixture
def pg_workdir():
    # Outside pytest's private tmp tree: the server may run as another user.
    path = Path(tempfile.mkdtemp(prefix="aftersales-pginit-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_postgres_init_script_creates_one_isolated_database_per_service(pg_workdir):
    # The same server binaries the test suite's own cluster runs on (installed if missing, as root).
    bindir = ensure_binaries()
    tools = {t: str(bindir / t) for t in ("initdb", "pg_ctl", "psql")}
    as_user: list[str] = []
    workdir = pg_workdir
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        if not shutil.which("runuser"):
            pytest.fail("running as root needs `runuser` (util-linux) to start PostgreSQL as the postgres user")
        try:
            shutil.chown(workdir, user="postgres")
        except (LookupError, PermissionError) as exc:
            pytest.fail(f"running as root needs a postgres user (Debian's postgresql package makes it): {exc}")
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = workdir / "data", free_port()

    def run(*cmd, env=None, check=True):
        return subprocess.run([*as_user, *cmd], capture_output=True, text=True, env=env, check=check, timeout=120)

    run(tools["initdb"], "-D", str(data), "-U", "postgres", "--auth-local=trust", "--auth-host=scram-sha-256")
    run(tools["pg_ctl"], "-D", str(data), "-l", str(workdir / "log"), "-w", "start",
        "-o", f"-k {workdir} -c listen_addresses=127.0.0.1 -p {port}")
    try:
        path = f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"  # the script's psql: the same server's
        env = {**os.environ, "PATH": path, "PGHOST": str(workdir), "PGPORT": str(port), "POSTGRES_USER": "postgres",
               "POSTGRES_DB": "postgres", "POSTGRES_SERVICE_PASSWORD": "pa'ss word",
               "SERVICE_DATABASES": " ".join(SERVICES)}
        script = str(REPO / "deploy" / "postgres-init" / "10-service-databases.sh")
        for _ in range(2):  # the second run must change nothing and not fail
            proc = run("bash", script, env=env, check=False)
            assert proc.returncode == 0, proc.stderr

        def psql(user, db, sql):
            return subprocess.run(
                [tools["psql"], "-h", "127.0.0.1", "-p", str(port), "-U", user, "-d", db,
                 "-v", "ON_ERROR_STOP=1", "-Atc", sql],
                capture_output=True, text=True, timeout=60,
                env={**os.environ, "PGPASSWORD": "pa'ss word"},
            )

        for svc in SERVICES:
            own = psql(svc, svc, "CREATE TABLE probe (id int); SELECT current_user, current_database()")
            assert own.returncode == 0, own.stderr
            assert own.stdout.split()[-1] == f"{svc}|{svc}"
            other = next(s for s in SERVICES if s != svc)
            denied = psql(svc, other, "SELECT 1")
            assert denied.returncode != 0 and "permission denied" in denied.stderr
        bad = run("bash", script, env={**env, "SERVICE_DATABASES": "Robert'); DROP"}, check=False)
        assert bad.returncode != 0
    finally:
        run(tools["pg_ctl"], "-D", str(data), "-m", "immediate", "stop", check=False)
