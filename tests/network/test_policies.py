"""Policies with versions: version 1 is the file in data/, a new version takes effect on
its day and the version in force on a day is read by date; what changed is listed by key;
a body not in the policy's shape is 422 naming the field."""
from __future__ import annotations

import copy
import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from services.common import reference
from services.common.tables import OutboxMessage
from tests.network.conftest import create_store
from tests.network.factories import application_body
from tests.support.platform import Caller

WARRANTY = "/v1/policies/warranty_policy"
LABOUR = "/v1/policies/labour_operations"


def warranty(**changes) -> dict:
    return {**copy.deepcopy(reference.load("warranty_policy")), **changes}


SEEDED = (("warranty_policy", "warranty_policy"), ("labour_operations", "labor_operations"),
          ("parts_prices", "parts"), ("audit_standards", "audit_standards"),
          ("onboarding_checklist", "onboarding_checklist"), ("campaign_policy", "campaign_policy"))


async def test_version_one_is_the_file_in_data(hq):
    for name, file in SEEDED:
        first = (await hq.get(f"/v1/policies/{name}", params={"on": "2026-12-10"})).json()
        assert (first["version"], first["effective_from"], first["effective_until"]) == (1, "1970-01-01", None)
        assert first["body"] == reference.load(file) and first["changes"] == []
    sanbao = (await hq.get("/v1/policies/three_guarantees")).json()["body"]
    assert sanbao["watch"] == reference.sanbao_watch()
    assert sanbao["regulation"] == list(reference.sanbao_policies())  # the 2013 revision with its day, then 2021


async def test_the_version_in_force_is_read_by_date(client, hq, clock):
    added = await hq.post(f"{WARRANTY}/versions", json={
        "effective_from": "2027-01-01", "body": warranty(warranty_labour_rate_fen_per_hour=28000),
        "note": "2027 labour rate"})
    assert added.status_code == 201, added.text
    assert (added.json()["version"], added.json()["created_by"]) == (2, hq.principal_id)
    assert added.json()["changes"] == [{"path": "warranty_labour_rate_fen_per_hour", "change": "changed",
                                        "before": 26000, "after": 28000}]

    def rate(answer) -> tuple[int, int]:
        return answer.json()["version"], answer.json()["body"]["warranty_labour_rate_fen_per_hour"]

    assert rate(await hq.get(WARRANTY, params={"on": "2026-12-31"})) == (1, 26000)
    assert rate(await hq.get(WARRANTY, params={"on": "2027-01-01"})) == (2, 28000)
    assert rate(await hq.get(WARRANTY)) == (1, 26000)  # today, 2026-12-10
    clock.advance(timedelta(days=30))
    assert rate(await hq.get(WARRANTY)) == (2, 28000)

    versions = (await hq.get(f"{WARRANTY}/versions")).json()["items"]
    assert [(v["version"], v["effective_from"], v["effective_until"]) for v in versions] == [
        (1, "1970-01-01", "2027-01-01"), (2, "2027-01-01", None)]


async def test_a_store_reads_what_changed_between_versions(client, hq):
    body = copy.deepcopy(reference.load("labor_operations"))
    brakes = next(op for op in body["operations"] if op["op_code"] == "BRK-0210")
    brakes["flat_rate_hours"] = 1.2
    body["operations"].append({"op_code": "HV-0900", "description": "High-voltage battery isolation check",
                               "category": "electrical", "flat_rate_hours": 1.5, "warranty_eligible": True})
    body["operations"] = [op for op in body["operations"] if op["op_code"] != "GLS-0100"]
    added = await hq.post(f"{LABOUR}/versions", json={"effective_from": "2027-03-01", "body": body})
    assert added.status_code == 201, added.text

    store = await create_store(hq)
    manager = Caller(client, "store_manager", store["id"])
    changes = (await manager.get(f"{LABOUR}/versions/2")).json()["changes"]
    assert [(c["path"], c["change"]) for c in changes] == [
        ("operations.BRK-0210.flat_rate_hours", "changed"), ("operations.GLS-0100", "removed"),
        ("operations.HV-0900", "added")]
    assert (changes[0]["before"], changes[0]["after"]) == (1.0, 1.2)
    assert (await manager.get(f"{LABOUR}/versions/3")).status_code == 404
    # Reading is every network reader's; adding a version is hq_admin's alone.
    refused = await manager.post(f"{LABOUR}/versions", json={"effective_from": "2027-04-01", "body": body})
    assert refused.status_code == 403
    assert (await Caller(client, "hq_analyst").post(f"{LABOUR}/versions", json={
        "effective_from": "2027-04-01", "body": body})).status_code == 403


