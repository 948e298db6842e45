"""Training and certification over HTTP: the seeded courses and requirements, granting with
the course's validity, revoking once, who reads whose, the list of what runs out a month
ahead, and an outlet that cannot finish onboarding without its required certified staff."""
from __future__ import annotations

import asyncio
import json
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from alembic import command
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import col, delete, select

from services.common import reference
from services.common.ids import new_id
from services.common.migrations import alembic_config
from services.common.tables import OutboxMessage
from services.network.main import spec
from tests.network.conftest import create_store
from tests.network.factories import application_body, person_body
from tests.support.platform import Caller

TODAY = date(2026, 12, 10)  # T0 in China
CHECKLIST = [item["code"] for item in reference.load("onboarding_checklist")["items"]]


async def person_in(hq: Caller, store_id: str, role: str, name: str = "Zhang Wei", **kw) -> dict:
    made = await hq.post("/v1/people", json=person_body([(store_id, role)], name=name, **kw))
    assert made.status_code == 201, made.text
    return made.json()


async def grant(caller: Caller, person_id: str, course: str, issued_on: date = TODAY, **kw) -> dict:
    body = {"person_id": person_id, "course_code": course, "certificate_no": f"{course}-{new_id()[-10:]}",
            "issued_on": issued_on.isoformat(), **{k: v.isoformat() for k, v in kw.items()}}
    granted = await caller.post("/v1/certifications", json=body)
    assert granted.status_code == 201, granted.text
    return granted.json()


async def certified_warranty_clerk(hq: Caller, store_id: str) -> dict:
    """A warranty clerk of the store holding the WTY certification every store needs."""
    clerk = await person_in(hq, store_id, "warranty_clerk", name="Li Na")
    await grant(hq, clerk["id"], "WTY")
    return clerk


async def test_courses_and_requirements_are_seeded_from_the_data_file_with_their_sources(client, hq):
    courses = {c["code"]: c for c in (await hq.get("/v1/courses")).json()["items"]}
    assert {"WTY", "HV", "SVC"} <= courses.keys()
    assert courses["HV"]["operations"] == ["HV-0100", "HV-0310"] and courses["WTY"]["validity_months"] == 24
    assert all(c["source"] for c in courses.values())
    required = (await hq.get("/v1/certification-requirements")).json()
    assert {("every_store", "warranty_clerk", "WTY"), ("ev_store", "technician", "HV")} <= {
        (r["store_kind"], r["role"], r["course_code"]) for r in required["stores"]}
    assert all(r["source"] for r in required["stores"])
    assert {"op_code": "HV-0310", "course_code": "HV"} in required["operations"]


async def test_a_grant_runs_the_courses_validity_lists_by_person_and_store_and_is_revoked_once(client, hq):
    store, other = await create_store(hq), await create_store(hq)
    clerk = await person_in(hq, store["id"], "warranty_clerk")
    granted = await grant(hq, clerk["id"], "WTY", issued_on=date(2026, 3, 15))
    assert (granted["expires_on"], granted["status"], granted["person_name"]) == ("2028-03-14", "valid", "Zhang Wei")
    assert granted["course_name_zh"] == "保修索赔员认证"
    again = await hq.post("/v1/certifications", json={
        "person_id": clerk["id"], "course_code": "WTY", "certificate_no": granted["certificate_no"],
        "issued_on": "2026-03-15"})
    assert again.status_code == 409 and again.json()["field"] == "certificate_no"
    future = await hq.post("/v1/certifications", json={
        "person_id": clerk["id"], "course_code": "WTY", "certificate_no": "W-2", "issued_on": "2026-12-11"})
    assert future.status_code == 422 and future.json()["errors"][0]["field"] == "issued_on"
    too_long = await hq.post("/v1/certifications", json={
        "person_id": clerk["id"], "course_code": "WTY", "certificate_no": "W-3", "issued_on": "2026-01-01",
        "expires_on": "2029-01-01"})
    assert too_long.status_code == 422 and too_long.json()["errors"][0]["field"] == "expires_on"

    by_person = (await hq.get("/v1/certifications", params={"person_id": clerk["id"]})).json()["items"]
    assert [c["id"] for c in by_person] == [granted["id"]]
    assert [c["id"] for c in (await hq.get("/v1/certifications", params={"store_id": store["id"]})).json()["items"]] \
        == [granted["id"]]
    assert (await hq.get("/v1/certifications", params={"store_id": other["id"]})).json()["items"] == []
    own = Caller(client, "service_manager", store["id"])
    foreign = Caller(client, "service_manager", other["id"])
    assert (await own.get(f"/v1/certifications/{granted['id']}")).status_code == 200
    assert (await foreign.get(f"/v1/certifications/{granted['id']}")).status_code == 404
    # A store's caller sees its own people whatever store it names.
    assert (await foreign.get("/v1/certifications", params={"store_id": store["id"]})).json()["items"] == []
    assert (await own.post(f"/v1/certifications/{granted['id']}/revoke", json={"reason": "x"})).status_code == 403

    revoked = await hq.post(f"/v1/certifications/{granted['id']}/revoke", json={"reason": "left the desk"})
    assert revoked.status_code == 200, revoked.text
    assert (revoked.json()["status"], revoked.json()["revoke_reason"]) == ("revoked", "left the desk")
    twice = await hq.post(f"/v1/certifications/{granted['id']}/revoke", json={"reason": "again"})
    assert twice.status_code == 409 and twice.json()["current_state"] == "revoked"


