"""`make run`: the whole platform on one machine.

1. PostgreSQL (deploy/postgres/cluster.py) in var/pg on 127.0.0.1:5432, with one
   database per service, as in production; created on the first run, kept afterwards.
2. A Kafka broker (deploy/kafka/broker.py) in var/kafka on 127.0.0.1:9092.
3. The four services (API, relay and consumers in one process each; each brings its
   database's schema up to date as it starts) and the gateway, under honcho.

The database's and the broker's own logs go to var/log/. The terminal shows each process
starting, one banner once the gateway and every service answer /readyz, and from then on
only warnings and errors (LOG_LEVEL=INFO shows everything). Ctrl-C or SIGTERM stops the
services and the gateway first, then the broker, then the database.

Environment: <SERVICE>_DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS use a database or broker
of your own instead; LOCAL_PG_PORT, LOCAL_KAFKA_PORT, GATEWAY_PORT and <SERVICE>_PORT
move the ports; LOCAL_VAR_DIR moves var/; PLATFORM_BOOTSTRAP_KEY fixes the HQ admin key.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import secrets
import shlex
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


@dataclass(frozen=True)
class Ports:
    postgres: int
    kafka: int
    kafka_controller: int
    gateway: int
    services: dict[str, int]


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
    )
    env = _platform_env(var, ports)
    terminal = Terminal(sys.stdout, width=max(len(name) for name in [*SERVICES, "postgres", "gateway"]))

    signal.signal(signal.SIGINT, _interrupt)  # until honcho's loop takes over
    signal.signal(signal.SIGTERM, _interrupt)
    with contextlib.ExitStack() as running:  # unwinds last in, first out: the broker, then the database
        try:
            database_url = None
            if any(f"{name.upper()}_DATABASE_URL" not in env for name in SERVICES):
                cluster = PostgresCluster(var / "pg", port=ports.postgres, durable=True,
                                          log_file=var / "log" / "postgres.log")
                running.callback(_stop, terminal, "postgres", cluster.stop)
                _start_postgres(terminal, cluster, env, var)
                database_url = cluster.url("") + "<service>"
            if not env.get("KAFKA_BOOTSTRAP_SERVERS"):
                broker = KafkaBroker(var / "kafka", port=ports.kafka, controller_port=ports.kafka_controller,
                                     out_file=var / "log" / "kafka.log")
                running.callback(_stop, terminal, "kafka", broker.stop)
                _start_kafka(terminal, broker, env, var)

            honcho.manager.KILL_WAIT = SERVICE_STOP_SECONDS
            manager = Manager(printer=terminal)
            for name in SERVICES:
                manager.add_process(name, "exec " + shlex.join([sys.executable, "-m", f"services.{name}", "all"]),
                                    env=env, cwd=str(REPO))
            readiness = {name: f"http://{HOST}:{port}/readyz" for name, port in ports.services.items()}
            services_ready = shlex.join([sys.executable, "-m", "deploy.local", "await", *readiness.values()])
            manager.add_process("gateway", f"{services_ready} && exec {shlex.join([sys.executable, '-m', 'gateway'])}",
                                env=env, cwd=str(REPO))
            readiness["gateway"] = f"http://{HOST}:{ports.gateway}/readyz"
            banner = _banner(env, ports, var, database_url)
            stopping = threading.Event()
            threading.Thread(target=_announce_when_ready, args=(manager, readiness, banner, stopping),
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
    # `make demo` moves this clock to replay months of activity; without the file it is the system clock.
    env.setdefault("PLATFORM_CLOCK", f"file:{var / 'demo-clock'}")
    env["GATEWAY_PORT"] = str(ports.gateway)
    for name, port in ports.services.items():
        env[f"{name.upper()}_PORT"] = str(port)
        env.setdefault(f"GATEWAY_{name.upper()}_URL", f"http://{HOST}:{port}")
    return env


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


def _stop(terminal: Terminal, name: str, stop: Callable[[], None]) -> None:
    terminal.say(name, "stopping")
    try:
        stop()
    except (PostgresError, KafkaBrokerError) as exc:
        terminal.say(name, f"did not stop cleanly: {exc}")
    else:
        terminal.say(name, "stopped")


def _banner(env: dict[str, str], ports: Ports, var: Path, database_url: str | None) -> str:
    gateway = f"http://{HOST}:{ports.gateway}"
    lines = [
        "",
        "  平台已就绪 platform ready",
        f"  gateway       {gateway}  (docs /docs, dashboard /dashboard)",
        f"  HQ admin key  {env['PLATFORM_BOOTSTRAP_KEY']}",
        *([f"  postgres      {database_url}"] if database_url else []),
        f"  kafka         {env['KAFKA_BOOTSTRAP_SERVERS']}",
        f"  logs          {_shown(var / 'log')}/ (PostgreSQL, Kafka)",
        "  Ctrl-C stops everything. Below: warnings and errors only (LOG_LEVEL=INFO shows all).",
        "",
    ]
    return "\n".join(lines)


def _announce_when_ready(manager: Manager, readiness: dict[str, str], banner: str, stopping: threading.Event) -> None:
    """Hand the banner to honcho's printing loop once every /readyz answers 200."""
    if _wait_ready(readiness, stopping, lambda text: _tell(manager, "system", text)):
        _tell(manager, BANNER, banner)


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
