"""Real platform processes for end-to-end, security and fault tests.

    from tests.support.processes import Platform

    with Platform(tmp_path, kafka_bootstrap=kafka_bootstrap, services=("network",),
                  database_url=pg_database) as platform:      # starts, waits for /readyz
        gw = platform.gateway.url                               # http://127.0.0.1:<port>
        key = platform.bootstrap_key                            # an hq_admin key
        platform.services["network"].kill()                     # SIGKILL
        platform.services["network"].start(); platform.services["network"].wait_ready()

`Process` is one child: `start()`, `wait_ready(timeout)`, `stop()` (SIGTERM, then
SIGKILL after a grace period), `kill()` (SIGKILL), `restart()`, `url`, `log_path`,
`logs()`. `Platform` starts the chosen services (`python -m services.<name> all`) and the
gateway (`python -m gateway`) on free ports with one shared environment: its own topic
prefix, identity secret and bootstrap key, a database per service from
`database_url(label)` (e.g. the `pg_database` fixture). `start()` returns once every service answers /readyz, the gateway answers
(/readyz with all four services, /healthz otherwise) and reads network's events, so a
revocation bites within seconds from the first request. `platform.api(key)` is an httpx
client on the gateway; `identity_secret` lets a test sign headers for a service port.
Settings go in through `env=` (every process) and `gateway_env=`; `oidc=` (an
`OidcProvider`, e.g. the `oidc_provider` fixture's) makes the gateway accept that provider's
access tokens (GATEWAY_OIDC_ISSUER, _AUDIENCE, _CLIENT_ID) and network keep staff accounts
there (NETWORK_OIDC_ADMIN_URL, _REALM, _CLIENT_ID, _CLIENT_SECRET). Logs go to files in the
folder given (use pytest's `tmp_path`), and a process that fails to become ready raises
with the tail of its log.

`available_services()` names the services that exist in this checkout;
`PostgresDatabases(admin_url)` makes fresh databases for a platform that outlives one
test (module or session fixtures, where the per-test `pg_database` cannot be used)."""
from __future__ import annotations

import asyncio
import os
import random
import secrets
import uuid
from concurrent.futures import ThreadPoolExecutor
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Mapping

import httpx

from tests.support.platform import unique_prefix

if TYPE_CHECKING:
    from deploy.oidc.keycloak import OidcProvider

REPO_ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("reception", "workshop", "crm", "network")


