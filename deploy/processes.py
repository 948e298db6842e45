"""Ports and processes on this machine, shared by the launchers (deploy/kafka/broker.py,
deploy/postgres/cluster.py, deploy/local.py).

"Alive" here means running: a zombie counts as gone, since it holds no port, file or lock
and only waits for its parent (or init) to collect its exit status. The one place that must
wait for the zombie too is `wait_reaped`.

Only the standard library: psutil would answer the same questions, but its `pid_exists`
counts zombies as alive, so the launchers would still need their own check.
"""
from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Iterable
from pathlib import Path

HOST = "127.0.0.1"


def free_ports(count: int, host: str = HOST) -> list[int]:
    """Ports the OS considers free right now (all bound at once, so they differ)."""
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            socks.append(s)
            s.bind((host, 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def free_port(host: str = HOST) -> int:
    return free_ports(1, host)[0]


def port_accepts(port: int, host: str = HOST, timeout: float = 0.5) -> bool:
    """Something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _stat_fields(pid: int) -> list[str] | None:
    """/proc/<pid>/stat after "(comm)" (comm itself may hold spaces or parens), None without it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()


def pid_alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # someone else's process: it exists
    fields = _stat_fields(pid)
    if fields is None:
        return True  # no procfs: trust kill(0)
    return fields[0] not in ("Z", "X")


def children(pid: int) -> list[int]:
    """Direct children of pid, from /proc (empty without procfs)."""
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(stat.parent.name))
    return kids


def wait_gone(pids: Iterable[int], timeout: float, interval: float = 0.05) -> bool:
    """Wait until none of the pids is alive; False if some still are after timeout seconds."""
    pids = list(pids)
    deadline = time.monotonic() + timeout
    while any(pid_alive(p) for p in pids):
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)
    return True


def wait_reaped(pid: int, timeout: float, interval: float = 0.05) -> bool:
    """Wait until the pid is gone entirely, zombie included (someone collected its exit status)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            pass
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)
