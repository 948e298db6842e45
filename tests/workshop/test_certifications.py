"""A job whose labour operation needs a certification goes only to a technician whose person
holds it, valid on the store's today: the workshop's copy kept from network's events, each
given twice with one effect."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import sqlalchemy as sa

from services.common.events.catalogue.network import CertificationGranted, CertificationRevoked, CoursePublished
from services.common.ids import new_id
from tests.support.events import envelope_for
from tests.workshop.factories import approved, labor
from tests.workshop.test_cross_store_references import person_registered

HV_SKILLS = ("high_voltage", "maintenance")


def granted(person_id: str, at: datetime, *, certification_id: str | None = None, course: str = "HV",
            issued_on: date = date(2026, 1, 5), expires_on: date = date(2029, 1, 4)):
    cid = certification_id or new_id()
    event = CertificationGranted(certification_id=cid, person_id=person_id, person_name="Li Wei", course_code=course,
                                 certificate_no=f"{course}-{cid[-6:]}", issued_on=issued_on, expires_on=expires_on,
                                 granted_by="hq-admin", granted_at=at)
    return envelope_for(event, subject=cid, store_id=None, time=at)


def revoked(person_id: str, certification_id: str, at: datetime, course: str = "HV"):
    event = CertificationRevoked(certification_id=certification_id, person_id=person_id, person_name="Li Wei",
                                 course_code=course, certificate_no=f"{course}-{certification_id[-6:]}",
                                 issued_on=date(2026, 1, 5), expires_on=date(2029, 1, 4), reason="exam voided",
                                 revoked_by="hq-admin", revoked_at=at)
    return envelope_for(event, subject=certification_id, store_id=None, time=at)


def course_published(code: str, operations: list[str], at: datetime, revision: int = 1):
    event = CoursePublished(course_code=code, name_zh="驾驶辅助系统标定", name_en="Driver-assistance calibration",
                            validity_months=24, operations=operations, published_by="hq-admin", published_at=at,
                            revision=revision)
    return envelope_for(event, subject=code, store_id=None, time=at)


async def _hv_job(shop, op_code: str = "HV-0310") -> dict:
    order = approved(shop.store_id, [labor(op_code)], approved_at=shop.clock.now())
    await shop.deliver(order)
    (job,) = await shop.jobs_of(order.subject)
    return job


async def _rows(shop, table: str) -> list:
    async with shop.app.state.db.transaction() as session:
        return list((await session.exec(sa.text(f"SELECT * FROM {table} ORDER BY 1"))).all())


async def test_a_high_voltage_job_goes_only_to_a_technician_certified_today(shop):
    person = new_id()
    await shop.deliver(person_registered(person, shop.store_id, shop.clock.now()))
    technician = await shop.technician("Li Wei", HV_SKILLS, principal_id=person)
    unlinked = await shop.technician("Zhao Gang", HV_SKILLS)
    job = await _hv_job(shop)

    refused = await shop.manager.post(f"/v1/jobs/{job['id']}/assign", json={"technician_id": technician["id"]})
    assert refused.status_code == 409, refused.text
    problem = refused.json()
    assert (problem["technician_id"], problem["certification"], problem["rule"]) == (
        technician["id"], "HV", "certification_required")
    assert "Li Wei" in problem["detail"] and "HV" in problem["detail"]
    no_person = await shop.manager.post(f"/v1/jobs/{job['id']}/assign", json={"technician_id": unlinked["id"]})
    assert no_person.status_code == 409 and no_person.json()["person_id"] is None

    certificate = granted(person, shop.clock.now(), expires_on=date(2026, 3, 3))
    assert await shop.deliver(certificate) == "applied"
    assert await shop.deliver(certificate) == "duplicate"
    assigned = await shop.manager.post(f"/v1/jobs/{job['id']}/assign", json={"technician_id": technician["id"]})
    assert assigned.status_code == 200, assigned.text

    # The certificate's last day is 3 March (Shanghai); on the 4th it no longer lets the work start.
    shop.clock.advance(timedelta(days=2))
    started = await shop.caller("technician", person).post(f"/v1/jobs/{job['id']}/start")
    assert started.status_code == 409 and started.json()["checked_on"] == "2026-03-04"
    later = await _hv_job(shop, "HV-0100")
    expired = await shop.manager.post(f"/v1/jobs/{later['id']}/assign", json={"technician_id": technician["id"]})
    assert expired.status_code == 409 and expired.json()["certification"] == "HV"

    # Work the catalogue puts under no course goes to anyone with the skill.
    plain = approved(shop.store_id, [labor("MNT-0100")], approved_at=shop.clock.now())
    await shop.deliver(plain)
    (oil,) = await shop.jobs_of(plain.subject)
    assert (await shop.manager.post(f"/v1/jobs/{oil['id']}/assign",
                                    json={"technician_id": unlinked["id"]})).status_code == 200


async def test_a_revoked_certificate_stops_assignment_and_a_late_grant_does_not_bring_it_back(shop):
    person = new_id()
    await shop.deliver(person_registered(person, shop.store_id, shop.clock.now()))
    technician = await shop.technician("Li Wei", HV_SKILLS, principal_id=person)
    certificate = granted(person, shop.clock.now())
    await shop.deliver(certificate)
    job = await _hv_job(shop)
    assert (await shop.manager.post(f"/v1/jobs/{job['id']}/assign",
                                    json={"technician_id": technician["id"]})).status_code == 200
    cid = certificate.data["certification_id"]
    withdrawn = revoked(person, cid, shop.clock.now() + timedelta(minutes=5))
    assert await shop.deliver(withdrawn) == "applied"
    once = await _rows(shop, "staff_certifications")
    assert await shop.deliver(withdrawn) == "duplicate"
    # The grant again under another event id (a rebuild re-reading the topic): still revoked.
    await shop.deliver(granted(person, shop.clock.now(), certification_id=cid))
    assert [r.revoked_at for r in await _rows(shop, "staff_certifications")] == [r.revoked_at for r in once]
    second = await _hv_job(shop, "HV-0100")
    assert (await shop.manager.post(f"/v1/jobs/{second['id']}/assign",
                                    json={"technician_id": technician["id"]})).status_code == 409


async def test_a_course_hq_adds_makes_its_operations_need_it_and_is_kept_once(shop):
    person = new_id()
    await shop.deliver(person_registered(person, shop.store_id, shop.clock.now()))
    technician = await shop.technician("Li Wei", ("electrical",), principal_id=person)
    published = course_published("ADAS", ["ELE-0900"], shop.clock.now())
    assert await shop.deliver(published) == "applied"
    once = await _rows(shop, "certification_courses")
    assert await shop.deliver(published) == "duplicate"
    assert await _rows(shop, "certification_courses") == once
    job = await _hv_job(shop, "ELE-0900")
    refused = await shop.manager.post(f"/v1/jobs/{job['id']}/assign", json={"technician_id": technician["id"]})
    assert refused.status_code == 409 and refused.json()["certification"] == "ADAS"
    await shop.deliver(granted(person, shop.clock.now(), course="ADAS"))
    assert (await shop.manager.post(f"/v1/jobs/{job['id']}/assign",
                                    json={"technician_id": technician["id"]})).status_code == 200


async def test_a_changed_course_replaces_its_operations_and_an_older_revision_arriving_late_changes_nothing(shop):
    person = new_id()
    await shop.deliver(person_registered(person, shop.store_id, shop.clock.now()))
    technician = await shop.technician("Li Wei", ("electrical",), principal_id=person)
    first_at = shop.clock.now()
    first = course_published("ADAS", ["ELE-0900"], first_at)
    assert await shop.deliver(first) == "applied"

    # HQ moves the course from ELE-0900 to ELE-0600: the next ELE-0900 job goes to anyone.
    changed = course_published("ADAS", ["ELE-0600"], first_at + timedelta(minutes=5), revision=2)
    assert await shop.deliver(changed) == "applied"
    freed = await _hv_job(shop, "ELE-0900")
    assert (await shop.manager.post(f"/v1/jobs/{freed['id']}/assign",
                                    json={"technician_id": technician["id"]})).status_code == 200
    needs = await _hv_job(shop, "ELE-0600")
    refused = await shop.manager.post(f"/v1/jobs/{needs['id']}/assign", json={"technician_id": technician["id"]})
    assert refused.status_code == 409 and refused.json()["certification"] == "ADAS"

    # Revision 1 again, late, under another event id (a consumer re-reading the topic).
    assert await shop.deliver(course_published("ADAS", ["ELE-0900"], first_at)) == "applied"
    (row,) = [r for r in await _rows(shop, "certification_courses") if r.course_code == "ADAS"]
    assert row.operations == ["ELE-0600"]
    # And stamped later than revision 2 (a network replica whose clock runs ahead): still older.
    assert await shop.deliver(course_published("ADAS", ["ELE-0900"], first_at + timedelta(hours=1))) == "applied"
    (row,) = [r for r in await _rows(shop, "certification_courses") if r.course_code == "ADAS"]
    assert row.operations == ["ELE-0600"] and row.revision == 2
    again = await _hv_job(shop, "ELE-0900")
    assert (await shop.manager.post(f"/v1/jobs/{again['id']}/assign",
                                    json={"technician_id": technician["id"]})).status_code == 200
