"""deploy/processes.py: the port and process questions the launchers ask."""
from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

from deploy.processes import children, free_ports, pid_alive, port_accepts, wait_gone, wait_reaped


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def test_free_ports_differ_and_can_be_bound():
    ports = free_ports(3)
    assert len(set(ports)) == 3
    for port in ports:
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))


def test_port_accepts_only_while_something_listens():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert port_accepts(port)
    assert not port_accepts(port)


def test_a_zombie_is_gone_but_not_reaped_until_its_parent_waits():
    child = subprocess.Popen(["true"])
    deadline = time.monotonic() + 10
    while _state(child.pid) != "Z":  # exited, exit status not collected yet
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert not pid_alive(child.pid)
    assert wait_gone([child.pid], timeout=0)
    assert not wait_reaped(child.pid, timeout=0.1)
    child.wait()
    assert wait_reaped(child.pid, timeout=1)


def test_children_are_listed_and_waited_for():
    sleepers = [subprocess.Popen(["sleep", "30"]) for _ in range(2)]
    try:
        assert {p.pid for p in sleepers} <= set(children(os.getpid()))
        assert all(pid_alive(p.pid) for p in sleepers)
        assert not wait_gone([p.pid for p in sleepers], timeout=0.1)
        for p in sleepers:
            p.terminate()
        assert wait_gone([p.pid for p in sleepers], timeout=10)
    finally:
        for p in sleepers:
            p.kill()
            p.wait()
