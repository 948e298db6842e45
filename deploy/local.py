"""`make run`: the whole platform on one machine.

1. PostgreSQL (deploy/postgres/cluster.py) in var/pg on 127.0.0.1:5432, with one
   database per service, as in production; created on the first run, kept afterwards.
2. Keycloak (deploy/oidc/keycloak.py), the staff's sign-in, in var/keycloak on
   127.0.0.1:8180 with its own database "keycloak" in that cluster; it starts while the
   rest does. Network provisions staff accounts there and the gateway trusts its tokens.
   Without Java 21 or newer the platform runs without sign-in (API keys only), and says so.
3. A Kafka broker (deploy/kafka/broker.py) in var/kafka on 127.0.0.1:9092.
4. The four services (API, relay and consumers in one process each; each brings its
   database's schema up to date as it starts) and the gateway, under honcho.
5. Stand-ins for the message providers (deploy/messaging.py): SMTP on 127.0.0.1:8025 and
   the SMS/WeChat API on 127.0.0.1:8190, which CRM sends its customer messages to, unless
   CRM_MESSAGES_SMS_URL names a provider of your own (LOCAL_SMTP_PORT and
   LOCAL_MESSAGING_PORT move them).

The database's, Keycloak's and the broker's own logs go to var/log/. The terminal shows
each process starting, one banner once the gateway, every service and Keycloak are ready,
and from then on only warnings and errors (LOG_LEVEL=INFO shows everything). Ctrl-C or
SIGTERM stops the services and the gateway first, then the broker, Keycloak, the database.

Environment: <SERVICE>_DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS use a database or broker
of your own instead, NETWORK_OIDC_ADMIN_URL (with NETWORK_OIDC_CLIENT_SECRET) a provider
of your own; LOCAL_PG_PORT, LOCAL_KAFKA_PORT, LOCAL_KEYCLOAK_PORT, GATEWAY_PORT and
<SERVICE>_PORT move the ports; LOCAL_SIGN_IN=off runs without Keycloak; LOCAL_VAR_DIR
moves var/; PLATFORM_BOOTSTRAP_KEY fixes the HQ admin key.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import secrets
import shlex
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import honcho.manager
import httpx
from honcho.manager import Manager
from honcho.printer import Message, Printer

from deploy.kafka.broker import KAFKA_VERSION, KafkaBroker, KafkaBrokerError
from deploy.messaging import crm_environment
from deploy.oidc.keycloak import (
    API_AUDIENCE,
    CREDENTIALS_FILE_NAME,
    DASHBOARD_CLIENT_ID,
    KEYCLOAK_VERSION,
    KeycloakError,
    KeycloakServer,
    dist_present,
    fetch_dist,
    find_java_home,
)
from deploy.postgres.cluster import PostgresCluster, PostgresError, ensure_binaries, find_bindir, server_version
from deploy.processes import HOST, port_accepts
from gateway.settings import GatewaySettings
from services.common.settings import PlatformSettings
from services.crm.settings import CrmSettings
from services.network.settings import NetworkSettings
from services.reception.settings import ReceptionSettings
from services.workshop.settings import WorkshopSettings

REPO = Path(__file__).resolve().parents[1]
SERVICES: dict[str, type[PlatformSettings]] = {
    "network": NetworkSettings, "reception": ReceptionSettings, "workshop": WorkshopSettings, "crm": CrmSettings,
}
BANNER = "\0banner"  # the printer's name for the banner, which it prints without time and name
# A service waits up to 15 s for its relay and consumers to finish before it exits.
SERVICE_STOP_SECONDS = 30
READY_PATIENCE_SECONDS = 180  # then one warning names what is not ready yet
# A first start on an empty database imports the realm: 20 s on a quiet machine, two minutes on a busy one.
KEYCLOAK_START_SECONDS = 300


@dataclass(frozen=True)
class Ports:
    postgres: int
    kafka: int
    kafka_controller: int
    gateway: int
    services: dict[str, int]
    keycloak: int = 8180
    keycloak_management: int = 9180


class SignIn:
    """Keycloak started in a thread of its own while the broker and the services start; the
    banner waits for it. A failure is kept and told once (the platform goes on without sign-in)."""

    def __init__(self, server: KeycloakServer) -> None:
        self.server = server
        self.error: str | None = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._start, name="keycloak", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _start(self) -> None:
        try:
            fetch_dist()  # outside the server's lock: a stop meanwhile need not wait for a download
            if not self._stopping.is_set():
                self.server.start(timeout=KEYCLOAK_START_SECONDS)
        except (KeycloakError, OSError) as exc:
            self.error = str(exc).strip().splitlines()[0]

    def wait(self, stopping: threading.Event) -> bool:
        """True once Keycloak is ready; False if it failed or the platform is stopping."""
        while self._thread.is_alive():
            if stopping.wait(0.5):
                return False
        return self.error is None

    def stop(self) -> None:
        self._stopping.set()
        self.server.stop()
        self._thread.join(SERVICE_STOP_SECONDS)
        self.server.stop()  # one the thread spawned while the first stop ran


class Terminal(Printer):
    """honcho's printer (time, name, line); the banner is printed as it is."""

    def write(self, message: Message) -> None:
        if message.name == BANNER:
            print(message.data, file=self.output, flush=True)
        else:
            super().write(message)

    def say(self, name: str, text: str) -> None:
        self.write(Message(type="line", data=text, time=datetime.datetime.now(), name=name, colour=None))


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    if args.command == "await":
        # The gateway's command starts with this: it serves the services, so it starts once they answer.
        ready = _wait_ready({url: url for url in args.urls}, threading.Event(), lambda text: print(text, flush=True))
        return 0 if ready else 1
    var: Path = args.var_dir.resolve()
    (var / "log").mkdir(parents=True, exist_ok=True)
    ports = Ports(
        postgres=args.pg_port, gateway=args.gateway_port,
        kafka=args.kafka_port, kafka_controller=args.kafka_controller_port or args.kafka_port + 1,
        services={name: int(os.environ.get(f"{name.upper()}_PORT") or settings.model_fields["port"].default)
                  for name, settings in SERVICES.items()},
        keycloak=args.keycloak_port, keycloak_management=args.keycloak_management_port,
    )
    env = _platform_env(var, ports)
    stand_ins = _message_stand_ins(env)
    terminal = Terminal(sys.stdout, width=max(len(name) for name in [*SERVICES, "postgres", "gateway", "keycloak"]))

    signal.signal(signal.SIGINT, _interrupt)  # until honcho's loop takes over
    signal.signal(signal.SIGTERM, _interrupt)
    with contextlib.ExitStack() as running:  # unwinds last in, first out: the broker, Keycloak, the database
        try:
            database_url = None
            cluster = None
            if any(f"{name.upper()}_DATABASE_URL" not in env for name in SERVICES):
                cluster = PostgresCluster(var / "pg", port=ports.postgres, durable=True,
                                          log_file=var / "log" / "postgres.log")
                running.callback(_stop, terminal, "postgres", cluster.stop)
                _start_postgres(terminal, cluster, env, var)
                database_url = cluster.url("") + "<service>"
            sign_in = _sign_in(terminal, cluster, env, var, ports) if args.sign_in else None
            if sign_in is not None:
                running.callback(_stop, terminal, "keycloak", sign_in.stop)
                sign_in.start()
            if not env.get("KAFKA_BOOTSTRAP_SERVERS"):
                broker = KafkaBroker(var / "kafka", port=ports.kafka, controller_port=ports.kafka_controller,
                                     out_file=var / "log" / "kafka.log")
                running.callback(_stop, terminal, "kafka", broker.stop)
                _start_kafka(terminal, broker, env, var)

            honcho.manager.KILL_WAIT = SERVICE_STOP_SECONDS
            manager = Manager(printer=terminal)
            if stand_ins is not None:
                manager.add_process("messaging", "exec " + shlex.join([
                    sys.executable, "-m", "deploy.messaging", "--http-port", str(stand_ins[0]),
                    "--smtp-port", str(stand_ins[1])]), env=env, cwd=str(REPO))
            for name in SERVICES:
                manager.add_process(name, "exec " + shlex.join([sys.executable, "-m", f"services.{name}", "all"]),
                                    env=env, cwd=str(REPO))
            readiness = {name: f"http://{HOST}:{port}/readyz" for name, port in ports.services.items()}
            services_ready = shlex.join([sys.executable, "-m", "deploy.local", "await", *readiness.values()])
            manager.add_process("gateway", f"{services_ready} && exec {shlex.join([sys.executable, '-m', 'gateway'])}",
                                env=env, cwd=str(REPO))
            readiness["gateway"] = f"http://{HOST}:{ports.gateway}/readyz"
            stopping = threading.Event()
            threading.Thread(target=_announce_when_ready,
                             args=(manager, readiness, env, ports, var, database_url, sign_in, stopping),
                             name="readiness", daemon=True).start()
            try:
                # Until Ctrl-C, SIGTERM or a process exits; then honcho stops all of them (and keeps
                # its own signal handlers, which only say "received", while the broker and database stop).
                manager.loop()
            finally:
                stopping.set()
        except (PostgresError, KafkaBrokerError) as exc:
            terminal.say("error", str(exc))
            return 1
        except KeyboardInterrupt:  # before honcho's loop took over the signals
            return 130
        return manager.returncode or 0


