"""Scheduled jobs: who may start them, for which stores, and the once-a-day rule."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from services.crm.main import spec
from services.crm.scheduling.service import JOBS, run_scheduled
from tests.crm import factories as f

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_every_job_is_scheduled_in_the_worker():
    assert {job.name for job in spec.scheduled} == set(JOBS)


@pytest.mark.parametrize("role", ["crm_agent", "service_advisor", "outlet_api", "technician"])
async def test_only_hq_and_the_store_manager_may_start_a_job(crm, role):
    r = await crm.as_(role, f"{role}-1").post("/v1/jobs/churn_detection/run")
    assert r.status_code == 403
    analyst = crm.as_("hq_analyst", "analyst", store_id=None)
    assert (await analyst.post("/v1/jobs/churn_detection/run")).status_code == 403


async def test_the_store_manager_runs_a_job_for_the_own_store_and_hq_for_one_or_all(crm):
    r = await crm.manager.post("/v1/jobs/churn_detection/run")
    assert [s["store_id"] for s in r.json()["stores"]] == [crm.store_id]
    assert r.json()["stores"][0]["run_date"] == "2026-03-02"
    r = await crm.manager.post("/v1/jobs/churn_detection/run", json={"store_id": crm.other_store_id})
    assert r.status_code == 404
    r = await crm.hq.post("/v1/jobs/churn_detection/run")
    assert sorted(s["store_id"] for s in r.json()["stores"]) == sorted([crm.store_id, crm.other_store_id])
    r = await crm.hq.post("/v1/jobs/churn_detection/run", json={"store_id": crm.other_store_id})
    assert [s["store_id"] for s in r.json()["stores"]] == [crm.other_store_id]
    assert (await crm.hq.post("/v1/jobs/no_such_job/run")).status_code == 404


async def test_the_worker_runs_a_daily_job_once_per_store_day_and_lists_the_runs(crm):
    await crm.deliver(f.delivered(crm.store_id, datetime(2024, 1, 5, 11, tzinfo=SHANGHAI)))
    churn = JOBS["churn_detection"]
    await run_scheduled(churn, crm.app.state.runtime)
    await run_scheduled(churn, crm.app.state.runtime)
    assert len(await crm.emitted("crm.customer.churn_detected")) == 1
    listed = {j["name"]: j for j in (await crm.manager.get("/v1/jobs")).json()["items"]}
    [run] = listed["churn_detection"]["last_runs"]
    assert run["runs"] == 1 and run["last_trigger"] == "schedule" and run["result"] == {"detected": 1, "became_lost": 0}
    # A new store day is a new run.
    crm.clock.advance(days=1)
    await run_scheduled(churn, crm.app.state.runtime)
    listed = {j["name"]: j for j in (await crm.manager.get("/v1/jobs")).json()["items"]}
    assert listed["churn_detection"]["last_runs"][0]["run_date"] == "2026-03-03"
    assert len(await crm.emitted("crm.customer.churn_detected")) == 1


async def test_the_store_day_is_the_stores_own(crm):
    crm.clock.set(datetime(2026, 3, 2, 17, 0, tzinfo=ZoneInfo("UTC")))  # already Tuesday in Shanghai
    r = await crm.manager.post("/v1/jobs/maintenance_reminders/run")
    assert r.json()["stores"][0]["run_date"] == "2026-03-03"
