"""Gateway throughput and latency: the same GET and POST straight to the service, through
the gateway forwarding with aiohttp, through the gateway forwarding with httpx, and
through nginx as a plain reverse proxy when the machine has it, all in one run.

wrk (Debian's package) drives the load from its own process. The upstream is the network
service (API role only, on a PostgreSQL database of its own: no broker needed), so the
figures compare the proxies, not the service. Direct and nginx requests carry identity
headers signed for each request (method, path, body, a nonce the service accepts once), made
before each wrk run and handed to it ready-made, since wrk's Lua cannot sign; gateway
requests carry an API key, so the gateway does what it does in production: authenticate
(cached), authorise, rate-limit, sign, forward."""
from __future__ import annotations

import http.client
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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from gateway.settings import GatewaySettings
from services.common.identity import Principal, sign

REPO = Path(__file__).resolve().parents[1]
SECRET = "bench-identity-secret-" + uuid.uuid4().hex
CLIENTS = ("aiohttp", "httpx")
# The throughput share and the one-at-a-time cost the gateway must stay within.
TARGET_SHARE = 0.8
TARGET_ADDED_MS = 1.5


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


def _wrk_binary() -> str:
    path = shutil.which("wrk")
    if path:
        return path
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True,
                   env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    return shutil.which("wrk") or "/usr/bin/wrk"


def _nginx_binary() -> str | None:
    """nginx is measured when the machine has it; the benchmark does not install it."""
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)


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
local store = '{{"code":"B%s-%d","name":"Bench store","kind":"dealer_store","region":"East","city":"Shanghai"}}'
wrk.method = "{method}"
request = function()
  local body = nil
  if wrk.method == "POST" then
    counter = counter + 1
    body = string.format(store, "{tag}", counter)
  end
  return wrk.format(wrk.method, "{path}", headers, body)
