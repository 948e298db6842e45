"""The platform's processes in the cluster's shape: every service's API and worker as
`replicas` processes each, `gateways` gateways that balance over the API replicas
(gateway.upstream.Replicas), and nginx in front of the gateways, as an ingress is in front
of the gateway's Service on Kubernetes (docs/scaling.md). The code and settings are those
of `make run` and production; only the addresses differ.

    platform = ClusterPlatform(log_dir, kafka_bootstrap=kafka.bootstrap_servers,
                               database_url=pair.ensure_database)
    platform.start()                       # migrations once, then every process; waits for /readyz
    platform.front_url                     # nginx: what clients call
    platform.apis["reception"][0].kill()   # SIGKILL one replica; .start() and .wait_ready() bring it back
"""
from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from deploy.cluster.supervisor import Backoff, Supervisor
from deploy.messaging import crm_environment
from deploy.processes import HOST, free_ports

REPO = Path(__file__).resolve().parents[2]
SERVICES = ("network", "reception", "workshop", "crm")
# Stopped with SIGTERM: a service finishes its batch and stops its relay within 15 s.
STOP_GRACE_SECONDS = 20


class ClusterError(RuntimeError):
    """A process of the cluster could not be started."""


class Replica:
    """One process with an HTTP port answering /healthz and /readyz; its output goes to `log_path`."""

    def __init__(self, name: str, argv: list[str], env: Mapping[str, str], port: int, log_dir: Path,
                 ready_path: str = "/readyz") -> None:
        self.name, self.argv, self.env, self.port = name, list(argv), dict(env), port
        self.ready_path = ready_path
        self.log_path = Path(log_dir) / f"{name}.log"
        self._proc: subprocess.Popen[bytes] | None = None
        # Set by start(), cleared by stop(): a replica that is wanted but not running has died,
        # and the supervisor (supervisor.py) starts it again. kill() leaves it set.
        self.wanted = False
        self.started_at: float | None = None
        self._lock = threading.RLock()

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None

    @property
    def returncode(self) -> int | None:
        """The exit status of the last process (negative: the signal), None while it runs or before."""
        proc = self._proc
        return None if proc is None else proc.poll()

    def start(self) -> Replica:
        with self._lock:
            self.wanted = True
            if self.running:
                return self
            self._spawn()
        return self

    def restart(self) -> bool:
        """Start again a replica that died while wanted; False if it was stopped meanwhile (or runs)."""
        with self._lock:
            if not self.wanted or self.running:
                return False
            self._spawn()
            return True

    def _spawn(self) -> None:
        with open(self.log_path, "ab") as log:
            log.write(f"--- start {' '.join(self.argv)}\n".encode())
            log.flush()
            # A session of its own: Ctrl-C in the terminal reaches the launcher, which stops
            # the processes in order, not all of them at once.
            self._proc = subprocess.Popen(self.argv, env=self.env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                                          stdin=subprocess.DEVNULL, start_new_session=True)
        self.started_at = time.monotonic()

    def wait_ready(self, timeout: float = 120.0) -> Replica:
        deadline = time.monotonic() + timeout
        last = "no answer"
        with httpx.Client(timeout=2.0, trust_env=False) as client:
            while time.monotonic() < deadline:
                if not self.running:
                    raise ClusterError(f"{self.name} exited\n{self.tail()}")
                try:
                    response = client.get(self.url + self.ready_path)
                    if response.status_code == 200:
                        return self
                    last = f"{response.status_code} {response.text[:200]}"
                except httpx.HTTPError as exc:
                    last = repr(exc)
                time.sleep(0.2)  # poll interval
        raise ClusterError(f"{self.name} not ready after {timeout:.0f} s ({last})\n{self.tail()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as when a pod's node dies (a supervisor brings it back)."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(10)

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        with self._lock:
            self.wanted = False
            proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)

    def tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""


