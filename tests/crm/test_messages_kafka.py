"""End to end on the real broker and PostgreSQL: reception's order and the workshop's
"ready" arrive on their topics, CRM's worker (a process of its own, `python -m services.crm
worker`) writes the car-ready notice and sends it to the SMS stand-in and the real SMTP
server. Each stand-in SIGKILLs the worker the moment its message arrives, before the
worker can record the answer; the next worker settles what the dead one left (the SMS
provider is asked and has it; SMTP cannot be asked, so the email is unconfirmed and not
sent again). Each message arrives once."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta

from services.common.events.catalogue import workshop as ws
from services.common.ids import new_id
from services.common.kafka import ensure_topics
from services.crm.main import create_app
from services.crm.settings import CrmSettings
from tests.crm import factories as f
from tests.support.events import envelope_for, publish, store_created
from tests.support.message_providers import stand_ins
from tests.support.platform import Caller, eventually, identity, running
from tests.support.processes import REPO_ROOT, free_port

WANG = f.person("王先生", "13800138000")


def start_worker(env: dict[str, str], log_path) -> subprocess.Popen:
    with open(log_path, "ab") as log:  # the child keeps its own copy of the descriptor
        return subprocess.Popen([sys.executable, "-m", "services.crm", "worker"], cwd=REPO_ROOT, env=env,
                                stdout=log, stderr=subprocess.STDOUT)


async def test_a_ready_car_s_notice_arrives_once_per_channel_though_each_sender_is_killed_mid_call(
        kafka_bootstrap, pg_url, topic_prefix, tmp_path):
    settings = CrmSettings(database_url=pg_url, kafka_bootstrap_servers=kafka_bootstrap,
                           kafka_topic_prefix=topic_prefix)
    app = create_app(settings, role="api")  # migrates, and answers the API; the worker is the child process
    async with stand_ins() as providers, running(app) as client:
        await ensure_topics(settings)
        workers: list[subprocess.Popen] = []
        killed: dict[str, int] = {}

        def kill_on_first(arrival) -> None:
            # The provider has the message; the sender has not heard back yet.
            if arrival.channel not in killed:
                killed[arrival.channel] = workers[-1].pid
                os.kill(workers[-1].pid, signal.SIGKILL)

        providers.recorder.on_arrival("sms", kill_on_first)
        providers.recorder.on_arrival("email", kill_on_first)
        env = {**os.environ, **providers.environment(), "CRM_DATABASE_URL": pg_url,
               "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap, "KAFKA_TOPIC_PREFIX": topic_prefix,
               "CRM_WORKER_PORT": str(free_port()), "CRM_MESSAGES_POLL_SECONDS": "0.2",
               "CRM_MESSAGES_CONCURRENCY": "1", "LOG_LEVEL": "WARNING"}
        workers.append(start_worker(env, tmp_path / "worker.log"))
        try:
            store = store_created(code="SH-PD-01")
            await publish(kafka_bootstrap, settings.topic("network"), store)
            agent = Caller(client, "crm_agent", store.subject, "agent-zhang")
            order_id = new_id()
            now = datetime.now(UTC)
            await publish(kafka_bootstrap, settings.topic("reception"),
                          f.opened(store.subject, now - timedelta(hours=2), repair_order_id=order_id, customer=WANG))

            async def customer():
                items = (await agent.get("/v1/customers", params={"phone": WANG.phone})).json().get("items")
                return items and items[0]

            known = await eventually(customer, timeout=60, message="the order was not consumed")
            r = await client.put(f"/v1/customers/{known['id']}/consent",
                                 json={"email": {"address": "wang@example.cn", "service": True, "marketing": False}},
                                 headers=identity("crm_agent", store.subject, "agent-zhang"))
            assert r.status_code == 200, r.text
            ready = ws.RepairOrderReady(repair_order_id=order_id, store_id=store.subject, ready_at=now, jobs=1,
                                        clocked_hours="1.0", flat_rate_hours="1.0")
            await publish(kafka_bootstrap, settings.topic("workshop"),
                          envelope_for(ready, subject=order_id, store_id=store.subject, time=now))

            for count in (1, 2):
                async def worker_killed(n=count) -> bool:
                    return len(killed) >= n and workers[-1].poll() is not None

                await eventually(worker_killed, timeout=60, message=f"worker {count} was not killed by an arrival")
                workers.append(start_worker(env, tmp_path / "worker.log"))

            async def settled():
                items = (await agent.get("/v1/messages", params={"about": order_id})).json()["items"]
                by_channel = {m["channel"]: m for m in items}
                return (by_channel.get("sms", {}).get("status") in ("sent", "delivered")
                        and by_channel.get("email", {}).get("status") == "unconfirmed") and by_channel

            messages = await eventually(settled, timeout=60, message="the third worker did not settle both")
        finally:
            for worker in workers:
                if worker.poll() is None:
                    worker.terminate()
                    worker.wait(30)

        assert len(providers.arrived("sms")) == 1 and providers.recorder.calls["sms"] == 1
        assert len(providers.arrived("email")) == 1 and providers.recorder.calls["email"] == 1
        assert {a.key for a in providers.arrived("sms")} == {messages["sms"]["id"]}
        sms = (await agent.get(f"/v1/messages/{messages['sms']['id']}")).json()
        assert [(a["outcome"], a["settled_by"]) for a in sms["attempt_log"]] == [("accepted", "reconcile")]
        email = (await agent.get(f"/v1/messages/{messages['email']['id']}")).json()
        assert [(a["outcome"], a["settled_by"]) for a in email["attempt_log"]] == [("unconfirmed", "reconcile")]
        assert "at most once" in email["status_reason"]