async def test_only_hq_admin_and_the_courses_trainers_grant_it(client, hq):
    store = await create_store(hq)
    trainer = await hq.post("/v1/people", json=person_body([], name="Zhou Min", hq_role="hq_analyst"))
    assert trainer.status_code == 201, trainer.text
    course = await hq.post("/v1/courses", json={
        "code": "ADAS", "name_zh": "驾驶辅助系统标定", "name_en": "Driver-assistance calibration",
        "validity_months": 24, "operations": ["ELE-0900"], "trainer_person_ids": [trainer.json()["id"]]})
    assert course.status_code == 201, course.text
    assert (await hq.post("/v1/courses", json={"code": "X1", "name_zh": "x", "name_en": "x", "validity_months": 1,
                                               "operations": ["NOPE-1"]})).json()["errors"][0]["field"] \
        == "operations.0"
    technician = await person_in(hq, store["id"], "technician")
    by_trainer = Caller(client, "hq_analyst", principal_id=trainer.json()["id"], name="Zhou Min")
    granted = await grant(by_trainer, technician["id"], "ADAS")
    assert granted["granted_by_name"] == "Zhou Min"
    refused = await by_trainer.post("/v1/certifications", json={
        "person_id": technician["id"], "course_code": "HV", "certificate_no": "HV-1", "issued_on": "2026-12-01"})
    assert refused.status_code == 403
    assert (await Caller(client, "hq_analyst").post("/v1/courses", json=course.json())).status_code == 403


async def test_expiring_lists_what_runs_out_within_a_month_for_hq_and_the_stores_own_service_manager(client, hq):
    store, other = await create_store(hq), await create_store(hq)
    soon = await person_in(hq, store["id"], "technician", name="Wang Qiang")
    later = await person_in(hq, store["id"], "technician", name="Chen Jie")
    elsewhere = await person_in(hq, other["id"], "technician", name="Liu Yang")
    in_ten = await grant(hq, soon["id"], "HV", issued_on=date(2025, 1, 1), expires_on=TODAY + timedelta(days=10))
    in_sixty = await grant(hq, later["id"], "HV", issued_on=date(2025, 1, 1), expires_on=TODAY + timedelta(days=60))
    await grant(hq, later["id"], "SVC", issued_on=date(2025, 12, 9), expires_on=TODAY - timedelta(days=1))  # expired
    revoked = await grant(hq, soon["id"], "SVC", issued_on=date(2026, 1, 1), expires_on=TODAY + timedelta(days=5))
    voided = await hq.post(f"/v1/certifications/{revoked['id']}/revoke", json={"reason": "exam voided"})
    assert voided.status_code == 200
    other_soon = await grant(hq, elsewhere["id"], "HV", issued_on=date(2025, 1, 1),
                             expires_on=TODAY + timedelta(days=20))

    def ids(response) -> set[str]:
        assert response.status_code == 200, response.text
        return {c["id"] for c in response.json()["items"]}

    assert ids(await hq.get("/v1/certifications/expiring")) == {in_ten["id"], other_soon["id"]}
    assert ids(await hq.get("/v1/certifications/expiring", params={"store_id": store["id"]})) == {in_ten["id"]}
    assert ids(await hq.get("/v1/certifications/expiring", params={"within_days": 90, "store_id": store["id"]})) \
        == {in_ten["id"], in_sixty["id"]}
    assert ids(await hq.get("/v1/certifications", params={"expiring_within_days": 15})) == {in_ten["id"]}
    manager = Caller(client, "service_manager", store["id"])
    assert ids(await manager.get("/v1/certifications/expiring")) == {in_ten["id"]}
    assert (await hq.get("/v1/certifications/expiring", params={"within_days": 367})).status_code == 422
    # A technician reads only their own: Wang Qiang's high-voltage certificate, not Chen Jie's.
    assert ids(await Caller(client, "technician", store["id"], principal_id=soon["id"]).get(
        "/v1/certifications/expiring", params={"within_days": 90})) == {in_ten["id"]}
    assert (await Caller(client, "outlet_api", store["id"]).get("/v1/certifications/expiring")).status_code == 403
    statuses = {c["course_code"]: c["status"] for c in
                (await hq.get("/v1/certifications", params={"person_id": later["id"]})).json()["items"]}
    assert statuses == {"HV": "valid", "SVC": "expired"}