def _labour_with(**op_changes) -> dict:
    body = copy.deepcopy(reference.load("labor_operations"))
    body["operations"][0].update(op_changes)
    return body


@pytest.mark.parametrize(("url", "body", "field"), [
    (WARRANTY, {k: v for k, v in warranty().items() if k != "parts_handling_percent"}, "body.parts_handling_percent"),
    (WARRANTY, warranty(parts_handling_percent=101), "body.parts_handling_percent"),
    (WARRANTY, warranty(warranty_labour_rate_fen_per_hour="a lot"), "body.warranty_labour_rate_fen_per_hour"),
    (WARRANTY, warranty(warranty_labour_rate_fen_per_hour=2**63), "body.warranty_labour_rate_fen_per_hour"),
    (WARRANTY, warranty(currency="USD"), "body.currency"),
    (WARRANTY, warranty(labour_rate=1), "body.labour_rate"),
    (WARRANTY, warranty(coverage=[{"name": "basic", "months": 0, "km": 1, "categories": ["brakes"]}]),
     "body.coverage.0.months"),
    (WARRANTY, warranty(coverage=[]), "body.coverage"),
    (LABOUR, _labour_with(flat_rate_hours=-1), "body.operations.0.flat_rate_hours"),
    (LABOUR, _labour_with(op_code="brk 1"), "body.operations.0.op_code"),
    (LABOUR, _labour_with(op_code="MNT-0110"), "body.operations"),  # the catalogue's second op already has it
    (LABOUR, {"operations": "none"}, "body.operations"),
    ("/v1/policies/parts_prices", {"parts": [{**reference.load("parts")["parts"][0], "dealer_cost_fen": -1}]},
     "body.parts.0.dealer_cost_fen"),
    ("/v1/policies/audit_standards", {**reference.load("audit_standards"), "pass_mark": 101}, "body.pass_mark"),
    ("/v1/policies/audit_standards", {"pass_mark": 80, "items": [{"code": "x", "title": "X", "weight": 0}]},
     "body.items.0.weight"),
    ("/v1/policies/onboarding_checklist", {"items": [{"code": "a", "title": "A"}, {"code": "a", "title": "B"}]},
     "body.items"),
    ("/v1/policies/campaign_policy", {"labour_rate_fen_per_hour": "high", "parts_handling_percent": None},
     "body.labour_rate_fen_per_hour"),
    ("/v1/policies/three_guarantees", {"regulation": [], "watch": reference.sanbao_watch()}, "body.regulation"),
    ("/v1/policies/three_guarantees", {"regulation": list(reference.sanbao_policies()),
                                       "watch": {**reference.sanbao_watch(), "one_step_repair_days": 0}},
     "body.watch.one_step_repair_days"),
])
async def test_a_body_not_in_the_policys_shape_is_422_naming_the_field(hq, url, body, field):
    refused = await hq.post(f"{url}/versions", json={"effective_from": "2027-01-01", "body": body})
    assert refused.status_code == 422, refused.text
    assert [e["field"] for e in refused.json()["errors"]] == [field], refused.text
    assert len((await hq.get(f"{url}/versions")).json()["items"]) == 1


