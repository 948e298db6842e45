"""Scaling out against the real Kafka broker and PostgreSQL (docs/scaling.md): replicas of
one service share the work without applying or publishing anything twice.

- Two consumer processes of one service, one consumer group, one database (so one inbox),
  split the partitions between them; the second joins while events are flowing, and the
  rebalance loses and doubles nothing.
- Two relays on one outbox: one wins the advisory lock and publishes, the other stands by,
  and every row reaches the topic exactly once. When the publishing relay is SIGKILLed
  mid-stream the standby takes over and nothing is lost; the only repeats are rows the
  dead relay had published but not yet marked sent.

The processes are the probe service of tests/common (its outbox, handlers and
`probe_applied` table, one row per application and never unique), run through
tests/deploy/scaling_probe.py, which records what Kafka and PostgreSQL gave each replica.
Each test prints its figures; run with `-s` to read them."""
from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment
from sqlmodel import select

from services.common.events.catalogue.crm import ReminderSent
from services.common.events.envelope import CloudEvent
from services.common.ids import new_id
from services.common.kafka import ensure_topics, make_producer
from services.common.relay import RELAY_LOCK_KEY
from services.common.tables import OutboxMessage
from tests.common.harness import ProbeRun, log_tail
from tests.common.probe import PACE_ENV, STORE_ID, key_for
from tests.support.platform import eventually

REPO_ROOT = Path(__file__).resolve().parents[2]
SIGKILLED = -signal.SIGKILL
PARTITIONS = 6
KEYS = 240  # many aggregates, so every partition gets a share


class Replica:
    """One `python -m tests.deploy.scaling_probe ...` process and its status file. It has
    what ProbeRun needs to clean it up and show its log (running, proc, tail)."""

    def __init__(self, run: ProbeRun, role: str, index: int, env: dict[str, str] | None = None) -> None:
        self.name = f"{role}-replica-{index}"
        self.log = run.workdir / f"{self.name}.log"
        self.status_file = run.workdir / f"{self.name}.json"
        env = {**os.environ, "LOG_LEVEL": "WARNING", **(env or {})}
        argv = [sys.executable, "-m", "tests.deploy.scaling_probe", role, "--db", run.db_url,
                "--bootstrap", run.bootstrap, "--prefix", run.prefix, "--status", str(self.status_file)]
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(argv, cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=subprocess.STDOUT)
        run.processes.append(self)

    def running(self) -> bool:
        return self.proc.poll() is None

    def status(self) -> dict[str, Any]:
        try:
            return json.loads(self.status_file.read_text())
        except FileNotFoundError:
            return {}

    async def exited(self, timeout: float) -> int:
        async def done():
            return not self.running()

        await eventually(done, timeout=timeout, message=f"{self.name} still running\n{self.tail()}")
        return self.proc.returncode

    async def terminate(self) -> int:
        if self.running():
            self.proc.send_signal(signal.SIGTERM)
        return await self.exited(30)

    def kill(self) -> int:
        """SIGKILL and reap at once (a dead process exits within milliseconds), so that the
        caller's next clock reading is already after the death."""
        self.proc.send_signal(signal.SIGKILL)
        return self.proc.wait(10)

    def tail(self, lines: int = 30) -> str:
        return log_tail(self.log, lines)


@pytest.fixture
async def run(pg_database, kafka_bootstrap, topic_prefix, tmp_path):
    probe = ProbeRun(pg_database("scaling"), kafka_bootstrap, topic_prefix, tmp_path)
    await probe.migrate()
    try:
        yield probe
    finally:
        await probe.close()


