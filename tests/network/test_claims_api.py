"""Warranty claims: pricing by data/warranty_policy.json, one test per precheck finding
(data/claim_reason_codes.json), duplicate lines, four-eyes approval, partial approval,
rejection and resubmission. Closed repair orders reach network as reception's events,
delivered here in memory."""
from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from services.common.tables import OutboxMessage
from tests.network.conftest import create_store
from tests.network.factories import T0, fee, labour, order_settled, part, person_body
from tests.support.events import deliver
from tests.support.platform import Caller

SENSOR_LABOUR = dict(op_code="BRK-0500", hours="0.7")  # flat rate 0.7 h, warranty eligible, brakes
SENSOR_PRICE = 52900  # dealer cost 46000 + 15 % handling


@pytest.fixture
async def store(hq):
    return await create_store(hq)


@pytest.fixture
def advisor(client, store) -> Caller:
    return Caller(client, "service_advisor", store_id=store["id"], principal_id="advisor-1")


async def closed_order(client, store_id: str, lines: list[dict], **kw):
    envelope = order_settled(store_id, lines, **kw)
    assert await deliver(client.app, envelope) == "applied"
    return envelope


def sensor_lines(hours: str = "0.7", unit_price_fen: int = SENSOR_PRICE) -> list[dict]:
    return [labour("BRK-0500", hours), part("XB-57450-S01", 1, unit_price_fen)]


def claim_body(order, **overrides) -> dict:
    body = {"repair_order_id": order.data["repair_order_id"], "complaint": "ABS warning light on",
            "cause": "front left wheel speed sensor open circuit", "correction": "replaced sensor, cleared codes",
            "causal_part_no": "XB-57450-S01"}
    body.update(overrides)
    return body


async def submit(caller: Caller, body: dict, status: int = 201) -> dict:
    response = await caller.post("/v1/claims", json=body)
    assert response.status_code == status, response.text
    return response.json()


def codes(claim: dict) -> list[str]:
    return [f["code"] for f in claim["precheck"]["findings"]]


async def outbox_types(client) -> list[str]:
    async with client.app.state.db.transaction() as session:
        rows = (await session.exec(sa.select(OutboxMessage.event_type, OutboxMessage.payload)
                                   .order_by(OutboxMessage.id))).all()
    return [(t, json.loads(p)["data"]) for t, p in rows]


async def test_a_clean_claim_passes_the_precheck_and_is_priced_by_the_policy(client, store, advisor):
    order = await closed_order(client, store["id"], sensor_lines())
    claim = await submit(advisor, claim_body(order))
    assert (claim["status"], claim["submission_count"], claim["precheck"]["passed"]) == ("submitted", 1, True)
    assert claim["precheck"]["findings"] == [] and claim["precheck"]["coverage"] == "within"
    assert [(line["kind"], line["claimed_fen"]) for line in claim["lines"]] == [("labor", 18200), ("part", 52900)]
    assert claim["amount_claimed_fen"] == 71100 and claim["amount_approved_fen"] is None
    assert claim["lines"][1]["reimbursable_unit_fen"] == "52900"
    submitted = [d for t, d in await outbox_types(client) if t == "network.claim.submitted"]
    assert submitted == [{**submitted[0], "claim_id": claim["id"], "amount_claimed_fen": 71100, "submission_count": 1,
                          "precheck_passed": True}]


async def test_R01_flags_a_line_warranty_never_covers(client, store, advisor):
    order = await closed_order(client, store["id"], sensor_lines() + [labour("BRK-0210", "1.0"), fee(1500)])
    claim = await submit(advisor, claim_body(order))
    pads, fee_line = claim["lines"][2]["line_id"], claim["lines"][3]["line_id"]
    findings = [(f["code"], f["line_id"], f["proposed_adjustment"]) for f in claim["precheck"]["findings"]]
    assert findings == [("R01", pads, None), ("R01", fee_line, "A03")]
    assert claim["lines"][3]["claimed_fen"] == 0 and claim["precheck"]["passed"] is False


