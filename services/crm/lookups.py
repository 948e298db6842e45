"""What a batch of repair-order events will look up, loaded in one query per table.

A consumer applying a batch of deliveries in one transaction would otherwise ask for each
delivery's customer, vehicle, owners, order, callback and churn episode one at a time:
most of what a delivery cost to apply. `prefetch_for_orders` loads them for the whole
batch into the session; the repository functions answer from it, and the functions that
create or change those rows write their changes into it, so a later event of the same
batch sees what an earlier one did before anything is flushed. Outside a batch (the API,
single events) nothing is cached and every lookup goes to the database."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.tables import KnownStore

_KEY = "crm.lookups"


@dataclass
class Lookups:
    # Each dict holds an answer for every key it has, None meaning "no such row".
    customers: dict[tuple[str, str], object] = field(default_factory=dict)      # (store_id, phone)
    vehicles: dict[str, object] = field(default_factory=dict)                   # vin
    open_owners: dict[str, list] = field(default_factory=dict)                  # vin -> owners without `until`
    repair_orders: dict[str, object] = field(default_factory=dict)              # id
    callbacks: dict[str, object] = field(default_factory=dict)                  # origin_key
    open_episodes: dict[str, object] = field(default_factory=dict)              # customer_id
    # The session's identity map holds rows only while something refers to them: the
    # stores are kept here so that looking up a store's time zone by id finds them there.
    stores: dict[str, object] = field(default_factory=dict)                     # id


def lookups(session: AsyncSession) -> Lookups | None:
    return session.info.get(_KEY)


async def prefetch_for_orders(session: AsyncSession, events: list) -> None:
    """For repair-order events (customer, vehicle, repair_order_id, store_id)."""
    from services.crm.callbacks.models import Callback
    from services.crm.churn.models import ChurnEpisode
    from services.crm.customers.models import Customer, RepairOrder, Vehicle, VehicleOwner
    from services.crm.customers.service import normalize_phone

    cache = session.info.setdefault(_KEY, Lookups())
    phones = {(e.store_id, normalize_phone(e.customer.phone)) for e in events} - cache.customers.keys()
    vins = {e.vehicle.vin.strip().upper() for e in events} - cache.vehicles.keys()
    orders = {e.repair_order_id for e in events} - cache.repair_orders.keys()

    if phones:
        found = (await session.exec(select(Customer).where(
            Customer.phone.in_({p for _, p in phones}), Customer.store_id.in_({s for s, _ in phones})))).all()
        for customer in found:
            if (customer.store_id, customer.phone) in phones:
                cache.customers[(customer.store_id, customer.phone)] = customer
        for key in phones:
            cache.customers.setdefault(key, None)
        ids = [c.id for c in found if c.id not in cache.open_episodes]
        if ids:
            _fill(cache.open_episodes, ids, (await session.exec(
                select(ChurnEpisode).where(ChurnEpisode.open_key.in_(ids)))).all(), lambda e: e.open_key)
    if vins:
        found = (await session.exec(select(Vehicle).where(Vehicle.vin.in_(vins)))).all()
        _fill(cache.vehicles, vins, found, lambda v: v.vin)
        # Owners are written only together with their vehicle (know_vehicle): a vehicle
        # never seen has none, and a batch of new cars needs no query for them.
        known = [v.vin for v in found]
        if known:
            for owner in (await session.exec(select(VehicleOwner).where(
                    VehicleOwner.vin.in_(known), VehicleOwner.until.is_(None)))).all():
                cache.open_owners.setdefault(owner.vin, []).append(owner)
        for vin in vins:
            cache.open_owners.setdefault(vin, [])
    if orders:
        _fill(cache.repair_orders, orders, (await session.exec(
            select(RepairOrder).where(RepairOrder.id.in_(orders)))).all(), lambda o: o.id)
    # A first callback is written only with its delivered order (in the same transaction):
    # for an order there is no row of, there is no callback to look for.
    origins = {f"first:{e.repair_order_id}": cache.repair_orders.get(e.repair_order_id) is not None
               for e in events if f"first:{e.repair_order_id}" not in cache.callbacks}
    if any(origins.values()):
        wanted = [origin for origin, order_known in origins.items() if order_known]
        _fill(cache.callbacks, wanted, (await session.exec(
            select(Callback).where(Callback.origin_key.in_(wanted)))).all(), lambda c: c.origin_key)
    for origin in origins:
        cache.callbacks.setdefault(origin, None)
    stores = {e.store_id for e in events} - cache.stores.keys()
    if stores:
        _fill(cache.stores, stores, (await session.exec(select(KnownStore).where(KnownStore.id.in_(stores)))).all(),
              lambda s: s.id)


def _fill(answers: dict, keys, rows, key_of) -> None:
    """Each row under its key; every other key asked for answers None (no such row)."""
    for row in rows:
        answers[key_of(row)] = row
    for key in keys:
        answers.setdefault(key, None)


def remember(session: AsyncSession, table: str, key, value) -> None:
    """Record a row this transaction created or changed (no-op outside a batch)."""
    cache = lookups(session)
    if cache is not None:
        getattr(cache, table)[key] = value


def forget_open_owner(session: AsyncSession, vin: str, owner) -> None:
    cache = lookups(session)
    if cache is not None and vin in cache.open_owners:
        cache.open_owners[vin] = [o for o in cache.open_owners[vin] if o is not owner]


def add_open_owner(session: AsyncSession, vin: str, owner) -> None:
    cache = lookups(session)
    if cache is not None and vin in cache.open_owners:
        cache.open_owners[vin].append(owner)

