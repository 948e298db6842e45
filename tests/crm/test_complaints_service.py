"""Complaints: deadlines, owners, escalation to HQ, and the state machine."""
from __future__ import annotations

from datetime import datetime, timedelta

from tests.crm import factories as f
from tests.support.platform import Caller


async def complaint(crm, severity: str = "medium", **extra) -> dict:
    r = await crm.agent.post("/v1/complaints", json={"department": "workshop", "severity": severity,
                                                     "description": "car returned dirty", **extra})
    assert r.status_code == 201, r.text
    return r.json()


async def run_escalation(crm) -> dict:
    r = await crm.manager.post("/v1/jobs/complaint_escalation/run")
    assert r.status_code == 200, r.text
    return r.json()["stores"][0]["result"]


async def test_an_overdue_complaint_is_escalated_once_when_the_clock_passes_its_deadline(crm):
    opened = await complaint(crm, "high")
    assert datetime.fromisoformat(opened["due_at"]) == crm.clock.now() + timedelta(hours=48)
    crm.clock.advance(hours=47, minutes=59)
    assert await run_escalation(crm) == {"escalated": 0}
    assert (await crm.agent.get(f"/v1/complaints/{opened['id']}")).json()["escalated"] is False

    crm.clock.advance(minutes=2)
    assert await run_escalation(crm) == {"escalated": 1}
    escalated = (await crm.agent.get(f"/v1/complaints/{opened['id']}")).json()
    assert escalated["escalated"] is True and escalated["overdue"] is True
    assert escalated["status"] == "open"  # escalation sits beside the state, it does not replace it
    assert [e["reason"] for e in escalated["escalations"]] == ["overdue"]
    [event] = await crm.emitted("crm.complaint.escalated")
    assert event["data"]["reason"] == "overdue" and event["data"]["complaint_id"] == opened["id"]

    crm.clock.advance(hours=3)
    assert await run_escalation(crm) == {"escalated": 0}
    assert len(await crm.emitted("crm.complaint.escalated")) == 1


async def test_a_medium_complaint_has_five_days_and_a_resolved_one_is_never_overdue(crm):
    medium = await complaint(crm, "medium")
    assert datetime.fromisoformat(medium["due_at"]) == crm.clock.now() + timedelta(days=5)
    done = await complaint(crm, "low")
    await crm.manager.post(f"/v1/complaints/{done['id']}/assign", json={"owner": "manager-chen"})
    await crm.manager.post(f"/v1/complaints/{done['id']}/resolve", json={"resolution": "apologised, free wash"})
    crm.clock.advance(days=5, minutes=1)
    assert await run_escalation(crm) == {"escalated": 1}
    overdue = (await crm.agent.get("/v1/complaints", params={"overdue": "true"})).json()["items"]
    assert [c["id"] for c in overdue] == [medium["id"]]


async def test_a_critical_complaint_goes_to_hq_at_once_and_again_when_overdue(crm):
    critical = await complaint(crm, "critical", description="brakes failed after the repair")
    assert critical["escalated"] is True
    assert [e["reason"] for e in critical["escalations"]] == ["critical"]
    crm.clock.advance(hours=49)
    await run_escalation(crm)
    reasons = [e["data"]["reason"] for e in await crm.emitted("crm.complaint.escalated")]
    assert reasons == ["critical", "overdue"]


async def test_assigning_sets_the_owner_and_a_later_date_needs_a_reason(crm):
    opened = await complaint(crm, "medium")
    url = f"/v1/complaints/{opened['id']}/assign"
    later = (datetime.fromisoformat(opened["due_at"]) + timedelta(hours=1)).isoformat()
    r = await crm.manager.post(url, json={"owner": "foreman-zhou", "due_at": later})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "due_reason"
    past = (crm.clock.now() - timedelta(hours=1)).isoformat()
    assert (await crm.manager.post(url, json={"owner": "foreman-zhou", "due_at": past})).status_code == 422
    sooner = (crm.clock.now() + timedelta(days=1)).isoformat()
    r = await crm.manager.post(url, json={"owner": "foreman-zhou", "due_at": sooner})
    assert r.status_code == 200
    assert r.json()["owner"] == "foreman-zhou"
    assert datetime.fromisoformat(r.json()["due_at"]) == datetime.fromisoformat(sooner)