async def test_an_outlet_cannot_finish_onboarding_without_its_required_certified_staff(client, hq):
    applicant = Caller(client, "anonymous", principal_id="anon:203.0.113.9")
    submitted = await applicant.post("/v1/outlet-applications", json=application_body(
        requested_services=["maintenance", "ev"]))
    reviewed = await hq.post(f"/v1/outlet-applications/{submitted.json()['id']}/review",
                             json={"decision": "approve", "reason": "licence verified"})
    store_id = reviewed.json()["store_id"]
    for code in CHECKLIST:
        assert (await hq.post(f"/v1/stores/{store_id}/onboarding/{code}/complete")).status_code == 200

    refused = await hq.post(f"/v1/stores/{store_id}/activate")
    assert refused.status_code == 409, refused.text
    assert refused.json()["type"].endswith("certifications-missing")
    assert {(m["role"], m["course_code"]) for m in refused.json()["missing_certifications"]} == {
        ("warranty_clerk", "WTY"), ("technician", "HV")}
    assert "WTY" in refused.json()["detail"] and "HV" in refused.json()["detail"]
    status = (await hq.get(f"/v1/stores/{store_id}/certifications")).json()
    assert set(status["store_kinds"]) == {"every_store", "partner_outlet", "ev_store"} and not status["complete"]

    await certified_warranty_clerk(hq, store_id)
    # A technician whose high-voltage certificate ran out yesterday does not count.
    technician = await person_in(hq, store_id, "technician", name="Wang Qiang")
    await grant(hq, technician["id"], "HV", issued_on=date(2023, 12, 10), expires_on=TODAY - timedelta(days=1))
    still = await hq.post(f"/v1/stores/{store_id}/activate")
    assert still.status_code == 409
    assert [(m["role"], m["course_code"]) for m in still.json()["missing_certifications"]] == [("technician", "HV")]
    await grant(hq, technician["id"], "HV")
    assert (await hq.get(f"/v1/stores/{store_id}/certifications")).json()["complete"] is True
    activated = await hq.post(f"/v1/stores/{store_id}/activate")
    assert activated.status_code == 200 and activated.json()["status"] == "active"


async def test_a_dealer_stores_reinstatement_is_not_held_up_by_certifications(client, hq):
    store = await create_store(hq)
    status = (await hq.get(f"/v1/stores/{store['id']}/certifications")).json()
    assert [m["course_code"] for m in status["missing"]] == ["WTY"]
    await hq.post(f"/v1/stores/{store['id']}/suspend", json={"reason": "audit"})
    assert (await hq.post(f"/v1/stores/{store['id']}/activate")).status_code == 200




async def _course_events(client, code: str) -> list[dict]:
    async with client.app.state.db.transaction() as session:
        rows = (await session.exec(select(OutboxMessage).where(
            OutboxMessage.event_type == "network.course.published", OutboxMessage.key == code)
            .order_by(col(OutboxMessage.id)))).all()
    return [json.loads(row.payload)["data"] for row in rows]


