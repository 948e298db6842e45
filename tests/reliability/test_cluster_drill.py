"""The cluster drill (docs/scaling.md): whole car lives through nginx in front of the
cluster of deploy/cluster while, on a schedule, the broker leading a partition is SIGKILLed
and later restarted, one replica of every service's API and worker and one gateway are
SIGKILLed and the cluster's supervisor brings them back (the consumer groups rebalance
twice), and the PostgreSQL primary is SIGKILLed, its standby promoted and the old primary
rebuilt as the new standby, twice, so the second failover goes back. Then reconciliation:
every order, job, callback, KPI count, claim and settlement line exactly once, every event
of every outbox on its topic, and the clients saw no answer they could not retry.

CLUSTER_DRILL_LIVES sets the number of lives (`make drill`: 1,000; in `make test` 200:
docs/scaling.md), CLUSTER_DRILL_CONCURRENCY how many are under way at once (16). With -s it prints each
fault's recovery time and the 5xx rate the clients saw, and the reconciliation."""
from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import json
import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy.engine import make_url

from deploy.cluster.kafka import KafkaCluster
from deploy.cluster.platform import SERVICES, ClusterPlatform
from deploy.cluster.postgres import PostgresPair
from tests.reliability.lives import WARRANTY_EVERY, life
from tests.support.platform import unique_prefix
from tools import client
from tools.client import Api, OrderPlan, all_items, open_store, repair_order_life, store_today, wait_for

LIVES = int(os.environ.get("CLUSTER_DRILL_LIVES") or 200)
# For the throughput figures only (docs/scaling.md): CLUSTER_REPLICAS=1 CLUSTER_DRILL_FAULTS=off
# measures one replica of each process without faults, CLUSTER_DRILL_FAULTS=off two.
REPLICAS = int(os.environ.get("CLUSTER_REPLICAS") or 2)
FAULTS = os.environ.get("CLUSTER_DRILL_FAULTS", "on") != "off"
STORES = 2
# Lives under way at once: a life mostly waits (for events between the services), so more at
# once keep the cluster busy; past the CPU the machine has, more only queue.
CONCURRENCY = int(os.environ.get("CLUSTER_DRILL_CONCURRENCY") or 16)
# How often a life asks whether the next service has caught up (tools.client polls every 0.1 s):
# each ask is a call through nginx, a gateway and a service, work taken from the lives.
POLL_SECONDS = 0.25
RETRYABLE = {502, 503, 504}
# Calls that started within this long after a fault count towards its 5xx rate.
FAULT_WINDOW_SECONDS = 15.0


class Call(NamedTuple):
    started: float
    ended: float
    method: str
    status: int | None  # None: no answer at all (connection refused or cut)


