"""Replicas of the probe service (tests/common/probe.py) that say what Kafka and PostgreSQL
gave them, for the scaling tests (tests/deploy/test_scaling_kafka.py).

    python -m tests.deploy.scaling_probe consume --db URL --bootstrap HOST:PORT --prefix P --status FILE
    python -m tests.deploy.scaling_probe relay   --db URL --bootstrap HOST:PORT --prefix P --status FILE

Both run the platform's own EventConsumer and OutboxRelay with the probe's handlers,
database and settings, unchanged; they only watch them. `consume` records every
partition assignment the group coordinator hands it, and per partition how many events it
applied and how many the inbox turned away. `relay` records whether it won the outbox
leadership (the advisory lock), how often it found the lock taken, and how many rows it
published. The status file (JSON, replaced atomically) is rewritten whenever that changes,
so a test can poll it while the process runs; SIGTERM writes the final figures.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

from aiokafka import ConsumerRebalanceListener

from services.common.consumer import EventConsumer
from services.common.db import Database
from services.common.kafka import ensure_topics_with_retry
from services.common.logging import configure_logging
from services.common.relay import OutboxRelay
from tests.common.probe import bound, settings_from, stop_on_signals


class StatusFile:
    def __init__(self, path: str) -> None:
        self.path = Path(path)

    def write(self, status: dict[str, Any]) -> None:
        # Replaced in one rename, so a test polling it never reads half a file.
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"pid": os.getpid(), **status}, sort_keys=True) + "\n")
        tmp.replace(self.path)


class RecordingConsumer(EventConsumer):
    """The platform's consumer, recording what the group gave it and what it did with it."""

    def __init__(self, *args, status: StatusFile, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.status = status
        self.assignments: list[list[int]] = []  # one entry per rebalance, as the coordinator decided
        self.applied_by_partition: Counter[int] = Counter()
        self.duplicates_by_partition: Counter[int] = Counter()

    def _make_consumer(self):
        consumer = super()._make_consumer()
        # Same subscription, now with a listener: the assignment is Kafka's decision, not ours.
        consumer.subscribe(self.topics, listener=_AssignmentListener(self))
        return consumer

    def _count(self, record, envelope, outcome: str) -> None:
        applied, duplicates = self.applied, self.duplicates
        super()._count(record, envelope, outcome)
        self.applied_by_partition[record.partition] += self.applied - applied
        self.duplicates_by_partition[record.partition] += self.duplicates - duplicates

    def snapshot(self, **extra) -> dict[str, Any]:
        return {
            "role": "consume", "assignments": self.assignments, "applied": self.applied,
            "duplicates": self.duplicates, "dead_lettered": self.dead_lettered,
            "applied_by_partition": {str(p): n for p, n in sorted(self.applied_by_partition.items()) if n},
            "duplicates_by_partition": {str(p): n for p, n in sorted(self.duplicates_by_partition.items()) if n},
            **extra,
        }


class _AssignmentListener(ConsumerRebalanceListener):
    def __init__(self, runner: RecordingConsumer) -> None:
        self.runner = runner

    async def on_partitions_revoked(self, revoked) -> None:
        pass

    async def on_partitions_assigned(self, assigned) -> None:
        self.runner.assignments.append(sorted(tp.partition for tp in assigned))
        self.runner.status.write(self.runner.snapshot())


class RecordingRelay(OutboxRelay):
    """The platform's relay, recording the outcome of each leadership election it takes part in."""

    def __init__(self, *args, status: StatusFile, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.status = status
        self.leading = False
        self.lost_elections = 0
        self._written: tuple[bool, int] | None = None

    async def _lead(self) -> bool:
        leading = await super()._lead()
        self.leading = leading
        self.lost_elections += 0 if leading else 1
        self.note()
        return leading

    async def publish_batch(self) -> int:
        sent = await super().publish_batch()
        if sent:
            self.note()
        return sent

    def snapshot(self) -> dict[str, Any]:
        return {"role": "relay", "leading": self.leading, "lost_elections": self.lost_elections,
                "published": self.published}

    def note(self) -> None:
        # A standby loses an election every poll interval: rewrite the file only when the
        # leadership or the published count changed (the final status has the full count).
        state = (self.leading, self.published)
        if state != self._written:
            self.status.write(self.snapshot())
            self._written = state


async def consume(args: argparse.Namespace) -> None:
    settings = settings_from(args)
    db = Database(args.db)
    stop = stop_on_signals()
    status = StatusFile(args.status)
    runner = RecordingConsumer(db, settings, bound(settings), status=status)
    try:
        await ensure_topics_with_retry(settings, stop)
        await runner.run(stop)
    finally:
        status.write(runner.snapshot(stopped=True))
        await db.dispose()


async def relay(args: argparse.Namespace) -> None:
    settings = settings_from(args)
    db = Database(args.db)
    stop = stop_on_signals()
    status = StatusFile(args.status)
    runner = RecordingRelay(db, settings, status=status)
    try:
        await ensure_topics_with_retry(settings, stop)
        await runner.run(stop)
    finally:
        status.write({**runner.snapshot(), "stopped": True})
        await db.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.deploy.scaling_probe", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (("consume", "apply the probe's events until SIGTERM, recording assignments"),
                            ("relay", "publish the probe's outbox until SIGTERM, recording leadership")):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--db", required=True, help="SQLAlchemy URL of the probe's database")
        p.add_argument("--bootstrap", help="Kafka bootstrap servers (default: KAFKA_BOOTSTRAP_SERVERS)")
        p.add_argument("--prefix", help="topic and consumer-group prefix (default: KAFKA_TOPIC_PREFIX)")
        p.add_argument("--status", required=True, help="JSON file rewritten whenever the figures change")
    args = parser.parse_args(argv)
    configure_logging("probe", os.environ.get("LOG_LEVEL", "WARNING"))
    asyncio.run({"consume": consume, "relay": relay}[args.command](args))


if __name__ == "__main__":
    main()
