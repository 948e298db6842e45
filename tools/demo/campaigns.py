"""HQ's recall: the brand drafts the campaign the evening before the first day, uploads the
affected cars' VINs as a CSV file and publishes it. Owners of listed cars answer the letter
and book, or have it done at their next visit; at the end, the campaign's completion."""
from __future__ import annotations

import asyncio
import random
from datetime import timedelta
from typing import TYPE_CHECKING

import httpx

from services.common import reference
from tools.client import ApiError
from tools.demo.catalogue import VIN_CHARS
from tools.demo.work import RECALL_OP, RECALL_PART

if TYPE_CHECKING:
    from tools.demo.runner import Demo

CODE = "RC-2026-01"
# The relay batch went into the 1.5T cars built before the fix: most of them, not all.
AFFECTED_MODELS = ("Aurora Sedan 1.5T", "Horizon SUV 1.5T")
LISTED_SHARE = 0.6
# Cars of the batch sold by dealers outside the demo's network, per --scale.
ELSEWHERE = 3000


class RecallCampaign:
    def __init__(self, demo: Demo) -> None:
        self.demo = demo
        self.code = CODE
        self.id: str | None = None
        self.vins: list[str] = []
        self.listed_at_our_stores = 0

    def affected(self) -> list[str]:
        """The VINs of the batch: some cars of the stores' own customers, and cars sold
        elsewhere. Each listed car of a store is marked, so its owner may answer the letter."""
        seed = self.demo.config.seed
        vins: list[str] = []
        for store in self.demo.stores:
            rng = random.Random(f"{seed}:{store.code}:recall")
            for vehicle in store.customers.vehicles:
                if vehicle.model in AFFECTED_MODELS and vehicle.sold_at and rng.random() < LISTED_SHARE:
                    vehicle.recall_due = self.code
                    vins.append(vehicle.vin)
        self.listed_at_our_stores = len(vins)
        rng = random.Random(f"{seed}:recall:elsewhere")
        seen = set(vins)
        for _ in range(int(ELSEWHERE * self.demo.config.scale)):
            vin = ""
            while not vin or vin in seen:
                vin = "LXB" + rng.choice(["A1", "H1"]) + "".join(rng.choice(VIN_CHARS) for _ in range(12))
            seen.add(vin)
            vins.append(vin)
        return vins

    async def publish(self) -> None:
        """Drafted, its VINs uploaded as the CSV file the brand's quality department sends,
        then published; open from the first replayed day for a year."""
        demo = self.demo
        operation = reference.labor_operations()[RECALL_OP]
        body = {"code": CODE, "kind": "recall", "title_zh": "燃油泵继电器更换召回",
                "title_en": "Fuel pump relay replacement recall", "op_code": RECALL_OP,
                "parts": [{"part_no": RECALL_PART, "quantity": "1"}], "flat_hours": str(operation["flat_rate_hours"]),
                "starts_on": demo.first_day.isoformat(),
                "ends_on": (demo.first_day + timedelta(days=365)).isoformat()}
        # A platform an earlier demo run filled (other --stores) has the code: the brand's
        # next campaign of the batch takes the next number.
        for n in range(1, 10):
            self.code = body["code"] = CODE if n == 1 else f"{CODE}-{n}"
            try:
                draft = await demo.hq_api.post("/api/network/v1/campaigns", body)
                break
            except ApiError as exc:
                if exc.status != 409 or n == 9:
                    raise
        self.id = draft["id"]
        self.vins = self.affected()
        await self.upload("vin\n" + "\n".join(self.vins) + "\n")
        await demo.hq_api.post(f"/api/network/v1/campaigns/{self.id}/publish")

    async def upload(self, csv: str) -> None:
        """PUT replaces the draft's list, so a retry after a lost answer writes it once."""
        path = f"/api/network/v1/campaigns/{self.id}/vins"
        api = self.demo.hq_api
        headers = {"Authorization": f"Bearer {api.key}", "Content-Type": "text/csv"}
        for attempt in range(6):
            try:
                response = await api.http.put(path, content=csv.encode(), headers=headers)
            except httpx.TransportError:
                if attempt == 5:
                    raise
                await asyncio.sleep(0.5 * 2 ** attempt)
                continue
            if response.status_code not in (429, 502, 503, 504) or attempt == 5:
                break
            await asyncio.sleep(0.5 * 2 ** attempt)
        if response.status_code != 200:
            raise ApiError("PUT", path, response.status_code, response.text)
        answer = response.json()
        if answer["vin_count"] != len(self.vins):
            raise ApiError("PUT", path, response.status_code, f"{answer['vin_count']} VINs kept of {len(self.vins)}")

    async def completion(self) -> dict | None:
        if self.id is None:
            return None
        return await self.demo.hq_api.get(f"/api/network/v1/campaigns/{self.id}/completion")