class Recording(httpx.AsyncBaseTransport):
    """Every call the clients make, as they saw it, retries included."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport(limits=httpx.Limits(max_connections=100))
        self.calls: list[Call] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        started = time.monotonic()
        try:
            response = await self.inner.handle_async_request(request)
        except Exception:
            self.calls.append(Call(started, time.monotonic(), request.method, None))
            raise
        self.calls.append(Call(started, time.monotonic(), request.method, response.status_code))
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


@dataclass
class Fault:
    name: str
    at: float = 0.0
    recovery: float | None = None  # to the first successful write begun after it
    calls: int = 0
    server_errors: int = 0
    extra: dict[str, float | int | str] = field(default_factory=dict)


@dataclass
class Drill:
    kafka: KafkaCluster
    database: PostgresPair
    platform: ClusterPlatform
    topic_prefix: str


@pytest.fixture
def drill(tmp_path):
    began = time.monotonic()
    kafka = KafkaCluster(tmp_path / "kafka", log_dir=tmp_path / "log")
    database = PostgresPair(tmp_path / "pg", log_dir=tmp_path / "log")
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        brokers, databases = pool.submit(kafka.start), pool.submit(database.start)
        brokers.result()
        databases.result()
    infrastructure = time.monotonic() - began
    prefix = unique_prefix()
    platform = ClusterPlatform(
        tmp_path / "log", kafka_bootstrap=kafka.bootstrap_servers, database_url=database.create_database,
        replicas=REPLICAS, gateways=REPLICAS, env={"PLATFORM_ENV": "test", "KAFKA_TOPIC_PREFIX": prefix},
        gateway_env={"GATEWAY_RATE_LIMIT_KEY_PER_SECOND": "1000", "GATEWAY_RATE_LIMIT_KEY_BURST": "1000",
                     "GATEWAY_RATE_LIMIT_CLIENT_PER_SECOND": "2000", "GATEWAY_RATE_LIMIT_CLIENT_BURST": "2000"})
    try:
        platform.start()
        print(f"\n  cluster up in {time.monotonic() - began:.0f} s (brokers and database {infrastructure:.0f} s, "
              f"then every process {platform.timings['ready']:.0f} s)", flush=True)
        yield Drill(kafka, database, platform, prefix)
    finally:
        # Killed, not stopped: the data goes anyway, and a graceful stop took 12 to 22 s.
        platform.kill()
        with concurrent.futures.ThreadPoolExecutor(len(kafka.brokers)) as pool:
            list(pool.map(lambda broker: broker.kill(), kafka.brokers))
        database.remove()


def _plan(n: int) -> OrderPlan:
    return life(n, vin_prefix="LCLST", phone_prefix="138")


async def _partitions(kafka: KafkaCluster, topic: str) -> list[tuple[int, int]]:
    """(partition, leader) of each of the topic's partitions, asked of the running brokers."""
    live = ",".join(b.bootstrap_servers for b in kafka.brokers if b.is_running())
    admin = AIOKafkaAdminClient(bootstrap_servers=live)
    await admin.start()
    try:
        [described] = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return sorted((p["partition"], p["leader"]) for p in described["partitions"])


async def _partition_leader(kafka: KafkaCluster, topic: str) -> int:
    return dict(await _partitions(kafka, topic))[0]


class Faults(threading.Thread):
    """The schedule: each step once the drill has delivered its share of the lives."""

    def __init__(self, drill: Drill, progress: Callable[[], int]) -> None:
        super().__init__(daemon=True, name="faults")
        self.drill, self.progress = drill, progress
        self.faults: list[Fault] = []
        self.error: BaseException | None = None
        self._killed_broker = 0
        self.restarts: list[threading.Thread] = []

    SHARES = (0.10, 0.25, 0.40, 0.60, 0.80)

    def due(self, lives: int) -> int:
        """How many faults are due once this many lives are delivered."""
        return sum(1 for share in self.SHARES if share * LIVES <= lives)

    def run(self) -> None:
        # (share of the lives, fault, whether it waits until what the earlier faults set going is done)
        steps: list[tuple[float, str, Callable[[Fault], None], bool]] = [
            (0.10, "partition leader broker SIGKILLed", self._kill_leader, False),
            (0.25, "that broker restarted", self._restart_broker, False),
            (0.40, "one API and one worker replica of every service and one gateway SIGKILLed, "
                   "the supervisor restarts them (groups rebalance twice)", self._kill_replicas, False),
            (0.60, "PostgreSQL primary SIGKILLed, standby promoted, old primary rebuilt as standby",
             self._fail_over, False),
            # Only a synchronous standby may be promoted: this one waits for the rebuild.
            (0.80, "the new primary SIGKILLed, the rebuilt standby promoted (back), rebuilt again",
             self._fail_over, True),
        ]
        try:
            for share, name, action, after_the_rest in steps:
                # A fault does not wait for the earlier ones' recoveries unless it must: on Kubernetes a
                # failover does not wait for pods to come back either (a replica that dies starting on
                # the dead primary is restarted again by the supervisor). Windows may overlap.
                while self.progress() < share * LIVES or (after_the_rest and any(r.is_alive() for r in self.restarts)):
                    time.sleep(0.2)  # poll interval
                fault = Fault(name, at=time.monotonic())
                self.faults.append(fault)
                action(fault)
                print(f"  fault: {name} (after {self.progress()} lives)", flush=True)
            for restart in self.restarts:
                restart.join()
        except BaseException as exc:  # reported by the test
            self.error = exc

    def _in_background(self, fault: Fault, start: Callable[[], None], what: str = "ready_after_seconds") -> None:
        """A restart takes a while (a JVM, a Python process importing the platform); the drill
        goes on meanwhile, as traffic does while Kubernetes restarts a pod."""
        def run() -> None:
            try:
                start()
                fault.extra[what] = time.monotonic() - fault.at
            except BaseException as exc:
                self.error = exc

        thread = threading.Thread(target=run, daemon=True, name=f"restart-{len(self.restarts)}")
        self.restarts.append(thread)
        thread.start()

    def _kill_leader(self, fault: Fault) -> None:
        topic = f"{self.drill.topic_prefix}reception.events"
        self._killed_broker = asyncio.run(_partition_leader(self.drill.kafka, topic))
        self.drill.kafka.broker(self._killed_broker).kill()

    def _restart_broker(self, fault: Fault) -> None:
        def start() -> None:
            self.drill.kafka.broker(self._killed_broker).start(timeout=240)

        self._in_background(fault, start)

    def _victims(self):
        platform = self.drill.platform
        return [*(platform.apis[s][0] for s in SERVICES), *(platform.workers[s][0] for s in SERVICES),
                platform.gateways[0]]

    def _kill_replicas(self, fault: Fault) -> None:
        """Only the kill: deploy/cluster's supervisor notices each death and starts the replica again."""
        for process in self._victims():
            process.kill()

        def back() -> None:
            restarts = self.drill.platform.supervisor.wait_back(self._victims(), since=fault.at)
            fault.extra["first_back_seconds"] = min(r.ready_at or 0.0 for r in restarts) - fault.at
            fault.extra["restarts"] = len(restarts)

        self._in_background(fault, back, "all_back_seconds")

    def _fail_over(self, fault: Fault) -> None:
        database = self.drill.database
        database.kill_primary()
        fault.extra["promotion_seconds"] = database.failover()

        def rebuild() -> None:
            fault.extra["rebuilt_by"] = database.rebuild_standby()

        self._in_background(fault, rebuild, "synchronous_again_seconds")


