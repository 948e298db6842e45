"""A car that turns up at another store of the group keeps its owner, its home store and
its files: the visit is that store's own (its order, its customer, its callback), but the
vehicle's owner, the store its reminders go out from and what the home store keeps of it
change only through a transfer of ownership (issue 16), never by a visit elsewhere."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import select

from services.crm.customers.models import Vehicle, VehicleOwner
from tests.crm import factories as f

SHANGHAI = ZoneInfo("Asia/Shanghai")
VIN = "LSVAA4182E2100077"


def local(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


async def vehicle_row(crm) -> tuple[Vehicle, list[VehicleOwner]]:
    async with crm.app.state.db.transaction() as session:
        vehicle = await session.get(Vehicle, VIN)
        owners = (await session.exec(select(VehicleOwner).where(VehicleOwner.vin == VIN))).all()
        return vehicle, list(owners)


async def customer(crm, caller, phone: str) -> dict:
    [found] = (await caller.get("/v1/customers", params={"phone": phone})).json()["items"]
    return found


async def test_a_visit_at_another_store_with_another_phone_moves_no_owner_home_store_or_file(crm):
    car = f.car(vin=VIN, plate="沪A77777", model="Lavida")
    await crm.deliver(f.delivered(crm.store_id, local(2025, 6, 1, 16), vehicle=car,
                                  customer=f.person("车主", "13700000001")))
    before, _ = await vehicle_row(crm)
    owner = await customer(crm, crm.agent, "13700000001")

    # Months later someone brings the car to the Beijing store under another number and plate.
    elsewhere = f.car(vin=VIN, plate="京B00001", model="Other")
    beijing = crm.as_("crm_agent", "agent-beijing", store_id=crm.other_store_id)
    someone = f.person("某人", "13900000009")
    opened = f.opened(crm.other_store_id, local(2026, 2, 1, 9), vehicle=elsewhere, customer=someone)
    done = f.delivered(crm.other_store_id, local(2026, 2, 1, 16), vehicle=elsewhere, repair_order_id=opened.subject,
                       customer=someone)
    await crm.deliver(opened, done)

    vehicle, owners = await vehicle_row(crm)
    assert vehicle.home_store_id == crm.store_id
    assert (vehicle.customer_id, vehicle.owner_phone) == (owner["id"], "13700000001")
    assert vehicle.owner_since == before.owner_since
    assert (vehicle.plate, vehicle.model) == ("沪A77777", "Lavida")
    assert [(o.store_id, o.customer_id, o.until) for o in owners] == [(crm.store_id, owner["id"], None)]
    # The home store's file: the car is still its customer's, current.
    mine = await customer(crm, crm.agent, "13700000001")
    assert [(v["vin"], v["current"], v["until"]) for v in mine["vehicles"]] == [(VIN, True, None)]
    history = (await crm.agent.get(f"/v1/vehicles/{VIN}/history")).json()
    assert [(o["customer_id"], o["until"]) for o in history["owners"]] == [(owner["id"], None)]
    assert [v["store_id"] for v in history["items"]] == [crm.store_id]
    # The other store keeps its own visit, and who brought the car, without owning it.
    visitor = await customer(crm, beijing, "13900000009")
    assert visitor["vehicles"] == []
    theirs = (await beijing.get(f"/v1/vehicles/{VIN}/history")).json()
    assert theirs["owners"] == [] and [v["repair_order_id"] for v in theirs["items"]] == [done.subject]


async def test_the_owner_at_another_store_is_known_there_and_the_car_stays_at_home(crm):
    car = f.car(vin=VIN)
    await crm.deliver(f.delivered(crm.store_id, local(2025, 6, 1, 16), vehicle=car,
                                  customer=f.person("车主", "13700000001")))
    owner = await customer(crm, crm.agent, "13700000001")
    await crm.deliver(f.delivered(crm.other_store_id, local(2026, 2, 1, 16), vehicle=car,
                                  customer=f.person("车主", "137 0000 0001")))

    vehicle, owners = await vehicle_row(crm)
    assert (vehicle.home_store_id, vehicle.customer_id) == (crm.store_id, owner["id"])
    beijing = crm.as_("crm_agent", "agent-beijing", store_id=crm.other_store_id)
    there = await customer(crm, beijing, "13700000001")
    assert sorted((o.store_id, o.customer_id, o.until) for o in owners) == sorted(
        [(crm.store_id, owner["id"], None), (crm.other_store_id, there["id"], None)])
    assert [(v["vin"], v["current"]) for v in there["vehicles"]] == [(VIN, True)]
    assert [(v["vin"], v["current"]) for v in (await customer(crm, crm.agent, "13700000001"))["vehicles"]] == [
        (VIN, True)]
