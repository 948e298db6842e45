"""The store's day in one page: orders in and out, revenue, margin, complaints, callbacks
and the month's targets to date equal a hand computation over a seeded day; the service
manager signs it off (once; an advisor may not, nor another store's manager) with the
who-fields, a late event shows as a change since signing, and HQ sees who signed."""
from __future__ import annotations

from datetime import date

from tests.network import factories as f
from tests.network.conftest import create_store
from tests.network.test_gross_margin import HAND, costed, delivered, local
from tests.support.events import deliver
from tests.support.platform import Caller, identity

DAY = date(2026, 12, 3)  # the clock says 10 December in Shanghai


async def seed_day(client, hq: Caller, s: str) -> None:
    headers = identity("hq_admin", None, "hq-admin-1")
    assert (await client.put(f"/v1/stores/{s}/targets/2026", headers=headers, json={
        "repair_orders": 1200, "gross_margin_fen": 12_000_000})).status_code == 200
    months = {"months": [{"month": m, "repair_orders": 100, "gross_margin_fen": 1_000_000} for m in range(1, 13)]}
    assert (await client.put(f"/v1/stores/{s}/targets/2026/months", headers=headers, json=months)).status_code == 200
    # Orders: one opened, settled, delivered and costed on the day; one opened and still in the workshop.
    await deliver(client.app, f.order_opened(s, repair_order_id="ro-1", opened_at=local(DAY, 9)))
    await deliver(client.app, f.order_opened(s, repair_order_id="ro-2", opened_at=local(DAY, 10)))
    await deliver(client.app, delivered(s, "ro-1", "adv-1"))
    await deliver(client.app, costed(s, "ro-1"))
    await deliver(client.app, f.order_opened(s, repair_order_id="ro-0", opened_at=local(date(2026, 12, 2), 9)))
    # Complaints: one overdue since the 2nd, one opened on the day, one opened the 2nd and closed on the day.
    await deliver(client.app, f.complaint_opened(s, "c-1", local(date(2026, 12, 1), 9), local(date(2026, 12, 2), 9)))
    await deliver(client.app, f.complaint_opened(s, "c-2", local(DAY, 10), local(date(2026, 12, 5), 10)))
    await deliver(client.app, f.complaint_opened(s, "c-3", local(date(2026, 12, 2), 10), local(date(2026, 12, 4), 10)))
    await deliver(client.app, f.complaint_closed(s, "c-3", local(date(2026, 12, 2), 10), local(DAY, 11)))
    # Callbacks due on the day: one reached in time with a 4, one not done.
    for cid in ("cb-1", "cb-2"):
        await deliver(client.app, f.callback_created(s, cid, local(DAY, 18), local(DAY, 8)))
    await deliver(client.app, f.callback_completed(s, "cb-1", local(DAY, 18), local(DAY, 12), overall=4))


def by_measure(rows: list[dict]) -> dict[str, dict]:
    return {row["measure"]: row for row in rows}


