"""Making stores and keys through the gateway, as HQ would."""
from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import httpx

from services.common.identity import HQ_ROLES as _HQ_ROLES
from services.common.identity import STORE_ROLES as _STORE_ROLES

# Every caller role the platform knows, so a new role is tried by the matrix tests at once.
STORE_ROLES = tuple(sorted(_STORE_ROLES))
HQ_ROLES = tuple(sorted(_HQ_ROLES))


def new_store(hq: httpx.Client, *, kind: str = "dealer_store", timezone: str | None = None) -> dict:
    code = "T-" + uuid.uuid4().hex[:8].upper()
    body = {"code": code, "name": f"Store {code}", "kind": kind, "region": "East", "city": "Shanghai"}
    if timezone:
        body["timezone"] = timezone
    response = hq.post("/api/network/v1/stores", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def new_key(hq: httpx.Client, role: str, store_id: str | None = None, label: str | None = None) -> dict:
    body = {"role": role, "label": label or f"{role} key"}
    if store_id and role not in HQ_ROLES:
        body["store_id"] = store_id
    response = hq.post("/api/network/v1/api-keys", json=body)
    assert response.status_code == 201, response.text
    return response.json()


VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"


def new_vin() -> str:
    raw = uuid.uuid4().int
    return "".join(VIN_CHARS[(raw >> (5 * i)) % len(VIN_CHARS)] for i in range(17))


def walk_in(client: httpx.Client, store_id: str | None = None, **extra) -> httpx.Response:
    """A walk-in check-in at reception (a repair order with no appointment)."""
    body = {"customer": {"name": "Wang Fang", "phone": "13800138000"},
            "vehicle": {"vin": new_vin(), "plate": "沪A12345", "model": "Sedan"},
            "mileage_km": 12000, "complaint": "brake noise",
            "inspection": {"fuel_level": "half", "exterior_damage": [], "warning_lights": [], "valuables": [],
                           "notes": ""}}
    if store_id:
        body["store_id"] = store_id
    body.update(extra)
    return client.post("/api/reception/v1/repair-orders", json=body)


def new_complaint(client: httpx.Client, store_id: str | None = None, **headers) -> httpx.Response:
    body = {"department": "reception", "severity": "low", "description": "waited too long at reception"}
    if store_id:
        body["store_id"] = store_id
    return client.post("/api/crm/v1/complaints", json=body, headers=headers)


def new_technician(client: httpx.Client, store_id: str | None = None, **headers) -> httpx.Response:
    body = {"name": "Li Wei", "skills": ["engine"]}
    if store_id:
        body["store_id"] = store_id
    return client.post("/api/workshop/v1/technicians", json=body, headers=headers)


def midday_zone(now: datetime | None = None) -> str:
    """An IANA zone where it is now between noon and one o'clock: a store there takes
    bookings for the next minutes whatever the hour the tests run (its booking hours are
    local). Etc/GMT-N is N hours ahead of UTC."""
    offset = 12 - (now or datetime.now(UTC)).hour
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


def all_items(http: httpx.Client, url: str, **params) -> list[dict]:
    """Every item of a list, following next_cursor."""
    items: list[dict] = []
    cursor = None
    while True:
        response = http.get(url, params={**params, "limit": 200, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, f"GET {url}: {response.status_code} {response.text}"
        page = response.json()
        items.extend(page["items"])
        cursor = page.get("next_cursor")
        if not cursor:
            return items


def until(fetch, timeout: float, message: str, interval: float = 0.1):
    """The first truthy value `fetch()` returns; fails after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(message)
        time.sleep(interval)


def poll(check, timeout: float, message: str, interval: float = 0.1) -> float:
    """Seconds until `check()` was true; fails after `timeout`."""
    started = time.monotonic()
    while True:
        if check():
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise AssertionError(message)
        time.sleep(interval)
