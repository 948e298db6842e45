"""The staff directory over HTTP: registering people with a role per store, who sees and
changes whom (HQ, a store's managers, everyone else), leaving, the events that tell the
other services, input checks, and what the new roles may do through the matrix."""
from __future__ import annotations

import json
import typing
from datetime import date, timedelta

import httpx
import pytest
from sqlmodel import select

from services.common.identity import HQ_ROLES, STORE_ROLES
from services.common.permissions import allowed
from services.common.tables import OutboxMessage
from services.network.keys.schemas import KeyRole
from services.network.people.schemas import StaffRole
from tests.network.conftest import create_store
from tests.network.factories import T0, person_body
from tests.support.platform import Caller, identity

TODAY_IN_CHINA = date(2026, 12, 10)  # T0 is 10:00 there


@pytest.fixture
async def store_a(hq):
    return await create_store(hq)


@pytest.fixture
async def store_b(hq):
    return await create_store(hq)


def staff(client, role: str, store: dict, principal_id: str | None = None) -> Caller:
    return Caller(client, role, store_id=store["id"], principal_id=principal_id or f"{role}-{store['code']}")


async def put(caller: Caller, url: str, body: dict, **headers: str) -> httpx.Response:
    signed = identity(caller.role, caller.store_id, caller.principal_id)
    return await caller.client.put(url, json=body, headers={**signed, **headers})


async def register(caller: Caller, *assignments: tuple[dict, str], status: int = 201, **fields) -> dict:
    body = person_body([(store["id"], role) for store, role in assignments], **fields)
    response = await caller.post("/v1/people", json=body)
    assert response.status_code == status, response.text
    return response.json()


async def events(client, event_type: str) -> list[dict]:
    async with client.app.state.db.transaction() as session:
        rows = (await session.exec(select(OutboxMessage).where(OutboxMessage.event_type == event_type)
                                   .order_by(OutboxMessage.id))).all()
    return [json.loads(row.payload) for row in rows]


def roles(person: dict) -> dict[str, str]:
    return {a["store_id"]: a["role"] for a in person["assignments"]}


def problem_fields(response: httpx.Response) -> set[str]:
    return {e["field"] for e in response.json().get("errors", [])}


async def test_hq_registers_a_person_with_a_role_in_each_of_two_stores_and_says_so_in_an_event(
        client, hq, store_a, store_b):
    person = await register(hq, (store_a, "service_advisor"), (store_b, "store_manager"),
                            name="  王芳 ", phone="+86 138-0013-8000", employee_no="SH-0042")
    assert (person["name"], person["phone"], person["employee_no"], person["status"]) == (
        "王芳", "13800138000", "SH-0042", "active")
    assert roles(person) == {store_a["id"]: "service_advisor", store_b["id"]: "store_manager"}
    assert all(a["assigned_at"] == T0.isoformat().replace("+00:00", "Z") for a in person["assignments"])
    assert (person["version"], person["left_on"]) == (1, None)
    assert (await hq.get(f"/v1/people/{person['id']}")).json() == person

    [event] = await events(client, "network.person.registered")
    assert (event["subject"], event.get("storeid")) == (person["id"], None)
    assert event["data"] == {
        "person_id": person["id"], "employee_no": "SH-0042", "name": "王芳", "status": "active", "hq_role": None,
        "assignments": sorted([{"store_id": store_a["id"], "role": "service_advisor"},
                               {"store_id": store_b["id"], "role": "store_manager"}], key=lambda a: a["store_id"]),
        "registered_by": "hq-admin-1", "registered_by_name": "hq-admin-1", "registered_by_credential": None,
        "registered_at": event["data"]["registered_at"],
    }