async def test_R02_flags_a_vehicle_out_of_cover_by_age_but_not_by_its_longer_powertrain_cover(client, store, advisor):
    lines = sensor_lines() + [labour("ENG-0700", "0.4"), part("XB-30520-IC1", 1, 29900)]
    order = await closed_order(client, store["id"], lines, sold_at=date(2022, 1, 1))
    claim = await submit(advisor, claim_body(order))
    r02 = [f for f in claim["precheck"]["findings"] if f["code"] == "R02"]
    assert [f["line_id"] for f in r02] == [lines[0]["line_id"], lines[1]["line_id"]]
    assert "2025-01-01" in r02[0]["detail"]  # 36 months of basic cover from the sale
    assert [line["coverage"]["status"] for line in claim["lines"]] == ["out", "out", "within", "within"]
    assert claim["lines"][2]["coverage"]["covered_until"] == "2027-01-01"
    assert claim["precheck"]["coverage"] == "out"


async def test_R02_flags_a_vehicle_over_the_mileage_limit(client, store, advisor):
    order = await closed_order(client, store["id"], sensor_lines(), mileage_km=100001)
    claim = await submit(advisor, claim_body(order))
    assert codes(claim) == ["R02", "R02"] and "100000 km" in claim["precheck"]["findings"][0]["detail"]


async def test_an_unknown_sale_date_reports_coverage_unknown_instead_of_R02(client, store, advisor):
    order = await closed_order(client, store["id"], sensor_lines(), sold_at=None)
    claim = await submit(advisor, claim_body(order))
    assert codes(claim) == [] and claim["precheck"]["coverage"] == "unknown"
    assert claim["lines"][0]["coverage"]["status"] == "unknown"


async def test_R03_flags_hours_above_flat_rate_and_pays_the_flat_rate(client, store, advisor):
    order = await closed_order(client, store["id"], sensor_lines(hours="1.2"))
    claim = await submit(advisor, claim_body(order))
    assert [(f["code"], f["proposed_adjustment"]) for f in claim["precheck"]["findings"]] == [("R03", "A01")]
    assert (claim["lines"][0]["paid_hours"], claim["lines"][0]["claimed_fen"]) == ("0.7", 18200)


async def test_R04_flags_a_part_price_above_reimbursable_and_claims_dealer_cost_plus_handling(client, store, advisor):
    order = await closed_order(client, store["id"], sensor_lines(unit_price_fen=72000))
    claim = await submit(advisor, claim_body(order))
    assert [(f["code"], f["proposed_adjustment"]) for f in claim["precheck"]["findings"]] == [("R04", "A02")]
    assert claim["lines"][1]["claimed_fen"] == 52900 and claim["lines"][1]["order_amount_fen"] == 72000


async def test_R05_a_line_already_claimed_is_refused_with_409(client, store, advisor):
    lines = sensor_lines() + [labour("DIAG-0100", "0.5")]
    order = await closed_order(client, store["id"], lines)
    first = await submit(advisor, claim_body(order, line_ids=[lines[0]["line_id"], lines[1]["line_id"]]))
    duplicate = await advisor.post("/v1/claims", json=claim_body(order))
    assert duplicate.status_code == 409
    problem = duplicate.json()
    assert [(f["code"], f["line_id"]) for f in problem["findings"]] == [
        ("R05", lines[0]["line_id"]), ("R05", lines[1]["line_id"])]
    assert problem["claim_ids"] == [first["id"]]
    # The line nobody claimed yet can still be claimed on its own.
    rest = await submit(advisor, claim_body(order, line_ids=[lines[2]["line_id"]], causal_part_no=None))
    assert [line["line_id"] for line in rest["lines"]] == [lines[2]["line_id"]]
    assert len((await advisor.get("/v1/claims")).json()["items"]) == 2


async def test_R06_flags_missing_complaint_cause_or_correction(client, store, advisor):
    order = await closed_order(client, store["id"], sensor_lines())
    claim = await submit(advisor, claim_body(order, cause="  ", correction=""))
    assert codes(claim) == ["R06"] and claim["precheck"]["findings"][0]["detail"] == "missing: cause, correction"


async def test_R07_flags_a_claim_filed_after_the_deadline(client, clock, store, advisor):
    late = await closed_order(client, store["id"], sensor_lines(), settled_at=T0 - timedelta(days=30, seconds=1))
    in_time = await closed_order(client, store["id"], sensor_lines(), settled_at=T0 - timedelta(days=29))
    assert codes(await submit(advisor, claim_body(late))) == ["R07"]
    assert codes(await submit(advisor, claim_body(in_time))) == []


