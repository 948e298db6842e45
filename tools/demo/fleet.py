"""A store's customers and their cars, drawn once from the seed."""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from tools.demo.catalogue import GIVEN, MODELS, PLATE_PREFIX, SURNAMES, VIN_CHARS


@dataclass(frozen=True)
class Customer:
    name: str
    phone: str

    def as_payload(self) -> dict:
        return {"name": self.name, "phone": self.phone}


@dataclass
class Vehicle:
    vin: str
    plate: str
    model: str
    sold_at: date | None
    base_km: int
    km_per_day: float
    customer: Customer
    busy_until: date | None = None  # booked or in the workshop until this day
    visits: int = 0
    first_service_done: bool = False
    recall_due: str | None = None  # the code of an open recall the car is listed in, until it comes in for it

    def free_on(self, day: date) -> bool:
        return self.busy_until is None or self.busy_until < day

    def mileage(self, day_index: int) -> int:
        return int(self.base_km + self.km_per_day * (day_index + 1))

    def as_payload(self) -> dict:
        payload = {"vin": self.vin, "plate": self.plate, "model": self.model}
        if self.sold_at:
            payload["sold_at"] = self.sold_at.isoformat()
        return payload


def random_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


class CustomerBase:
    """The cars a store sees: some families own two; a few cars' sale dates are unknown."""

    def __init__(self, vehicles: list[Vehicle] | None = None) -> None:
        self.vehicles = vehicles or []

    @classmethod
    def draw(cls, rng: random.Random, *, count: int, store_index: int, city: str, first_day: date) -> CustomerBase:
        prefix = PLATE_PREFIX.get(city, "沪")
        customers: list[Customer] = []
        vehicles: list[Vehicle] = []
        seen: set[str] = set()
        for i in range(count):
            if customers and rng.random() < 0.08:
                customer = rng.choice(customers)  # a family with two cars
            else:
                name = random_name(rng)
                customer = Customer(name, f"1{rng.choice('3589')}{rng.randint(0, 9)}{store_index:02d}{i:06d}")
                customers.append(customer)
            model = rng.choice(MODELS)
            vin = ""
            while not vin or vin in seen:
                vin = "LXB" + model.vin_code + "".join(rng.choice(VIN_CHARS) for _ in range(12))
            seen.add(vin)
            letter = "ABCDEFGHJKLMN"[rng.randint(0, 12)] if len(prefix) == 1 else ""
            plate = prefix + letter + "".join(rng.choice("0123456789ABCDEFGHJK") for _ in range(5))
            age_days = rng.choices([rng.randint(20, 250), rng.randint(250, 1100), rng.randint(1100, 2900)],
                                   [25, 45, 30])[0]
            sold_at = first_day - timedelta(days=age_days) if rng.random() > 0.08 else None
            km_per_day = rng.uniform(20, 70)
            base_km = int(age_days * km_per_day * rng.uniform(0.8, 1.2)) + 50
            vehicles.append(Vehicle(vin, plate, model.name, sold_at, base_km, km_per_day, customer,
                                    first_service_done=age_days > 240))
        return cls(vehicles)

    def pick(self, rng: random.Random, day: date) -> Vehicle | None:
        """A car that is not already booked or in the workshop on `day`."""
        for _ in range(20):
            vehicle = rng.choice(self.vehicles)
            if vehicle.free_on(day):
                return vehicle
        return None

    def pick_recalled(self, rng: random.Random, day: date) -> Vehicle | None:
        """An owner who answers the recall letter: a listed car not yet fixed, free on `day`."""
        waiting = [v for v in self.vehicles if v.recall_due and v.free_on(day)]
        return rng.choice(waiting) if waiting else None