async def test_a_store_sees_only_its_own_people_with_only_its_own_assignment(client, hq, store_a, store_b):
    only_a = await register(hq, (store_a, "technician"))
    only_b = await register(hq, (store_b, "technician"))
    both = await register(hq, (store_a, "cashier"), (store_b, "service_manager"))
    advisor_a = staff(client, "service_advisor", store_a)

    listed = (await advisor_a.get("/v1/people")).json()
    assert [p["id"] for p in listed["items"]] == [both["id"], only_a["id"]]
    assert roles(listed["items"][0]) == {store_a["id"]: "cashier"}  # not where else they work
    assert (await advisor_a.get(f"/v1/people/{only_b['id']}")).status_code == 404
    assert roles((await advisor_a.get(f"/v1/people/{both['id']}")).json()) == {store_a["id"]: "cashier"}
    # Naming another store finds nobody rather than that store's people.
    assert (await advisor_a.get("/v1/people", params={"store_id": store_b["id"]})).json()["items"] == []
    assert [p["id"] for p in (await advisor_a.get("/v1/people", params={"role": "technician"})).json()["items"]] == [
        only_a["id"]]

    # HQ: everyone; a role in a named store, or in any store; pages follow the cursor.
    assert {p["id"] for p in (await hq.get("/v1/people")).json()["items"]} >= {only_a["id"], only_b["id"], both["id"]}
    in_b = await hq.get("/v1/people", params={"store_id": store_b["id"], "role": "service_manager"})
    assert [p["id"] for p in in_b.json()["items"]] == [both["id"]]
    assert roles(in_b.json()["items"][0]) == {store_a["id"]: "cashier", store_b["id"]: "service_manager"}
    assert (await hq.get("/v1/people", params={"store_id": store_a["id"], "role": "service_manager"})).json()[
        "items"] == []
    first = (await hq.get("/v1/people", params={"store_id": store_a["id"], "limit": 1})).json()
    second = (await hq.get("/v1/people", params={"store_id": store_a["id"], "limit": 1,
                                                 "cursor": first["next_cursor"]})).json()
    assert [p["id"] for p in first["items"] + second["items"]] == [both["id"], only_a["id"]]
    assert second["next_cursor"] is None
    analyst = Caller(client, "hq_analyst")
    assert {p["id"] for p in (await analyst.get("/v1/people")).json()["items"]} >= {only_a["id"], only_b["id"]}
    # A region manager sees the people of its regions' stores only: assigned to no region, none
    # (tests/security/test_region_matrix.py walks the rest).
    region = Caller(client, "region_manager", principal_id="region-east")
    assert (await region.get("/v1/people")).json()["items"] == []


async def test_a_stores_managers_register_people_of_their_own_store_only(client, hq, store_a, store_b):
    manager_a = staff(client, "store_manager", store_a)
    mine = await register(manager_a, (store_a, "service_advisor"))
    assert roles(mine) == {store_a["id"]: "service_advisor"}

    elsewhere = await manager_a.post("/v1/people", json=person_body([(store_b["id"], "technician")]))
    assert elsewhere.status_code == 403 and elsewhere.json()["field"] == "assignments.0.store_id"
    # An id no store has is refused the same way: a store learns nothing of other stores.
    nowhere = await manager_a.post("/v1/people", json=person_body([("no-such-store", "technician")]))
    assert nowhere.status_code == 403
    split = await manager_a.post("/v1/people", json=person_body([(store_a["id"], "technician"),
                                                                  (store_b["id"], "technician")]))
    assert split.status_code == 403 and split.json()["field"] == "assignments.1.store_id"

    service_manager_a = staff(client, "service_manager", store_a)
    await register(service_manager_a, (store_a, "warranty_clerk"))
    boss = await service_manager_a.post("/v1/people", json=person_body([(store_a["id"], "store_manager")]))
    assert boss.status_code == 403 and boss.json()["field"] == "assignments.0.role"

    for role in ("service_advisor", "technician", "warranty_clerk", "cashier", "crm_agent", "outlet_api"):
        refused = await staff(client, role, store_a).post("/v1/people", json=person_body([(store_a["id"], role)]))
        assert refused.status_code == 403, (role, refused.text)
    for role in ("hq_analyst", "region_manager"):
        refused = await Caller(client, role).post("/v1/people", json=person_body([(store_a["id"], "technician")]))
        assert refused.status_code == 403, (role, refused.text)


