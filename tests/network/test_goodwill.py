"""Goodwill claims over HTTP on PostgreSQL: the store asks HQ before the repair, HQ grants
(at most what was asked) or refuses; a goodwill claim without a granted pre-authorisation of
its store and car, granted before the order was opened and valid that day, is 422 naming the
field; with one, the brand's share of the priced work, capped at the authorised amount."""
from __future__ import annotations

from datetime import timedelta

from tests.network.conftest import create_store
from tests.network.factories import T0, labour, part
from tests.network.test_claim_kinds import closed_order, new_vin
from tests.support.events import deliver
from tests.support.platform import Caller

URL = "/v1/claims/goodwill-authorisations"
SENSOR = "XB-57450-S01"  # dealer cost 460 CNY


def goodwill_work() -> list[dict]:
    return [labour("SUS-0110", "2.5", pay_type="goodwill"), part(SENSOR, 1, 72000, pay_type="goodwill"),
            labour("BRK-0500", "0.7")]


async def ask(clerk: Caller, vin: str, amount: int = 60000, **kw) -> dict:
    response = await clerk.post(URL, json={"vin": vin, "amount_limit_fen": amount, "valid_until": "2026-12-31",
                                           "reason": "long-standing customer, shock absorbers just out of warranty"},
                                **kw)
    assert response.status_code == 201, response.text
    return response.json()


async def grant(hq: Caller, authorisation: dict, **body) -> dict:
    response = await hq.post(f"{URL}/{authorisation['id']}/decision", json={"decision": "grant", **body})
    assert response.status_code == 200, response.text
    return response.json()


def field_of(response) -> str:
    assert response.status_code == 422, response.text
    return response.json()["errors"][0]["field"]


async def test_the_store_asks_and_hq_grants_at_most_what_was_asked_each_naming_the_person(client, hq):
    store = await create_store(hq)
    clerk = Caller(client, "warranty_clerk", store_id=store["id"], principal_id="clerk-1", name="Sun Li",
                   credential="key:k1")
    vin = new_vin()
    asked = await ask(clerk, vin)
    assert (asked["status"], asked["amount_requested_fen"], asked["amount_limit_fen"]) == ("requested", 60000, None)
    assert asked["requester"] == {"person_id": "clerk-1", "name": "Sun Li", "credential": "key:k1"}
    advisor = Caller(client, "service_advisor", store_id=store["id"])
    assert (await advisor.post(URL, json={"vin": vin, "amount_limit_fen": 1, "valid_until": "2026-12-31",
                                          "reason": "x"})).status_code == 403
    assert (await clerk.post(f"{URL}/{asked['id']}/decision", json={"decision": "grant"})).status_code == 403
    too_much = await hq.post(f"{URL}/{asked['id']}/decision", json={"decision": "grant", "amount_limit_fen": 60001})
    assert field_of(too_much) == "amount_limit_fen"
    later = await hq.post(f"{URL}/{asked['id']}/decision", json={"decision": "grant", "valid_until": "2027-01-01"})
    assert field_of(later) == "valid_until"
    granted = await grant(hq, asked, amount_limit_fen=40000)
    assert (granted["status"], granted["amount_limit_fen"], granted["brand_share_percent"]) == ("granted", 40000, 50)
    assert granted["decider"]["person_id"] == "hq-admin-1" and granted["valid_until"] == "2026-12-31"
    assert (await hq.post(f"{URL}/{asked['id']}/decision", json={"decision": "refuse"})).status_code == 409
    listed = (await clerk.get(URL, params={"vin": vin.lower()})).json()["items"]
    assert [a["id"] for a in listed] == [asked["id"]]
    far = await clerk.post(URL, json={"vin": vin, "amount_limit_fen": 1, "valid_until": "2027-06-30", "reason": "x"})
    assert field_of(far) == "valid_until"


