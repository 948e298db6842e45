"""The cluster's two promises under a crash (deploy/cluster): a record Kafka acknowledged to
an acks=all producer survives the SIGKILL of its partition's leader, and a commit the
PostgreSQL primary acknowledged survives the primary's SIGKILL once the standby is promoted,
with a service's connection pool finding the new primary by itself."""
from __future__ import annotations

import asyncio
import time
import uuid

import pytest
import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError

from deploy.cluster.kafka import MIN_INSYNC_REPLICAS, REPLICATION_FACTOR, KafkaCluster
from deploy.cluster.postgres import PostgresPair
from services.common.db import Database, is_connection_error

pytestmark = pytest.mark.timeout(600)


@pytest.fixture
def kafka_cluster(tmp_path):
    cluster = KafkaCluster(tmp_path / "kafka", log_dir=tmp_path / "log")
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def postgres_pair(tmp_path):
    pair = PostgresPair(tmp_path / "pg", log_dir=tmp_path / "log")
    pair.start()
    try:
        yield pair
    finally:
        pair.remove()


async def _leader(cluster: KafkaCluster, topic: str, partition: int) -> tuple[int, list[int]]:
    """The partition's leader and its in-sync replicas, as a running broker's metadata has them
    (-1 while no broker asked knows it). Only running brokers are asked: the admin client
    sends its metadata request to any node it knows, a dead one included."""
    live = ",".join(b.bootstrap_servers for b in cluster.brokers if b.is_running())
    admin = AIOKafkaAdminClient(bootstrap_servers=live)
    try:
        await admin.start()
        [described] = await admin.describe_topics([topic])
    except KafkaError:
        return -1, []
    finally:
        await admin.close()
    for state in described["partitions"]:
        if state["partition"] == partition:
            return state["leader"], state["isr"]
    return -1, []


async def test_a_message_written_with_acks_all_survives_the_partition_leaders_sigkill(kafka_cluster):
    bootstrap = kafka_cluster.bootstrap_servers
    topic = f"survives-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=REPLICATION_FACTOR,
                                            topic_configs={"min.insync.replicas": str(MIN_INSYNC_REPLICAS)})])
    finally:
        await admin.close()

    async def fully_replicated():
        leader, isr = await _leader(kafka_cluster, topic, 0)
        return leader if leader != -1 and len(isr) == REPLICATION_FACTOR else None

    deadline = time.monotonic() + 60
    while (leader := await fully_replicated()) is None:
        assert time.monotonic() < deadline, "the topic never had all three replicas in sync"
        await asyncio.sleep(0.2)

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        written = [f"order-{n}".encode() for n in range(50)]
        for value in written:
            await producer.send_and_wait(topic, value, partition=0)  # acknowledged by two replicas at least
    finally:
        await producer.stop()

    kafka_cluster.broker(leader).kill()  # SIGKILL: whatever it had only in memory is gone
    new_leader, _ = await _leader(kafka_cluster, topic, 0)
    deadline = time.monotonic() + 60
    while new_leader in (leader, -1):
        assert time.monotonic() < deadline, "no new leader was elected"
        await asyncio.sleep(0.2)
        new_leader, _ = await _leader(kafka_cluster, topic, 0)

    live = ",".join(b.bootstrap_servers for b in kafka_cluster.brokers if b.is_running())
    consumer = AIOKafkaConsumer(bootstrap_servers=live, enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, 0)])
        read: list[bytes] = []
        deadline = time.monotonic() + 60
        while len(read) < len(written) and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                read += [record.value for record in records]
    finally:
        await consumer.stop()
    assert read == written, f"leader {leader} killed, {new_leader} leads: read {len(read)} of {len(written)}"


async def test_a_commit_on_the_primary_is_there_after_it_dies_and_the_standby_is_promoted(postgres_pair):
    url = postgres_pair.create_database("orders")
    db = Database(url)  # a service's pool, on the multi-host URL with target_session_attrs=read-write
    try:
        async with db.transaction() as session:
            await (await session.connection()).execute(sa.text("CREATE TABLE repair_order (id int PRIMARY KEY)"))
        for n in range(100):
            async with db.transaction() as session:
                await (await session.connection()).execute(sa.text("INSERT INTO repair_order VALUES (:n)"), {"n": n})
        # Each commit above returned only once the standby had flushed it (synchronous commit).
        replication = postgres_pair.primary.execute("SELECT state, sync_state FROM pg_stat_replication").strip()
        assert replication == "streaming|sync"

        postgres_pair.kill_primary()
        killed = time.monotonic()
        postgres_pair.failover()

        # The pool still holds connections to the dead primary: the first transactions fail
        # as "database unavailable" (a 503 to a client), then the pool reaches the new primary.
        failures = 0
        while True:
            try:
                async with db.transaction() as session:
                    await (await session.connection()).execute(sa.text("INSERT INTO repair_order VALUES (100)"))
                break
            except Exception as exc:
                assert is_connection_error(exc), repr(exc)
                failures += 1
                assert time.monotonic() - killed < 60, "no write reached the new primary"
                await asyncio.sleep(0.05)
        recovered = time.monotonic() - killed
        async with db.transaction() as session:
            conn = await session.connection()
            ids = (await conn.execute(sa.text("SELECT id FROM repair_order ORDER BY id"))).scalars().all()
            in_recovery = (await conn.execute(sa.text("SELECT pg_is_in_recovery()"))).scalar()
        assert list(ids) == list(range(101))
        assert in_recovery is False
        assert postgres_pair.primary.port != postgres_pair.standby.port
        print(f"\nfirst write on the promoted standby {recovered:.2f} s after the primary's SIGKILL "
              f"({failures} transaction(s) answered 'unavailable' before)")
    finally:
        await db.dispose()


async def test_a_committed_write_survives_two_failovers_with_the_old_primary_rebuilt_as_standby(postgres_pair):
    url = postgres_pair.create_database("orders")
    first_primary = postgres_pair.primary
    db = Database(url)

    async def write(n: int) -> None:
        """Commit one row, retrying while the pool still holds connections to a dead primary."""
        deadline = time.monotonic() + 60
        while True:
            try:
                async with db.transaction() as session:
                    await (await session.connection()).execute(sa.text("INSERT INTO repair_order VALUES (:n)"),
                                                               {"n": n})
                return
            except Exception as exc:
                assert is_connection_error(exc), repr(exc)
                assert time.monotonic() < deadline, f"row {n} never reached a primary"
                await asyncio.sleep(0.05)

    try:
        async with db.transaction() as session:
            await (await session.connection()).execute(sa.text("CREATE TABLE repair_order (id int PRIMARY KEY)"))
        await write(1)

        postgres_pair.kill_primary()
        postgres_pair.failover()
        await write(2)  # on the promoted standby, which has no standby of its own yet
        rebuilt_by = postgres_pair.rebuild_standby()
        assert rebuilt_by == "pg_rewind"  # the old primary rewound, not copied again
        assert postgres_pair.standby is first_primary
        await write(3)  # acknowledged once the rebuilt standby has it too
        replication = postgres_pair.primary.execute("SELECT state, sync_state FROM pg_stat_replication").strip()
        assert replication == "streaming|sync"

        postgres_pair.kill_primary()
        postgres_pair.failover()  # back to the first primary
        assert postgres_pair.primary is first_primary
        await write(4)
        async with db.transaction() as session:
            ids = (await (await session.connection()).execute(sa.text("SELECT id FROM repair_order ORDER BY id")))
            assert list(ids.scalars()) == [1, 2, 3, 4]
    finally:
        await db.dispose()