async def test_a_store_replaces_its_own_assignment_and_leaves_the_persons_other_stores_alone(
        client, hq, store_a, store_b, clock):
    person = await register(hq, (store_a, "service_advisor"), (store_b, "technician"))
    manager_a, manager_b = staff(client, "store_manager", store_a), staff(client, "store_manager", store_b)
    url = f"/v1/people/{person['id']}/assignments"
    clock.advance(timedelta(hours=1))

    promoted = await put(manager_a, url, {"assignments": [{"store_id": store_a["id"], "role": "service_manager"}],
                                          "reason": "promoted after the spring audit"}, **{"If-Match": '"1"'})
    assert promoted.status_code == 200, promoted.text
    assert roles(promoted.json()) == {store_a["id"]: "service_manager"} and promoted.json()["version"] == 2
    assert roles((await hq.get(f"/v1/people/{person['id']}")).json()) == {
        store_a["id"]: "service_manager", store_b["id"]: "technician"}
    [changed] = await events(client, "network.person.assignments_changed")
    assert changed["data"]["assignments"] == sorted([{"store_id": store_a["id"], "role": "service_manager"},
                                                     {"store_id": store_b["id"], "role": "technician"}],
                                                    key=lambda a: a["store_id"])
    assert (changed["data"]["reason"], changed["data"]["changed_by"], changed["data"]["status"]) == (
        "promoted after the spring audit", manager_a.principal_id, "active")

    stale = await put(manager_a, url, {"assignments": [], "reason": "x"}, **{"If-Match": '"1"'})
    assert stale.status_code == 412
    into_b = await put(manager_a, url, {"assignments": [{"store_id": store_b["id"], "role": "store_manager"}],
                                        "reason": "cover for B"})
    assert into_b.status_code == 403 and into_b.json()["field"] == "assignments.0.store_id"
    without_reason = await put(manager_a, url, {"assignments": []})
    assert without_reason.status_code == 422 and problem_fields(without_reason) == {"reason"}

    # B removes the person from B: A's assignment stays, and B no longer sees them.
    removed = await put(manager_b, url, {"assignments": [], "reason": "moved to store A full time"})
    assert removed.status_code == 200 and roles(removed.json()) == {}
    assert roles((await hq.get(f"/v1/people/{person['id']}")).json()) == {store_a["id"]: "service_manager"}
    assert (await manager_b.get(f"/v1/people/{person['id']}")).status_code == 404
    again = await put(manager_b, url, {"assignments": [{"store_id": store_b["id"], "role": "technician"}],
                                       "reason": "back"})
    assert again.status_code == 404
    # A service manager does not change a store manager.
    store_boss = await register(hq, (store_a, "store_manager"))
    demoted = await put(staff(client, "service_manager", store_a), f"/v1/people/{store_boss['id']}/assignments",
                        {"assignments": [{"store_id": store_a["id"], "role": "technician"}], "reason": "no"})
    assert demoted.status_code == 403


async def test_an_employee_number_is_unique_across_the_group(client, hq, store_a, store_b):
    # Two registering at the same moment: tests/network/test_people_pg.py.
    await register(hq, (store_a, "technician"), employee_no="GZ-0001")
    again = await staff(client, "store_manager", store_b).post(
        "/v1/people", json=person_body([(store_b["id"], "technician")], employee_no="GZ-0001"))
    assert again.status_code == 409 and again.json()["field"] == "employee_no"
    assert len((await hq.get("/v1/people", params={"store_id": store_b["id"]})).json()["items"]) == 0


async def test_people_are_assigned_to_active_stores_that_exist(client, hq, store_a):
    outlet = await create_store(hq, kind="partner_outlet")  # onboarding
    # HQ records an onboarding outlet's staff (their certifications are checked before it opens).
    onboarding = await hq.post("/v1/people", json=person_body([(store_a["id"], "technician"),
                                                              (outlet["id"], "technician")]))
    assert onboarding.status_code == 201, onboarding.text
    suspended = await create_store(hq)
    assert (await hq.post(f"/v1/stores/{suspended['id']}/suspend", json={"reason": "audit"})).status_code == 200
    assert (await hq.post("/v1/people", json=person_body([(suspended["id"], "technician")]))).status_code == 409
    unknown = await hq.post("/v1/people", json=person_body([("no-such-store", "technician")]))
    assert unknown.status_code == 422 and problem_fields(unknown) == {"assignments.0.store_id"}
    twice = await hq.post("/v1/people", json=person_body([(store_a["id"], "technician"),
                                                         (store_a["id"], "cashier")]))
    assert twice.status_code == 422 and problem_fields(twice) == {"assignments.1.store_id"}