async def test_R08_flags_a_causal_part_that_is_not_claimed(client, store, advisor):
    order = await closed_order(client, store["id"], sensor_lines())
    assert codes(await submit(advisor, claim_body(order, causal_part_no="XB-31500-B60"))) == ["R08"]
    other = await closed_order(client, store["id"], sensor_lines())
    assert codes(await submit(advisor, claim_body(other, causal_part_no=None))) == ["R08"]


async def test_a_claim_needs_an_order_network_has_seen_closed_with_warranty_lines(client, hq, store, advisor):
    unseen = await advisor.post("/v1/claims", json={"repair_order_id": "ro-never-seen"})
    assert unseen.status_code == 422 and unseen.json()["errors"][0]["field"] == "repair_order_id"
    customer_pay = await closed_order(client, store["id"], [labour("BRK-0210", "1.0", pay_type="customer")])
    assert (await advisor.post("/v1/claims", json=claim_body(customer_pay))).status_code == 422
    other_store = await create_store(hq)
    theirs = await closed_order(client, other_store["id"], sensor_lines())
    assert (await advisor.post("/v1/claims", json=claim_body(theirs))).status_code == 422
    assert (await hq.post("/v1/claims", json=claim_body(theirs))).status_code == 403


async def test_four_eyes_a_claim_of_10000_cny_or_more_needs_a_second_approver(client, store, advisor):
    turbo = [labour("ENG-0810", "5.5"), part("XB-18900-TC1", 1, 1012000)]
    order = await closed_order(client, store["id"], turbo)
    claim = await submit(advisor, claim_body(order, causal_part_no="XB-18900-TC1"))
    assert claim["amount_claimed_fen"] == 143000 + 1012000
    first, second = (Caller(client, "hq_admin", principal_id=p) for p in ("hq-admin-1", "hq-admin-2"))
    url = f"/v1/claims/{claim['id']}/decision"
    pending = await first.post(url, json={"decision": "approve", "note": "genuine failure"})
    assert pending.status_code == 200, pending.text
    assert pending.json()["status"] == "pending_second_approval"
    assert pending.json()["pending_approval"]["by"] == "hq-admin-1" and pending.json()["amount_approved_fen"] is None
    same_person = await first.post(url, json={"decision": "approve"})
    assert same_person.status_code == 409 and same_person.json()["current_state"] == "pending_second_approval"
    approved = await second.post(url, json={"decision": "approve"})
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert (body["status"], body["amount_approved_fen"], body["decided_by"]) == ("approved", 1155000, "hq-admin-2")
    assert [h["action"] for h in body["history"]] == ["submitted", "first_approval", "second_approval"]
    again = await second.post(url, json={"decision": "reject", "reason_code": "R01"})
    assert again.status_code == 409 and again.json()["current_state"] == "approved"
    decided = [d["status"] for t, d in await outbox_types(client) if t == "network.claim.decided"]
    assert decided == ["pending_second_approval", "approved"]


async def turbo_claim(client, store, advisor) -> dict:
    """A claim of 11,550 CNY: past the 10,000 CNY at which two approvals are needed."""
    order = await closed_order(client, store["id"], [labour("ENG-0810", "5.5"), part("XB-18900-TC1", 1, 1012000)])
    return await submit(advisor, claim_body(order, causal_part_no="XB-18900-TC1"))


async def test_four_eyes_two_keys_of_one_person_cannot_give_both_approvals(client, store, advisor):
    claim = await turbo_claim(client, store, advisor)
    url = f"/v1/claims/{claim['id']}/decision"
    # The gateway signs a person's key as the person, with the key as the credential.
    first_key, second_key = (Caller(client, "hq_admin", principal_id="person-zhou", name="周敏", credential=c)
                             for c in ("key:k-zhou-1", "key:k-zhou-2"))
    pending = await first_key.post(url, json={"decision": "approve", "note": "genuine failure"})
    assert pending.status_code == 200, pending.text
    assert pending.json()["pending_approval"]["approver"] == {
        "person_id": "person-zhou", "name": "周敏", "credential": "key:k-zhou-1"}

    refused = await second_key.post(url, json={"decision": "approve"})
    assert refused.status_code == 409, refused.text
    problem = refused.json()
    assert (problem["current_state"], problem["first_approved_by"], problem["first_approval_credential"],
            problem["credential"]) == ("pending_second_approval", "person-zhou", "key:k-zhou-1", "key:k-zhou-2")
    assert "another person" in problem["detail"] and "周敏" in problem["detail"]

    other = Caller(client, "hq_admin", principal_id="person-li", name="李强", credential="token:s-li-1")
    approved = await other.post(url, json={"decision": "approve"})
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert (body["status"], body["decided_by"]) == ("approved", "person-li")
    assert body["decider"] == {"person_id": "person-li", "name": "李强", "credential": "token:s-li-1"}
    assert [(h["action"], h["who"]) for h in body["history"][1:]] == [
        ("first_approval", {"person_id": "person-zhou", "name": "周敏", "credential": "key:k-zhou-1"}),
        ("second_approval", {"person_id": "person-li", "name": "李强", "credential": "token:s-li-1"})]
    decided = [d for t, d in await outbox_types(client) if t == "network.claim.decided"]
    assert [(d["decided_by"], d["decided_by_name"], d["decided_by_credential"]) for d in decided] == [
        ("person-zhou", "周敏", "key:k-zhou-1"), ("person-li", "李强", "token:s-li-1")]


