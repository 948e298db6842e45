"""Every transition that is not allowed is 409 and names the current state."""
from datetime import timedelta

from tests.reception import factories

APPROVAL = {"approved_by": "Zhang Wei", "channel": "in_person"}
ORDER_STATES = ("open", "awaiting_approval", "approved", "in_progress", "ready", "settled", "delivered", "cancelled")
# What each action is allowed from; everything else must be 409.
ALLOWED = {
    "estimate": {"open"},
    "approve": {"awaiting_approval"},  # supplements aside: none are pending here
    "settle": {"ready"},
    "deliver": {"settled"},
    "cancel": {"open", "awaiting_approval", "approved"},
    "lines": {"open", "awaiting_approval", "approved", "in_progress"},
}


async def _order_in(reception, state: str) -> dict:
    if state == "open":
        return await reception.add_line(await reception.open_order(), factories.labour())
    if state == "awaiting_approval":
        return await reception.act(await _order_in(reception, "open"), "estimate")
    if state == "approved":
        return await reception.approved_order()
    if state == "in_progress":
        order = await reception.approved_order()
        await reception.deliver(factories.work_started(order, reception.clock.now()))
        return await reception.get_order(order)
    if state == "ready":
        return await reception.ready_order()
    if state == "settled":
        return await reception.settle(await reception.ready_order())
    if state == "delivered":
        return await reception.act(await _order_in(reception, "settled"), "deliver", {"explained": True})
    if state == "cancelled":
        return await reception.act(await reception.open_order(), "cancel")
    raise AssertionError(state)


def _body(action: str, order: dict) -> dict | None:
    return {
        "approve": APPROVAL,
        "settle": {"payments": [{"method": "cash", "amount_fen": due}] if (due := order["totals"]["customer_due_fen"]) else []},
        "deliver": {"explained": True},
        "lines": factories.labour("SUS-0320"),
    }.get(action)


async def test_every_repair_order_transition_not_allowed_is_409_naming_the_current_state(reception):
    wrong = []
    checked = 0
    for state in ORDER_STATES:
        order = await _order_in(reception, state)
        assert order["status"] == state
        for action, allowed_from in ALLOWED.items():
            if state in allowed_from:
                continue
            r = await reception.advisor.post(f"/v1/repair-orders/{order['id']}/{action}", json=_body(action, order))
            checked += 1
            body = r.json()
            if r.status_code != 409 or body.get("current_state") != state or state not in body.get("detail", ""):
                wrong.append((state, action, r.status_code, body))
        after = await reception.get_order(order)
        assert (after["status"], after["version"]) == (state, order["version"]), "a refused action changed the order"
    assert checked == 37  # 8 states x 6 actions, less the 11 allowed pairs
    assert wrong == []


async def test_every_appointment_transition_not_allowed_is_409_naming_the_current_state(reception):
    when = reception.clock.now() + timedelta(hours=1)
    wrong = []

    async def book() -> dict:
        r = await reception.advisor.post("/v1/appointments", json=factories.appointment(when))
        assert r.status_code == 201, r.text
        return r.json()

    cancelled = await book()
    await reception.advisor.post(f"/v1/appointments/{cancelled['id']}/cancel")
    checked_in = await book()
    await reception.open_order(appointment_id=checked_in["id"])
    no_show = await book()
    reception.clock.advance(hours=2)
    await reception.advisor.post(f"/v1/appointments/{no_show['id']}/no-show")
    for appointment, state in ((cancelled, "cancelled"), (checked_in, "checked_in"), (no_show, "no_show")):
        for action in ("cancel", "no-show"):
            r = await reception.advisor.post(f"/v1/appointments/{appointment['id']}/{action}")
            if r.status_code != 409 or r.json().get("current_state") != state:
                wrong.append((state, action, r.status_code, r.json()))
        r = await reception.advisor.post("/v1/repair-orders", json=factories.check_in(appointment_id=appointment["id"]))
        if r.status_code != 409 or r.json().get("current_state") != state:
            wrong.append((state, "check in", r.status_code, r.json()))
    assert wrong == []


async def test_every_roadside_transition_not_allowed_is_409_naming_the_current_state(reception):
    wrong = []

    async def request() -> dict:
        r = await reception.advisor.post("/v1/roadside-requests", json=factories.roadside(mileage_km=40000))
        assert r.status_code == 201, r.text
        return r.json()

    async def step(req: dict, action: str, body: dict | None = None):
        return await reception.advisor.post(f"/v1/roadside-requests/{req['id']}/{action}", json=body)

    requested = await request()
    dispatched = await request()
    await step(dispatched, "dispatch", {"responder": "Tow unit 3"})
    arrived = await request()
    await step(arrived, "dispatch", {"responder": "Tow unit 3"})
    await step(arrived, "arrive")
    resolved = await request()
    await step(resolved, "resolve", {"outcome": "customer_cancelled"})
    not_allowed = {
        "requested": [("arrive", None), ("resolve", {"outcome": "towed"}), ("resolve", {"outcome": "repaired_on_site"})],
        "dispatched": [("dispatch", {"responder": "x"}), ("resolve", {"outcome": "towed"})],
        "arrived": [("dispatch", {"responder": "x"}), ("arrive", None)],
        "resolved": [("dispatch", {"responder": "x"}), ("arrive", None), ("resolve", {"outcome": "referred"})],
    }
    for req, state in ((requested, "requested"), (dispatched, "dispatched"), (arrived, "arrived"), (resolved, "resolved")):
        for action, body in not_allowed[state]:
            r = await step(req, action, body)
            if r.status_code != 409 or r.json().get("current_state") != state:
                wrong.append((state, action, r.status_code, r.json()))
    assert wrong == []