class Nginx(Replica):
    """nginx from Debian's package in the foreground, balancing over the gateways. A gateway that
    refuses connections is skipped at once (nothing was sent, so even a POST goes to the other)
    and left alone for `fail_timeout`; an answer already under way is never sent twice."""

    def __init__(self, work_dir: Path, port: int, gateways: Iterable[Replica], log_dir: Path) -> None:
        self.work_dir = Path(work_dir)
        self.gateways = list(gateways)
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        conf = self.work_dir / "nginx.conf"
        super().__init__("nginx", [binary, "-p", str(self.work_dir), "-c", str(conf), "-g", "daemon off;"], os.environ,
                         port, log_dir, ready_path="/healthz")

    def start(self) -> Replica:
        if not Path(self.argv[0]).exists():
            raise ClusterError("nginx is not installed: apt-get install nginx-light (Debian)")
        self.work_dir.mkdir(parents=True, exist_ok=True)
        (self.work_dir / "nginx.conf").write_text(self.conf())
        return super().start()

    def conf(self) -> str:
        servers = "\n".join(f"        server {HOST}:{g.port} max_fails=1 fail_timeout=2s;" for g in self.gateways)
        work = self.work_dir
        return f"""# Written by deploy/cluster/platform.py on every start.
worker_processes 1;
pid {work}/nginx.pid;
error_log {self.log_path.parent}/nginx-error.log warn;
events {{ worker_connections 2048; }}
http {{
    access_log off;
    client_body_temp_path {work}/client_body;
    proxy_temp_path {work}/proxy;
    fastcgi_temp_path {work}/fastcgi;
    uwsgi_temp_path {work}/uwsgi;
    scgi_temp_path {work}/scgi;
    # The gateway's own limit is 1 MiB; bodies are held in memory, answers passed on as they come.
    client_max_body_size 2m;
    client_body_buffer_size 2m;
    upstream gateways {{
{servers}
        keepalive 64;
    }}
    server {{
        listen {HOST}:{self.port};
        location / {{
            proxy_pass http://gateways;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_buffering off;
            proxy_connect_timeout 1s;
            proxy_read_timeout 60s;
            proxy_next_upstream error timeout;
            proxy_next_upstream_tries 2;
        }}
    }}
}}
"""