def _measure(faults: list[Fault], calls: list[Call]) -> None:
    for n, fault in enumerate(faults):
        end = fault.at + FAULT_WINDOW_SECONDS
        if n + 1 < len(faults):
            end = min(end, faults[n + 1].at)
        window = [c for c in calls if fault.at <= c.started < end]
        fault.calls = len(window)
        fault.server_errors = sum(1 for c in window if c.status is None or c.status >= 500)
        writes = sorted((c for c in calls if c.method == "POST" and c.started >= fault.at
                         and c.status is not None and 200 <= c.status < 300), key=lambda c: c.ended)
        fault.recovery = writes[0].ended - fault.at if writes else None


async def _outbox_ids(url: str) -> list[str]:
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    try:
        return [r["event_id"] for r in await conn.fetch("SELECT event_id FROM outbox WHERE sent_at IS NOT NULL")]
    finally:
        await conn.close()


async def _unsent(url: str) -> int:
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL")
    finally:
        await conn.close()


async def _topic_ids(kafka: KafkaCluster, topic: str) -> list[str]:
    """Every event id on the topic, from its first offset to its end, repeats included."""
    partitions = [TopicPartition(topic, p) for p, _ in await _partitions(kafka, topic)]
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka.bootstrap_servers, enable_auto_commit=False,
                                auto_offset_reset="earliest")
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        ids: list[str] = []
        async def behind() -> bool:
            return any([await consumer.position(tp) < ends[tp] for tp in partitions])

        while await behind():
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                ids += [json.loads(record.value)["id"] for record in records]
        return ids
    finally:
        await consumer.stop()


