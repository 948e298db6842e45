"""Four eyes by person through the real gateway: a warranty claim past the second-approval
threshold, approved first with one of a person's keys; their other key cannot give the
second approval, another person can; each approval names the person and the key used,
and the person's keys stop working within 5 s of their leaving."""
from __future__ import annotations

import uuid
from datetime import timedelta

import httpx

from services.common import reference
from tests.network.factories import person_body
from tests.security.flows import (
    STAFF,
    WARRANTY_OP_CODE,
    _ok,
    approved_order,
    client,
    jobs_of,
    open_store,
    reservations_of,
    settle_and_deliver,
    submit_claim,
    vehicle,
)
from tests.security.helpers import poll

THRESHOLD = reference.warranty_policy()["second_approval_threshold_fen"]
HANDLING = reference.warranty_policy()["parts_handling_percent"]
# A part whose reimbursement alone takes a claim past the threshold (a turbocharger).
COSTLY_PART = next(p for p in sorted(reference.parts().values(), key=lambda p: p["dealer_cost_fen"])
                   if p["warranty_eligible"] and p["dealer_cost_fen"] * (100 + HANDLING) // 100 >= THRESHOLD)


def register(hq: httpx.Client, name: str) -> dict:
    """One of HQ's claim reviewers."""
    return _ok(hq.post("/api/network/v1/people", json=person_body([], name=name, hq_role="hq_admin")), 201)


def key_for(hq: httpx.Client, person: dict, label: str) -> dict:
    return _ok(hq.post("/api/network/v1/api-keys", json={"role": "hq_admin", "label": label,
                                                          "person_id": person["id"]}), 201)


def large_claim(platform, staff) -> dict:
    """A delivered order with warranty labour and the costly part, claimed by the store."""
    car = vehicle(staff.today() - timedelta(days=200))
    with client(platform, staff.keys["service_advisor"]) as advisor, \
            client(platform, staff.keys["store_manager"]) as manager, \
            client(platform, staff.keys["technician"]) as technician, \
            client(platform, staff.keys["parts_clerk"]) as clerk:
        _ok(clerk.post("/api/workshop/v1/stock/receipts", json={
            "reference": "DN-" + uuid.uuid4().hex[:6],
            "lines": [{"part_no": COSTLY_PART["part_no"], "qty": 1, "unit_cost_fen": COSTLY_PART["dealer_cost_fen"]}]}),
            201)
        rid = approved_order(advisor, labour=((WARRANTY_OP_CODE, "warranty"),),
                             parts=((COSTLY_PART["part_no"], "warranty"),), car=car, manager=manager)["id"]
        [job] = jobs_of(manager, rid)
        job_url = f"/api/workshop/v1/jobs/{job['id']}"
        _ok(manager.post(f"{job_url}/assign", json={"technician_id": staff.technician_id}), 200)
        _ok(technician.post(f"{job_url}/start"), 200)
        _ok(technician.post(f"{job_url}/complete", json={"notes": "turbocharger replaced"}), 200)
        _ok(manager.post(f"{job_url}/qc", json={"result": "pass", "inspector": "Chen Jie"}), 200)
        [reservation] = reservations_of(clerk, rid)
        _ok(clerk.post(f"/api/workshop/v1/reservations/{reservation['id']}/issue"), 200)
        settle_and_deliver(advisor, rid)
        claim = _ok(submit_claim(manager, rid), 201)
    assert claim["amount_claimed_fen"] >= THRESHOLD, claim
    return claim


def test_two_keys_of_one_person_cannot_give_both_approvals_and_two_people_can(platform):
    staff = open_store(platform, roles=STAFF + ("parts_clerk",))
    with platform.api(platform.bootstrap_key) as hq:
        zhou, li = register(hq, "周敏"), register(hq, "李强")
        zhou_keys = [key_for(hq, zhou, "Zhou, desk"), key_for(hq, zhou, "Zhou, laptop")]
        li_key = key_for(hq, li, "Li, desk")
    claim = large_claim(platform, staff)
    url = f"/api/network/v1/claims/{claim['id']}/decision"

    with client(platform, zhou_keys[0]) as zhou_desk, client(platform, zhou_keys[1]) as zhou_laptop, \
            client(platform, li_key) as li_desk:
        pending = _ok(zhou_desk.post(url, json={"decision": "approve", "note": "turbo seized, genuine"}), 200)
        assert pending["status"] == "pending_second_approval"
        assert pending["pending_approval"]["approver"] == {
            "person_id": zhou["id"], "name": "周敏", "credential": f"key:{zhou_keys[0]['id']}"}

        refused = zhou_laptop.post(url, json={"decision": "approve"})
        assert refused.status_code == 409, refused.text
        assert refused.json()["first_approved_by"] == zhou["id"]
        assert "another person" in refused.json()["detail"]

        approved = _ok(li_desk.post(url, json={"decision": "approve"}), 200)
        assert approved["status"] == "approved" and approved["amount_approved_fen"] == claim["amount_claimed_fen"]
        assert approved["decider"] == {"person_id": li["id"], "name": "李强", "credential": f"key:{li_key['id']}"}

        # A key made with a person's key names the person, and the key, as its maker.
        made = _ok(zhou_desk.post("/api/network/v1/api-keys", json={"role": "hq_analyst", "label": "report robot"}),
                   201)
        assert made["created_by"] == {"person_id": zhou["id"], "name": "周敏",
                                      "credential": f"key:{zhou_keys[0]['id']}"}

        with platform.api(platform.bootstrap_key) as hq:
            _ok(hq.post(f"/api/network/v1/people/{zhou['id']}/leave", json={"reason": "resigned"}), 200)
        took = poll(lambda: all(c.get("/api/network/v1/stores").status_code == 401 for c in (zhou_desk, zhou_laptop)),
                    5, "a leaver's keys still accepted after 5 s", interval=0.05)
        assert took < 5
        assert li_desk.get("/api/network/v1/stores").status_code == 200
