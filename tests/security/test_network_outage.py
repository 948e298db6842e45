"""network killed outright: keys the gateway has seen keep working on the other
services, a key never seen is 503 (not let in, not called unknown), network's own routes
are 503, and everything is back once network is."""
from __future__ import annotations

import secrets

from tests.security.helpers import new_key, new_store, poll


def test_cached_keys_ride_out_a_network_outage(platform):
    assert "reception" in platform.services, "needs a service besides network"
    with platform.api(platform.bootstrap_key) as hq:
        store = new_store(hq)
        key = new_key(hq, "store_manager", store["id"])
    network = platform.services["network"]
    with platform.api(key["key"]) as manager, platform.api("ak_" + secrets.token_urlsafe(32)) as stranger:
        assert manager.get("/api/reception/v1/repair-orders").status_code == 200
        network.kill()
        try:
            assert manager.get("/api/reception/v1/repair-orders").status_code == 200
            refused = stranger.get("/api/reception/v1/repair-orders")
            assert refused.status_code == 503 and refused.headers["retry-after"] == "5"
            assert "cannot be checked" in refused.json()["detail"]
            down = manager.get("/api/network/v1/stores")
            assert down.status_code == 503 and down.json()["service"] == "network"
        finally:
            network.start().wait_ready(120)
        poll(lambda: stranger.get("/api/reception/v1/repair-orders").status_code == 401, 10,
             "unknown keys not refused after network came back")
        assert manager.get("/api/network/v1/stores").status_code == 200
    platform.wait_key_feed(60)
