"""Schemathesis against the merged OpenAPI at the real gateway, as an HQ admin: at least
FUZZ_REQUESTS generated requests (3,000 by default, `make fuzz` sends 30,000), inputs
both valid and invalid by the contract, counted as they are sent. No answer is a server
error, every answer matches the schema and content type documented for its status, and
each comes within MAX_RESPONSE_MS. A server-sent event route never finishes its answer,
so it is left out of the time check: it gets the same generated inputs, and a 200 is read
up to its first event and closed. Rebuilding the KPIs answers once it has re-read every
topic from the beginning, so its time grows with the broker's history: it is sent on its
own, after the others, with every check but the time.

FUZZ_SEED chooses the examples (the same seed sends the same requests); FUZZ_WORKERS
operations run at once; FUZZ_STATEFUL=links also follows the contract's OpenAPI links
from each answer (`make fuzz` sets it)."""
from __future__ import annotations

import ast
import copy
import functools
import math
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from schemathesis import DataGenerationMethod
from schemathesis.checks import content_type_conformance, not_a_server_error, response_schema_conformance
from schemathesis.internal.result import Ok
from schemathesis.models import APIOperation, Case, Status
from schemathesis.runner import events, from_schema
from schemathesis.runner.serialization import SerializedCheck, SerializedTestResult
from schemathesis.specs.openapi.security import OpenAPISecurityProcessor
from schemathesis.stateful import Stateful

from tests.support.processes import Platform

# FastAPI writes OpenAPI 3.1; Schemathesis 3 reads it behind this switch.
schemathesis.experimental.OPEN_API_3_1.enable()

FUZZ_REQUESTS = int(os.environ.get("FUZZ_REQUESTS", "3000"))
FUZZ_SEED = int(os.environ.get("FUZZ_SEED", "15"))
FUZZ_WORKERS = int(os.environ.get("FUZZ_WORKERS", "3"))
FUZZ_STATEFUL = os.environ.get("FUZZ_STATEFUL", "") == "links"
# Above the slowest answer seen on this busy 2-core machine (4.4 s at the gateway in
# `make fuzz`'s 31,000), below the gateway's own 30 s read timeout: a hang, not load.
MAX_RESPONSE_MS = 10_000
EVENT_STREAM = "text/event-stream"
CHECKS = (not_a_server_error, response_schema_conformance, content_type_conformance)
# An operation whose inputs run out before its share (one without parameters is called
# once) leaves the others to make up the total.
SHARE_MARGIN = 1.05


class SentRequests:
    """Every request Schemathesis sends, counted as its answer comes back."""

    def __init__(self) -> None:
        self.by_operation: Counter[str] = Counter()
        self.by_status: Counter[int] = Counter()
        self._lock = threading.Lock()

    @property
    def total(self) -> int:
        return sum(self.by_operation.values())

    def add(self, case: Case, response: requests.Response) -> None:
        with self._lock:
            self.by_operation[case.operation.verbose_name] += 1
            self.by_status[response.status_code] += 1

    def summary(self) -> str:
        classes = Counter(f"{status // 100}xx" for status in self.by_status.elements())
        return (f"{self.total} requests over {len(self.by_operation)} operations "
                f"({', '.join(f'{k} {v}' for k, v in sorted(classes.items()))})")


def read_json_as_utf8(response: requests.Response) -> None:
    """JSON between systems is UTF-8 (RFC 8259, 8.1) and `application/problem+json` names
    no charset. Requests knows that of `application/json` only and guesses for the others;
    a guess of Shift-JIS (CP932) takes the backslash after a non-ASCII byte, as in a path
    echoed in `instance`, for part of a character, and the JSON no longer parses."""
    media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if response.encoding is None and (media_type == "application/json" or media_type.endswith("+json")):
        response.encoding = "utf-8"


@contextmanager
def call_hooks(sent: SentRequests) -> Iterator[None]:
    """Schemathesis 3 runs `after_call` hooks from its global registry only, for the
    runner's workers and for `Case.call` alike, before any check reads the answer."""

    def after_call(context: Any, case: Case, response: requests.Response) -> None:
        read_json_as_utf8(response)
        sent.add(case, response)

    schemathesis.hooks.register(after_call)
    try:
        yield
    finally:
        schemathesis.hooks.unregister(after_call)


