"""Fault drill: while 200+ repair orders go through their whole life through the gateway,
each service is killed once with SIGKILL and restarted, the broker is restarted once and
the database once. Afterwards every count reconciles exactly across services and
nothing was applied twice; clients that retried with the same Idempotency-Key saw one
effect (the orders they made are exactly the orders that exist)."""
from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter

import httpx
import pytest

from deploy.kafka.broker import KafkaBroker
from deploy.postgres.cluster import PostgresCluster
from tests.reliability.lives import WARRANTY_EVERY, life
from tests.support.processes import Platform
from tools.client import Api, OrderPlan, all_items, open_store, repair_order_life, store_today, wait_for

ORDERS = 200
STORES = 2
CONCURRENCY = 6


@pytest.fixture
def drill_infra(tmp_path):
    """A broker and a database cluster of this test's own, so it may restart them."""
    broker = KafkaBroker(tmp_path / "kafka")
    broker.start()
    cluster = PostgresCluster(tmp_path / "pg")
    cluster.start()
    try:
        yield broker, cluster
    finally:
        cluster.remove()
        broker.stop()


def _plan(n: int) -> OrderPlan:
    return life(n, vin_prefix="LDRXL", phone_prefix="139")


class Faults(threading.Thread):
    """Injects the faults one after another as the drill makes progress."""

    def __init__(self, platform: Platform, broker: KafkaBroker, cluster: PostgresCluster, progress) -> None:
        super().__init__(daemon=True)
        self.platform, self.broker, self.cluster, self.progress = platform, broker, cluster, progress
        self.done: list[str] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            steps = [(f"kill {name}", lambda n=name: self._kill_and_restart(n))
                     for name in ("reception", "workshop", "crm", "network")]
            steps.insert(2, ("restart broker", self.broker.restart))
            steps.insert(4, ("restart database", self.cluster.restart))
            for i, (name, action) in enumerate(steps):
                threshold = (i + 1) * ORDERS // (len(steps) + 2)
                while self.progress() < threshold:
                    time.sleep(0.2)
                action()
                self.done.append(name)
        except BaseException as exc:  # reported by the test
            self.error = exc

    def _kill_and_restart(self, name: str) -> None:
        process = self.platform.services[name]
        process.kill()
        process.start()
        process.wait_ready(120)


