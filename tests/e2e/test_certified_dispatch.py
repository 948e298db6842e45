"""Network and the workshop on the real broker: a job whose labour operation needs the
high-voltage certification cannot go to an uncertified technician, can once network has
granted it, and cannot once it has expired by the date (no event says so: the workshop's
clock does). Both services run in this process on copies of migrated databases."""
from __future__ import annotations

from datetime import timedelta

from services.common.clock import ManualClock
from services.common.kafka import ensure_topics
from services.network.main import spec as network_spec
from services.workshop.main import create_app as create_workshop
from services.workshop.main import spec as workshop_spec
from services.workshop.settings import WorkshopSettings
from tests.network.conftest import network_service, network_settings
from tests.network.factories import T0, person_body, store_body
from tests.support.events import publish
from tests.support.platform import Caller, eventually, running
from tests.workshop.factories import approved, labor


async def test_a_high_voltage_job_waits_for_the_certification_and_stops_once_it_expires(
        kafka_bootstrap, topic_prefix, migrated_database):
    clock = ManualClock(T0)  # 2026-12-10, 10:00 in Shanghai
    broker = dict(kafka_bootstrap_servers=kafka_bootstrap, kafka_topic_prefix=topic_prefix, relay_poll_seconds=0.1)
    network = network_settings(migrated_database(network_spec.migrations_dir, "network"), **broker)
    workshop = WorkshopSettings(database_url=migrated_database(workshop_spec.migrations_dir, "workshop"), **broker)
    await ensure_topics(network)
    await ensure_topics(workshop)
    async with network_service(network, clock, role="all") as net, \
            running(create_workshop(workshop, role="all", clock=clock)) as shop:
        hq = Caller(net, "hq_admin", principal_id="hq-admin-1")
        store = (await hq.post("/v1/stores", json=store_body())).json()
        person = (await hq.post("/v1/people", json=person_body([(store["id"], "technician")], name="Li Wei"))).json()
        manager = Caller(shop, "store_manager", store["id"], "manager-1")

        async def technician_made():
            made = await manager.post("/v1/technicians", json={
                "name": "Li Wei", "skills": ["high_voltage"], "principal_id": person["id"]})
            return made.json() if made.status_code == 201 else None  # 404 until the store is known here

        technician = await eventually(technician_made, timeout=30, message="network's store never reached the workshop")
        order = approved(store["id"], [labor("HV-0310", line_id="a-pack"), labor("HV-0100", line_id="b-test")],
                         approved_at=clock.now())
        await publish(kafka_bootstrap, network.topic("reception"), order)

        async def jobs():
            found = (await manager.get("/v1/jobs", params={"repair_order_id": order.subject})).json()["items"]
            return sorted(found, key=lambda j: j["line_id"]) if len(found) == 2 else None

        pack, test = await eventually(jobs, timeout=30, message="no jobs made from the approval")
        assign = {"technician_id": technician["id"]}

        refused = await manager.post(f"/v1/jobs/{pack['id']}/assign", json=assign)
        assert refused.status_code == 409, refused.text
        assert (refused.json()["technician_name"], refused.json()["certification"]) == ("Li Wei", "HV")

        granted = await hq.post("/v1/certifications", json={
            "person_id": person["id"], "course_code": "HV", "certificate_no": "HV-2026-0042",
            "issued_on": "2026-12-01", "expires_on": "2026-12-11"})
        assert granted.status_code == 201, granted.text

        async def assigned():
            answer = await manager.post(f"/v1/jobs/{pack['id']}/assign", json=assign)
            assert answer.status_code in (200, 409), answer.text
            return answer.status_code == 200

        await eventually(assigned, timeout=30, message="the grant never reached the workshop")

        clock.advance(timedelta(days=2))  # 12 December: the certificate's last day was the 11th
        expired = await manager.post(f"/v1/jobs/{test['id']}/assign", json=assign)
        assert expired.status_code == 409, expired.text
        assert (expired.json()["technician_id"], expired.json()["certification"]) == (technician["id"], "HV")
        assert expired.json()["checked_on"] == "2026-12-12"
        listed = (await hq.get(f"/v1/certifications/{granted.json()['id']}")).json()
        assert listed["status"] == "expired"