@pytest.mark.timeout(max(900, LIVES * 5))
async def test_cluster_drill_every_life_counts_once_through_broker_replica_and_database_failures(drill: Drill,
                                                                                                 monkeypatch):
    monkeypatch.setattr(client, "wait_for", functools.partial(client.wait_for, interval=POLL_SECONDS))
    platform = drill.platform
    recording = Recording()
    async with httpx.AsyncClient(base_url=platform.front_url, timeout=30, transport=recording) as http:
        hq = Api(http, platform.bootstrap_key, retries=40)
        stores = [await open_store(hq, http, code=f"CL-{i:02d}", name=f"Cluster store {i}",
                                   stock={"XB-15400-001": LIVES, "XB-31500-B60": LIVES}) for i in range(STORES)]
        for store in stores:
            for api in store.staff.values():
                api.retries = 40
        delivered: list[tuple[int, dict]] = []
        queue: asyncio.Queue[int] = asyncio.Queue()
        for n in range(LIVES):
            queue.put_nowait(n)

        async def driver() -> None:
            while not queue.empty():
                n = queue.get_nowait()
                # Each fault finds lives under way: none starts more than CONCURRENCY past a fault's
                # point until that fault has been made (a restart before it may still be running).
                while FAULTS and faults.error is None and len(faults.faults) < faults.due(n - CONCURRENCY):
                    await asyncio.sleep(0.2)  # poll interval
                delivered.append((n, await repair_order_life(stores[n % STORES], _plan(n), timeout=240)))
                if len(delivered) % 50 == 0:
                    print(f"  {len(delivered)} lives after {time.monotonic() - started:.0f} s", flush=True)

        faults = Faults(drill, lambda: len(delivered))
        started = time.monotonic()
        if FAULTS:
            faults.start()
        await asyncio.gather(*(driver() for _ in range(CONCURRENCY)))
        drill_seconds = time.monotonic() - started

        made = {order["id"] for _, order in delivered}
        reception_orders = []
        for store in stores:
            reception_orders += await all_items(store.advisor, "/api/reception/v1/repair-orders", status="delivered")

        callbacks = []
        for store in stores:
            async def firsts(store=store):
                items = [c for c in await all_items(store.crm_agent, "/api/crm/v1/callbacks") if c["kind"] == "first"]
                return items if len(items) >= LIVES // STORES else None
            callbacks += await wait_for(firsts, 180, what="callbacks")
        per_order = Counter(c["repair_order_id"] for c in callbacks)

        jobs = []
        for store in stores:
            jobs += await all_items(store.technician, "/api/workshop/v1/jobs")
        expected_jobs = sum(len(_plan(n).labour) for n in range(LIVES))

        kpi_seen: list[int] = []

        async def kpi_deliveries():
            today = store_today().isoformat()
            k = await hq.get("/api/network/v1/kpis", **{"from": today, "to": today})
            kpi_seen.append(k["network"]["repair_orders_delivered"])
            return k if kpi_seen[-1] >= LIVES else None

        try:
            kpis = await wait_for(kpi_deliveries, 180, what="KPI deliveries")
        except TimeoutError as exc:
            raise AssertionError(f"KPI repair orders delivered stayed at {kpi_seen[-1:]} of {LIVES}") from exc
        counted_seconds = time.monotonic() - started - drill_seconds

        # Every claim at once, as the stores' desks would file them: one after the other, each of the
        # 67 waits for the last one's round trip with the CPU otherwise idle.

        warranty_orders = [order for n, order in delivered if n % WARRANTY_EVERY == 0]

        async def claimed_and_approved(order: dict) -> None:
            store = next(s for s in stores if s.id == order["store_id"])
            claim = await store.manager.post("/api/network/v1/claims", {
                "repair_order_id": order["id"], "complaint": "no start", "cause": "battery failure",
                "correction": "replaced battery", "causal_part_no": "XB-31500-B60"})
            await hq.post(f"/api/network/v1/claims/{claim['id']}/decision", {"decision": "approve", "note": "ok"})

        await asyncio.gather(*(claimed_and_approved(order) for order in warranty_orders))
        paid_lines = 0
        for store in stores:
            settlement = await hq.post("/api/network/v1/settlements",
                                       {"store_id": store.id, "period": store_today().strftime("%Y-%m")})
            await store.manager.post(f"/api/network/v1/settlements/{settlement['id']}/confirm")
            paid = await hq.post(f"/api/network/v1/settlements/{settlement['id']}/pay",
                                 {"reference": f"PAY-{store.code}"})
            paid_lines += len(paid["claims"])
        settled = await all_items(hq, "/api/network/v1/claims", status="settled")
        claims_seconds = time.monotonic() - started - drill_seconds - counted_seconds

    # Every outbox drained, and every event it sent is on its topic (repeats are the relay's
    # at-least-once: a relay that died after the broker's acknowledgement sends its rows again).
    async def drained():
        return all([await _unsent(platform.database_urls[s]) == 0 for s in SERVICES])

    await wait_for(drained, 120, what="outboxes drained")
    # The last standby's rebuild went on while the lives were counted.
    if FAULTS:
        await asyncio.to_thread(faults.join, 300)
    assert faults.error is None, repr(faults.error)
    assert len(faults.faults) == (len(faults.SHARES) if FAULTS else 0), [f.name for f in faults.faults]
    events: dict[str, tuple[int, int, int]] = {}
    missing: dict[str, int] = {}
    for service in SERVICES:
        sent = await _outbox_ids(platform.database_urls[service])
        on_topic = await _topic_ids(drill.kafka, f"{drill.topic_prefix}{service}.events")
        events[service] = (len(sent), len(set(on_topic)), len(on_topic) - len(set(on_topic)))
        missing[service] = len(set(sent) - set(on_topic))

    _measure(faults.faults, recording.calls)
    statuses = Counter(c.status for c in recording.calls)
    server_errors = {s: n for s, n in statuses.items() if s is None or s >= 500}
    expected_claims = len(warranty_orders)
    rows = [
        ("repair orders delivered (reception)", LIVES, len(reception_orders)),
        ("distinct orders the clients made", LIVES, len(made)),
        ("first callbacks, one per order (crm)", LIVES, len(callbacks)),
        ("jobs, one per labour line (workshop)", expected_jobs, len(jobs)),
        ("KPI: repair orders delivered (network)", LIVES, kpis["network"]["repair_orders_delivered"]),
        ("warranty claims settled (network)", expected_claims, len(settled)),
        ("settlement lines paid (network)", expected_claims, paid_lines),
        *((f"{s}: events sent by the outbox / distinct on the topic", n_sent, n_topic)
          for s, (n_sent, n_topic, _) in events.items()),
    ]
    print(f"\ncluster drill: {LIVES} lives in {drill_seconds:.0f} s ({LIVES / drill_seconds:.2f} lives/s), "
          f"{REPLICAS} replica(s) of each process, {len(recording.calls)} calls; counted in {counted_seconds:.0f} s, "
          f"claimed and settled in {claims_seconds:.0f} s; "
          f"answers by status: {dict(sorted(statuses.items(), key=str))}")
    print("| fault | recovery (first write after it) | client calls in the next "
          f"{FAULT_WINDOW_SECONDS:.0f} s | 5xx or no answer |")
    print("|---|---|---|---|")
    for fault in faults.faults:
        recovery = "none" if fault.recovery is None else f"{fault.recovery:.2f} s"
        rate = fault.server_errors / fault.calls if fault.calls else 0.0
        extra = "".join(f"; {k} {v:.1f}" if isinstance(v, float) else f"; {k} {v}" for k, v in fault.extra.items())
        print(f"| {fault.name}{extra} | {recovery} | {fault.calls} | {fault.server_errors} ({rate:.1%}) |")
    print("| reconciliation | expected | found |\n|---|---|---|")
    for what, expected, found in rows:
        print(f"| {what} | {expected} | {found} |")
    print("events sent twice (on the topic twice): " + ", ".join(f"{s} {d}" for s, (_, _, d) in events.items()))

    assert {o["id"] for o in reception_orders} == made and len(reception_orders) == LIVES
    assert set(per_order) == made and set(per_order.values()) == {1}
    assert len(jobs) == expected_jobs
    assert len({(j["repair_order_id"], j["line_id"]) for j in jobs}) == expected_jobs
    assert kpis["network"]["repair_orders_delivered"] == LIVES
    assert len(settled) == expected_claims == paid_lines
    assert missing == {s: 0 for s in SERVICES}, f"events in an outbox but not on the topic: {missing}"
    assert all(n_sent == n_topic for n_sent, n_topic, _ in events.values()), events
    # Clients saw only answers they could retry: no 500, only the retryable 502/503/504 or a cut connection.
    assert set(server_errors) <= RETRYABLE | {None}, server_errors
    assert all(f.recovery is not None for f in faults.faults), [(f.name, f.recovery) for f in faults.faults]