def with_inclusive_twins(node: Any) -> Any:
    """The document with `minimum` beside each lone numeric `exclusiveMinimum` (and
    `maximum` beside `exclusiveMaximum`), of the same value. Schemathesis 3 negates the
    exclusive bound together with the inclusive one, as OpenAPI 3.0 pairs them, and fails
    on 3.1's lone bound; `x > a and x >= a` is `x > a`, so the contract says the same."""
    if isinstance(node, list):
        return [with_inclusive_twins(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: with_inclusive_twins(value) for key, value in node.items()}
    for exclusive, inclusive in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        bound = out.get(exclusive)
        if isinstance(bound, int | float) and not isinstance(bound, bool) and inclusive not in out:
            out[inclusive] = bound
    return out


def is_event_stream(operation: APIOperation) -> bool:
    responses = operation.definition.raw.get("responses", {})
    return any(EVENT_STREAM in (answer.get("content") or {}) for answer in responses.values())


def examples_per_operation(operations: int) -> int:
    return math.ceil(FUZZ_REQUESTS * SHARE_MARGIN / operations)


def fuzz_settings(max_examples: int) -> settings:
    # No shrinking: a failure is reported as sent (with its request), and a run stays
    # bounded; the seed replays it.
    return settings(max_examples=max_examples, deadline=None, database=None,
                    phases=(Phase.explicit, Phase.generate), suppress_health_check=list(HealthCheck))


def first_line(message: str | None) -> str:
    return next((line.strip() for line in (message or "").splitlines() if line.strip()), "")


def describe(check: SerializedCheck) -> str:
    request, response = check.request, check.response
    status = response.status_code if response is not None else "no answer"
    line = f"{check.name}: {request.method} {request.uri} -> {status}: {first_line(check.message)}"
    body = check.example.deserialize_body()
    return line + (f"\n      body {body[:300]!r}" if body else "")


def failures_of(result: SerializedTestResult, status: Status) -> list[str]:
    found = [describe(check) for check in result.checks if check.value == Status.failure]
    found += [f"{result.verbose_name}: {error.title}: {error.exception.strip()[:500]}" for error in result.errors]
    if result.is_flaky:
        found.append(f"{result.verbose_name}: flaky (failed once, and not when Hypothesis ran it again)")
    if not found and status in (Status.failure, Status.error):
        found.append(f"{result.verbose_name}: {status.value}")
    return found


def one_parse_at_a_time(parse: Callable[..., Any]) -> Callable[..., Any]:
    """CPython 3.11 keeps the AST constructor's recursion depth per interpreter, not per
    thread: two threads in `ast.parse` at once can raise SystemError ("AST constructor
    recursion depth mismatch"). Hypothesis parses lambdas' source to describe strategies,
    in every worker, and took that error for a flaky operation (seen here one run in three)."""
    lock = threading.Lock()

    @functools.wraps(parse)
    def parse_alone(*args: Any, **kwargs: Any) -> Any:
        with lock:
            return parse(*args, **kwargs)

    return parse_alone


def security_definitions_once(get: Callable[..., Any]) -> Callable[..., Any]:
    """Schemathesis 3 reads the security schemes by popping the shared reference resolver's
    scope stack when it holds more than one scope and pushing it back after: two workers
    doing that at once pop twice, and the stack runs empty (IndexError in
    `resolution_scope`, seen once in CI-like runs). The schemes are the document's, the same
    for every operation: read them once, under a lock, and hand out that answer."""
    lock, read = threading.Lock(), {}

    @functools.wraps(get)
    def get_once(self: Any, schema: dict[str, Any], resolver: Any) -> Any:
        with lock:
            if id(schema) not in read:
                read[id(schema)] = get(self, schema, resolver)
            return copy.deepcopy(read[id(schema)])

    return get_once


def first_event(lines: Iterable[bytes]) -> str | None:
    """The type of the first event in a stream's lines, heartbeats (comments) passed over."""
    name: str | None = None
    for line in lines:
        if line.startswith(b"event:"):
            name = line.removeprefix(b"event:").strip().decode()
        elif not line and name is not None:
            return name
    return name


def read_first_events(operation: APIOperation, examples: int, headers: dict[str, str]) -> list[str]:
    """The stream route with generated inputs: a 200 must be an event stream whose first
    event is `ready`, then it is closed; any other answer is checked as the runner checks."""
    failures: list[str] = []
    strategy = st.one_of(*(operation.as_strategy(data_generation_method=method)
                           for method in DataGenerationMethod.all()))

    @given(case=strategy)
    @fuzz_settings(examples)
    @seed(FUZZ_SEED)
    def call(case: Case) -> None:
        with requests.Session() as session:
            response = case.call(session=session, headers=headers, stream=True, timeout=30)
            assert isinstance(response, requests.Response)
            with response:
                if response.status_code != 200:
                    try:
                        case.validate_response(response, checks=CHECKS)
                    except AssertionError as exc:
                        failures.append(f"{response.request.method} {response.request.url} -> "
                                        f"{response.status_code}: {first_line(str(exc))}")
                    return
                content_type = response.headers.get("content-type", "")
                first = first_event(response.iter_lines())
                if not content_type.startswith(EVENT_STREAM) or first != "ready":
                    failures.append(f"{response.request.method} {response.request.url} -> 200 "
                                    f"{content_type!r}, first event {first!r}")

    call()
    return failures


@pytest.mark.timeout(120 + FUZZ_REQUESTS // 10)
def test_merged_contract_holds_under_generated_requests(platform: Platform, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ast, "parse", one_parse_at_a_time(ast.parse))
    monkeypatch.setattr(OpenAPISecurityProcessor, "get_security_definitions",
                        security_definitions_once(OpenAPISecurityProcessor.get_security_definitions))
    assert platform.gateway is not None
    gateway = platform.gateway.url
    document = httpx.get(gateway + "/openapi.json", timeout=30).raise_for_status().json()
    schema = schemathesis.from_dict(with_inclusive_twins(document), base_url=gateway,
                                    data_generation_methods=DataGenerationMethod.all())
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), f"an operation Schemathesis cannot read: {result.err()}"
        operations.append(result.ok())
    streams = [operation for operation in operations if is_event_stream(operation)]
    examples = examples_per_operation(len(operations))
    headers = {"Authorization": f"Bearer {platform.bootstrap_key}"}
    # A KPI rebuild is one more operation: it answers 202 with a job at once (or 409 while one runs).
    timed = schema.exclude(func=lambda ctx: is_event_stream(ctx.operation))
    runner = from_schema(
        timed, checks=CHECKS,
        max_response_time=MAX_RESPONSE_MS, workers_num=FUZZ_WORKERS, hypothesis_settings=fuzz_settings(examples),
        seed=FUZZ_SEED, headers=headers, request_timeout=60_000, no_failfast=True,
        stateful=Stateful.links if FUZZ_STATEFUL else None)

    failures: list[str] = []
    started = time.monotonic()
    sent = SentRequests()
    with call_hooks(sent):
        for event in runner.execute():
            if isinstance(event, events.AfterExecution | events.AfterStatefulExecution):
                failures += failures_of(event.result, event.status)
            elif isinstance(event, events.InternalError):
                failures.append(f"Schemathesis stopped: {event.title}: {event.message}")
        for operation in streams:
            failures += read_first_events(operation, examples, headers)
    elapsed = time.monotonic() - started
    print(f"\n{sent.summary()} in {elapsed:.0f} s, seed {FUZZ_SEED}")

    assert not failures, (f"{len(failures)} failures ({sent.summary()}, seed {FUZZ_SEED}):\n  "
                          + "\n  ".join(sorted(set(failures))[:40]))
    server_errors = {status: n for status, n in sent.by_status.items() if status >= 500}
    assert not server_errors, f"answers 5xx by status: {server_errors}"
    never_called = {operation.verbose_name for operation in operations} - set(sent.by_operation)
    assert not never_called, f"operations never called: {sorted(never_called)}"
    assert sent.total >= FUZZ_REQUESTS, f"only {sent.summary()}, wanted {FUZZ_REQUESTS}"
