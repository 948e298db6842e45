"""Customers, vehicles and service history as reception's events tell them."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from tests.crm import factories as f

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


async def customers(crm, caller=None, **params) -> list[dict]:
    r = await (caller or crm.agent).get("/v1/customers", params=params)
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def test_one_customer_per_phone_in_a_store_whatever_the_spelling(crm):
    await crm.deliver(
        f.booked(crm.store_id, local(2026, 1, 5, 9), customer=f.person("王先生", "138 0013 8000")),
        f.delivered(crm.store_id, local(2026, 1, 8, 16), customer=f.person("王建国", "+86-138-0013-8000")),
        f.delivered(crm.other_store_id, local(2026, 1, 9, 16), customer=f.person("王建国", "13800138000")),
    )
    [mine] = await customers(crm)
    assert mine["phone"] == "13800138000" and mine["name"] == "王建国"
    assert mine["first_seen_at"] == "2026-01-05T01:00:00Z" and mine["last_visit_at"] == "2026-01-08T08:00:00Z"
    assert [c["id"] for c in await customers(crm, phone="+8613800138000")] == [mine["id"]]
    both = await customers(crm, crm.hq, phone="13800138000")
    assert {c["store_id"] for c in both} == {crm.store_id, crm.other_store_id}
    stranger = crm.as_("crm_agent", "agent-beijing", store_id=crm.other_store_id)
    assert (await stranger.get(f"/v1/customers/{mine['id']}")).status_code == 404


async def test_an_older_event_does_not_undo_a_newer_name(crm):
    await crm.deliver(f.delivered(crm.store_id, local(2026, 2, 1, 16), customer=f.person("王建国", "13800138000")),
                      f.booked(crm.store_id, local(2026, 1, 1, 9), customer=f.person("王先生", "13800138000")))
    [customer] = await customers(crm)
    assert customer["name"] == "王建国" and customer["first_seen_at"] == "2026-01-01T01:00:00Z"


async def test_a_vehicle_that_turns_up_with_another_phone_changed_hands_and_both_owners_are_kept(crm):
    vehicle = f.car(vin="lsvaa4182e2100009")
    await crm.deliver(
        f.delivered(crm.store_id, local(2025, 6, 1, 16), vehicle=vehicle, customer=f.person("老车主", "13700000001")),
        f.delivered(crm.store_id, local(2026, 2, 1, 16), vehicle=vehicle, customer=f.person("新车主", "13700000002"),
                    mileage_km=30000),
    )
    [old] = await customers(crm, phone="13700000001")
    [new] = await customers(crm, phone="13700000002")
    assert [(v["vin"], v["current"]) for v in old["vehicles"]] == [("LSVAA4182E2100009", False)]
    assert old["vehicles"][0]["until"] == "2026-02-01T08:00:00Z"
    assert [(v["vin"], v["current"]) for v in new["vehicles"]] == [("LSVAA4182E2100009", True)]
    history = (await crm.agent.get("/v1/vehicles/LSVAA4182E2100009/history")).json()
    assert [(o["customer_id"], o["until"] is None) for o in history["owners"]] == [(old["id"], False), (new["id"], True)]


async def test_service_history_lists_every_delivered_visit_newest_first(crm):
    first = f.delivered(crm.store_id, local(2025, 9, 1, 16), mileage_km=8000, advisor_id="advisor-li",
                        lines=[f.labour("MNT-0110", "first maintenance", "0.8", 0, "warranty"), f.part()])
    second = f.delivered(crm.store_id, local(2026, 2, 1, 16), mileage_km=15000, advisor_id="advisor-wang",
                         lines=[f.labour("BRK-0210", "Replace front brake pads", "1.2", 36000),
                                f.part("P-BRK-PAD-F", "front brake pads", "1", 52000)])
    elsewhere = f.delivered(crm.other_store_id, local(2026, 2, 10, 16), mileage_km=15500)
    still_open = f.opened(crm.store_id, local(2026, 2, 20, 9), mileage_km=16000)
    await crm.deliver(first, second, elsewhere, still_open)
    r = await crm.agent.get(f"/v1/vehicles/{f.car().vin}/history", params={"limit": 1})
    page = r.json()
    assert [v["repair_order_id"] for v in page["items"]] == [second.subject]
    visit = page["items"][0]
    assert visit["mileage_km"] == 15000 and visit["advisor"] == {"id": "advisor-wang", "name": "李顾问"}
    assert visit["date"] == "2026-02-01T08:00:00Z"
    assert [(o["op_code"], o["hours"]) for o in visit["operations"]] == [("BRK-0210", "1.2")]
    assert [(p["part_no"], p["quantity"]) for p in visit["parts"]] == [("P-BRK-PAD-F", "1")]
    assert visit["amount_fen"] == 36000 + 52000 and visit["customer_due_fen"] == (36000 + 52000) * 113 // 100
    r = await crm.agent.get(f"/v1/vehicles/{f.car().vin}/history", params={"limit": 1, "cursor": page["next_cursor"]})
    assert [v["repair_order_id"] for v in r.json()["items"]] == [first.subject] and r.json()["next_cursor"] is None
    everywhere = (await crm.hq.get(f"/v1/vehicles/{f.car().vin}/history")).json()["items"]
    assert [v["repair_order_id"] for v in everywhere] == [elsewhere.subject, second.subject, first.subject]
    assert (await crm.agent.get("/v1/vehicles/LSVNEVERSEEN00000/history")).status_code == 404


async def test_club_membership_and_preferences_are_updated_against_the_version_read(crm):
    await crm.deliver(f.delivered(crm.store_id, local(2026, 2, 1, 16)))
    [customer] = await customers(crm)
    url = f"/v1/customers/{customer['id']}"
    got = await crm.agent.get(url)
    assert got.headers["etag"] == '"1"'
    r = await crm.agent.patch(url, json={"club_member": True})
    assert r.status_code == 428
    r = await crm.agent.patch(url, json={"club_member": True, "nickname": "x", "version": 1})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "nickname"
    r = await crm.agent.patch(url, json={"contact_preferences": {"channels": ["fax"]}, "version": 1})
    assert r.status_code == 422 and r.json()["errors"][0]["field"].startswith("contact_preferences.channels")
    r = await crm.agent.patch(url, json={"club_member": True, "contact_preferences": {
        "channels": ["phone", "wechat"], "preferred_call_time": "afternoon"}}, headers={"If-Match": '"1"'})
    assert r.status_code == 200, r.text
    updated = r.json()
    assert updated["club_member"] is True and updated["club_since"] == "2026-03-02" and updated["version"] == 2
    assert updated["contact_preferences"] == {"channels": ["phone", "wechat"], "marketing_opt_out": False,
                                              "preferred_call_time": "afternoon"}
    assert r.headers["etag"] == '"2"'
    stale = await crm.agent.patch(url, json={"club_member": False, "version": 1})
    assert stale.status_code == 412 and stale.json()["current_version"] == 2
    assert (await crm.agent.get(url)).json()["club_member"] is True


async def test_a_club_member_is_called_one_day_after_delivery(crm):
    await crm.deliver(f.booked(crm.store_id, local(2026, 3, 1, 9)))
    [customer] = await customers(crm)
    await crm.agent.patch(f"/v1/customers/{customer['id']}", json={"club_member": True, "version": 1})
    delivered = f.delivered(crm.store_id, local(2026, 3, 2, 19, 30))
    await crm.deliver(delivered)
    [callback] = (await crm.agent.get("/v1/callbacks")).json()["items"]
    # Delivered after the last window: due inside the last window of the next day, not a day and a night later.
    assert datetime.fromisoformat(callback["due_at"]) == local(2026, 3, 3, 17, 59)
    assert callback["customer"]["club_member"] is True
    assert datetime.fromisoformat(callback["due_at"]) - local(2026, 3, 2, 19, 30) < timedelta(days=2)
