"""Customer messages: the outbox's throughput, messages/s from queued to recorded as sent.

A fresh CRM database holds N car-ready notices for N customers (SMS, each customer's
default channel), queued; the sender (services/crm/messages/sender.py, as the worker runs
it) takes each with its own claim transaction, renders it, calls the SMS stand-in over
HTTP (deploy/messaging.py: Aliyun's signed SendSms, checked) and records the answer in a
second transaction, under the message's advisory lock. Timed from the first claim to the
last record, at 1, 4 and 16 messages in flight. The stand-in answers in the same process
and on the same event loop, so its own work is in the figure too: a real provider's
latency would lower the one-at-a-time rate and leave the concurrent ones nearer the
database's limit."""
from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime

from deploy.messaging import SMS_KEY_ID, SMS_KEY_SECRET, ProviderStandIn, Recorder
from services.common.clock import SystemClock
from services.common.db import Database
from services.common.ids import new_id
from services.common.migrations import upgrade
from services.common.tables import KnownStore
from services.crm.customers.models import Customer
from services.crm.main import spec
from services.crm.messages.models import Message
from services.crm.messages.sender import Sender
from services.crm.settings import CrmSettings

CONCURRENCY = (1, 4, 16)


async def _queue(db: Database, count: int) -> None:
    now = datetime.now(UTC)
    store = f"store-{uuid.uuid4().hex[:8]}"
    async with db.transaction() as session:
        session.add(KnownStore(id=store, code="BENCH", name="试验店 Bench store", kind="dealer_store",
                               timezone="Asia/Shanghai", status="active", updated_at=now))
        for n in range(count):
            customer = Customer(id=new_id(), store_id=store, phone=f"139{n:08d}", name=f"客户{n}",
                                contact_preferences={"channels": ["phone", "sms"], "marketing_opt_out": False},
                                first_seen_at=now, name_seen_at=now, created_at=now, updated_at=now)
            session.add(customer)
            session.add(Message(id=new_id(), store_id=store, customer_id=customer.id, kind="car_ready",
                                category="service", channel="sms", notice_key=f"car_ready:bench-{n}", about=None,
                                variables={"customer_name": customer.name, "plate": f"沪A{n:05d}",
                                           "store_name": "试验店", "order_number": f"RO-{n:05d}",
                                           "ready_at": "2026-03-02 16:00", "model": ""},
                                status="queued", attempts=0, next_attempt_at=now, created_at=now, updated_at=now))


async def _measure(url: str, count: int, concurrency: int) -> dict:
    recorder = Recorder()
    stand_in = ProviderStandIn(recorder)
    await stand_in.start()
    db = Database(url, pool_size=concurrency + 2)
    settings = CrmSettings(database_url=url, messages_sms_url=f"{stand_in.url}/sms",
                           messages_sms_access_key_id=SMS_KEY_ID, messages_sms_access_key_secret=SMS_KEY_SECRET,
                           messages_sms_sign_name="汽车服务", messages_concurrency=concurrency)
    sender = Sender(db, settings, SystemClock())
    try:
        await _queue(db, count)
        started = time.perf_counter()
        taken = await sender.run_once()
        seconds = time.perf_counter() - started
    finally:
        await sender.close()
        await db.dispose()
        await stand_in.stop()
    arrived = recorder.summary()["sms"]
    assert taken == count and arrived["messages"] == count and arrived["duplicates"] == 0, (taken, arrived)
    return {"in_flight": concurrency, "messages": count, "seconds": round(seconds, 2),
            "messages_per_s": round(count / seconds, 1), "duplicates": arrived["duplicates"]}


def run(create_database, count: int = 2000) -> dict:
    rows = []
    for concurrency in CONCURRENCY:
        url = create_database(f"bench_messages_{concurrency}")
        upgrade(spec.migrations_dir, url)
        rows.append(asyncio.run(_measure(url, count, concurrency)))
    return {"what": "customer messages from queued to recorded as sent, through the SMS stand-in",
            "rows": rows, "best_messages_per_s": max(r["messages_per_s"] for r in rows)}