end
"""

# Requests signed in advance, one each: a length line, then the request as it goes on the wire.
WRK_SIGNED_SCRIPT = """
local pool = {{}}
init = function(args)
  local file = assert(io.open("{pool}", "rb"))
  local data = file:read("*a")
  file:close()
  local pos = 1
  while pos <= #data do
    local nl = data:find("\\n", pos, true)
    local len = tonumber(data:sub(pos, nl - 1))
    pool[#pool + 1] = data:sub(nl + 1, nl + len)
    pos = nl + len + 1
  end
end
local i = 0
request = function()
  i = i + 1
  return pool[(i - 1) % #pool + 1]
end
"""
# Signed requests made for each second of a wrk run: above any rate a direct call reaches here.
SIGNED_PER_SECOND = 4000


def _store_body(tag: str, counter: int) -> bytes:
    return json.dumps({"code": f"B{tag}-{counter}", "name": "Bench store", "kind": "dealer_store", "region": "East",
                       "city": "Shanghai"}).encode()


def _signed_pool(file: Path, target: _Path, path: str, method: str, count: int) -> None:
    """`count` requests, each signed for itself, as raw HTTP for wrk to send one by one."""
    tag = uuid.uuid4().hex[:6].upper()
    with open(file, "wb") as out:
        for counter in range(1, count + 1):
            body = _store_body(tag, counter) if method == "POST" else b""
            headers = {**target.headers(method, path, body), "Content-Type": "application/json",
                       "Host": f"127.0.0.1:{target.port}"}
            if body:
                headers["Content-Length"] = str(len(body))
            head = f"{method} {target.prefix}{path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
            raw = head.encode() + b"\r\n" + body
            out.write(b"%d\n" % len(raw) + raw)


def _median(samples: list[dict]) -> dict:
    """The round with the median throughput, whole (its latencies belong to it)."""
    ordered = sorted(samples, key=lambda row: row["requests_per_s"])
    return dict(ordered[len(ordered) // 2])


def _lua_table(headers: dict[str, str]) -> str:
    return "{" + ", ".join(f'["{k}"] = "{v}"' for k, v in headers.items()) + "}"


def _cpu_seconds(pid: int | None) -> float:
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wrk(wrk: str, target: _Path, path: str, method: str, seconds: int, connections: int, tmp: Path,
         pid: int | None) -> dict:
    url = target.url
    script = tmp / f"wrk-{uuid.uuid4().hex[:6]}.lua"
    tag = uuid.uuid4().hex[:6].upper()
    if target.signs:
        pool = script.with_suffix(".requests")
        _signed_pool(pool, target, path, method, SIGNED_PER_SECOND * seconds)
        script.write_text(WRK_SIGNED_SCRIPT.format(pool=pool))
    else:
        headers = target.headers(method, path, b"")
        script.write_text(WRK_SCRIPT.format(headers=_lua_table({**headers, "Content-Type": "application/json"}),
                                            method=method, path=target.prefix + path, tag=tag))
    cpu = _cpu_seconds(pid)
    out = subprocess.run([wrk, "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), url],
                         capture_output=True, text=True, check=True).stdout
    cpu = _cpu_seconds(pid) - cpu

    def number(pattern: str) -> str:
        found = re.search(pattern, out, re.M)
        if found is None:
            raise RuntimeError(f"wrk said something unexpected:\n{out}")
        return found.group(1)

    rps = float(number(r"Requests/sec:\s+([\d.]+)"))
    requests = int(number(r"(\d+) requests in"))

    def latency(p: str) -> float:
        found = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if found is None:
            raise RuntimeError(f"wrk gave no {p}th percentile:\n{out}")
        value, unit = float(found.group(1)), found.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    row = {"requests_per_s": round(rps, 1), "p50_ms": round(latency("50"), 3), "p99_ms": round(latency("99"), 3),
           "non_2xx": int(errors.group(1)) if errors else 0}
    if pid is not None and requests:
        row["proxy_cpu_ms_per_request"] = round(cpu * 1000 / requests, 3)
    return row


class _Path:
    """One way to the service: its port, the prefix before the service's own path, the
    headers that authorise a request on it (given method, the service's own path and the
    body), whether those are signed per request, and the process whose CPU is its cost."""

    def __init__(self, port: int, prefix: str, headers: Callable[[str, str, bytes], dict[str, str]],
                 pid: int | None, *, signs: bool) -> None:
        self.port, self.prefix, self.headers, self.pid, self.signs = port, prefix, headers, pid, signs
        self.url = f"http://127.0.0.1:{port}"


def _one_at_a_time(paths: dict[str, _Path], method: str, path: str, seconds: float) -> dict[str, dict]:
    """One request at a time over one kept-alive connection per path, the paths taking turns
    request by request: whatever else the machine does in a moment, it does to all of them."""
    connections = {name: http.client.HTTPConnection("127.0.0.1", p.port, timeout=30) for name, p in paths.items()}
    samples: dict[str, list[float]] = {name: [] for name in paths}
    failures = dict.fromkeys(paths, 0)
    order = list(paths)
    tag, counter = uuid.uuid4().hex[:6].upper(), 0
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            order = order[1:] + order[:1]
            for name in order:
                target, conn = paths[name], connections[name]
                counter += 1
                body = _store_body(f"S{tag}", counter) if method == "POST" else b""
                headers = {**target.headers(method, path, body), "Content-Type": "application/json"}
                if conn.sock is None:
                    # Not timed: a new connection's first request would measure the connect too
                    # (nginx closes a kept-alive connection after 1,000 requests).
                    conn.connect()
                started = time.perf_counter()
                conn.request(method, target.prefix + path, body=body or None, headers=headers)
                answer = conn.getresponse()
                answer.read()
                samples[name].append((time.perf_counter() - started) * 1000)
                if not 200 <= answer.status < 400:
                    failures[name] += 1
    finally:
        for conn in connections.values():
            conn.close()

    def pct(values: list[float], q: float) -> float:
        ordered = sorted(values)
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)

    return {name: {"requests": len(values), "p50_ms": pct(values, 0.5), "p99_ms": pct(values, 0.99),
                   "non_2xx": failures[name]} for name, values in samples.items()}


@contextmanager
def _own_database() -> Iterator[Callable[[str], str]]:
    from bench import infra

    with infra.postgres() as create:
        yield create


def run(create_database: Callable[[str], str] | None = None, seconds: int = 15, connections: int = 16,
        rounds: int = 3, single_seconds: int = 30) -> dict:
    """`create_database(name)` gives the URL of a fresh PostgreSQL database; without one the
    benchmark starts a cluster of its own (bench.infra)."""
    if create_database is None:
        with _own_database() as create:
            return run(create, seconds, connections, rounds, single_seconds)
    wrk = _wrk_binary()
    nginx = _nginx_binary()
    tmp = Path(tempfile.mkdtemp(prefix="bench-gw-"))
    procs: list[subprocess.Popen] = []

    def start(args: list[str], env: dict[str, str], log: str) -> subprocess.Popen:
        with open(tmp / log, "w") as out:
            proc = subprocess.Popen(args, env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
        procs.append(proc)
        return proc

    try:
        service_port = _free_port()
        key = "ak_" + uuid.uuid4().hex
        env = {**os.environ, "PLATFORM_IDENTITY_SECRET": SECRET, "PLATFORM_BOOTSTRAP_KEY": key, "LOG_LEVEL": "WARNING",
               "NETWORK_PORT": str(service_port), "NETWORK_DATABASE_URL": create_database("bench_gateway_network"),
               "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"}
        service = start([sys.executable, "-m", "services.network", "api"], env, "network.log")
        _wait(f"http://127.0.0.1:{service_port}/healthz")

        def signed(method: str, path: str, body: bytes) -> dict[str, str]:
            return sign(Principal("bench", "hq_admin"), uuid.uuid4().hex, SECRET, method=method, target=path,
                        service="network", body=body)

        bearer = {"Authorization": f"Bearer {key}"}
        paths: dict[str, _Path] = {"direct": _Path(service_port, "", signed, service.pid, signs=True)}
        for client in CLIENTS:
            port = _free_port()
            gateway = start([sys.executable, "-m", "gateway"], {
                **env, "GATEWAY_PORT": str(port), "GATEWAY_NETWORK_URL": f"http://127.0.0.1:{service_port}",
                "GATEWAY_UPSTREAM_CLIENT": client, "GATEWAY_KEY_EVENTS": "false",
                "GATEWAY_RATE_LIMIT_KEY_PER_SECOND": "1000000", "GATEWAY_RATE_LIMIT_KEY_BURST": "1000000",
                "GATEWAY_RATE_LIMIT_CLIENT_PER_SECOND": "1000000", "GATEWAY_RATE_LIMIT_CLIENT_BURST": "1000000",
            }, f"gateway-{client}.log")
            _wait(f"http://127.0.0.1:{port}/healthz")
            paths[f"gateway ({client})"] = _Path(port, "/api/network", lambda *_: bearer, gateway.pid,
                                                      signs=False)
        if nginx is not None:
            port = _free_port()
            (tmp / "nginx.conf").write_text(NGINX_CONF.format(dir=tmp, upstream=service_port, port=port))
            start([nginx, "-p", str(tmp), "-c", str(tmp / "nginx.conf"), "-g", "daemon off;"], env, "nginx.out")
            _wait(f"http://127.0.0.1:{port}/api/network/healthz")
            paths["nginx"] = _Path(port, "/api/network", signed, None, signs=True)

        first_gateway = paths[f"gateway ({CLIENTS[0]})"].url
        store = httpx.post(f"{first_gateway}/api/network/v1/stores", headers=bearer, json={
            "code": "BENCH-GET", "name": "Bench", "kind": "dealer_store", "region": "East", "city": "Shanghai"}).json()
        results: dict = {"connections": connections, "seconds": seconds, "rounds": rounds,
                         "single_seconds": single_seconds, "upstream": "network service, PostgreSQL",
                         "production_client": GatewaySettings.model_fields["upstream_client"].default,
                         "nginx": nginx is not None}
        names = list(paths)
        for method, path in (("GET", f"/v1/stores/{store['id']}"), ("POST", "/v1/stores")):
            def measure(name: str, secs: int, method: str = method, path: str = path) -> dict:
                target = paths[name]
                return _wrk(wrk, target, path, method, secs, connections, tmp,
                            target.pid if name.startswith("gateway") else None)

            for name in names:  # warm every path once (key cache, connection pools)
                measure(name, 2)
            # Rounds interleave the paths, each round in another order, and the median round
            # counts: load from elsewhere on a shared machine hits all of them alike.
            loaded: dict[str, list[dict]] = {name: [] for name in names}
            for r in range(rounds):
                shift = r % len(names)
                for name in names[shift:] + names[:shift]:
                    loaded[name].append(measure(name, seconds))
            single = _one_at_a_time(paths, method, path, single_seconds)
            rows = {name: {**_median(loaded[name]), "single_requests": single[name]["requests"],
                           "single_p50_ms": single[name]["p50_ms"], "single_p99_ms": single[name]["p99_ms"],
                           "single_non_2xx": single[name]["non_2xx"]} for name in names}
            direct = rows["direct"]
            for name in names[1:]:
                row = rows[name]
                row["throughput_vs_direct"] = round(row["requests_per_s"] / direct["requests_per_s"], 3)
                row["added_p50_ms"] = round(row["p50_ms"] - direct["p50_ms"], 3)
                row["added_single_p50_ms"] = round(row["single_p50_ms"] - direct["single_p50_ms"], 3)
                if name.startswith("gateway"):
                    row["meets_target"] = (row["throughput_vs_direct"] >= TARGET_SHARE
                                           and row["added_single_p50_ms"] <= TARGET_ADDED_MS)
            results[method] = rows
        results["target"] = (f"the gateway keeps >= {TARGET_SHARE:.0%} of direct throughput at {connections} "
                             f"connections and adds <= {TARGET_ADDED_MS} ms at p50 one request at a time (the "
                             "gateway's own time, not the queue in front of a saturated service)")
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
