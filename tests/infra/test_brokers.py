"""Real-infrastructure smoke tests: a Kafka 3.9 broker (KRaft) and a throwaway PostgreSQL cluster.

Both start real processes on this machine (no Docker, no mocks); expect ~10 s each.
"""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from deploy.kafka.broker import KafkaBroker
from deploy.postgres.cluster import PostgresCluster, PostgresError
from deploy.processes import pid_alive
from tests.support.platform import eventually


@pytest.fixture
def kafka_broker(tmp_path):
    broker = KafkaBroker(tmp_path / "kafka", out_file=tmp_path / "log" / "kafka.log")
    broker.start(timeout=90)
    try:
        yield broker
    finally:
        broker.stop()


async def _listed(admin: AIOKafkaAdminClient, topic: str) -> bool:
    return topic in await admin.list_topics()


async def test_kafka_broker_round_trip_and_stop(kafka_broker: KafkaBroker):
    bootstrap = kafka_broker.bootstrap_servers
    assert bootstrap == f"127.0.0.1:{kafka_broker.port}"
    topic = f"infra-check-{uuid.uuid4().hex[:8]}"

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])
        # The topic is created by the controller; the broker lists it once its metadata
        # has caught up, which a loaded machine can delay past the create call's answer.
        await eventually(lambda: _listed(admin, topic), timeout=30)
    finally:
        await admin.close()

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all")
    await producer.start()
    try:
        sent = await producer.send_and_wait(topic, b"hello", key=b"vehicle-1")
    finally:
        await producer.stop()

    # A consumer group exercises __consumer_offsets (replication factor 1 on one broker).
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=f"g-{topic}", auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        record = await asyncio.wait_for(consumer.getone(), timeout=30)
        await consumer.commit()
    finally:
        await consumer.stop()
    assert (record.key, record.value) == (b"vehicle-1", b"hello")
    assert (record.partition, record.offset) == (sent.partition, sent.offset)
    assert "Kafka Server started" in kafka_broker.out_file.read_text()

    pid = kafka_broker.pid
    assert pid is not None and pid_alive(pid)
    assert kafka_broker.pid_file.read_text().strip() == str(pid)
    kafka_broker.stop()
    assert not kafka_broker.is_running()
    assert not pid_alive(pid)
    assert not kafka_broker.pid_file.exists()


async def test_postgres_cluster_create_database_and_remove():
    cluster = PostgresCluster()
    cluster.start()
    try:
        url = cluster.create_database("infra_check")
        assert url == f"postgresql+asyncpg://postgres@127.0.0.1:{cluster.port}/infra_check"
        assert cluster.admin_url.endswith(f":{cluster.port}/postgres")
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1))
        try:
            assert await conn.fetchval("select 1") == 1
            assert await conn.fetchval("select current_database()") == "infra_check"
        finally:
            await conn.close()
        folder, pid = cluster.base_dir, cluster.pid
        assert folder is not None and folder.is_dir() and pid is not None
    finally:
        cluster.remove()
    assert not folder.exists()
    assert not pid_alive(pid)


def test_postgres_cluster_keeps_its_databases_between_runs(tmp_path):
    log = tmp_path / "log" / "postgres.log"
    cluster = PostgresCluster(tmp_path / "pg", durable=True, log_file=log)
    cluster.start()
    try:
        url = cluster.ensure_database("network")
        cluster.execute("CREATE TABLE kept (n int); INSERT INTO kept VALUES (7)", database="network")
        assert cluster.execute("SHOW fsync").strip() == "on"
        cluster.stop()

        cluster.start()
        assert cluster.ensure_database("network") == url
        assert cluster.execute("SELECT n FROM kept", database="network").strip() == "7"
        assert log.read_text().count("database system is ready to accept connections") == 2
    finally:
        cluster.remove()


def test_postgres_cluster_made_by_another_major_is_refused_with_the_reason(tmp_path):
    cluster = PostgresCluster(tmp_path / "pg")
    cluster.start()
    try:
        cluster.stop()
        version_file = cluster.data_dir / "PG_VERSION"
        version_file.write_text("9\n")
        with pytest.raises(PostgresError, match="made by PostgreSQL 9"):
            cluster.start()
        assert not cluster.is_running()
    finally:
        cluster.remove()
