"""The deliverer: network's worker sends the deliveries the webhook outbox holds.

Each delivery is claimed in a transaction of its own (`SELECT ... FOR UPDATE SKIP LOCKED`,
so several deliverers never take one delivery), which counts the attempt and moves its
next attempt a lease ahead (the call's timeout and a margin) before it commits. The call
comes after that commit, and its answer is recorded in a second transaction. A deliverer
that dies mid-call leaves the delivery queued with that lease: another takes it when the
lease ends, so a delivery is sent at least once and, rarely, twice; the receiver drops a
repeat by its `X-Event-Id`.

An aggregate's events go in order: a delivery is not claimed while an earlier one of the
same subject waits for the same endpoint (policy and query in repository.next_due). After
a failed call the endpoint itself backs off (nothing goes to it before `retry_at`), so a
receiver that is down gets one call per backoff step however many deliveries wait for it;
after `webhooks_pause_after_failures` failed calls in a row it is paused."""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

import httpx

from services.common.app import ServiceRuntime
from services.common.clock import Clock
from services.common.db import Database
from services.common.logging import get_logger
from services.network.settings import NetworkSettings
from services.network.webhooks import policy, repository
from services.network.webhooks.policy import DeliveryStatus, EndpointStatus, RetryRules

log = get_logger(__name__)
LEASE_MARGIN = timedelta(seconds=30)
ERROR_CHARS = 500  # of a receiver's answer kept in the delivery log
USER_AGENT = "aftersales-webhooks/1"


def rules_from(settings: NetworkSettings) -> RetryRules:
    return RetryRules(base_seconds=settings.webhooks_retry_base_seconds,
                      max_seconds=settings.webhooks_retry_max_seconds,
                      max_attempts=settings.webhooks_max_attempts,
                      retry_for=timedelta(hours=settings.webhooks_retry_hours),
                      pause_after_failures=settings.webhooks_pause_after_failures)


@dataclass(frozen=True)
class Attempt:
    delivery_id: str
    endpoint_id: str
    number: int
    url: str
    secret: str
    body: str
    event_id: str
    event_type: str


@dataclass(frozen=True)
class Answer:
    ok: bool
    status_code: int | None = None
    error: str | None = None


