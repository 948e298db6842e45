"""Audits against data/audit_standards.json: weighted score, corrective actions below the
pass mark with due dates, history per store."""
from __future__ import annotations

from datetime import datetime, timedelta

from services.common import reference
from tests.network.conftest import create_store, network_service, network_settings
from tests.support.platform import Caller

STANDARDS = reference.load("audit_standards")
SCORES = {"reception_process": 70, "workshop_equipment": 60, "housekeeping": 90, "parts_storage": 85,
          "customer_lounge": 100, "staff_certification": 75, "process_compliance": 80, "data_quality": 95}


def items(scores: dict[str, int]) -> list[dict]:
    return [{"code": code, "score": score, "note": ""} for code, score in scores.items()]


async def test_a_failed_audit_scores_by_weight_and_opens_corrective_actions_with_due_dates(network_db, clock):
    async with network_service(network_settings(network_db, corrective_action_due_days=14), clock) as client:
        # The auditor records with a key issued to her; another person closes with his sign-in.
        hq = Caller(client, "hq_admin", principal_id="auditor-1", name="孙丽", credential="key:k-sun-1")
        closer = Caller(client, "hq_admin", principal_id="person-li", name="李强", credential="token:s-li-1")
        store = await create_store(hq)
        response = await hq.post(f"/v1/stores/{store['id']}/audits", json={"items": items(SCORES)})
        assert response.status_code == 201, response.text
        audit = response.json()
        weights = {s["code"]: s["weight"] for s in STANDARDS["items"]}
        assert sum(SCORES[c] * weights[c] for c in SCORES) == 7775 and sum(weights.values()) == 100
        assert (audit["score"], audit["pass_mark"], audit["passed"], audit["auditor"]) == ("77.75", 80, False, "auditor-1")
        assert (audit["auditor_name"], audit["auditor_credential"]) == ("孙丽", "key:k-sun-1")
        actions = audit["corrective_actions"]
        assert sorted(a["item_code"] for a in actions) == ["reception_process", "staff_certification", "workshop_equipment"]
        due = datetime.fromisoformat(actions[0]["due_at"])
        assert all(datetime.fromisoformat(a["due_at"]) == due for a in actions)
        assert due == clock.now() + timedelta(days=14)
        assert all(a["status"] == "open" and not a["overdue"] for a in actions)

        clock.advance(timedelta(days=15))
        open_actions = (await hq.get(f"/v1/stores/{store['id']}/corrective-actions?status=open")).json()["items"]
        assert len(open_actions) == 3 and all(a["overdue"] for a in open_actions)
        closed = await closer.post(f"/v1/stores/{store['id']}/corrective-actions/{actions[0]['id']}/close",
                                   json={"resolution": "new lift installed"})
        assert closed.status_code == 200 and closed.json()["status"] == "closed"
        assert (closed.json()["closed_by"], closed.json()["closed_by_name"], closed.json()["closed_by_credential"]) == (
            "person-li", "李强", "token:s-li-1")
        [read] = (await hq.get(f"/v1/stores/{store['id']}/audits")).json()["items"]
        assert (read["auditor"], read["auditor_name"], read["auditor_credential"]) == (
            "auditor-1", "孙丽", "key:k-sun-1")
        assert [(a["closed_by"], a["closed_by_name"], a["closed_by_credential"]) for a in read["corrective_actions"]
                if a["id"] == actions[0]["id"]] == [("person-li", "李强", "token:s-li-1")]
        again = await hq.post(f"/v1/stores/{store['id']}/corrective-actions/{actions[0]['id']}/close",
                              json={"resolution": "again"})
        assert again.status_code == 409 and again.json()["current_state"] == "closed"
        assert len((await hq.get(f"/v1/stores/{store['id']}/corrective-actions?status=open")).json()["items"]) == 2


async def test_a_passed_audit_opens_nothing_and_history_lists_newest_first(client, hq):
    store = await create_store(hq)
    await hq.post(f"/v1/stores/{store['id']}/audits", json={"items": items(SCORES)})
    passed = await hq.post(f"/v1/stores/{store['id']}/audits", json={"items": items({c: 80 for c in SCORES})})
    assert passed.status_code == 201
    assert (passed.json()["score"], passed.json()["passed"], passed.json()["corrective_actions"]) == ("80.00", True, [])
    history = (await hq.get(f"/v1/stores/{store['id']}/audits")).json()["items"]
    assert [a["score"] for a in history] == ["80.00", "77.75"]
    manager = Caller(client, "store_manager", store_id=store["id"])
    assert len((await manager.get(f"/v1/stores/{store['id']}/audits")).json()["items"]) == 2
    assert (await manager.post(f"/v1/stores/{store['id']}/audits", json={"items": items(SCORES)})).status_code == 403


async def test_every_standard_must_be_scored_once_with_a_known_code_and_a_score_in_range(client, hq):
    store = await create_store(hq)
    url = f"/v1/stores/{store['id']}/audits"
    unknown = await hq.post(url, json={"items": items({**SCORES, "coffee": 100})})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "items.8.code"
    partial = dict(SCORES)
    del partial["data_quality"]
    missing = await hq.post(url, json={"items": items(partial)})
    assert missing.status_code == 422 and missing.json()["missing"] == ["data_quality"]
    twice = await hq.post(url, json={"items": items(SCORES) + [{"code": "housekeeping", "score": 10}]})
    assert twice.status_code == 422 and twice.json()["errors"][0]["field"] == "items.8.code"
    out_of_range = await hq.post(url, json={"items": items({**SCORES, "housekeeping": 101})})
    assert out_of_range.status_code == 422 and out_of_range.json()["errors"][0]["field"] == "items.2.score"
    assert (await hq.get(url)).json()["items"] == []