@pytest.mark.timeout(1800)
async def test_fault_drill_loses_nothing_and_applies_nothing_twice(drill_infra, tmp_path):
    broker, cluster = drill_infra
    with Platform(tmp_path / "logs", kafka_bootstrap=broker.bootstrap_servers,
                  database_url=lambda name: cluster.create_database(f"{name}_drill"),
                  gateway_env={"GATEWAY_RATE_LIMIT_KEY_PER_SECOND": "1000", "GATEWAY_RATE_LIMIT_KEY_BURST": "1000",
                               "GATEWAY_RATE_LIMIT_CLIENT_PER_SECOND": "2000",
                               "GATEWAY_RATE_LIMIT_CLIENT_BURST": "2000"}) as platform:
        async with httpx.AsyncClient(base_url=platform.gateway.url, timeout=30) as http:
            hq = Api(http, platform.bootstrap_key, retries=40)
            stores = [await open_store(hq, http, code=f"DR-{i:02d}", name=f"Drill store {i}",
                                       stock={"XB-15400-001": ORDERS, "XB-31500-B60": ORDERS}) for i in range(STORES)]
            for store in stores:
                for api in store.staff.values():
                    api.retries = 40
            delivered: list[tuple[int, dict]] = []
            queue: asyncio.Queue[int] = asyncio.Queue()
            for n in range(ORDERS):
                queue.put_nowait(n)

            async def driver():
                while not queue.empty():
                    n = queue.get_nowait()
                    order = await repair_order_life(stores[n % STORES], _plan(n), timeout=180)
                    delivered.append((n, order))
                    if len(delivered) % 25 == 0:
                        print(f"  {len(delivered)} orders delivered after {time.monotonic() - started:.0f} s; "
                              f"faults so far: {', '.join(faults.done) or 'none'}", flush=True)

            faults = Faults(platform, broker, cluster, lambda: len(delivered))
            faults.start()
            started = time.monotonic()
            await asyncio.gather(*(driver() for _ in range(CONCURRENCY)))
            faults.join(timeout=300)
            assert faults.error is None, faults.error
            assert len(faults.done) == 6, faults.done
            drill_seconds = time.monotonic() - started

            # Reception: exactly the orders the clients made, each delivered once.
            made = {order["id"] for _, order in delivered}
            assert len(made) == ORDERS
            reception_orders = []
            for store in stores:
                reception_orders += await all_items(store.advisor, "/api/reception/v1/repair-orders", status="delivered")
            assert {o["id"] for o in reception_orders} == made
            assert len(reception_orders) == ORDERS

            # CRM: one first callback per delivered order.
            callbacks = []
            for store in stores:
                async def all_callbacks(store=store):
                    items = await all_items(store.crm_agent, "/api/crm/v1/callbacks")
                    firsts = [c for c in items if c["kind"] == "first"]
                    return firsts if len(firsts) >= ORDERS // STORES else None
                callbacks += await wait_for(all_callbacks, 120, what="callbacks")
            per_order = Counter(c["repair_order_id"] for c in callbacks)
            assert set(per_order) == made and set(per_order.values()) == {1}

            # Workshop: one job per labour line, no more.
            jobs = []
            for store in stores:
                jobs += await all_items(store.technician, "/api/workshop/v1/jobs")
            expected_jobs = sum(len(_plan(n).labour) for n in range(ORDERS))
            assert len(jobs) == expected_jobs
            assert len({(j["repair_order_id"], j["line_id"]) for j in jobs}) == expected_jobs

            # KPIs: deliveries counted once each. Network records a closed order and counts it in one
            # transaction, so once all are counted every order can be claimed; after network was
            # killed it catches up from the broker, and a clerk files the claim after that.
            async def kpi_deliveries():
                today = store_today().isoformat()
                k = await hq.get("/api/network/v1/kpis", **{"from": today, "to": today})
                return k if k["network"]["repair_orders_delivered"] == ORDERS else None

            k = await wait_for(kpi_deliveries, 120, what="KPI deliveries")
            assert sum(s["repair_orders_delivered"] for s in k["stores"] if s["store_id"] in {st.id for st in stores}) == ORDERS

            # Warranty: claim every warranty order, approve, settle per store, pay.
            warranty_orders = [order for n, order in delivered if n % WARRANTY_EVERY == 0]
            claims = []
            for order in warranty_orders:
                store = next(s for s in stores if s.id == order["store_id"])
                claim = await store.manager.post("/api/network/v1/claims", {
                    "repair_order_id": order["id"], "complaint": "no start", "cause": "battery failure",
                    "correction": "replaced battery", "causal_part_no": "XB-31500-B60"})
                await hq.post(f"/api/network/v1/claims/{claim['id']}/decision", {"decision": "approve", "note": "ok"})
                claims.append(claim)
            paid_lines = 0
            for store in stores:
                settlement = await hq.post("/api/network/v1/settlements",
                                           {"store_id": store.id, "period": store_today().strftime("%Y-%m")})
                await store.manager.post(f"/api/network/v1/settlements/{settlement['id']}/confirm")
                paid = await hq.post(f"/api/network/v1/settlements/{settlement['id']}/pay", {"reference": f"PAY-{store.code}"})
                paid_lines += len(paid["claims"])
            settled = await all_items(hq, "/api/network/v1/claims", status="settled")
            assert len(settled) == len(claims) == paid_lines == len(warranty_orders)

            print(f"\nfault drill: {ORDERS} orders in {drill_seconds:.0f} s through {', '.join(faults.done)}; "
                  f"delivered={len(reception_orders)} callbacks={len(callbacks)} kpi_delivered={k['network']['repair_orders_delivered']} "
                  f"jobs={len(jobs)} claims_settled={len(settled)} paid_settlement_lines={paid_lines}")