class Deliverer:
    def __init__(self, db: Database, settings: NetworkSettings, clock: Clock,
                 client: httpx.AsyncClient | None = None) -> None:
        self.db, self.settings, self.clock = db, settings, clock
        self.rules = rules_from(settings)
        self.client = client or httpx.AsyncClient(timeout=settings.webhooks_timeout_seconds, follow_redirects=False,
                                                  headers={"User-Agent": USER_AGENT})
        self.delivered = 0

    async def close(self) -> None:
        await self.client.aclose()

    async def run_once(self) -> int:
        """Send every delivery due now; returns how many calls were made."""
        lanes = await asyncio.gather(*(self._lane() for _ in range(self.settings.webhooks_concurrency)),
                                     return_exceptions=True)
        for failed in (lane for lane in lanes if isinstance(lane, BaseException)):
            if not isinstance(failed, Exception):
                raise failed  # cancelled: the worker is stopping
            log.warning("webhook lane stopped; its delivery is taken again when its lease ends", error=repr(failed))
        return sum(lane for lane in lanes if isinstance(lane, int))

    async def _lane(self) -> int:
        calls = 0
        while (attempt := await self.claim()) is not None:
            answer = await self.call(attempt)
            await self.record(attempt, answer)
            calls += 1
        return calls

    async def claim(self) -> Attempt | None:
        now = self.clock.now()
        async with self.db.transaction() as session:
            found = await repository.next_due(session, now)
            if found is None:
                return None
            delivery, endpoint = found
            delivery.attempts += 1
            delivery.last_attempt_at = now
            delivery.next_attempt_at = now + timedelta(seconds=self.settings.webhooks_timeout_seconds) + LEASE_MARGIN
            session.add(delivery)
            return Attempt(delivery.id, endpoint.id, delivery.attempts, endpoint.url, endpoint.secret, delivery.body,
                           delivery.event_id, delivery.event_type)

    async def call(self, attempt: Attempt) -> Answer:
        body = attempt.body.encode()
        headers = {
            "Content-Type": policy.CONTENT_TYPE,
            policy.SIGNATURE_HEADER: policy.sign(attempt.secret, int(self.clock.now().timestamp()), body),
            policy.EVENT_ID_HEADER: attempt.event_id,
            policy.EVENT_TYPE_HEADER: attempt.event_type,
            policy.DELIVERY_ID_HEADER: attempt.delivery_id,
            policy.ATTEMPT_HEADER: str(attempt.number),
        }
        try:
            response = await self.client.post(attempt.url, content=body, headers=headers)
        except httpx.TimeoutException:
            return Answer(False, error="no answer in time")
        except httpx.HTTPError as exc:
            return Answer(False, error=f"{type(exc).__name__}: {exc}"[:ERROR_CHARS])
        if 200 <= response.status_code < 300:
            return Answer(True, response.status_code)
        if 300 <= response.status_code < 400:
            return Answer(False, response.status_code, "redirects are not followed: register the final URL")
        return Answer(False, response.status_code, response.text[:ERROR_CHARS] or response.reason_phrase)

    async def record(self, attempt: Attempt, answer: Answer) -> None:
        now = self.clock.now()
        async with self.db.transaction() as session:
            delivery = await repository.delivery(session, attempt.delivery_id, for_update=True)
            endpoint = await repository.endpoint(session, attempt.endpoint_id, for_update=True)
            if (delivery is None or endpoint is None or delivery.status != DeliveryStatus.QUEUED.value
                    or delivery.attempts != attempt.number):
                return  # its lease ended and another deliverer took it over: theirs is the answer kept
            delivery.last_status_code, delivery.last_error = answer.status_code, answer.error
            if answer.ok:
                delivery.status, delivery.delivered_at = DeliveryStatus.DELIVERED.value, now
                endpoint.consecutive_failures, endpoint.retry_at, endpoint.last_success_at = 0, None, now
                self.delivered += 1
            else:
                endpoint.consecutive_failures += 1
                endpoint.last_failure_at = now
                endpoint.retry_at = now + policy.backoff(endpoint.consecutive_failures, self.rules)
                if policy.pauses(endpoint.consecutive_failures, self.rules) and \
                        endpoint.status == EndpointStatus.ACTIVE.value:
                    failures = endpoint.consecutive_failures
                    endpoint.status = EndpointStatus.PAUSED.value
                    endpoint.status_reason = (f"连续 {failures} 次推送失败，已暂停；修复后请恢复 "
                                              f"paused after {failures} failed calls in a row; resume it once fixed")
                    endpoint.updated_at, endpoint.version = now, endpoint.version + 1
                    log.warning("webhook endpoint paused", webhook_id=endpoint.id, store_id=endpoint.store_id,
                                failures=failures)
                retry = policy.next_try(delivery.attempts, delivery.queued_at, now, self.rules)
                if retry is None:
                    delivery.status, delivery.failed_at = DeliveryStatus.FAILED.value, now
                else:
                    delivery.next_attempt_at = retry
            session.add(delivery)
            session.add(endpoint)


def job(settings: NetworkSettings) -> Callable[[ServiceRuntime], Awaitable[None]]:
    """The worker's deliverer: runs until the worker stops, looking for due deliveries every
    `webhooks_poll_seconds` when it finds none."""

    async def run(runtime: ServiceRuntime) -> None:
        deliverer = Deliverer(runtime.db, settings, runtime.clock)
        try:
            while not runtime.stop.is_set():
                try:
                    calls = await deliverer.run_once()
                except Exception as exc:
                    log.warning("webhook deliverer retrying", error=repr(exc))
                    calls = 0
                if calls == 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(runtime.stop.wait(), settings.webhooks_poll_seconds)
        finally:
            await deliverer.close()

    return run
