"""`make cluster`: three Kafka brokers, a PostgreSQL primary and its synchronous standby, two
replicas of every service's API and worker, two gateways and nginx in front, until Ctrl-C.

Data and logs in var/cluster/ (CLUSTER_VAR_DIR); nginx listens on 127.0.0.1:8000
(CLUSTER_PORT). The broker and database data is kept between runs; the HQ admin key is
printed (PLATFORM_BOOTSTRAP_KEY chooses it). Staff sign-in (Keycloak) and the message
stand-ins are not part of the cluster: API keys only, and CRM sends no messages."""
from __future__ import annotations

import argparse
import concurrent.futures
import os
import secrets
import signal
import sys
import threading
from pathlib import Path

from deploy.cluster.kafka import KafkaCluster
from deploy.cluster.platform import REPO, ClusterError, ClusterPlatform
from deploy.cluster.postgres import PostgresPair
from deploy.kafka.broker import KafkaBrokerError
from deploy.postgres.cluster import PostgresError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.cluster", description=__doc__.splitlines()[0],
                                     epilog="\n".join(__doc__.splitlines()[2:]),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--var-dir", type=Path,
                        default=Path(os.environ.get("CLUSTER_VAR_DIR") or REPO / "var" / "cluster"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("CLUSTER_PORT") or 8000),
                        help="nginx's port, the one clients call (CLUSTER_PORT; default 8000)")
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
    try:
        print(f"starting 3 Kafka brokers and PostgreSQL primary + standby in {var} (logs in {log_dir})", flush=True)
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            brokers, databases = pool.submit(kafka.start), pool.submit(database.start)
            brokers.result()
            databases.result()
        key = os.environ.get("PLATFORM_BOOTSTRAP_KEY") or "ak_" + secrets.token_urlsafe(32)
        platform = ClusterPlatform(log_dir, kafka_bootstrap=kafka.bootstrap_servers,
                                   database_url=database.ensure_database, front_port=args.port,
                                   env={"PLATFORM_BOOTSTRAP_KEY": key}, work_dir=var / "nginx")
        print("starting 2 replicas of each service's API and worker, 2 gateways and nginx", flush=True)
        platform.start()
        print("\n".join([
            "", "  集群已就绪 cluster ready",
            f"  front (nginx)  {platform.front_url}",
            f"  HQ admin key   {platform.bootstrap_key}",
            f"  gateways       {', '.join(g.url for g in platform.gateways)}",
            f"  kafka          {kafka.bootstrap_servers}",
            f"  postgres       {database.url('<service>')}",
            f"  logs           {log_dir}/",
            "  Ctrl-C stops everything.", ""]), flush=True)
        while not stopping.wait(1.0):
            gone = [p.name for p in platform.processes if not p.running]
            if gone:
                print(f"exited: {', '.join(gone)}; stopping", file=sys.stderr, flush=True)
                return 1
        return 0
    except (ClusterError, KafkaBrokerError, PostgresError) as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        print("stopping", flush=True)
        if platform is not None:
            platform.stop()
        kafka.stop()
        database.stop()


if __name__ == "__main__":
    sys.exit(main())
