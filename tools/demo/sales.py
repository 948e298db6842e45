"""New cars sold at a dealer store, as sales hands them over to after-sales: the warranty
clerk's PDI sheet before delivery (a defect now and then, fixed before the buyer sees it;
once in a while one that is not, and the car waits a day), then the warranty registration
at sale. The new car joins the store's customers and comes back for its first maintenance."""
from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import partial
from typing import TYPE_CHECKING

from services.common import reference
from tools.demo.agenda import DESK, FREE
from tools.demo.catalogue import MODELS, VIN_CHARS
from tools.demo.fleet import Customer, Vehicle, random_name
from tools.demo.summary import Tally

if TYPE_CHECKING:
    from tools.demo.runner import Demo
    from tools.demo.store import StoreSim

# A new owner's first visit is weeks away at the earliest.
FIRST_VISIT_AFTER_DAYS = 21
DEFECTS = [
    ("exterior_paint", "scratch on the rear bumper from transport", "polished out"),
    ("tyre_pressure", "tyres at transport pressure (3.5 bar)", "set to the placard value"),
    ("transport_mode_off", "transport mode still on", "switched off with the diagnostic tester"),
    ("interior_trim", "protective film left on the door trims", "removed, trims cleaned"),
    ("battery_voltage", "battery at 12.1 V after the sea crossing", "charged and tested"),
    ("lights", "right rear indicator bulb out", "bulb replaced"),
]


@dataclass
class Sale:
    key: str  # the story's name: store code and sale number
    vehicle: Vehicle
    sold_on: date
    mileage_km: int
    defect: tuple[str, str, str] | None  # item, what was found, what was done
    defect_fixed_late: bool  # found and not fixed in time: the car waits a day
    sheets: list[dict] = field(default_factory=list)


