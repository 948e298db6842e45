"""`make cluster`: three Kafka brokers, a PostgreSQL primary and its synchronous standby, two
replicas of every service's API and worker, two gateways and nginx in front, Keycloak and the
message stand-ins, until Ctrl-C; a supervisor restarts any of them that dies (Keycloak too,
once it is up).

Data and logs in var/cluster/ (CLUSTER_VAR_DIR); nginx listens on 127.0.0.1:8000
(CLUSTER_PORT). The broker and database data is kept between runs; the HQ admin key is
printed (PLATFORM_BOOTSTRAP_KEY chooses it). Keycloak (staff sign-in, one instance, its realm
on the PostgreSQL pair) needs Java 21 or newer; CLUSTER_SIGN_IN=off runs without it (API keys
only). CRM sends its messages to the SMS/WeChat and SMTP stand-ins (deploy/messaging.py)."""
from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import os
import secrets
import signal
import sys
import threading
from pathlib import Path

from deploy.cluster.identity import DATABASE, ClusterKeycloak
from deploy.cluster.kafka import KafkaCluster
from deploy.cluster.platform import REPO, ClusterError, ClusterPlatform
from deploy.cluster.postgres import PostgresPair
from deploy.cluster.supervisor import Restart
from deploy.kafka.broker import KafkaBrokerError
from deploy.oidc.keycloak import KeycloakError, find_java_home
from deploy.postgres.cluster import PostgresError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.cluster", description=__doc__.splitlines()[0],
                                     epilog="\n".join(__doc__.splitlines()[2:]),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--var-dir", type=Path,
                        default=Path(os.environ.get("CLUSTER_VAR_DIR") or REPO / "var" / "cluster"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("CLUSTER_PORT") or 8000),
                        help="nginx's port, the one clients call (CLUSTER_PORT; default 8000)")
    parser.add_argument("--no-sign-in", dest="sign_in", action="store_false",
                        default=(os.environ.get("CLUSTER_SIGN_IN") or "on").lower() not in ("off", "0", "no", "false"),
                        help="without Keycloak: API keys only (CLUSTER_SIGN_IN=off)")
    args = parser.parse_args(argv)
    var: Path = args.var_dir.resolve()
    log_dir = var / "log"
    log_dir.mkdir(parents=True, exist_ok=True)
    stopping = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())

    kafka = KafkaCluster(var / "kafka", log_dir=log_dir)
    database = PostgresPair(var / "pg", durable=True, log_dir=log_dir)
    platform: ClusterPlatform | None = None
    keycloak: ClusterKeycloak | None = None
    signing_in: concurrent.futures.Future[object] | None = None
    background = concurrent.futures.ThreadPoolExecutor(1)
    try:
        print(f"starting 3 Kafka brokers and PostgreSQL primary + standby in {var} (logs in {log_dir})", flush=True)
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            brokers, databases = pool.submit(kafka.start), pool.submit(database.start)
            brokers.result()
            databases.result()
        key = os.environ.get("PLATFORM_BOOTSTRAP_KEY") or "ak_" + secrets.token_urlsafe(32)
        env = {"PLATFORM_BOOTSTRAP_KEY": key}
        keycloak = _keycloak(args.sign_in, var, log_dir, database, args.port)
        if keycloak is not None:
            env.update(keycloak.platform_env())
            signing_in = background.submit(keycloak.start, 300)  # a JVM: it starts while the platform does
        platform = ClusterPlatform(log_dir, kafka_bootstrap=kafka.bootstrap_servers,
                                   database_url=database.ensure_database, front_port=args.port,
                                   env=env, work_dir=var / "nginx")
        platform.supervisor.on_restart = _said
        print("starting 2 replicas of each service's API and worker, 2 gateways, nginx and the message stand-ins"
              + (", and Keycloak" if keycloak else ""), flush=True)
        platform.start()
        sign_in = "off (API keys only)"
        if keycloak is not None and signing_in is not None:
            try:
                signing_in.result()
                platform.supervisor.watch(keycloak)  # from now on a Keycloak that dies is started again
                sign_in = f"{keycloak.issuer}  (Keycloak, its realm in the database {DATABASE!r} on the pair)"
            except KeycloakError as exc:
                sign_in = f"off: Keycloak did not start: {str(exc).strip().splitlines()[0]}"
        print("\n".join([
            "", "  集群已就绪 cluster ready",
            f"  front (nginx)  {platform.front_url}",
            f"  HQ admin key   {platform.bootstrap_key}",
            f"  gateways       {', '.join(g.url for g in platform.gateways)}",
            f"  sign-in        {sign_in}",
            *([f"  messages       SMS/WeChat {platform.messages.url}, what arrived "
               f"{platform.messages.url}/_stand-in/arrived"] if platform.messages else []),
            f"  kafka          {kafka.bootstrap_servers}",
            f"  postgres       {database.url('<service>')}",
            f"  logs           {log_dir}/",
            "  A process that dies is restarted (with back-off). Ctrl-C stops everything.", ""]), flush=True)
        stopping.wait()
        return 0
    except (ClusterError, KafkaBrokerError, PostgresError) as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        print("stopping", flush=True)
        if platform is not None:
            platform.stop()
        if keycloak is not None:
            with contextlib.suppress(KeycloakError):
                keycloak.stop()
        background.shutdown(wait=False, cancel_futures=True)
        kafka.stop()
        database.stop()


def _keycloak(wanted: bool, var: Path, log_dir: Path, database: PostgresPair, port: int) -> ClusterKeycloak | None:
    """Keycloak on the pair, or None (said why) when it is not wanted or this machine has no Java 21."""
    if not wanted:
        return None
    try:
        find_java_home()
    except KeycloakError as exc:
        print(f"sign-in off, API keys only: {exc}", flush=True)
        return None
    database.ensure_database(DATABASE)
    return ClusterKeycloak(var / "keycloak", database, log_file=log_dir / "keycloak.log",
                           dashboard_urls=[f"http://127.0.0.1:{port}/dashboard"])


def _said(restart: Restart) -> None:
    back = "not ready" if restart.ready_at is None else f"ready {restart.ready_at - restart.seen_dead_at:.1f} s after"
    print(f"restarted {restart.name} (exit {restart.exit_code}, death {restart.failures_in_a_row} in a row; {back})",
          file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
