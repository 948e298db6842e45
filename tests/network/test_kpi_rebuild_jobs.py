"""The KPI rebuild as a background job on the real broker: 202 with a job to poll, one at
a time (a second while one runs is 409 naming it), done with the figures rebuilt; a job
cut off by a restart is failed and a new one may start."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import urljoin

import sqlalchemy as sa

from services.common.kafka import ensure_topics
from services.network.kpis.models import KpiRebuildJob
from tests.network import factories as f
from tests.network.conftest import create_store, network_service, network_settings
from tests.network.rebuilds import poll, rebuilt
from tests.support.events import publish
from tests.support.platform import Caller, eventually


async def test_a_rebuild_answers_202_runs_alone_and_is_polled_until_done(network_db, kafka_bootstrap, topic_prefix,
                                                                          clock):
    settings = network_settings(network_db, kafka_bootstrap_servers=kafka_bootstrap, kafka_topic_prefix=topic_prefix)
    await ensure_topics(settings)
    async with network_service(settings, clock) as client:
        hq = Caller(client, "hq_admin", principal_id="hq-admin-1")
        store = await create_store(hq)
        opened = [f.order_opened(store["id"], repair_order_id=f"ro-{n}", opened_at=f.T0 - timedelta(hours=n))
                  for n in range(3)]
        await publish(kafka_bootstrap, settings.topic("reception"), *opened)

        db = client.app.state.db
        async with db.transaction() as holding:
            # A reader in the way of the rebuild's write keeps the job running while we look.
            await (await holding.connection()).execute(sa.text("LOCK TABLE kpi_daily IN SHARE MODE"))
            started = await hq.post("/v1/kpis/rebuild")
            assert started.status_code == 202, started.text
            job = started.json()
            assert job["state"] == "queued" and job["requested_by"] == "hq-admin-1"
            location = urljoin("/v1/kpis/rebuild", started.headers["location"])
            assert location == f"/v1/kpis/rebuild/jobs/{job['id']}"

            async def running() -> bool:
                return (await hq.get(location)).json()["state"] == "running"

            await eventually(running, message="the job never started")
            second = await hq.post("/v1/kpis/rebuild")
            assert second.status_code == 409, second.text
            assert second.json()["running_job_id"] == job["id"]
        done = await poll(hq, location)
        assert done["state"] == "done", done
        assert done["events_read"] >= 3 and done["events_applied"] == 3 and done["events_skipped"] == 0
        assert done["entities"] == 3 and done["events_per_s"] > 0 and done["finished_at"] is not None
        figures = (await hq.get(f"/v1/kpis?from={(f.T0 - timedelta(days=1)).date()}&to={f.T0.date()}")).json()
        assert figures["network"]["repair_orders_opened"] == 3
        listed = (await hq.get("/v1/kpis/rebuild/jobs")).json()["items"]
        assert [j["id"] for j in listed] == [job["id"]]
        # Over, it holds nothing: the next one starts.
        assert (await rebuilt(hq))["id"] != job["id"]
        assert (await Caller(client, "hq_analyst").get(location)).status_code == 403
        assert (await hq.get("/v1/kpis/rebuild/jobs/no-such-job")).status_code == 404


async def test_a_job_cut_off_by_a_restart_is_failed_and_another_may_start(network_db, kafka_bootstrap, topic_prefix,
                                                                          clock):
    settings = network_settings(network_db, kafka_bootstrap_servers=kafka_bootstrap, kafka_topic_prefix=topic_prefix)
    await ensure_topics(settings)
    async with network_service(settings, clock) as client:
        hq = Caller(client, "hq_admin")
        # What a process that died mid-rebuild leaves: a running job, its heartbeat fresh a moment ago.
        async with client.app.state.db.transaction() as session:
            session.add(KpiRebuildJob(id="job-cut-off", state="running", active=True, requested_by="hq",
                                      requested_at=clock.now(), started_at=clock.now(), heartbeat_at=clock.now(),
                                      runner="elsewhere:1:abc"))
        assert (await hq.post("/v1/kpis/rebuild")).status_code == 409
        clock.advance(timedelta(seconds=31))  # its heartbeat has stopped
        cut_off = (await hq.get("/v1/kpis/rebuild/jobs/job-cut-off")).json()
        assert cut_off["state"] == "failed" and "restarted" in cut_off["error"]
        assert (await rebuilt(hq))["state"] == "done"
