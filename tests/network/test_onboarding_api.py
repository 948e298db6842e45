"""Partner outlet onboarding over HTTP: public application, status token, HQ review,
checklist, activation, a working outlet key, and suspension."""
from __future__ import annotations

from datetime import timedelta

from services.common import reference
from tests.network.conftest import create_store, network_service, network_settings
from tests.network.factories import application_body
from tests.network.test_certifications import certified_warranty_clerk
from tests.support.platform import Caller

CHECKLIST = [item["code"] for item in reference.load("onboarding_checklist")["items"]]


def anonymous(client, address: str = "203.0.113.7") -> Caller:
    # What the gateway signs for a caller without a key.
    return Caller(client, "anonymous", principal_id=f"anon:{address}")


async def introspect(client, token: str) -> dict:
    response = await Caller(client, "system", principal_id="gateway").post("/v1/internal/introspect", json={"key": token})
    assert response.status_code == 200, response.text
    return response.json()


async def test_outlet_goes_from_application_to_a_working_key_and_suspension_turns_the_key_off(client, hq):
    applicant = anonymous(client)
    submitted = await applicant.post("/v1/outlet-applications", json=application_body())
    assert submitted.status_code == 201, submitted.text
    body = submitted.json()
    assert body["status"] == "submitted" and body["status_token"].startswith("at_")
    application_id, token = body["id"], body["status_token"]

    mine = await applicant.get(f"/v1/outlet-applications/{application_id}", headers={"X-Application-Token": token})
    assert mine.status_code == 200 and mine.json()["status"] == "submitted"
    assert (await applicant.get(f"/v1/outlet-applications/{application_id}",
                                headers={"X-Application-Token": token + "x"})).status_code == 404
    assert (await applicant.get(f"/v1/outlet-applications/{application_id}")).status_code == 404
    listed = await hq.get("/v1/outlet-applications?status=submitted")
    assert [a["id"] for a in listed.json()["items"]] == [application_id]

    reviewed = await hq.post(f"/v1/outlet-applications/{application_id}/review",
                             json={"decision": "approve", "reason": "licence verified", "store_code": "KS-PO-09"})
    assert reviewed.status_code == 200, reviewed.text
    store_id = reviewed.json()["store_id"]
    assert reviewed.json()["status"] == "approved" and store_id
    store = (await hq.get(f"/v1/stores/{store_id}")).json()
    assert (store["kind"], store["status"], store["code"], store["city"]) == ("partner_outlet", "onboarding", "KS-PO-09", "Kunshan")
    seen_by_applicant = await applicant.get(f"/v1/outlet-applications/{application_id}", headers={"X-Application-Token": token})
    assert seen_by_applicant.json()["store_id"] == store_id

    key_request = {"role": "outlet_api", "store_id": store_id, "label": "outlet DMS"}
    assert (await hq.post("/v1/api-keys", json=key_request)).status_code == 409
    early = await hq.post(f"/v1/stores/{store_id}/activate")
    assert early.status_code == 409 and early.json()["missing_items"] == CHECKLIST

    audit = await hq.post(f"/v1/stores/{store_id}/audits",
                          json={"items": [{"code": s["code"], "score": 90} for s in reference.load("audit_standards")["items"]]})
    assert audit.status_code == 201 and audit.json()["passed"] is True
    checklist = (await hq.get(f"/v1/stores/{store_id}/onboarding")).json()
    assert [i["code"] for i in checklist["items"] if i["done"]] == ["facility_audit_passed"]
    for code in CHECKLIST:
        if code == "facility_audit_passed":
            continue
        assert (await hq.post(f"/v1/stores/{store_id}/activate")).status_code == 409
        done = await hq.post(f"/v1/stores/{store_id}/onboarding/{code}/complete", json={"note": "checked"})
        assert done.status_code == 200, done.text
    assert (await hq.post(f"/v1/stores/{store_id}/onboarding/staff_trained/complete")).status_code == 409
    assert (await hq.get(f"/v1/stores/{store_id}/onboarding")).json()["complete"] is True
    await certified_warranty_clerk(hq, store_id)  # every store's certified staff (test_certifications.py)

    activated = await hq.post(f"/v1/stores/{store_id}/activate")
    assert activated.status_code == 200 and activated.json()["status"] == "active"
    issued = await hq.post("/v1/api-keys", json=key_request)
    assert issued.status_code == 201, issued.text
    key = issued.json()["key"]
    seen = await introspect(client, key)
    assert (seen["active"], seen["role"], seen["store_id"], seen["store_status"]) == (True, "outlet_api", store_id, "active")
    outlet = Caller(client, "outlet_api", store_id=store_id, principal_id=issued.json()["id"])
    assert (await outlet.get(f"/v1/stores/{store_id}")).status_code == 200

    suspended = await hq.post(f"/v1/stores/{store_id}/suspend", json={"reason": "failed follow-up audit"})
    assert suspended.status_code == 200
    seen = await introspect(client, key)
    assert (seen["active"], seen["reason"]) == (False, "store suspended")
    # Suspension keeps the outlet's records.
    assert (await hq.get(f"/v1/stores/{store_id}")).json()["status"] == "suspended"
    assert len((await hq.get(f"/v1/stores/{store_id}/audits")).json()["items"]) == 1
    assert (await hq.get(f"/v1/stores/{store_id}/onboarding")).json()["complete"] is True


