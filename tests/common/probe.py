"""A tiny service built only from services.common, run as real processes by the delivery
tests (tests/common/test_delivery.py, test_broker_outage.py) so that they can kill them.

    python -m tests.common.probe migrate --db URL
    python -m tests.common.probe produce --db URL --events N --keys K [--writers W] [--rate R] [--poison SEQ ...]
    python -m tests.common.probe relay   --db URL --bootstrap HOST:PORT --prefix P
    python -m tests.common.probe consume --db URL --bootstrap HOST:PORT --prefix P [--crash-at-commit]
    python -m tests.common.probe replay  --db URL --bootstrap HOST:PORT --prefix P

`produce` writes `crm.reminder.sent` events through the outbox, one per transaction, each
with a sequence number `seq` (an extra field) and subject `vehicle-NNN` (seq modulo K), from
one or more concurrent writers; it writes only the sequence numbers not yet in the outbox, so
a killed producer restarted writes no event twice and skips none. `consume` applies them
through EventConsumer and the inbox; its handler writes one `probe_applied` row per
application (never unique), so a second application of one event is visible. Events whose
payload says `poison: true` are refused unless PROBE_FIX_DEPLOYED=1 says the fix is out.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from pydantic_settings import SettingsConfigDict
from sqlalchemy.orm import registry
from sqlmodel import Field, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.clock import SystemClock
from services.common.consumer import EventConsumer, EventHandlers, HandlerContext, replay_dead_letters
from services.common.db import Database, ServiceModel, UTCDateTime
from services.common.events.catalogue.crm import ReminderSent
from services.common.events.envelope import CloudEvent
from services.common.ids import new_id
from services.common.kafka import ensure_topics_with_retry
from services.common.logging import configure_logging
from services.common.migrations import upgrade
from services.common.outbox import emit
from services.common.relay import OutboxRelay
from services.common.settings import PlatformSettings
from services.common.tables import OutboxMessage

MIGRATIONS = Path(__file__).parent / "probe_migrations"
STORE_ID = "probe-store"
EVENT_TYPE = ReminderSent.type
FIX_FLAG = "PROBE_FIX_DEPLOYED"
# A consumer told to crash at its first offset commit exits with this code, so a test can
# tell that crash from any other way of dying.
CRASH_EXIT_CODE = 86

class ProbeModel(ServiceModel, registry=registry()):
    """The probe's own tables."""
BigId = sa.BigInteger()


class Applied(ProbeModel, table=True):
    __tablename__ = "probe_applied"

    id: int | None = Field(default=None, sa_column=sa.Column(BigId, primary_key=True, autoincrement=True))
    event_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    key: str = Field(sa_column=sa.Column(sa.String(128), nullable=False))
    seq: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    applied_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))


class Note(ProbeModel, table=True):
    __tablename__ = "probe_notes"

    id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    store_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    text: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    created_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))

# Seconds each application takes at least: a test that needs a backlog while something
# happens (a rebalance) sets it, rather than hoping the consumer is slow enough.
PACE_ENV = "PROBE_APPLY_SECONDS"


class ProbeSettings(PlatformSettings):
    model_config = SettingsConfigDict(env_prefix="PROBE_", extra="ignore", populate_by_name=True)

    service_name: str = "probe"


def key_for(seq: int, keys: int) -> str:
    return f"vehicle-{seq % keys:03d}"


handlers = EventHandlers()


@handlers.on(EVENT_TYPE)
async def record_application(session: AsyncSession, event: ReminderSent, envelope: CloudEvent,
                             ctx: HandlerContext[ProbeSettings]) -> None:
    extra = event.model_extra or {}
    if extra.get("poison") and os.environ.get(FIX_FLAG) != "1":
        raise ValueError(f"probe cannot apply reminder {event.reminder_id}: poison payload")
    pace = float(os.environ.get(PACE_ENV, "0"))
    if pace:
        await asyncio.sleep(pace)
    session.add(Applied(event_id=envelope.id, key=envelope.subject, seq=int(extra["seq"]),
                        applied_at=ctx.clock.now()))


class CrashingConsumer(EventConsumer):
    """Dies like a killed process right after applying its first batch, before the offset
    commit: the batch is in the database and the inbox, the broker does not know."""

    async def commit(self, consumer, offsets) -> None:
        sys.stdout.flush()
        os._exit(CRASH_EXIT_CODE)


def bound(settings: ProbeSettings) -> EventHandlers:
    """The probe's handlers as a service's app has them: with a clock and its settings."""
    return handlers.bound(HandlerContext(clock=SystemClock(), settings=settings))


def settings_from(args: argparse.Namespace) -> ProbeSettings:
    values: dict[str, Any] = {"database_url": args.db}
    if getattr(args, "bootstrap", None):
        values["kafka_bootstrap_servers"] = args.bootstrap
    if getattr(args, "prefix", None) is not None:
        values["kafka_topic_prefix"] = args.prefix
    if getattr(args, "max_attempts", None):
        values["consumer_max_attempts"] = args.max_attempts
    return ProbeSettings(**values)


def stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop


def write_stats(args: argparse.Namespace, stats: dict[str, Any]) -> None:
    line = json.dumps(stats, sort_keys=True)
    print(line, flush=True)
    if getattr(args, "stats", None):
        tmp = Path(args.stats).with_suffix(".tmp")
        tmp.write_text(line + "\n")
        tmp.replace(args.stats)


async def produce(args: argparse.Namespace) -> None:
    """Several writers commit at once, as concurrent requests do, so outbox ids commit out of
    order; each key belongs to one writer, which writes its events in sequence order."""
    db = Database(args.db)
    poison = set(args.poison or ())
    try:
        async with db.transaction() as session:
            payloads = (await session.exec(select(OutboxMessage.payload))).all()
        done = {json.loads(p)["data"]["seq"] for p in payloads}
        todo = [seq for seq in range(args.events) if seq not in done]

        async def writer(seqs: list[int]) -> None:
            began = time.monotonic()
            for n, seq in enumerate(seqs):
                if args.rate:
                    # Pacing only, so that a test can act while the stream is flowing.
                    await asyncio.sleep(max(0.0, began + n * args.writers / args.rate - time.monotonic()))
                event = ReminderSent(
                    reminder_id=new_id(), store_id=STORE_ID, vin=f"LPROBE{seq:011d}", kind="periodic_maintenance",
                    channel="sms", sent_at=datetime.now(UTC), seq=seq,
                    **({"poison": True} if seq in poison else {}),
                )
                async with db.transaction() as session:
                    await emit(session, event, subject=key_for(seq, args.keys), store_id=STORE_ID)

        await asyncio.gather(*(
            writer([seq for seq in todo if (seq % args.keys) % args.writers == w]) for w in range(args.writers)))
        write_stats(args, {"role": "produce", "already_written": len(done), "written": len(todo)})
    finally:
        await db.dispose()


async def relay(args: argparse.Namespace) -> None:
    settings = settings_from(args)
    db = Database(args.db)
    stop = stop_on_signals()
    runner = OutboxRelay(db, settings)
    try:
        await ensure_topics_with_retry(settings, stop)
        await runner.run(stop)
    finally:
        write_stats(args, {"role": "relay", "published": runner.published})
        await db.dispose()


async def consume(args: argparse.Namespace) -> None:
    settings = settings_from(args)
    db = Database(args.db)
    stop = stop_on_signals()
    runner = (CrashingConsumer if args.crash_at_commit else EventConsumer)(db, settings, bound(settings))
    try:
        await ensure_topics_with_retry(settings, stop)
        await runner.run(stop)
    finally:
        write_stats(args, {"role": "consume", "applied": runner.applied, "duplicates": runner.duplicates,
                           "dead_lettered": runner.dead_lettered})
        await db.dispose()


async def replay(args: argparse.Namespace) -> None:
    settings = settings_from(args)
    db = Database(args.db)
    try:
        counts = await replay_dead_letters(db, settings, bound(settings))
        write_stats(args, {"role": "replay", **counts})
    finally:
        await db.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.common.probe", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, help_text: str, kafka: bool = True) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--db", required=True, help="SQLAlchemy URL of the probe's database")
        p.add_argument("--stats", help="also write the final figures (JSON) to this file")
        if kafka:
            p.add_argument("--bootstrap", help="Kafka bootstrap servers (default: KAFKA_BOOTSTRAP_SERVERS)")
            p.add_argument("--prefix", help="topic and consumer-group prefix (default: KAFKA_TOPIC_PREFIX)")
        return p

    command("migrate", "apply the probe's migrations", kafka=False)
    p = command("produce", "write events through the outbox, one per transaction", kafka=False)
    p.add_argument("--events", type=int, required=True, help="total number of events (resumes after the last written)")
    p.add_argument("--keys", type=int, default=10, help="number of distinct subjects (Kafka keys)")
    p.add_argument("--rate", type=float, default=0.0, help="events per second (0 = as fast as possible)")
    p.add_argument("--writers", type=int, default=1, help="concurrent writers (each owns some of the keys)")
    p.add_argument("--poison", type=int, nargs="*", help="sequence numbers whose payload says poison: true")
    command("relay", "publish the outbox to Kafka until SIGTERM")
    p = command("consume", "apply events from Kafka until SIGTERM")
    p.add_argument("--crash-at-commit", action="store_true",
                   help=f"exit with code {CRASH_EXIT_CODE} at the first offset commit (after applying a batch)")
    p.add_argument("--max-attempts", type=int, help="attempts before an event is dead-lettered")
    command("replay", "apply the dead letters again once (after the fix)")
    args = parser.parse_args(argv)

    configure_logging("probe", os.environ.get("LOG_LEVEL", "WARNING"))
    if args.command == "migrate":
        upgrade(MIGRATIONS, args.db)
        return
    asyncio.run({"produce": produce, "relay": relay, "consume": consume, "replay": replay}[args.command](args))


if __name__ == "__main__":
    main()