async def test_two_consumer_replicas_in_one_group_share_the_partitions_and_apply_each_event_once_through_a_rebalance(
        run):
    events = 2000
    settings = run.settings.model_copy(update={"kafka_topic_partitions": PARTITIONS})
    await ensure_topics(settings, [run.topic, run.topic + ".dlq"])
    # Each application takes a few milliseconds, as real handlers do: batched consumers are
    # fast enough to drain a probe topic before a rebalance completes otherwise.
    paced = {PACE_ENV: "0.004"}
    first = Replica(run, "consume", 1, paced)
    # Straight to the topic, as a relay would: the consumers are under test here, not the outbox.
    await _publish(run, range(events // 2))

    async def first_alone_has_applied_a_fifth():
        return first.status().get("assignments") and await run.applied_count() >= events // 5

    await eventually(first_alone_has_applied_a_fifth, timeout=30, message=f"first replica idle\n{run.logs()}")
    second = Replica(run, "consume", 2, paced)
    # The rest arrives while the second replica joins and the group rebalances.
    await _publish(run, range(events // 2, events))

    async def second_has_partitions():
        return any(second.status().get("assignments", []))

    await eventually(second_has_partitions, timeout=30, message=f"second replica got nothing\n{run.logs()}")
    applied_at_join = await run.applied_count()
    # The group coordinator's own record: two members, each owning partitions.
    members = await eventually(lambda: _stable_assignment(run, members=2), timeout=30,
                               message=f"group never stable with two members\n{run.logs()}")

    async def all_applied_and_committed():
        return await run.applied_count() == events and await run.caught_up()

    await eventually(all_applied_and_committed, timeout=60, interval=0.25, message=f"not settled\n{run.logs()}")
    # Read before any replica stops: a leaving member makes the group rebalance again.
    shares = [first.status()["assignments"][-1], second.status()["assignments"][-1]]
    assert await second.terminate() == 0 and await first.terminate() == 0, run.logs()
    stats = [first.status(), second.status()]
    on_topic = await _event_ids_on_topic(run)
    applications = await run.applications()
    per_event = Counter(row.event_id for row in applications)
    seqs_by_key: dict[str, list[int]] = {}
    for row in applications:  # ids grow in the order of application
        seqs_by_key.setdefault(row.key, []).append(row.seq)
    print(f"\n[consumers] {events} events over {KEYS} keys on {PARTITIONS} partitions; the second replica joined "
          f"with {applied_at_join} applied; assignments per replica {[s['assignments'] for s in stats]}; "
          f"coordinator's view {sorted(members)}; applied per replica {[s['applied'] for s in stats]} "
          f"(by partition {[s['applied_by_partition'] for s in stats]}); redelivered and skipped by the inbox "
          f"{[s['duplicates'] for s in stats]}; probe_applied rows {len(applications)} for {len(per_event)} "
          f"events, applied twice {sum(1 for n in per_event.values() if n > 1)}")

    # The second replica came in mid-stream: a rebalance while events were being applied.
    assert 0 < applied_at_join < events
    # Kafka's side: the first replica had every partition alone, then gave up some of them;
    # the two shares are disjoint, cover the topic, and are what the coordinator recorded.
    assert stats[0]["assignments"][0] == list(range(PARTITIONS))
    assert all(shares) and not set(shares[0]) & set(shares[1])
    assert sorted(shares[0] + shares[1]) == list(range(PARTITIONS))
    assert sorted(members) == sorted(shares)
    # Each replica applied events, the second only from partitions the group gave it.
    assert all(s["applied"] > 0 for s in stats)
    assert {int(p) for p in stats[1]["applied_by_partition"]} <= {p for a in stats[1]["assignments"] for p in a}
    assert sum(s["applied"] for s in stats) == events
    # The database's side: every event on the topic applied exactly once, each key still in order.
    assert len(on_topic) == events and max(on_topic.values()) == 1
    assert set(per_event) == set(on_topic)
    assert len(applications) == events and max(per_event.values()) == 1
    assert [key for key, seqs in seqs_by_key.items() if seqs != sorted(seqs)] == []


async def test_two_relays_on_one_outbox_publish_each_row_exactly_once(run):
    events = 2000
    relays = [Replica(run, "relay", 1), Replica(run, "relay", 2)]
    leader, standby = await _elected(run, relays)
    producer = run.spawn("produce", "--events", str(events), "--keys", str(KEYS), "--writers", "4", "--rate", "400")

    async def all_published_while_both_run():
        assert leader.running() and standby.running(), run.logs()
        return await run.sent() == events and await run.unsent() == 0

    assert await producer.exited(90) == 0, producer.tail()
    await eventually(all_published_while_both_run, timeout=60, message=f"outbox not drained\n{run.logs()}")
    assert await _lock_holders(run) == 1
    assert await standby.terminate() == 0 and await leader.terminate() == 0, run.logs()
    stats = {"leader": leader.status(), "standby": standby.status()}
    on_topic = await _event_ids_on_topic(run)
    outbox = await _outbox(run)
    print(f"\n[relays] {events} rows written while two relays ran; published by the leader "
          f"{stats['leader']['published']}, by the standby {stats['standby']['published']} (it found the lock "
          f"taken {stats['standby']['lost_elections']} times); on the topic {sum(on_topic.values())} records, "
          f"{len(on_topic)} distinct events")

    assert len(outbox) == events and all(sent_at is not None for sent_at in outbox.values())
    assert set(on_topic) == set(outbox)
    assert max(on_topic.values()) == 1 and sum(on_topic.values()) == events
    assert (stats["leader"]["published"], stats["standby"]["published"]) == (events, 0)
    assert stats["standby"]["lost_elections"] >= 1 and not stats["standby"]["leading"]


async def test_publishing_relay_killed_mid_stream_the_standby_takes_over_and_no_row_is_lost(run):
    events = 2000
    relays = [Replica(run, "relay", 1), Replica(run, "relay", 2)]
    leader, standby = await _elected(run, relays)
    producer = run.spawn("produce", "--events", str(events), "--keys", str(KEYS), "--writers", "4", "--rate", "250")

    async def a_quarter_published():
        return await run.published_rows() >= events // 4

    await eventually(a_quarter_published, timeout=30, message=f"leader idle\n{run.logs()}")
    assert leader.kill() == SIGKILLED
    killed_at, killed_clock = datetime.now(UTC), time.monotonic()
    # Not a count of the leader's marks: a commit it had already sent may still land.
    written_at_kill = await run.sent()

    async def standby_leads():
        return standby.status().get("leading")

    await eventually(standby_leads, timeout=20, message=f"standby never took over\n{run.logs()}")
    took_over_in = time.monotonic() - killed_clock
    assert await _lock_holders(run) == 1
    assert await producer.exited(90) == 0, producer.tail()

    async def drained():
        return await run.sent() == events and await run.unsent() == 0

    await eventually(drained, timeout=60, message=f"outbox not drained after the takeover\n{run.logs()}")
    assert await standby.terminate() == 0, standby.tail()
    on_topic = await _event_ids_on_topic(run)
    outbox = await _outbox(run)
    repeated = {event_id for event_id, n in on_topic.items() if n > 1}
    # The dead leader marked its rows before it died; every later mark is the standby's.
    marked_by_standby = {event_id for event_id, sent_at in outbox.items() if sent_at and sent_at > killed_at}
    print(f"\n[relay kill] leader SIGKILLed with {events - len(marked_by_standby)} rows marked sent and "
          f"{written_at_kill} written (of {events}); the standby led {took_over_in:.1f} s later and published "
          f"{standby.status()['published']} rows; on the topic {sum(on_topic.values())} records, {len(on_topic)} "
          f"distinct events, {len(repeated)} published twice")

    assert written_at_kill < events, "the kill must land while rows are being written"
    # None lost: every committed row is on the topic and marked sent.
    assert len(outbox) == events and all(sent_at is not None for sent_at in outbox.values())
    assert set(on_topic) == set(outbox)
    # The only repeats are rows the dead leader had sent but not marked: the standby marked
    # them, after the kill, and published each of them once more at most.
    assert events - len(marked_by_standby) >= events // 4, "rows the leader marked must carry marks older than the kill"
    assert repeated <= marked_by_standby
    assert max(on_topic.values()) <= 2
    assert standby.status()["published"] == len(marked_by_standby)


async def _elected(run: ProbeRun, relays: list[Replica]) -> tuple[Replica, Replica]:
    """Wait until one relay holds the outbox lock and the other has tried and lost."""

    async def one_leads_one_stands_by():
        statuses = [r.status() for r in relays]
        if all(statuses) and sorted(bool(s["leading"]) for s in statuses) == [False, True]:
            return statuses

    statuses = await eventually(one_leads_one_stands_by, timeout=30, message=f"no relay elected\n{run.logs()}")
    assert await _lock_holders(run) == 1
    leader = relays[0] if statuses[0]["leading"] else relays[1]
    return leader, relays[1] if leader is relays[0] else relays[0]


async def _lock_holders(run: ProbeRun) -> int:
    """Sessions holding the relays' advisory lock in the probe's database (PostgreSQL's view)."""
    query = sa.text(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        " AND classid = :high AND objid = :low AND objsubid = 1"
    )
    async with run.db.transaction() as session:
        result = await session.exec(query, params={"high": RELAY_LOCK_KEY >> 32, "low": RELAY_LOCK_KEY & 0xFFFFFFFF})
        return result.scalar_one()


async def _outbox(run: ProbeRun) -> dict[str, datetime | None]:
    async with run.db.transaction() as session:
        rows = (await session.exec(select(OutboxMessage.event_id, OutboxMessage.sent_at))).all()
    return dict(rows)


async def _publish(run: ProbeRun, seqs: range) -> None:
    """The probe's events, keyed by aggregate, through the platform's producer (idempotent, acks=all)."""
    producer = make_producer(run.settings)
    await producer.start()
    try:
        sent = []
        for seq in seqs:
            event = ReminderSent(reminder_id=new_id(), store_id=STORE_ID, vin=f"LPROBE{seq:011d}",
                                 kind="periodic_maintenance", channel="sms", sent_at=datetime.now(UTC), seq=seq)
            key = key_for(seq, KEYS)
            envelope = CloudEvent.wrap(event, subject=key, store_id=STORE_ID)
            sent.append(await producer.send(run.topic, value=envelope.to_json().encode(), key=key.encode()))
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


async def _event_ids_on_topic(run: ProbeRun) -> Counter[str]:
    return Counter(CloudEvent.from_json(record.value).id for record in await run.topic_records())


async def _stable_assignment(run: ProbeRun, members: int) -> list[list[int]] | None:
    """Partitions per member as the group coordinator recorded them, once the group is
    Stable with `members` members that all own partitions."""
    admin = AIOKafkaAdminClient(bootstrap_servers=run.bootstrap)
    await admin.start()
    try:
        (response,) = await admin.describe_consumer_groups([run.group])
    finally:
        await admin.close()
    (group,) = response.to_object()["groups"]
    if group["error_code"] or group["state"] != "Stable" or len(group["members"]) != members:
        return None
    shares = []
    for member in group["members"]:
        assignment = ConsumerProtocolMemberAssignment.decode(member["member_assignment"])
        shares.append(sorted(tp.partition for tp in assignment.partitions() if tp.topic == run.topic))
    return shares if all(shares) else None
