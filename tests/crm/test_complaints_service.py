"""Complaints: deadlines, owners, escalation to HQ, and the state machine."""
from __future__ import annotations

from datetime import datetime, timedelta

from tests.crm import factories as f


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
