"""A PostgreSQL primary and a streaming standby, as CloudNativePG runs a cluster of two
instances with synchronous replication.

The standby is cloned with `pg_basebackup` and streams from a replication slot on the
primary (so the primary keeps the WAL it has not received); the primary's
`synchronous_standby_names` makes every commit wait until the standby has flushed it, so a
commit acknowledged to a client survives the primary's death. `failover()` does what
CloudNativePG's instance manager does when the primary is lost: promote the standby.
Services connect with both addresses and `target_session_attrs=read-write` (`url()`),
so after the promotion they find the new primary by themselves. `rebuild_standby()` then
makes the old primary a standby of the new one, as CloudNativePG does with a former
primary: `pg_rewind` (every instance runs with `wal_log_hints` and `full_page_writes`,
which it needs), or, if that fails, a fresh `pg_basebackup`; a new replication slot, and
synchronous again. A second failover then goes back.

    pair = PostgresPair(tmp_path / "pg")
    pair.start()
    url = pair.create_database("orders")   # postgresql+asyncpg://postgres@/orders?host=...&host=...
    pair.kill_primary(); pair.failover()
    pair.rebuild_standby()                 # "pg_rewind"; the pair is synchronous again
"""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from pathlib import Path
from urllib.parse import quote

from deploy.postgres.cluster import HOST, LOCAL_CONF_NAME, SUPERUSER, PostgresCluster, PostgresError, ensure_binaries
from deploy.processes import children, wait_gone, wait_reaped

SLOT = "standby"


class Instance(PostgresCluster):
    """One instance of the pair: the throwaway cluster's settings, plus what pg_rewind needs of
    the server it rewinds (hint-bit changes and whole pages after a checkpoint in the WAL, and the
    WAL itself kept), so a former primary can be rewound instead of copied again. Later lines of
    the file win."""

    def _write_local_conf(self) -> None:
        super()._write_local_conf()
        with open(self.data_dir / LOCAL_CONF_NAME, "a") as conf:
            # wal_keep_size: the WAL back to the last checkpoint both instances share, which pg_rewind
            # reads on the old primary, is not recycled by its crash recovery (CloudNativePG's default).
            conf.write("# deploy/cluster/postgres.py: what pg_rewind needs\n"
                       "wal_log_hints = on\nfull_page_writes = on\nwal_keep_size = '512MB'\n")