class NewCarSales:
    def __init__(self, store: StoreSim) -> None:
        self.store = store
        self.demo = store.demo
        self.count = 0

    def sell(self, rng: random.Random, day_index: int, day: date) -> None:
        """One sale of the day (the store draws how many): the PDI in the morning."""
        store = self.store
        self.count += 1
        sale = self.draw(rng, day_index, day)
        store.at(store.local(day, rng.randint(9, 11)), f"PDI {sale.key}", partial(self.inspect, sale), FREE, sale.key)

    def draw(self, rng: random.Random, day_index: int, day: date) -> Sale:
        """The buyer and the car, fixed when the sale is planned; the car is on the store's
        books from then, not yet due for anything."""
        store = self.store
        model = rng.choice(MODELS)
        known = {v.vin for v in store.customers.vehicles}
        vin = ""
        while not vin or vin in known:
            vin = "LXB" + model.vin_code + "T" + "".join(rng.choice(VIN_CHARS) for _ in range(11))
        buyer = Customer(random_name(rng), f"17{store.index:02d}{self.count:07d}")
        defect = rng.choice(DEFECTS) if rng.random() < 0.2 else None
        late = defect is not None and rng.random() < 0.15
        mileage = rng.randint(5, 40)
        km_per_day = rng.uniform(25, 70)
        base_km = int(mileage - km_per_day * (day_index + 1))
        # Sold (invoiced) today: warranty runs from the sale; the buyer drives off after the PDI.
        vehicle = Vehicle(vin, f"临{rng.randint(10000, 99999)}", model.name, day, base_km, km_per_day, buyer,
                          busy_until=day + timedelta(days=FIRST_VISIT_AFTER_DAYS))
        store.customers.vehicles.append(vehicle)
        return Sale(f"{store.code}:sale:{self.count:05d}", vehicle, day, mileage, defect, late)

    def sheet(self, sale: Sale, on: date, fixed: bool) -> dict:
        items = [{"code": item["code"], "ok": True} for item in reference.load("pdi_checklist")["items"]]
        defects = []
        if sale.defect:
            code, found, done = sale.defect
            for item in items:
                if item["code"] == code:
                    item["ok"] = False
            defects.append({"item_code": code, "description": found, "fixed": fixed, "fix": done if fixed else None})
        return {"inspected_on": on.isoformat(), "items": items, "defects": defects}

    async def inspect(self, sale: Sale) -> None:
        """The PDI sheet; a defect not fixed in time holds the car to the next day's sheet."""
        store = self.store
        clerk = store.keys["warranty_clerk"]
        today = self.demo.day
        answer = await clerk.post(f"/api/network/v1/vehicles/{sale.vehicle.vin}/pdi",
                                  self.sheet(sale, today, fixed=not sale.defect_fixed_late or len(sale.sheets) > 0))
        sale.sheets.append(answer)
        self.demo.count(Tally.PDI_SHEETS)
        if sale.defect and len(sale.sheets) == 1:
            self.demo.count(Tally.PDI_DEFECTS)
        if not answer["all_fixed"]:
            tomorrow = today + timedelta(days=1)
            store.at(store.local(tomorrow, 10), f"PDI again {sale.key}", lambda: self.inspect(sale), FREE, sale.key)
            return
        store.at(store.local(today, 16), f"register {sale.key}", lambda: self.register(sale), FREE, sale.key)
        if sale.defect and self.demo.features.claim_kinds:
            # The defect fixed before delivery is the brand's: the clerk claims it the next day.
            store.at(store.local(today + timedelta(days=1), 11), f"PDI claim {sale.key}",
                     partial(self.claim, sale, answer["id"]), FREE, sale.key)

    async def claim(self, sale: Sale, sheet_id: str) -> None:
        """A PDI claim: the sheet's fixed defects, priced by the checklist item's operation.
        HQ approves it two days later (a defect on the sheet needs no further proof)."""
        claim = await self.store.keys["warranty_clerk"].post("/api/network/v1/claims", {
            "kind": "pdi", "vin": sale.vehicle.vin, "pdi_inspection_id": sheet_id,
            "complaint": "Defect found at the pre-delivery inspection", "cause": "transport and storage",
            "correction": "fixed before delivery, see the PDI sheet"})
        self.demo.count(Tally.CLAIMS_SUBMITTED)
        self.demo.count(Tally.PDI_CLAIMS)
        hq = self.demo.hq
        hq.at(hq.local(self.demo.day + timedelta(days=2), 14), f"review PDI claim {sale.key}",
              partial(self.approve, claim["id"]), DESK, sale.key)

    async def approve(self, claim_id: str) -> None:
        decided = await self.demo.hq_api.post(f"/api/network/v1/claims/{claim_id}/decision",
                                              {"decision": "approve", "reason_code": None, "note": "PDI sheet checked"})
        self.demo.count(Tally.CLAIMS_APPROVED if decided["status"] == "approved" else Tally.CLAIMS_TO_SECOND_APPROVAL)

    async def register(self, sale: Sale) -> None:
        """The warranty registration at sale: warranty and first maintenance run from it."""
        store, vehicle = self.store, sale.vehicle
        await store.keys["warranty_clerk"].post("/api/network/v1/vehicles/registrations", {
            "vin": vehicle.vin, "buyer": vehicle.customer.as_payload(), "model": vehicle.model,
            "invoice_date": sale.sold_on.isoformat(), "delivery_date": self.demo.day.isoformat(),
            "mileage_at_delivery_km": sale.mileage_km, "store_id": store.id})
        self.demo.count(Tally.REGISTRATIONS)


# Cars sold this long before the replay are in the brand's registrations (warranty, first
# maintenance and the Three Guarantees run from them); older sales predate the platform.
REGISTERED_WITHIN_DAYS = 365


async def register_sold_before(demo: Demo) -> None:
    """The evening before the first day: HQ loads the sales system's registrations of the
    customers' cars sold in the last year, each under the dealer store that sold it (a
    partner outlet's customers bought theirs at the group's first dealer store)."""
    dealers = [s for s in demo.stores if not s.outlet and s.id]
    if not dealers:
        return
    rng = random.Random(f"{demo.config.seed}:registered-before")
    bodies = []
    for store in demo.stores:
        seller = store if not store.outlet else dealers[0]
        for vehicle in store.customers.vehicles:
            if vehicle.sold_at is None or (demo.first_day - vehicle.sold_at).days > REGISTERED_WITHIN_DAYS:
                continue
            bodies.append({"vin": vehicle.vin, "buyer": vehicle.customer.as_payload(), "model": vehicle.model,
                           "invoice_date": vehicle.sold_at.isoformat(), "delivery_date": vehicle.sold_at.isoformat(),
                           "mileage_at_delivery_km": rng.randint(5, 40), "store_id": seller.id})
    for start in range(0, len(bodies), 8):
        await asyncio.gather(*(demo.hq_api.post("/api/network/v1/vehicles/registrations", body)
                               for body in bodies[start:start + 8]))
    demo.count(Tally.REGISTERED_BEFORE, len(bodies))
