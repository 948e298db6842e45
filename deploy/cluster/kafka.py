"""Three Kafka brokers in KRaft mode, each broker and controller in one JVM, from the jars
`deploy/kafka/broker.py` fetches. Topics get three replicas and need two of them in sync
for a write with acks=all (Strimzi's defaults for a three-broker Kafka).

    with KafkaCluster(tmp_path / "kafka") as kafka:
        use(kafka.bootstrap_servers)          # "127.0.0.1:a,127.0.0.1:b,127.0.0.1:c"
        kafka.brokers[0].kill(); kafka.brokers[0].start()
"""
from __future__ import annotations

import concurrent.futures
import subprocess
import time
from pathlib import Path

from deploy.kafka.broker import HOST, KafkaBroker, KafkaBrokerError, _describe_cluster, _run_coroutine_blocking
from deploy.processes import free_ports, port_accepts

BROKERS = 3
REPLICATION_FACTOR = 3
MIN_INSYNC_REPLICAS = 2


class ClusterBroker(KafkaBroker):
    """One of the cluster's nodes: `node_id`, the quorum's voters and the cluster id shared."""

    def __init__(self, data_dir: Path, node_id: int, port: int, controller_port: int, voters: str,
                 cluster_id: str, out_file: Path | None = None) -> None:
        super().__init__(data_dir, port=port, controller_port=controller_port, out_file=out_file)
        self.node_id, self.voters, self.shared_cluster_id = node_id, voters, cluster_id

    def _properties(self) -> dict[str, object]:
        props = super()._properties()
        props.update({
            "node.id": self.node_id,
            "controller.quorum.voters": self.voters,
            "num.partitions": 3,
            "default.replication.factor": REPLICATION_FACTOR,
            "min.insync.replicas": MIN_INSYNC_REPLICAS,
            "offsets.topic.replication.factor": REPLICATION_FACTOR,
            "transaction.state.log.replication.factor": REPLICATION_FACTOR,
            "transaction.state.log.min.isr": MIN_INSYNC_REPLICAS,
            # A replica that lost its leader is never made leader with writes missing.
            "unclean.leader.election.enable": "false",
            # A killed broker's partitions move within seconds, as the drill needs (default 30 s).
            "replica.lag.time.max.ms": 10000,
        })
        return props

    def _format(self, lib: Path, deadline: float) -> None:
        # Every node of one cluster is formatted with the same cluster id.
        cmd = self._jvm(lib, "kafka.tools.StorageTool", "format", "-t", self.shared_cluster_id,
                        "-c", str(self.properties_file))
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=max(deadline - time.monotonic(), 1))
        if proc.returncode != 0:
            raise KafkaBrokerError(f"formatting node {self.node_id} failed:\n{proc.stdout}\n{proc.stderr}")

    def _wait_ready(self, deadline: float) -> None:
        last_error: object = "not asked yet"
        while True:
            if self._proc is None or self._proc.poll() is not None:
                raise KafkaBrokerError(f"Kafka node {self.node_id} exited during start.\n{self._log_tail()}")
            if time.monotonic() > deadline:
                raise KafkaBrokerError(f"Kafka node {self.node_id} not ready in time ({last_error}).\n"
                                       f"{self._log_tail()}")
            if not port_accepts(self.port, HOST, timeout=0.5):
                time.sleep(0.3)  # poll interval
                continue
            try:
                info = _run_coroutine_blocking(lambda: _describe_cluster(self.bootstrap_servers, 5000), timeout=15)
            except Exception as exc:  # no quorum, or not registered yet
                last_error = repr(exc)
            else:
                if any(b.get("node_id") == self.node_id for b in info.get("brokers") or []):
                    return
                last_error = f"node {self.node_id} not among {info.get('brokers')}"
            time.sleep(0.3)  # poll interval


class KafkaCluster:
    """Three nodes on free ports (or the ones given), data under `data_dir/node-<id>`."""

    def __init__(self, data_dir: Path, ports: list[int] | None = None, controller_ports: list[int] | None = None,
                 *, log_dir: Path | None = None) -> None:
        self.data_dir = Path(data_dir).resolve()
        free = iter(free_ports(2 * BROKERS))
        ports = ports or [next(free) for _ in range(BROKERS)]
        controller_ports = controller_ports or [next(free) for _ in range(BROKERS)]
        voters = ",".join(f"{n + 1}@{HOST}:{p}" for n, p in enumerate(controller_ports))
        cluster_id = self._cluster_id()
        self.brokers = [
            ClusterBroker(self.data_dir / f"node-{n + 1}", n + 1, ports[n], controller_ports[n], voters, cluster_id,
                          out_file=None if log_dir is None else Path(log_dir) / f"kafka-{n + 1}.log")
            for n in range(BROKERS)]

    def _cluster_id(self) -> str:
        """Kept in the data folder, so a cluster started again is the same cluster."""
        from deploy.kafka.broker import _random_cluster_id

        self.data_dir.mkdir(parents=True, exist_ok=True)
        path = self.data_dir / "cluster.id"
        if not path.exists():
            path.write_text(_random_cluster_id() + "\n")
        return path.read_text().strip()

    @property
    def bootstrap_servers(self) -> str:
        return ",".join(b.bootstrap_servers for b in self.brokers)

    def broker(self, node_id: int) -> ClusterBroker:
        return next(b for b in self.brokers if b.node_id == node_id)

    def start(self, timeout: float = 240) -> KafkaCluster:
        """All three at once: none serves until a majority of controllers has elected a leader."""
        with concurrent.futures.ThreadPoolExecutor(BROKERS) as pool:
            for started in [pool.submit(b.start, timeout) for b in self.brokers]:
                started.result()
        return self

    def stop(self, timeout: float = 15) -> None:
        """All at once: stopped one by one, the last would wait for a controller quorum that is gone."""
        with concurrent.futures.ThreadPoolExecutor(BROKERS) as pool:
            for stopped in [pool.submit(b.stop, timeout) for b in self.brokers]:
                stopped.result()

    def __enter__(self) -> KafkaCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