async def test_the_application_form_is_rate_limited_per_client_address(network_db, clock):
    settings = network_settings(network_db, application_rate_limit=2, application_rate_window_seconds=60)
    async with network_service(settings, clock) as client:
        first = anonymous(client, "198.51.100.1")
        for _ in range(2):
            assert (await first.post("/v1/outlet-applications", json=application_body())).status_code == 201
        limited = await first.post("/v1/outlet-applications", json=application_body())
        assert limited.status_code == 429
        assert limited.headers["content-type"].startswith("application/problem+json")
        assert 1 <= int(limited.headers["Retry-After"]) <= 60
        # Invalid attempts count too: a flood need not be well-formed.
        assert (await first.post("/v1/outlet-applications", json={})).status_code == 429
        assert (await anonymous(client, "198.51.100.2").post("/v1/outlet-applications",
                                                             json=application_body())).status_code == 201
        clock.advance(timedelta(seconds=61))
        assert (await first.post("/v1/outlet-applications", json=application_body())).status_code == 201


async def test_application_input_is_checked_and_a_licence_applies_once_at_a_time(client):
    applicant = anonymous(client)
    bad = await applicant.post("/v1/outlet-applications", json=application_body(contact={"name": "W", "phone": "x",
                                                                                        "email": "not-mail"}))
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"contact.phone", "contact.email"}
    assert (await applicant.post("/v1/outlet-applications", json=application_body(bays=0))).status_code == 422
    body = application_body()
    assert (await applicant.post("/v1/outlet-applications", json=body)).status_code == 201
    again = await applicant.post("/v1/outlet-applications", json=body)
    assert again.status_code == 409 and again.json()["field"] == "license_no"
    # The same licence written another way is the same licence.
    rewritten = body["license_no"].lower()
    rewritten = rewritten[:4] + "-" + rewritten[4:]
    other = await anonymous(client, "198.51.100.9").post("/v1/outlet-applications",
                                                         json={**body, "license_no": rewritten})
    assert other.status_code == 409 and other.json()["field"] == "license_no", other.text


async def test_a_rejection_needs_a_reason_creates_no_store_and_is_final(client, hq):
    submitted = (await anonymous(client).post("/v1/outlet-applications", json=application_body())).json()
    url = f"/v1/outlet-applications/{submitted['id']}/review"
    assert (await hq.post(url, json={"decision": "reject"})).status_code == 422
    rejected = await hq.post(url, json={"decision": "reject", "reason": "no repair qualification"})
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected" and rejected.json()["store_id"] is None
    assert (await hq.get("/v1/stores?kind=partner_outlet")).json()["items"] == []
    again = await hq.post(url, json={"decision": "approve"})
    assert again.status_code == 409 and again.json()["current_state"] == "rejected"


