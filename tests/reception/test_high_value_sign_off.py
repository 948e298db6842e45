"""High-value orders (issue 18): an estimate reaching the store's threshold (10,000 CNY by
default) waits for the service manager's sign-off before the customer's yes lets work
start, and the manager is named on the order and in the approval event."""
from __future__ import annotations

from tests.reception import factories
from tests.support.platform import Caller

# A body-shop sublet of 10,619.47 CNY plus 13 % VAT (1,380.53) comes to exactly 12,000 CNY.
BODY_SHOP_FEN = 1_061_947
TWELVE_THOUSAND_CNY = 1_200_000


def body_shop(unit_price_fen: int = BODY_SHOP_FEN) -> dict:
    return {"kind": "sublet", "description": "Body shop: rear quarter panel and paint",
            "unit_price_fen": unit_price_fen}


def fee(unit_price_fen: int, description: str = "Hazardous waste disposal") -> dict:
    return {"kind": "fee", "description": description, "unit_price_fen": unit_price_fen}


def manager(reception, role: str = "service_manager", store_id: str | None = None) -> Caller:
    return Caller(reception.client, role, store_id or reception.store_id, "person-zhao-min", name="赵敏 Zhao Min",
                  credential="token:session-zhao")


async def estimated(reception, lines: list[dict]) -> dict:
    order = await reception.open_order()
    for line in lines:
        order = await reception.add_line(order, line)
    return await reception.act(order, "estimate")


async def approve(reception, order: dict, **body):
    return await reception.advisor.post(f"/v1/repair-orders/{order['id']}/approve",
                                        json={"approved_by": "Zhang Wei", "channel": "in_person", **body})


async def sign_off(caller: Caller, order: dict, **body):
    return await caller.post(f"/v1/repair-orders/{order['id']}/sign-off", json=body or None)


async def put_settings(caller: Caller, store_id: str, body: dict):
    return await caller.client.put(f"/v1/stores/{store_id}/settings", json=body, headers=caller._headers(None))


async def test_a_12000_cny_order_cannot_start_without_the_service_managers_sign_off(reception):
    order = await estimated(reception, [body_shop()])
    assert order["totals"]["customer_due_fen"] == TWELVE_THOUSAND_CNY
    assert order["sign_off_needed"] is True and order["signed_off_by"] is None

    refused = await approve(reception, order)

    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    assert problem["rule"] == "high_value_sign_off"
    assert problem["value_fen"] == TWELVE_THOUSAND_CNY and problem["threshold_fen"] == 1_000_000
    assert problem["signed_off_fen"] is None and problem["current_state"] == "awaiting_approval"
    assert "服务经理" in problem["detail"] and "service manager" in problem["detail"]
    assert (await reception.get_order(order))["status"] == "awaiting_approval"
    # Nothing reached the workshop, so nothing was dispatched.
    assert await reception.outbox("reception.repair_order.approved") == []


async def test_with_the_managers_sign_off_the_order_starts_and_names_the_manager(reception):
    order = await estimated(reception, [body_shop()])
    reception.clock.advance(minutes=5)

    signed = await sign_off(manager(reception), order, note="customer's insurer declined; paying himself")

    assert signed.status_code == 200, signed.text
    body = signed.json()
    assert body["signed_off_by"] == {"id": "person-zhao-min", "person_id": "person-zhao-min", "name": "赵敏 Zhao Min",
                                     "role": "service_manager", "credential": "token:session-zhao"}
    assert body["signed_off_at"] == "2026-12-01T01:05:00Z" and body["signed_off_fen"] == TWELVE_THOUSAND_CNY
    assert body["sign_off_needed"] is False
    entry = body["history"][-1]
    assert entry["action"] == "sign_off" and entry["by"]["id"] == "person-zhao-min"
    assert entry["detail"]["note"] == "customer's insurer declined; paying himself"

    approved = await approve(reception, order)

    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
    assert approved.json()["signed_off_by"]["name"] == "赵敏 Zhao Min"
    (event,) = await reception.outbox("reception.repair_order.approved")
    assert event["data"]["signed_off_by"] == {"id": "person-zhao-min", "name": "赵敏 Zhao Min",
                                              "role": "service_manager", "credential": "token:session-zhao"}
    assert event["data"]["signed_off_at"] == "2026-12-01T01:05:00Z"
    assert event["data"]["signed_off_fen"] == TWELVE_THOUSAND_CNY


async def test_an_advisor_cannot_sign_off_but_a_store_manager_can(reception):
    order = await estimated(reception, [body_shop()])

    for caller in (reception.advisor, reception.caller("technician"), reception.caller("cashier")):
        refused = await sign_off(caller, order)
        assert refused.status_code == 403, (caller.role, refused.text)
        assert refused.headers["content-type"] == "application/problem+json"
    assert (await reception.get_order(order))["signed_off_by"] is None
    assert (await approve(reception, order)).status_code == 409

    by_store_manager = await sign_off(manager(reception, "store_manager"), order)
    assert by_store_manager.status_code == 200
    assert (await approve(reception, order)).status_code == 200


async def test_another_stores_manager_cannot_see_the_order_to_sign_it(reception):
    order = await estimated(reception, [body_shop()])
    assert (await sign_off(manager(reception, store_id=reception.other_store_id), order)).status_code == 404