async def test_complaint_states_move_only_forward(crm):
    opened = await complaint(crm)
    r = await crm.manager.post(f"/v1/complaints/{opened['id']}/resolve", json={"resolution": "x"})
    assert r.status_code == 409 and r.json()["current_state"] == "open"
    await crm.manager.post(f"/v1/complaints/{opened['id']}/assign", json={"owner": "foreman-zhou"})
    await crm.manager.post(f"/v1/complaints/{opened['id']}/resolve", json={"resolution": "re-cleaned"})
    r = await crm.manager.post(f"/v1/complaints/{opened['id']}/assign", json={"owner": "someone"})
    assert r.status_code == 409


async def test_a_complaint_without_a_customer_closes_on_resolution(crm):
    opened = await complaint(crm)
    await crm.manager.post(f"/v1/complaints/{opened['id']}/assign", json={"owner": "foreman-zhou"})
    r = await crm.manager.post(f"/v1/complaints/{opened['id']}/resolve", json={"resolution": "re-cleaned"})
    assert r.json()["status"] == "closed" and r.json()["follow_up_callback_id"] is None
    assert len(await crm.emitted("crm.complaint.closed")) == 1


async def test_a_manual_complaint_about_an_order_takes_its_customer_and_is_checked(crm):
    delivered = f.delivered(crm.store_id, crm.clock.now() - timedelta(days=1))
    await crm.deliver(delivered)
    opened = await complaint(crm, repair_order_id=delivered.subject)
    assert opened["customer_id"] and opened["source"] == "manual"
    await complaint(crm)
    about_order = (await crm.agent.get("/v1/complaints", params={"repair_order_id": delivered.subject})).json()
    assert [c["id"] for c in about_order["items"]] == [opened["id"]]
    event = (await crm.emitted("crm.complaint.opened"))[0]
    assert event["data"]["customer_id"] == opened["customer_id"] and event["data"]["source"] == "manual"
    assert event["data"]["repair_order_id"] == delivered.subject

    r = await crm.agent.post("/v1/complaints", json={"department": "sales", "severity": "low", "description": "x"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "department"
    r = await crm.agent.post("/v1/complaints", json={"department": "parts", "severity": "urgent", "description": "x"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "severity"
    r = await crm.agent.post("/v1/complaints", json={"department": "parts", "severity": "low", "description": "x",
                                                     "customer_id": "nobody"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "customer_id"
    stranger = crm.as_("crm_agent", "agent-beijing", store_id=crm.other_store_id)
    r = await stranger.post("/v1/complaints", json={"department": "parts", "severity": "low", "description": "x",
                                                    "repair_order_id": delivered.subject})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "repair_order_id"
    assert (await stranger.get(f"/v1/complaints/{opened['id']}")).status_code == 404
    assert len(await crm.emitted("crm.complaint.opened")) == 2


async def test_hq_must_name_the_store_of_a_complaint(crm):
    body = {"department": "parts", "severity": "low", "description": "price too high"}
    r = await crm.hq.post("/v1/complaints", json=body)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "store_id"
    r = await crm.hq.post("/v1/complaints", json={**body, "store_id": crm.store_id})
    assert r.status_code == 201 and r.json()["store_id"] == crm.store_id


async def test_a_stale_if_match_on_an_action_is_412(crm):
    opened = await complaint(crm)
    r = await crm.manager.post(f"/v1/complaints/{opened['id']}/assign", json={"owner": "a"},
                               headers={"If-Match": '"7"'})
    assert r.status_code == 412 and r.json()["current_version"] == 1
    r = await crm.manager.post(f"/v1/complaints/{opened['id']}/assign", json={"owner": "a"},
                               headers={"If-Match": '"1"'})
    assert r.status_code == 200 and r.json()["version"] == 2


def who(item: dict, field: str) -> tuple:
    return item[field], item[f"{field}_name"], item[f"{field}_credential"]


async def test_each_who_of_a_complaint_and_its_history_is_the_person_with_the_key_or_sign_in_they_used(crm):
    # 赵丽 records the survey with a key issued to her, 陈经理 assigns signed in, 钱主管
    # resolves with a key of his own, and 孙丽 records the follow-up signed in.
    zhao = Caller(crm.client, "crm_agent", crm.store_id, "person-zhao", name="赵丽", credential="key:k-zhao-1")
    chen = Caller(crm.client, "store_manager", crm.store_id, "person-chen", name="陈经理", credential="token:s-chen-2")
    qian = Caller(crm.client, "service_manager", crm.store_id, "person-qian", name="钱主管", credential="key:k-qian-3")
    sun = Caller(crm.client, "crm_agent", crm.store_id, "person-sun", name="孙丽", credential="token:s-sun-4")
    delivered = f.delivered(crm.store_id, crm.clock.now() - timedelta(days=1))
    await crm.deliver(delivered)
    [callback] = (await zhao.get("/v1/callbacks", params={"repair_order_id": delivered.subject})).json()["items"]
    surveyed = await zhao.post(f"/v1/callbacks/{callback['id']}/survey", json={"answers": {
        "speed": 5, "price": 5, "advisor": 5, "quality": 1, "cleanliness": 5, "overall": 5}})
    assert surveyed.status_code == 201, surveyed.text
    [opened] = (await chen.get("/v1/complaints")).json()["items"]
    assert who(opened, "opened_by") == ("person-zhao", "赵丽", "key:k-zhao-1")
    assert who(opened, "assigned_by") == who(opened, "resolved_by") == (None, None, None)
    url = f"/v1/complaints/{opened['id']}"
    assigned = (await chen.post(f"{url}/assign", json={"owner": "person-qian"})).json()
    assert who(assigned, "assigned_by") == ("person-chen", "陈经理", "token:s-chen-2")
    resolved = await qian.post(f"{url}/resolve", json={"resolution": "brake noise fixed free of charge"})
    assert resolved.status_code == 200, resolved.text
    assert who(resolved.json(), "resolved_by") == ("person-qian", "钱主管", "key:k-qian-3")
    follow_up = resolved.json()["follow_up_callback_id"]
    assert (await sun.post(f"/v1/callbacks/{follow_up}/survey", json={"answers": {"overall": 5}})).status_code == 201

    closed = (await crm.agent.get(url)).json()
    assert closed["status"] == "closed"
    assert [(s["action"], s["by"], s["by_name"], s["by_credential"]) for s in closed["history"]] == [
        ("opened", "person-zhao", "赵丽", "key:k-zhao-1"), ("assigned", "person-chen", "陈经理", "token:s-chen-2"),
        ("resolved", "person-qian", "钱主管", "key:k-qian-3"), ("closed", "person-sun", "孙丽", "token:s-sun-4")]
    assert (who(closed, "opened_by"), who(closed, "assigned_by"), who(closed, "resolved_by")) == (
        ("person-zhao", "赵丽", "key:k-zhao-1"), ("person-chen", "陈经理", "token:s-chen-2"),
        ("person-qian", "钱主管", "key:k-qian-3"))
    # The callback agent event carries the person and what they came with, for each callback.
    completed = await crm.emitted("crm.callback.completed")
    assert [(e["data"]["callback_id"], e["data"]["agent"], e["data"]["agent_name"], e["data"]["agent_credential"])
            for e in completed] == [(callback["id"], "person-zhao", "赵丽", "key:k-zhao-1"),
                                    (follow_up, "person-sun", "孙丽", "token:s-sun-4")]


async def test_a_complaint_opened_by_hand_names_who_opened_it_and_a_machine_key_names_itself(crm):
    by_sign_in = Caller(crm.client, "crm_agent", crm.store_id, "person-sun", name="孙丽", credential="token:s-sun-4")
    body = {"department": "workshop", "severity": "low", "description": "car returned dirty"}
    opened = (await by_sign_in.post("/v1/complaints", json=body)).json()
    assert who(opened, "opened_by") == ("person-sun", "孙丽", "token:s-sun-4")
    assert [(s["by"], s["by_name"], s["by_credential"]) for s in opened["history"]] == [
        ("person-sun", "孙丽", "token:s-sun-4")]
    # A call centre's own key, issued to nobody and without a label: it acts as itself.
    machine = Caller(crm.client, "crm_agent", crm.store_id, "k-dms-1", credential="key:k-dms-1")
    from_machine = await machine.post("/v1/complaints", json=body)
    assert from_machine.status_code == 201, from_machine.text
    assert who(from_machine.json(), "opened_by") == ("k-dms-1", "k-dms-1", "key:k-dms-1")
