"""Effectively-once delivery through the outbox, the relay, Kafka and the inbox, with real
processes (tests/common/probe.py) on the real broker and PostgreSQL, including crashes.

Each test prints its figures; run with `-s` (or read the captured output) to quote them."""
from __future__ import annotations

from aiokafka import AIOKafkaProducer

from services.common.events.envelope import CloudEvent
from tests.common.harness import ProbeRun
from tests.common.probe import CRASH_EXIT_CODE, FIX_FLAG, key_for
from tests.support.platform import eventually

SIGKILLED = -9


async def test_a_thousand_events_written_through_the_outbox_are_applied_once_each_in_order_per_key(probe_run: ProbeRun):
    run = probe_run
    consumer = run.spawn("consume")
    relay = run.spawn("relay")
    # Four concurrent writers: outbox ids commit out of order, as with concurrent requests.
    producer = run.spawn("produce", "--events", "1000", "--keys", "20", "--writers", "4")

    assert await producer.exited(120) == 0, producer.tail()
    await run.settled(1000)
    figures = await run.figures("a")
    assert await relay.terminate() == 0 and await consumer.terminate() == 0, run.logs()

    assert (figures.sent, figures.published, figures.published_distinct) == (1000, 1000, 1000)
    assert (figures.applied, figures.applications, figures.applied_twice) == (1000, 1000, 0)
    assert figures.out_of_order == []
    assert relay.final_stats()["published"] == 1000
    assert consumer.final_stats()["applied"] == 1000


async def test_b_relay_killed_mid_stream_and_restarted_loses_nothing_and_applies_nothing_twice(probe_run: ProbeRun):
    run = probe_run
    consumer = run.spawn("consume")
    relay = run.spawn("relay")
    producer = run.spawn("produce", "--events", "1000", "--keys", "20", "--writers", "4", "--rate", "250")

    await eventually(lambda: _at_least(run.published_rows, 200), timeout=30, message=f"relay idle\n{run.logs()}")
    assert await relay.kill() == SIGKILLED
    published_at_kill, written_at_kill = await run.published_rows(), await run.sent()
    assert published_at_kill < 1000 and written_at_kill < 1000, "the kill must land mid-stream"
    # The service keeps committing while its relay is dead; those events wait in the outbox.
    await eventually(lambda: _at_least(run.unsent, 100), timeout=30, message="producer stalled")
    restarted = run.spawn("relay")

    assert await producer.exited(120) == 0, producer.tail()
    await run.settled(1000)
    assert await restarted.terminate() == 0 and await consumer.terminate() == 0, run.logs()
    stats = consumer.final_stats()
    figures = await run.figures("b", redelivered=stats["duplicates"])
    print(f"[b] relay SIGKILLed with {published_at_kill} of {written_at_kill} committed events published; "
          f"the restarted relay published {restarted.final_stats()['published']} rows")

    assert figures.sent == 1000 and figures.unsent == 0
    assert figures.published_distinct == 1000 and figures.published >= 1000
    assert (figures.applied, figures.applications, figures.applied_twice) == (1000, 1000, 0)
    assert figures.out_of_order == []
    # Rows published just before the kill but not yet marked sent went out twice; the inbox
    # turned every second copy away.
    assert stats["applied"] == 1000 and stats["duplicates"] == figures.published - 1000


async def test_c_consumer_killed_after_applying_a_batch_before_committing_redelivery_changes_nothing(probe_run: ProbeRun):
    run = probe_run
    relay = run.spawn("relay")
    producer = run.spawn("produce", "--events", "1000", "--keys", "20", "--writers", "4")
    assert await producer.exited(120) == 0, producer.tail()
    await eventually(lambda: _equals(run.unsent, 0), timeout=60, message=f"not all published\n{run.logs()}")

    crashed = run.spawn("consume", "--crash-at-commit")
    assert await crashed.exited(120) == CRASH_EXIT_CODE, crashed.tail()
    applied_before_crash = await run.applied_count()
    assert 0 < applied_before_crash < 1000
    assert not await run.caught_up()

    consumer = run.spawn("consume")
    await run.settled(1000)
    assert await consumer.terminate() == 0 and await relay.terminate() == 0, run.logs()
    stats = consumer.final_stats()
    figures = await run.figures("c", redelivered=stats["duplicates"])
    print(f"[c] consumer died at its first commit after applying {applied_before_crash} events; "
          f"after restart {stats['duplicates']} were delivered again and skipped, {stats['applied']} applied")

    # Every event of the uncommitted batch came back, and the inbox turned each one away.
    assert stats["duplicates"] == applied_before_crash
    assert stats["applied"] == 1000 - applied_before_crash
    assert (figures.sent, figures.published, figures.applied) == (1000, 1000, 1000)
    assert (figures.applications, figures.applied_twice) == (1000, 0)
    assert figures.out_of_order == []


