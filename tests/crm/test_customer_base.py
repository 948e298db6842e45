"""Each advisor's customer base: a car is in the base of the advisor who served its last visit,
the service manager hands a departed advisor's base on, retention counts the store's own days,
and every change is announced once. CRM's today is Monday 2 March 2026, 10:00 in Shanghai."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from services.common.events.catalogue import network as nw
from services.crm.customer_base.service import is_retained, retained_since
from tests.crm import factories as f
from tests.crm.conftest import START
from tests.support.events import envelope_for

CHANGED = "crm.customer_base.changed"
LI, WANG, ZHAO = "adv-li", "adv-wang", "adv-zhao"


def advisor_joined(person_id: str, name: str, store_id: str, at: datetime = START - timedelta(days=400)):
    event = nw.PersonRegistered(person_id=person_id, employee_no=f"E-{person_id}", name=name, status="active",
                                assignments=[nw.PersonAssignment(store_id=store_id, role="service_advisor")],
                                registered_by="hq-admin", registered_at=at)
    return envelope_for(event, subject=person_id, store_id=None, time=at)


def advisor_left(person_id: str, name: str, store_id: str, at: datetime):
    event = nw.PersonLeft(person_id=person_id, employee_no=f"E-{person_id}", name=name, status="left",
                          assignments=[nw.PersonAssignment(store_id=store_id, role="service_advisor")],
                          left_on=at.date(), recorded_by="hq-admin", left_at=at)
    return envelope_for(event, subject=person_id, store_id=None, time=at)


def advisor_became(person_id: str, name: str, store_id: str, role: str, at: datetime):
    event = nw.PersonAssignmentsChanged(person_id=person_id, employee_no=f"E-{person_id}", name=name,
                                        status="active", assignments=[nw.PersonAssignment(store_id=store_id,
                                                                                          role=role)],
                                        reason="moved to the workshop", changed_by="hq-admin", changed_at=at)
    return envelope_for(event, subject=person_id, store_id=None, time=at)


def car(n: int) -> str:
    return f"LSVBASE0000000{n:03d}"


async def visit(crm, n: int, advisor: str, at: datetime, *, order: str | None = None, phone: str | None = None):
    return await crm.deliver(f.opened(crm.store_id, at, repair_order_id=order or f"ro-{n}-{at:%Y%m%d%H%M}",
                                      vehicle=f.car(vin=car(n)), advisor_id=advisor,
                                      customer=f.person(f"客户{n}", phone or f"1390000{n:04d}")))


async def base_of(crm, advisor: str, **params) -> dict:
    r = await crm.manager.get(f"/v1/advisors/{advisor}/customer-base", params=params)
    assert r.status_code == 200, r.text
    return r.json()


async def summary(crm) -> dict[str, dict]:
    r = await crm.manager.get(f"/v1/stores/{crm.store_id}/customer-base")
    assert r.status_code == 200, r.text
    return {row["advisor_id"]: row for row in r.json()["advisors"]}


def changes(events: list[dict]) -> list[tuple]:
    return [(e["subject"], e["data"]["vehicles"], e["data"]["retained"], e["data"]["gained"], e["data"]["lost"])
            for e in events]


async def test_the_base_follows_the_car_to_the_advisor_who_served_its_last_visit(crm):
    await crm.deliver(advisor_joined(LI, "李顾问", crm.store_id), advisor_joined(WANG, "王顾问", crm.store_id))
    await visit(crm, 1, LI, START - timedelta(days=200), order="ro-first")
    await visit(crm, 2, LI, START - timedelta(days=100))
    assert [c["vin"] for c in (await base_of(crm, LI))["items"]] == [car(2), car(1)]

    # Car 1 comes back and Wang serves it: it is Wang's now.
    await visit(crm, 1, WANG, START - timedelta(days=5), order="ro-second")
    li, wang = await base_of(crm, LI), await base_of(crm, WANG)
    assert [c["vin"] for c in li["items"]] == [car(2)] and [c["vin"] for c in wang["items"]] == [car(1)]
    item = wang["items"][0]
    assert (item["last_visit"]["repair_order_id"], item["last_visit"]["served_by"], item["came_by"]) == (
        "ro-second", WANG, "served")
    assert item["owner"]["name"] == "客户1" and item["retained"] is True

    # A late delivery of the earlier visit, served by Li, does not take it back.
    await crm.deliver(f.delivered(crm.store_id, START - timedelta(days=199), repair_order_id="ro-first",
                                  vehicle=f.car(vin=car(1)), advisor_id=LI,
                                  customer=f.person("客户1", "13900000001")))
    assert [c["vin"] for c in (await base_of(crm, WANG))["items"]] == [car(1)]
    rows = await summary(crm)
    assert {a: (r["vehicles"], r["status"]) for a, r in rows.items()} == {LI: (1, "active"), WANG: (1, "active")}

    assert changes(await crm.emitted(CHANGED)) == [
        (LI, 1, 1, 1, 0), (LI, 2, 2, 1, 0), (LI, 1, 1, 0, 1), (WANG, 1, 1, 1, 0)]


async def test_an_ownership_transfer_keeps_the_car_with_its_advisor(crm):
    await visit(crm, 3, LI, START - timedelta(days=30), phone="13800000011")
    done = await crm.agent.post(f"/v1/vehicles/{car(3)}/transfer", json={
        "new_owner": {"name": "郑先生", "phone": "13900000022"}, "papers_ref": "沪A-GH-2026-000001",
        "transferred_on": "2026-03-01"})
    assert done.status_code == 201, done.text
    [item] = (await base_of(crm, LI))["items"]
    assert (item["vin"], item["owner"]["customer_id"], item["owner"]["name"]) == (
        car(3), done.json()["to_customer_id"], "郑先生")
    assert len(await crm.emitted(CHANGED)) == 1  # the car joined Li's base; the transfer changed no base


async def test_when_an_advisor_leaves_the_manager_hands_their_base_on(crm):
    await crm.deliver(advisor_joined(LI, "李顾问", crm.store_id), advisor_joined(WANG, "王顾问", crm.store_id),
                      advisor_joined(ZHAO, "赵顾问", crm.store_id))
    for n in (1, 2, 3):
        await visit(crm, n, LI, START - timedelta(days=10 * n))
    await visit(crm, 4, WANG, START - timedelta(days=3))
    await crm.deliver(advisor_left(LI, "李顾问", crm.store_id, START - timedelta(days=1)))

    rows = await summary(crm)
    assert (rows[LI]["status"], rows[LI]["awaiting_reassignment"], rows[LI]["vehicles"]) == ("left", True, 3)
    assert (rows[ZHAO]["vehicles"], rows[ZHAO]["awaiting_reassignment"]) == (0, False)

    url = f"/v1/stores/{crm.store_id}/customer-base/reassign"
    # Only the managers hand bases on; the new holder must be an active advisor of the store.
    assert (await crm.agent.post(url, json={"from_person_id": LI, "to_person_id": WANG})).status_code == 403
    assert (await crm.as_("service_advisor", WANG).post(
        url, json={"from_person_id": LI, "to_person_id": WANG})).status_code == 403
    service_manager = crm.as_("service_manager", "manager-sun")
    for body, field in (({"from_person_id": LI}, "to_person_id"),
                        ({"from_person_id": LI, "to_person_id": WANG, "split_evenly": True}, "split_evenly"),
                        ({"from_person_id": WANG, "to_person_id": LI}, "to_person_id"),
                        ({"from_person_id": ZHAO, "to_person_id": WANG}, "from_person_id")):
        refused = await service_manager.post(url, json=body)
        assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == field, (body, refused.text)
    assert await crm.emitted(CHANGED) and len(await crm.emitted(CHANGED)) == 4  # the four visits only

    done = await service_manager.post(url, json={"from_person_id": LI, "to_person_id": WANG})
    assert done.status_code == 200, done.text
    assert (done.json()["vehicles"], done.json()["shares"], done.json()["reassigned_by"]) == (
        3, [{"advisor_id": WANG, "advisor_name": "王顾问", "vehicles": 3}], "manager-sun")
    wang = await base_of(crm, WANG)
    assert sorted(c["vin"] for c in wang["items"]) == [car(1), car(2), car(3), car(4)]
    assert {c["vin"]: c["came_by"] for c in wang["items"]}[car(1)] == "reassigned"
    # Li, gone and holding nothing, drops out of the summary.
    assert {a: r["vehicles"] for a, r in (await summary(crm)).items()} == {WANG: 4, ZHAO: 0}
    assert changes((await crm.emitted(CHANGED))[4:]) == [(LI, 0, 0, 0, 3), (WANG, 4, 4, 3, 0)]

    # A reassigned car's next visit, served by Zhao, is Zhao's.
    await visit(crm, 2, ZHAO, START + timedelta(hours=1))
    assert [c["vin"] for c in (await base_of(crm, ZHAO))["items"]] == [car(2)]


async def test_a_base_is_shared_evenly_when_its_advisor_is_no_longer_an_advisor_there(crm):
    await crm.deliver(advisor_joined(LI, "李顾问", crm.store_id), advisor_joined(WANG, "王顾问", crm.store_id),
                      advisor_joined(ZHAO, "赵顾问", crm.store_id))
    for n in (1, 2, 3, 4, 5):
        await visit(crm, n, LI, START - timedelta(days=n))
    await visit(crm, 6, WANG, START - timedelta(days=2))
    await crm.deliver(advisor_became(LI, "李顾问", crm.store_id, "technician", START - timedelta(hours=1)))
    assert (await summary(crm))[LI]["status"] == "not_an_advisor"

    done = await crm.manager.post(f"/v1/stores/{crm.store_id}/customer-base/reassign",
                                  json={"from_person_id": LI, "split_evenly": True})
    assert done.status_code == 200, done.text
    # Zhao, holding none, is dealt first: three and two.
    assert {s["advisor_id"]: s["vehicles"] for s in done.json()["shares"]} == {ZHAO: 3, WANG: 2}
    assert {a: r["vehicles"] for a, r in (await summary(crm)).items()} == {WANG: 3, ZHAO: 3}

    # One car moved by hand; moving it again to the same advisor is refused.
    move = f"/v1/stores/{crm.store_id}/customer-base/move"
    moved = await crm.manager.post(move, json={"vin": car(6).lower(), "to_person_id": ZHAO})
    assert moved.status_code == 200 and (moved.json()["kind"], moved.json()["vin"]) == ("one_car", car(6))
    again = await crm.manager.post(move, json={"vin": car(6), "to_person_id": ZHAO})
    assert again.status_code == 409 and again.json()["rule"] == "already_in_base"
    assert (await crm.manager.post(move, json={"vin": "LSVNOBODY00000000", "to_person_id": ZHAO})).status_code == 404
    assert changes((await crm.emitted(CHANGED))[-2:]) == [(WANG, 2, 2, 0, 1), (ZHAO, 4, 4, 1, 0)]


def test_retained_since_counts_whole_months_as_churn_does():
    assert retained_since(date(2026, 3, 2)) == date(2025, 3, 3)
    # A visit on the 29th of February is twelve whole months old on the 28th a year on.
    assert retained_since(date(2025, 2, 28)) == date(2024, 3, 1)
    assert not is_retained(date(2024, 2, 29), date(2025, 2, 28)) and is_retained(date(2024, 2, 29), date(2025, 2, 27))


async def test_retention_is_a_visit_in_the_last_twelve_months_of_the_store_days(crm):
    await crm.deliver(advisor_joined(LI, "李顾问", crm.store_id))
    shanghai = timedelta(hours=8)
    # By hand, on Monday 2 March 2026 in Shanghai: retained from 3 March 2025 (store day).
    visits = {
        1: datetime(2025, 3, 2, 23, 30) - shanghai,   # 2 March 2025 in the store: twelve months ago, not retained
        2: datetime(2025, 3, 3, 0, 30) - shanghai,    # 3 March in the store, still 2 March in UTC: retained
        3: datetime(2026, 1, 10, 9, 0) - shanghai,    # retained
        4: datetime(2024, 12, 1, 9, 0) - shanghai,    # not retained
    }
    for n, at in visits.items():
        await visit(crm, n, LI, at.replace(tzinfo=UTC))
    base = await base_of(crm, LI)
    assert (base["today"], base["retained_since"]) == ("2026-03-02", "2025-03-03")
    assert (base["vehicles"], base["retained"], base["retention_rate"]) == (4, 2, 0.5)
    assert {c["vin"]: c["retained"] for c in base["items"]} == {car(1): False, car(2): True, car(3): True,
                                                                 car(4): False}
    assert [c["vin"] for c in (await base_of(crm, LI, retained="true"))["items"]] == [car(3), car(2)]
    assert (await summary(crm))[LI]["retention_rate"] == 0.5

    # A day later car 2's visit is twelve months old too; the daily snapshot says so once.
    crm.clock.set(START + timedelta(days=1))
    base = await base_of(crm, LI)
    assert (base["retained_since"], base["retained"], base["retention_rate"]) == ("2025-03-04", 1, 0.25)
    before = len(await crm.emitted(CHANGED))
    ran = await crm.manager.post("/v1/jobs/customer_base_snapshot/run")
    assert ran.status_code == 200 and ran.json()["stores"][0]["result"] == {"advisors": 1, "vehicles": 4,
                                                                            "retained": 1}
    assert changes((await crm.emitted(CHANGED))[before:]) == [(LI, 4, 1, 0, 0)]


async def test_each_change_is_announced_once(crm):
    await crm.deliver(advisor_joined(LI, "李顾问", crm.store_id))
    opened = f.opened(crm.store_id, START - timedelta(days=400), repair_order_id="ro-old", vehicle=f.car(vin=car(1)),
                      advisor_id=LI)
    await crm.deliver(opened, opened)
    # The same fact again under another event id: the car is in Li's base already.
    await crm.deliver(f.opened(crm.store_id, START - timedelta(days=400), repair_order_id="ro-old",
                               vehicle=f.car(vin=car(1)), advisor_id=LI))
    assert changes(await crm.emitted(CHANGED)) == [(LI, 1, 0, 1, 0)]
    # Its delivery changes nothing in the base; a visit after a year away makes it retained: one event.
    await crm.deliver(f.delivered(crm.store_id, START - timedelta(days=399), repair_order_id="ro-old",
                                  vehicle=f.car(vin=car(1)), advisor_id=LI,
                                  opened_at=START - timedelta(days=400)))
    await visit(crm, 1, LI, START - timedelta(days=1))
    await visit(crm, 1, LI, START - timedelta(hours=2))
    [first, back] = await crm.emitted(CHANGED)
    assert changes([back]) == [(LI, 1, 1, 0, 0)]
    assert (back["data"]["advisor_name"], back["data"]["store_id"]) == ("李顾问", crm.store_id)


async def test_who_reads_a_base(crm):
    await crm.deliver(advisor_joined(LI, "李顾问", crm.store_id), advisor_joined(WANG, "王顾问", crm.store_id))
    await visit(crm, 1, LI, START - timedelta(days=3))
    url = f"/v1/advisors/{LI}/customer-base"
    assert (await crm.as_("service_advisor", LI).get(url)).status_code == 200
    assert (await crm.as_("service_advisor", WANG).get(url)).status_code == 403
    assert (await crm.as_("service_advisor", WANG).get(f"/v1/stores/{crm.store_id}/customer-base")).status_code == 403
    assert (await crm.as_("technician", "tech-1").get(url)).status_code == 403
    assert (await crm.agent.get(url)).status_code == 200
    assert (await crm.hq.get(url, params={"store_id": crm.store_id})).json()["vehicles"] == 1
    # Another store's managers do not see this store's advisor or summary.
    other = crm.as_("store_manager", "manager-bj", store_id=crm.other_store_id)
    assert (await other.get(url)).status_code == 404
    assert (await other.get(f"/v1/stores/{crm.store_id}/customer-base")).status_code == 404
    assert (await other.post(f"/v1/stores/{crm.store_id}/customer-base/reassign",
                             json={"from_person_id": LI, "to_person_id": WANG})).status_code == 404


async def test_of_one_visit_the_delivery_names_the_advisor_who_served_it(crm):
    await crm.deliver(advisor_joined(LI, "李顾问", crm.store_id), advisor_joined(WANG, "王顾问", crm.store_id))
    # Reception handed the order from Li to Wang; the delivery arrives before the opening.
    opened_at = START - timedelta(days=2)
    await crm.deliver(f.delivered(crm.store_id, START - timedelta(days=1), repair_order_id="ro-handed",
                                  vehicle=f.car(vin=car(7)), advisor_id=WANG, opened_at=opened_at))
    await crm.deliver(f.opened(crm.store_id, opened_at, repair_order_id="ro-handed", vehicle=f.car(vin=car(7)),
                               advisor_id=LI))
    assert [c["vin"] for c in (await base_of(crm, WANG))["items"]] == [car(7)]
    assert changes(await crm.emitted(CHANGED)) == [(WANG, 1, 1, 1, 0)]
    # HQ need not name the store of an advisor known at one store only.
    assert (await crm.hq.get(f"/v1/advisors/{WANG}/customer-base")).json()["store_id"] == crm.store_id