async def test_a_version_takes_effect_from_today_after_every_earlier_one(hq):
    past = await hq.post(f"{WARRANTY}/versions", json={"effective_from": "2026-12-09", "body": warranty()})
    assert past.status_code == 422 and past.json()["errors"][0]["field"] == "effective_from"
    today = await hq.post(f"{WARRANTY}/versions", json={"effective_from": "2026-12-10", "body": warranty()})
    assert today.status_code == 201, today.text
    for day in ("2026-12-10", "2026-12-11"):
        later = await hq.post(f"{WARRANTY}/versions", json={"effective_from": day, "body": warranty()})
        if day == "2026-12-11":
            assert later.status_code == 201
        else:
            assert later.status_code == 422 and later.json()["errors"][0]["field"] == "effective_from"
    unknown = await hq.post("/v1/policies/maintenance_policy/versions",
                            json={"effective_from": "2027-01-01", "body": {}})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "name"
    assert (await hq.get(WARRANTY, params={"on": "1969-12-31"})).status_code == 422


async def test_a_retried_version_with_the_same_key_is_added_once(hq):
    body = {"effective_from": "2027-06-01", "body": warranty(submission_deadline_days=45)}
    key = {"Idempotency-Key": "policy-2027-06"}
    first = await hq.post(f"{WARRANTY}/versions", json=body, headers=key)
    again = await hq.post(f"{WARRANTY}/versions", json=body, headers=key)
    assert (first.status_code, again.status_code, again.json()) == (201, 201, first.json())
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len((await hq.get(f"{WARRANTY}/versions")).json()["items"]) == 2


async def test_a_store_reads_what_changed_since_a_day_and_every_store_is_told(client, hq):
    first = _labour_with(flat_rate_hours=0.6)
    second = copy.deepcopy(first)
    second["operations"][0]["flat_rate_hours"] = 0.4
    second["operations"][1]["warranty_eligible"] = False
    for day, body in (("2027-01-01", first), ("2027-02-01", second)):
        added = await hq.post(f"{LABOUR}/versions", json={"effective_from": day, "body": body, "note": day})
        assert added.status_code == 201, added.text
    code, other = first["operations"][0]["op_code"], first["operations"][1]["op_code"]
    store = await create_store(hq)
    manager = Caller(client, "store_manager", store["id"])

    since = (await manager.get(f"{LABOUR}/changes", params={"since": "2026-12-31"})).json()
    assert (since["version_on_since"], [v["version"] for v in since["versions"]]) == (1, [2, 3])
    assert [(c["path"], c["before"], c["after"]) for c in since["versions"][1]["changes"]] == [
        (f"operations.{code}.flat_rate_hours", 0.6, 0.4), (f"operations.{other}.warranty_eligible", True, False)]
    original = reference.load("labor_operations")["operations"][0]["flat_rate_hours"]
    assert [(c["path"], c["before"], c["after"]) for c in since["overall"]] == [
        (f"operations.{code}.flat_rate_hours", original, 0.4), (f"operations.{other}.warranty_eligible", True, False)]
    later = (await manager.get(f"{LABOUR}/changes", params={"since": "2027-01-15"})).json()
    assert (later["version_on_since"], [v["version"] for v in later["versions"]]) == (2, [3])
    assert (await manager.get(f"{LABOUR}/changes", params={"since": "2027-02-01"})).json()["versions"] == []

    overview = {p["name"]: p for p in (await manager.get("/v1/policies")).json()["items"]}
    assert set(overview) == {name for name, _ in SEEDED} | {"three_guarantees"}
    assert (overview["labour_operations"]["version"], overview["labour_operations"]["upcoming"]) == (
        1, [{"version": 2, "effective_from": "2027-01-01"}, {"version": 3, "effective_from": "2027-02-01"}])
    assert overview["labour_operations"]["title_zh"] == "工时目录"

    async with client.app.state.db.transaction() as session:
        rows = (await session.exec(sa.select(OutboxMessage.payload).where(
            OutboxMessage.event_type == "network.policy.version_published").order_by(OutboxMessage.id))).all()
    told = [json.loads(payload) for (payload,) in rows]
    assert [(e["subject"], e.get("storeid"), e["data"]["version"], e["data"]["effective_from"],
             e["data"]["change_count"]) for e in told] == [
        ("labour_operations", None, 2, "2027-01-01", 1), ("labour_operations", None, 3, "2027-02-01", 2)]
    assert told[1]["data"]["changes"][0] == {"path": f"operations.{code}.flat_rate_hours", "change": "changed",
                                             "before": 0.6, "after": 0.4}


