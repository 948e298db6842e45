"""Comebacks: the same labour operation on the same VIN approved within the window after
a delivery is linked to the first order and the technician who did it."""
from __future__ import annotations

from datetime import timedelta

from tests.workshop.conftest import open_shop
from tests.workshop.factories import approved, delivered, labor, outbox

VIN = "LSVAB4BR1NN000777"


async def _delivered_brake_job(shop, technician_id: str) -> tuple[str, str]:
    """A brake job done by `technician_id` and delivered now; returns (order id, job id)."""
    line = labor("BRK-0210")
    lines = [line, labor("MNT-0100")]
    env = approved(shop.store_id, lines, vin=VIN, approved_at=shop.clock.now())
    await shop.deliver(env)
    job = next(j for j in await shop.jobs_of(env.subject) if j["line_id"] == line.line_id)
    await shop.manager.post(f"/v1/jobs/{job['id']}/assign", json={"technician_id": technician_id})
    await shop.manager.post(f"/v1/jobs/{job['id']}/start")
    shop.clock.advance(hours=1)
    await shop.manager.post(f"/v1/jobs/{job['id']}/complete")
    await shop.deliver(delivered(shop.store_id, env.subject, lines, vin=VIN, delivered_at=shop.clock.now(),
                                 number=env.data["number"]))
    return env.subject, job["id"]


async def test_comeback_is_detected_within_thirty_days_and_linked_to_the_first_order_and_technician(shop):
    tech = await shop.technician()
    first_order, first_job = await _delivered_brake_job(shop, tech["id"])
    delivered_at = shop.clock.now()

    shop.clock.advance(days=29)
    back = approved(shop.store_id, [labor("BRK-0210")], vin=VIN, approved_at=shop.clock.now())
    await shop.deliver(back)

    (comeback,) = (await shop.manager.get("/v1/comebacks")).json()["items"]
    assert comeback["repair_order_id"] == back.subject
    assert comeback["original_repair_order_id"] == first_order
    assert comeback["original_job_id"] == first_job
    assert comeback["original_technician_id"] == tech["id"]
    assert comeback["days_since_delivery"] == 29
    (event,) = await outbox(shop.app, "workshop.comeback.detected")
    assert event["data"]["original_technician_id"] == tech["id"]
    assert event["data"].get("original_technician_person_id") is None  # the record works under nobody
    assert event["data"]["op_code"] == "BRK-0210" and event["data"]["vin"] == VIN
    assert event["data"]["original_delivered_at"].startswith(delivered_at.strftime("%Y-%m-%dT%H:%M"))
    by_tech = (await shop.manager.get("/v1/comebacks", params={"technician_id": tech["id"]})).json()["items"]
    assert [c["id"] for c in by_tech] == [comeback["id"]]


async def test_a_comeback_names_the_person_the_first_technician_record_works_under(shop):
    tech = await shop.technician("李伟", principal_id="person-li")
    await _delivered_brake_job(shop, tech["id"])
    shop.clock.advance(days=10)
    await shop.deliver(approved(shop.store_id, [labor("BRK-0210")], vin=VIN, approved_at=shop.clock.now()))
    (event,) = await outbox(shop.app, "workshop.comeback.detected")
    assert (event["data"]["original_technician_id"], event["data"]["original_technician_person_id"],
            event["data"]["original_technician_name"]) == (tech["id"], "person-li", "李伟")


async def test_no_comeback_after_the_window_nor_for_another_operation(shop):
    tech = await shop.technician()
    await _delivered_brake_job(shop, tech["id"])

    shop.clock.advance(days=29)
    other_op = approved(shop.store_id, [labor("BRK-0220")], vin=VIN, approved_at=shop.clock.now())
    await shop.deliver(other_op)
    shop.clock.advance(days=2)  # 31 days after delivery
    late = approved(shop.store_id, [labor("BRK-0210")], vin=VIN, approved_at=shop.clock.now())
    await shop.deliver(late)
    other_vin = approved(shop.store_id, [labor("BRK-0210")], vin="LSVAB4BR1NN000999", approved_at=shop.clock.now())
    await shop.deliver(other_vin)

    assert (await shop.manager.get("/v1/comebacks")).json()["items"] == []
    assert await outbox(shop.app, "workshop.comeback.detected") == []


async def test_the_window_is_configurable(fresh_database):
    async for shop in open_shop(fresh_database("short_window"), comeback_window_days=7):
        tech = await shop.technician()
        await _delivered_brake_job(shop, tech["id"])
        shop.clock.advance(days=8)
        await shop.deliver(approved(shop.store_id, [labor("BRK-0210")], vin=VIN, approved_at=shop.clock.now()))
        assert (await shop.manager.get("/v1/comebacks")).json()["items"] == []
        shop.clock.advance(days=30)
        await _delivered_brake_job(shop, tech["id"])
        shop.clock.advance(days=6)
        await shop.deliver(approved(shop.store_id, [labor("BRK-0210")], vin=VIN, approved_at=shop.clock.now()))
        assert len((await shop.manager.get("/v1/comebacks")).json()["items"]) == 1


async def test_a_comeback_counts_against_the_original_technician_in_the_report(shop):
    tech = await shop.technician()
    await _delivered_brake_job(shop, tech["id"])
    shop.clock.advance(days=3)
    await shop.deliver(approved(shop.store_id, [labor("BRK-0210")], vin=VIN, approved_at=shop.clock.now()))
    day = shop.clock.now().date()
    report = (await shop.manager.get("/v1/reports/technicians",
                                     params={"from": (day - timedelta(days=1)).isoformat(), "to": day.isoformat()})).json()
    (row,) = report["technicians"]
    assert row["comebacks"] == 1
