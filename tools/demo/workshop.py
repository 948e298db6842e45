"""The workshop's part: the technicians, taking approved orders in, the foreman's
planning of the bays, the jobs clocked on and off, the quality check and its reworks."""
from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from services.common import reference
from tools.client import ApiError, until_known, wait_for
from tools.demo.agenda import FREE, BayStep, bay
from tools.demo.clock import GRID, TICK_HOURS, ceil_grid, local_time
from tools.demo.fleet import random_name
from tools.demo.records import Job, JobStatus, Order, Rework, Technician
from tools.demo.summary import Tally

if TYPE_CHECKING:
    from tools.demo.store import StoreSim


HOURLY_COST_FEN = (5500, 6000, 6500, 7200)


class Workshop:
    def __init__(self, store: StoreSim) -> None:
        self.store = store
        self.demo = store.demo
        self.technicians: list[Technician] = []
        self.approving: list[Order] = []  # approved, waiting for the workshop to take them in
        self.approving_parts: set[str] = set()
        self.fetched: list[Order] = []  # taken in by the workshop, to dispatch
        self.intake = asyncio.Lock()
        self.reworks: list[Rework] = []
        self.by_reservation: dict[str, Order] = {}

    async def staff(self, skill_sets: list[list[str]], rng: random.Random) -> None:
        """A dealer's technicians each get their own key; an outlet's system clocks for all."""
        store, demo = self.store, self.demo
        start = local_time(demo.zone, demo.first_day, 8)
        for skills in skill_sets:
            name = random_name(rng)
            principal: str | None = None
            if store.outlet:
                api = store.keys["outlet_api"]
            else:
                assert store.http is not None
                issued = await demo.issue_key("technician", store.id, f"{store.code} technician {name}")
                principal, api = issued.id, demo.api(store.http, issued.key)
            # What an hour of the technician costs the store (wage and on-costs), for gross margin.
            body = {"name": name, "skills": skills, "hourly_cost_fen": rng.choice(HOURLY_COST_FEN),
                    **({"principal_id": principal} if principal else {})}
            technician = await until_known(partial(store.manager.post, "/api/workshop/v1/technicians", body),
                                           demo.config.timeout)
            self.technicians.append(Technician(technician["id"], name, skills, api, start))

    # -- taking approved orders in
    def approved(self, order: Order) -> None:
        """Reception has sent the customer's yes; the workshop will make jobs and reservations."""
        order.taking_in = True
        self.approving.append(order)
        self.approving_parts.update(line["part_no"] for line in order.lines
                                    if line["kind"] == "part" and line.get("part_no"))

    async def take_in(self) -> None:
        """The workshop makes jobs and reservations from reception's approval events. Whoever
        touches stock next (a delivery, the reorder run) waits for this first, so stock goes
        to the orders in the same order every time."""
        async with self.intake:
            orders, self.approving, self.approving_parts = sorted(self.approving, key=lambda o: o.key), [], set()
            views = await asyncio.gather(*(self.view(o) for o in orders), return_exceptions=True)
            for order, view in zip(orders, views, strict=True):
                if isinstance(view, BaseException):
                    order.taking_in = False
                    self.demo.failed(f"{self.store.code}: workshop view of {order.label}", view)
                else:
                    self.learn(order, view)
                    self.fetched.append(order)

    async def view(self, order: Order) -> dict:
        """The workshop's view of the order, once it holds a job per labour line and a
        reservation per stocked part."""
        labour_lines = sum(1 for line in order.lines if line["kind"] == "labor")
        part_lines = sum(1 for line in order.lines
                         if line["kind"] == "part" and line.get("part_no") in reference.parts())

        async def made() -> dict | None:
            try:
                view = await self.store.manager.get(f"/api/workshop/v1/repair-orders/{order.id}")
            except ApiError as exc:
                if exc.status == 404:
                    return None
                raise
            return view if len(view["jobs"]) >= labour_lines and len(view["reservations"]) >= part_lines else None

        return await wait_for(made, self.demo.config.timeout, interval=0.03, what=f"workshop jobs of {order.label}")

    def learn(self, order: Order, view: dict) -> None:
        operations = reference.labor_operations()
        position = {line["id"]: line["position"] for line in order.lines}
        for job in sorted(view["jobs"], key=lambda j: position.get(j["line_id"], 0)):
            if job["id"] not in order.jobs:
                op = operations.get(job["op_code"], {})
                order.jobs[job["id"]] = Job(job["id"], job["op_code"], job.get("category") or op.get("category"),
                                            float(job["flat_rate_hours"]), len(order.jobs))
        for reservation in sorted(view["reservations"], key=lambda r: position.get(r["line_id"], 0)):
            if reservation["id"] not in order.reservations:
                self.by_reservation[reservation["id"]] = order
                if reservation["status"] == "backordered":
                    self.demo.count(Tally.BACKORDERS)
            order.reservations[reservation["id"]] = reservation["status"]

    # -- the foreman's planning
    def plan_bays(self) -> list[Awaitable[Any]]:
        """The foreman's planning, in a fixed order: reworks back into their technicians'
        day, then the orders the workshop has taken in. Answers the assignment calls."""
        reworks, self.reworks = sorted(self.reworks, key=lambda r: (r.order.key, r.job.index)), []
        for rework in reworks:
            self.schedule(rework.order, rework.job, self.demo.tick + GRID, 0.4)
        return self.dispatch_fetched()

    def dispatch_fetched(self) -> list[Awaitable[Any]]:
        fetched, self.fetched = sorted(self.fetched, key=lambda o: o.key), []
        calls: list[Awaitable[Any]] = []
        for order in fetched:
            order.taking_in = False
            if order.started:  # a supplement: its jobs join the work under way, its parts are issued
                calls += self.dispatch(order)
                calls.append(self.store.parts.issue(order))
            elif not order.backordered():
                calls += self.dispatch(order)
            # else the car waits for the part: dispatched when the delivery fills the backorder
        return calls

    def dispatch(self, order: Order) -> list[Awaitable[Any]]:
        """Each waiting job goes to the technician with the skill who is free first; the car
        goes into the bay on the next half hour. Answers the assignment calls to make."""
        store, now = self.store, self.demo.tick
        order.dispatched = True
        posts: list[Awaitable[Any]] = []
        for job in order.jobs.values():
            if job.technician is not None:
                continue
            able = [t for t in self.technicians if job.category is None or job.category in t.skills] or self.technicians
            tech = min(able, key=lambda t: (max(t.free_at, now), self.technicians.index(t)))
            posts.append(store.manager.post(f"/api/workshop/v1/jobs/{job.id}/assign", {"technician_id": tech.id}))
            job.technician, job.status = tech, JobStatus.ASSIGNED
            self.schedule(order, job, now + GRID, order.next_duration())
        if not order.jobs:
            store.at(now + GRID, f"issue parts {order.label}", lambda: store.parts.issue(order), FREE, order.key)
        return posts

    def schedule(self, order: Order, job: Job, earliest: datetime, factor: float) -> None:
        """Clocked time is what the technician really spends, so the clock moves on while
        the job is worked: flat-rate hours, a little faster or slower."""
        store, tech = self.store, job.technician
        assert tech is not None
        ticks = max(1, round(job.flat_hours * factor / TICK_HOURS))
        start = store.work_slot(max(tech.free_at, ceil_grid(earliest)))
        local = start.astimezone(store.zone)
        if local + ticks * GRID > local.replace(hour=19, minute=0):
            start = store.local(local.date() + timedelta(days=1), 8)
        tech.free_at = start + ticks * GRID
        what, lane = f"{job.op_code} ({job.index}) on {order.label}", bay(tech.id)
        store.at(start, f"start {what}", lambda: self.start_job(order, job), lane, order.key, BayStep.START)
        store.at(start + ticks * GRID, f"complete {what}", lambda: self.complete_job(order, job), lane, order.key,
                 BayStep.FINISH)

    # -- the technician's work and the quality check
    async def start_job(self, order: Order, job: Job) -> None:
        store = self.store
        assert job.technician is not None
        await job.technician.api.post(f"/api/workshop/v1/jobs/{job.id}/start")
        job.status = JobStatus.IN_PROGRESS
        if not order.started:
            order.started = True
            await store.parts.issue(order)
            if not store.outlet:
                await store.sublets.send_out(order)
            if order.work.supplement and not order.supplement_done:
                # The technician finds more work; the advisor phones the customer.
                order.supplement_done = True
                for line in order.work.supplement:
                    await store.reception.add_line(order, line)
                self.demo.count(Tally.SUPPLEMENTS)
                store.reception.approve(order, "phone")

    async def complete_job(self, order: Order, job: Job) -> None:
        store = self.store
        assert job.technician is not None
        await job.technician.api.post(f"/api/workshop/v1/jobs/{job.id}/complete",
                                      {"notes": f"{job.op_code} done" + ("; rework" if job.reworked else "")})
        fail = order.fate.qc_fail and not job.reworked and job.index == 0
        await store.manager.post(f"/api/workshop/v1/jobs/{job.id}/qc", {
            "result": "fail" if fail else "pass", "inspector": "Foreman" if store.outlet else f"{store.code} foreman",
            "notes": "torque marks missing, redo" if fail else "checked, road test OK"})
        if fail:
            job.reworked, job.status = True, JobStatus.REWORK
            self.demo.count(Tally.QC_FAILURES)
            self.reworks.append(Rework(order, job))  # planned with the bays at the end of the stage
            return
        job.status = JobStatus.QC_PASSED
        self.demo.count(Tally.JOBS_PASSED)
        self.maybe_ready(order)

    def maybe_ready(self, order: Order) -> None:
        """Every job passed and every part issued: the customer is told when to collect."""
        if order.ready_planned or not order.all_done():
            return
        order.ready_planned = True
        reception = self.store.reception
        self.store.at(reception.pickup_time(order), f"hand over {order.label}", lambda: reception.hand_over(order),
                      FREE, order.key)