async def test_a_person_leaves_once_and_then_keeps_their_record_but_no_new_assignments(
        client, hq, store_a, store_b, clock):
    person = await register(hq, (store_a, "service_advisor"), (store_b, "technician"))
    manager_a = staff(client, "store_manager", store_a)
    url = f"/v1/people/{person['id']}/leave"
    # Someone who also works in store B is HQ's to sign off.
    assert (await manager_a.post(url, json={})).status_code == 403
    future = await hq.post(url, json={"left_on": (TODAY_IN_CHINA + timedelta(days=1)).isoformat()})
    assert future.status_code == 422 and problem_fields(future) == {"left_on"}
    before = await hq.post(url, json={"left_on": (TODAY_IN_CHINA - timedelta(days=1)).isoformat()})
    assert before.status_code == 422 and problem_fields(before) == {"left_on"}

    left = await hq.post(url)
    assert left.status_code == 200, left.text
    assert (left.json()["status"], left.json()["left_on"], left.json()["left_reason"]) == (
        "left", TODAY_IN_CHINA.isoformat(), None)
    assert roles(left.json()) == {store_a["id"]: "service_advisor", store_b["id"]: "technician"}

    second = await hq.post(url, json={"reason": "again"})
    assert second.status_code == 409
    assert (second.json()["current_state"], second.json()["left_on"]) == ("left", TODAY_IN_CHINA.isoformat())
    moved = await put(hq, f"/v1/people/{person['id']}/assignments",
                      {"assignments": [{"store_id": store_a["id"], "role": "technician"}], "reason": "rehire"})
    assert moved.status_code == 409 and moved.json()["current_state"] == "left"
    assert [p["id"] for p in (await manager_a.get("/v1/people", params={"status": "left"})).json()["items"]] == [
        person["id"]]
    assert (await manager_a.get("/v1/people", params={"status": "active"})).json()["items"] == []

    [event] = await events(client, "network.person.left")
    assert {k: event["data"][k] for k in ("person_id", "status", "left_on", "reason", "recorded_by")} == {
        "person_id": person["id"], "status": "left", "left_on": TODAY_IN_CHINA.isoformat(), "reason": None,
        "recorded_by": "hq-admin-1"}
    assert len(event["data"]["assignments"]) == 2

    # A store's own person: the store records it, with a reason.
    own = await register(manager_a, (store_a, "cashier"))
    done = await manager_a.post(f"/v1/people/{own['id']}/leave",
                                json={"left_on": TODAY_IN_CHINA.isoformat(), "reason": "moved to Hangzhou"})
    assert done.status_code == 200 and done.json()["left_reason"] == "moved to Hangzhou"
    assert (await staff(client, "store_manager", store_b).post(f"/v1/people/{own['id']}/leave")).status_code == 404


