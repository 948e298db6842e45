"""A client of the platform's public API (through the gateway), in the words of the
people who use it: HQ sets up a store and its staff keys; the advisor books, checks in,
quotes and settles; the technician works the jobs; the parts clerk issues parts; the
callback desk calls the customer; the store claims warranty from the brand.

Every write carries an Idempotency-Key, so a caller may retry any call after a network
error or a 5xx and still get exactly one effect."""
from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import httpx

STAFF_ROLES = ("store_manager", "service_advisor", "technician", "parts_clerk", "crm_agent")
RETRY_STATUSES = {502, 503, 504}


class ApiError(Exception):
    def __init__(self, method: str, path: str, status: int, body: Any) -> None:
        super().__init__(f"{method} {path} -> {status}: {body}")
        self.status, self.body = status, body


class Api:
    """One API key's view of the platform."""

    def __init__(self, http: httpx.AsyncClient, key: str, *, retries: int = 8) -> None:
        self.http, self.key, self.retries = http, key, retries

    async def call(self, method: str, path: str, json: Any = None, *, params: dict | None = None,
                   expect: tuple[int, ...] = (200, 201), idempotency_key: str | None = None) -> Any:
        headers = {"Authorization": f"Bearer {self.key}"}
        if method == "POST":
            headers["Idempotency-Key"] = idempotency_key or uuid.uuid4().hex
        delay = 0.2
        for attempt in range(self.retries + 1):
            try:
                response = await self.http.request(method, path, json=json, params=params, headers=headers)
            except (httpx.TransportError, httpx.TimeoutException):
                if attempt == self.retries:
                    raise
                await asyncio.sleep(delay)
                delay = min(delay * 2, 3.0)
                continue
            if response.status_code in RETRY_STATUSES and attempt < self.retries:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 3.0)
                continue
            if response.status_code == 429 and attempt < self.retries:
                await asyncio.sleep(min(float(response.headers.get("Retry-After", "1")), 5.0))
                continue
            is_json = response.content and "json" in response.headers.get("content-type", "")
            body = response.json() if is_json else response.text
            if response.status_code not in expect:
                raise ApiError(method, path, response.status_code, body)
            return body
        raise AssertionError("unreachable")

    async def get(self, path: str, **params) -> Any:
        return await self.call("GET", path, params={k: v for k, v in params.items() if v is not None})

    async def post(self, path: str, json: Any = None, **kw) -> Any:
        return await self.call("POST", path, json if json is not None else {}, **kw)


