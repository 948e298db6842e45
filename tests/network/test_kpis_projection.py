"""KPI projection rules, with events delivered in memory: every defined KPI is answered,
late and out-of-order events give the figures in-order events give, days are the store's
local days, and who may read what."""
from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from services.common import reference
from services.network.kpis.service import figures
from tests.network import factories as f
from tests.network.conftest import create_store
from tests.network.sse import served, subscribed
from tests.support.events import deliver
from tests.support.platform import Caller, identity, signing_client

DAY = date(2026, 12, 1)


def local(day: date, hh: int, mm: int = 0, zone: str = "Asia/Shanghai") -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=ZoneInfo(zone)).astimezone(UTC)


async def kpis(caller: Caller, since: date, until: date, store_id: str | None = None) -> dict:
    url = f"/v1/kpis?from={since}&to={until}" + (f"&store_id={store_id}" if store_id else "")
    response = await caller.get(url)
    assert response.status_code == 200, response.text
    return response.json()


def test_every_kpi_of_the_definitions_is_computed():
    names = [k["name"] for k in reference.load("kpi_definitions")["kpis"]]
    assert list(figures({}).model_dump()) == names


async def test_days_are_the_stores_local_days(client, hq):
    store = await create_store(hq, timezone_name="Asia/Shanghai")
    # 00:30 on 2 December in Shanghai is still 1 December in UTC.
    await deliver(client.app, f.order_opened(store["id"], repair_order_id="ro-late",
                                             opened_at=local(DAY + timedelta(days=1), 0, 30)))
    assert (await kpis(hq, DAY, DAY))["stores"][0]["repair_orders_opened"] == 0
    assert (await kpis(hq, DAY + timedelta(days=1), DAY + timedelta(days=1)))["stores"][0]["repair_orders_opened"] == 1


async def test_out_of_order_and_late_events_give_the_same_figures_as_in_order_ones(client, hq):
    in_order, shuffled = await create_store(hq), await create_store(hq)
    for store, order in ((in_order, [0, 1, 2]), (shuffled, [2, 1, 0])):
        s = store["id"]
        events = [f.complaint_opened(s, f"cp-{s}", local(DAY, 9), local(DAY, 18)),
                  f.complaint_escalated(s, f"cp-{s}", local(DAY + timedelta(days=3), 18), local(DAY, 19)),
                  f.complaint_closed(s, f"cp-{s}", local(DAY, 9), local(DAY + timedelta(days=2), 10))]
        for index in order:
            assert await deliver(client.app, events[index]) == "applied"
    for until in (DAY, DAY + timedelta(days=1), DAY + timedelta(days=4)):
        body = await kpis(hq, DAY, until)
        a, b = (next(x for x in body["stores"] if x["store_id"] == s["id"]) for s in (in_order, shuffled))
        assert (a["complaints_open"], a["complaints_overdue"]) == (b["complaints_open"], b["complaints_overdue"])
    # Open on the 1st and 2nd; the escalation moved the due time past the closing, so never overdue.
    open_by_day = [(await kpis(hq, DAY, DAY + timedelta(days=d)))["stores"][0]["complaints_open"] for d in (0, 1, 2)]
    assert open_by_day == [1, 1, 0]
    assert all(s["complaints_overdue"] == 0 for s in (await kpis(hq, DAY, DAY + timedelta(days=1)))["stores"])


async def test_ratios_come_from_counters_and_the_network_is_not_an_average_of_stores(client, hq):
    a, b = await create_store(hq), await create_store(hq)
    for store, shows in ((a, [True]), (b, [True, False, False, False])):
        for n, shows_up in enumerate(shows):
            aid = f"ap-{store['id']}-{n}"
            scheduled = local(DAY, 9 + n)
            await deliver(client.app, f.appointment_booked(store["id"], aid, scheduled, local(DAY, 8)))
            if shows_up:
                await deliver(client.app, f.appointment_checked_in(store["id"], aid, scheduled, scheduled))
            else:
                await deliver(client.app, f.appointment_no_show(store["id"], aid, scheduled, scheduled))
    body = await kpis(hq, DAY, DAY)
    rates = {s["store_id"]: s["appointment_show_rate"] for s in body["stores"]}
    assert rates == {a["id"]: "1.0000", b["id"]: "0.2500"}
    assert body["network"]["appointment_show_rate"] == "0.4000"  # 2 of 5, not the mean 0.625
    assert body["stores"][0]["csi_average"] is None


async def test_kpis_are_read_by_hq_and_store_managers_of_their_own_store_only(client, hq):
    a, b = await create_store(hq), await create_store(hq)
    manager = Caller(client, "store_manager", store_id=a["id"])
    assert [s["store_id"] for s in (await kpis(manager, DAY, DAY))["stores"]] == [a["id"]]
    assert (await manager.get(f"/v1/kpis?store_id={b['id']}")).status_code == 404
    assert (await Caller(client, "service_advisor", store_id=a["id"]).get("/v1/kpis")).status_code == 403
    assert (await hq.get("/v1/kpis?from=2026-12-02&to=2026-12-01")).status_code == 422
    assert (await hq.get("/v1/kpis?from=2024-01-01&to=2026-12-01")).status_code == 422
    assert (await hq.get("/v1/kpis?store_id=nope")).status_code == 404
    assert (await Caller(client, "hq_analyst").post("/v1/kpis/rebuild")).status_code == 403
    body = (await hq.get("/v1/kpis")).json()
    assert (body["from"], body["to"]) == ("2026-12-01", "2026-12-10")  # this month so far (clock: 10 December)


async def test_the_stream_pushes_a_change_within_a_second_and_only_of_visible_stores(client, hq):
    a, b = await create_store(hq), await create_store(hq)
    async with served(client.app) as base_url:
        async with subscribed(base_url, "/v1/kpis/stream", identity("store_manager", a["id"])) as stream:
            assert (await stream.next_of("ready"))["stores"] == [a["id"]]
            await deliver(client.app, f.comeback_detected(b["id"], "cb-other", local(DAY, 10)))
            await deliver(client.app, f.comeback_detected(a["id"], "cb-mine", local(DAY, 11)))
            committed = time.monotonic()
            pushed = await stream.next_of("kpi", timeout=5)
            assert time.monotonic() - committed < 1.0
    assert (pushed["store_id"], pushed["date"], pushed["kpis"]["comebacks"]) == (a["id"], DAY.isoformat(), 1)
    assert client.app.state.kpi_broadcaster.subscribers == 0


async def test_the_stream_checks_identity_like_every_route(client):
    async with served(client.app) as base_url:
        async with signing_client(base_url, "network") as raw:
            assert (await raw.get("/v1/kpis/stream")).status_code == 401
            assert (await raw.get("/v1/kpis/stream", headers=identity("technician", "st-1"))).status_code == 403


async def test_a_store_principal_cannot_open_another_stores_stream(client, hq):
    a, b = await create_store(hq), await create_store(hq)
    async with served(client.app) as base_url:
        async with signing_client(base_url, "network") as raw:
            refused = await raw.get(f"/v1/kpis/stream?store_id={b['id']}", headers=identity("store_manager", a["id"]))
            assert refused.status_code == 404
            assert refused.headers["content-type"].startswith("application/problem+json")