async def test_only_hq_reviews_and_store_roles_see_only_their_own_checklist(client, hq):
    submitted = (await anonymous(client).post("/v1/outlet-applications", json=application_body())).json()
    analyst = Caller(client, "hq_analyst")
    assert (await analyst.get(f"/v1/outlet-applications/{submitted['id']}")).status_code == 200
    assert (await analyst.post(f"/v1/outlet-applications/{submitted['id']}/review",
                               json={"decision": "approve"})).status_code == 403
    store = await create_store(hq)
    other = await create_store(hq)
    manager = Caller(client, "store_manager", store_id=store["id"])
    assert (await manager.get("/v1/outlet-applications")).status_code == 403
    assert (await manager.get(f"/v1/outlet-applications/{submitted['id']}")).status_code == 404
    assert (await manager.get(f"/v1/stores/{store['id']}/onboarding")).status_code == 200
    assert (await manager.get(f"/v1/stores/{other['id']}/onboarding")).status_code == 404
    assert (await manager.post(f"/v1/stores/{store['id']}/activate")).status_code == 403


async def test_a_dealer_store_needs_no_checklist_to_be_reinstated(client, hq):
    store = await create_store(hq)
    await hq.post(f"/v1/stores/{store['id']}/suspend", json={"reason": "audit"})
    reinstated = await hq.post(f"/v1/stores/{store['id']}/activate")
    assert reinstated.status_code == 200 and reinstated.json()["status"] == "active"
    again = await hq.post(f"/v1/stores/{store['id']}/activate")
    assert again.status_code == 409 and again.json()["current_state"] == "active"


async def test_the_review_and_each_ticked_item_name_the_person_and_their_credential_and_the_applicant_sees_no_reviewer(
        client):
    applicant = anonymous(client)
    submitted = (await applicant.post("/v1/outlet-applications", json=application_body())).json()
    # 周敏 reviews and ticks off with a key issued to her; 孙丽 audits signed in.
    reviewer = Caller(client, "hq_admin", principal_id="person-zhou", name="周敏", credential="key:k-zhou-1")
    auditor = Caller(client, "hq_admin", principal_id="person-sun", name="孙丽", credential="token:s-sun-1")
    reviewed = (await reviewer.post(f"/v1/outlet-applications/{submitted['id']}/review",
                                    json={"decision": "approve", "reason": "licence verified"})).json()
    reviewer_fields = ("reviewed_by", "reviewed_by_name", "reviewed_by_credential")
    assert tuple(reviewed[f] for f in reviewer_fields) == ("person-zhou", "周敏", "key:k-zhou-1")
    analyst = Caller(client, "hq_analyst", principal_id="person-wu", name="吴刚", credential="token:s-wu-1")
    read_by_hq = (await analyst.get(f"/v1/outlet-applications/{submitted['id']}")).json()
    assert tuple(read_by_hq[f] for f in reviewer_fields) == ("person-zhou", "周敏", "key:k-zhou-1")
    listed = (await analyst.get("/v1/outlet-applications?status=approved")).json()["items"]
    assert [tuple(a[f] for f in reviewer_fields) for a in listed] == [("person-zhou", "周敏", "key:k-zhou-1")]
    read_by_applicant = (await applicant.get(f"/v1/outlet-applications/{submitted['id']}",
                                             headers={"X-Application-Token": submitted["status_token"]})).json()
    assert read_by_applicant["status"] == "approved"
    assert tuple(read_by_applicant[f] for f in reviewer_fields) == (None, None, None)

    store_id = reviewed["store_id"]
    audit = await auditor.post(f"/v1/stores/{store_id}/audits", json={
        "items": [{"code": s["code"], "score": 90} for s in reference.load("audit_standards")["items"]]})
    assert audit.status_code == 201 and audit.json()["passed"] is True
    ticked = await reviewer.post(f"/v1/stores/{store_id}/onboarding/staff_trained/complete")
    assert ticked.status_code == 200, ticked.text
    done = {i["code"]: (i["completed_by"], i["completed_by_name"], i["completed_by_credential"])
            for i in (await analyst.get(f"/v1/stores/{store_id}/onboarding")).json()["items"] if i["done"]}
    assert done == {"facility_audit_passed": ("person-sun", "孙丽", "token:s-sun-1"),
                    "staff_trained": ("person-zhou", "周敏", "key:k-zhou-1")}