async def test_the_days_figures_equal_a_hand_computation(client, hq):
    store = await create_store(hq)
    s = store["id"]
    await seed_day(client, hq, s)
    manager = Caller(client, "service_manager", store_id=s)
    response = await manager.get(f"/v1/stores/{s}/daily-reports/{DAY}")
    assert response.status_code == 200, response.text
    page = response.json()
    assert (page["date"], page["store_code"], page["timezone"]) == ("2026-12-03", store["code"], "Asia/Shanghai")
    assert page["orders"] == {"opened": 2, "delivered": 1}
    assert page["revenue_fen"] == {"customer": 131_000, "warranty": 76_000, "insurance": 0, "internal": 0,
                                   "goodwill": 0, "first_maintenance": 0, "campaign": 0, "total": 207_000}
    assert page["gross_margin"] == HAND
    (order,) = page["margin_orders"]
    assert order == {"repair_order_id": "ro-1", "number": "RO-ro-1", "advisor_id": "adv-1", "revenue_fen": 207_000,
                     "cost_fen": 104_600, "margin_fen": 102_400, "complete": True}
    assert page["complaints"] == {"opened": 1, "closed": 1, "open_at_end": 2, "overdue_at_end": 1}
    assert page["callbacks"] == {"due": 2, "on_time": 1, "sla_rate": "0.5000", "reached": 1, "closed": 1,
                                 "surveys": 1, "csi_average": "4.00"}
    to_date = page["targets_to_date"]
    assert (to_date["period"], to_date["days_elapsed"], to_date["days_in_month"]) == ("2026-12", 3, 31)
    rows = by_measure(to_date["measures"])
    assert (rows["repair_orders"]["target"], rows["repair_orders"]["actual"], rows["repair_orders"]["projected"]) == (
        100, 1, 10)  # 1 × 31 / 3 = 10.3
    assert (rows["gross_margin_fen"]["target"], rows["gross_margin_fen"]["actual"],
            rows["gross_margin_fen"]["attained"]) == (1_000_000, 102_400, "0.1024")
    assert page["sign_off"] is None
    quiet = (await manager.get(f"/v1/stores/{s}/daily-reports/2026-12-02")).json()
    assert quiet["orders"] == {"opened": 1, "delivered": 0} and quiet["gross_margin"]["orders"] == 0


async def test_the_service_manager_signs_the_day_off_once_and_hq_sees_who_signed(client, hq):
    store, other = await create_store(hq), await create_store(hq)
    s = store["id"]
    await seed_day(client, hq, s)
    url = f"/v1/stores/{s}/daily-reports/{DAY}"
    advisor = Caller(client, "service_advisor", store_id=s)
    assert (await advisor.post(url + "/sign-off", json={})).status_code == 403
    assert (await advisor.get(url)).status_code == 403
    elsewhere = Caller(client, "service_manager", store_id=other["id"])
    assert (await elsewhere.post(url + "/sign-off", json={})).status_code == 404
    assert (await elsewhere.get(url)).status_code == 404
    assert (await hq.post(url + "/sign-off", json={})).status_code == 403
    manager = Caller(client, "service_manager", store_id=s, principal_id="p-wang", name="王经理",
                     credential="key:k-wang")
    future = await manager.post(f"/v1/stores/{s}/daily-reports/2026-12-11/sign-off", json={})
    assert (future.status_code, future.json()["errors"][0]["field"]) == (422, "date")

    signed = await manager.post(url + "/sign-off", json={"note": "雨天，进店少 a rainy day"})
    assert signed.status_code == 201, signed.text
    sign_off = signed.json()["sign_off"]
    assert sign_off["signed_by"] == {"person_id": "p-wang", "name": "王经理", "credential": "key:k-wang"}
    assert (sign_off["role"], sign_off["note"], sign_off["changed_since"]) == ("service_manager",
                                                                              "雨天，进店少 a rainy day", False)
    store_manager = Caller(client, "store_manager", store_id=s)
    again = await store_manager.post(url + "/sign-off", json={})
    assert again.status_code == 409 and "王经理" in again.text

    listed = await Caller(client, "hq_analyst").get(f"/v1/daily-reports?date={DAY}")
    assert listed.status_code == 200, listed.text
    stores = {row["store_id"]: row for row in listed.json()["stores"]}
    assert listed.json()["stores_signed"] == 1
    assert stores[s]["signed"] and stores[s]["sign_off"]["signed_by"]["name"] == "王经理"
    assert stores[other["id"]] | {"sign_off": None} == stores[other["id"]] and not stores[other["id"]]["signed"]
    own = (await store_manager.get(f"/v1/daily-reports?date={DAY}")).json()
    assert [row["store_id"] for row in own["stores"]] == [s]
    assert (await hq.get("/v1/daily-reports?date=2026-12-02")).json()["stores_signed"] == 0

    # A complaint closed on the day, heard after the sign-off: the page says the figures moved.
    await deliver(client.app, f.complaint_closed(s, "c-2", local(DAY, 10), local(DAY, 17)))
    later = (await manager.get(url)).json()
    assert later["complaints"]["closed"] == 2 and later["sign_off"]["changed_since"] is True
