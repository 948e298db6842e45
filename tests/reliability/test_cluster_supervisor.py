"""deploy/cluster's supervisor on a small real process (Python's own HTTP server standing in for
a replica): a killed replica comes back, one that keeps dying waits longer each time, and one
stopped on purpose stays stopped; a SIGKILLed Keycloak comes back the same way (its kc.sh a
stand-in: a JVM start would cost make test half a minute)."""
from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import pytest

from deploy.cluster.identity import ClusterKeycloak
from deploy.cluster.platform import Replica
from deploy.cluster.postgres import PostgresPair
from deploy.cluster.supervisor import Backoff, Supervisor
from deploy.processes import free_port

pytestmark = pytest.mark.timeout(60)


def test_the_back_off_starts_at_once_then_doubles_up_to_its_cap():
    backoff = Backoff(initial=1.0, cap=30.0)
    assert [backoff.delay(n) for n in range(1, 9)] == [0.0, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]


@pytest.fixture
def replica(tmp_path):
    port = free_port()
    process = Replica("probe", [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"], {},
                      port, tmp_path, ready_path="/")
    process.start().wait_ready(30)
    try:
        yield process
    finally:
        process.stop(grace=5)


def _until(condition, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)  # poll interval
    return value


def test_a_killed_replica_is_started_again_and_one_that_keeps_dying_waits_longer_each_time(replica):
    supervisor = Supervisor([replica], Backoff(initial=0.5, cap=5.0, reset_after=60.0))
    supervisor.start()
    try:
        for deaths in (1, 2, 3):
            before = replica.pid
            killed = time.monotonic()
            replica.kill()
            [back] = supervisor.wait_back([replica], since=killed, timeout=20)
            assert replica.pid not in (None, before)
            assert back.exit_code == -9 and back.failures_in_a_row == deaths
            assert back.started_at is not None and back.ready_at is not None
            # at once the first time, then the back-off: 0.5 s, then 1 s
            waited = back.started_at - back.seen_dead_at
            assert waited == pytest.approx(Backoff(initial=0.5).delay(deaths), abs=0.3)
    finally:
        supervisor.stop()


def test_a_replica_stopped_on_purpose_is_not_started_again(replica):
    supervisor = Supervisor([replica], Backoff(initial=0.1))
    supervisor.start()
    try:
        replica.stop(grace=5)
        supervisor.wait_looks(5)  # it must not start the replica in any of them
        assert not replica.running and supervisor.restarts == []
    finally:
        supervisor.stop()


class StandInKeycloak(ClusterKeycloak):
    """ClusterKeycloak with Python's HTTP server for kc.sh, answering /health/ready on the management
    port: everything the supervisor does with Keycloak (the process group, the pid, the restart, the
    readiness) is ClusterKeycloak's and KeycloakServer's own code; only the JVM is left out."""

    def __init__(self, data_dir: Path) -> None:
        pair = SimpleNamespace(primary=SimpleNamespace(url=lambda db: f"postgresql://postgres@127.0.0.1:1/{db}"),
                               instances=[])
        data_dir.mkdir(parents=True)
        super().__init__(data_dir, cast(PostgresPair, pair), log_file=data_dir / "keycloak.log")
        self.served = data_dir / "served"
        (self.served / "health").mkdir(parents=True)
        (self.served / "health" / "ready").write_text('{"status": "UP"}')
        self._java_home = Path(sys.prefix)  # only put in JAVA_HOME, which Python's server ignores

    def _command(self) -> list[str]:
        return [sys.executable, "-m", "http.server", str(self.management_port), "--bind", "127.0.0.1",
                "--directory", str(self.served)]


def test_a_sigkilled_keycloak_is_started_again_with_the_back_off(tmp_path):
    keycloak = StandInKeycloak(tmp_path / "keycloak")
    supervisor = Supervisor([], Backoff(initial=0.5, cap=5.0, reset_after=60.0))
    keycloak.wanted = True
    assert keycloak.restart()  # its first start, as ClusterKeycloak.start() spawns it
    supervisor.watch(keycloak)
    supervisor.start()
    try:
        for deaths in (1, 2):
            before = _until(lambda: keycloak.pid)
            killed = time.monotonic()
            os.killpg(before, signal.SIGKILL)  # the whole group, as a crashed node takes kc.sh and its JVM
            [back] = supervisor.wait_back([keycloak], since=killed, timeout=20)
            assert keycloak.pid not in (None, before)
            assert back.name == "keycloak" and back.exit_code == -9 and back.failures_in_a_row == deaths
            assert back.ready_at is not None and back.started_at is not None
            assert back.started_at - back.seen_dead_at == pytest.approx(Backoff(initial=0.5).delay(deaths), abs=0.3)
        keycloak.stop(timeout=5)
        supervisor.wait_looks(5)  # a stopped Keycloak is not started again in any of them
        assert not keycloak.running and len(supervisor.restarts) == 2
    finally:
        supervisor.stop()
        keycloak.stop(timeout=5)