@pytest.mark.parametrize(("fields", "field"), [
    ({"name": ""}, "name"),
    ({"name": "   "}, "name"),
    ({"name": "x" * 101}, "name"),
    ({"name": "Li\x00Na"}, "name"),
    ({"name": "Li\ud800"}, "name"),
    ({"phone": "12345678901"}, "phone"),  # 12: no mainland mobile prefix
    ({"phone": "021-6234-5678"}, "phone"),  # a landline
    ({"phone": "+1 415 555 0100"}, "phone"),
    ({"phone": "1" * 21}, "phone"),
    ({"employee_no": "sh-01"}, "employee_no"),
    ({"employee_no": "X" * 33}, "employee_no"),
    ({"assignments": []}, "assignments"),
    ({"assignments": [{"store_id": "s", "role": "outlet_api"}]}, "assignments.0.role"),
    ({"assignments": [{"store_id": "s", "role": "hq_admin"}]}, "assignments.0.role"),
    ({"assignments": [{"store_id": "", "role": "technician"}]}, "assignments.0.store_id"),
    ({"assignments": [{"store_id": "s", "role": "technician"}] * 21}, "assignments"),
])
async def test_bad_input_is_422_naming_the_field(client, hq, store_a, fields, field):
    body = {**person_body([(store_a["id"], "technician")]), **fields}
    # As JSON text with \u escapes: a lone surrogate can arrive so, though no encoder sends it raw.
    response = await hq.post("/v1/people", content=json.dumps(body), headers={"Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert problem_fields(response) == {field}


async def test_leave_and_reassignment_input_is_bounded(client, hq, store_a):
    person = await register(hq, (store_a, "technician"))
    long_reason = await hq.post(f"/v1/people/{person['id']}/leave", json={"reason": "x" * 501})
    assert long_reason.status_code == 422 and problem_fields(long_reason) == {"reason"}
    odd_date = await hq.post(f"/v1/people/{person['id']}/leave", json={"left_on": "0001-01-01"})
    assert odd_date.status_code == 422 and problem_fields(odd_date) == {"left_on"}
    control = await put(hq, f"/v1/people/{person['id']}/assignments", {"assignments": [], "reason": "a\x07b"})
    assert control.status_code == 422 and problem_fields(control) == {"reason"}
    bad_filter = await hq.get("/v1/people", params={"role": "outlet_api"})
    assert bad_filter.status_code == 422 and problem_fields(bad_filter) == {"role"}


def test_every_store_role_but_an_outlets_key_can_be_held_by_a_person_and_every_role_can_hold_a_key():
    assert {r.value for r in StaffRole} == STORE_ROLES - {"outlet_api"}
    assert set(typing.get_args(KeyRole)) == STORE_ROLES | HQ_ROLES


@pytest.mark.parametrize(("role", "area", "read", "write"), [
    ("service_manager", "reception", True, True),
    ("service_manager", "workshop_jobs", True, True),
    ("service_manager", "workshop_parts", True, True),
    ("service_manager", "crm", True, True),
    ("service_manager", "claims", True, True),
    ("service_manager", "settlements", True, True),
    ("service_manager", "kpis", True, False),
    ("service_manager", "people", True, True),
    ("warranty_clerk", "claims", True, True),
    ("warranty_clerk", "settlements", True, False),
    ("warranty_clerk", "reception", True, False),
    ("warranty_clerk", "kpis", False, False),
    ("warranty_clerk", "crm", False, False),
    ("warranty_clerk", "people", True, False),
    ("cashier", "reception", True, True),
    ("cashier", "crm", False, False),
    ("cashier", "claims", False, False),
    ("cashier", "people", True, False),
    ("region_manager", "network", True, False),
    ("region_manager", "claims", True, False),
    ("region_manager", "settlements", True, False),
    ("region_manager", "kpis", True, False),
    ("region_manager", "people", True, False),
    ("region_manager", "reception", False, False),
    ("store_manager", "people", True, True),
    ("technician", "people", True, False),
    ("outlet_api", "people", True, False),
])
def test_the_matrix_gives_the_new_roles_what_their_desks_need(role, area, read, write):
    assert (allowed(area, role, "GET"), allowed(area, role, "POST")) == (read, write)


async def test_the_new_roles_get_what_the_matrix_says_from_the_service(client, hq, store_a):
    # Keys for every new role: region_manager is HQ's (no store), the others a store's.
    for role in ("service_manager", "warranty_clerk", "cashier"):
        issued = await hq.post("/v1/api-keys", json={"role": role, "store_id": store_a["id"], "label": role})
        assert issued.status_code == 201, issued.text
    assert (await hq.post("/v1/api-keys", json={"role": "region_manager", "label": "East"})).status_code == 201
    pinned = await hq.post("/v1/api-keys", json={"role": "region_manager", "store_id": store_a["id"], "label": "x"})
    assert pinned.status_code == 422

    clerk, cashier = staff(client, "warranty_clerk", store_a), staff(client, "cashier", store_a)
    region = Caller(client, "region_manager", principal_id="region-east")
    # A write the matrix allows reaches the claims rules (an order network never saw: 422), one it denies is 403.
    filed = await clerk.post("/v1/claims", json={"repair_order_id": "no-such-order", "complaint": "c", "cause": "c",
                                                 "correction": "c", "causal_part_no": "P"})
    assert filed.status_code == 422, filed.text
    assert (await clerk.get("/v1/settlements")).status_code == 200
    assert (await clerk.post("/v1/settlements/x/confirm")).status_code == 403
    assert (await clerk.get("/v1/kpis")).status_code == 403
    assert (await cashier.get("/v1/claims")).status_code == 403
    assert (await cashier.get("/v1/people")).status_code == 200
    assert (await region.get("/v1/claims")).status_code == 200
    assert (await region.get("/v1/kpis")).status_code == 200
    # A region manager sees its regions' stores only (tests/network/test_regions.py); this one has none.
    assert (await region.get(f"/v1/stores/{store_a['id']}")).status_code == 404
    # It decides its regions' claims (up to the region's limit, tests/network/test_build_out.py): no such claim here.
    assert (await region.post("/v1/claims/x/decision", json={"decision": "approve", "note": ""})).status_code == 404
    assert (await staff(client, "service_manager", store_a).get("/v1/kpis")).status_code == 200


# ---- HQ staff ---------------------------------------------------------------------

async def test_hq_staff_are_registered_with_an_hq_role_and_no_store_and_only_hq_sees_them(client, hq, store_a):
    analyst = await register(hq, hq_role="hq_analyst", name="赵敏", employee_no="HQ-0007")
    assert (analyst["hq_role"], analyst["assignments"], analyst["status"]) == ("hq_analyst", [], "active")
    both = await register(hq, (store_a, "store_manager"), hq_role="region_manager")
    assert (both["hq_role"], roles(both)) == ("region_manager", {store_a["id"]: "store_manager"})

    [event, _] = await events(client, "network.person.registered")
    assert (event["data"]["hq_role"], event["data"]["assignments"]) == ("hq_analyst", [])
    # HQ sees them; a store sees its own people only, with the HQ role they hold.
    assert (await Caller(client, "region_manager").get(f"/v1/people/{analyst['id']}")).status_code == 200
    manager_a = staff(client, "store_manager", store_a)
    assert (await manager_a.get(f"/v1/people/{analyst['id']}")).status_code == 404
    assert (await manager_a.get(f"/v1/people/{both['id']}")).json()["hq_role"] == "region_manager"


async def test_only_an_hq_admin_gives_or_takes_an_hq_role(client, hq, store_a):
    manager_a = staff(client, "store_manager", store_a)
    refused = await manager_a.post("/v1/people", json=person_body([(store_a["id"], "technician")],
                                                                  hq_role="hq_admin"))
    assert refused.status_code == 403 and refused.json()["field"] == "hq_role"
    person = await register(manager_a, (store_a, "service_advisor"))
    url = f"/v1/people/{person['id']}/assignments"
    own_store = [{"store_id": store_a["id"], "role": "service_advisor"}]
    promoted_by_store = await put(manager_a, url, {"assignments": own_store, "hq_role": "hq_admin", "reason": "x"})
    assert promoted_by_store.status_code == 403 and promoted_by_store.json()["field"] == "hq_role"

    promoted = await put(hq, url, {"assignments": own_store, "hq_role": "region_manager", "reason": "East region"})
    assert promoted.status_code == 200, promoted.text
    assert (promoted.json()["hq_role"], promoted.json()["version"]) == ("region_manager", 2)
    [changed] = await events(client, "network.person.assignments_changed")
    assert changed["data"]["hq_role"] == "region_manager"
    # Left out of the body, the HQ role stays; null takes it away.
    kept = await put(manager_a, url, {"assignments": [{"store_id": store_a["id"], "role": "cashier"}],
                                      "reason": "front desk"})
    assert (kept.status_code, kept.json()["hq_role"]) == (200, "region_manager")
    taken = await put(hq, url, {"assignments": [{"store_id": store_a["id"], "role": "cashier"}], "hq_role": None,
                                "reason": "back to the store"})
    assert (taken.status_code, taken.json()["hq_role"]) == (200, None)


async def test_a_person_keeps_a_store_or_an_hq_role_until_they_leave(client, hq, store_a, store_b):
    nothing = await hq.post("/v1/people", json={k: v for k, v in person_body([]).items() if k != "assignments"})
    assert nothing.status_code == 422 and problem_fields(nothing) == {"assignments"}
    advisor = await register(hq, (store_a, "service_advisor"))
    emptied = await put(staff(client, "store_manager", store_a), f"/v1/people/{advisor['id']}/assignments",
                        {"assignments": [], "reason": "gone"})
    assert emptied.status_code == 422 and problem_fields(emptied) == {"assignments"}
    analyst = await register(hq, hq_role="hq_analyst")
    unroled = await put(hq, f"/v1/people/{analyst['id']}/assignments",
                        {"assignments": [], "hq_role": None, "reason": "x"})
    assert unroled.status_code == 422 and problem_fields(unroled) == {"assignments"}
    # With an HQ role a person may have no store: the store takes its own assignment off.
    regional = await register(hq, (store_a, "store_manager"), hq_role="region_manager")
    off_store = await put(staff(client, "store_manager", store_a), f"/v1/people/{regional['id']}/assignments",
                          {"assignments": [], "reason": "region only"})
    assert off_store.status_code == 200 and off_store.json()["assignments"] == []
    assert (await hq.get(f"/v1/people/{regional['id']}")).json()["hq_role"] == "region_manager"
    # A store records no leave for someone with an HQ role: HQ does.
    cover = await register(hq, (store_b, "technician"), hq_role="hq_analyst")
    assert (await staff(client, "store_manager", store_b).post(f"/v1/people/{cover['id']}/leave")).status_code == 403
    assert (await hq.post(f"/v1/people/{cover['id']}/leave")).status_code == 200


# ---- sign-in ----------------------------------------------------------------------
# Against a real identity provider: tests/network/test_people_accounts_keycloak.py.

async def test_a_sign_in_is_issued_by_an_hq_admin_or_the_manager_of_the_persons_only_store(
        client, hq, store_a, store_b):
    advisor = await register(hq, (store_a, "service_advisor"))
    url = f"/v1/people/{advisor['id']}/sign-in"
    for caller in (staff(client, "service_manager", store_a), staff(client, "service_advisor", store_a)):
        refused = await caller.post(url)
        assert refused.status_code == 403, (caller.role, refused.text)
    assert (await Caller(client, "hq_analyst").post(url)).status_code == 403
    assert (await staff(client, "store_manager", store_b).post(url)).status_code == 404
    # A password opens every desk the person holds: HQ's to give when they work elsewhere too.
    two_stores = await register(hq, (store_a, "technician"), (store_b, "technician"))
    with_hq = await register(hq, (store_a, "technician"), hq_role="hq_analyst")
    for person in (two_stores, with_hq):
        refused = await staff(client, "store_manager", store_a).post(f"/v1/people/{person['id']}/sign-in")
        assert refused.status_code == 403, refused.text
    # Allowed, but this platform has no identity provider configured: 409 saying so.
    for caller in (hq, staff(client, "store_manager", store_a)):
        off = await caller.post(url)
        assert off.status_code == 409 and "NETWORK_OIDC_ADMIN_URL" in off.json()["detail"], off.text
    assert (await hq.post(f"/v1/people/{advisor['id']}/leave")).status_code == 200
    left = await hq.post(url)
    assert left.status_code == 409 and left.json()["current_state"] == "left"


async def test_a_sign_in_refuses_an_idempotency_key_since_its_answer_is_kept_nowhere(client, hq, store_a):
    advisor = await register(hq, (store_a, "service_advisor"))
    keyed = await hq.post(f"/v1/people/{advisor['id']}/sign-in", headers={"Idempotency-Key": "k-1"})
    assert keyed.status_code == 422 and problem_fields(keyed) == {"Idempotency-Key"}
