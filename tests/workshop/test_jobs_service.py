"""Jobs over HTTP: made from approvals, dispatched by skill, clocked honestly, checked by
four eyes, reworked, and the order's progress events going out once each."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from tests.support.platform import Caller
from tests.workshop.factories import approved, fee, labor, outbox, part


async def _one_job(shop, op_code="BRK-0210"):
    env = approved(shop.store_id, [labor(op_code)], approved_at=shop.clock.now())
    await shop.deliver(env)
    (job,) = await shop.jobs_of(env.subject)
    return env.subject, job


async def test_approval_makes_one_pending_job_per_labour_line(shop):
    lines = [labor("BRK-0210"), labor("MNT-0100", flat_rate_hours="0.7"), part("XB-45022-F10"), fee()]
    env = approved(shop.store_id, lines, approved_at=shop.clock.now())
    await shop.deliver(env)

    jobs = await shop.jobs_of(env.subject)
    assert len(jobs) == 2
    by_op = {j["op_code"]: j for j in jobs}
    assert by_op["BRK-0210"]["status"] == "pending"
    assert by_op["BRK-0210"]["category"] == "brakes"
    assert Decimal(by_op["BRK-0210"]["flat_rate_hours"]) == Decimal("1.0")  # from the operation catalogue
    assert Decimal(by_op["MNT-0100"]["flat_rate_hours"]) == Decimal("0.7")  # as sold on the line
    created = await outbox(shop.app, "workshop.job.created")
    assert sorted(e["data"]["op_code"] for e in created) == ["BRK-0210", "MNT-0100"]
    assert len(await shop.reservations_of(env.subject)) == 1


async def test_assignment_needs_the_skill_for_the_operation_category(shop):
    _, job = await _one_job(shop, "BRK-0210")
    electrician = await shop.technician("Zhou Min", skills=("electrical",))
    brakes = await shop.technician("Li Wei", skills=("brakes",))

    refused = await shop.manager.post(f"/v1/jobs/{job['id']}/assign", json={"technician_id": electrician["id"]})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "technician_id"
    assert "brakes" in refused.json()["detail"]

    ok = await shop.manager.post(f"/v1/jobs/{job['id']}/assign", json={"technician_id": brakes["id"]})
    assert ok.status_code == 200, ok.text
    assert ok.json()["status"] == "assigned" and ok.json()["technician_id"] == brakes["id"]


async def test_assignment_refuses_a_technician_of_another_store(shop):
    _, job = await _one_job(shop)
    other = await shop.caller("store_manager", "manager-2", shop.other_store_id).post(
        "/v1/technicians", json={"name": "Sun Hao", "skills": ["brakes"]})
    assert other.status_code == 201

    r = await shop.manager.post(f"/v1/jobs/{job['id']}/assign", json={"technician_id": other.json()["id"]})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "technician_id"


async def test_unknown_skill_is_refused_when_creating_a_technician(shop):
    r = await shop.manager.post("/v1/technicians", json={"name": "X", "skills": ["brakes", "juggling"]})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "skills"


async def test_quality_check_by_the_technician_who_did_the_job_is_refused(shop):
    _, job = await _one_job(shop)
    tech = await shop.technician(principal_id="tech-li")
    as_tech = shop.caller("technician", "tech-li")
    assert (await shop.manager.post(f"/v1/jobs/{job['id']}/assign", json={"technician_id": tech["id"]})).status_code == 200
    assert (await as_tech.post(f"/v1/jobs/{job['id']}/start")).status_code == 200
    shop.clock.advance(minutes=50)
    assert (await as_tech.post(f"/v1/jobs/{job['id']}/complete", json={"notes": "pads replaced"})).status_code == 200

    own = await as_tech.post(f"/v1/jobs/{job['id']}/qc", json={"result": "pass"})
    assert own.status_code == 409
    assert own.json()["rule"] == "four_eyes"
    # Nor through someone else's terminal, naming the technician as inspector.
    named = await shop.manager.post(f"/v1/jobs/{job['id']}/qc", json={"result": "pass", "inspector": "tech-li"})
    assert named.status_code == 409
    assert (await shop.manager.get(f"/v1/jobs/{job['id']}")).json()["status"] == "completed"

    foreman = shop.caller("technician", "foreman-wu")
    passed = await foreman.post(f"/v1/jobs/{job['id']}/qc", json={"result": "pass", "notes": "road tested"})
    assert passed.status_code == 200, passed.text
    body = passed.json()
    assert body["status"] == "qc_passed"
    assert body["quality_checks"][0]["inspector"] == "foreman-wu"
    (event,) = await outbox(shop.app, "workshop.job.qc_passed")
    assert event["data"]["inspector"] == "foreman-wu"
    assert Decimal(event["data"]["clocked_hours"]) == Decimal("0.83")
    assert Decimal(event["data"]["flat_rate_hours"]) == Decimal("1.00")


async def test_clocking_and_checks_name_the_person_and_the_key_or_sign_in_they_used(shop):
    _, job = await _one_job(shop)
    # The roster links the technician's key, as it did before keys answered to their person;
    # the gateway now signs that key as the person, with the key as credential.
    tech = await shop.technician(principal_id="k-li")
    li = Caller(shop.client, "technician", shop.store_id, "person-li", name="李伟", credential="key:k-li")
    url = f"/v1/jobs/{job['id']}"
    assert (await shop.manager.post(f"{url}/assign", json={"technician_id": tech["id"]})).status_code == 200
    assert (await li.post(f"{url}/start")).status_code == 200
    shop.clock.advance(minutes=40)
    assert (await li.post(f"{url}/complete", json={"notes": "pads replaced"})).status_code == 200

    # Li's own sign-in cannot pass his work either: the roster knows the key, the check the person.
    own = await li.post(f"{url}/qc", json={"result": "pass"})
    assert own.status_code == 409 and own.json()["rule"] == "four_eyes"
    # 赵磊 fails it with a key issued to him; Li reworks it; 吴刚 passes it signed in.
    zhao = Caller(shop.client, "service_manager", shop.store_id, "person-zhao", name="赵磊", credential="key:k-zhao-2")
    assert (await zhao.post(f"{url}/qc", json={"result": "fail", "notes": "squeal"})).status_code == 200
    assert (await li.post(f"{url}/start")).status_code == 200
    shop.clock.advance(minutes=10)
    assert (await li.post(f"{url}/complete")).status_code == 200
    wu = Caller(shop.client, "technician", shop.store_id, "person-wu", name="吴刚", credential="token:s-wu")
    passed = await wu.post(f"{url}/qc", json={"result": "pass", "inspector": "Foreman Wu"})
    assert passed.status_code == 200, passed.text
    body = passed.json()
    li_who = {"person_id": "person-li", "name": "李伟", "credential": "key:k-li"}
    assert [(i["started_by_person"], i["ended_by_person"]) for i in body["work_intervals"]] == [(li_who, li_who)] * 2
    assert body["completed_by_person"] == li_who
    failed_check, check = body["quality_checks"]
    assert failed_check["inspector_person"] == {"person_id": "person-zhao", "name": "赵磊", "credential": "key:k-zhao-2"}
    assert (check["inspector"], check["inspector_name"]) == ("person-wu", "Foreman Wu")
    assert check["inspector_person"] == {"person_id": "person-wu", "name": "吴刚", "credential": "token:s-wu"}
    # The events carry the person and what they came with too (the name as signed, not the job card's).
    (failed,) = await outbox(shop.app, "workshop.job.qc_failed")
    (passed_event,) = await outbox(shop.app, "workshop.job.qc_passed")
    assert [(e["data"]["inspector"], e["data"]["inspector_name"], e["data"]["inspector_credential"])
            for e in (failed, passed_event)] == [("person-zhao", "赵磊", "key:k-zhao-2"), ("person-wu", "吴刚", "token:s-wu")]


async def test_job_events_name_the_person_the_technician_record_works_under(shop):
    _, job = await _one_job(shop)
    tech = await shop.technician("李伟", principal_id="person-li")
    li = Caller(shop.client, "technician", shop.store_id, "person-li", name="李伟")
    url = f"/v1/jobs/{job['id']}"
    assert (await shop.manager.post(f"{url}/assign", json={"technician_id": tech["id"]})).status_code == 200
    assert (await li.post(f"{url}/start")).status_code == 200
    assert (await li.post(f"{url}/complete")).status_code == 200
    assert (await shop.caller("technician", "foreman-wu").post(f"{url}/qc", json={"result": "pass"})).status_code == 200
    events = [*await outbox(shop.app, "workshop.job.started"), *await outbox(shop.app, "workshop.job.qc_passed")]
    assert [(e["data"]["technician_id"], e["data"]["technician_person_id"], e["data"]["technician_name"])
            for e in events] == [(tech["id"], "person-li", "李伟")] * 2


async def test_job_events_of_a_technician_record_with_no_person_name_only_the_record(shop):
    _, job = await _one_job(shop)
    tech = await shop.technician("Zhou Min")
    url = f"/v1/jobs/{job['id']}"
    assert (await shop.manager.post(f"{url}/assign", json={"technician_id": tech["id"]})).status_code == 200
    assert (await shop.manager.post(f"{url}/start")).status_code == 200
    (started,) = await outbox(shop.app, "workshop.job.started")
    assert started["data"]["technician_id"] == tech["id"]
    assert (started["data"].get("technician_person_id"), started["data"].get("technician_name")) == (None, None)


async def test_a_technician_linked_by_key_clocks_only_on_their_own_jobs_when_the_key_answers_to_a_person(shop):
    _, job = await _one_job(shop)
    await shop.technician("Li Wei", principal_id="k-li")
    zhou = await shop.technician("Zhou Min", principal_id="tech-zhou")
    await shop.manager.post(f"/v1/jobs/{job['id']}/assign", json={"technician_id": zhou["id"]})
    li = Caller(shop.client, "technician", shop.store_id, "person-li", name="李伟", credential="key:k-li")
    refused = await li.post(f"/v1/jobs/{job['id']}/start")
    assert refused.status_code == 403, refused.text


async def test_failed_check_sends_the_job_to_rework_and_counts_it(shop):
    _, job = await _one_job(shop)
    tech = await shop.technician(principal_id="tech-li")
    url = f"/v1/jobs/{job['id']}"
    await shop.manager.post(f"{url}/assign", json={"technician_id": tech["id"]})
    await shop.manager.post(f"{url}/start")
    shop.clock.advance(minutes=60)
    await shop.manager.post(f"{url}/complete", json={"notes": "done"})

    failed = await shop.manager.post(f"{url}/qc", json={"result": "fail", "notes": "pedal feels soft"})
    assert failed.status_code == 200
    assert failed.json()["status"] == "rework" and failed.json()["rework_count"] == 1
    (event,) = await outbox(shop.app, "workshop.job.qc_failed")
    assert event["data"]["rework_count"] == 1 and event["data"]["notes"] == "pedal feels soft"

    # Rework: back to work, the same technician, more clocked time.
    restarted = await shop.manager.post(f"{url}/start")
    assert restarted.json()["status"] == "in_progress"
    shop.clock.advance(minutes=30)
    await shop.manager.post(f"{url}/complete", json={"notes": "bled the brakes"})
    again = await shop.manager.post(f"{url}/qc", json={"result": "fail"})
    assert again.json()["rework_count"] == 2
    await shop.manager.post(f"{url}/start")
    shop.clock.advance(minutes=15)
    await shop.manager.post(f"{url}/complete")
    passed = await shop.manager.post(f"{url}/qc", json={"result": "pass"})
    assert passed.json()["status"] == "qc_passed"
    assert len(passed.json()["quality_checks"]) == 3
    (event,) = await outbox(shop.app, "workshop.job.qc_passed")
    assert event["data"]["rework_count"] == 2
    assert Decimal(event["data"]["clocked_hours"]) == Decimal("1.75")
    assert len(await outbox(shop.app, "workshop.job.started")) == 3


async def test_pause_and_resume_clock_only_the_time_worked(shop):
    _, job = await _one_job(shop)
    tech = await shop.technician()
    url = f"/v1/jobs/{job['id']}"
    await shop.manager.post(f"{url}/assign", json={"technician_id": tech["id"]})
    await shop.manager.post(f"{url}/start")
    shop.clock.advance(minutes=30)
    paused = await shop.manager.post(f"{url}/pause")
    assert paused.json()["status"] == "paused"
    shop.clock.advance(hours=2)  # waiting for a part: not work
    assert (await shop.manager.post(f"{url}/pause")).status_code == 409
    resumed = await shop.manager.post(f"{url}/resume")
    assert resumed.json()["status"] == "in_progress"
    assert resumed.json()["clocked_on_since"] == shop.clock.now().isoformat().replace("+00:00", "Z")
    shop.clock.advance(minutes=15)
    done = (await shop.manager.post(f"{url}/complete")).json()

    assert Decimal(done["clocked_hours"]) == Decimal("0.75")
    assert [i["seconds"] for i in done["work_intervals"]] == [1800, 900]
    assert [i["end_reason"] for i in done["work_intervals"]] == ["pause", "complete"]


async def test_clocking_onto_another_job_pauses_the_first(shop):
    env = approved(shop.store_id, [labor("BRK-0210"), labor("MNT-0100")], approved_at=shop.clock.now())
    await shop.deliver(env)
    first, second = await shop.jobs_of(env.subject)
    tech = await shop.technician()
    for job in (first, second):
        await shop.manager.post(f"/v1/jobs/{job['id']}/assign", json={"technician_id": tech["id"]})
    await shop.manager.post(f"/v1/jobs/{first['id']}/start")
    shop.clock.advance(minutes=20)
    await shop.manager.post(f"/v1/jobs/{second['id']}/start")
    shop.clock.advance(minutes=40)

    one = (await shop.manager.get(f"/v1/jobs/{first['id']}")).json()
    assert one["status"] == "paused"
    assert one["work_intervals"][0]["end_reason"] == "switch"
    assert Decimal(one["clocked_hours"]) == Decimal("0.33")
    # A paused job can be completed without clocking more time onto it.
    done = (await shop.manager.post(f"/v1/jobs/{first['id']}/complete")).json()
    assert done["status"] == "completed" and Decimal(done["clocked_hours"]) == Decimal("0.33")
    two = (await shop.manager.post(f"/v1/jobs/{second['id']}/complete")).json()
    assert Decimal(two["clocked_hours"]) == Decimal("0.67")


async def test_transitions_not_allowed_are_409_with_the_current_state(shop):
    _, job = await _one_job(shop)
    url = f"/v1/jobs/{job['id']}"
    r = await shop.manager.post(f"{url}/start")
    assert r.status_code == 409
    assert r.json()["current_state"] == "pending" and r.json()["action"] == "start"
    r = await shop.manager.post(f"{url}/qc", json={"result": "pass"})
    assert r.status_code == 409 and r.json()["current_state"] == "pending"
    tech = await shop.technician()
    await shop.manager.post(f"{url}/assign", json={"technician_id": tech["id"]})
    await shop.manager.post(f"{url}/start")
    r = await shop.manager.post(f"{url}/assign", json={"technician_id": tech["id"]})
    assert r.status_code == 409 and r.json()["current_state"] == "in_progress"
    r = await shop.manager.post(f"{url}/qc", json={"result": "pass"})
    assert r.status_code == 409 and r.json()["current_state"] == "in_progress"


async def test_a_technician_clocks_only_on_jobs_given_to_them(shop):
    _, job = await _one_job(shop)
    li = await shop.technician("Li Wei", principal_id="tech-li")
    await shop.technician("Zhou Min", principal_id="tech-zhou")
    await shop.manager.post(f"/v1/jobs/{job['id']}/assign", json={"technician_id": li["id"]})

    r = await shop.caller("technician", "tech-zhou").post(f"/v1/jobs/{job['id']}/start")
    assert r.status_code == 403
    assert (await shop.caller("technician", "tech-li").post(f"/v1/jobs/{job['id']}/start")).status_code == 200


async def test_read_only_roles_cannot_act_on_jobs(shop):
    _, job = await _one_job(shop)
    r = await shop.caller("parts_clerk", "clerk-1").post(f"/v1/jobs/{job['id']}/start")
    assert r.status_code == 403
    assert (await shop.caller("service_advisor", "adv-1").get(f"/v1/jobs/{job['id']}")).status_code == 200
    assert (await shop.caller("crm_agent", "crm-1").get(f"/v1/jobs/{job['id']}")).status_code == 403
    assert (await shop.caller("technician", "t-1").post("/v1/technicians", json={"name": "x"})).status_code == 403


async def test_work_started_and_ready_go_out_once_per_order(shop):
    await shop.receive("XB-45022-F10", 4)
    env = approved(shop.store_id, [labor("BRK-0210"), labor("MNT-0100"), part("XB-45022-F10", "2")],
                   approved_at=shop.clock.now())
    await shop.deliver(env)
    order_id = env.subject
    tech = await shop.technician()
    jobs = await shop.jobs_of(order_id)
    for job in jobs:
        await shop.manager.post(f"/v1/jobs/{job['id']}/assign", json={"technician_id": tech["id"]})
        await shop.manager.post(f"/v1/jobs/{job['id']}/start")
        shop.clock.advance(minutes=30)
        await shop.manager.post(f"/v1/jobs/{job['id']}/complete")
    assert len(await outbox(shop.app, "workshop.repair_order.work_started")) == 1
    assert (await shop.manager.get(f"/v1/repair-orders/{order_id}")).json()["status"] == "in_progress"

    for job in jobs:
        await shop.caller("technician", "foreman").post(f"/v1/jobs/{job['id']}/qc", json={"result": "pass"})
    # Jobs done, part still on the shelf: not ready.
    assert await outbox(shop.app, "workshop.repair_order.ready") == []
    (reservation,) = await shop.reservations_of(order_id)
    issued = await shop.clerk.post(f"/v1/reservations/{reservation['id']}/issue")
    assert issued.status_code == 200 and issued.json()["status"] == "issued"

    (ready,) = await outbox(shop.app, "workshop.repair_order.ready")
    assert ready["subject"] == order_id
    assert ready["data"]["jobs"] == 2
    assert Decimal(ready["data"]["flat_rate_hours"]) == Decimal("1.50")
    assert Decimal(ready["data"]["clocked_hours"]) == Decimal("1.00")
    # Issuing again changes nothing, and no second ready goes out.
    assert (await shop.clerk.post(f"/v1/reservations/{reservation['id']}/issue")).status_code == 409
    assert len(await outbox(shop.app, "workshop.repair_order.ready")) == 1
    order = (await shop.manager.get(f"/v1/repair-orders/{order_id}")).json()
    assert order["status"] == "ready" and len(order["jobs"]) == 2 and order["reservations"][0]["status"] == "issued"
    kinds = [e["type"] for e in await outbox(shop.app, subject=order_id)]
    assert kinds == ["workshop.repair_order.work_started", "workshop.repair_order.ready"]


async def test_an_order_of_parts_only_starts_and_is_ready_when_its_parts_are_issued(shop):
    await shop.receive("XB-31500-B60", 1)
    env = approved(shop.store_id, [part("XB-31500-B60")], approved_at=shop.clock.now())
    await shop.deliver(env)
    (reservation,) = await shop.reservations_of(env.subject)
    await shop.clerk.post(f"/v1/reservations/{reservation['id']}/issue")
    kinds = [e["type"] for e in await outbox(shop.app, subject=env.subject)]
    assert kinds == ["workshop.repair_order.work_started", "workshop.repair_order.ready"]


async def test_cancelled_order_cancels_its_jobs_and_stops_the_clock(shop):
    order_id, job = await _one_job(shop)
    tech = await shop.technician()
    await shop.manager.post(f"/v1/jobs/{job['id']}/assign", json={"technician_id": tech["id"]})
    await shop.manager.post(f"/v1/jobs/{job['id']}/start")
    shop.clock.advance(minutes=10)
    from tests.workshop.factories import cancelled

    await shop.deliver(cancelled(shop.store_id, order_id))
    after = (await shop.manager.get(f"/v1/jobs/{job['id']}")).json()
    assert after["status"] == "cancelled"
    assert after["work_intervals"][0]["end_reason"] == "cancel"
    assert (await shop.manager.post(f"/v1/jobs/{job['id']}/complete")).status_code == 409
    assert (await shop.manager.get(f"/v1/repair-orders/{order_id}")).json()["status"] == "cancelled"


async def test_technician_roster_updates_carry_a_version(shop):
    tech = await shop.technician()
    r = await shop.manager.patch(f"/v1/technicians/{tech['id']}",
                                 json={"version": tech["version"], "skills": ["brakes", "engine"]})
    assert r.status_code == 200 and r.json()["skills"] == ["brakes", "engine"]
    stale = await shop.manager.patch(f"/v1/technicians/{tech['id']}", json={"version": tech["version"], "active": False})
    assert stale.status_code == 412
    listed = (await shop.manager.get("/v1/technicians", params={"skill": "engine"})).json()["items"]
    assert [t["id"] for t in listed] == [tech["id"]]
    assert (await shop.manager.get("/v1/technicians", params={"skill": "climate"})).json()["items"] == []


async def test_a_principal_is_linked_to_one_technician_per_store(shop):
    await shop.technician("Li Wei", principal_id="tech-li")
    r = await shop.manager.post("/v1/technicians", json={"name": "Other", "skills": [], "principal_id": "tech-li"})
    assert r.status_code == 409