async def test_an_audit_is_scored_by_the_standards_in_force_on_its_day(client, hq, clock):
    standards = copy.deepcopy(reference.load("audit_standards"))
    standards["pass_mark"] = 95
    added = await hq.post("/v1/policies/audit_standards/versions", json={"effective_from": "2026-12-11",
                                                                        "body": standards})
    assert added.status_code == 201, added.text
    store = await create_store(hq)
    scores = {"items": [{"code": s["code"], "score": 90} for s in standards["items"]]}
    clock.advance(timedelta(days=1))
    # The visit on the 10th (China time) is scored by version 1's pass mark of 80; today's by 95.
    earlier = await hq.post(f"/v1/stores/{store['id']}/audits", json={**scores, "audited_at": "2026-12-10T15:00:00Z"})
    today = await hq.post(f"/v1/stores/{store['id']}/audits", json=scores)
    assert [(a.json()["standards_version"], a.json()["pass_mark"], a.json()["passed"]) for a in (earlier, today)] == [
        (1, 80, True), (2, 95, False)]


async def test_an_outlet_follows_the_onboarding_checklist_of_the_day_it_applied(client, hq, clock):
    applied = await Caller(client, "anonymous", principal_id="anon:203.0.113.9").post("/v1/outlet-applications",
                                                                                     json=application_body())
    assert applied.status_code == 201, applied.text
    checklist = copy.deepcopy(reference.load("onboarding_checklist"))
    checklist["items"].append({"code": "high_voltage_bay", "title": "High-voltage work bay fitted"})
    added = await hq.post("/v1/policies/onboarding_checklist/versions", json={"effective_from": "2026-12-11",
                                                                             "body": checklist})
    assert added.status_code == 201, added.text
    clock.advance(timedelta(days=1))
    reviewed = await hq.post(f"/v1/outlet-applications/{applied.json()['id']}/review",
                             json={"decision": "approve", "reason": "licence verified", "store_code": "KS-PO-77"})
    assert reviewed.status_code == 200, reviewed.text
    older = (await hq.get(f"/v1/stores/{reviewed.json()['store_id']}/onboarding")).json()
    newer = (await hq.get(f"/v1/stores/{(await create_store(hq, kind='partner_outlet'))['id']}/onboarding")).json()
    assert (older["checklist_version"], newer["checklist_version"]) == (1, 2)
    assert "high_voltage_bay" not in [i["code"] for i in older["items"]]
    assert [i["code"] for i in newer["items"]][-1] == "high_voltage_bay"
    refused = await hq.post(f"/v1/stores/{reviewed.json()['store_id']}/onboarding/high_voltage_bay/complete")
    assert refused.status_code == 404


async def test_a_warranty_clerk_and_an_advisor_read_the_policies_they_work_by_and_add_no_version(client, hq):
    store = await create_store(hq)
    for role, name in (("warranty_clerk", "warranty_policy"), ("warranty_clerk", "three_guarantees"),
                       ("warranty_clerk", "campaign_policy"), ("service_advisor", "labour_operations")):
        reader = Caller(client, role, store["id"])
        listed = await reader.get("/v1/policies")
        assert listed.status_code == 200, listed.text
        assert name in {p["name"] for p in listed.json()["items"]}
        in_force = await reader.get(f"/v1/policies/{name}")
        first = await reader.get(f"/v1/policies/{name}/versions/1")
        assert (in_force.status_code, first.status_code) == (200, 200), (role, name, first.text)
        assert first.json()["version"] == 1 and first.json()["body"] == in_force.json()["body"]
        refused = await reader.post(f"/v1/policies/{name}/versions",
                                    json={"effective_from": "2027-01-01", "body": in_force.json()["body"]})
        assert refused.status_code == 403, (role, name, refused.text)
    assert [v["version"] for v in (await hq.get(f"{WARRANTY}/versions")).json()["items"]] == [1]
