"""A real single-node Apache Kafka broker (KRaft mode) without Docker.

The jars come from Maven Central (``deploy/kafka/pom.xml``) into the git-ignored
``<repo>/.cache/kafka/<version>/lib``; the broker runs as ``java -cp lib/* kafka.Kafka``.

Python API::

    from deploy.kafka.broker import KafkaBroker

    with KafkaBroker(tmp_path / "kafka") as broker:   # free ports picked automatically
        use(broker.bootstrap_servers)                   # "127.0.0.1:<port>"

Command line (``python -m deploy.kafka.broker --help``)::

    python -m deploy.kafka.broker fetch              # download the jars once
    python -m deploy.kafka.broker start              # detached, pid file in the data dir
    python -m deploy.kafka.broker status
    python -m deploy.kafka.broker stop
    python -m deploy.kafka.broker run                # foreground (Procfile); SIGINT/SIGTERM stop it

Only the standard library is needed. If ``aiokafka`` is importable, readiness is
confirmed with an admin client (``describe_cluster()`` and a group coordinator lookup);
otherwise a TCP connect is used.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import base64
import concurrent.futures
import contextlib
import fcntl
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
import weakref
from pathlib import Path

from deploy.processes import free_ports, pid_alive, port_accepts, wait_gone

KAFKA_VERSION = "3.9.2"

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
POM_FILE = HERE / "pom.xml"
LOG4J_FILE = HERE / "log4j.properties"
CACHE_DIR = REPO_ROOT / ".cache" / "kafka" / KAFKA_VERSION
LIB_DIR = CACHE_DIR / "lib"
_MARKER = CACHE_DIR / "lib.complete"

HOST = "127.0.0.1"
NODE_ID = 1
JVM_FLAGS = ["-Xms256m", "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"]

PID_FILE_NAME = "broker.pid"
PROPS_FILE_NAME = "server.properties"
LOG_DIR_NAME = "logs"        # log4j output and the JVM's stdout/stderr (kafka.out)
KRAFT_DIR_NAME = "kraft"     # Kafka's log.dirs: metadata log and topic partitions


class KafkaBrokerError(RuntimeError):
    """The broker could not be fetched, formatted, started or stopped."""


# --------------------------------------------------------------------------- jars


def _pom_digest() -> str:
    return hashlib.sha256(POM_FILE.read_bytes()).hexdigest()


def _jars_present() -> bool:
    try:
        return _MARKER.read_text().strip() == _pom_digest() and any(LIB_DIR.glob("kafka_2.13-*.jar"))
    except FileNotFoundError:
        return False


def fetch_jars() -> Path:
    """Download Kafka's runtime jars once; return the lib folder.

    A marker file (holding a hash of pom.xml) makes later calls return at once
    without touching Maven. Concurrent callers are serialised by a file lock.
    """
    if _jars_present():
        return LIB_DIR
    mvn = shutil.which("mvn")
    if mvn is None:
        raise KafkaBrokerError("Maven (`mvn`) is not on PATH; it is needed once to fetch the Kafka jars")
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with open(CACHE_DIR / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _jars_present():  # another process fetched them while we waited
            return LIB_DIR
        partial = CACHE_DIR / "lib.partial"
        shutil.rmtree(partial, ignore_errors=True)
        cmd = [
            mvn, "-B", "-q", "-Dstyle.color=never",
            "-f", str(POM_FILE),
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={partial}",
        ]
        proc = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True)
        if proc.returncode != 0 or not any(partial.glob("kafka_2.13-*.jar")):
            raise KafkaBrokerError(
                f"fetching Kafka jars failed (exit {proc.returncode}): {' '.join(cmd)}\n"
                f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
            )
        _MARKER.unlink(missing_ok=True)
        shutil.rmtree(LIB_DIR, ignore_errors=True)
        partial.rename(LIB_DIR)
        _MARKER.write_text(_pom_digest() + "\n")
    return LIB_DIR


# --------------------------------------------------------------------------- helpers


def _java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").is_file():
        return str(Path(java_home) / "bin" / "java")
    java = shutil.which("java")
    if java is None:
        raise KafkaBrokerError("`java` (JDK 17+) is not on PATH and JAVA_HOME is not set")
    return java


def _random_cluster_id() -> str:
    """Same format as Kafka's Uuid.randomUuid(): 16 random bytes, URL-safe base64, no padding."""
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):  # Kafka avoids ids that look like a CLI option
            return cid


