"""Policies with versions: version 1 is the file in data/, a new version takes effect on
its day and the version in force on a day is read by date; what changed is listed by key;
a body not in the policy's shape is 422 naming the field."""
from __future__ import annotations

import copy
from datetime import timedelta

import pytest

from services.common import reference
from tests.network.conftest import create_store
from tests.support.platform import Caller

WARRANTY = "/v1/policies/warranty_policy"
LABOUR = "/v1/policies/labour_operations"


def warranty(**changes) -> dict:
    return {**copy.deepcopy(reference.load("warranty_policy")), **changes}


async def test_version_one_is_the_file_in_data(hq):
    for url, file in ((WARRANTY, "warranty_policy"), (LABOUR, "labor_operations")):
        first = (await hq.get(url, params={"on": "2026-12-10"})).json()
        assert (first["version"], first["effective_from"], first["effective_until"]) == (1, "1970-01-01", None)
        assert first["body"] == reference.load(file) and first["changes"] == []


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
    body["operations"].append({"op_code": "HV-0100", "description": "High-voltage battery isolation check",
                               "category": "electrical", "flat_rate_hours": 1.5, "warranty_eligible": True})
    body["operations"] = [op for op in body["operations"] if op["op_code"] != "GLS-0100"]
    added = await hq.post(f"{LABOUR}/versions", json={"effective_from": "2027-03-01", "body": body})
    assert added.status_code == 201, added.text

    store = await create_store(hq)
    manager = Caller(client, "store_manager", store["id"])
    changes = (await manager.get(f"{LABOUR}/versions/2")).json()["changes"]
    assert [(c["path"], c["change"]) for c in changes] == [
        ("operations.BRK-0210.flat_rate_hours", "changed"), ("operations.GLS-0100", "removed"),
        ("operations.HV-0100", "added")]
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
    unknown = await hq.post("/v1/policies/parts_prices/versions", json={"effective_from": "2027-01-01", "body": {}})
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