async def test_four_eyes_a_machine_key_without_a_person_counts_as_itself(client, store, advisor):
    claim = await turbo_claim(client, store, advisor)
    url = f"/v1/claims/{claim['id']}/decision"
    first, second = (Caller(client, "hq_admin", principal_id=k, name="review robot", credential=f"key:{k}")
                     for k in ("k-robot-1", "k-robot-2"))
    assert (await first.post(url, json={"decision": "approve"})).status_code == 200
    assert (await first.post(url, json={"decision": "approve"})).status_code == 409
    approved = await second.post(url, json={"decision": "approve"})
    assert approved.status_code == 200, approved.text
    assert approved.json()["decider"] == {"person_id": "k-robot-2", "name": "review robot",
                                          "credential": "key:k-robot-2"}


async def test_four_eyes_a_first_approval_recorded_under_a_persons_key_counts_as_that_person(
        client, store, advisor, hq):
    """Approvals given before keys acted as their people hold the key's id; the key's
    person may not give the second approval with another key."""
    person = await hq.post("/v1/people", json=person_body([], name="周敏", hq_role="hq_admin"))
    assert person.status_code == 201, person.text
    person_id = person.json()["id"]
    keys = []
    for label in ("zhou 1", "zhou 2"):
        issued = await hq.post("/v1/api-keys", json={"role": "hq_admin", "label": label, "person_id": person_id})
        assert issued.status_code == 201, issued.text
        keys.append(issued.json()["id"])
    claim = await turbo_claim(client, store, advisor)
    url = f"/v1/claims/{claim['id']}/decision"
    as_key_itself = Caller(client, "hq_admin", principal_id=keys[0], credential=f"key:{keys[0]}")
    assert (await as_key_itself.post(url, json={"decision": "approve"})).status_code == 200
    as_person = Caller(client, "hq_admin", principal_id=person_id, name="周敏", credential=f"key:{keys[1]}")
    refused = await as_person.post(url, json={"decision": "approve"})
    assert refused.status_code == 409 and refused.json()["first_approved_by"] == keys[0], refused.text
    assert (await Caller(client, "hq_admin", principal_id="person-li").post(
        url, json={"decision": "approve"})).status_code == 200


async def test_a_claim_below_the_threshold_is_approved_by_one_reviewer(client, store, advisor, hq):
    order = await closed_order(client, store["id"], sensor_lines())
    claim = await submit(advisor, claim_body(order))
    approved = await hq.post(f"/v1/claims/{claim['id']}/decision", json={"decision": "approve"})
    assert (approved.json()["status"], approved.json()["amount_approved_fen"]) == ("approved", 71100)
    assert [line["approved_fen"] for line in approved.json()["lines"]] == [18200, 52900]