async def test_hq_changes_a_course_which_is_published_again_one_revision_on(client, hq, clock):
    store = await create_store(hq)
    technician = await person_in(hq, store["id"], "technician")
    held = await grant(hq, technician["id"], "HV", issued_on=date(2026, 1, 5))
    clock.advance(timedelta(minutes=1))
    changed = await hq.patch("/v1/courses/HV", json={"operations": ["HV-0100", "HV-0310", "ELE-0900"],
                                                     "validity_months": 24, "name_en": "High-voltage work"})
    assert changed.status_code == 200, changed.text
    course = changed.json()
    assert (course["operations"], course["validity_months"], course["name_en"], course["name_zh"]) == (
        ["HV-0100", "HV-0310", "ELE-0900"], 24, "High-voltage work", "高压电作业认证")
    assert (await hq.get("/v1/courses/HV")).json() == course
    assert {"op_code": "ELE-0900", "course_code": "HV"} in (await hq.get("/v1/certification-requirements")).json()[
        "operations"]
    # The certificate granted under 36 months keeps its days.
    kept = (await hq.get(f"/v1/certifications/{held['id']}")).json()
    assert (kept["expires_on"], kept["status"]) == (held["expires_on"], "valid") == ("2029-01-04", "valid")

    clock.advance(timedelta(minutes=1))
    assert (await hq.patch("/v1/courses/HV", json={"operations": ["HV-0100", "HV-0310"]})).status_code == 200
    assert (await hq.patch("/v1/courses/HV", json={"operations": ["HV-0100", "HV-0310"]})).status_code == 200
    told = await _course_events(client, "HV")
    # The seeded course is revision 1 (the data file); an unchanged answer publishes nothing.
    assert [(e["revision"], e["operations"], e["validity_months"]) for e in told] == [
        (2, ["HV-0100", "HV-0310", "ELE-0900"], 24), (3, ["HV-0100", "HV-0310"], 24)]
    assert told[0]["name_en"] == "High-voltage work" and told[0]["published_by"] == hq.principal_id

    added = await hq.post("/v1/courses", json={"code": "ADAS", "name_zh": "驾驶辅助系统标定",
                                               "name_en": "Driver-assistance calibration", "validity_months": 24})
    assert added.status_code == 201, added.text
    assert (await hq.patch("/v1/courses/ADAS", json={"operations": ["ELE-0900"]})).status_code == 200
    assert [e["revision"] for e in await _course_events(client, "ADAS")] == [1, 2]


async def test_a_course_change_is_bounded_and_named_and_only_hq_admin_makes_it(client, hq):
    store = await create_store(hq)

    async def refused_field(body: dict) -> str:
        answer = await hq.patch("/v1/courses/HV", json=body)
        assert answer.status_code == 422, answer.text
        return answer.json()["errors"][0]["field"]

    assert await refused_field({"operations": ["HV-0100", "NOPE-1"]}) == "operations.1"
    assert (await refused_field({"operations": ["hv 1"]})).startswith("operations")
    assert (await refused_field({"operations": ["HV-0100", "HV-0100"]})).startswith("operations")
    assert (await refused_field({"operations": [f"OP-{i}" for i in range(201)]})).startswith("operations")
    assert (await refused_field({"validity_months": 121})).startswith("validity_months")
    assert (await refused_field({"name_zh": ""})).startswith("name_zh")
    assert (await hq.patch("/v1/courses/NOPE", json={"validity_months": 6})).status_code == 404
    for role, store_id in (("hq_analyst", None), ("store_manager", store["id"]), ("service_advisor", store["id"]),
                           ("technician", store["id"])):
        answer = await Caller(client, role, store_id).patch("/v1/courses/HV", json={"validity_months": 6})
        assert answer.status_code == 403, (role, answer.text)
    assert (await hq.get("/v1/courses/HV")).json()["validity_months"] == 36
    assert await _course_events(client, "HV") == []


async def test_store_staff_read_the_courses_and_their_own_certificates_only(client, hq):
    store = await create_store(hq)
    technician = await person_in(hq, store["id"], "technician", name="Wang Qiang")
    colleague = await person_in(hq, store["id"], "technician", name="Chen Jie")
    own = await grant(hq, technician["id"], "HV")
    theirs = await grant(hq, colleague["id"], "HV")
    advisor = Caller(client, "service_advisor", store["id"])
    courses = await advisor.get("/v1/courses")
    assert courses.status_code == 200 and "HV" in {c["code"] for c in courses.json()["items"]}
    assert (await advisor.get("/v1/courses/HV")).json()["operations"] == ["HV-0100", "HV-0310"]
    assert (await advisor.get("/v1/certification-requirements")).status_code == 200

    me = Caller(client, "technician", store["id"], principal_id=technician["id"])
    assert [c["id"] for c in (await me.get("/v1/certifications")).json()["items"]] == [own["id"]]
    assert (await me.get("/v1/certifications", params={"person_id": colleague["id"]})).json()["items"] == []
    assert (await me.get(f"/v1/certifications/{own['id']}")).status_code == 200
    assert (await me.get(f"/v1/certifications/{theirs['id']}")).status_code == 404
    assert (await me.post(f"/v1/certifications/{own['id']}/revoke", json={"reason": "x"})).status_code == 403
    manager = Caller(client, "service_manager", store["id"])
    assert {c["id"] for c in (await manager.get("/v1/certifications")).json()["items"]} == {own["id"], theirs["id"]}


