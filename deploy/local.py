"""`make run`: the whole platform on one machine.

Starts a local Kafka broker (unless KAFKA_BOOTSTRAP_SERVERS names one), the four
services (API, relay and consumers in one process each, SQLite under var/ unless
<SERVICE>_DATABASE_URL is set) and the gateway; prints the gateway URL and the HQ admin
key; Ctrl-C or SIGTERM stops everything, the broker last."""
from __future__ import annotations

import argparse
import os
import secrets
import sys
from pathlib import Path

import honcho.manager
from honcho.manager import Manager

REPO = Path(__file__).resolve().parents[1]
SERVICES = ("network", "reception", "workshop", "crm")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.local", description=__doc__.splitlines()[0])
    parser.add_argument("--kafka-port", type=int, default=int(os.environ.get("LOCAL_KAFKA_PORT", "9092")))
    parser.add_argument("--gateway-port", type=int, default=int(os.environ.get("GATEWAY_PORT", "8000")))
    args = parser.parse_args(argv)

    (REPO / "var").mkdir(exist_ok=True)
    env = dict(os.environ)
    env.setdefault("PYTHONUNBUFFERED", "1")
    secret_file = REPO / "var" / "identity-secret"
    if "PLATFORM_IDENTITY_SECRET" not in env:
        # Kept across runs so a restarted gateway and services still agree.
        if not secret_file.exists():
            secret_file.write_text(secrets.token_urlsafe(32))
            secret_file.chmod(0o600)
        env["PLATFORM_IDENTITY_SECRET"] = secret_file.read_text().strip()
    if not env.get("PLATFORM_BOOTSTRAP_KEY"):
        env["PLATFORM_BOOTSTRAP_KEY"] = "ak_" + secrets.token_urlsafe(32)
    env["GATEWAY_PORT"] = str(args.gateway_port)
    # `make demo` moves this clock to replay months of activity; without the file it is the system clock.
    env.setdefault("PLATFORM_CLOCK", f"file:{REPO / 'var' / 'demo-clock'}")

    # The broker needs more than honcho's default 5 s to shut down cleanly.
    honcho.manager.KILL_WAIT = 45
    manager = Manager()
    if not env.get("KAFKA_BOOTSTRAP_SERVERS"):
        env["KAFKA_BOOTSTRAP_SERVERS"] = f"127.0.0.1:{args.kafka_port}"
        manager.add_process(
            "kafka",
            f"{sys.executable} -m deploy.kafka.broker run --data-dir var/kafka "
            f"--port {args.kafka_port} --controller-port {args.kafka_port + 1}",
            env=env, cwd=str(REPO),
        )
    for name in SERVICES:
        manager.add_process(name, f"{sys.executable} -m services.{name} all", env=env, cwd=str(REPO))
    manager.add_process("gateway", f"{sys.executable} -m gateway", env=env, cwd=str(REPO))

    banner = (
        "\n"
        f"  gateway      http://127.0.0.1:{args.gateway_port}  (docs /docs, dashboard /dashboard)\n"
        f"  HQ admin key {env['PLATFORM_BOOTSTRAP_KEY']}\n"
        f"  kafka        {env['KAFKA_BOOTSTRAP_SERVERS']}\n"
        "  Ctrl-C stops everything.\n"
    )
    print(banner, flush=True)
    manager.loop()
    return manager.returncode or 0


if __name__ == "__main__":
    sys.exit(main())