async def test_partial_approval_pays_the_approved_lines_and_keeps_the_rest_as_claimed(client, store, advisor, hq):
    order = await closed_order(client, store["id"], sensor_lines() + [labour("DIAG-0100", "0.5")])
    claim = await submit(advisor, claim_body(order))
    assert claim["amount_claimed_fen"] == 18200 + 52900 + 13000
    labour_line, part_line, diag_line = (line["line_id"] for line in claim["lines"])
    url = f"/v1/claims/{claim['id']}/decision"
    too_much = await hq.post(url, json={"decision": "partial", "lines": [{"line_id": part_line, "approved_fen": 52901,
                                                                          "adjustment_code": "A02"}]})
    assert too_much.status_code == 422 and too_much.json()["errors"][0]["field"] == "lines.0.approved_fen"
    no_code = await hq.post(url, json={"decision": "partial", "lines": [{"line_id": part_line, "approved_fen": 40000}]})
    assert no_code.status_code == 422 and no_code.json()["errors"][0]["field"] == "lines.0.adjustment_code"
    partial = await hq.post(url, json={"decision": "partial", "note": "diagnosis included in the repair", "lines": [
        {"line_id": part_line, "approved_fen": 40000, "adjustment_code": "A02"},
        {"line_id": diag_line, "approved_fen": 0, "adjustment_code": "R01"}]})
    assert partial.status_code == 200, partial.text
    body = partial.json()
    assert body["status"] == "partially_approved"
    assert body["amount_approved_fen"] == 18200 + 40000 + 0 == 58200
    assert [(line["approved_fen"], line["adjustment_code"]) for line in body["lines"]] == [
        (18200, None), (40000, "A02"), (0, "R01")]
    assert labour_line == body["lines"][0]["line_id"]


async def test_a_rejected_claim_may_be_resubmitted_once_with_changes(client, store, advisor, hq):
    order = await closed_order(client, store["id"], sensor_lines())
    claim = await submit(advisor, claim_body(order, cause=""))
    url = f"/v1/claims/{claim['id']}"
    assert (await hq.post(f"{url}/decision", json={"decision": "reject"})).status_code == 422
    rejected = await hq.post(f"{url}/decision", json={"decision": "reject", "reason_code": "R06", "note": "no cause"})
    assert (rejected.json()["status"], rejected.json()["reason_code"], rejected.json()["amount_approved_fen"]) == (
        "rejected", "R06", 0)
    unchanged = await advisor.post(f"{url}/resubmit", json={"cause": ""})
    assert unchanged.status_code == 422
    stale = await advisor.post(f"{url}/resubmit", json={"cause": "sensor open circuit"},
                               headers={"If-Match": str(rejected.json()["version"] - 1)})
    assert stale.status_code == 412
    resubmitted = await advisor.post(f"{url}/resubmit", json={"cause": "sensor open circuit"},
                                     headers={"If-Match": str(rejected.json()["version"])})
    assert resubmitted.status_code == 200, resubmitted.text
    body = resubmitted.json()
    assert (body["status"], body["submission_count"], body["precheck"]["passed"], body["cause"]) == (
        "submitted", 2, True, "sensor open circuit")
    assert body["reason_code"] is None and body["decided_at"] is None
    assert [h["action"] for h in body["history"]] == ["submitted", "rejected", "resubmitted"]
    # While the claim lives its lines stay claimed.
    assert (await advisor.post("/v1/claims", json=claim_body(order))).status_code == 409

    final = await hq.post(f"{url}/decision", json={"decision": "reject", "reason_code": "R09"})
    assert final.json()["status"] == "rejected" and final.json()["submission_count"] == 2
    third = await advisor.post(f"{url}/resubmit", json={"cause": "another try"})
    assert third.status_code == 409 and third.json()["current_state"] == "rejected"
    # Rejected for good: the lines are free to be claimed again.
    assert (await advisor.post("/v1/claims", json=claim_body(order))).status_code == 201
    submissions = [d["submission_count"] for t, d in await outbox_types(client) if t == "network.claim.submitted"]
    assert submissions == [1, 2, 1]


async def test_claims_are_store_scoped_and_only_hq_admin_decides(client, hq, store, advisor):
    order = await closed_order(client, store["id"], sensor_lines())
    claim = await submit(advisor, claim_body(order))
    other = await create_store(hq)
    stranger = Caller(client, "store_manager", store_id=other["id"])
    assert (await stranger.get(f"/v1/claims/{claim['id']}")).status_code == 404
    assert (await stranger.get("/v1/claims")).json()["items"] == []
    assert (await stranger.get(f"/v1/claims?store_id={store['id']}")).json()["items"] == []
    listed = (await Caller(client, "hq_analyst").get(f"/v1/claims?store_id={store['id']}")).json()["items"]
    assert listed[0]["id"] == claim["id"]
    for role in ("hq_analyst", "store_manager", "service_advisor"):
        caller = Caller(client, role, store_id=None if role.startswith("hq") else store["id"])
        decided = await caller.post(f"/v1/claims/{claim['id']}/decision", json={"decision": "approve"})
        assert decided.status_code == 403
    assert (await Caller(client, "technician", store_id=store["id"]).get("/v1/claims")).status_code == 403
