"""Request heads at the gateway and at each service, over raw sockets (services.common.server):
too many headers or too many bytes of them is 431 problem+json and the connection closed,
a header line that never ends too; a client that trickles its head a line a second
(slowloris), on a new connection or a kept-alive one, or that sends nothing, is cut off once
the head timeout has passed; requests within the limits pass, the gateway's forwarded with
its own headers added; kept-alive connections idle as long as before."""
from __future__ import annotations

import asyncio
import http.client
import socket
import time
from dataclasses import dataclass

import pytest

from gateway.settings import GatewaySettings
from services.common.errors import PROBLEM_JSON
from services.common.settings import PlatformSettings
from services.crm.settings import CrmSettings
from services.network.settings import NetworkSettings
from services.reception.settings import ReceptionSettings
from services.workshop.settings import WorkshopSettings

SETTINGS: dict[str, type[PlatformSettings]] = {
    "gateway": GatewaySettings, "network": NetworkSettings, "reception": ReceptionSettings,
    "workshop": WorkshopSettings, "crm": CrmSettings,
}
TARGETS = sorted(SETTINGS)
# uvicorn's keep-alive time, which the services keep (the gateway sets 30 s).
SERVICE_KEEP_ALIVE = 5.0
# How late a close may come on a loaded two-core machine running several test sessions.
SLACK = 5.0


def default(target: str, field: str):
    return SETTINGS[target].model_fields[field].default


@pytest.fixture(params=TARGETS)
def target(request, platform):
    name = request.param
    if name != "gateway" and name not in platform.services:
        pytest.fail(f"{name} is not running in this checkout")
    return name


@pytest.fixture(params=[name for name in TARGETS if name != "gateway"])
def service(request, platform):
    if request.param not in platform.services:
        pytest.fail(f"{request.param} is not running in this checkout")
    return request.param


def port_of(platform, target: str) -> int:
    return platform.gateway.port if target == "gateway" else platform.services[target].port


@dataclass
class Answer:
    status: int
    content_type: str
    body: bytes
    closed: bool  # the server closed the connection after answering


