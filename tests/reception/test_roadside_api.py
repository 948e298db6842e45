"""24-hour roadside assistance: timestamps, response minutes, and a tow opening a repair order."""
from datetime import datetime, timezone

from tests.reception import factories

# 02:40 at night in Shanghai: assistance runs around the clock.
NIGHT = datetime(2026, 12, 1, 18, 40, tzinfo=timezone.utc)


async def _step(reception, req: dict, action: str, body: dict | None = None) -> dict:
    r = await reception.advisor.post(f"/v1/roadside-requests/{req['id']}/{action}", json=body)
    assert r.status_code == 200, r.text
    return r.json()


async def test_request_dispatch_arrive_resolve_keeps_timestamps_and_response_minutes(reception):
    reception.clock.set(NIGHT)
    r = await reception.advisor.post("/v1/roadside-requests", json=factories.roadside())
    assert r.status_code == 201, r.text
    req = r.json()
    assert req["status"] == "requested" and req["location"]["lat"] == "31.230416"
    reception.clock.advance(minutes=4)
    req = await _step(reception, req, "dispatch", {"responder": "Roadside van 2, Chen", "eta_minutes": 30})
    reception.clock.advance(minutes=33, seconds=30)
    req = await _step(reception, req, "arrive")
    assert req["response_minutes"] == "37.5"
    reception.clock.advance(minutes=20)
    req = await _step(reception, req, "resolve", {"outcome": "repaired_on_site", "notes": "battery jump-started"})
    assert (req["status"], req["outcome"], req["repair_order_id"]) == ("resolved", "repaired_on_site", None)
    assert (req["requested_at"], req["dispatched_at"], req["arrived_at"], req["resolved_at"]) == (
        "2026-12-01T18:40:00Z", "2026-12-01T18:44:00Z", "2026-12-01T19:17:30Z", "2026-12-01T19:37:30Z")
    assert [h["to_status"] for h in req["history"]] == ["requested", "dispatched", "arrived", "resolved"]
    (requested,) = await reception.outbox("reception.roadside.requested")
    (resolved,) = await reception.outbox("reception.roadside.resolved")
    assert requested["data"]["problem"] == "engine stalled, will not restart"
    assert resolved["data"]["response_minutes"] == "37.5"
    assert resolved["data"]["arrived_at"] == "2026-12-01T19:17:30Z"
    assert resolved["data"]["outcome"] == "repaired_on_site"


async def test_a_tow_opens_a_repair_order_for_the_car(reception):
    req = (await reception.advisor.post("/v1/roadside-requests", json=factories.roadside())).json()
    await _step(reception, req, "dispatch", {"responder": "Tow truck 1"})
    await _step(reception, req, "arrive")
    r = await reception.advisor.post(f"/v1/roadside-requests/{req['id']}/resolve", json={"outcome": "towed"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "mileage_km"  # a car this store never saw
    req = await _step(reception, req, "resolve", {"outcome": "towed", "mileage_km": 56000})
    order = await reception.get_order({"id": req["repair_order_id"]})
    assert (order["status"], order["roadside_id"], order["mileage_km"]) == ("open", req["id"], 56000)
    assert order["vehicle"]["vin"] == req["vehicle"]["vin"] and order["inspection"] is None
    assert order["complaint"] == "Towed in after roadside assistance: engine stalled, will not restart"
    assert order["number"] == "SH-PD-01-20261201-0001"
    assert order["history"][0]["action"] == "tow_in"
    (opened,) = await reception.outbox("reception.repair_order.opened")
    (resolved,) = await reception.outbox("reception.roadside.resolved")
    assert opened["data"]["roadside_id"] == req["id"]
    assert resolved["data"]["repair_order_id"] == order["id"]


async def test_a_tow_of_a_known_car_takes_its_last_mileage(reception):
    car = factories.vehicle()
    await reception.open_order(vehicle=car, mileage_km=41000)
    req = (await reception.advisor.post("/v1/roadside-requests", json=factories.roadside(vehicle=car))).json()
    await _step(reception, req, "dispatch", {"responder": "Tow truck 1"})
    await _step(reception, req, "arrive")
    req = await _step(reception, req, "resolve", {"outcome": "towed", "complaint": "no start, fuel pump suspected"})
    order = await reception.get_order({"id": req["repair_order_id"]})
    assert order["mileage_km"] == 41000 and order["complaint"] == "no start, fuel pump suspected"


async def test_a_caller_may_cancel_before_anyone_arrives(reception):
    req = (await reception.advisor.post("/v1/roadside-requests", json=factories.roadside())).json()
    req = await _step(reception, req, "resolve", {"outcome": "customer_cancelled"})
    assert req["status"] == "resolved" and req["arrived_at"] is None and req["response_minutes"] is None


async def test_roadside_requests_are_scoped_to_the_store(reception):
    req = (await reception.advisor.post("/v1/roadside-requests", json=factories.roadside())).json()
    assert (await reception.other_advisor.get(f"/v1/roadside-requests/{req['id']}")).status_code == 404
    r = await reception.other_advisor.post(f"/v1/roadside-requests/{req['id']}/dispatch", json={"responder": "x"})
    assert r.status_code == 404
    assert (await reception.other_advisor.get("/v1/roadside-requests")).json()["items"] == []
    listed = (await reception.advisor.get("/v1/roadside-requests?status=requested")).json()["items"]
    assert [x["id"] for x in listed] == [req["id"]]