def _read_properties(path: Path) -> dict[str, str]:
    props: dict[str, str] = {}
    with contextlib.suppress(FileNotFoundError):
        for line in path.read_text().splitlines():
            line = line.strip()
            if line and not line.startswith(("#", "!")) and "=" in line:
                key, value = line.split("=", 1)
                props[key.strip()] = value.strip()
    return props


def _aiokafka_available() -> bool:
    try:
        import aiokafka.admin  # noqa: F401
    except ImportError:
        return False
    return True


async def _describe_cluster(bootstrap: str, timeout_ms: int) -> dict:
    """describe_cluster(), once the broker can also coordinate consumer groups.

    Groups live in __consumer_offsets, which the broker creates on the first coordinator
    lookup; looking one up here means consumers do not each start by logging its absence.
    """
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=timeout_ms)
    try:
        await admin.start()
        info = await admin.describe_cluster()
        await admin.find_coordinator("deploy.kafka.broker.ready")
        return info
    finally:
        await admin.close()


def _run_coroutine_blocking(coro_factory, timeout: float):
    """Run a coroutine to completion from sync code, even if the caller is inside an event loop."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(coro_factory())).result(timeout=timeout)


# Brokers started by this process and not detached: stopped when the interpreter exits.
_LIVE_BROKERS: weakref.WeakSet[KafkaBroker] = weakref.WeakSet()


@atexit.register
def _stop_live_brokers() -> None:
    for broker in list(_LIVE_BROKERS):
        with contextlib.suppress(Exception):
            broker.stop(timeout=15)


# --------------------------------------------------------------------------- broker


class KafkaBroker:
    """One Kafka 3.9 broker+controller (KRaft) on 127.0.0.1, data and logs under ``data_dir``.

    ``port``/``controller_port`` 0 means: pick a free port now (kept across restarts).
    Stopping and starting again keeps the cluster id, topics and committed offsets.
    """

    def __init__(self, data_dir: Path, port: int = 0, controller_port: int = 0, *, console: bool = False,
                 out_file: Path | None = None):
        self.data_dir = Path(data_dir).resolve()
        if port == 0 or controller_port == 0:
            free = iter(free_ports(2, HOST))
            port = port or next(free)
            controller_port = controller_port or next(free)
        if port == controller_port:
            raise ValueError("port and controller_port must differ")
        self.port = int(port)
        self.controller_port = int(controller_port)
        self.console = console  # True: the JVM writes to this process's stdout/stderr instead of out_file
        self._out_file = None if out_file is None else Path(out_file).resolve()
        self._proc: subprocess.Popen | None = None
        self._lock = threading.RLock()

    # -- paths -------------------------------------------------------------

    @property
    def bootstrap_servers(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def pid_file(self) -> Path:
        return self.data_dir / PID_FILE_NAME

    @property
    def properties_file(self) -> Path:
        return self.data_dir / PROPS_FILE_NAME

    @property
    def log_dir(self) -> Path:
        return self.data_dir / LOG_DIR_NAME

    @property
    def out_file(self) -> Path:
        """Where the JVM's stdout and stderr go (the broker's log, unless console): logs/kafka.out by default."""
        return self._out_file or self.log_dir / "kafka.out"

    @property
    def kraft_dir(self) -> Path:
        return self.data_dir / KRAFT_DIR_NAME

    @property
    def pid(self) -> int | None:
        """PID of the running broker (started here or found via the pid file), else None."""
        if self._proc is not None:
            return self._proc.pid if self._proc.poll() is None else None
        pid = self._read_pid()
        return pid if pid is not None and self._is_our_broker(pid) else None

    @property
    def cluster_id(self) -> str | None:
        return _read_properties(self.kraft_dir / "meta.properties").get("cluster.id")

    # -- lifecycle -----------------------------------------------------------

    def start(self, timeout: float = 90) -> KafkaBroker:
        """Start the broker (formatting storage on first use) and wait until it serves metadata."""
        with self._lock:
            if self.is_running():
                if self._proc is None:  # found via the pid file: report the port it really uses
                    self.port = _running_port(self.data_dir) or self.port
                return self
            deadline = time.monotonic() + timeout
            lib = fetch_jars()
            for port in (self.port, self.controller_port):
                if port_accepts(port, HOST, timeout=0.2):
                    raise KafkaBrokerError(f"{HOST}:{port} is already in use by another process")
            self.data_dir.mkdir(parents=True, exist_ok=True)
            self.log_dir.mkdir(exist_ok=True)
            self._write_properties()
            if not (self.kraft_dir / "meta.properties").exists():
                self._format(lib, deadline)
            self._spawn(lib)
            try:
                self._wait_ready(deadline)
            except BaseException:
                self.kill()
                raise
            _LIVE_BROKERS.add(self)
            return self

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM the broker this object started (or the one in the pid file); SIGKILL after timeout."""
        with self._lock:
            pid = self.pid
            if pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
                if not self._wait_exit(pid, timeout):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                    self._wait_exit(pid, 10)
            self._forget()

    def kill(self) -> None:
        """SIGKILL the broker, as a crash would (data stays; start() recovers it)."""
        with self._lock:
            pid = self.pid
            if pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                self._wait_exit(pid, 10)
            self._forget()

    def restart(self, timeout: float = 90) -> KafkaBroker:
        self.stop()
        return self.start(timeout=timeout)

    def is_running(self) -> bool:
        return self.pid is not None

    def detach(self) -> None:
        """Leave the broker running when this Python process exits (the CLI `start` uses this)."""
        _LIVE_BROKERS.discard(self)
        self._proc = None

    def __enter__(self) -> KafkaBroker:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"KafkaBroker({str(self.data_dir)!r}, port={self.port}, controller_port={self.controller_port})"

    # -- internals -----------------------------------------------------------

    def _properties(self) -> dict[str, object]:
        return {
            # single node: broker and controller in one JVM
            "process.roles": "broker,controller",
            "node.id": NODE_ID,
            "controller.quorum.voters": f"{NODE_ID}@{HOST}:{self.controller_port}",
            "listeners": f"PLAINTEXT://{HOST}:{self.port},CONTROLLER://{HOST}:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://{HOST}:{self.port}",
            "inter.broker.listener.name": "PLAINTEXT",
            "controller.listener.names": "CONTROLLER",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": self.kraft_dir,
            # one broker: every replication factor is 1, or groups/transactions never come up
            "num.partitions": 3,
            "default.replication.factor": 1,
            "min.insync.replicas": 1,
            "offsets.topic.replication.factor": 1,
            "offsets.topic.num.partitions": 3,
            "transaction.state.log.replication.factor": 1,
            "transaction.state.log.min.isr": 1,
            "transaction.state.log.num.partitions": 3,
            # topics are created explicitly, with the admin client
            "auto.create.topics.enable": "false",
            "delete.topic.enable": "true",
            # fast tests, small machine
            "group.initial.rebalance.delay.ms": 0,
            "log.cleaner.dedupe.buffer.size": 2097152,
            "num.network.threads": 2,
            "num.io.threads": 4,
            "num.recovery.threads.per.data.dir": 1,
            "background.threads": 4,
            # After a SIGKILL the restarted broker must wait out its old registration's session
            # (default 9 s, ~13 s restart); 5 s keeps crash drills shorter with ample heartbeat slack.
            "broker.heartbeat.interval.ms": 1000,
            "broker.session.timeout.ms": 5000,
        }

    def _write_properties(self) -> None:
        lines = ["# Written by deploy/kafka/broker.py on every start; edits are overwritten."]
        lines += [f"{key}={value}" for key, value in self._properties().items()]
        tmp = self.properties_file.with_suffix(".tmp")
        tmp.write_text("\n".join(lines) + "\n")
        tmp.replace(self.properties_file)

    def _jvm(self, lib: Path, main_class: str, *args: str) -> list[str]:
        return [
            _java(), *JVM_FLAGS,
            "-Djava.awt.headless=true",
            f"-Dlog4j.configuration={LOG4J_FILE.as_uri()}",
            f"-Dkafka.logs.dir={self.log_dir}",
            "-cp", f"{lib}{os.sep}*",
            main_class, *args,
        ]

    def _format(self, lib: Path, deadline: float) -> None:
        cmd = self._jvm(lib, "kafka.tools.StorageTool", "format",
                        "-t", _random_cluster_id(), "-c", str(self.properties_file))
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True,
                                  timeout=max(deadline - time.monotonic(), 1))
        except subprocess.TimeoutExpired as exc:
            raise KafkaBrokerError(f"formatting KRaft storage in {self.kraft_dir} timed out") from exc
        if proc.returncode != 0:
            raise KafkaBrokerError(
                f"formatting KRaft storage failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
            )

    def _spawn(self, lib: Path) -> None:
        cmd = self._jvm(lib, "kafka.Kafka", str(self.properties_file))
        if self.console:
            out = None
        else:
            self.out_file.parent.mkdir(parents=True, exist_ok=True)
            out = open(self.out_file, "ab")
        try:
            # Own session: terminal signals aimed at our process group do not reach the broker;
            # it stops only through stop()/kill() (or the atexit hook / CLI signal handler).
            self._proc = subprocess.Popen(
                cmd, cwd=self.data_dir, stdin=subprocess.DEVNULL,
                stdout=out, stderr=subprocess.STDOUT if out is not None else None,
                start_new_session=True,
            )
        finally:
            if out is not None:
                out.close()
        self.pid_file.write_text(f"{self._proc.pid}\n")

    def _wait_ready(self, deadline: float) -> None:
        use_admin = _aiokafka_available()
        expected_cluster = self.cluster_id
        last_error: object = "no TCP connect yet"
        while True:
            if self._proc is None or self._proc.poll() is not None:
                code = None if self._proc is None else self._proc.returncode
                raise KafkaBrokerError(f"Kafka exited during start (code {code}).\n{self._log_tail()}")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise KafkaBrokerError(
                    f"Kafka on {self.bootstrap_servers} not ready in time ({last_error}).\n{self._log_tail()}"
                )
            if port_accepts(self.port, HOST, timeout=min(1.0, remaining)):
                if not use_admin:
                    return
                try:
                    info = _run_coroutine_blocking(
                        lambda: _describe_cluster(self.bootstrap_servers, 5000), timeout=15
                    )
                except Exception as exc:  # not serving metadata, or no group coordinator, yet
                    last_error = f"describe_cluster: {exc!r}"
                else:
                    brokers = info.get("brokers") or []
                    ours = any(b.get("node_id") == NODE_ID and b.get("port") == self.port for b in brokers)
                    if ours and info.get("cluster_id") == expected_cluster:
                        return
                    last_error = f"describe_cluster returned {info!r}"
            time.sleep(0.2)  # poll interval

    def _log_tail(self, lines: int = 40) -> str:
        chunks = []
        for path in (self.out_file, self.log_dir / "server.log"):
            with contextlib.suppress(OSError):
                tail = path.read_text(errors="replace").splitlines()[-lines:]
                chunks.append(f"--- {path} (last {len(tail)} lines) ---\n" + "\n".join(tail))
        return "\n".join(chunks) or f"(no logs in {self.log_dir})"

    def _read_pid(self) -> int | None:
        try:
            return int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None

    def _is_our_broker(self, pid: int) -> bool:
        """The pid is alive and is `kafka.Kafka` with this data dir's server.properties."""
        if not pid_alive(pid):
            return False
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return True  # no procfs: trust the pid file
        return b"kafka.Kafka" in argv and os.fsencode(str(self.properties_file)) in argv

    def _wait_exit(self, pid: int, timeout: float) -> bool:
        if self._proc is not None and self._proc.pid == pid:
            try:
                self._proc.wait(timeout=timeout)  # also reaps our child
                return True
            except subprocess.TimeoutExpired:
                return False
        return wait_gone([pid], timeout, interval=0.1)

    def _forget(self) -> None:
        if self._proc is not None:
            with contextlib.suppress(Exception):
                self._proc.wait(timeout=0)  # reap
        self._proc = None
        _LIVE_BROKERS.discard(self)
        pid = self._read_pid()
        if pid is not None and not pid_alive(pid):
            self.pid_file.unlink(missing_ok=True)


