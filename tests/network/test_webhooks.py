"""Outlet webhooks over HTTP on PostgreSQL, delivered by the deliverer on an injected clock to
a real HTTP receiver on this machine: a delivery is signed as docs/network.md says (its own
sample verifies it), retried with backoff and then given up, an endpoint failing too often is
paused, another store's events never reach an outlet, a duplicate event is delivered once and
an aggregate's events arrive in order after the receiver was down."""
from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pytest
from aiohttp import web

from services.common.events.catalogue import network, reception, workshop
from services.common.ids import new_id
from services.network.events import webhook_event
from services.network.webhooks.deliverer import Deliverer
from tests.network import factories as f
from tests.network.conftest import create_store, network_service, network_settings
from tests.network.factories import T0
from tests.support.events import deliver, envelope_for
from tests.support.platform import Caller

URL = "/v1/webhooks"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "network.md"
FAST = dict(webhooks_allow_http_localhost=True, webhooks_retry_base_seconds=10, webhooks_retry_max_seconds=1000,
            webhooks_max_attempts=3, webhooks_pause_after_failures=100, webhooks_concurrency=2)


@dataclass
class Call:
    headers: dict[str, str]
    body: bytes
    status: int  # what the receiver answered

    @property
    def event(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    """An outlet's receiver: records every call and answers what `answer` says (200 by default)."""

    url: str = ""
    calls: list[Call] = field(default_factory=list)
    answer: Callable[[], int] = lambda: 200

    async def handle(self, request: web.Request) -> web.Response:
        status = self.answer()
        self.calls.append(Call({k.lower(): v for k, v in request.headers.items()}, await request.read(), status))
        return web.Response(status=status, text="ok")

    @property
    def event_ids(self) -> list[str]:
        return [c.headers["x-event-id"] for c in self.calls]


@asynccontextmanager
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver()
    app = web.Application()
    app.router.add_post("/hooks", r.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    r.url = f"http://{host}:{port}/hooks"
    try:
        yield r
    finally:
        await runner.cleanup()


@pytest.fixture
async def service(network_db, clock, request):
    overrides = {**FAST, **getattr(request, "param", {})}
    settings = network_settings(network_db, **overrides)
    async with network_service(settings, clock) as client:
        deliverer = Deliverer(client.app.state.db, settings, clock)
        try:
            yield client, deliverer
        finally:
            await deliverer.close()


@pytest.fixture
def hq(service) -> Caller:
    return Caller(service[0], "hq_admin", principal_id="hq-admin-1")


async def outlet(client, hq: Caller) -> tuple[dict, Caller]:
    store = await create_store(hq)
    return store, Caller(client, "outlet_api", store_id=store["id"], principal_id="key-" + store["id"][-6:])


async def register(caller: Caller, url: str, event_types: list[str], **kw) -> dict:
    response = await caller.post(URL, json={"url": url, "event_types": event_types, **kw})
    assert response.status_code == 201, response.text
    return response.json()


def documented_verify():
    """The verification sample of docs/network.md, run as a partner would copy it."""
    text = DOCS.read_text()
    block = re.search(r"<!-- webhook-verify[^>]*-->\s*```python\n(.*?)```", text, re.S)
    assert block is not None, "docs/network.md lost its verification sample"
    scope: dict = {}
    exec(compile(block.group(1), str(DOCS), "exec"), scope)  # noqa: S102 - our own documentation's code
    return scope["verify"]


def decided(store_id: str, claim_id: str | None = None):
    return f.claim_decided(store_id, claim_id or new_id(), "approved", T0 - timedelta(hours=5), T0)


def campaign_published():
    cid = new_id()
    event = network.CampaignPublished(campaign_id=cid, code="RC-" + cid[-6:], kind="recall", title_zh="召回",
                                      title_en="recall", op_code="BRK-0500", parts=[], flat_hours="0.5",
                                      starts_on=date(2026, 12, 1), ends_on=date(2027, 6, 30), vin_count=3,
                                      published_by="hq-1", published_at=T0)
    return envelope_for(event, subject=cid, store_id=None, time=T0)


def policy_published():
    """HQ's new labour operations, for every store (network-wide, as a campaign is)."""
    event = network.PolicyVersionPublished(
        name="labour_operations", title_zh="工时目录", title_en="labour operations and flat hours",
        version=2, effective_from=date(2027, 1, 1), change_count=1,
        changes=[network.PolicyChange(path="operations.BRK-0210.flat_rate_hours", change="changed", before=1.0,
                                      after=1.2)],
        published_by="hq-1", published_at=T0)
    return envelope_for(event, subject="labour_operations", store_id=None, time=T0)


async def log_of(caller: Caller, webhook: dict, **params) -> list[dict]:
    response = await caller.get(f"{URL}/{webhook['id']}/deliveries", params=params)
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def test_a_delivery_is_signed_as_documented_and_verifies_with_the_secret_shown_once(service, hq, clock):
    client, deliverer = service
    store, api = await outlet(client, hq)
    async with receiver() as r:
        webhook = await register(api, r.url, ["network.claim.decided"], description="DMS")
        secret = webhook["secret"]
        assert secret.startswith("whsec_") and webhook["status"] == "active"
        shown = (await api.get(f"{URL}/{webhook['id']}")).json()
        assert "secret" not in shown and shown["store_id"] == store["id"]
        event = decided(store["id"])
        assert await deliver(client.app, event) == "applied"
        assert await deliverer.run_once() == 1
    [call] = r.calls
    verify = documented_verify()
    now = clock.now().timestamp()
    assert verify(secret, call.headers["x-signature"], call.body, now=now)
    assert re.fullmatch(r"t=\d+,v1=[0-9a-f]{64}", call.headers["x-signature"])
    assert not verify(secret, call.headers["x-signature"], call.body + b" ", now=now)
    assert not verify("whsec_other", call.headers["x-signature"], call.body, now=now)
    assert not verify(secret, call.headers["x-signature"], call.body, now=now + 301), "an old delivery replayed"
    assert call.headers["x-event-id"] == event.id and call.headers["x-event-type"] == "network.claim.decided"
    assert call.headers["content-type"].startswith("application/cloudevents+json")
    assert (call.event["id"], call.event["storeid"], call.event["data"]["claim_id"]) == (
        event.id, store["id"], event.data["claim_id"])
    [logged] = await log_of(api, webhook)
    assert (logged["status"], logged["attempts"], logged["last_status_code"]) == ("delivered", 1, 200)
    assert logged["event_id"] == event.id and logged["next_attempt_at"] is None


async def test_a_failing_endpoint_is_retried_with_backoff_then_marked_failed_and_redelivered_by_hand(service, hq,
                                                                                                   clock):
    client, deliverer = service
    store, api = await outlet(client, hq)
    async with receiver() as r:
        r.answer = lambda: 500
        webhook = await register(api, r.url, ["network.claim.decided"])
        await deliver(client.app, decided(store["id"]))
        start = clock.now()
        assert await deliverer.run_once() == 1
        [queued] = await log_of(api, webhook)
        assert (queued["status"], queued["attempts"], queued["last_status_code"]) == ("queued", 1, 500)
        assert queued["next_attempt_at"] == (start + timedelta(seconds=10)).isoformat().replace("+00:00", "Z")
        # Backoff 10 s, then 20 s (base 10, doubling): nothing sooner.
        for wait, calls in ((timedelta(seconds=9), 1), (timedelta(seconds=1), 2), (timedelta(seconds=19), 2),
                            (timedelta(seconds=1), 3)):
            clock.advance(wait)
            await deliverer.run_once()
            assert len(r.calls) == calls, (clock.now() - start, len(r.calls))
        [failed] = await log_of(api, webhook)
        assert (failed["status"], failed["attempts"], failed["last_status_code"]) == ("failed", 3, 500)
        assert failed["last_error"] == "ok" and failed["failed_at"] is not None
        assert [d["id"] for d in await log_of(api, webhook, status="failed")] == [failed["id"]]
        clock.advance(timedelta(hours=1))
        assert await deliverer.run_once() == 0, "a failed delivery is not tried again by itself"
        # Fixed on the outlet's side, then sent again by hand: the same event, a new round.
        r.answer = lambda: 204
        again = await api.post(f"{URL}/{webhook['id']}/deliveries/{failed['id']}/redeliver")
        assert again.status_code == 200, again.text
        assert (again.json()["status"], again.json()["attempts"], again.json()["redeliveries"]) == ("queued", 0, 1)
        assert (await api.post(f"{URL}/{webhook['id']}/deliveries/{failed['id']}/redeliver")).status_code == 409
        assert await deliverer.run_once() == 1
    assert r.event_ids == [failed["event_id"]] * 4
    [done] = await log_of(api, webhook)
    assert (done["status"], done["attempts"], done["last_status_code"]) == ("delivered", 1, 204)


# One lane: with more, each may make the first call before any has failed.
@pytest.mark.parametrize("service", [{"webhooks_pause_after_failures": 2, "webhooks_concurrency": 1}], indirect=True)
async def test_an_endpoint_failing_too_often_is_paused_and_sends_what_waited_once_resumed(service, hq, clock):
    client, deliverer = service
    store, api = await outlet(client, hq)
    async with receiver() as r:
        r.answer = lambda: 503
        webhook = await register(api, r.url, ["network.claim.decided"])
        events = [decided(store["id"]) for _ in range(3)]
        for event in events:
            await deliver(client.app, event)
        # A receiver that is down gets one call per backoff step, not one per waiting event.
        assert await deliverer.run_once() == 1
        clock.advance(timedelta(seconds=9))
        assert await deliverer.run_once() == 0
        clock.advance(timedelta(seconds=1))
        assert await deliverer.run_once() == 1
        paused = (await api.get(f"{URL}/{webhook['id']}")).json()
        assert (paused["status"], paused["consecutive_failures"]) == ("paused", 2)
        assert "连续 2 次推送失败" in paused["status_reason"] and "2 failed calls in a row" in paused["status_reason"]
        clock.advance(timedelta(hours=1))
        assert await deliverer.run_once() == 0, "a paused endpoint is not called"
        r.answer = lambda: 200
        resumed = await api.post(f"{URL}/{webhook['id']}/resume")
        assert resumed.status_code == 200 and resumed.json()["status"] == "active", resumed.text
        assert await deliverer.run_once() == 3
    assert sorted(set(r.event_ids[2:])) == sorted(e.id for e in events)
    assert [d["status"] for d in await log_of(api, webhook)] == ["delivered"] * 3


async def test_another_stores_events_never_reach_an_outlet_and_a_network_wide_campaign_reaches_both(service, hq):
    client, deliverer = service
    store_a, api_a = await outlet(client, hq)
    store_b, api_b = await outlet(client, hq)
    kinds = ["network.claim.decided", "network.settlement.issued", "network.campaign.published",
             "reception.repair_order.opened"]
    async with receiver() as ra, receiver() as rb:
        hook_a = await register(api_a, ra.url, kinds)
        hook_b = await register(api_b, rb.url, kinds)
        of_b = [decided(store_b["id"]), f.order_opened(store_b["id"], repair_order_id=new_id(), opened_at=T0)]
        of_a = [decided(store_a["id"])]
        campaign = campaign_published()
        for event in [*of_b, *of_a, campaign]:
            assert await deliver(client.app, event) == "applied"
        await deliverer.run_once()
        # Store B's outlet cannot see, list or act on store A's endpoint.
        assert (await api_b.get(f"{URL}/{hook_a['id']}")).status_code == 404
        assert (await api_b.post(f"{URL}/{hook_a['id']}/ping")).status_code == 404
        assert [w["id"] for w in (await api_b.get(URL)).json()["items"]] == [hook_b["id"]]
        assert (await api_b.get(URL, params={"store_id": store_a["id"]})).json()["items"] == []
        assert (await api_b.get(f"{URL}/{hook_b['id']}/deliveries/{(await log_of(api_a, hook_a))[0]['id']}")
                ).status_code == 404
    assert sorted(ra.event_ids) == sorted([of_a[0].id, campaign.id])
    assert sorted(rb.event_ids) == sorted([e.id for e in of_b] + [campaign.id])
    assert all(c.event["storeid"] == store_a["id"] for c in ra.calls if c.event["type"] != "network.campaign.published")


async def test_a_duplicate_event_is_delivered_once(service, hq):
    client, deliverer = service
    store, api = await outlet(client, hq)
    async with receiver() as r:
        webhook = await register(api, r.url, ["network.claim.decided", "network.settlement.issued"])
        event = decided(store["id"])
        assert await deliver(client.app, event) == "applied"
        assert await deliver(client.app, event) == "duplicate"
        # Past the inbox, as a rebuild re-reads the topics: still queued once.
        app = client.app
        async with app.state.db.transaction() as session:
            await app.state.handlers.handlers[event.type](session, event.payload(), event, app.state.handlers.context)
        await deliverer.run_once()
        assert await deliverer.run_once() == 0
    assert r.event_ids == [event.id]
    assert len(await log_of(api, webhook)) == 1


def _webhook_only_samples(store_id: str) -> dict:
    rid, sid, cid = new_id(), new_id(), new_id()
    common = dict(repair_order_id=rid, number="RO-1", store_id=store_id)
    customer = {"name": "Li Na", "phone": "13900001111"}
    vehicle = {"vin": "LSVAB4180E2100001", "plate": "沪A12345", "model": "Sedan X"}
    advisor = {"id": "advisor-1", "name": "Zhang", "role": "service_advisor"}
    samples = {
        "reception.repair_order.approved": (reception.RepairOrderApproved(
            **common, customer=customer, vehicle=vehicle, mileage_km=20000, advisor=advisor, approved_by="Li Na",
            channel="in_person", approved_at=T0, lines=[]), rid),
        "reception.repair_order.cancelled": (reception.RepairOrderCancelled(
            **common, previous_status="open", cancelled_at=T0), rid),
        "workshop.repair_order.work_started": (workshop.RepairOrderWorkStarted(
            repair_order_id=rid, store_id=store_id, started_at=T0), rid),
        "workshop.repair_order.ready": (workshop.RepairOrderReady(
            repair_order_id=rid, store_id=store_id, ready_at=T0, jobs=1, clocked_hours="1.0",
            flat_rate_hours="1.0"), rid),
        "network.settlement.issued": (network.SettlementIssued(
            settlement_id=sid, store_id=store_id, period="2026-11", claim_ids=[cid], total_fen=50000,
            issued_at=T0), sid),
        "network.settlement.paid": (network.SettlementPaid(
            settlement_id=sid, store_id=store_id, period="2026-11", claim_ids=[cid], total_fen=50000,
            reference="BANK-1", paid_at=T0), sid),
        "network.claim.charged_back": (network.ClaimChargedBack(
            claim_id=cid, store_id=store_id, repair_order_id=rid, chargeback_id=new_id(), reason_code="CB01",
            amount_fen=100, charged_back_fen=100, charged_at=T0, charged_by="hq-1"), cid),
    }
    envelopes = {t: envelope_for(event, subject=subject, store_id=store_id, time=T0)
                 for t, (event, subject) in samples.items()}
    envelopes["network.campaign.published"] = campaign_published()
    envelopes["network.policy.version_published"] = policy_published()
    return envelopes


async def test_every_event_type_only_webhooks_handle_is_queued_once_however_often_it_is_given(service, hq):
    client, deliverer = service
    store, api = await outlet(client, hq)
    app = client.app
    only = {t for t, handler in app.state.handlers.handlers.items() if handler is webhook_event}
    samples = _webhook_only_samples(store["id"])
    assert only == set(samples), "a new webhook-only event type needs a sample here"
    async with receiver() as r:
        webhook = await register(api, r.url, sorted(only))
        for envelope in samples.values():
            assert await deliver(app, envelope) == "applied"
            assert await deliver(app, envelope) == "duplicate"
            async with app.state.db.transaction() as session:
                await webhook_event(session, envelope.payload(), envelope, app.state.handlers.context)
        while await deliverer.run_once():
            pass
    assert sorted(r.event_ids) == sorted(e.id for e in samples.values())
    assert {d["event_type"] for d in await log_of(api, webhook, limit=50)} == only


@pytest.mark.parametrize("service", [{"webhooks_max_attempts": 10}], indirect=True)
async def test_an_aggregates_events_arrive_in_order_after_the_receiver_was_down_for_a_minute(service, hq, clock):
    client, deliverer = service
    store, api = await outlet(client, hq)
    back_at = clock.now() + timedelta(minutes=1)
    async with receiver() as r:
        r.answer = lambda: 200 if clock.now() >= back_at else 503
        webhook = await register(api, r.url, ["reception.repair_order.opened", "network.claim.decided"])
        order = new_id()
        opened = f.order_opened(store["id"], repair_order_id=order, opened_at=T0)
        claim_id = new_id()
        first, second = decided(store["id"], claim_id), decided(store["id"], claim_id)
        for event in (first, opened, second):
            await deliver(client.app, event)
        while clock.now() < back_at + timedelta(minutes=5):
            await deliverer.run_once()
            clock.advance(timedelta(seconds=5))
        assert await deliverer.run_once() == 0
        down = [c for c in r.calls if c.status == 503]
        # While the receiver was down the endpoint backed off (two lanes, then 20 s, then past the
        # minute), rather than calling each of the three events every 5 s.
        assert 1 <= len(down) <= 4, len(down)
        ids = [c.headers["x-event-id"] for c in r.calls if c.status == 200]
        assert sorted(ids) == sorted([first.id, opened.id, second.id])
        # The claim's second decision is never sent before its first got through.
        every = [c.headers["x-event-id"] for c in r.calls]
        assert every.index(second.id) > max(i for i, c in enumerate(r.calls) if c.headers["x-event-id"] == first.id
                                             and c.status == 200)
        log = await log_of(api, webhook)
        assert [d["status"] for d in log] == ["delivered"] * 3
        # The outlet asks for the claim's first decision again: sent again, same event id.
        again = next(d for d in log if d["event_id"] == first.id)
        assert (await api.post(f"{URL}/{webhook['id']}/deliveries/{again['id']}/redeliver")).status_code == 200
        assert await deliverer.run_once() == 1
    assert r.event_ids[-1] == first.id


async def test_a_rotated_secret_signs_from_then_on_and_a_ping_is_delivered(service, hq, clock):
    client, deliverer = service
    store, api = await outlet(client, hq)
    verify = documented_verify()
    async with receiver() as r:
        webhook = await register(api, r.url, ["network.claim.decided"])
        rotated = await api.post(f"{URL}/{webhook['id']}/rotate-secret")
        assert rotated.status_code == 200, rotated.text
        new_secret = rotated.json()["secret"]
        assert new_secret != webhook["secret"] and rotated.json()["secret_rotated_at"] is not None
        ping = await api.post(f"{URL}/{webhook['id']}/ping")
        assert ping.status_code == 201 and ping.json()["event_type"] == "network.webhook.ping", ping.text
        assert await deliverer.run_once() == 1
    [call] = r.calls
    now = clock.now().timestamp()
    assert verify(new_secret, call.headers["x-signature"], call.body, now=now)
    assert not verify(webhook["secret"], call.headers["x-signature"], call.body, now=now)
    assert call.event["type"] == "network.webhook.ping" and call.event["data"]["webhook_id"] == webhook["id"]


async def test_only_https_to_public_hosts_is_registered_and_only_the_outlets_managers_change_endpoints(network_db,
                                                                                                        clock):
    async with network_service(network_settings(network_db), clock) as client:
        hq = Caller(client, "hq_admin", principal_id="hq-admin-1")
        store, api = await outlet(client, hq)
        refused = {
            "http://outlet.example.com/hooks": "must be https",
            "http://127.0.0.1:9000/hooks": "must be https",
            "https://10.1.2.3/hooks": "private",
            "https://169.254.169.254/latest": "private",
            "https://user:pw@outlet.example.com/hooks": "user name",
            "ftp://outlet.example.com/hooks": "must be https",
        }
        for url, why in refused.items():
            response = await api.post(URL, json={"url": url, "event_types": ["network.claim.decided"]})
            assert response.status_code == 422, (url, response.text)
            error = response.json()["errors"][0]
            assert error["field"] == "url" and why in error["message"], (url, error)
        unknown = await api.post(URL, json={"url": "https://outlet.example.com/hooks",
                                            "event_types": ["crm.complaint.opened"]})
        assert unknown.status_code == 422 and "event_types" in unknown.text, unknown.text
        webhook = await register(api, "https://outlet.example.com/hooks", ["network.claim.decided"])
        assert (await hq.post(URL, json={"url": "https://outlet.example.com/h",
                                         "event_types": ["network.claim.decided"]})).status_code == 422  # no store
        by_hq = await register(hq, "https://outlet.example.com/h", ["network.claim.decided"], store_id=store["id"])
        assert by_hq["store_id"] == store["id"]
        service_manager = Caller(client, "service_manager", store_id=store["id"])
        assert (await service_manager.get(f"{URL}/{webhook['id']}")).status_code == 200
        assert (await service_manager.post(f"{URL}/{webhook['id']}/pause")).status_code == 403
        advisor = Caller(client, "service_advisor", store_id=store["id"])
        assert (await advisor.get(URL)).status_code == 403
        changed = await api.patch(f"{URL}/{webhook['id']}", json={"event_types": ["network.settlement.issued"]},
                                  headers={"If-Match": '"1"'})
        assert changed.status_code == 200 and changed.json()["event_types"] == ["network.settlement.issued"]
        stale = await api.patch(f"{URL}/{webhook['id']}", json={"description": "x"}, headers={"If-Match": '"1"'})
        assert stale.status_code == 412, stale.text
        assert (await api.delete(f"{URL}/{webhook['id']}")).status_code == 204
        assert (await api.get(f"{URL}/{webhook['id']}")).status_code == 404
        types = (await api.get(f"{URL}/event-types")).json()["items"]
        assert {t["type"]: t["network_wide"] for t in types}["network.campaign.published"] is True


async def test_replayed_webhook_posts_answer_the_first_answer_and_write_once(service, hq):
    """The registration's replay answers the same secret and makes no second endpoint; a
    replayed rotation keeps the secret it gave; a replayed redelivery sends once more, not twice."""
    client, deliverer = service
    store, api = await outlet(client, hq)
    async with receiver() as r:
        body = {"url": r.url, "event_types": ["network.claim.decided"]}
        first = await api.post(URL, json=body, headers={"Idempotency-Key": "reg-1"})
        again = await api.post(URL, json=body, headers={"Idempotency-Key": "reg-1"})
        assert first.status_code == again.status_code == 201 and again.json() == first.json(), again.text
        assert again.headers.get("idempotent-replayed") == "true"
        webhook = first.json()
        assert [w["id"] for w in (await api.get(URL)).json()["items"]] == [webhook["id"]]
        rotate = f"{URL}/{webhook['id']}/rotate-secret"
        rotated = [await api.post(rotate, headers={"Idempotency-Key": "rot-1"}) for _ in range(2)]
        assert rotated[0].json() == rotated[1].json()
        assert (await api.get(f"{URL}/{webhook['id']}")).json()["version"] == 2
        await deliver(client.app, decided(store["id"]))
        assert await deliverer.run_once() == 1
        [delivered] = await log_of(api, webhook)
        url = f"{URL}/{webhook['id']}/deliveries/{delivered['id']}/redeliver"
        replies = [await api.post(url, headers={"Idempotency-Key": "again-1"}) for _ in range(2)]
        assert replies[0].json() == replies[1].json() and replies[0].json()["redeliveries"] == 1
        other = await api.post(url, json={"note": "x"}, headers={"Idempotency-Key": "again-1"})
        assert other.status_code == 422 and other.json()["errors"][0]["field"] == "Idempotency-Key", other.text
        assert await deliverer.run_once() == 1
    assert r.event_ids == [delivered["event_id"]] * 2