async def put(caller: Caller, url: str, body: dict):
    return await caller.client.put(url, json=body, headers=caller._headers(None))


async def _outlet_with_checklist_done(client, hq: Caller, **application) -> str:
    applicant = Caller(client, "anonymous", principal_id="anon:203.0.113.9")
    submitted = await applicant.post("/v1/outlet-applications", json=application_body(**application))
    reviewed = await hq.post(f"/v1/outlet-applications/{submitted.json()['id']}/review",
                             json={"decision": "approve", "reason": "licence verified"})
    store_id = reviewed.json()["store_id"]
    for code in CHECKLIST:
        assert (await hq.post(f"/v1/stores/{store_id}/onboarding/{code}/complete")).status_code == 200
    return store_id


async def test_a_course_keeps_its_revision_and_version_and_a_stale_if_match_is_412(client, hq, clock):
    read = await hq.get("/v1/courses/HV")
    assert read.status_code == 200 and read.headers["ETag"] == '"1"'
    assert (read.json()["revision"], read.json()["version"]) == (1, 1)

    changed = await hq.patch("/v1/courses/HV", json={"validity_months": 24}, headers={"If-Match": read.headers["ETag"]})
    assert changed.status_code == 200, changed.text
    assert changed.headers["ETag"] == '"2"' and (changed.json()["revision"], changed.json()["version"]) == (2, 2)
    stale = await hq.patch("/v1/courses/HV", json={"validity_months": 12}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412, stale.text
    assert (await hq.get("/v1/courses/HV")).json()["validity_months"] == 24
    # The same answer again changes nothing: no new version, nothing published.
    same = await hq.patch("/v1/courses/HV", json={"validity_months": 24}, headers={"If-Match": '"2"'})
    assert same.status_code == 200 and same.headers["ETag"] == '"2"'

    # The revision lives on the course: a pruned outbox does not send it back to the start.
    async with client.app.state.db.transaction() as session:
        await session.exec(delete(OutboxMessage).where(col(OutboxMessage.event_type) == "network.course.published"))
    # The clock stands still: the next revision is still dated after the one before.
    again = await hq.patch("/v1/courses/HV", json={"validity_months": 30})
    latest = await hq.patch("/v1/courses/HV", json={"validity_months": 36})
    assert (again.json()["revision"], latest.json()["revision"], latest.headers["ETag"]) == (3, 4, '"4"')
    async with client.app.state.db.transaction() as session:
        rows = (await session.exec(select(OutboxMessage).where(
            OutboxMessage.event_type == "network.course.published").order_by(col(OutboxMessage.id)))).all()
    told = [json.loads(row.payload) for row in rows]
    assert [e["data"]["revision"] for e in told] == [3, 4]
    assert datetime.fromisoformat(told[0]["time"]) < datetime.fromisoformat(told[1]["time"])


async def test_hq_changes_what_a_kind_of_store_needs_and_an_outlet_is_held_to_it(client, hq):
    changed = await put(hq, "/v1/certification-requirements/partner_outlet", {"requirements": [
        {"role": "technician", "course_code": "SVC", "people": 2, "source": "brand rule: two trained technicians"}]})
    assert changed.status_code == 200, changed.text
    assert changed.json() == {"store_kind": "partner_outlet", "requirements": [{
        "store_kind": "partner_outlet", "role": "technician", "course_code": "SVC", "people": 2,
        "source": "brand rule: two trained technicians"}]}
    stored = {(r["store_kind"], r["role"], r["course_code"], r["people"])
              for r in (await hq.get("/v1/certification-requirements")).json()["stores"]}
    assert {("partner_outlet", "technician", "SVC", 2), ("every_store", "warranty_clerk", "WTY", 1)} <= stored

    store_id = await _outlet_with_checklist_done(client, hq)
    await certified_warranty_clerk(hq, store_id)
    first = await person_in(hq, store_id, "technician", name="Wang Qiang")
    await grant(hq, first["id"], "SVC")
    refused = await hq.post(f"/v1/stores/{store_id}/activate")
    assert refused.status_code == 409, refused.text
    assert [(m["role"], m["course_code"], m["people"], m["holding"]) for m in refused.json()["missing_certifications"]
            ] == [("technician", "SVC", 2, 1)]
    assert "需要 2 名" in refused.json()["detail"] and "2 technicians" in refused.json()["detail"]
    second = await person_in(hq, store_id, "technician", name="Chen Jie")
    await grant(hq, second["id"], "SVC")
    activated = await hq.post(f"/v1/stores/{store_id}/activate")
    assert activated.status_code == 200 and activated.json()["status"] == "active"

    # Nothing required of every store any more: a dealer store lacks nothing.
    assert (await put(hq, "/v1/certification-requirements/every_store", {"requirements": []})).status_code == 200
    dealer = await create_store(hq)
    assert (await hq.get(f"/v1/stores/{dealer['id']}/certifications")).json()["complete"] is True


async def test_a_requirement_change_is_bounded_named_and_only_hq_admin_makes_it(client, hq):
    store = await create_store(hq)
    before = (await hq.get("/v1/certification-requirements")).json()

    async def refused_field(body: dict, kind: str = "ev_store") -> str:
        answer = await put(hq, f"/v1/certification-requirements/{kind}", body)
        assert answer.status_code == 422, answer.text
        return answer.json()["errors"][0]["field"]

    def one(**kw) -> dict:
        return {"requirements": [{"role": "technician", "course_code": "HV", **kw}]}

    assert await refused_field(one(people=0)) == "requirements.0.people"
    assert await refused_field(one(people=51)) == "requirements.0.people"
    assert await refused_field(one(course_code="NOPE")) == "requirements.0.course_code"
    assert await refused_field(one(course_code="hv 1")) == "requirements.0.course_code"
    assert await refused_field({"requirements": [{"role": "chef", "course_code": "HV"}]}) == "requirements.0.role"
    assert (await refused_field({"requirements": one()["requirements"] * 2})).startswith("requirements")
    many = [{"role": role, "course_code": f"C{i}"} for i in range(26) for role in ("technician", "cashier")]
    assert (await refused_field({"requirements": many})).startswith("requirements")
    assert await refused_field({}) == "requirements"
    assert (await refused_field(one(), kind="bakery")).endswith("store_kind")
    for role, store_id in (("hq_analyst", None), ("region_manager", None), ("store_manager", store["id"]),
                           ("service_manager", store["id"])):
        answer = await put(Caller(client, role, store_id), "/v1/certification-requirements/ev_store", one())
        assert answer.status_code == 403, (role, answer.text)
    assert (await hq.get("/v1/certification-requirements")).json() == before


async def test_migration_0026_goes_on_from_the_revision_a_changed_courses_outbox_rows_hold(pg_database):
    url = pg_database("network_course_revisions")
    config = alembic_config(spec.migrations_dir, url)
    await asyncio.to_thread(command.upgrade, config, "0025")
    engine = create_async_engine(url)
    published = [(2, "2026-12-09T01:00:00+00:00"), (3, "2026-12-09T02:00:00+00:00")]
    try:
        async with engine.begin() as conn:
            for revision, at in published:
                payload = json.dumps({"type": "network.course.published", "time": at,
                                      "data": {"course_code": "HV", "revision": revision}})
                await conn.execute(sa.text(
                    "INSERT INTO outbox (event_id, event_type, key, payload, created_at) "
                    "VALUES (:id, 'network.course.published', 'HV', :payload, now())"),
                    {"id": new_id(), "payload": payload})
        await asyncio.to_thread(command.upgrade, config, "0026")
        async with engine.connect() as conn:
            rows = {code: (revision, version, published_at, created_at) for code, revision, version, published_at,
                    created_at in (await conn.execute(sa.text(
                        "SELECT code, revision, version, published_at, created_at FROM courses"))).all()}
            people = (await conn.execute(sa.text("SELECT DISTINCT people FROM store_certification_requirements"))
                      ).scalars().all()
    finally:
        await engine.dispose()
    assert rows["HV"][:3] == (3, 1, datetime.fromisoformat(published[-1][1]))
    # Never changed: revision 1 (the data file), last published when it was seeded.
    assert rows["SVC"][:2] == (1, 1) and rows["SVC"][2] == rows["SVC"][3]
    assert people == [1]