async def test_e_poison_event_is_dead_lettered_the_consumer_moves_on_and_replay_after_the_fix_applies_it_once(probe_run: ProbeRun):
    run = probe_run
    events, keys, poison = 60, 6, (10, 37)
    consumer = run.spawn("consume", "--max-attempts", "3")
    relay = run.spawn("relay")
    # Worse than a poison event: a record that is not an event at all (a misbehaving producer).
    await run.ensure_topics()
    await publish_raw(run, b"vehicle-000", b"{not a cloud event")
    producer = run.spawn("produce", "--events", str(events), "--keys", str(keys),
                         "--poison", *(str(s) for s in poison))
    assert await producer.exited(120) == 0, producer.tail()

    async def rest_applied_and_committed():
        return (await run.unsent() == 0 and await run.applied_count() == events - len(poison)
                and await run.caught_up())

    await eventually(rest_applied_and_committed, timeout=60, message=f"consumer stuck\n{run.logs()}")
    dead = await run.topic_records(run.topic + ".dlq")
    applied_seqs = {row.seq for row in await run.applications()}
    # The consumer moved on: everything after each poison event, on its key too, is applied.
    assert applied_seqs == set(range(events)) - set(poison)
    assert len(dead) == len(poison) + 1
    unreadable = [r for r in dead if r.value == b"{not a cloud event"]
    poisoned = [r for r in dead if r not in unreadable]
    assert len(unreadable) == 1
    assert "unreadable envelope" in dict(unreadable[0].headers)["dlq.error"].decode()
    for record in poisoned:
        headers = {k: v.decode() for k, v in record.headers}
        assert "poison payload" in headers["dlq.error"]
        assert headers["dlq.consumer"] == "probe"
        assert headers["dlq.original_topic"] == run.topic
        assert headers["dlq.attempts"] == "3"
    assert sorted(CloudEvent.from_json(r.value).data["seq"] for r in poisoned) == list(poison)

    # The fix is deployed (the consumer restarts with it), then the dead letters are replayed.
    assert await consumer.terminate() == 0, consumer.tail()
    fixed = run.spawn("consume", env={FIX_FLAG: "1"})
    replay = run.spawn("replay", env={FIX_FLAG: "1"})
    assert await replay.exited(120) == 0, replay.tail()
    replayed = replay.final_stats()
    again = run.spawn("replay", env={FIX_FLAG: "1"})
    assert await again.exited(120) == 0, again.tail()
    await run.settled(events)
    assert await fixed.terminate() == 0 and await relay.terminate() == 0, run.logs()
    figures = await run.figures("e")
    print(f"[e] dead-lettered={len(dead)} (poison {len(poisoned)}, unreadable {len(unreadable)}); "
          f"first replay={replayed}; second replay={again.final_stats()}")

    # The poison events are applied once; the record that is no event fails again, visibly.
    assert (replayed["replayed"], replayed["failed"]) == (len(poison), 1)
    assert (again.final_stats()["replayed"], again.final_stats()["failed"]) == (0, 1)
    assert (figures.sent, figures.published_distinct, figures.unreadable) == (events, events, 1)
    assert (figures.applied, figures.applications, figures.applied_twice) == (events, events, 0)
    # Only the poison events' keys saw an event applied late, by the replay.
    assert sorted(figures.out_of_order) == sorted({key_for(s, keys) for s in poison})


async def publish_raw(run: ProbeRun, key: bytes, value: bytes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=run.bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(run.topic, value=value, key=key)
    finally:
        await producer.stop()


async def _at_least(read, n: int) -> bool:
    return await read() >= n


async def _equals(read, n: int) -> bool:
    return await read() == n