# --------------------------------------------------------------------------- CLI


def _running_port(data_dir: Path) -> int | None:
    listeners = _read_properties(Path(data_dir) / PROPS_FILE_NAME).get("listeners", "")
    for listener in listeners.split(","):
        if listener.startswith("PLAINTEXT://"):
            return int(listener.rsplit(":", 1)[1])
    return None


def _cli_broker(args: argparse.Namespace, **kw) -> KafkaBroker:
    data_dir = Path(args.data_dir)
    port, cport = args.port, args.controller_port
    if args.command in ("stop", "status"):
        port = _running_port(data_dir) or port
    return KafkaBroker(data_dir, port=port, controller_port=cport, **kw)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m deploy.kafka.broker",
        description=f"Run a local single-node Apache Kafka {KAFKA_VERSION} broker (KRaft, no Docker).",
    )
    parser.add_argument(
        "command", choices=["fetch", "start", "stop", "status", "run"],
        help="fetch: download jars; start: run detached; stop: stop the detached broker; "
             "status: show whether it runs; run: run in the foreground until SIGINT/SIGTERM",
    )
    parser.add_argument("--data-dir", default=str(REPO_ROOT / "var" / "kafka"),
                        help="broker data, logs, server.properties and broker.pid (default: <repo>/var/kafka)")
    parser.add_argument("--port", type=int, default=9092,
                        help="client (PLAINTEXT) port; 0 = any free port (default 9092)")
    parser.add_argument("--controller-port", type=int, default=9093,
                        help="KRaft controller port; 0 = any free port (default 9093)")
    parser.add_argument("--timeout", type=float, default=90, help="seconds to wait for start/stop (default 90)")
    args = parser.parse_args(argv)

    try:
        if args.command == "fetch":
            print(fetch_jars())
            return 0

        if args.command == "status":
            broker = _cli_broker(args)
            if broker.is_running():
                print(f"running pid={broker.pid} bootstrap={broker.bootstrap_servers} data_dir={broker.data_dir}")
                return 0
            print(f"not running (data_dir={broker.data_dir})")
            return 3

        if args.command == "stop":
            broker = _cli_broker(args)
            if not broker.is_running():
                print("not running")
                return 0
            broker.stop(timeout=min(args.timeout, 60))
            print("stopped")
            return 0

        if args.command == "start":
            existing = _cli_broker(argparse.Namespace(**{**vars(args), "command": "status"}))
            if existing.is_running():
                print(existing.bootstrap_servers)
                return 0
            broker = _cli_broker(args)
            broker.start(timeout=args.timeout)
            broker.detach()
            print(broker.bootstrap_servers)
            return 0

        # run: foreground until SIGINT/SIGTERM, then a clean broker shutdown
        broker = _cli_broker(args, console=True)
        stop_requested = threading.Event()

        def _on_signal(signum, _frame):
            stop_requested.set()

        signal.signal(signal.SIGINT, _on_signal)
        signal.signal(signal.SIGTERM, _on_signal)
        broker.start(timeout=args.timeout)
        print(f"Kafka {KAFKA_VERSION} ready on {broker.bootstrap_servers} (pid {broker.pid})", flush=True)
        while not stop_requested.wait(0.5):
            if not broker.is_running():
                print("Kafka exited unexpectedly", file=sys.stderr, flush=True)
                broker.stop()
                return 1
        broker.stop()
        return 0
    except KafkaBrokerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