async def wait_for(check: Callable[[], Awaitable[Any]], timeout: float = 60.0, interval: float = 0.1,
                   what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(interval)


@dataclass
class Store:
    id: str
    code: str
    timezone: str
    staff: dict[str, Api]
    principal_ids: dict[str, str]
    technician_id: str | None = None

    @property
    def manager(self) -> Api:
        return self.staff["store_manager"]

    @property
    def advisor(self) -> Api:
        return self.staff["service_advisor"]

    @property
    def technician(self) -> Api:
        return self.staff["technician"]

    @property
    def parts_clerk(self) -> Api:
        return self.staff["parts_clerk"]

    @property
    def crm_agent(self) -> Api:
        return self.staff["crm_agent"]


class IssuedKey(NamedTuple):
    id: str  # the key's id: the principal id of whoever holds it
    key: str  # the secret, shown once


async def issue_key(hq: Api, role: str, store_id: str | None, label: str) -> IssuedKey:
    issued = await hq.post("/api/network/v1/api-keys", {"role": role, "store_id": store_id, "label": label})
    return IssuedKey(issued["id"], issued["key"])


async def open_store(hq: Api, http: httpx.AsyncClient, *, code: str, name: str, region: str = "East",
                     city: str = "Shanghai", timezone_name: str = "Asia/Shanghai", skills: list[str] | None = None,
                     stock: dict[str, int] | None = None) -> Store:
    """HQ creates a dealer store and its staff keys; the manager registers a technician
    and the parts clerk receives opening stock."""
    created = await hq.post("/api/network/v1/stores", {"code": code, "name": name, "kind": "dealer_store",
                                                       "region": region, "city": city, "timezone": timezone_name})
    return await staff_store(hq, http, created, skills=skills, stock=stock)


async def staff_store(hq: Api, http: httpx.AsyncClient, store: dict, *, skills: list[str] | None = None,
                      stock: dict[str, int] | None = None) -> Store:
    staff, principals = {}, {}
    for role in STAFF_ROLES:
        key_id, key = await issue_key(hq, role, store["id"], f"{store['code']} {role}")
        staff[role], principals[role] = Api(http, key), key_id
    result = Store(id=store["id"], code=store["code"], timezone=store.get("timezone", "Asia/Shanghai"),
                   staff=staff, principal_ids=principals)
    # The store is known to workshop once network's event arrived; retry until then.
    technician = await until_known(lambda: result.manager.post("/api/workshop/v1/technicians", {
        "name": f"Technician of {store['code']}",
        "skills": skills or ["maintenance", "brakes", "diagnosis", "electrical", "engine", "suspension",
                             "climate", "inspection", "tyres", "transmission", "body", "recall"],
        "principal_id": principals["technician"],
    }))
    result.technician_id = technician["id"]
    if stock:
        await until_known(lambda: result.parts_clerk.post("/api/workshop/v1/stock/receipts", {
            "reference": f"opening-{store['code']}",
            "lines": [{"part_no": p, "qty": q, "unit_cost_fen": 1} for p, q in stock.items()],
        }))
    return result


async def all_items(api: Api, path: str, **params) -> list[dict]:
    """Every item of a paged list, following `next_cursor`."""
    items, cursor = [], None
    while True:
        page = await api.get(path, limit=200, cursor=cursor, **params)
        items += page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            return items


async def until_known(call: Callable[[], Awaitable[Any]], timeout: float = 30.0) -> Any:
    """A store created a moment ago may not have reached a service yet (404/409/422)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await call()
        except ApiError as exc:
            if exc.status not in (404, 409, 422) or time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


@dataclass
class OrderPlan:
    """What the car comes in for."""

    vin: str
    phone: str
    customer_name: str = "Li Wei"
    plate: str = "沪A12345"
    model: str = "Sedan 1.5T"
    sold_at: str | None = None
    mileage_km: int = 20000
    labour: list[tuple[str, str]] = field(default_factory=lambda: [("MNT-0100", "customer")])  # (op_code, pay_type)
    parts: list[tuple[str, int, str]] = field(default_factory=lambda: [("XB-15400-001", 1, "customer")])
    complaint: str = "Periodic maintenance due"
    appointment_at: datetime | None = None


async def repair_order_life(store: Store, plan: OrderPlan, *, timeout: float = 60.0) -> dict:
    """Take one car from appointment (or walk-in) to handover. Returns the delivered order."""
    customer = {"name": plan.customer_name, "phone": plan.phone}
    vehicle = {"vin": plan.vin, "plate": plan.plate, "model": plan.model}
    if plan.sold_at:
        vehicle["sold_at"] = plan.sold_at
    check_in: dict[str, Any] = {
        "mileage_km": plan.mileage_km, "complaint": plan.complaint,
        "inspection": {"fuel_level": "half", "exterior_damage": [], "warning_lights": [], "valuables": [], "notes": ""},
    }
    if plan.appointment_at is not None:
        appointment = await store.advisor.post("/api/reception/v1/appointments", {
            "customer": customer, "vehicle": vehicle, "service_type": "maintenance",
            "scheduled_at": plan.appointment_at.isoformat()})
        check_in["appointment_id"] = appointment["id"]
    else:
        check_in.update(customer=customer, vehicle=vehicle)
    order = await store.advisor.post("/api/reception/v1/repair-orders", check_in)
    ro = order["id"]
    for op_code, pay_type in plan.labour:
        await store.advisor.post(f"/api/reception/v1/repair-orders/{ro}/lines",
                                 {"kind": "labor", "op_code": op_code, "pay_type": pay_type})
    for part_no, qty, pay_type in plan.parts:
        await store.advisor.post(f"/api/reception/v1/repair-orders/{ro}/lines",
                                 {"kind": "part", "part_no": part_no, "quantity": str(qty), "pay_type": pay_type})
    await store.advisor.post(f"/api/reception/v1/repair-orders/{ro}/estimate")
    await store.advisor.post(f"/api/reception/v1/repair-orders/{ro}/approve",
                             {"approved_by": plan.customer_name, "channel": "in_person"})
    await work_the_order(store, ro, jobs_expected=len(plan.labour), parts_expected=len(plan.parts), timeout=timeout)
    ready = await wait_for(lambda: _status_is(store.advisor, ro, "ready"), timeout, what=f"order {ro} ready")
    due = ready["totals"]["customer_due_fen"]
    payments = [{"method": "wechat_pay", "amount_fen": due}] if due > 0 else []
    await store.advisor.post(f"/api/reception/v1/repair-orders/{ro}/settle", {"payments": payments})
    return await store.advisor.post(f"/api/reception/v1/repair-orders/{ro}/deliver", {"explained": True})


async def _status_is(api: Api, ro: str, status: str) -> dict | None:
    order = await api.get(f"/api/reception/v1/repair-orders/{ro}")
    return order if order["status"] == status else None


async def work_the_order(store: Store, ro: str, *, jobs_expected: int, parts_expected: int,
                         timeout: float = 60.0) -> None:
    """The workshop side: assign, start, complete and quality-check every job; issue every part."""

    async def jobs_made():
        page = await store.technician.get("/api/workshop/v1/jobs", repair_order_id=ro, limit=200)
        return page["items"] if len(page["items"]) >= jobs_expected else None

    jobs = await wait_for(jobs_made, timeout, what=f"jobs of {ro}") if jobs_expected else []
    for job in jobs:
        path = f"/api/workshop/v1/jobs/{job['id']}"
        await store.manager.post(f"{path}/assign", {"technician_id": store.technician_id})
        await store.technician.post(f"{path}/start")
        await store.technician.post(f"{path}/complete", {"notes": "done"})
        await store.manager.post(f"{path}/qc", {"result": "pass", "notes": "checked"})

    async def reservations_made():
        page = await store.parts_clerk.get("/api/workshop/v1/reservations", repair_order_id=ro, limit=200)
        return page["items"] if len(page["items"]) >= parts_expected else None

    reservations = await wait_for(reservations_made, timeout, what=f"reservations of {ro}") if parts_expected else []
    for reservation in reservations:
        if reservation["status"] != "issued":
            await store.parts_clerk.post(f"/api/workshop/v1/reservations/{reservation['id']}/issue")


async def first_callback(store: Store, ro: str, timeout: float = 60.0) -> dict:
    async def made():
        page = await store.crm_agent.get("/api/crm/v1/callbacks", repair_order_id=ro)
        return page["items"][0] if page["items"] else None

    return await wait_for(made, timeout, what=f"callback of {ro}")


def now_utc() -> datetime:
    return datetime.now(UTC)


def store_today(zone: str = "Asia/Shanghai") -> date:
    """The store's local day: KPIs are counted and settlement periods close by it, so from
    16:00 UTC a Shanghai store is already a day ahead of the UTC date."""
    return now_utc().astimezone(ZoneInfo(zone)).date()


def next_slot(hours_ahead: int = 2, zone: str = "Asia/Shanghai", first_hour: int = 8, last_hour: int = 17) -> datetime:
    """The first whole hour at least `hours_ahead` away that the store takes bookings for
    (slot starts `first_hour`..`last_hour` in its time zone, reception's defaults)."""
    local = (now_utc() + timedelta(hours=hours_ahead)).astimezone(ZoneInfo(zone))
    past_the_hour = timedelta(hours=1) if local.minute or local.second else timedelta()
    t = local.replace(minute=0, second=0, microsecond=0) + past_the_hour
    while not first_hour <= t.hour <= last_hour:
        t += timedelta(hours=1)
    return t.astimezone(UTC)