def free_port() -> int:
    """A port free right now, chosen below Linux's ephemeral range (32768+) so outgoing
    connections, which take their local ports from that range, do not grab it first."""
    for _ in range(200):
        port = random.randint(20000, 32000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port found")


def available_services() -> tuple[str, ...]:
    return tuple(s for s in SERVICES if (REPO_ROOT / "services" / s / "__main__.py").exists())


class PostgresDatabases:
    """`dbs(label)` creates a database on the server of `admin_url` and returns its URL;
    `close()` drops them all."""

    def __init__(self, admin_url: str) -> None:
        from sqlalchemy.engine import make_url

        self._url = make_url(admin_url)
        self._admin = self._url.set(drivername="postgresql").render_as_string(hide_password=False)
        self.created: list[str] = []

    def _run(self, sql: str) -> None:
        import asyncpg

        async def execute() -> None:
            conn = await asyncpg.connect(self._admin)
            try:
                await conn.execute(sql)
            finally:
                await conn.close()

        with ThreadPoolExecutor(1) as pool:  # works from inside a running event loop too
            pool.submit(asyncio.run, execute()).result()

    def __call__(self, label: str = "db") -> str:
        name = f"{label}_{uuid.uuid4().hex[:12]}"
        self._run(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return self._url.set(database=name).render_as_string(hide_password=False)

    def close(self) -> None:
        for name in self.created:
            try:
                self._run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            except Exception:
                pass
        self.created.clear()


class Process:
    """One child process with a port that answers /healthz and /readyz."""

    def __init__(self, name: str, argv: list[str], env: Mapping[str, str], port: int, log_dir: Path) -> None:
        self.name, self.argv, self.env, self.port = name, list(argv), dict(env), port
        self.log_path = Path(log_dir) / f"{name}.log"
        self._proc: subprocess.Popen | None = None
        self._log = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def start(self) -> "Process":
        if self.running:
            raise RuntimeError(f"{self.name} is already running")
        self._log = open(self.log_path, "ab")
        self._log.write(f"--- start {' '.join(self.argv)}\n".encode())
        self._log.flush()
        self._proc = subprocess.Popen(self.argv, env=self.env, cwd=REPO_ROOT, stdout=self._log,
                                      stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        return self

    def wait_ready(self, timeout: float = 60.0, path: str = "/readyz") -> "Process":
        """Poll `path` until it answers 200; fail early if the process dies."""
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if not self.running:
                raise RuntimeError(f"{self.name} exited with {self._proc.returncode if self._proc else '?'}\n{self.tail()}")
            try:
                response = httpx.get(self.url + path, timeout=2.0)
                if response.status_code == 200 and self.running:
                    return self
                last = f"{response.status_code} {response.text[:200]}"
            except httpx.HTTPError as exc:
                last = repr(exc)
            time.sleep(0.1)
        raise TimeoutError(f"{self.name} not ready after {timeout}s ({last})\n{self.tail()}")

    def stop(self, grace: float = 10.0) -> int | None:
        """SIGTERM, then SIGKILL if it has not ended within `grace` seconds."""
        if self._proc is None:
            return None
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(grace)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(10)
        return self._finish()

    def kill(self) -> int | None:
        """SIGKILL: no shutdown code runs (a crash)."""
        if self._proc is None:
            return None
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait(10)
        return self._finish()

    def restart(self, timeout: float = 60.0) -> "Process":
        self.stop()
        return self.start().wait_ready(timeout)

    def _finish(self) -> int | None:
        code = self._proc.returncode if self._proc else None
        if self._log:
            self._log.write(f"--- exited {code}\n".encode())
            self._log.close()
            self._log = None
        return code

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.logs().splitlines()[-lines:])


class Platform:
    """Some services and the gateway as real processes sharing one broker namespace."""

    def __init__(self, log_dir: Path, *, kafka_bootstrap: str, database_url: Callable[[str], str],
                 services: Iterable[str] | None = None, gateway: bool = True,
                 topic_prefix: str | None = None, env: Mapping[str, str] | None = None,
                 gateway_env: Mapping[str, str] | None = None, ready_timeout: float = 90.0,
                 oidc: OidcProvider | None = None) -> None:
        self.log_dir = Path(log_dir)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.topic_prefix = topic_prefix or unique_prefix()
        self.identity_secret = secrets.token_urlsafe(32)
        self.bootstrap_key = "ak_" + secrets.token_urlsafe(32)
        self.ready_timeout = ready_timeout
        names = tuple(services) if services is not None else available_services()
        base = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_",) + tuple(
            s.upper() + "_" for s in SERVICES))}
        base.update({
            "PYTHONUNBUFFERED": "1",
            "PLATFORM_ENV": "test",
            "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
            "KAFKA_TOPIC_PREFIX": self.topic_prefix,
            "PLATFORM_IDENTITY_SECRET": self.identity_secret,
            "PLATFORM_BOOTSTRAP_KEY": self.bootstrap_key,
            "LOG_LEVEL": "INFO",
        })
        if oidc is not None:
            admin = oidc.admin
            base.update({"NETWORK_OIDC_ADMIN_URL": admin.base_url, "NETWORK_OIDC_REALM": admin.realm,
                         "NETWORK_OIDC_CLIENT_ID": admin.client_id, "NETWORK_OIDC_CLIENT_SECRET": admin.client_secret})
        base.update(env or {})
        self.env = base
        self.services: dict[str, Process] = {}
        for name in names:
            port = free_port()
            url = database_url(name)
            prefix = name.upper()
            service_env = {**base, f"{prefix}_PORT": str(port), f"{prefix}_WORKER_PORT": str(free_port()),
                           f"{prefix}_HOST": "127.0.0.1", f"{prefix}_DATABASE_URL": url}
            self.services[name] = Process(name, [sys.executable, "-m", f"services.{name}", "all"], service_env, port,
                                          self.log_dir)
        self.gateway: Process | None = None
        if gateway:
            port = free_port()
            gw_env = {**base, "GATEWAY_HOST": "127.0.0.1", "GATEWAY_PORT": str(port)}
            for name in SERVICES:
                # A service not started here points at a closed port: the gateway answers 503 for it.
                target = self.services[name].url if name in self.services else f"http://127.0.0.1:{free_port()}"
                gw_env[f"GATEWAY_{name.upper()}_URL"] = target
            if oidc is not None:
                gw_env.update({"GATEWAY_OIDC_ISSUER": oidc.issuer, "GATEWAY_OIDC_AUDIENCE": oidc.audience,
                               "GATEWAY_OIDC_CLIENT_ID": oidc.dashboard_client_id})
            gw_env.update(gateway_env or {})
            self.gateway = Process("gateway", [sys.executable, "-m", "gateway"], gw_env, port, self.log_dir)

    @property
    def processes(self) -> list[Process]:
        return list(self.services.values()) + ([self.gateway] if self.gateway else [])

    def start(self) -> "Platform":
        for process in self.processes:
            process.start()
        try:
            for process in self.services.values():
                process.wait_ready(self.ready_timeout)
            if self.gateway:
                # The gateway's /readyz needs all four services; /healthz is enough when some are absent.
                path = "/readyz" if len(self.services) == len(SERVICES) else "/healthz"
                self.gateway.wait_ready(self.ready_timeout, path=path)
                self.wait_key_feed(self.ready_timeout)
        except Exception:
            self.stop()
            raise
        return self

    def wait_key_feed(self, timeout: float = 30.0) -> None:
        """Until the gateway reads network's events (revocations then bite within seconds)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.gateway.url + "/readyz", timeout=5).json().get("key_events_live"):
                    return
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.1)
        raise TimeoutError(f"the gateway's key event feed is not live\n{self.gateway.tail()}")

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()

    def __enter__(self) -> "Platform":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def api(self, key: str | None = None, **kw) -> httpx.Client:
        """A client on the gateway, with `Authorization: Bearer <key>` when a key is given."""
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        headers.update(kw.pop("headers", {}))
        return httpx.Client(base_url=self.gateway.url, headers=headers, timeout=kw.pop("timeout", 15.0), **kw)

    def async_api(self, key: str | None = None, **kw) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        headers.update(kw.pop("headers", {}))
        return httpx.AsyncClient(base_url=self.gateway.url, headers=headers, timeout=kw.pop("timeout", 15.0), **kw)