async def test_an_order_below_the_threshold_needs_no_sign_off(reception):
    # 884,955 fen + 13 % VAT = 999,999 fen: a fen short of 10,000 CNY.
    order = await estimated(reception, [body_shop(884_955)])
    assert order["totals"]["customer_due_fen"] == 999_999 and order["sign_off_needed"] is False
    assert (await approve(reception, order)).status_code == 200


async def test_warranty_and_insurance_work_counts_towards_the_threshold(reception):
    # The brand pays the turbocharger (12,800 CNY), yet it is the same work and the same risk.
    order = await estimated(reception, [factories.labour("ENG-0810", pay_type="warranty"),
                                        factories.part("XB-18900-TC1", pay_type="warranty")])
    assert order["totals"]["customer_due_fen"] == 0 and order["sign_off_needed"] is True
    assert (await approve(reception, order)).status_code == 409


async def test_growth_within_the_margin_stands_past_it_the_manager_signs_again(reception):
    order = await estimated(reception, [body_shop()])
    assert (await sign_off(manager(reception), order)).status_code == 200
    # 5 % more before the customer says yes: still what the manager signed, within 10 %.
    order = await reception.add_line(order, fee(53_097))
    assert order["totals"]["customer_due_fen"] == 1_260_000 and order["sign_off_needed"] is False
    order = (await approve(reception, order)).json()
    assert order["status"] == "approved"

    # A supplement taking it past 1,200,000 × 1.10 = 1,320,000 fen waits for a new sign-off.
    order = await reception.add_line(order, fee(88_496, "Rear bumper bracket, found under the panel"))
    assert order["totals"]["customer_due_fen"] == 1_360_000 and order["sign_off_needed"] is True
    refused = await approve(reception, order)
    assert refused.status_code == 409
    assert refused.json()["rule"] == "high_value_sign_off"
    assert refused.json()["signed_off_fen"] == TWELVE_THOUSAND_CNY and refused.json()["value_fen"] == 1_360_000
    assert len(await reception.outbox("reception.repair_order.approved")) == 1

    assert (await sign_off(manager(reception), order)).json()["signed_off_fen"] == 1_360_000
    supplement = await approve(reception, order)
    assert supplement.status_code == 200
    events = await reception.outbox("reception.repair_order.approved")
    assert [e["data"]["supplement"] for e in events] == [False, True]
    assert events[1]["data"]["signed_off_fen"] == 1_360_000


async def test_a_supplement_taking_an_ordinary_order_past_the_threshold_needs_the_sign_off(reception):
    order = await estimated(reception, [factories.labour()])
    order = (await approve(reception, order)).json()
    assert order["signed_off_by"] is None
    order = await reception.add_line(order, body_shop())
    assert (await approve(reception, order)).status_code == 409
    assert (await sign_off(manager(reception), order)).status_code == 200
    assert (await approve(reception, order)).status_code == 200


async def test_the_store_sets_its_own_threshold_or_turns_the_rule_off(reception):
    url_store = reception.store_id
    default = await reception.advisor.get(f"/v1/stores/{url_store}/settings")
    assert default.status_code == 200
    assert default.json() == {
        "store_id": url_store, "high_value_sign_off": True, "high_value_threshold_fen": 1_000_000,
        "source": "default", "sign_off_margin_percent": "10", "updated_at": None, "updated_by": None, "version": 0}

    advisor = await put_settings(reception.advisor, url_store, {"high_value_threshold_fen": 2_000_000})
    assert advisor.status_code == 403
    other = manager(reception, store_id=reception.other_store_id)
    assert (await put_settings(other, url_store, {"high_value_threshold_fen": 2_000_000})).status_code == 404
    assert (await put_settings(manager(reception), url_store, {"high_value_threshold_fen": 0})).status_code == 422

    raised = await put_settings(manager(reception, "store_manager"), url_store, {"high_value_threshold_fen": 2_000_000})
    assert raised.status_code == 200, raised.text
    assert raised.json()["high_value_threshold_fen"] == 2_000_000 and raised.json()["source"] == "store"
    assert raised.json()["updated_by"]["id"] == "person-zhao-min" and raised.json()["version"] == 1
    order = await estimated(reception, [body_shop()])
    assert order["sign_off_needed"] is False
    assert (await approve(reception, order)).status_code == 200

    # The other store keeps the group's default.
    elsewhere = await reception.hq.get(f"/v1/stores/{reception.other_store_id}/settings")
    assert elsewhere.json()["source"] == "default" and elsewhere.json()["high_value_threshold_fen"] == 1_000_000

    # A change made from a stale read changes nothing; from the version in force it applies.
    stale = await reception.client.put(f"/v1/stores/{url_store}/settings", json={"high_value_sign_off": False},
                                       headers={**reception.hq._headers(None), "If-Match": '"0"'})
    assert stale.status_code == 412
    off = await reception.client.put(f"/v1/stores/{url_store}/settings", json={"high_value_sign_off": False},
                                     headers={**reception.hq._headers(None), "If-Match": raised.headers["ETag"]})
    assert off.status_code == 200 and off.json()["high_value_sign_off"] is False and off.json()["version"] == 2
    big = await estimated(reception, [body_shop(5_000_000)])
    assert big["sign_off_needed"] is False and (await approve(reception, big)).status_code == 200
