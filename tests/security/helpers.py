"""Making stores and keys through the gateway, as HQ would."""
from __future__ import annotations

import uuid

import httpx

STORE_ROLES = ("store_manager", "service_advisor", "technician", "parts_clerk", "crm_agent", "outlet_api")
HQ_ROLES = ("hq_admin", "hq_analyst")


def new_store(hq: httpx.Client, *, kind: str = "dealer_store") -> dict:
    code = "T-" + uuid.uuid4().hex[:8].upper()
    response = hq.post("/api/network/v1/stores", json={"code": code, "name": f"Store {code}", "kind": kind,
                                                       "region": "East", "city": "Shanghai"})
    assert response.status_code == 201, response.text
    return response.json()


def new_key(hq: httpx.Client, role: str, store_id: str | None = None, label: str | None = None) -> dict:
    body = {"role": role, "label": label or f"{role} key"}
    if store_id and role not in HQ_ROLES:
        body["store_id"] = store_id
    response = hq.post("/api/network/v1/api-keys", json=body)
    assert response.status_code == 201, response.text
    return response.json()