def exchange(port: int, head: bytes) -> Answer:
    """Send a request head (no body) and read the one answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
        sock.sendall(head)
        response = http.client.HTTPResponse(sock)
        response.begin()
        body = response.read()
        try:
            closed = sock.recv(1) == b""
        except ConnectionResetError:
            closed = True
        except TimeoutError:
            closed = False
        return Answer(response.status, response.getheader("content-type") or "", body, closed)


def request_head(path: str, fields: list[tuple[str, str]]) -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in fields]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def assert_refused(answer: Answer) -> None:
    assert answer.status == 431, answer
    assert answer.content_type == PROBLEM_JSON
    assert b'"status": 431' in answer.body
    assert answer.closed


def test_one_header_more_than_allowed_is_431_and_the_connection_closed(platform, target):
    allowed = default(target, "http_max_headers")
    # Host and Connection count too.
    fields = [(f"X-Filler-{i}", "1") for i in range(allowed - 1)]
    assert_refused(exchange(port_of(platform, target), request_head("/healthz", fields)))


def test_one_header_larger_than_the_whole_head_may_be_is_431(platform, target):
    size = default(target, "http_max_header_bytes")
    assert_refused(exchange(port_of(platform, target), request_head("/healthz", [("X-Huge", "a" * size)])))


def test_a_header_line_that_never_ends_is_431_once_it_passes_the_limit(platform, target):
    # httptools would keep such a line in memory whatever its length.
    size = default(target, "http_max_header_bytes")
    head = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Endless: " + b"a" * (4 * size)
    assert_refused(exchange(port_of(platform, target), head))


def filled_head(target: str, path: str, credentials: list[tuple[str, str]]) -> bytes:
    """A head a little inside both of the target's limits."""
    count = default(target, "http_max_headers") - 2 - len(credentials) - 1
    budget = default(target, "http_max_header_bytes") - 1024
    value = "v" * (budget // count - len("X-Filler-000: \r\n"))
    return request_head(path, credentials + [(f"X-Filler-{i:03d}", value) for i in range(count)])


def test_a_service_takes_a_head_just_within_its_limits(platform, service):
    answer = exchange(port_of(platform, service), filled_head(service, "/healthz", []))
    assert answer.status == 200, answer


def test_the_gateway_forwards_a_head_just_within_its_limits_with_its_own_headers_added(platform):
    # Nearly all the caller's headers go on to network, with identity and forwarding headers
    # added: the services' limits leave room for that.
    head = filled_head("gateway", "/api/network/v1/stores", [("Authorization", f"Bearer {platform.bootstrap_key}")])
    answer = exchange(platform.gateway.port, head)
    assert answer.status == 200, answer


@dataclass
class Timings:
    slowloris: dict[str, tuple[float, bytes]]   # seconds until closed, anything answered
    slowloris_kept_alive: dict[str, tuple[float, bytes]]
    silent: dict[str, tuple[float, bytes]]
    service_keep_alive: dict[str, tuple[float, bytes]]
    gateway_second_request: bytes             # the status line of a request after a long idle


async def _closed_after(reader: asyncio.StreamReader, started: float, limit: float) -> tuple[float, bytes]:
    """Read until the server closes; (seconds since `started`, what it sent meanwhile)."""
    answered = b""
    while time.monotonic() - started < limit:
        try:
            chunk = await asyncio.wait_for(reader.read(4096), limit - (time.monotonic() - started))
        except TimeoutError:
            break
        except ConnectionResetError:
            return time.monotonic() - started, answered
        if not chunk:
            return time.monotonic() - started, answered
        answered += chunk
    return float("inf"), answered


async def _slowloris(port: int, limit: float, *, after_a_request: bool = False) -> tuple[float, bytes]:
    """Seconds from the head's first byte until the server closes, and anything it answered."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    if after_a_request:
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        await _answer(reader)
    started = time.monotonic()
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    line = 0
    try:
        while time.monotonic() - started < limit:
            try:
                # The second between header lines is spent watching for the server's close.
                chunk = await asyncio.wait_for(reader.read(4096), 1.0)
            except TimeoutError:
                line += 1
                writer.write(b"X-Slow-%d: still coming\r\n" % line)
                continue
            except ConnectionResetError:
                chunk = b""
            return (time.monotonic() - started, b"") if not chunk else (float("inf"), chunk)
        return float("inf"), b""
    finally:
        writer.close()


async def _silent(port: int, limit: float) -> tuple[float, bytes]:
    started = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        return await _closed_after(reader, started, limit)
    finally:
        writer.close()


async def _answer(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(
        b"content-length:"))
    await reader.readexactly(length)
    return head.split(b"\r\n", 1)[0]


async def _idle_after_answer(port: int, limit: float) -> tuple[float, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        await _answer(reader)
        return await _closed_after(reader, time.monotonic(), limit)
    finally:
        writer.close()


async def _request_after_idle(port: int, idle: float) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        await _answer(reader)
        await asyncio.sleep(idle)  # the idle time is the point
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        return await _answer(reader)
    finally:
        writer.close()


@pytest.fixture(scope="module")
def timings(platform) -> Timings:
    """Every slow client at once, so the module waits out the head timeout once."""
    ports = {name: (platform.gateway.port if name == "gateway" else platform.services[name].port)
             for name in TARGETS if name == "gateway" or name in platform.services}
    timeout = max(default(name, "http_header_timeout_seconds") for name in ports)
    limit = timeout + 2 * SLACK

    async def run() -> Timings:
        names = list(ports)
        services = [n for n in names if n != "gateway"]
        slow = asyncio.gather(*(_slowloris(ports[n], limit) for n in names))
        slow_kept = asyncio.gather(*(_slowloris(ports[n], limit, after_a_request=True) for n in names))
        silent = asyncio.gather(*(_silent(ports[n], limit) for n in names))
        idle = asyncio.gather(*(_idle_after_answer(ports[n], limit) for n in services))
        second = _request_after_idle(ports["gateway"], timeout + 2)
        slow_r, kept_r, silent_r, idle_r, second_r = await asyncio.gather(slow, slow_kept, silent, idle, second)
        return Timings(dict(zip(names, slow_r, strict=True)), dict(zip(names, kept_r, strict=True)),
                       dict(zip(names, silent_r, strict=True)), dict(zip(services, idle_r, strict=True)), second_r)

    return asyncio.run(run())


def test_a_slowloris_client_is_cut_off_once_the_head_timeout_has_passed(platform, target, timings):
    timeout = default(target, "http_header_timeout_seconds")
    seconds, answered = timings.slowloris[target]
    assert answered == b""
    assert timeout - 0.5 <= seconds <= timeout + SLACK, seconds


def test_a_slowloris_client_on_a_kept_alive_connection_is_cut_off_the_head_timeout_after_its_first_byte(
        platform, target, timings):
    timeout = default(target, "http_header_timeout_seconds")
    seconds, answered = timings.slowloris_kept_alive[target]
    assert answered == b""
    assert timeout - 0.5 <= seconds <= timeout + SLACK, seconds


def test_a_connection_that_sends_nothing_is_closed_once_the_head_timeout_has_passed(platform, target, timings):
    timeout = default(target, "http_header_timeout_seconds")
    seconds, answered = timings.silent[target]
    assert answered == b""
    assert timeout - 0.5 <= seconds <= timeout + SLACK, seconds


def test_a_service_closes_an_idle_kept_alive_connection_after_its_keep_alive_time(platform, service, timings):
    seconds, answered = timings.service_keep_alive[service]
    assert answered == b""
    assert SERVICE_KEEP_ALIVE - 0.5 <= seconds <= SERVICE_KEEP_ALIVE + SLACK, seconds


def test_the_gateway_keeps_an_idle_connection_past_the_head_timeout(timings):
    # Its keep-alive time (30 s) is longer: the head timeout starts with a request's first byte.
    assert timings.gateway_second_request == b"HTTP/1.1 200 OK"
