"""The demo run: checks the platform, sets up the network, lives the days half hour by
half hour, and waits for the platform's figures to catch up at the end."""
from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Awaitable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx

from services.common import reference
from tools.client import Api, ApiError, IssuedKey, all_items, issue_key, wait_for
from tools.demo.agenda import Action, Actor
from tools.demo.campaigns import RecallCampaign
from tools.demo.clock import SimClock
from tools.demo.config import DemoConfig, DemoError, Features
from tools.demo.hq import HQ
from tools.demo.network import Onboarding, open_dealer
from tools.demo.sales import register_sold_before
from tools.demo.store import StoreSim
from tools.demo.summary import Summary, Tally
from tools.demo.targets import attainment, set_targets

UNEXPECTED = (ApiError, TimeoutError, httpx.HTTPError)  # counted as errors; anything else is a bug


class Demo:
    def __init__(self, config: DemoConfig) -> None:
        self.config = config
        if not 1 <= config.days <= 366:
            raise DemoError("--days must be 1..366 (the KPIs answer at most a year)")
        if config.scale <= 0:
            raise DemoError("--scale must be positive")
        specs = self._specs()
        self.zone = ZoneInfo(specs[0].get("timezone") or "Asia/Shanghai")
        today = datetime.now(self.zone).date()
        self.last_day = config.end or today - timedelta(days=1)
        if self.last_day >= today:
            raise DemoError(f"--end {self.last_day} must be before today ({today}): the demo replays the past")
        self.first_day = self.last_day - timedelta(days=config.days - 1)
        self.clock = SimClock(config.clock_file)
        self.counts: Counter[str] = Counter()
        self.errors: list[str] = []
        self.current_tick: datetime | None = None
        self.day = self.first_day - timedelta(days=1)
        self.hq = HQ(self)
        self.recall = RecallCampaign(self)
        self.features = Features()
        self.stores = [StoreSim(self, i, spec) for i, spec in enumerate(specs)]
        self.clients: list[httpx.AsyncClient] = []
        self.tasks: list[asyncio.Future] = []
        self.hq_api: Api
        self.hq_care: Api
        self.hq_care_id: str
        self.hq_reviewer: Api

    def _specs(self) -> list[dict]:
        if self.config.stores_file:
            data = json.loads(Path(self.config.stores_file).read_text(encoding="utf-8"))
        else:
            data = reference.load("stores")
        specs = data["stores"]
        if self.config.stores:
            wanted = [c.strip() for c in self.config.stores if c.strip()]
            unknown = set(wanted) - {s["code"] for s in specs}
            if unknown:
                raise DemoError(f"unknown store codes: {', '.join(sorted(unknown))}")
            specs = [s for s in specs if s["code"] in wanted]
        if not specs:
            raise DemoError("no stores to simulate")
        return specs

    @property
    def tick(self) -> datetime:
        """The half hour being lived; only asked for while a day runs."""
        if self.current_tick is None:
            raise RuntimeError("no half hour is being lived")
        return self.current_tick

    # -- counting and failing
    def count(self, what: Tally, n: int = 1) -> None:
        self.counts[what] += n

    def failed(self, what: str, exc: BaseException) -> None:
        if self.config.strict or not isinstance(exc, UNEXPECTED):
            raise DemoError(f"{self.day} {what}: {exc}") from exc
        self.errors.append(f"{self.day} {what}: {exc}"[:500])

    async def attempt(self, what: str, action: Action) -> None:
        try:
            await action()
        except UNEXPECTED as exc:
            self.failed(what, exc)

    def background(self, what: str, action: Action) -> asyncio.Future:
        """Work that goes on while the clock moves; awaited by whoever needs its result,
        and by the end of the run."""
        task = asyncio.ensure_future(self.attempt(what, action))
        self.tasks = [t for t in self.tasks if not t.done()] + [task]
        return task

    async def all(self, what: str, calls: list[Awaitable[Any]]) -> None:
        """Independent calls side by side; each failure is counted (or stops a strict run)."""
        for result in await asyncio.gather(*calls, return_exceptions=True):
            if isinstance(result, BaseException):
                self.failed(what, result)

    # -- connections and keys
    def client(self, address: str | None) -> httpx.AsyncClient:
        """One connection pool per place. Every store sends from its own address, as the
        stores of a real group do, so the gateway's per-address limit sees separate
        callers; that works for a gateway on this machine (all of 127.0.0.0/8 is local)."""
        host = urlsplit(self.config.url).hostname or ""
        transport = None
        if address and host in ("127.0.0.1", "localhost") and sys.platform.startswith("linux"):
            transport = httpx.AsyncHTTPTransport(local_address=address, retries=2)
        client = httpx.AsyncClient(base_url=self.config.url, timeout=60.0, transport=transport)
        self.clients.append(client)
        return client

    def api(self, http: httpx.AsyncClient, key: str) -> Api:
        return Api(http, key, retries=12)

    async def issue_key(self, role: str, store_id: str | None, label: str) -> IssuedKey:
        return await issue_key(self.hq_api, role, store_id, label)

    # -- the run
    async def run(self) -> Summary:
        started = time.monotonic()
        key = self.config.key or os.environ.get("PLATFORM_BOOTSTRAP_KEY")
        if not key:
            raise DemoError("no HQ key: pass --key or set PLATFORM_BOOTSTRAP_KEY (make run prints it)")
        try:
            self.hq_api = self.api(self.client("127.0.0.2"), key)
            await self.preflight()
            await self.setup()
            progress = _progress(self.config.progress, self.config.days)
            for index in range(self.config.days):
                self.day = self.first_day + timedelta(days=index)
                await self.simulate_day(index, self.day)
                progress.update(1)
                progress.set_postfix(day=str(self.day), orders=self.counts[Tally.ORDERS_OPENED],
                                     delivered=self.counts[Tally.ORDERS_DELIVERED],
                                     claims=self.counts[Tally.CLAIMS_SUBMITTED], errors=len(self.errors),
                                     refresh=False)
            progress.close()
            await asyncio.gather(*self.tasks)
            kpis = await self.reconcile()
            messages = await self.messages_sent()
            targets = await attainment(self, self.last_day.strftime("%Y-%m"))
            brand = await self.brand_figures()
            accounts = await self.account_figures()
        finally:
            for task in self.tasks:
                task.cancel()
            self.clock.clear()
            for client in self.clients:
                await client.aclose()
        return Summary(self.first_day, self.last_day, time.monotonic() - started, self.counts, kpis, self.errors,
                       {s.code: s.id for s in self.stores if s.id}, self.config.url.rstrip("/"), messages,
                       targets=targets, brand=brand, accounts=accounts)

    async def messages_sent(self) -> dict:
        """What reached the message providers' stand-ins (make run starts them), and CRM's
        messages by status, once the sender has nothing left that is due."""
        async def drained() -> bool:
            page = await self.hq_api.get("/api/crm/v1/messages", status="sending", limit=1)
            return not page["items"]

        try:
            await wait_for(drained, self.config.timeout, interval=1.0, what="CRM's sender to finish")
        except TimeoutError:
            self.errors.append("CRM's sender still had messages in hand")
        crm = Counter(m["status"] for m in await all_items(self.hq_api, "/api/crm/v1/messages"))
        arrived: dict = {}
        try:
            async with httpx.AsyncClient(timeout=10) as http:
                arrived = (await http.get(f"{self.config.messages_url}/_stand-in/arrived")).json()
        except (httpx.HTTPError, ValueError):
            # A platform of one's own (not make run's) may send to real providers, or to none.
            arrived = {}
        return {"arrived": arrived, "crm": dict(crm), "stand_ins": self.config.messages_url}

    async def brand_figures(self) -> dict:
        """What the brand's side shows at the end: the recall's completion, the new cars
        registered, and what the statements took back."""
        ours = {s.id for s in self.stores if s.id}
        settlements = [s for s in await all_items(self.hq_api, "/api/network/v1/settlements") if s["store_id"] in ours]
        with_debits = [s for s in settlements if s["debits_fen"] > 0]
        returns = [r for r in await all_items(self.hq_api, "/api/network/v1/part-returns") if r["store_id"] in ours]
        return {
            "recall": await self.recall.completion(),
            "recall_code": self.recall.code,
            "listed_at_our_stores": self.recall.listed_at_our_stores,
            "settlements_with_debits": len(with_debits),
            "settlements_owed_by_store": sum(1 for s in settlements if s["owed_by_store"]),
            "debits_fen": sum(s["debits_fen"] for s in settlements),
            "debits": Counter(d["reason_code"] for s in with_debits for d in s["debits"]),
            "returns": Counter(r["status"] for r in returns),
        }

    async def account_figures(self) -> dict:
        """What the stores are owed at the end, by payer, beside what the demo made; the
        fleets' balances and statements; the sublet orders and what they cost."""
        fleets: list[dict] = []
        receivables: dict[str, dict[str, int]] = {}
        sublets: Counter[str] = Counter()
        sublet_cost = 0
        for store in self.stores:
            if not store.id:
                continue
            fleets += await store.fleets.figures(self.first_day, self.last_day)
            ledger = await self.hq_api.get("/api/reception/v1/receivables", store_id=store.id)
            owed: Counter[str] = Counter()
            for item in ledger["items"]:
                owed[item["payer_kind"]] += item["open_fen"]
            receivables[store.code] = dict(owed)
            for row in await all_items(self.hq_api, "/api/workshop/v1/sublet-orders", store_id=store.id):
                sublets[row["status"]] += 1
                sublet_cost += row["cost_fen"] if row["status"] == "invoiced" else 0
        return {"fleets": fleets, "receivables": receivables, "sublets": dict(sublets),
                "sublet_cost_fen": sublet_cost}

    async def offered(self) -> Features:
        """What the platform's contract offers of the features the story uses when present."""
        try:
            paths = (await self.hq_api.http.get("/openapi.json", timeout=30.0)).json()["paths"]
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            raise DemoError(f"the gateway's contract (/openapi.json) cannot be read: {exc!r}") from exc
        return Features(campaign_lines="/api/reception/v1/repair-orders/{repair_order_id}/campaign-lines" in paths,
                        claim_kinds="/api/network/v1/claims/{claim_id}/submit" in paths)

    async def preflight(self) -> None:
        """Nothing is written unless the platform answers, takes the key, holds none of
        the demo's stores and follows the clock file."""
        try:
            await self.hq_api.http.get("/healthz", timeout=5.0)
        except httpx.HTTPError as exc:
            raise DemoError(
                f"the gateway at {self.config.url} does not answer ({exc!r}); start it with `make run`") from exc
        try:
            existing = await self.hq_api.get("/api/network/v1/stores", limit=200)
        except httpx.HTTPError as exc:
            raise DemoError(f"the gateway at {self.config.url} does not answer ({exc!r})") from exc
        except ApiError as exc:
            if exc.status in (401, 403):
                raise DemoError(f"the gateway refused the HQ key ({exc.status}); "
                                "pass the key `make run` printed") from exc
            raise DemoError(f"the platform is not ready: {exc}") from exc
        self.features = await self.offered()
        taken = sorted({s["code"] for s in existing["items"]} & {s.code for s in self.stores})
        if taken:
            raise DemoError(f"the platform already has {', '.join(taken)}: the demo fills an empty platform "
                            "(stop it and `make clean`, or choose other stores with --stores)")
        # The platform must follow the clock file, or the replay would land on today.
        self.clock.set(self.hq.local(self.day, 17))

        async def follows() -> bool:
            return (await self.hq_api.get("/api/network/v1/kpis"))["to"] == self.day.isoformat()

        try:
            await wait_for(follows, 5, interval=0.2, what="the platform to follow the clock file")
        except TimeoutError:
            self.clock.clear()
            raise DemoError(f"the platform does not read its clock from {self.config.clock_file}; start it with "
                            "`make run` (PLATFORM_CLOCK=file:var/demo-clock) "
                            "or pass that file as --clock-file") from None

    async def setup(self) -> None:
        """The evening before the first day: HQ opens the dealer stores, staffs them and
        stocks their shelves; the outlets apply during the first days."""
        care = await self.issue_key("hq_admin", None, "HQ customer care centre")
        self.hq_care, self.hq_care_id = self.api(self.hq_api.http, care.key), care.id
        reviewer = await self.issue_key("hq_admin", None, "HQ warranty second reviewer")
        self.hq_reviewer = self.api(self.hq_api.http, reviewer.key)
        for store in self.stores:
            store.http = self.client(f"127.0.0.{10 + store.index}")
            store.draw_customers(max(20, int((60 if store.outlet else 150) * self.config.scale)), self.first_day)
        dealers = [s for s in self.stores if not s.outlet]
        await asyncio.gather(*(open_dealer(self, s) for s in dealers))
        self.count(Tally.DEALER_STORES, len(dealers))
        await self.recall.publish()
        await register_sold_before(self)
        await set_targets(self, self.first_day, self.last_day)
        onboarding_days = max(1, min(6, self.config.days // 10))
        for place, outlet in enumerate(s for s in self.stores if s.outlet):
            Onboarding(self, outlet).plan(place, onboarding_days)

    async def simulate_day(self, index: int, day: date) -> None:
        for store in self.stores:
            store.plan_day(index, day)
        self.hq.plan_day(index, day)
        end = self.hq.local(day + timedelta(days=1), 6)
        actors: list[Actor] = [*self.stores, self.hq]
        while True:
            times = [t for t in (a.next_time() for a in actors) if t is not None and t < end]
            if not times:
                break
            tick = min(times)
            self.current_tick = tick
            for actor in actors:
                actor.running = False
            self.clock.set(tick)
            # The stores work side by side; HQ's desk follows in the same half hour.
            await asyncio.gather(*(s.run_due(tick) for s in self.stores if tick in s.agenda))
            if tick in self.hq.agenda:
                await self.hq.run_due(tick)
        self.current_tick = None

    async def reconcile(self) -> dict:
        """Wait until network's KPIs have taken in every handover of the demo's stores,
        and answer the network figures."""
        params = {"from": self.first_day.isoformat(), "to": self.last_day.isoformat()}
        ours = {s.id for s in self.stores if s.id}
        answer: dict = {}
        previous: dict | None = None
        delivered = None

        def ours_sum(kpi: str) -> int:
            return sum(s.get(kpi) or 0 for s in answer["stores"] if s["store_id"] in ours)

        async def caught_up() -> bool:
            # The counts the demo knows must be there, and the rest (surveys, reservations,
            # comebacks) must have stopped moving: the projections have drained.
            nonlocal answer, previous, delivered
            answer = await self.hq_api.call("GET", "/api/network/v1/kpis", params=params)
            delivered = ours_sum("repair_orders_delivered")
            settled = (delivered == self.counts[Tally.ORDERS_DELIVERED]
                       and ours_sum("claims_submitted") == self.counts[Tally.CLAIMS_SUBMITTED] and answer == previous)
            previous = answer
            return settled

        try:
            await wait_for(caught_up, self.config.timeout, interval=1.0, what="the KPIs to catch up")
        except TimeoutError:
            self.errors.append(f"KPIs show {delivered} deliveries, the demo made {self.counts[Tally.ORDERS_DELIVERED]}")
        # What the services decided on their own: escalations and comebacks.
        self.counts[Tally.COMPLAINTS_ESCALATED] = len(
            await all_items(self.hq_api, "/api/crm/v1/complaints", escalated="true"))
        self.counts[Tally.COMEBACKS_DETECTED] = len(await all_items(self.hq_api, "/api/workshop/v1/comebacks"))
        return answer.get("network", {})


def _progress(enabled: bool, total: int) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, unit="day", desc="simulating", disable=not enabled, dynamic_ncols=True)


async def run(config: DemoConfig) -> Summary:
    return await Demo(config).run()
