"""Brings back a replica that dies, as the kubelet does for a pod with `restartPolicy: Always`.

A replica that exits without having been asked to stop (SIGKILL, a crash, an exit during
start) is started again after a back-off: at once the first time, then `initial` seconds,
doubling up to `cap`; once a replica has run `reset_after` seconds without dying its
back-off starts over. The kubelet's figures are 10 s doubling to 300 s, reset after ten
minutes; this machine's drill wants a replica back within seconds, so the defaults are
smaller (docs/scaling.md). Each restart is kept with the time it was seen dead, started
again and ready again (its /readyz answering 200), which is what the drill reports.

    supervisor = Supervisor(platform.processes, Backoff(initial=1.0, cap=30.0))
    supervisor.start()                                   # ClusterPlatform.start() does this
    platform.apis["crm"][0].kill()                       # back within a second or two
    supervisor.wait_back([platform.apis["crm"][0]], since=killed_at)
    supervisor.watch(keycloak)                           # make cluster: Keycloak too, once it is up
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

import httpx

POLL_SECONDS = 0.1  # how soon a death is noticed; the kubelet hears of it from the runtime at once


class Supervised(Protocol):
    """What the supervisor needs of a process: platform.Replica, identity.ClusterKeycloak."""

    name: str
    ready_path: str
    wanted: bool  # set by start(), cleared by stop(): not running while wanted means it died
    started_at: float | None

    @property
    def url(self) -> str: ...

    @property
    def running(self) -> bool: ...

    @property
    def pid(self) -> int | None: ...

    @property
    def returncode(self) -> int | None: ...

    def restart(self) -> bool:
        """Start again without waiting for it; False if it was stopped meanwhile (or runs)."""
        ...


@dataclass(frozen=True)
class Backoff:
    """The wait before a restart: none the first time, then `initial` seconds doubling up to `cap`;
    forgotten once the replica has run `reset_after` seconds (the kubelet: 10 s, 300 s, 10 minutes)."""

    initial: float = 1.0
    cap: float = 30.0
    reset_after: float = 60.0

    def delay(self, failures: int) -> float:
        """Before restart number `failures` in a row."""
        if failures <= 1:
            return 0.0
        return min(self.initial * 2 ** (failures - 2), self.cap)


@dataclass
class Restart:
    """One death and what followed, in time.monotonic() seconds."""

    name: str
    exit_code: int | None
    seen_dead_at: float
    started_at: float | None = None
    ready_at: float | None = None
    failures_in_a_row: int = 1


@dataclass
class _Watch:
    replica: Supervised
    failures: int = 0  # deaths since the replica last ran `reset_after` seconds
    due_at: float | None = None  # when the pending restart may run
    pending: Restart | None = None


class Supervisor(threading.Thread):
    """Watches `replicas` every POLL_SECONDS from a thread of its own until `stop()`."""

    def __init__(self, replicas: Iterable[Supervised], backoff: Backoff | None = None, *,
                 on_restart: Callable[[Restart], None] | None = None) -> None:
        super().__init__(daemon=True, name="supervisor")
        self.backoff = backoff or Backoff()
        self.on_restart = on_restart
        self._watches = [_Watch(r) for r in replicas]
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self.restarts: list[Restart] = []
        self.looks = 0  # passes over every replica so far

    def watch(self, replica: Supervised) -> None:
        """Watch one more process from now on (one started after the others, as Keycloak is)."""
        with self._lock:
            self._watches = [*self._watches, _Watch(replica)]

    def run(self) -> None:
        while not self._stopping.wait(POLL_SECONDS):
            now = time.monotonic()
            for watch in self._watches:
                self._look_at(watch, now)
            self.looks += 1

    def _look_at(self, watch: _Watch, now: float) -> None:
        replica = watch.replica
        if not replica.wanted:  # stopped on purpose
            watch.due_at, watch.pending = None, None
            return
        if replica.running:
            ran = now - (replica.started_at or now)
            if watch.failures and ran >= self.backoff.reset_after:
                watch.failures = 0
            return
        if watch.pending is None:
            watch.failures += 1
            watch.pending = Restart(replica.name, replica.returncode, now, failures_in_a_row=watch.failures)
            watch.due_at = now + self.backoff.delay(watch.failures)
        if watch.due_at is not None and now >= watch.due_at:
            restart, watch.pending, watch.due_at = watch.pending, None, None
            if not replica.restart():  # stopped meanwhile
                return
            restart.started_at = time.monotonic()
            with self._lock:
                self.restarts.append(restart)
            threading.Thread(target=self._until_ready, args=(replica, restart), daemon=True,
                             name=f"ready-{replica.name}").start()

    def _until_ready(self, replica: Supervised, restart: Restart) -> None:
        """Record when the restarted process first answers its readiness path; a death first leaves it unset."""
        pid = replica.pid
        with httpx.Client(timeout=1.0, trust_env=False) as client:
            while not self._stopping.is_set() and replica.pid == pid and pid is not None:
                try:
                    if client.get(replica.url + replica.ready_path).status_code == 200:
                        restart.ready_at = time.monotonic()
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(POLL_SECONDS)
        if self.on_restart is not None:
            self.on_restart(restart)

    def restarts_of(self, replica: Supervised, since: float) -> list[Restart]:
        with self._lock:
            return [r for r in self.restarts if r.name == replica.name and r.seen_dead_at >= since]

    def wait_back(self, replicas: Iterable[Supervised], since: float, timeout: float = 240.0) -> list[Restart]:
        """Wait until each replica died after `since`, was restarted and is ready again; its last restart each."""
        replicas = list(replicas)
        deadline = time.monotonic() + timeout
        while True:
            back = [next((r for r in reversed(self.restarts_of(p, since)) if r.ready_at is not None), None)
                    for p in replicas]
            if all(r is not None and p.running for r, p in zip(back, replicas, strict=True)):
                return [r for r in back if r is not None]
            if time.monotonic() > deadline:
                slow = [p.name for r, p in zip(back, replicas, strict=True) if r is None]
                raise TimeoutError(f"not back after {timeout:.0f} s: {', '.join(slow)}")
            time.sleep(POLL_SECONDS)

    def wait_looks(self, passes: int, timeout: float = 10.0) -> None:
        """Wait until every replica has been looked at `passes` more times: how a caller knows the
        supervisor has passed over a replica it must leave alone."""
        target, deadline = self.looks + passes, time.monotonic() + timeout
        while self.looks < target:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.looks} looks, not {target}, after {timeout:.0f} s")
            time.sleep(POLL_SECONDS / 2)

    def stop(self) -> None:
        self._stopping.set()
        if self.is_alive():
            self.join(10)