async def test_a_goodwill_claim_is_refused_without_a_pre_authorisation_and_capped_with_one(client, clock, hq):
    store = await create_store(hq)
    clerk = Caller(client, "warranty_clerk", store_id=store["id"])
    vin = new_vin()
    refused = await ask(clerk, vin)
    await hq.post(f"{URL}/{refused['id']}/decision", json={"decision": "refuse", "note": "bought elsewhere"})
    other_car = await grant(hq, await ask(clerk, new_vin()))
    authorised = await grant(hq, await ask(clerk, vin), amount_limit_fen=40000)
    # The repair begins an hour after the grant (T0).
    order = closed_order(store["id"], goodwill_work(), vin=vin, opened_at=T0 + timedelta(hours=1))
    assert await deliver(client.app, order) == "applied"
    clock.advance(timedelta(days=1))
    body = {"kind": "goodwill", "repair_order_id": order.data["repair_order_id"], "complaint": "front knocking",
            "cause": "shock absorbers worn early", "correction": "replaced", "causal_part_no": SENSOR}
    assert field_of(await clerk.post("/v1/claims", json=body)) == "goodwill_authorisation_id"
    for wrong in (refused, other_car, {"id": "no-such-authorisation"}):
        answer = await clerk.post("/v1/claims", json={**body, "goodwill_authorisation_id": wrong["id"]})
        assert field_of(answer) == "goodwill_authorisation_id", wrong
    claimed = await clerk.post("/v1/claims", json={**body, "goodwill_authorisation_id": authorised["id"]})
    assert claimed.status_code == 201, claimed.text
    claim = claimed.json()
    # Priced as warranty: 2.0 h flat x 260 CNY = 52000 and 460 x 1.15 = 52900; the brand's 50 % is 52450,
    # capped at the 40000 authorised: 19828.41 / 20171.59, the fen left to the second line. The warranty line stays.
    assert [(line["line_id"], line["claimed_fen"]) for line in claim["lines"]] == [
        (order.data["lines"][0]["line_id"], 19828), (order.data["lines"][1]["line_id"], 20172)]
    assert claim["amount_claimed_fen"] == 40000 and claim["kind"] == "goodwill"
    assert (claim["pricing"]["priced_fen"], claim["pricing"]["share_fen"], claim["pricing"]["capped"]) == (
        104900, 52450, True)
    assert claim["precheck"]["passed"] is True, claim["precheck"]
    again = await clerk.post("/v1/claims", json={**body, "goodwill_authorisation_id": authorised["id"]})
    assert again.status_code == 409 and again.json()["claim_id"] == claim["id"]
    warranty = await clerk.post("/v1/claims", json={**body, "kind": "warranty",
                                                    "goodwill_authorisation_id": authorised["id"]})
    assert field_of(warranty) == "goodwill_authorisation_id"


async def test_a_pre_authorisation_granted_after_the_repair_began_or_expired_does_not_count(client, clock, hq):
    store = await create_store(hq)
    clerk = Caller(client, "warranty_clerk", store_id=store["id"])
    vin = new_vin()
    asked = await ask(clerk, vin)
    early = closed_order(store["id"], goodwill_work(), vin=vin, opened_at=T0 - timedelta(hours=1))
    assert await deliver(client.app, early) == "applied"
    authorised = await grant(hq, asked, valid_until="2026-12-20")
    late = closed_order(store["id"], goodwill_work(), vin=vin, opened_at=T0 + timedelta(days=11))
    assert await deliver(client.app, late) == "applied"
    clock.advance(timedelta(days=12))
    for order in (early, late):
        answer = await clerk.post("/v1/claims", json={
            "kind": "goodwill", "repair_order_id": order.data["repair_order_id"],
            "goodwill_authorisation_id": authorised["id"], "complaint": "c", "cause": "c", "correction": "c",
            "causal_part_no": SENSOR})
        assert field_of(answer) == "goodwill_authorisation_id"
        assert ("after the repair order was opened" if order is early else "expired") in answer.json()["errors"][0][
            "message"]


async def test_another_stores_pre_authorisation_is_not_found_and_its_posts_replay_once(client, hq):
    store, other = await create_store(hq), await create_store(hq)
    clerk = Caller(client, "warranty_clerk", store_id=store["id"])
    first = await ask(clerk, new_vin(), headers={"Idempotency-Key": "ask-1"})
    replay = await clerk.post(URL, json={"vin": first["vin"], "amount_limit_fen": 60000, "valid_until": "2026-12-31",
                                         "reason": "long-standing customer, shock absorbers just out of warranty"},
                              headers={"Idempotency-Key": "ask-1"})
    assert (replay.status_code, replay.json(), replay.headers.get("idempotent-replayed")) == (201, first, "true")
    decided = [await hq.post(f"{URL}/{first['id']}/decision", json={"decision": "grant"},
                             headers={"Idempotency-Key": "grant-1"}) for _ in range(2)]
    assert [r.status_code for r in decided] == [200, 200] and decided[0].json() == decided[1].json()
    assert decided[0].json()["version"] == 2
    assert len((await hq.get(URL, params={"store_id": store["id"]})).json()["items"]) == 1
    for role in ("warranty_clerk", "service_manager", "store_manager"):
        stranger = Caller(client, role, store_id=other["id"])
        assert (await stranger.get(f"{URL}/{first['id']}")).status_code == 404
        assert (await stranger.get(URL, params={"store_id": store["id"]})).json()["items"] == []


async def test_api_md_s_preauthorisations_path_is_the_same_list(client, hq):
    store = await create_store(hq)
    clerk = Caller(client, "warranty_clerk", store_id=store["id"], principal_id="clerk-1", name="Sun Li")
    vin = new_vin()
    asked = await clerk.post("/v1/preauthorisations", json={
        "vin": vin, "amount_limit_fen": 30000, "valid_until": "2026-12-31", "reason": "paint fault after delivery"})
    assert asked.status_code == 201, asked.text
    decided = await hq.post(f"/v1/preauthorisations/{asked.json()['id']}/decision", json={"decision": "grant"})
    assert decided.status_code == 200 and decided.json()["status"] == "granted"
    listed = (await clerk.get(URL, params={"vin": vin})).json()["items"]
    assert [a["id"] for a in listed] == [asked.json()["id"]] == [
        a["id"] for a in (await clerk.get("/v1/preauthorisations", params={"vin": vin})).json()["items"]]
