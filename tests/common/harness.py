"""Drive probe processes (tests/common/probe.py) and read what they did: the outbox, the
probe table, the topic and the consumer group's committed offsets."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from sqlmodel import func, select

from services.common.db import Database
from services.common.events.envelope import CloudEvent
from services.common.kafka import ensure_topics
from services.common.migrations import upgrade_async
from services.common.tables import OutboxMessage
from tests.common.probe import FIX_FLAG, MIGRATIONS, Applied, ProbeSettings
from tests.support.platform import eventually

REPO_ROOT = Path(__file__).resolve().parents[2]


async def _partitions(admin: AIOKafkaAdminClient, topic: str) -> list[TopicPartition]:
    (described,) = await admin.describe_topics([topic])
    assert described["error_code"] == 0 and described["partitions"], f"topic {topic} does not exist"
    return [TopicPartition(topic, p["partition"]) for p in sorted(described["partitions"], key=lambda p: p["partition"])]


class ProbeProcess:
    """One `python -m tests.common.probe ...` child, its output in a log file."""

    def __init__(self, name: str, argv: list[str], log: Path, stats: Path, env: dict[str, str]) -> None:
        self.name, self.log, self.stats_file = name, log, stats
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "tests.common.probe", *argv, "--stats", str(stats)],
                cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def running(self) -> bool:
        return self.proc.poll() is None

    async def exited(self, timeout: float = 30.0) -> int:
        """Wait for the process to end by itself; its exit code."""

        async def done():
            return self.proc.poll() is not None

        await eventually(done, timeout=timeout, interval=0.05, message=f"{self.name} still running\n{self.tail()}")
        return self.proc.returncode

    async def terminate(self, timeout: float = 30.0) -> int:
        """SIGTERM (a clean stop) and wait."""
        if self.running():
            self.proc.send_signal(signal.SIGTERM)
        return await self.exited(timeout)

    async def kill(self) -> int:
        """SIGKILL, as a crash: no clean-up of any kind."""
        if self.running():
            self.proc.send_signal(signal.SIGKILL)
        return await self.exited(10)

    def final_stats(self) -> dict[str, Any]:
        return json.loads(self.stats_file.read_text())

    def tail(self, lines: int = 30) -> str:
        return log_tail(self.log, lines)


def log_tail(log: Path, lines: int = 30) -> str:
    """The last lines of a process's log, headed by its name (for assertion messages)."""
    try:
        text = log.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return ""
    return f"--- {log.name} ---\n" + "\n".join(text)

@dataclass
class Figures:
    sent: int  # events committed in the outbox
    unsent: int  # outbox rows not yet acknowledged by the broker
    published: int  # records on the topic (a relay crash may publish a row twice)
    published_distinct: int
    unreadable: int  # records on the topic that are not events at all
    applied: int  # distinct events applied
    applications: int  # rows in probe_applied: one per application
    applied_twice: int  # events applied more than once
    out_of_order: list[str] = field(default_factory=list)  # keys whose events were applied out of seq order
    redelivered: int = 0  # deliveries the inbox recognised as already applied

    def line(self, label: str) -> str:
        return (f"[{label}] sent={self.sent} published={self.published} (distinct events {self.published_distinct}"
                f"{f', unreadable {self.unreadable}' if self.unreadable else ''}) delivered={self.published} "
                f"applied={self.applied} applications={self.applications} redelivered_skipped={self.redelivered} "
                f"applied_twice={self.applied_twice} out_of_order_keys={len(self.out_of_order)}")