class ClusterPlatform:
    """Every process but the broker and the database, which the caller starts and names."""

    def __init__(self, log_dir: Path, *, kafka_bootstrap: str, database_url: Callable[[str], str],
                 replicas: int = 2, gateways: int = 2, front_port: int = 0, env: Mapping[str, str] | None = None,
                 gateway_env: Mapping[str, str] | None = None, work_dir: Path | None = None,
                 messages: bool = True, backoff: Backoff | None = None) -> None:
        self.log_dir = Path(log_dir)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.identity_secret = secrets.token_urlsafe(32)
        self.bootstrap_key = "ak_" + secrets.token_urlsafe(32)
        ports = iter(free_ports(len(SERVICES) * replicas * 2 + gateways + 3))
        base = {k: v for k, v in os.environ.items()
                if not k.startswith(("GATEWAY_", *(s.upper() + "_" for s in SERVICES)))}
        base.update({
            "PYTHONUNBUFFERED": "1",
            "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
            # Three brokers: every topic the services create gets three replicas (two in sync for a write).
            "KAFKA_REPLICATION_FACTOR": "3",
            "PLATFORM_IDENTITY_SECRET": self.identity_secret,
            "PLATFORM_BOOTSTRAP_KEY": self.bootstrap_key,
            "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"),
        })
        base.update(env or {})
        self.env = base
        self.bootstrap_key = base["PLATFORM_BOOTSTRAP_KEY"]
        self.database_urls = {name: database_url(name) for name in SERVICES}
        # The SMS/WeChat and SMTP stand-ins CRM sends its customer messages to (deploy/messaging.py),
        # as make run has them; production names the providers instead.
        self.messages: Replica | None = None
        crm_env: dict[str, str] = {}
        if messages:
            http_port, smtp_port = next(ports), next(ports)
            argv = [sys.executable, "-m", "deploy.messaging", "--http-port", str(http_port),
                    "--smtp-port", str(smtp_port)]
            self.messages = Replica("messages", argv, base, http_port, self.log_dir, ready_path="/_stand-in/arrived")
            crm_env = crm_environment(self.messages.url, smtp_port)
        self.apis: dict[str, list[Replica]] = {}
        self.workers: dict[str, list[Replica]] = {}
        for name in SERVICES:
            prefix = name.upper()
            service_env = {**base, f"{prefix}_DATABASE_URL": self.database_urls[name], f"{prefix}_HOST": HOST,
                           **(crm_env if name == "crm" else {})}
            argv = [sys.executable, "-m", f"services.{name}"]
            self.apis[name] = []
            self.workers[name] = []
            for n in range(1, replicas + 1):
                api_port, worker_port = next(ports), next(ports)
                ports_env = {f"{prefix}_PORT": str(api_port), f"{prefix}_WORKER_PORT": str(worker_port)}
                self.apis[name].append(Replica(f"{name}-api-{n}", [*argv, "api"], {**service_env, **ports_env},
                                               api_port, self.log_dir))
                self.workers[name].append(Replica(f"{name}-worker-{n}", [*argv, "worker"],
                                                  {**service_env, **ports_env}, worker_port, self.log_dir))
        self.gateways: list[Replica] = []
        for n in range(1, gateways + 1):
            port = next(ports)
            gateway = {**base, "GATEWAY_HOST": HOST, "GATEWAY_PORT": str(port),
                       # nginx in front says who the client is, as an ingress does.
                       "GATEWAY_FORWARDED_ALLOW_IPS": HOST}
            for name in SERVICES:
                gateway[f"GATEWAY_{name.upper()}_URL"] = ",".join(api.url for api in self.apis[name])
            gateway.update(gateway_env or {})
            self.gateways.append(Replica(f"gateway-{n}", [sys.executable, "-m", "gateway"], gateway, port,
                                         self.log_dir))
        self.front = Nginx(work_dir or self.log_dir / "nginx", front_port or next(ports), self.gateways, self.log_dir)
        self.supervisor = Supervisor(self.processes, backoff or Backoff())

    @property
    def front_url(self) -> str:
        return self.front.url

    @property
    def processes(self) -> list[Replica]:
        services = [p for name in SERVICES for p in (*self.apis[name], *self.workers[name])]
        return [*([self.messages] if self.messages else []), *services, *self.gateways, self.front]

    def replicas(self, service: str) -> list[Replica]:
        return [*self.apis[service], *self.workers[service]]

    def migrate(self) -> None:
        """Each service's migrations once (a Job on Kubernetes), for a caller that wants them done
        before any replica starts; start() leaves them to the replicas."""
        def run(name: str) -> None:
            env = {**self.env, f"{name.upper()}_DATABASE_URL": self.database_urls[name]}
            proc = subprocess.run([sys.executable, "-m", f"services.{name}", "migrate"], env=env, cwd=REPO,
                                  capture_output=True, text=True, timeout=300)
            if proc.returncode != 0:
                raise ClusterError(f"{name} migrate failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")

        with ThreadPoolExecutor(len(SERVICES)) as pool:
            for done in [pool.submit(run, name) for name in SERVICES]:
                done.result()

    def start(self, timeout: float = 240.0) -> ClusterPlatform:
        """Every process at once but network's other API replicas, which wait for its first (the one
        that makes the bootstrap key: two at once on an empty table would both insert it); nginx
        last. Each replica brings its schema up to date as it starts, under PostgreSQL's advisory
        lock (services/common/migrations.py), so the first of a service migrates and the others find
        the schema at the head: a migration Job first (`migrate()`, Kubernetes' way) would only add
        four processes importing the platform. Then the supervisor watches them all. On two cores
        starting is CPU-bound, so starting in parallel saves the waits between groups, not the work."""
        self.timings: dict[str, float] = {}
        began = time.monotonic()
        try:
            first = self.apis["network"][0]
            later = [p for p in self.apis["network"] if p is not first]
            now = [p for p in self.processes if p not in later and p is not self.front]
            for process in now:
                process.start()
            first.wait_ready(timeout)
            for process in later:
                process.start()
            for process in [*now, *later]:
                process.wait_ready(timeout)
            self.front.start().wait_ready(timeout)
            self.timings["ready"] = time.monotonic() - began
            self.supervisor.start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """The supervisor first, then the front, the gateways, the services and the stand-ins (SIGTERM
        each, in parallel)."""
        self.supervisor.stop()
        for group in ([self.front], self.gateways, [p for p in self.processes if p not in self.gateways
                                                     and p is not self.front]):
            with ThreadPoolExecutor(max(len(group), 1)) as pool:
                list(pool.map(lambda p: p.stop(), group))

    def kill(self) -> None:
        """For a throwaway cluster whose data goes next (the tests'): every Python process SIGKILLed
        at once, nothing to wait for; nginx still stopped (its workers outlive a killed master)."""
        self.supervisor.stop()
        self.front.stop()
        for process in self.processes:
            process.wanted = False
            process.kill()

    def __enter__(self) -> ClusterPlatform:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