def _interrupt(signum: int, frame: object) -> None:
    """Ctrl-C or SIGTERM while the database and broker start: stop starting, and stop what did start.
    Later signals are ignored, so that the clean-up runs to its end."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m deploy.local", description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(__doc__.splitlines()[2:]))
    environ = os.environ.get
    parser.add_argument("--var-dir", type=Path, default=Path(environ("LOCAL_VAR_DIR") or REPO / "var"),
                        help="the database, broker data, logs and secrets (LOCAL_VAR_DIR; default <repo>/var)")
    parser.add_argument("--pg-port", type=int, default=int(environ("LOCAL_PG_PORT") or 5432),
                        help="PostgreSQL's port (LOCAL_PG_PORT; default 5432)")
    parser.add_argument("--kafka-port", type=int, default=int(environ("LOCAL_KAFKA_PORT") or 9092),
                        help="the broker's port (LOCAL_KAFKA_PORT; default 9092)")
    parser.add_argument("--kafka-controller-port", type=int,
                        default=int(environ("LOCAL_KAFKA_CONTROLLER_PORT") or 0),
                        help="the broker's KRaft controller port (LOCAL_KAFKA_CONTROLLER_PORT; default kafka port + 1)")
    gateway_port = GatewaySettings.model_fields["port"].default
    parser.add_argument("--gateway-port", type=int, default=int(environ("GATEWAY_PORT") or gateway_port),
                        help=f"the gateway's port (GATEWAY_PORT; default {gateway_port})")
    parser.add_argument("--keycloak-port", type=int, default=int(environ("LOCAL_KEYCLOAK_PORT") or 8180),
                        help="Keycloak's port, the staff's sign-in (LOCAL_KEYCLOAK_PORT; default 8180)")
    parser.add_argument("--keycloak-management-port", type=int,
                        default=int(environ("LOCAL_KEYCLOAK_MANAGEMENT_PORT") or 9180),
                        help="Keycloak's health port (LOCAL_KEYCLOAK_MANAGEMENT_PORT; default 9180)")
    parser.add_argument("--no-sign-in", dest="sign_in", action="store_false",
                        default=(environ("LOCAL_SIGN_IN") or "on").lower() not in ("off", "0", "no", "false"),
                        help="run without Keycloak: API keys only (LOCAL_SIGN_IN=off)")
    commands = parser.add_subparsers(dest="command", title="commands (none: run the platform)")
    waiting = commands.add_parser("await", help="wait until every URL answers 200 (how the gateway waits)")
    waiting.add_argument("urls", nargs="+", metavar="URL")
    return parser.parse_args(argv)


def _platform_env(var: Path, ports: Ports) -> dict[str, str]:
    """Every process's environment: the caller's, plus what the platform needs and the caller left unset."""
    env = dict(os.environ)
    env.setdefault("PYTHONUNBUFFERED", "1")
    # Services and gateway log routine work at INFO; the terminal is for what needs a look.
    env.setdefault("LOG_LEVEL", "WARNING")
    if "PLATFORM_IDENTITY_SECRET" not in env:
        # Kept across runs so a restarted gateway and services still agree.
        secret_file = var / "identity-secret"
        if not secret_file.exists():
            secret_file.write_text(secrets.token_urlsafe(32))
            secret_file.chmod(0o600)
        env["PLATFORM_IDENTITY_SECRET"] = secret_file.read_text().strip()
    if not env.get("PLATFORM_BOOTSTRAP_KEY"):
        env["PLATFORM_BOOTSTRAP_KEY"] = "ak_" + secrets.token_urlsafe(32)
    if not env.get("PLATFORM_METRICS_TOKEN"):
        # Kept across runs, like the identity secret, so a scraper's configuration keeps working.
        token_file = var / "metrics-token"
        if not token_file.exists():
            token_file.write_text(secrets.token_urlsafe(32))
            token_file.chmod(0o600)
        env["PLATFORM_METRICS_TOKEN"] = token_file.read_text().strip()
    # `make demo` moves this clock to replay months of activity; without the file it is the system clock.
    env.setdefault("PLATFORM_CLOCK", f"file:{var / 'demo-clock'}")
    env["GATEWAY_PORT"] = str(ports.gateway)
    for name, port in ports.services.items():
        env[f"{name.upper()}_PORT"] = str(port)
        env.setdefault(f"GATEWAY_{name.upper()}_URL", f"http://{HOST}:{port}")
    return env


STAND_IN_MARK = "LOCAL_MESSAGE_STAND_INS"


def _message_stand_ins(env: dict[str, str]) -> tuple[int, int] | None:
    """The stand-ins' ports (HTTP, SMTP), with CRM pointed at them; None when the caller
    configured providers of their own or the ports are taken (CRM then sends nothing)."""
    if env.get("CRM_MESSAGES_SMS_URL") or env.get("CRM_MESSAGES_SMTP_HOST"):
        return None
    http_port = int(env.get("LOCAL_MESSAGING_PORT") or 8190)
    smtp_port = int(env.get("LOCAL_SMTP_PORT") or 8025)
    if port_accepts(http_port) or port_accepts(smtp_port):
        print(f"message stand-ins not started: {HOST}:{http_port} or {HOST}:{smtp_port} is taken "
              f"(LOCAL_MESSAGING_PORT, LOCAL_SMTP_PORT choose others); CRM sends no messages", flush=True)
        return None
    env.update(crm_environment(f"http://{HOST}:{http_port}", smtp_port))
    env[STAND_IN_MARK] = "1"
    return http_port, smtp_port


def _start_postgres(terminal: Terminal, cluster: PostgresCluster, env: dict[str, str], var: Path) -> None:
    if find_bindir() is None:
        terminal.say("postgres", "PostgreSQL's server is not installed; installing Debian's `postgresql` package")
    version = server_version(ensure_binaries())
    if not cluster.is_running() and port_accepts(cluster.port, HOST):
        raise PostgresError(
            f"{HOST}:{cluster.port} is taken (another PostgreSQL?). Stop that server, or run on another port: "
            f"LOCAL_PG_PORT={cluster.port + 1} make run"
        )
    terminal.say("postgres", f"starting PostgreSQL {version} in {_shown(var / 'pg')} on {HOST}:{cluster.port} "
                             f"(log {_shown(cluster.log_file)})")
    cluster.start()
    made = []
    for name in SERVICES:
        if f"{name.upper()}_DATABASE_URL" not in env:
            env[f"{name.upper()}_DATABASE_URL"] = cluster.ensure_database(name)
            made.append(name)
    terminal.say("postgres", f"ready (pid {cluster.pid}); databases {', '.join(made)}")


def _start_kafka(terminal: Terminal, broker: KafkaBroker, env: dict[str, str], var: Path) -> None:
    taken = [port for port in (broker.port, broker.controller_port) if port_accepts(port, HOST, timeout=0.2)]
    if taken and not broker.is_running():
        raise KafkaBrokerError(
            f"{HOST}:{taken[0]} is taken (another Kafka?). Stop it, use it (KAFKA_BOOTSTRAP_SERVERS={HOST}:"
            f"{broker.port} make run), or run on other ports: LOCAL_KAFKA_PORT={broker.port + 10} make run"
        )
    terminal.say("kafka", f"starting Kafka {KAFKA_VERSION} in {_shown(var / 'kafka')} on {broker.bootstrap_servers} "
                          f"(log {_shown(broker.out_file)})")
    broker.start()
    env["KAFKA_BOOTSTRAP_SERVERS"] = broker.bootstrap_servers
    terminal.say("kafka", f"ready (pid {broker.pid})")


def _sign_in(terminal: Terminal, cluster: PostgresCluster | None, env: dict[str, str], var: Path,
             ports: Ports) -> SignIn | None:
    """Keycloak for the staff's sign-in, with network and the gateway configured for it; None
    (said once) when the caller brings a provider, or this machine cannot run it."""
    if env.get("NETWORK_OIDC_ADMIN_URL"):
        terminal.say("keycloak", f"not started: network provisions staff at NETWORK_OIDC_ADMIN_URL="
                                 f"{env['NETWORK_OIDC_ADMIN_URL']}")
        return None
    data_dir = var / "keycloak"
    try:
        if cluster is None:
            raise KeycloakError("Keycloak keeps its data in make run's PostgreSQL, which does not run when every "
                                "<SERVICE>_DATABASE_URL is given")
        java_home = find_java_home()
        if not dist_present() and shutil.which("mvn") is None:
            raise KeycloakError("Maven (`mvn`) is needed once to fetch Keycloak and is not on PATH")
        left_running = KeycloakServer(data_dir, None, ports.keycloak, ports.keycloak_management).is_running()
        taken = [port for port in (ports.keycloak, ports.keycloak_management) if port_accepts(port, HOST, timeout=0.2)]
        if taken and not left_running:
            raise KeycloakError(f"{HOST}:{taken[0]} is taken; run on other ports: "
                                f"LOCAL_KEYCLOAK_PORT={ports.keycloak + 10} "
                                f"LOCAL_KEYCLOAK_MANAGEMENT_PORT={ports.keycloak_management + 10} make run")
    except KeycloakError as exc:
        terminal.say("keycloak", f"sign-in off, API keys only: {exc}")
        return None
    # The dashboard's token call is checked against its exact origin, port included.
    server = KeycloakServer(data_dir, cluster.ensure_database("keycloak"), ports.keycloak, ports.keycloak_management,
                            log_file=var / "log" / "keycloak.log",
                            dashboard_urls=[f"http://{HOST}:{ports.gateway}/dashboard"])
    secret = server.credentials["provisioning_secret"]  # made on the first run, kept in var/keycloak
    env["NETWORK_OIDC_ADMIN_URL"] = server.base_url
    env["NETWORK_OIDC_CLIENT_SECRET"] = secret
    env.setdefault("GATEWAY_OIDC_ISSUER", server.issuer)
    env.setdefault("GATEWAY_OIDC_AUDIENCE", API_AUDIENCE)
    env.setdefault("GATEWAY_OIDC_CLIENT_ID", DASHBOARD_CLIENT_ID)
    fetching = "" if dist_present() else ", fetched first (once, about 170 MB)"
    terminal.say("keycloak", f"starting Keycloak {KEYCLOAK_VERSION} (Java at {java_home}{fetching}) in "
                             f"{_shown(var / 'keycloak')} on {server.base_url} (log {_shown(server.log_file)})")
    return SignIn(server)


def _stop(terminal: Terminal, name: str, stop: Callable[[], None]) -> None:
    terminal.say(name, "stopping")
    try:
        stop()
    except (PostgresError, KafkaBrokerError, KeycloakError) as exc:
        terminal.say(name, f"did not stop cleanly: {exc}")
    else:
        terminal.say(name, "stopped")


def _banner(env: dict[str, str], ports: Ports, var: Path, database_url: str | None,
            keycloak: KeycloakServer | None) -> str:
    gateway = f"http://{HOST}:{ports.gateway}"
    signing_in = [] if keycloak is None else [
        f"  sign-in       {keycloak.issuer}  (staff, by employee number)",
        f"                admin console {keycloak.base_url}/admin/  (user and password in "
        f"{_shown(keycloak.data_dir / CREDENTIALS_FILE_NAME)})",
    ]
    lines = [
        "",
        "  平台已就绪 platform ready",
        f"  gateway       {gateway}  (docs /docs, dashboard /dashboard)",
        f"  HQ admin key  {env['PLATFORM_BOOTSTRAP_KEY']}",
        *([f"  messages      to stand-ins: SMS/WeChat {env['CRM_MESSAGES_WECHAT_URL']}, SMTP "
           f"{env['CRM_MESSAGES_SMTP_HOST']}:{env['CRM_MESSAGES_SMTP_PORT']}; what arrived: "
           f"{env['CRM_MESSAGES_WECHAT_URL']}/_stand-in/arrived"] if env.get(STAND_IN_MARK) else []),
        f"  metrics       {gateway}/metrics  (Authorization: Bearer <the token in {_shown(var / 'metrics-token')}"
        " or PLATFORM_METRICS_TOKEN>)",
        *signing_in,
        *([f"  postgres      {database_url}"] if database_url else []),
        f"  kafka         {env['KAFKA_BOOTSTRAP_SERVERS']}",
        f"  logs          {_shown(var / 'log')}/ (PostgreSQL, Kafka{', Keycloak' if keycloak else ''})",
        "  Ctrl-C stops everything. Below: warnings and errors only (LOG_LEVEL=INFO shows all).",
        "",
    ]
    return "\n".join(lines)


def _announce_when_ready(manager: Manager, readiness: dict[str, str], env: dict[str, str], ports: Ports, var: Path,
                         database_url: str | None, sign_in: SignIn | None, stopping: threading.Event) -> None:
    """Hand the banner to honcho's printing loop once every /readyz answers 200 and Keycloak is
    ready, or has failed: then it says why once, and the banner has no sign-in."""
    if not _wait_ready(readiness, stopping, lambda text: _tell(manager, "system", text)):
        return
    keycloak = None
    if sign_in is not None:
        if sign_in.wait(stopping):
            keycloak = sign_in.server
        elif stopping.is_set():
            return
        else:
            _tell(manager, "keycloak", f"sign-in off, API keys only: Keycloak did not start: {sign_in.error}")
    _tell(manager, BANNER, _banner(env, ports, var, database_url, keycloak))


def _wait_ready(readiness: dict[str, str], stopping: threading.Event, slow: Callable[[str], None]) -> bool:
    """Poll each URL until it answers 200 (True), or until `stopping` is set (False).
    After READY_PATIENCE_SECONDS, `slow` is told once which ones are not ready yet."""
    waiting = dict(readiness)
    since = time.monotonic()
    warned = False
    with httpx.Client(timeout=2.0) as client:
        while waiting and not stopping.wait(0.5):  # poll interval
            for name, url in list(waiting.items()):
                with contextlib.suppress(httpx.HTTPError):
                    if client.get(url).status_code == 200:
                        del waiting[name]
            if waiting and not warned and time.monotonic() - since > READY_PATIENCE_SECONDS:
                warned = True
                slow(f"not ready after {READY_PATIENCE_SECONDS} s: "
                     + ", ".join(f"{name} ({url})" for name, url in waiting.items()))
    return not waiting


def _tell(manager: Manager, name: str, text: str) -> None:
    """Print through honcho's loop (from another thread), in order with the processes' lines."""
    manager.events.put(Message(type="line", data=text, time=datetime.datetime.now(), name=name, colour=None))


def _shown(path: Path) -> str:
    """A path as the reader typed it: relative to the repository when inside it."""
    with contextlib.suppress(ValueError):
        return str(path.resolve().relative_to(REPO))
    return str(path)


if __name__ == "__main__":
    sys.exit(main())