class ProbeRun:
    """One probe deployment: a PostgreSQL database, a topic prefix, its processes."""

    def __init__(self, db_url: str, bootstrap: str, prefix: str, workdir: Path) -> None:
        self.db_url, self.bootstrap, self.prefix, self.workdir = db_url, bootstrap, prefix, workdir
        self.settings = ProbeSettings(database_url=db_url, kafka_bootstrap_servers=bootstrap, kafka_topic_prefix=prefix)
        self.topic = self.settings.topic("crm")
        self.group = self.settings.consumer_group
        self.db = Database(db_url)
        self.processes: list[ProbeProcess] = []
        self._count = Counter()

    async def migrate(self) -> None:
        await upgrade_async(MIGRATIONS, self.db_url)

    async def ensure_topics(self) -> None:
        await ensure_topics(self.settings)

    def spawn(self, role: str, *args: str, env: dict[str, str] | None = None) -> ProbeProcess:
        self._count[role] += 1
        name = f"{role}-{self._count[role]}"
        argv = [role, "--db", self.db_url, *args]
        if role in ("relay", "consume", "replay"):
            argv += ["--bootstrap", self.bootstrap, "--prefix", self.prefix]
        # The fix is deployed only where a test says so.
        full_env = {k: v for k, v in os.environ.items() if k != FIX_FLAG}
        full_env.update({"LOG_LEVEL": "WARNING", **(env or {})})
        process = ProbeProcess(name, argv, self.workdir / f"{name}.log", self.workdir / f"{name}.json", full_env)
        self.processes.append(process)
        return process

    def logs(self) -> str:
        return "\n".join(p.tail() for p in self.processes)

    async def close(self) -> None:
        for process in self.processes:
            if process.running():
                process.proc.kill()
                process.proc.wait(10)
        await self.db.dispose()

    # -- the database --------------------------------------------------------

    async def sent(self) -> int:
        async with self.db.transaction() as session:
            return (await session.exec(select(func.count()).select_from(OutboxMessage))).one()

    async def unsent(self) -> int:
        async with self.db.transaction() as session:
            return (await session.exec(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.sent_at.is_(None)))).one()

    async def published_rows(self) -> int:
        return await self.sent() - await self.unsent()

    async def applications(self) -> list[Applied]:
        async with self.db.transaction() as session:
            return list((await session.exec(select(Applied).order_by(Applied.id))).all())

    async def applied_count(self) -> int:
        async with self.db.transaction() as session:
            return (await session.exec(select(func.count(func.distinct(Applied.event_id))))).one()

    # -- the broker ----------------------------------------------------------

    async def topic_records(self, topic: str | None = None) -> list:
        """Every record on the topic, from the beginning to its current end."""
        topic = topic or self.topic
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False)
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        await admin.start()
        await consumer.start()
        try:
            partitions = await _partitions(admin, topic)
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            end = await consumer.end_offsets(partitions)
            records = []
            while [tp for tp in partitions if await consumer.position(tp) < end[tp]]:
                batch = await consumer.getmany(timeout_ms=500)
                for recs in batch.values():
                    records.extend(recs)
            return records
        finally:
            await consumer.stop()
            await admin.close()

    async def caught_up(self) -> bool:
        """The consumer group has committed the end offset of every partition of the topic."""
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False)
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        await consumer.start()
        await admin.start()
        try:
            partitions = await _partitions(admin, self.topic)
            end = await consumer.end_offsets(partitions)
            committed = await admin.list_consumer_group_offsets(self.group)
            return all(end[tp] == 0 or (tp in committed and committed[tp].offset == end[tp]) for tp in partitions)
        finally:
            await admin.close()
            await consumer.stop()

    async def settled(self, expected: int, timeout: float = 120.0) -> None:
        """Wait until `expected` events are committed, all published, all applied and the
        consumer group has committed every offset: nothing is left in flight that could
        still change the figures."""

        async def done():
            return (await self.sent() == expected and await self.unsent() == 0
                    and await self.applied_count() == expected and await self.caught_up())

        await eventually(done, timeout=timeout, interval=0.25, message=f"not settled at {expected}\n{self.logs()}")

    async def figures(self, label: str, redelivered: int = 0) -> Figures:
        records = await self.topic_records()
        ids = []
        for record in records:
            try:
                ids.append(CloudEvent.from_json(record.value).id)
            except ValueError:
                pass
        rows = await self.applications()
        per_event = Counter(r.event_id for r in rows)
        by_key: dict[str, list[int]] = defaultdict(list)
        for row in rows:  # ids grow in application order
            by_key[row.key].append(row.seq)
        figures = Figures(
            sent=await self.sent(), unsent=await self.unsent(), published=len(records),
            published_distinct=len(set(ids)), unreadable=len(records) - len(ids),
            applied=len(per_event), applications=len(rows),
            applied_twice=sum(1 for n in per_event.values() if n > 1),
            out_of_order=[k for k, seqs in by_key.items() if seqs != sorted(seqs)],
            redelivered=redelivered,
        )
        print("\n" + figures.line(label), flush=True)
        return figures
