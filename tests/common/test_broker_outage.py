"""Test d: the broker is stopped for 10 s mid-stream and started again; the relay and the
consumers (real processes, never restarted) recover by themselves and nothing is lost.

The shared broker of the test session must not be disturbed, so this test runs its own
broker (deploy.kafka.broker.KafkaBroker) in tmp_path and stops and starts that one."""
from __future__ import annotations

import asyncio
import time

import pytest

from deploy.kafka.broker import KafkaBroker
from tests.common.harness import ProbeRun
from tests.support.platform import eventually

OUTAGE_SECONDS = 10.0


@pytest.fixture
async def own_broker(tmp_path):
    broker = KafkaBroker(tmp_path / "kafka")
    await asyncio.to_thread(broker.start, 90)
    try:
        yield broker
    finally:
        await asyncio.to_thread(broker.stop)


async def test_d_broker_stopped_for_ten_seconds_mid_stream_relay_and_consumer_recover_by_themselves(
        own_broker: KafkaBroker, pg_database, topic_prefix, tmp_path):
    run = ProbeRun(pg_database("probe"), own_broker.bootstrap_servers, topic_prefix, tmp_path)
    try:
        await run.migrate()
        events = 600
        # Two consumers of one group share the partitions, as a scaled-out service's workers do.
        consumers = [run.spawn("consume"), run.spawn("consume")]
        relay = run.spawn("relay")
        producer = run.spawn("produce", "--events", str(events), "--keys", "20", "--writers", "4", "--rate", "50")

        async def some_applied():
            return await run.applied_count() >= 50

        await eventually(some_applied, timeout=30, message=f"nothing applied\n{run.logs()}")
        await asyncio.to_thread(own_broker.stop)
        applied_at_stop, written_at_stop = await run.applied_count(), await run.sent()
        # The outage itself is what is under test: its length is a duration, not a condition.
        await asyncio.sleep(OUTAGE_SECONDS)
        written_during_outage = await run.sent() - written_at_stop
        # Records fetched before the stop are still applied while the broker is away.
        applied_during_outage = await run.applied_count() - applied_at_stop
        await asyncio.to_thread(own_broker.start, 90)
        back_at = time.monotonic()

        assert await producer.exited(60) == 0, producer.tail()
        await run.settled(events, timeout=50)
        recovered_in = time.monotonic() - back_at
        assert relay.running() and all(c.running() for c in consumers), "they must ride out the outage themselves"
        assert await relay.terminate() == 0, relay.tail()
        for consumer in consumers:
            assert await consumer.terminate() == 0, consumer.tail()
        stats = [consumer.final_stats() for consumer in consumers]
        figures = await run.figures("d", redelivered=sum(s["duplicates"] for s in stats))
        print(f"[d] broker stopped with {applied_at_stop} applied and {written_at_stop} written; while it was down "
              f"{written_during_outage} were written and {applied_during_outage} already fetched were applied; "
              f"all applied {recovered_in:.1f} s after it was back; applied per consumer "
              f"{[s['applied'] for s in stats]}")

        assert applied_at_stop < events and written_during_outage > 0, "the outage must land mid-stream"
        assert (figures.sent, figures.unsent, figures.published_distinct) == (events, 0, events)
        assert (figures.applied, figures.applications, figures.applied_twice) == (events, events, 0)
        assert figures.out_of_order == []
        assert sum(s["applied"] for s in stats) == events
    finally:
        await run.close()
