"""Gateway throughput and latency: the same GET and POST at fixed concurrency, straight to
the service, through the gateway, and through nginx as a plain reverse proxy, in one run.

wrk (Debian's package) drives the load from its own process. The upstream is the network
service (API role only, SQLite: no broker needed), so the figures compare the proxies,
not the service. Direct and nginx requests carry identity headers signed once per run
(valid for 60 s); gateway requests carry an API key, so the gateway does what it does in
production: authenticate (cached), authorise, rate-limit, sign, forward."""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Callable

import httptools
import httpx

from services.common.identity import Principal, sign

REPO = Path(__file__).resolve().parents[1]
SECRET = "bench-identity-secret-" + uuid.uuid4().hex


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(url)


def _ensure(binary: str, package: str) -> str:
    path = shutil.which(binary) or (f"/usr/sbin/{binary}" if Path(f"/usr/sbin/{binary}").exists() else None)
    if path:
        return path
    subprocess.run(["apt-get", "install", "-y", "-qq", package], check=True, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    return shutil.which(binary) or f"/usr/sbin/{binary}"


NGINX_CONF = """
worker_processes 1;
error_log {dir}/error.log warn;
pid {dir}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {dir}/body; proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fcgi; uwsgi_temp_path {dir}/uwsgi; scgi_temp_path {dir}/scgi;
  upstream network {{ server 127.0.0.1:{upstream}; keepalive 64; }}
  server {{
    listen 127.0.0.1:{port};
    location /api/network/ {{
      proxy_pass http://network/;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For $remote_addr;
    }}
  }}
}}
"""

WRK_SCRIPT = """
local headers = {headers}
local counter = 0
wrk.method = "{method}"
request = function()
  local body = nil
  if wrk.method == "POST" then
    counter = counter + 1
    body = string.format('{{"code":"B%s-%d","name":"Bench store","kind":"dealer_store","region":"East","city":"Shanghai"}}', "{tag}", counter)
  end
  return wrk.format(wrk.method, "{path}", headers, body)
end
"""


def _median(samples: list[dict]) -> dict:
    """The round with the median throughput, whole (its latencies belong to it)."""
    ordered = sorted(samples, key=lambda row: row["requests_per_s"])
    return dict(ordered[len(ordered) // 2])


def _lua_table(headers: dict[str, str]) -> str:
    return "{" + ", ".join(f'["{k}"] = "{v}"' for k, v in headers.items()) + "}"


def _wrk(wrk: str, url: str, path: str, method: str, headers: dict[str, str], seconds: int, connections: int, tmp: Path) -> dict:
    script = tmp / f"wrk-{uuid.uuid4().hex[:6]}.lua"
    tag = uuid.uuid4().hex[:6].upper()
    script.write_text(WRK_SCRIPT.format(headers=_lua_table({**headers, "Content-Type": "application/json"}),
                                        method=method, path=path, tag=tag))
    out = subprocess.run([wrk, "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), url],
                         capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def latency(p: str) -> float:
        m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"requests_per_s": round(rps, 1), "p50_ms": round(latency("50"), 3), "p99_ms": round(latency("99"), 3),
            "non_2xx": int(errors.group(1)) if errors else 0}


class _Answer:
    """httptools callbacks: enough to know where one answer ends."""

    def __init__(self) -> None:
        self.done = False

    def on_message_complete(self) -> None:
        self.done = True


class _Closed(Exception):
    """The server closed a kept-alive connection before answering (nginx does after 1,000 requests)."""


def _exchange(sock: socket.socket, request: bytes) -> int:
    sock.sendall(request)
    answer = _Answer()
    parser = httptools.HttpResponseParser(answer)
    started = False
    while not answer.done:
        data = sock.recv(65536)
        if not data:
            if not started:
                raise _Closed()
            raise ConnectionError("closed within an answer")
        started = True
        parser.feed_data(data)
    return parser.get_status_code()


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _one_at_a_time(targets: dict[str, tuple[int, str, Callable[[], dict[str, str]]]], method: str, path: str,
                   seconds: float) -> dict[str, dict]:
    """One request at a time over one kept-alive connection per path, the paths taking turns
    request by request: whatever else the machine does in a moment, it does to all three."""
    socks = {name: _connect(port) for name, (port, _, _) in targets.items()}
    samples: dict[str, list[float]] = {name: [] for name in targets}
    failures = {name: 0 for name in targets}
    order = list(targets)
    tag, counter = uuid.uuid4().hex[:6].upper(), 0
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            order = order[1:] + order[:1]
            for name in order:
                port, prefix, headers = targets[name]
                counter += 1
                body = (json.dumps({"code": f"S{tag}-{counter}", "name": "Bench store", "kind": "dealer_store",
                                    "region": "East", "city": "Shanghai"}).encode() if method == "POST" else b"")
                head = f"{method} {prefix}{path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                head += "".join(f"{k}: {v}\r\n" for k, v in {**headers(), "Content-Type": "application/json"}.items())
                head += f"Content-Length: {len(body)}\r\n\r\n" if method == "POST" else "\r\n"
                request = head.encode() + body
                started = time.perf_counter()
                try:
                    status = _exchange(socks[name], request)
                except _Closed:
                    # Not counted: a new connection's first request measures the connect too.
                    socks[name].close()
                    socks[name] = _connect(port)
                    _exchange(socks[name], request)
                    continue
                samples[name].append((time.perf_counter() - started) * 1000)
                if not 200 <= status < 400:
                    failures[name] += 1
    finally:
        for sock in socks.values():
            sock.close()

    def pct(values: list[float], q: float) -> float:
        ordered = sorted(values)
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)

    return {name: {"requests": len(values), "p50_ms": pct(values, 0.5), "p99_ms": pct(values, 0.99),
                   "non_2xx": failures[name]} for name, values in samples.items()}


def run(seconds: int = 10, connections: int = 16, rounds: int = 3, single_seconds: int = 30) -> dict:
    wrk = _ensure("wrk", "wrk")
    nginx = _ensure("nginx", "nginx-light")
    tmp = Path(tempfile.mkdtemp(prefix="bench-gw-"))
    procs: list[subprocess.Popen] = []
    try:
        service_port, gateway_port, nginx_port = _free_port(), _free_port(), _free_port()
        key = "ak_" + uuid.uuid4().hex
        env = {**os.environ, "PLATFORM_IDENTITY_SECRET": SECRET, "PLATFORM_BOOTSTRAP_KEY": key, "LOG_LEVEL": "WARNING",
               "NETWORK_PORT": str(service_port), "NETWORK_DATABASE_URL": f"sqlite+aiosqlite:///{tmp / 'network.db'}",
               "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"}
        procs.append(subprocess.Popen([sys.executable, "-m", "services.network", "api"], env=env, cwd=REPO,
                                      stdout=open(tmp / "network.log", "w"), stderr=subprocess.STDOUT))
        _wait(f"http://127.0.0.1:{service_port}/healthz")
        gw_env = {**env, "GATEWAY_PORT": str(gateway_port), "GATEWAY_NETWORK_URL": f"http://127.0.0.1:{service_port}",
                  "GATEWAY_KEY_EVENTS": "false", "GATEWAY_RATE_LIMIT_KEY_PER_SECOND": "1000000",
                  "GATEWAY_RATE_LIMIT_KEY_BURST": "1000000", "GATEWAY_RATE_LIMIT_CLIENT_PER_SECOND": "1000000",
                  "GATEWAY_RATE_LIMIT_CLIENT_BURST": "1000000"}
        procs.append(subprocess.Popen([sys.executable, "-m", "gateway"], env=gw_env, cwd=REPO,
                                      stdout=open(tmp / "gateway.log", "w"), stderr=subprocess.STDOUT))
        _wait(f"http://127.0.0.1:{gateway_port}/healthz")
        (tmp / "nginx.conf").write_text(NGINX_CONF.format(dir=tmp, upstream=service_port, port=nginx_port))
        procs.append(subprocess.Popen([nginx, "-p", str(tmp), "-c", str(tmp / "nginx.conf"), "-g", "daemon off;"],
                                      stdout=open(tmp / "nginx.out", "w"), stderr=subprocess.STDOUT))
        _wait(f"http://127.0.0.1:{nginx_port}/api/network/healthz")

        bearer = {"Authorization": f"Bearer {key}"}
        store = httpx.post(f"http://127.0.0.1:{gateway_port}/api/network/v1/stores", headers=bearer, json={
            "code": "BENCH-GET", "name": "Bench", "kind": "dealer_store", "region": "East", "city": "Shanghai"}).json()
        targets = {
            "direct": (f"http://127.0.0.1:{service_port}", ""),
            "gateway": (f"http://127.0.0.1:{gateway_port}", "/api/network"),
            "nginx": (f"http://127.0.0.1:{nginx_port}", "/api/network"),
        }
        results: dict = {"connections": connections, "seconds": seconds, "rounds": rounds,
                         "single_seconds": single_seconds,
                         "upstream": "network service, SQLite"}
        for method, path in (("GET", f"/v1/stores/{store['id']}"), ("POST", "/v1/stores")):
            def measure(name: str, conns: int, secs: int) -> dict:
                base, prefix = targets[name]
                headers = bearer if name == "gateway" else sign(Principal("bench", "hq_admin"), uuid.uuid4().hex, SECRET)
                return _wrk(wrk, base, prefix + path, method, headers, secs, conns, tmp)

            for name in targets:  # warm every path once (key cache, connection pools)
                measure(name, connections, 2)
            # Rounds interleave the three paths, each round in another order, and the median
            # round counts: load from elsewhere on a shared machine hits all three alike.
            loaded: dict[str, list[dict]] = {name: [] for name in targets}
            names = list(targets)
            for r in range(rounds):
                for name in names[r % 3:] + names[:r % 3]:
                    loaded[name].append(measure(name, connections, seconds))
            single = _one_at_a_time({name: (int(targets[name][0].rsplit(":", 1)[1]), targets[name][1],
                                            (lambda: bearer) if name == "gateway" else
                                            (lambda: sign(Principal("bench", "hq_admin"), uuid.uuid4().hex, SECRET)))
                                     for name in targets}, method, path, single_seconds)
            rows = {name: {**_median(loaded[name]), "single_requests": single[name]["requests"],
                           "single_p50_ms": single[name]["p50_ms"], "single_p99_ms": single[name]["p99_ms"],
                           "single_non_2xx": single[name]["non_2xx"]} for name in targets}
            direct = rows["direct"]
            for name in ("gateway", "nginx"):
                rows[name]["throughput_vs_direct"] = round(rows[name]["requests_per_s"] / direct["requests_per_s"], 3)
                rows[name]["added_p50_ms"] = round(rows[name]["p50_ms"] - direct["p50_ms"], 3)
                rows[name]["added_single_p50_ms"] = round(rows[name]["single_p50_ms"] - direct["single_p50_ms"], 3)
            results[method] = rows
        results["target"] = ("gateway keeps >= 60 % of direct throughput (at the fixed concurrency) and adds "
                             "<= 1.5 ms at p50 (one request at a time, so the figure is the gateway's own time, "
                             "not the queue in front of a saturated service)")
        return results
    finally:
        for proc in reversed(procs):
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    print(json.dumps(run(seconds=5), indent=2))