class PostgresPair:
    """Instance `a` starts as the primary and `b` as its standby, each in a folder of its own."""

    def __init__(self, base_dir: Path, ports: tuple[int, int] = (0, 0), *, durable: bool = False,
                 log_dir: Path | None = None) -> None:
        self.base_dir = Path(base_dir).resolve()
        self.instances = [
            Instance(self.base_dir / name, port=port, durable=durable,
                            log_file=None if log_dir is None else Path(log_dir) / f"postgres-{name}.log")
            for name, port in zip("ab", ports, strict=True)]
        self.primary, self.standby = self.instances
        self.promoted_at: float | None = None

    def url(self, database: str) -> str:
        """Both instances, and only a writable one will do: what every service is given."""
        # This spelling of the two addresses is one that both SQLAlchemy and asyncpg's own DSN
        # parser read (the relay connects with asyncpg directly); repeated host= is not.
        hosts = ",".join(HOST for _ in self.instances)
        ports = ",".join(str(instance.port) for instance in self.instances)
        return (f"postgresql+asyncpg://{SUPERUSER}@/{quote(database, safe='')}?host={hosts}&port={ports}"
                "&target_session_attrs=read-write")

    @property
    def admin_url(self) -> str:
        return self.url("postgres")

    def start(self, timeout: float = 120) -> PostgresPair:
        primary, standby = self.primary, self.standby
        primary.start(timeout=timeout)
        # Every commit waits for the WAL on the standby too (ALTER SYSTEM outranks the cluster's
        # local.conf, which turns synchronous_commit off for throwaway test clusters).
        primary.execute("ALTER SYSTEM SET synchronous_commit = 'on'")
        primary.execute("SELECT pg_reload_conf()")
        if not (standby.base_dir and (standby.data_dir / "PG_VERSION").exists()):
            if not primary.execute(f"SELECT 1 FROM pg_replication_slots WHERE slot_name = '{SLOT}'").strip():
                primary.execute(f"SELECT pg_create_physical_replication_slot('{SLOT}')")
            self._clone(timeout)
        standby.start(timeout=timeout)
        # Only now: the standby's copy of the configuration must not wait for a standby of its own
        # once it is promoted (it has none).
        primary.execute("ALTER SYSTEM SET synchronous_standby_names = '*'")
        primary.execute("SELECT pg_reload_conf()")
        self._wait_streaming(timeout)
        return self

    def _clone(self, timeout: float) -> None:
        standby = self.standby
        assert standby.base_dir is not None
        standby.base_dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            standby._prepare_server_dir()  # the server's own user must own the folder it clones into
        cmd = [str(ensure_binaries() / "pg_basebackup"), "-h", HOST, "-p", str(self.primary.port), "-U", SUPERUSER,
               "-D", str(standby.data_dir), "-X", "stream", "-S", SLOT, "-R", "--checkpoint=fast", "--no-sync"]
        proc = standby._run_server_tool(cmd, timeout=timeout)
        if proc.returncode != 0:
            raise PostgresError(f"pg_basebackup failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")

    def _wait_streaming(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            state = self.primary.execute("SELECT state || ' ' || sync_state FROM pg_stat_replication").strip()
            if state == "streaming sync":
                return
            if time.monotonic() > deadline:
                raise PostgresError(f"the standby is not streaming synchronously ({state or 'not connected'})")
            time.sleep(0.1)  # poll interval

    def kill_primary(self) -> None:
        """SIGKILL the primary's postmaster and its backends: a crash, nothing flushed first."""
        pid = self.primary.pid
        if pid is None:
            return
        backends = children(pid)
        for victim in (pid, *backends):
            with contextlib.suppress(ProcessLookupError):
                os.kill(victim, signal.SIGKILL)
        wait_gone([pid, *backends], 15)
        wait_reaped(pid, 15)

    def failover(self, timeout: float = 60) -> float:
        """Promote the standby (pg_ctl promote, waiting until it accepts writes); the two swap
        roles. Returns how long the promotion took, in seconds."""
        started = time.monotonic()
        new = self.standby
        new._pg_ctl(ensure_binaries(), "promote", "-w", "-t", str(int(timeout)), timeout=timeout + 5)
        deadline = started + timeout
        while new.execute("SELECT pg_is_in_recovery()").strip() != "f":
            if time.monotonic() > deadline:
                raise PostgresError("the promoted standby is still in recovery")
            time.sleep(0.05)  # poll interval
        # It has no standby now: commits must not wait for one (CloudNativePG's "preferred" data
        # durability); rebuild_standby() makes it synchronous again.
        new.execute("ALTER SYSTEM RESET synchronous_standby_names")
        new.execute("SELECT pg_reload_conf()")
        self.primary, self.standby = new, self.primary
        self.promoted_at = time.monotonic()
        return self.promoted_at - started

    def rebuild_standby(self, timeout: float = 120) -> str:
        """Make the old primary (dead, or stopped) a synchronous standby of the new one; returns how:
        "pg_rewind" (only the blocks that changed since the two diverged are copied back, after the
        crash recovery pg_rewind runs itself) or "pg_basebackup" (a fresh copy, when rewinding failed)."""
        old, new = self.standby, self.primary
        if old.is_running():
            old.stop()
        # A new slot, made before the rewind, so the new primary keeps every WAL segment the old
        # one has not yet received (pg_rewind copies those from before it).
        new.execute(f"SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '{SLOT}'")
        new.execute(f"SELECT pg_create_physical_replication_slot('{SLOT}', true)")
        # pg_rewind reads the source's timeline from its control file, which a promotion updates only
        # at the next checkpoint: without one it finds "the same timeline" and rewinds nothing.
        new.execute("CHECKPOINT")
        how = "pg_rewind"
        rewind = [str(ensure_binaries() / "pg_rewind"), "-D", str(old.data_dir), "--write-recovery-conf",
                  f"--source-server=host={HOST} port={new.port} user={SUPERUSER} dbname=postgres"]
        proc = old._run_server_tool(rewind, timeout=timeout)
        if proc.returncode == 0:
            with open(old.data_dir / "postgresql.auto.conf", "a") as conf:
                conf.write(f"primary_slot_name = '{SLOT}'\n")
        else:
            how = "pg_basebackup"
            (old.log_file.parent / "pg_rewind.log").write_text(proc.stdout + proc.stderr)
            shutil.rmtree(old.data_dir)
            self._clone(timeout)
        old.start(timeout=timeout)
        new.execute("ALTER SYSTEM SET synchronous_standby_names = '*'")
        new.execute("SELECT pg_reload_conf()")
        self._wait_streaming(timeout)
        return how

    def create_database(self, name: str) -> str:
        self.primary.create_database(name)
        return self.url(name)

    def ensure_database(self, name: str) -> str:
        self.primary.ensure_database(name)
        return self.url(name)

    def stop(self) -> None:
        for instance in (self.standby, self.primary):
            with contextlib.suppress(PostgresError):
                instance.stop()

    def remove(self) -> None:
        for instance in self.instances:
            instance.remove()

    def __enter__(self) -> PostgresPair:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
