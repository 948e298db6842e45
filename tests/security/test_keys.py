"""API keys at the real gateway against the real network service: missing, malformed,
unknown, revoked keys and suspended stores."""
from __future__ import annotations


import httpx

from tests.security.helpers import new_key, new_store, poll
from tests.support.platform import eventually


def assert_problem(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return response.json()


def test_missing_malformed_and_unknown_keys_are_401(platform):
    with platform.api() as anonymous:
        assert_problem(anonymous.get("/api/network/v1/stores"), 401)
        for header in ("Bearer", "Token abc", "Bearer not a key", "Bearer ak_" + "x" * 300):
            assert_problem(anonymous.get("/api/network/v1/stores", headers={"Authorization": header}), 401)
    with platform.api("ak_" + "A" * 43) as forged:
        assert assert_problem(forged.get("/api/network/v1/stores"), 401)["detail"] == "unknown API key"


def test_the_bootstrap_key_is_an_hq_admin(platform):
    with platform.api(platform.bootstrap_key) as hq:
        assert hq.get("/api/network/v1/stores").status_code == 200
        assert hq.get("/api/network/v1/api-keys").status_code == 200


def test_a_revoked_key_stops_working_within_five_seconds(platform):
    with platform.api(platform.bootstrap_key) as hq:
        store = new_store(hq)
        key = new_key(hq, "store_manager", store["id"])
        with platform.api(key["key"]) as manager:
            assert manager.get(f"/api/network/v1/stores/{store['id']}").status_code == 200  # now cached
            assert hq.delete(f"/api/network/v1/api-keys/{key['id']}").status_code == 200
            took = poll(lambda: manager.get("/api/network/v1/stores").status_code == 401, 5,
                        "revoked key still accepted after 5 s", interval=0.05)
            assert took < 5
            assert assert_problem(manager.get("/api/network/v1/stores"), 401)["detail"] == "API key revoked"


def test_a_suspended_stores_keys_get_403_within_five_seconds_and_its_data_stays(platform):
    with platform.api(platform.bootstrap_key) as hq:
        store = new_store(hq)
        key = new_key(hq, "service_advisor", store["id"])
        manager_key = new_key(hq, "store_manager", store["id"])
        with platform.api(key["key"]) as advisor, platform.api(manager_key["key"]) as manager:
            assert manager.get(f"/api/network/v1/stores/{store['id']}").status_code == 200
            suspended = hq.post(f"/api/network/v1/stores/{store['id']}/suspend", json={"reason": "failed audit"})
            assert suspended.status_code == 200, suspended.text
            poll(lambda: manager.get("/api/network/v1/stores").status_code == 403, 5,
                 "suspended store's key still accepted after 5 s", interval=0.05)
            assert "suspended" in assert_problem(advisor.get("/api/network/v1/stores"), 403)["detail"]
        assert hq.get(f"/api/network/v1/stores/{store['id']}").json()["status"] == "suspended"


def test_keys_cannot_be_issued_to_or_by_the_wrong_callers(platform):
    with platform.api(platform.bootstrap_key) as hq:
        store = new_store(hq)
        analyst = new_key(hq, "hq_analyst")
        with platform.api(analyst["key"]) as reader:
            assert_problem(reader.post("/api/network/v1/api-keys", json={"role": "hq_admin", "label": "x"}), 403)
        # "system" is the gateway's own role, never a caller's.
        refused = hq.post("/api/network/v1/api-keys", json={"role": "system", "label": "x"})
        assert refused.status_code == 422
        refused = hq.post("/api/network/v1/api-keys", json={"role": "technician", "label": "x"})
        assert refused.status_code == 422
        assert new_key(hq, "technician", store["id"])["key"].startswith("ak_")


async def test_concurrent_first_uses_of_a_key_all_succeed(platform):
    with platform.api(platform.bootstrap_key) as hq:
        store = new_store(hq)
        key = new_key(hq, "store_manager", store["id"])
    async with platform.async_api(key["key"]) as manager:
        import asyncio

        answers = await asyncio.gather(*(manager.get("/api/network/v1/stores") for _ in range(20)))
        assert [a.status_code for a in answers] == [200] * 20

        async def listed():
            r = await manager.get("/api/network/v1/stores")
            return [s["id"] for s in r.json()["items"]] == [store["id"]]

        await eventually(listed, timeout=5)
