"""`make demo`: fill a running platform with months of realistic after-sales activity.

The demo replays the last `--days` days (60 by default) of a dealer group: the dealer
stores of data/stores.json are opened by HQ, the partner outlets apply through the public
form and are onboarded, and every simulated day each store books, checks in, quotes,
repairs, quality-checks, issues parts, settles and hands over cars; roadside calls come
in; the callback desk calls customers and works the complaints; stores claim warranty,
HQ reviews and settles monthly. Everything goes through the gateway with the staff's own
API keys, exactly as the store apps would.

Time: the platform's services read their clock from a file (`PLATFORM_CLOCK=file:var/demo-clock`,
set by `make run`). The demo writes the simulated instant there before each step of the
day, and removes the file at the end, so the platform is back on real time with the
history behind it.

Deterministic: every decision comes from `random.Random` seeded with `--seed` (per store,
day and repair order), never from the wall clock; the same seed on an empty platform
tells the same story. See docs/demo.md.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Awaitable, Callable
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx

from services.common import reference
from tools.client import Api, ApiError, until_known, wait_for

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CLOCK_FILE = REPO / "var" / "demo-clock"
DEFAULT_DAYS = 60
# Repair orders a store opens on an ordinary day at --scale 1 (appointments and walk-ins).
DEALER_ORDERS_PER_DAY = 1.5
OUTLET_ORDERS_PER_DAY = 0.6
GRID = timedelta(minutes=30)
TICK_HOURS = GRID.total_seconds() / 3600

# A store's half hour has two stages. In the first, the desk works through bookings,
# check-ins and deliveries one at a time in a fixed order (they touch what the whole
# store shares: order numbers, the appointment book, stock); each technician finishes a
# job before starting the next; everything else (quotes, handovers, calls, claims) goes on
# side by side. Then the foreman plans the bays, without a call, in a fixed order; in the
# second stage the customers' approvals and the job assignments go out. So the same seed
# always tells the same story, however the answers interleave.
DESK, FREE = "desk", "free"
FINISH, START = 0, 1  # within a technician's bay
HOUR = timedelta(hours=1)


# ---------------------------------------------------------------------------
# Configuration and results


@dataclass
class DemoConfig:
    url: str = "http://127.0.0.1:8000"
    key: str | None = None
    seed: int = 1
    scale: float = 1.0
    days: int = DEFAULT_DAYS
    end: date | None = None  # last simulated day (local); default yesterday
    stores: list[str] | None = None  # store codes to take from the stores file; default all
    stores_file: Path | None = None
    clock_file: Path = DEFAULT_CLOCK_FILE
    progress: bool = True
    strict: bool = False  # stop at the first unexpected answer instead of counting it
    timeout: float = 60.0  # for event-driven state to appear


@dataclass
class Summary:
    first_day: date
    last_day: date
    seconds: float
    counts: Counter
    kpis: dict
    errors: list[str]
    stores: dict[str, str]  # code -> id
    url: str

    def text(self) -> str:
        c = self.counts
        k = self.kpis or {}
        revenue = (k.get("revenue_fen") or {}).get("total", 0)
        lines = [
            f"Demo: {self.first_day} .. {self.last_day} ({(self.last_day - self.first_day).days + 1} days) "
            f"in {self.seconds:.0f} s",
            f"  stores            {c['dealer_stores']} dealer stores, {c['outlets_activated']} partner outlets onboarded",
            f"  appointments      {c['appointments_booked']} booked, {c['appointments_cancelled']} cancelled, "
            f"{c['no_shows']} no-shows; {c['walk_ins']} walk-ins",
            f"  repair orders     {c['orders_opened']} opened, {c['orders_delivered']} delivered, "
            f"{c['orders_cancelled']} cancelled, {c['supplements']} supplements, {c['comeback_visits']} comeback visits "
            f"({c['comebacks_detected']} comebacks detected)",
            f"  workshop          {c['jobs_passed']} jobs passed QC, {c['qc_failures']} failed QC and reworked; "
            f"{c['backorders']} backorders, {c['purchase_orders']} purchase orders",
            f"  roadside          {c['roadside_requests']} requests, {c['roadside_towed']} towed in",
            f"  callbacks         {c['callbacks_completed']} surveys, {c['callbacks_unreachable']} unreachable, "
            f"{c['callbacks_cancelled']} declined; {c['follow_ups_completed']} follow-ups",
            f"  complaints        {c['complaints_opened']} opened, {c['complaints_resolved']} resolved, "
            f"{c['complaints_closed']} closed on follow-up, {c['complaints_escalated']} escalated",
            f"  warranty claims   {c['claims_submitted']} submitted, {c['claims_approved']} approved, "
            f"{c['claims_partial']} partly approved, {c['claims_rejected']} rejected, "
            f"{c['claims_resubmitted']} resubmitted",
            f"  settlements       {c['settlements_issued']} issued, {c['settlements_paid']} paid",
            f"  reminders sent    {c['reminders_sent']}; club members {c['club_members']}; audits {c['audits']}",
        ]
        if k:
            lines.append(
                f"  KPIs (network)    delivered {k.get('repair_orders_delivered')}, revenue {_cny(revenue)}, "
                f"CSI {k.get('csi_average')}, callback SLA {k.get('callback_sla_rate')}, "
                f"first-time fix {k.get('first_time_fix_rate')}, parts fill {k.get('parts_fill_rate')}")
        if self.errors:
            lines.append(f"  errors            {len(self.errors)} (first: {self.errors[0]})")
        month = self.last_day.strftime("%Y-%m")
        lines += [
            "Where to look:",
            f"  dashboard         {self.url}/dashboard  (sign in with the HQ admin key; choose 30 days)",
            f"  KPIs              {self.url}/api/network/v1/kpis?from={self.first_day}&to={self.last_day}",
            f"  CRM reports       {self.url}/api/crm/v1/reports?kind=weekly  and  "
            f"/api/crm/v1/reports/monthly?month={month}&store_id=<id>&fresh=true",
            f"  claims            {self.url}/api/network/v1/claims?status=submitted",
        ]
        return "\n".join(lines)


def _cny(fen: int) -> str:
    return f"{fen / 100:,.2f} CNY"


class DemoError(Exception):
    """The demo cannot go on (platform not reachable, wrong key, clock not followed)."""


# ---------------------------------------------------------------------------
# The simulated clock


class SimClock:
    """Writes the simulated instant to the platform's clock file. The services' clocks
    run on from there at normal speed, so the demo keeps time the same way and never
    moves the clock backwards."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._set: tuple[datetime, float] | None = None

    def now(self) -> datetime:
        if self._set is None:
            return datetime.now(timezone.utc)
        when, mark = self._set
        return when + timedelta(seconds=time.monotonic() - mark)

    def set(self, when: datetime) -> datetime:
        if self._set is not None:
            when = max(when, self.now() + timedelta(milliseconds=1))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(when.astimezone(timezone.utc).isoformat())
        os.replace(tmp, self.path)  # readers never see half a timestamp
        self._set = (when, time.monotonic())
        return when

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)
        self.path.with_name(self.path.name + ".tmp").unlink(missing_ok=True)
        self._set = None


def ceil_grid(t: datetime, step: timedelta = GRID) -> datetime:
    size = int(step.total_seconds())
    return datetime.fromtimestamp(math.ceil(t.timestamp() / size) * size, timezone.utc)


def floor_hour(t: datetime) -> datetime:
    return datetime.fromtimestamp(math.floor(t.timestamp() / 3600) * 3600, timezone.utc)


# ---------------------------------------------------------------------------
# Reference data: the work a dealer does, in the dealer's words


def poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢"
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英",
         "霞", "平", "刚", "桂英", "建华", "志强", "晓东", "海燕", "俊杰", "子涵", "雨萱", "浩然", "欣怡", "文博"]
MODELS = [("Aurora Sedan 1.5T", "A1"), ("Aurora Sedan 2.0T", "A2"), ("Horizon SUV 1.5T", "H1"),
          ("Horizon SUV 2.0T", "H2"), ("Voyager MPV 2.0T", "V2")]
PLATE_PREFIX = {"Shanghai": "沪", "Beijing": "京", "Guangzhou": "粤A", "Chengdu": "川A", "Kunshan": "苏E",
                "Foshan": "粤E"}
PROVINCE = {"Kunshan": "Jiangsu", "Foshan": "Guangdong", "Shanghai": "Shanghai", "Beijing": "Beijing",
            "Guangzhou": "Guangdong", "Chengdu": "Sichuan"}
VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
INSURERS = [("PICC Property and Casualty", "PICC"), ("Ping An Property & Casualty", "PA"),
            ("China Pacific Insurance", "CPIC")]

DEALER_TECHNICIANS = [
    ["maintenance", "tyres", "inspection", "recall", "suspension"],
    ["brakes", "suspension", "tyres", "maintenance", "transmission"],
    ["diagnosis", "electrical", "engine", "transmission", "climate", "recall"],
    ["body", "maintenance", "inspection", "electrical", "climate"],
]
OUTLET_TECHNICIANS = [
    ["maintenance", "brakes", "tyres", "inspection", "recall", "suspension", "body"],
    ["diagnosis", "electrical", "engine", "transmission", "climate", "maintenance", "brakes"],
]
# Opening stock and reorder policy (point, quantity) per part; the big items are ordered when needed.
STOCK = {
    "XB-15400-001": (40, 15, 30), "XB-08880-430": (40, 15, 30), "XB-17220-010": (15, 6, 12),
    "XB-80292-020": (15, 6, 12), "XB-12290-R70": (24, 8, 16), "XB-45022-F10": (8, 3, 6),
    "XB-43022-R10": (6, 2, 4), "XB-45251-D20": (6, 2, 4), "XB-57450-S01": (2, 1, 2),
    "XB-31500-B60": (4, 2, 4), "XB-30520-IC1": (4, 2, 4), "XB-51610-SHF": (2, 2, 2),
    "XB-80000-YF5": (10, 4, 10), "XB-08200-ATF": (24, 12, 24), "XB-42751-T18": (8, 4, 8),
    "XB-39794-FPR": (6, 3, 6), "XB-76622-WPR": (6, 2, 6), "XB-19200-WP1": (1, None, None),
}

VERBATIMS = {
    "reception": ["等了快一个小时才有人接待。", "交车的时候没有讲清楚做了哪些项目。", "预约了还要排队,很失望。",
                  "顾问态度一般,电话也不回。"],
    "parts": ["配件价格比外面贵太多了。", "工时费太高,没有提前说明。", "报价和最后结账的金额不一样。",
              "机油滤芯的价格比去年贵了不少。"],
    "workshop": ["修完以后异响还在。", "车内有油污,没有清洁干净。", "刹车还是有点软,不放心。",
                 "说好下午五点交车,拖到七点。"],
    "store": ["整体体验不太好,下次考虑别的店。", "流程太慢,希望改进。"],
}
RESOLUTIONS = {
    "reception": "Store manager called the customer, apologised; advisor retrained on handover explanation.",
    "parts": "Price list explained; refunded the difference on consumables as goodwill.",
    "workshop": "Car re-inspected by the shop foreman, fault corrected free of charge, road-tested with customer.",
    "store": "Manager visit and apology; 20% voucher for the next maintenance.",
}
MANUAL_COMPLAINTS = [
    ("workshop", "critical", "Customer reports the brake warning light came on the day after the repair; safety concern."),
    ("workshop", "high", "Customer found a scratch on the door after collecting the car."),
    ("reception", "high", "Customer was charged for a diagnosis the advisor said would be free."),
    ("reception", "medium", "Customer waited 40 minutes at check-in despite an appointment."),
]


@dataclass
class Vehicle:
    vin: str
    plate: str
    model: str
    sold_at: date | None
    base_km: int
    km_per_day: float
    customer: dict
    busy_until: date | None = None  # booked or in the workshop until this day
    visits: int = 0
    first_service_done: bool = False

    def mileage(self, day_index: int) -> int:
        return int(self.base_km + self.km_per_day * (day_index + 1))

    def as_payload(self) -> dict:
        payload = {"vin": self.vin, "plate": self.plate, "model": self.model}
        if self.sold_at:
            payload["sold_at"] = self.sold_at.isoformat()
        return payload


def covered(vehicle: Vehicle, category: str, on: date, day_index: int) -> bool:
    """The store's own check before writing a warranty line (HQ's precheck decides)."""
    for plan in reference.warranty_policy()["coverage"]:
        if category in plan["categories"]:
            if plan["months"] is None:
                return True
            if vehicle.mileage(day_index) > plan["km"]:
                return False
            if vehicle.sold_at is None:
                return True  # the store believes it; HQ sees coverage "unknown"
            return (on - vehicle.sold_at).days <= plan["months"] * 30.4
    return False


@dataclass
class Work:
    """What a car comes in for: lines as the advisor writes them."""

    kind: str
    service_type: str
    complaint: str
    lines: list[dict]
    declinable: list[dict] = field(default_factory=list)  # recommended, sometimes declined
    supplement: list[dict] = field(default_factory=list)  # found during the work, phoned in
    supplement_note: str = ""
    warning_lights: list[str] = field(default_factory=list)
    insurance: bool = False
    claim: tuple[str, str, str, str | None] | None = None  # complaint, cause, correction, causal part
    damage: list[dict] = field(default_factory=list)


def labour(op: str, pay: str = "customer") -> dict:
    return {"kind": "labor", "op_code": op, "pay_type": pay}


def part(no: str, qty: int = 1, pay: str = "customer") -> dict:
    return {"kind": "part", "part_no": no, "quantity": str(qty), "pay_type": pay}


def fee(description: str, fen: int, pay: str = "customer", kind: str = "fee") -> dict:
    return {"kind": kind, "description": description, "unit_price_fen": fen, "pay_type": pay}


def choose_work(rng: random.Random, vehicle: Vehicle, on: date, day_index: int) -> Work:
    """A plausible mix: mostly maintenance, then brakes, diagnosis, warranty repairs,
    accident work for insurers, and the odd internal job."""
    young = vehicle.sold_at is not None and (on - vehicle.sold_at).days < 240
    if young and not vehicle.first_service_done and rng.random() < 0.8:
        vehicle.first_service_done = True
        return Work("first_maintenance", "first_maintenance", "First free maintenance (brand-paid)",
                    [labour("MNT-0110", "warranty"), part("XB-15400-001", 1, "internal"),
                     part("XB-08880-430", 1, "internal")],
                    claim=("First maintenance at the brand's charge", "Scheduled first service",
                           "Performed first maintenance inspection and oil change", None))

    def warranty_or_customer(category: str) -> str:
        return "warranty" if covered(vehicle, category, on, day_index) else "customer"

    roll = rng.random()
    if roll < 0.40:
        extra = [labour("MNT-0200"), part("XB-17220-010"), part("XB-80292-020")] if rng.random() < 0.45 else []
        lines = [labour("MNT-0100"), part("XB-15400-001"), part("XB-08880-430")]
        if rng.random() < 0.25:
            lines.append(fee("Waste oil and filter disposal", 1500))
        if extra and rng.random() < 0.08:
            extra = [dict(line, pay_type="goodwill") for line in extra]  # a loyal customer's filters on the house
        work = Work("maintenance", "maintenance", "Periodic maintenance due", lines, declinable=extra)
        if rng.random() < 0.10:
            work.supplement = [labour("BRK-0210"), part("XB-45022-F10")]
            work.supplement_note = "Front pads at 3 mm found at the inspection"
        return work
    if roll < 0.47:
        return Work("spark_plugs", "maintenance", "Rough idle; spark plugs due at this mileage",
                    [labour("MNT-0300"), part("XB-12290-R70", 4)], warning_lights=[])
    if roll < 0.58:
        work = Work("front_brakes", "repair", "Squeal from the front brakes when stopping",
                    [labour("BRK-0210"), part("XB-45022-F10"), fee("Brake cleaner and consumables", 2000)])
        if rng.random() < 0.35:
            work.supplement = [labour("BRK-0310"), part("XB-45251-D20", 2)]
            work.supplement_note = "Front discs scored below minimum thickness"
        return work
    if roll < 0.62:
        return Work("rear_brakes", "repair", "Rear brakes grinding",
                    [labour("BRK-0220"), part("XB-43022-R10")], warning_lights=["brake"])
    if roll < 0.69:
        pay = warranty_or_customer("engine")
        work = Work("check_engine", "diagnosis", "Check engine light on, engine shakes at idle",
                    [labour("DIAG-0100", warranty_or_customer("diagnosis"))], warning_lights=["check_engine"])
        if rng.random() < 0.75:
            work.supplement = [labour("ENG-0700", pay), part("XB-30520-IC1", 1, pay)]
            work.supplement_note = "Misfire cylinder 2: ignition coil open circuit"
            if pay == "warranty":
                work.claim = ("Check engine light, misfire at idle", "Ignition coil cylinder 2 open circuit",
                              "Read codes P0302, replaced ignition coil, cleared codes, road test OK",
                              "XB-30520-IC1")
        return work
    if roll < 0.74:
        pay = warranty_or_customer("electrical")
        return Work("battery", "warranty" if pay == "warranty" else "repair", "Car will not start in the morning",
                    [labour("ELE-0110", pay), part("XB-31500-B60", 1, pay)], warning_lights=["battery"],
                    claim=("No start, battery flat after one night", "Battery internal cell failure (tested 9.8 V under load)",
                           "Replaced 12V battery, tested charging system", "XB-31500-B60") if pay == "warranty" else None)
    if roll < 0.77:
        pay = warranty_or_customer("brakes")
        return Work("abs_sensor", "warranty" if pay == "warranty" else "repair", "ABS warning light on",
                    [labour("BRK-0500", pay), part("XB-57450-S01", 1, pay)], warning_lights=["abs"],
                    claim=("ABS light on", "Front left wheel speed sensor signal lost", "Replaced ABS wheel speed sensor",
                           "XB-57450-S01") if pay == "warranty" else None)
    if roll < 0.80:
        pay = warranty_or_customer("electrical")
        return Work("ecu_update", "warranty" if pay == "warranty" else "repair",
                    "Hesitation when accelerating from standstill",
                    [labour("DIAG-0100", warranty_or_customer("diagnosis")), labour("ELE-0900", pay)],
                    claim=("Hesitation on take-off", "Engine software calibration (service bulletin 2026-03)",
                           "Reprogrammed engine control unit to the latest calibration", None)
                    if pay == "warranty" else None)
    if roll < 0.82:
        return Work("recall", "recall", "Recall campaign 2026-01 letter received",
                    [labour("RCL-2026-01", "warranty"), part("XB-39794-FPR", 1, "warranty")],
                    claim=("Recall campaign 2026-01", "Fuel pump relay from the affected batch",
                           "Replaced fuel pump relay per campaign instructions", "XB-39794-FPR"))
    if roll < 0.84:
        pay = warranty_or_customer("engine")
        return Work("water_pump", "repair", "Coolant leak, temperature warning",
                    [labour("ENG-0620", pay), part("XB-19200-WP1", 1, pay)], warning_lights=["coolant_temperature"],
                    claim=("Coolant loss and overheating warning", "Water pump seal leaking",
                           "Replaced water pump, refilled and bled coolant", "XB-19200-WP1") if pay == "warranty" else None)
    if roll < 0.86:
        pay = warranty_or_customer("suspension")
        return Work("shocks", "repair", "Knocking from the front suspension over bumps",
                    [labour("SUS-0110", pay), part("XB-51610-SHF", 2, pay)],
                    claim=("Front suspension knock", "Both front shock absorbers leaking oil",
                           "Replaced front shock absorbers (pair)", "XB-51610-SHF") if pay == "warranty" else None)
    if roll < 0.875:
        pay = warranty_or_customer("climate")
        return Work("ac_compressor", "repair", "Air conditioning blows warm air",
                    [labour("AC-0230", pay), part("XB-38810-CMP", 1, pay), part("XB-80000-YF5")],
                    claim=("A/C not cooling", "A/C compressor clutch seized", "Replaced A/C compressor, recharged",
                           "XB-38810-CMP") if pay == "warranty" else None)
    if roll < 0.89:
        pay = warranty_or_customer("electrical")
        return Work("alternator", "repair", "Battery light comes on while driving",
                    [labour("ELE-0320", pay), part("XB-31100-A18", 1, pay)], warning_lights=["battery"],
                    claim=("Battery warning while driving", "Alternator regulator failure, output 12.1 V",
                           "Replaced alternator", "XB-31100-A18") if pay == "warranty" else None)
    if roll < 0.895:
        pay = warranty_or_customer("engine")
        return Work("turbo", "repair", "Loss of power, blue smoke under acceleration",
                    [labour("ENG-0810", pay), part("XB-18900-TC1", 1, pay)], warning_lights=["check_engine"],
                    claim=("Loss of power and smoke", "Turbocharger shaft play, oil seal failure",
                           "Replaced turbocharger assembly, changed oil", "XB-18900-TC1") if pay == "warranty" else None)
    if roll < 0.92:
        return Work("ac_recharge", "repair", "A/C not as cold as before",
                    [labour("AC-0110"), part("XB-80000-YF5")])
    if roll < 0.94:
        return Work("tyres", "tyres", "Tyres worn, car pulls to the left",
                    [labour("TYR-0100"), part("XB-42751-T18", 4), labour("SUS-0320")])
    if roll < 0.955:
        return Work("transmission_fluid", "maintenance", "Transmission fluid change due",
                    [labour("TRN-0110"), part("XB-08200-ATF", 6)])
    if roll < 0.975:
        which = rng.random()
        if which < 0.5:
            return Work("bumper", "accident_repair", "Rear-ended at a traffic light; front bumper damaged",
                        [labour("BDY-0200", "insurance"), part("XB-71101-BMP", 1, "insurance")], insurance=True,
                        damage=[{"position": "front_bumper", "kind": "broken", "note": "cracked, clips torn"}])
        if which < 0.8:
            return Work("windshield", "accident_repair", "Stone chip crack across the windshield",
                        [labour("GLS-0100", "insurance"), part("XB-73111-WSD", 1, "insurance"),
                         fee("ADAS camera calibration (sublet)", 30000, "insurance", kind="sublet")], insurance=True,
                        damage=[{"position": "windshield", "kind": "crack", "note": "40 cm"}])
        return Work("panel", "body_paint", "Scratched left rear door in a car park",
                    [labour("BDY-0100")], damage=[{"position": "left_rear_door", "kind": "scratch", "note": "deep"}])
    if roll < 0.985:
        return Work("trade_in_inspection", "inspection", "Trade-in appraisal inspection",
                    [labour("INS-0100", "internal")])
    return Work("clutch", "repair", "Clutch slipping on hills", [labour("TRN-0450"), part("XB-22200-CK1")])


# ---------------------------------------------------------------------------
# A repair order's fate, drawn once so the story does not depend on timing


@dataclass
class Fate:
    decline_extra: bool
    cancel_at_estimate: bool
    qc_fail: bool
    pickup_delay: int  # ticks after ready
    payment: str
    split_payment: bool
    callback: str  # on_time | retry | late | unreachable | declined
    mood: str  # happy | meh | unhappy
    unhappy_with: str
    complaint_late: bool
    follow_up_satisfied: bool
    claim_decision: str  # approve | partial | reject
    claim_resubmit: bool
    claim_submit_days: int
    claim_review_days: int
    comeback_days: int | None
    club_join: bool
    durations: list[float]

    @classmethod
    def draw(cls, rng: random.Random, quality: float) -> "Fate":
        mood_roll = rng.random()
        unhappy = 0.05 + (1 - quality) * 0.3
        return cls(
            decline_extra=rng.random() < 0.15,
            cancel_at_estimate=rng.random() < 0.025,
            qc_fail=rng.random() < 0.06 + (1 - quality) * 0.1,
            pickup_delay=rng.choice([1, 1, 2, 2, 3, 4, 6]),
            payment=rng.choices(["wechat_pay", "alipay", "card", "cash"], [45, 22, 25, 8])[0],
            split_payment=rng.random() < 0.08,
            callback=rng.choices(["on_time", "retry", "late", "unreachable", "declined"], [80, 8, 6, 4, 2])[0],
            mood="unhappy" if mood_roll < unhappy else ("meh" if mood_roll < unhappy + 0.05 else "happy"),
            unhappy_with=rng.choices(["reception", "parts", "workshop"], [35, 30, 35])[0],
            complaint_late=rng.random() < 0.15,
            follow_up_satisfied=rng.random() < 0.85,
            claim_decision=rng.choices(["approve", "partial", "reject"], [78, 14, 8])[0],
            claim_resubmit=rng.random() < 0.5,
            claim_submit_days=rng.choice([1, 1, 2, 3]),
            claim_review_days=rng.choice([1, 2, 2, 3, 4]),
            comeback_days=rng.randint(4, 20) if rng.random() < 0.04 else None,
            club_join=rng.random() < 0.07,
            durations=[rng.uniform(0.8, 1.35) for _ in range(8)],
        )


@dataclass
class Job:
    id: str
    op_code: str
    category: str | None
    flat_hours: float
    index: int
    technician: "Technician | None" = None
    status: str = "pending"
    reworked: bool = False


@dataclass
class Order:
    key: str
    store: "StoreSim"
    vehicle: Vehicle
    work: Work
    fate: Fate
    rng: random.Random
    day_index: int
    advisor: int
    appointment_id: str | None = None
    comeback: bool = False
    roadside: bool = False
    id: str | None = None
    number: str | None = None
    lines: list[dict] = field(default_factory=list)  # as the order last answered
    totals: dict = field(default_factory=dict)
    jobs: dict[str, Job] = field(default_factory=dict)
    reservations: dict[str, str] = field(default_factory=dict)  # id -> status
    supplement_done: bool = False
    dispatched: bool = False
    started: bool = False
    ready_planned: bool = False
    quoted: bool = False
    taking_in: bool = False  # approved; the workshop has not made its jobs yet
    delivered_at: datetime | None = None
    durations_used: int = 0

    @property
    def customer(self) -> dict:
        return self.vehicle.customer

    @property
    def label(self) -> str:
        return self.number or self.key

    def has_warranty(self) -> bool:
        return any(line["pay_type"] == "warranty" for line in self.lines if line["kind"] in ("labor", "part"))

    def backordered(self) -> bool:
        return any(status == "backordered" for status in self.reservations.values())

    def all_done(self) -> bool:
        return (self.dispatched and not self.taking_in and all(j.status == "qc_passed" for j in self.jobs.values())
                and all(s == "issued" for s in self.reservations.values()))

    def next_duration(self) -> float:
        factor = self.fate.durations[self.durations_used % len(self.fate.durations)]
        self.durations_used += 1
        return factor


@dataclass
class Technician:
    id: str
    name: str
    skills: list[str]
    api: Api
    free_at: datetime


# ---------------------------------------------------------------------------
# Actors: HQ and the stores, each with an agenda of things to do at simulated times


Action = Callable[[], Awaitable[Any]]


class Actor:
    name = "actor"

    def __init__(self, demo: "Demo") -> None:
        self.demo = demo
        # tick -> [(lane, step, key, what, seq, action)]
        self.agenda: dict[datetime, list[tuple[str, int, str, str, int, Action]]] = defaultdict(list)
        self.running = False  # this actor has begun the current tick
        self._seq = 0

    def at(self, when: datetime, what: str, action: Action, lane: str = FREE, key: str = "", step: int = 0) -> None:
        """Do `action` at the half hour of `when` (or the next one). Within a lane, actions
        run in the order of `key` (a repair order's key, or a name), never in the order
        they happened to be planned, which may depend on timing."""
        tick = ceil_grid(when)
        current = self.demo.current_tick
        if current is not None:
            tick = max(tick, current)
            if tick == current and self.running:
                tick = current + GRID
        self._seq += 1
        self.agenda[tick].append((lane, step, key, what, self._seq, action))

    def next_time(self) -> datetime | None:
        return min(self.agenda) if self.agenda else None

    async def run_due(self, tick: datetime) -> None:
        self.running = True
        for entry in sorted(self.agenda.pop(tick, []), key=lambda e: (e[2], e[1], e[3], e[4])):
            await self.demo.attempt(f"{self.name}: {entry[3]}", entry[5])


class StoreSim(Actor):
    def __init__(self, demo: "Demo", index: int, spec: dict) -> None:
        super().__init__(demo)
        self.index, self.spec = index, spec
        self.code = self.name = spec["code"]
        self.outlet = spec["kind"] == "partner_outlet"
        self.zone = ZoneInfo(spec.get("timezone") or "Asia/Shanghai")
        seed = demo.config.seed
        self.rng = random.Random(f"{seed}:{self.code}:store")
        # Store quality colours the surveys and audits: one dealer lags behind, as in any group.
        self.quality = 0.72 if (not self.outlet and index == 2) else self.rng.uniform(0.86, 0.97)
        self.rate = demo.config.scale * (OUTLET_ORDERS_PER_DAY if self.outlet else DEALER_ORDERS_PER_DAY)
        self.id: str | None = None
        self.operating = False
        self.keys: dict[str, Api] = {}
        self.principals: dict[str, str] = {}
        self.advisors: list[tuple[Api, str, str]] = []  # api, principal id, name
        self.technicians: list[Technician] = []
        self.vehicles: list[Vehicle] = []
        self.orders: dict[str, Order] = {}
        self.by_reservation: dict[str, Order] = {}
        self.delivered_today: list[Order] = []
        self.delivered_on: dict[date, list[Order]] = defaultdict(list)
        self.to_approve: list[tuple[Order, str]] = []
        self.approving: list[Order] = []  # approved, waiting for the workshop to take them in
        self.approving_parts: set[str] = set()
        self.fetched: list[Order] = []  # taken in by the workshop, to dispatch
        self.intake = asyncio.Lock()
        self.reworks: list[tuple[Order, Job]] = []
        self.order_seq = 0
        self.capacity = 4  # bookings per hour; read from reception when the store opens
        self.booked: Counter = Counter()
        self.http: httpx.AsyncClient | None = None

    # -- a half hour in the store
    async def run_due(self, tick: datetime) -> None:
        self.running = True
        lanes: dict[str, list] = defaultdict(list)
        for entry in self.agenda.pop(tick, []):
            lanes[entry[0]].append(entry)
        await asyncio.gather(*(self.run_lane(lane, entries) for lane, entries in sorted(lanes.items())))
        calls = self.plan_bays()
        await asyncio.gather(self.demo.all(f"{self.code}: assignments", calls), self.send_approvals())
        if self.approving:
            self.at(tick + GRID, "take approved orders in", self.take_in, FREE, "~take-in")

    async def run_lane(self, lane: str, entries: list) -> None:
        entries.sort(key=lambda e: (e[1], e[2], e[3], e[4]))
        if lane == FREE:
            await asyncio.gather(*(self.demo.attempt(f"{self.code}: {e[3]}", e[5]) for e in entries))
        else:
            for entry in entries:
                await self.demo.attempt(f"{self.code}: {entry[3]}", entry[5])

    def plan_bays(self) -> list[Awaitable[Any]]:
        """The foreman's planning, in a fixed order: reworks back into their technicians'
        day, then the orders the workshop has taken in. Answers the assignment calls."""
        reworks, self.reworks = sorted(self.reworks, key=lambda r: (r[0].key, r[1].index)), []
        for order, job in reworks:
            self.schedule_work(order, job, self.demo.current_tick + GRID, 0.4)
        return self.dispatch_fetched()

    def dispatch_fetched(self) -> list[Awaitable[Any]]:
        fetched, self.fetched = sorted(self.fetched, key=lambda o: o.key), []
        calls: list[Awaitable[Any]] = []
        for order in fetched:
            order.taking_in = False
            if order.started:  # a supplement: its jobs join the work under way, its parts are issued
                calls += self.dispatch(order)
                calls.append(self.issue_parts(order))
            elif not order.backordered():
                calls += self.dispatch(order)
            # else the car waits for the part: dispatched when the delivery fills the backorder
        return calls

    # -- who does what. An outlet's own system does everything with its one key; HQ's
    #    customer care centre makes its callbacks, since outlets only read CRM.
    @property
    def manager(self) -> Api:
        return self.keys["outlet_api"] if self.outlet else self.keys["store_manager"]

    @property
    def parts_clerk(self) -> Api:
        return self.keys["outlet_api"] if self.outlet else self.keys["parts_clerk"]

    @property
    def callback_desk(self) -> Api:
        return self.demo.hq_care if self.outlet else self.keys["crm_agent"]

    @property
    def complaint_owner(self) -> tuple[Api, str]:
        if self.outlet:
            return self.demo.hq_care, self.demo.hq_care_id
        return self.keys["store_manager"], self.principals["store_manager"]

    def for_desk(self) -> dict:
        """HQ's care centre names the outlet it acts for; a store's own staff need not."""
        return {"store_id": self.id} if self.outlet else {}

    def advisor_of(self, order: Order) -> Api:
        if self.outlet:
            return self.keys["outlet_api"]
        return self.advisors[order.advisor % len(self.advisors)][0]

    def local(self, day: date, hour: int, minute: int = 0) -> datetime:
        return datetime(day.year, day.month, day.day, hour, minute, tzinfo=self.zone).astimezone(timezone.utc)

    def local_day(self, t: datetime) -> date:
        return t.astimezone(self.zone).date()

    def work_slot(self, t: datetime) -> datetime:
        """The next moment the workshop is open (08:00-19:00)."""
        local = t.astimezone(self.zone)
        if local.hour < 8:
            return self.local(local.date(), 8)
        if local.hour >= 19:
            return self.local(local.date() + timedelta(days=1), 8)
        return t

    # -- the customer base
    def make_vehicles(self, count: int, first_day: date) -> None:
        rng = random.Random(f"{self.demo.config.seed}:{self.code}:vehicles")
        prefix = PLATE_PREFIX.get(self.spec.get("city", ""), "沪")
        customers: list[dict] = []
        seen: set[str] = set()
        for i in range(count):
            if customers and rng.random() < 0.08:
                customer = rng.choice(customers)  # a family with two cars
            else:
                customer = {"name": rng.choice(SURNAMES) + rng.choice(GIVEN),
                            "phone": f"1{rng.choice('3589')}{rng.randint(0, 9)}{self.index:02d}{i:06d}"}
                customers.append(customer)
            model, code = rng.choice(MODELS)
            vin = ""
            while not vin or vin in seen:
                vin = "LXB" + code + "".join(rng.choice(VIN_CHARS) for _ in range(12))
            seen.add(vin)
            letter = "ABCDEFGHJKLMN"[rng.randint(0, 12)] if len(prefix) == 1 else ""
            plate = prefix + letter + "".join(rng.choice("0123456789ABCDEFGHJK") for _ in range(5))
            age_days = rng.choices([rng.randint(20, 250), rng.randint(250, 1100), rng.randint(1100, 2900)],
                                   [25, 45, 30])[0]
            sold_at = first_day - timedelta(days=age_days) if rng.random() > 0.08 else None
            km_per_day = rng.uniform(20, 70)
            base_km = int(age_days * km_per_day * rng.uniform(0.8, 1.2)) + 50
            self.vehicles.append(Vehicle(vin, plate, model, sold_at, base_km, km_per_day, customer,
                                         first_service_done=age_days > 240))

    def pick_vehicle(self, rng: random.Random, day: date) -> Vehicle | None:
        for _ in range(20):
            vehicle = rng.choice(self.vehicles)
            if vehicle.busy_until is None or vehicle.busy_until < day:
                return vehicle
        return None

    def new_order(self, vehicle: Vehicle, day: date, *, work: Work | None = None, key: str | None = None) -> Order:
        if key is None:
            self.order_seq += 1
            key = f"{self.code}:{self.order_seq:06d}"
        rng = random.Random(f"{self.demo.config.seed}:{key}")
        day_index = (day - self.demo.first_day).days
        chosen = work or choose_work(rng, vehicle, day, day_index)
        fate = Fate.draw(rng, self.quality)
        vehicle.busy_until = day + timedelta(days=14)  # until handover
        return Order(key, self, vehicle, chosen, fate, rng, day_index, advisor=rng.randrange(2))

    # -- the day's plan
    def plan_day(self, day_index: int, day: date) -> None:
        if not self.operating:
            return
        seed = self.demo.config.seed
        rng = random.Random(f"{seed}:{self.code}:day:{day_index}")
        rate = self.rate * (1.15 if day.weekday() >= 5 else 1.0)
        # Customers phone in bookings for the coming days; others just drive in.
        for _ in range(poisson(rng, rate * 0.7)):
            self.plan_booking(rng, day, ahead=rng.randint(1, 6))
        for _ in range(poisson(rng, rate * 0.3)):
            vehicle = self.pick_vehicle(rng, day)
            if vehicle:
                order = self.new_order(vehicle, day)
                self.at(self.local(day, rng.randint(8, 15)), "walk-in",
                        lambda o=order: self.check_in(o, walk_in=True), DESK, order.key)
        if rng.random() < min(0.5, 0.06 * self.demo.config.scale * (0.5 if self.outlet else 1)):
            vehicle = self.pick_vehicle(rng, day)
            if vehicle:
                vehicle.busy_until = day + timedelta(days=10)
                r = random.Random(f"{seed}:{self.code}:{day_index}:roadside")
                self.at(self.local(day, rng.randint(7, 20)), "roadside",
                        lambda: self.roadside(vehicle, day, r), FREE, f"roadside:{day_index}")
        if rng.random() < 1 / 35:
            r = random.Random(f"{seed}:{self.code}:{day_index}:complaint")
            self.at(self.local(day, rng.randint(9, 16)), "manual complaint", lambda: self.manual_complaint(r),
                    FREE, f"complaint:{day_index}")
        self.at(self.local(day, 10), "send reminders", self.send_reminders, FREE, "reminders")
        self.at(self.local(day, 17), "reorder parts", lambda: self.reorder(day), DESK, "reorder")
        self.at(self.local(day, 21), "the day's callbacks", self.collect_callbacks, FREE, "callbacks")

    def plan_booking(self, rng: random.Random, day: date, ahead: int) -> None:
        """The advisor keeps the appointment book: an hour with room, the asked-for one or
        the next. Kept here as well as in reception, so bookings need not queue at the desk."""
        on = day + timedelta(days=ahead)
        vehicle = self.pick_vehicle(rng, on)
        hour = rng.choice([8, 9, 9, 10, 10, 11, 13, 14, 14, 15, 15, 16])
        fate = rng.choices(["show", "cancel", "no_show"], [85, 8, 7])[0]
        when = self.local(day, rng.randint(9, 17))
        slots = [self.local(on, 8 + (hour - 8 + offset) % 9) for offset in range(9)]
        slot = next((s for s in slots if self.booked[s] < self.capacity), None)
        if vehicle is None or slot is None:
            return
        self.booked[slot] += 1
        order = self.new_order(vehicle, on)
        self.at(when, "book", lambda: self.book(order, slot, fate), FREE, order.key)

    # -- reception
    async def book(self, order: Order, slot: datetime, fate: str) -> None:
        body = {"customer": order.customer, "vehicle": order.vehicle.as_payload(),
                "service_type": order.work.service_type, "note": order.work.complaint,
                "scheduled_at": slot.isoformat()}
        appointment = await self.advisor_of(order).post("/api/reception/v1/appointments", body)
        self.demo.count("appointments_booked")
        order.appointment_id = appointment["id"]
        on = self.local_day(slot)
        if fate == "cancel":
            self.at(slot - timedelta(hours=16), "cancel appointment", lambda: self.cancel_appointment(order),
                    FREE, order.key)
        elif fate == "no_show":
            self.at(self.local(on, 19), "no-show", lambda: self.no_show(order), FREE, order.key)
        else:
            self.at(slot + order.rng.choice([0, 0, 1]) * HOUR, "check in", lambda: self.check_in(order),
                    DESK, order.key)

    async def cancel_appointment(self, order: Order) -> None:
        await self.advisor_of(order).post(f"/api/reception/v1/appointments/{order.appointment_id}/cancel",
                                          {"reason": "customer rescheduled by phone"})
        order.vehicle.busy_until = None
        self.demo.count("appointments_cancelled")

    async def no_show(self, order: Order) -> None:
        await self.advisor_of(order).post(f"/api/reception/v1/appointments/{order.appointment_id}/no-show")
        order.vehicle.busy_until = None
        self.demo.count("no_shows")

    def inspection(self, order: Order) -> dict:
        rng = order.rng
        damage = list(order.work.damage)
        if rng.random() < 0.2:
            damage.append({"position": rng.choice(["rear_bumper", "left_front_fender", "right_rear_door", "hood"]),
                           "kind": rng.choice(["scratch", "scuff", "chip"]), "note": "pre-existing"})
        return {"fuel_level": rng.choice(["quarter", "half", "half", "three_quarters", "full"]),
                "exterior_damage": damage, "warning_lights": order.work.warning_lights,
                "valuables": rng.choice([[], [], ["sunglasses"], ["dashcam"], ["umbrella"]]),
                "notes": rng.choice(["customer waits in the lounge", "customer will collect", "courtesy car given", ""])}

    def insurance(self, order: Order) -> dict:
        insurer, code = order.rng.choice(INSURERS)
        return {"insurer": insurer, "claim_no": f"{code}{order.rng.randint(10**9, 10**10 - 1)}",
                "policy_no": f"P{order.rng.randint(10**8, 10**9 - 1)}",
                "accident_date": (self.demo.day - timedelta(days=order.rng.randint(1, 5))).isoformat(),
                "surveyor": order.rng.choice(SURNAMES) + "先生"}

    async def check_in(self, order: Order, walk_in: bool = False) -> None:
        """At the desk, one car at a time: the order number is the store's sequence."""
        body: dict[str, Any] = {"mileage_km": order.vehicle.mileage(order.day_index),
                                "complaint": order.work.complaint, "inspection": self.inspection(order)}
        if order.appointment_id:
            body["appointment_id"] = order.appointment_id
        else:
            body.update(customer=order.customer, vehicle=order.vehicle.as_payload())
        if order.work.insurance:
            body["insurance"] = self.insurance(order)
        opened = await self.advisor_of(order).post("/api/reception/v1/repair-orders", body)
        order.id, order.number = opened["id"], opened["number"]
        self.orders[order.id] = order
        order.vehicle.visits += 1
        self.demo.count("orders_opened")
        if order.comeback:
            self.demo.count("comeback_visits")
        elif walk_in:
            self.demo.count("walk_ins")
        self.write_up(order, "in_person")

    async def add_line(self, order: Order, line: dict) -> dict:
        answer = await self.advisor_of(order).post(f"/api/reception/v1/repair-orders/{order.id}/lines", line)
        order.lines, order.totals = answer["lines"], answer["totals"]
        return max(answer["lines"], key=lambda l: l["position"])

    def write_up(self, order: Order, channel: str) -> None:
        """The advisor writes the order up (lines, the estimate) while the half hour goes
        on; the customer says yes at the next half hour."""
        promised = self.work_slot(self.demo.current_tick + timedelta(hours=order.rng.choice([2, 3, 4, 6])))
        quoting = self.demo.background(f"{self.code}: quote {order.label}", lambda: self.quote(order, promised))
        self.at(self.demo.current_tick + GRID, f"approve {order.label}",
                lambda: self.approve_quote(order, quoting, channel), FREE, order.key)

    async def approve_quote(self, order: Order, quoting: asyncio.Future, channel: str) -> None:
        await quoting
        if order.quoted:
            self.approve(order, channel)

    async def quote(self, order: Order, promised: datetime) -> None:
        """Lines, the declined extras, the estimate; or the customer walks away."""
        api = self.advisor_of(order)
        for line in order.work.lines:
            await self.add_line(order, line)
        offered = [(await self.add_line(order, line))["id"] for line in order.work.declinable]
        if offered and order.fate.decline_extra:
            for line_id in offered:
                answer = await api.call("DELETE", f"/api/reception/v1/repair-orders/{order.id}/lines/{line_id}",
                                        expect=(200,))
                order.lines, order.totals = answer["lines"], answer["totals"]
            self.demo.count("lines_declined")
        await api.post(f"/api/reception/v1/repair-orders/{order.id}/estimate", {"promised_at": promised.isoformat()})
        if order.fate.cancel_at_estimate and not order.roadside:
            await api.post(f"/api/reception/v1/repair-orders/{order.id}/cancel",
                           {"reason": "customer wants a second opinion"})
            order.vehicle.busy_until = None
            self.demo.count("orders_cancelled")
            return
        order.quoted = True

    def approve(self, order: Order, channel: str) -> None:
        """The customer's yes, sent in the half hour's second stage."""
        self.to_approve.append((order, channel))

    async def send_approvals(self) -> None:
        """The workshop reserves stock in the order it hears of approvals, so approvals
        asking for the same part go one after the other (the later one once the workshop
        has taken in the earlier); the others go together. The foreman takes the approved
        orders in at the next half hour."""
        batch, self.to_approve = sorted(self.to_approve, key=lambda a: a[0].key), []
        wave: list[tuple[Order, str]] = []
        wave_parts: set[str] = set()
        for order, channel in batch:
            parts = {l["part_no"] for l in order.lines
                     if l["kind"] == "part" and not l.get("approved") and l.get("part_no")}
            if parts & (wave_parts | self.approving_parts):
                await self.post_approvals(wave)
                await self.take_in()
                await self.demo.all(f"{self.code}: assignments", self.dispatch_fetched())
                wave, wave_parts = [], set()
            wave.append((order, channel))
            wave_parts |= parts
        await self.post_approvals(wave)

    async def post_approvals(self, wave: list[tuple[Order, str]]) -> None:
        async def post(order: Order, channel: str) -> None:
            await self.advisor_of(order).post(f"/api/reception/v1/repair-orders/{order.id}/approve",
                                              {"approved_by": order.customer["name"], "channel": channel})
            order.taking_in = True
            self.approving.append(order)
            self.approving_parts.update(l["part_no"] for l in order.lines if l["kind"] == "part" and l.get("part_no"))

        await asyncio.gather(*(self.demo.attempt(f"{self.code}: approve {o.label}", lambda o=o, c=c: post(o, c))
                               for o, c in wave))

    async def take_in(self) -> None:
        """The workshop makes jobs and reservations from reception's approval events. Whoever
        touches stock next (a delivery, the reorder run) waits for this first, so stock goes
        to the orders in the same order every time."""
        async with self.intake:
            orders, self.approving, self.approving_parts = sorted(self.approving, key=lambda o: o.key), [], set()
            views = await asyncio.gather(*(self.workshop_view(o) for o in orders), return_exceptions=True)
            for order, view in zip(orders, views):
                if isinstance(view, BaseException):
                    order.taking_in = False
                    self.demo.failed(f"{self.code}: workshop view of {order.label}", view)
                else:
                    self.learn(order, view)
                    self.fetched.append(order)

    def expected(self, order: Order) -> tuple[int, int]:
        labour_lines = sum(1 for l in order.lines if l["kind"] == "labor")
        part_lines = sum(1 for l in order.lines if l["kind"] == "part" and l.get("part_no") in reference.parts())
        return labour_lines, part_lines

    async def workshop_view(self, order: Order) -> dict:
        jobs, reservations = self.expected(order)

        async def made():
            try:
                view = await self.manager.get(f"/api/workshop/v1/repair-orders/{order.id}")
            except ApiError as exc:
                if exc.status == 404:
                    return None
                raise
            return view if len(view["jobs"]) >= jobs and len(view["reservations"]) >= reservations else None

        return await wait_for(made, self.demo.config.timeout, interval=0.03, what=f"workshop jobs of {order.label}")

    def learn(self, order: Order, view: dict) -> None:
        operations = reference.labor_operations()
        position = {l["id"]: l["position"] for l in order.lines}
        for job in sorted(view["jobs"], key=lambda j: position.get(j["line_id"], 0)):
            if job["id"] not in order.jobs:
                op = operations.get(job["op_code"], {})
                order.jobs[job["id"]] = Job(job["id"], job["op_code"], job.get("category") or op.get("category"),
                                            float(job["flat_rate_hours"]), len(order.jobs))
        for reservation in sorted(view["reservations"], key=lambda r: position.get(r["line_id"], 0)):
            if reservation["id"] not in order.reservations:
                self.by_reservation[reservation["id"]] = order
                if reservation["status"] == "backordered":
                    self.demo.count("backorders")
            order.reservations[reservation["id"]] = reservation["status"]

    def dispatch(self, order: Order) -> list[Awaitable[Any]]:
        """Each waiting job goes to the technician with the skill who is free first; the car
        goes into the bay on the next half hour. Answers the assignment calls to make."""
        now = self.demo.current_tick
        order.dispatched = True
        posts = []
        for job in order.jobs.values():
            if job.technician is not None:
                continue
            able = [t for t in self.technicians if job.category is None or job.category in t.skills] or self.technicians
            tech = min(able, key=lambda t: (max(t.free_at, now), self.technicians.index(t)))
            posts.append(self.manager.post(f"/api/workshop/v1/jobs/{job.id}/assign", {"technician_id": tech.id}))
            job.technician, job.status = tech, "assigned"
            self.schedule_work(order, job, now + GRID, order.next_duration())
        if not order.jobs:
            self.at(now + GRID, f"issue parts {order.label}", lambda: self.issue_parts(order), FREE, order.key)
        return posts

    def schedule_work(self, order: Order, job: Job, earliest: datetime, factor: float) -> None:
        """Clocked time is what the technician really spends, so the clock moves on while
        the job is worked: flat-rate hours, a little faster or slower."""
        tech = job.technician
        ticks = max(1, round(job.flat_hours * factor / TICK_HOURS))
        start = self.work_slot(max(tech.free_at, ceil_grid(earliest)))
        local = start.astimezone(self.zone)
        if local + ticks * GRID > local.replace(hour=19, minute=0):
            start = self.local(local.date() + timedelta(days=1), 8)
        tech.free_at = start + ticks * GRID
        what, bay = f"{job.op_code} ({job.index}) on {order.label}", f"bay:{tech.id}"
        self.at(start, f"start {what}", lambda: self.start_job(order, job), bay, order.key, START)
        self.at(start + ticks * GRID, f"complete {what}", lambda: self.complete_job(order, job), bay, order.key, FINISH)

    async def start_job(self, order: Order, job: Job) -> None:
        await job.technician.api.post(f"/api/workshop/v1/jobs/{job.id}/start")
        job.status = "in_progress"
        if not order.started:
            order.started = True
            await self.issue_parts(order)
            if order.work.supplement and not order.supplement_done:
                # The technician finds more work; the advisor phones the customer.
                order.supplement_done = True
                for line in order.work.supplement:
                    await self.add_line(order, line)
                self.demo.count("supplements")
                self.approve(order, "phone")

    async def complete_job(self, order: Order, job: Job) -> None:
        await job.technician.api.post(f"/api/workshop/v1/jobs/{job.id}/complete",
                                      {"notes": f"{job.op_code} done" + ("; rework" if job.reworked else "")})
        fail = order.fate.qc_fail and not job.reworked and job.index == 0
        await self.manager.post(f"/api/workshop/v1/jobs/{job.id}/qc", {
            "result": "fail" if fail else "pass", "inspector": "Foreman" if self.outlet else f"{self.code} foreman",
            "notes": "torque marks missing, redo" if fail else "checked, road test OK"})
        if fail:
            job.reworked, job.status = True, "rework"
            self.demo.count("qc_failures")
            self.reworks.append((order, job))  # planned with the bays at the end of the stage
            return
        job.status = "qc_passed"
        self.demo.count("jobs_passed")
        self.maybe_ready(order)

    async def issue_parts(self, order: Order) -> None:
        ready = [r for r, status in order.reservations.items() if status == "reserved"]
        await asyncio.gather(*(self.parts_clerk.post(f"/api/workshop/v1/reservations/{r}/issue") for r in ready))
        for reservation_id in ready:
            order.reservations[reservation_id] = "issued"
        self.maybe_ready(order)

    def maybe_ready(self, order: Order) -> None:
        if order.ready_planned or not order.all_done():
            return
        order.ready_planned = True
        pickup = ceil_grid(self.demo.current_tick + order.fate.pickup_delay * GRID, HOUR)
        local = pickup.astimezone(self.zone)
        if local.hour >= 20 or local.hour < 8:
            pickup = self.local(local.date() + timedelta(days=0 if local.hour < 8 else 1),
                                9 + order.fate.pickup_delay % 3)
        self.at(pickup, f"hand over {order.label}", lambda: self.hand_over(order), FREE, order.key)

    async def hand_over(self, order: Order) -> None:
        """The customer pays what the quote said and drives off. Reception hears that the
        car is ready from the workshop's event; if it has not yet, the advisor waits."""
        api = self.advisor_of(order)
        due = order.totals["customer_due_fen"]
        payments = []
        if due > 0 and order.fate.split_payment and due > 20000:
            payments = [{"method": "card", "amount_fen": due // 2, "reference": f"POS {order.rng.randint(100000, 999999)}"},
                        {"method": "wechat_pay", "amount_fen": due - due // 2}]
        elif due > 0:
            payments = [{"method": order.fate.payment, "amount_fen": due}]
        path = f"/api/reception/v1/repair-orders/{order.id}"
        try:
            await api.post(f"{path}/settle", {"payments": payments})
        except ApiError as exc:
            if exc.status != 409:
                raise

            async def ready():
                return (await api.get(path))["status"] == "ready"

            await wait_for(ready, self.demo.config.timeout, interval=0.05, what=f"{order.label} ready")
            await api.post(f"{path}/settle", {"payments": payments})
        advisor_name = "front desk" if self.outlet else self.advisors[order.advisor % len(self.advisors)][2]
        await api.post(f"/api/reception/v1/repair-orders/{order.id}/deliver",
                       {"delivered_by": advisor_name, "explained": True,
                        "notes": "old parts shown to the customer" if order.rng.random() < 0.5 else None})
        order.delivered_at = self.demo.clock.now()
        order.vehicle.busy_until = None
        self.demo.count("orders_delivered")
        self.delivered_today.append(order)
        self.delivered_on[self.demo.day].append(order)
        if order.has_warranty() and order.work.claim:
            self.at(self.local(self.demo.day + timedelta(days=order.fate.claim_submit_days), 11),
                    f"claim {order.label}", lambda: self.submit_claim(order), FREE, order.key)
        if (order.fate.comeback_days and not order.comeback
                and order.work.kind in ("front_brakes", "rear_brakes", "check_engine", "abs_sensor", "shocks")):
            self.plan_comeback(order, self.demo.day + timedelta(days=order.fate.comeback_days))

    def plan_comeback(self, first: Order, on: date) -> None:
        """The same fault again within weeks: the store redoes the job at its own cost."""
        lines = [dict(line, pay_type="internal") for line in first.work.lines if line["kind"] in ("labor", "part")]
        work = Work("comeback", "repair", f"Came back after {first.label}: {first.work.complaint.lower()}", lines,
                    warning_lights=first.work.warning_lights)
        order = self.new_order(first.vehicle, on, work=work, key=f"{first.key}:comeback")
        order.comeback = True
        self.at(self.local(on, order.rng.randint(8, 14)), "comeback", lambda: self.check_in(order, walk_in=True),
                DESK, order.key)

    # -- roadside assistance (24 hours)
    async def roadside(self, vehicle: Vehicle, day: date, rng: random.Random) -> None:
        api = self.keys["outlet_api"] if self.outlet else self.advisors[0][0]
        problem, outcome = rng.choice([
            ("battery flat, car will not start", "repaired_on_site"),
            ("flat tyre on the ring road", "repaired_on_site"),
            ("engine stalled and will not restart", "towed"),
            ("warning lights on, engine in limp mode", "towed"),
            ("locked keys in the car", "referred"),
            ("out of fuel", "customer_cancelled"),
        ])
        request = await api.post("/api/reception/v1/roadside-requests", {
            "customer": vehicle.customer, "vehicle": vehicle.as_payload(),
            "location": {"lat": f"{30.5 + rng.random():.6f}", "lng": f"{120.5 + rng.random():.6f}",
                         "address": rng.choice(["Middle Ring Rd, km 12", "Expressway G2, exit 18", "Century Ave 88",
                                                "Huaxia Rd car park"])},
            "problem": problem, "mileage_km": vehicle.mileage((day - self.demo.first_day).days)})
        self.demo.count("roadside_requests")
        path = f"/api/reception/v1/roadside-requests/{request['id']}"
        key = f"roadside:{request['id']}"
        if outcome in ("referred", "customer_cancelled"):
            notes = "locksmith partner sent" if outcome == "referred" else "customer found fuel nearby"
            await api.post(f"{path}/resolve", {"outcome": outcome, "notes": notes})
            vehicle.busy_until = None
            return
        await api.post(f"{path}/dispatch", {"responder": f"Rescue van {rng.randint(1, 2)}",
                                            "eta_minutes": rng.choice([30, 40, 45, 60])})
        self.at(self.demo.current_tick + rng.choice([1, 1, 2]) * GRID, "roadside arrival",
                lambda: self.roadside_arrive(api, path, vehicle, outcome, day, rng), FREE, key)

    async def roadside_arrive(self, api: Api, path: str, vehicle: Vehicle, outcome: str, day: date,
                              rng: random.Random) -> None:
        await api.post(f"{path}/arrive", {"notes": "customer safe, car on the hard shoulder"})
        if outcome == "repaired_on_site":
            await api.post(f"{path}/resolve", {"outcome": outcome, "notes": "jump-started / wheel changed"})
            vehicle.busy_until = None
            return
        resolved = await api.post(f"{path}/resolve", {"outcome": "towed", "notes": "towed to the store",
                                                       "complaint": "Towed in: engine will not run"})
        self.demo.count("roadside_towed")
        index = (day - self.demo.first_day).days
        diag = "warranty" if covered(vehicle, "diagnosis", day, index) else "customer"
        pay = "warranty" if covered(vehicle, "electrical", day, index) else "customer"
        work = Work("tow_in", "repair", "Towed in: engine will not run",
                    [labour("DIAG-0100", diag), labour("ELE-0110", pay), part("XB-31500-B60", 1, pay)],
                    warning_lights=["check_engine", "battery"],
                    claim=("Vehicle stranded, no start", "Battery internal short circuit",
                           "Towed in, diagnosed, replaced battery", "XB-31500-B60") if pay == "warranty" else None)
        order = self.new_order(vehicle, day, work=work, key=f"{self.code}:roadside:{day.isoformat()}")
        order.roadside = True
        order.id = resolved["repair_order_id"]
        self.orders[order.id] = order
        self.demo.count("orders_opened")
        self.at(self.work_slot(ceil_grid(self.demo.current_tick + GRID, HOUR)), "tow-in", lambda: self.tow_in(order),
                FREE, order.key)

    async def tow_in(self, order: Order) -> None:
        """The towed car's walk-around on arrival, then the usual quote (by phone)."""
        current = await self.advisor_of(order).call(
            "PUT", f"/api/reception/v1/repair-orders/{order.id}/inspection", self.inspection(order), expect=(200,))
        order.number = current["number"]
        self.write_up(order, "phone")

    # -- parts
    async def reorder(self, day: date) -> None:
        await self.take_in()
        suggestions = await self.parts_clerk.get("/api/workshop/v1/reorder-suggestions")
        lines = [{"part_no": s["part_no"], "qty": s["suggested_quantity"]} for s in suggestions["items"]
                 if s["suggested_quantity"] > 0]
        if not lines:
            return
        lines.sort(key=lambda l: l["part_no"])
        po = await self.parts_clerk.post("/api/workshop/v1/purchase-orders",
                                         {"supplier": "brand", "lines": lines, "note": "daily replenishment"})
        self.demo.count("purchase_orders")
        key = f"po:{po['number']}"
        if len(lines) > 1 and random.Random(f"{self.demo.config.seed}:{key}").random() < 0.15:
            half = len(lines) // 2
            self.at(self.local(day + timedelta(days=2), 9), "receive part of a delivery",
                    lambda: self.receive(po, lines[:half], "DN-A"), DESK, key)
            self.at(self.local(day + timedelta(days=3), 9), "receive the rest of a delivery",
                    lambda: self.receive(po, lines[half:], "DN-B"), DESK, key)
        else:
            self.at(self.local(day + timedelta(days=2), 9), "receive delivery",
                    lambda: self.receive(po, lines, "DN"), DESK, key)

    async def receive(self, po: dict, lines: list[dict], ref: str) -> None:
        """A delivery fills backorders first in, first out; their cars can be worked."""
        await self.take_in()
        answer = await self.parts_clerk.post(f"/api/workshop/v1/purchase-orders/{po['id']}/receive",
                                             {"reference": f"{ref}-{po['number']}", "lines": lines})
        self.demo.count("deliveries_received")
        filled = {self.by_reservation[r].key: self.by_reservation[r]
                  for r in answer["receipt"].get("filled_reservations", []) if r in self.by_reservation}
        for _, order in sorted(filled.items()):
            view = await self.manager.get(f"/api/workshop/v1/repair-orders/{order.id}")
            self.learn(order, view)
            if order.backordered():
                continue
            if not order.dispatched:
                await self.demo.all(f"{self.code}: dispatch {order.label}", self.dispatch(order))
            elif order.started:
                await self.issue_parts(order)

    # -- the callback desk
    async def collect_callbacks(self) -> None:
        """Every car handed over today has its callback in CRM; the desk plans the calls."""
        todays, self.delivered_today = sorted(self.delivered_today, key=lambda o: o.key), []
        if not todays:
            return
        wanted = {o.id for o in todays}
        found: dict[str, dict] = {}

        async def all_there():
            cursor = None
            while True:
                page = await self.callback_desk.get("/api/crm/v1/callbacks", status="pending", kind="first",
                                                    limit=200, cursor=cursor, **self.for_desk())
                found.update({c["repair_order_id"]: c for c in page["items"] if c["repair_order_id"] in wanted})
                cursor = page.get("next_cursor")
                if not cursor:
                    return len(found) == len(wanted)

        await wait_for(all_there, self.demo.config.timeout, interval=0.3, what=f"callbacks of {self.code}")
        for order in todays:
            self.plan_call(order, found[order.id])
        for order in todays:
            if order.fate.club_join:
                await self.join_club(order)

    def plan_call(self, order: Order, callback: dict) -> None:
        """Most calls are made before they are due; some customers need a second try,
        some calls slip a day, a few customers are never reached or decline."""
        due = datetime.fromisoformat(callback["due_at"])
        before = floor_hour(due - GRID)
        path = f"/api/crm/v1/callbacks/{callback['id']}"
        plan, key = order.fate.callback, order.key
        if plan == "on_time":
            self.at(before, "callback", lambda: self.call(path, order, []), FREE, key)
        elif plan == "retry":
            self.at(before - 2 * HOUR, "callback (no answer)", lambda: self.call(path, order, ["no_answer"], survey=False),
                    FREE, key)
            self.at(before, "callback (again)", lambda: self.call(path, order, []), FREE, key)
        elif plan == "late":
            self.at(self.local(self.local_day(due) + timedelta(days=1), 10), "late callback",
                    lambda: self.call(path, order, []), FREE, key)
        elif plan == "unreachable":
            day = self.local_day(due)
            self.at(before, "callback (no answer)", lambda: self.call(path, order, ["no_answer"], survey=False), FREE, key)
            self.at(self.local(day, 17), "callback (wrong number?)",
                    lambda: self.call(path, order, ["wrong_number"], survey=False), FREE, key)
            self.at(self.local(day + timedelta(days=1), 11), "callback (third try)",
                    lambda: self.call(path, order, ["no_answer"], survey=False), FREE, key)
        else:
            self.at(before, "callback declined", lambda: self.decline_call(path), FREE, key)

    def answers(self, order: Order, rng: random.Random) -> tuple[dict, str | None]:
        questions = [q for q in reference.survey()["questions"] if not q.get("optional")]
        answers = {q["code"]: rng.choices([5, 4], [70, 30])[0] for q in questions}
        if order.work.kind in ("bumper", "panel", "windshield"):
            answers["paint"] = rng.choices([5, 4, 3], [60, 30, 10])[0]
        if order.fate.mood == "meh":
            answers["overall"] = 3
            answers[rng.choice(["speed", "advisor", "cleanliness"])] = 3
            return answers, rng.choice(["还行吧,一般般。", "等得有点久。", None])
        if order.fate.mood == "unhappy":
            department = order.fate.unhappy_with
            codes = [q["code"] for q in questions if q["department"] == department]
            answers[rng.choice(codes)] = rng.choice([1, 2, 2])
            answers["overall"] = rng.choice([2, 3, 3, 4])
            return answers, rng.choice(VERBATIMS[department])
        return answers, rng.choice([None, None, "服务很好,谢谢!", "很满意,下次还来。", "顾问很专业。"])

    async def call(self, path: str, order: Order, unanswered: list[str], survey: bool = True) -> None:
        desk = self.callback_desk
        for outcome in unanswered:
            answer = await desk.post(f"{path}/attempts", {"outcome": outcome, "note": "will try again"})
            if answer["status"] == "unreachable":
                self.demo.count("callbacks_unreachable")
        if not survey:
            return
        # Reached: the survey records the answered attempt itself.
        answers, verbatim = self.answers(order, random.Random(f"{self.demo.config.seed}:{order.key}:survey"))
        done = await desk.post(f"{path}/survey", {"answers": answers, "verbatim": verbatim})
        self.demo.count("callbacks_completed")
        for complaint_id in done["survey"]["complaints_opened"]:
            self.demo.count("complaints_opened")
            self.handle_complaint(complaint_id, order, f"{order.key}:survey")

    async def decline_call(self, path: str) -> None:
        await self.callback_desk.post(f"{path}/cancel", {"reason": "customer declined the survey"})
        self.demo.count("callbacks_cancelled")

    async def join_club(self, order: Order) -> None:
        """Signed up at handover: the next callback comes after one day."""
        desk = self.callback_desk

        async def on_file():
            page = await desk.get("/api/crm/v1/customers", phone=order.customer["phone"], **self.for_desk())
            return page["items"][0] if page["items"] else None

        customer = await wait_for(on_file, self.demo.config.timeout, what=f"customer {order.customer['phone']}")
        if customer["club_member"]:
            return
        await desk.call("PATCH", f"/api/crm/v1/customers/{customer['id']}",
                        {"club_member": True, "version": customer["version"]}, expect=(200,))
        self.demo.count("club_members")

    # -- complaints: an owner, a resolution, and a second call to hear it is settled
    def handle_complaint(self, complaint_id: str, order: Order | None, key: str) -> None:
        """`key` names the complaint for the story (never its id, which the platform makes)."""
        self.at(ceil_grid(self.demo.current_tick + GRID, HOUR), "assign complaint",
                lambda: self.assign_complaint(complaint_id, order, key), FREE, key)

    async def assign_complaint(self, complaint_id: str, order: Order | None, key: str) -> None:
        api, owner = self.complaint_owner
        complaint = await api.post(f"/api/crm/v1/complaints/{complaint_id}/assign", {"owner": owner})
        key = f"{key}:{complaint['department']}"
        rng = random.Random(f"{self.demo.config.seed}:{key}:complaint")
        late = order.fate.complaint_late if order else rng.random() < 0.2
        due = datetime.fromisoformat(complaint["due_at"])
        # On time: the next day. Late: the day after the deadline, once it was escalated.
        when = (self.local(self.local_day(due) + timedelta(days=1), 11) if late
                else self.local(self.demo.day + timedelta(days=1), rng.choice([10, 11, 14, 16])))
        self.at(when, "resolve complaint", lambda: self.resolve_complaint(complaint, order, rng, key, False), FREE, key)

    async def resolve_complaint(self, complaint: dict, order: Order | None, rng: random.Random, key: str,
                                second: bool) -> None:
        api, _ = self.complaint_owner
        resolved = await api.post(f"/api/crm/v1/complaints/{complaint['id']}/resolve",
                                  {"resolution": RESOLUTIONS.get(complaint["department"], RESOLUTIONS["store"])})
        self.demo.count("complaints_resolved")
        if resolved["status"] == "closed":
            self.demo.count("complaints_closed")
            return
        page = await api.get("/api/crm/v1/callbacks", complaint_id=complaint["id"], status="pending", **self.for_desk())
        follow_up = next((c for c in page["items"] if c["kind"] == "follow_up"), None)
        if follow_up is None:
            return
        satisfied = second or (order.fate.follow_up_satisfied if order else rng.random() < 0.85)
        due = datetime.fromisoformat(follow_up["due_at"])
        self.at(floor_hour(due - GRID), "follow-up call",
                lambda: self.follow_up(follow_up, complaint, order, rng, key, satisfied), FREE, key)

    async def follow_up(self, callback: dict, complaint: dict, order: Order | None, rng: random.Random, key: str,
                        satisfied: bool) -> None:
        desk = self.callback_desk
        overall = rng.choice([4, 5, 5]) if satisfied else rng.choice([2, 3])
        await desk.post(f"/api/crm/v1/callbacks/{callback['id']}/survey",
                        {"answers": {"overall": overall},
                         "verbatim": "问题解决了,谢谢。" if satisfied else "还是没有解决。"})
        self.demo.count("follow_ups_completed")
        if satisfied:
            self.demo.count("complaints_closed")
            return
        # Reopened: the owner takes it up again; the second follow-up finds the customer satisfied.
        api, owner = self.complaint_owner
        current = await api.get(f"/api/crm/v1/complaints/{complaint['id']}")
        if current["status"] == "open":
            await api.post(f"/api/crm/v1/complaints/{complaint['id']}/assign", {"owner": owner})
        self.demo.count("complaints_reopened")
        self.at(self.local(self.demo.day + timedelta(days=1), 15), "resolve reopened complaint",
                lambda: self.resolve_complaint(complaint, order, rng, key, True), FREE, key)

    async def manual_complaint(self, rng: random.Random) -> None:
        """A customer phones in about a recent visit."""
        recent = sorted((o for d, orders in self.delivered_on.items() if (self.demo.day - d).days <= 10
                         for o in orders), key=lambda o: o.key)
        if not recent:
            return
        order = rng.choice(recent)
        department, severity, description = rng.choice(MANUAL_COMPLAINTS)
        api, _ = self.complaint_owner
        complaint = await api.post("/api/crm/v1/complaints", {
            "repair_order_id": order.id, "department": department, "severity": severity,
            "description": f"{description} (order {order.label})", **self.for_desk()})
        self.demo.count("complaints_opened")
        self.demo.count("complaints_phoned_in")
        self.handle_complaint(complaint["id"], None, f"{order.key}:phoned-in:{self.demo.day}")

    async def send_reminders(self) -> None:
        desk = self.callback_desk
        page = await desk.get("/api/crm/v1/reminders", status="pending", limit=200, **self.for_desk())
        for reminder in sorted(page["items"], key=lambda r: r["vin"]):
            channel = random.Random(f"{self.demo.config.seed}:{reminder['vin']}:{reminder['due_on']}").choice(
                ["wechat", "wechat", "sms", "phone"])
            await desk.post(f"/api/crm/v1/reminders/{reminder['id']}/sent", {"channel": channel})
            self.demo.count("reminders_sent")

    # -- warranty
    async def submit_claim(self, order: Order) -> None:
        complaint, cause, correction, causal = order.work.claim
        body = {"repair_order_id": order.id, "complaint": complaint, "cause": cause, "correction": correction,
                "causal_part_no": causal}

        async def submitted():
            try:
                return await self.manager.post("/api/network/v1/claims", body)
            except ApiError as exc:
                if exc.status == 422 and "repair_order_id" in str(exc.body):
                    return None  # network has not yet heard of the order's settlement
                raise

        claim = await wait_for(submitted, self.demo.config.timeout, interval=0.3, what=f"claim of {order.label}")
        self.demo.count("claims_submitted")
        self.demo.hq.review_later(self, order, claim)

    async def resubmit_claim(self, order: Order, claim: dict) -> None:
        answer = await self.manager.post(f"/api/network/v1/claims/{claim['id']}/resubmit", {
            "cause": order.work.claim[1] + "; diagnostic report and photos attached",
            "correction": order.work.claim[2] + " (see attached test sheet)"})
        self.demo.count("claims_resubmitted")
        self.demo.hq.review_later(self, order, answer, resubmitted=True)

    async def confirm_settlement(self, settlement: dict) -> None:
        await self.manager.post(f"/api/network/v1/settlements/{settlement['id']}/confirm")
        self.demo.count("settlements_confirmed")
        hq = self.demo.hq
        hq.at(hq.local(self.demo.day + timedelta(days=5), 15), "pay settlement", lambda: hq.pay(settlement),
              DESK, f"{self.code}:{settlement['period']}")


class HQ(Actor):
    """Brand headquarters: CRM's daily jobs, claim review, monthly settlement, audits and
    the outlets' onboarding. Works after the stores in each half hour, one thing at a time."""

    name = "HQ"

    def __init__(self, demo: "Demo") -> None:
        super().__init__(demo)
        self.zone = demo.zone

    def local(self, day: date, hour: int, minute: int = 0) -> datetime:
        return datetime(day.year, day.month, day.day, hour, minute, tzinfo=self.zone).astimezone(timezone.utc)

    def plan_day(self, day_index: int, day: date) -> None:
        demo = self.demo
        # CRM's daily jobs by hand at the end of each simulated day: the worker's own timer
        # runs on wall time and would skip most of the replayed days.
        self.at(self.local(day, 23), "run CRM's daily jobs", self.run_jobs, DESK, "jobs")
        if day.day == 3 and day_index > 0:
            previous = (day.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
            self.at(self.local(day, 10), "monthly settlements", lambda: self.settle_month(previous), DESK, "settle")
        dealers = [s for s in demo.stores if not s.outlet]
        for i, store in enumerate(dealers):
            if day_index > 0 and day_index == ((i + 1) * demo.config.days) // (len(dealers) + 1):
                self.at(self.local(day, 10), f"audit {store.code}", lambda s=store: self.audit(s), DESK,
                        f"audit:{store.code}")

    async def run_jobs(self) -> None:
        jobs = ("maintenance_reminders", "churn_detection", "complaint_escalation", "weekly_report", "monthly_report")
        await self.demo.all("HQ: CRM jobs", [self.demo.hq_api.post(f"/api/crm/v1/jobs/{job}/run", {}) for job in jobs])

    def review_later(self, store: StoreSim, order: Order, claim: dict, resubmitted: bool = False) -> None:
        when = self.local(self.demo.day + timedelta(days=order.fate.claim_review_days), 14)
        self.at(when, f"review claim of {order.label}", lambda: self.review(store, order, claim, resubmitted), DESK,
                order.key)

    async def review(self, store: StoreSim, order: Order, claim: dict, resubmitted: bool) -> None:
        decision = "approve" if resubmitted else order.fate.claim_decision
        body: dict[str, Any] = {"decision": "approve", "reason_code": None, "note": "documentation complete"}
        line = max(claim["lines"], key=lambda l: l["claimed_fen"])
        if decision == "partial" and line["claimed_fen"] >= 4:
            labour_line = line["kind"] == "labor"
            body = {"decision": "partial", "note": "labour time above the brand's standard" if labour_line
                    else "part price above the reimbursable amount",
                    "lines": [{"line_id": line["line_id"], "approved_fen": line["claimed_fen"] * 3 // 4,
                               "adjustment_code": "A01" if labour_line else "A02"}]}
        elif decision == "reject":
            code = random.Random(f"{self.demo.config.seed}:{order.key}:reject").choice(["R09", "R06", "R08"])
            body = {"decision": "reject", "reason_code": code,
                    "note": {"R09": "damage pattern suggests misuse", "R06": "diagnosis not documented",
                             "R08": "causal part does not match the fault"}[code]}
        decided = await self.demo.hq_api.post(f"/api/network/v1/claims/{claim['id']}/decision", body)
        self.count_decision(decided)
        if decided["status"] == "pending_second_approval":
            self.at(self.local(self.demo.day + timedelta(days=1), 11), f"second approval of {order.label}",
                    lambda: self.second_approval(decided), DESK, order.key)
        elif decided["status"] == "rejected" and not resubmitted and order.fate.claim_resubmit:
            store.at(store.local(self.demo.day + timedelta(days=2), 10), f"resubmit claim of {order.label}",
                     lambda: store.resubmit_claim(order, decided), FREE, order.key)

    def count_decision(self, decided: dict) -> None:
        self.demo.count({"approved": "claims_approved", "partially_approved": "claims_partial",
                         "rejected": "claims_rejected",
                         "pending_second_approval": "claims_to_second_approval"}[decided["status"]])

    async def second_approval(self, claim: dict) -> None:
        """Claims of 10,000 CNY or more need a second pair of eyes."""
        decided = await self.demo.hq_reviewer.post(f"/api/network/v1/claims/{claim['id']}/decision", {
            "decision": "approve", "reason_code": None, "note": "second approval: photos and test sheet checked"})
        self.count_decision(decided)

    async def settle_month(self, period: str) -> None:
        for store in self.demo.stores:
            if store.id is None or not store.operating:
                continue
            try:
                settlement = await self.demo.hq_api.post("/api/network/v1/settlements",
                                                         {"store_id": store.id, "period": period})
            except ApiError as exc:
                if exc.status == 409:
                    continue  # nothing approved and unsettled in that month
                raise
            self.demo.count("settlements_issued")
            store.at(store.local(self.demo.day + timedelta(days=2), 10), "confirm settlement",
                     lambda s=store, st=settlement: s.confirm_settlement(st), FREE, f"settlement:{period}")

    async def pay(self, settlement: dict) -> None:
        await self.demo.hq_api.post(f"/api/network/v1/settlements/{settlement['id']}/pay",
                                    {"reference": f"CMB-{settlement['period'].replace('-', '')}-{settlement['id'][-6:]}"})
        self.demo.count("settlements_paid")

    async def audit(self, store: StoreSim, *, passing: bool = False) -> dict:
        rng = random.Random(f"{self.demo.config.seed}:{store.code}:audit")
        base = 92 if passing else store.quality * 100
        items = [{"code": item["code"], "score": max(40, min(100, round(rng.gauss(base, 5)))),
                  "note": "observed on site"} for item in reference.load("audit_standards")["items"]]
        audit = await self.demo.hq_api.post(f"/api/network/v1/stores/{store.id}/audits",
                                            {"items": items, "note": "service standards audit"})
        self.count_audit(audit)
        if not passing:
            self.at(self.local(self.demo.day + timedelta(days=7), 16), f"close actions of {store.code}",
                    lambda: self.close_actions(store), DESK, f"actions:{store.code}")
        return audit

    def count_audit(self, audit: dict) -> None:
        self.demo.count("audits")

    async def close_actions(self, store: StoreSim) -> None:
        page = await self.demo.hq_api.get(f"/api/network/v1/stores/{store.id}/corrective-actions", status="open")
        for action in page["items"]:
            await self.demo.hq_api.post(f"/api/network/v1/stores/{store.id}/corrective-actions/{action['id']}/close",
                                        {"resolution": "re-checked on site: fixed"})
            self.demo.count("corrective_actions_closed")


# ---------------------------------------------------------------------------
# The demo itself


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
        self.counts: Counter = Counter()
        self.errors: list[str] = []
        self.current_tick: datetime | None = None
        self.day = self.first_day - timedelta(days=1)
        self.hq = HQ(self)
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

    def count(self, what: str, n: int = 1) -> None:
        self.counts[what] += n

    def failed(self, what: str, exc: BaseException) -> None:
        if self.config.strict or not isinstance(exc, (ApiError, TimeoutError, httpx.HTTPError)):
            raise DemoError(f"{self.day} {what}: {exc}") from exc
        self.errors.append(f"{self.day} {what}: {exc}"[:500])

    async def attempt(self, what: str, action: Action) -> None:
        try:
            await action()
        except (ApiError, TimeoutError, httpx.HTTPError) as exc:
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
                progress.set_postfix(day=str(self.day), orders=self.counts["orders_opened"],
                                     delivered=self.counts["orders_delivered"], claims=self.counts["claims_submitted"],
                                     errors=len(self.errors), refresh=False)
            progress.close()
            await asyncio.gather(*self.tasks)
            kpis = await self.reconcile()
        finally:
            for task in self.tasks:
                task.cancel()
            self.clock.clear()
            for client in self.clients:
                await client.aclose()
        return Summary(self.first_day, self.last_day, time.monotonic() - started, self.counts, kpis, self.errors,
                       {s.code: s.id for s in self.stores if s.id}, self.config.url.rstrip("/"))

    async def preflight(self) -> None:
        try:
            await self.hq_api.http.get("/healthz", timeout=5.0)
        except httpx.HTTPError as exc:
            raise DemoError(f"the gateway at {self.config.url} does not answer ({exc!r}); start it with `make run`")
        try:
            existing = await self.hq_api.get("/api/network/v1/stores", limit=200)
        except httpx.HTTPError as exc:
            raise DemoError(f"the gateway at {self.config.url} does not answer ({exc!r})") from exc
        except ApiError as exc:
            if exc.status in (401, 403):
                raise DemoError(f"the gateway refused the HQ key ({exc.status}); pass the key `make run` printed") from exc
            raise DemoError(f"the platform is not ready: {exc}") from exc
        taken = sorted({s["code"] for s in existing["items"]} & {s.code for s in self.stores})
        if taken:
            raise DemoError(f"the platform already has {', '.join(taken)}: the demo fills an empty platform "
                            "(stop it and `make clean`, or choose other stores with --stores)")
        # The platform must follow the clock file, or the replay would land on today.
        self.clock.set(self.hq.local(self.day, 17))

        async def follows():
            return (await self.hq_api.get("/api/network/v1/kpis"))["to"] == self.day.isoformat()

        try:
            await wait_for(follows, 5, interval=0.2, what="the platform to follow the clock file")
        except TimeoutError:
            self.clock.clear()
            raise DemoError(f"the platform does not read its clock from {self.config.clock_file}; start it with "
                            "`make run` (PLATFORM_CLOCK=file:var/demo-clock) or pass that file as --clock-file") from None

    async def setup(self) -> None:
        """The evening before the first day: HQ opens the dealer stores, staffs them and
        stocks their shelves; the outlets apply during the first days."""
        care_id, care_key = await self._issue("hq_admin", None, "HQ customer care centre")
        self.hq_care, self.hq_care_id = self.api(self.hq_api.http, care_key), care_id
        _, reviewer_key = await self._issue("hq_admin", None, "HQ warranty second reviewer")
        self.hq_reviewer = self.api(self.hq_api.http, reviewer_key)
        for store in self.stores:
            store.http = self.client(f"127.0.0.{10 + store.index}")
            store.make_vehicles(max(20, int((60 if store.outlet else 150) * self.config.scale)), self.first_day)
        dealers = [s for s in self.stores if not s.outlet]
        await asyncio.gather(*(self.open_dealer(s) for s in dealers))
        self.count("dealer_stores", len(dealers))
        onboarding_days = max(1, min(6, self.config.days // 10))
        for i, outlet in enumerate(s for s in self.stores if s.outlet):
            self.plan_onboarding(outlet, i, onboarding_days)

    async def _issue(self, role: str, store_id: str | None, label: str) -> tuple[str, str]:
        issued = await self.hq_api.post("/api/network/v1/api-keys", {"role": role, "store_id": store_id, "label": label})
        return issued["id"], issued["key"]

    async def open_dealer(self, store: StoreSim) -> None:
        spec = store.spec
        created = await self.hq_api.post("/api/network/v1/stores", {
            "code": spec["code"], "name": spec["name"], "kind": "dealer_store", "region": spec["region"],
            "city": spec["city"], "timezone": spec.get("timezone") or "Asia/Shanghai"})
        store.id = created["id"]
        rng = random.Random(f"{self.config.seed}:{store.code}:staff")
        for role in ("store_manager", "parts_clerk", "crm_agent"):
            key_id, key = await self._issue(role, store.id, f"{store.code} {role.replace('_', ' ')}")
            store.keys[role], store.principals[role] = self.api(store.http, key), key_id
        for _ in range(2):
            name = rng.choice(SURNAMES) + rng.choice(GIVEN)
            key_id, key = await self._issue("service_advisor", store.id, f"{store.code} advisor {name}")
            store.advisors.append((self.api(store.http, key), key_id, name))
        await self.staff_workshop(store, DEALER_TECHNICIANS, rng)
        await self.stock_shelves(store)
        await self.read_capacity(store)
        store.operating = True
        # Customers who booked in the days before the replay starts.
        pre = random.Random(f"{self.config.seed}:{store.code}:prebook")
        for ahead in range(1, 7):
            for _ in range(poisson(pre, store.rate * 0.7 * (7 - ahead) / 6)):
                store.plan_booking(pre, self.day, ahead)

    async def staff_workshop(self, store: StoreSim, skill_sets: list[list[str]], rng: random.Random) -> None:
        start = self.hq.local(self.first_day, 8)
        for skills in skill_sets:
            name = rng.choice(SURNAMES) + rng.choice(GIVEN)
            if store.outlet:
                api, principal = store.keys["outlet_api"], None
            else:
                principal, key = await self._issue("technician", store.id, f"{store.code} technician {name}")
                api = self.api(store.http, key)
            body = {"name": name, "skills": skills, **({"principal_id": principal} if principal else {})}
            technician = await until_known(lambda: store.manager.post("/api/workshop/v1/technicians", body),
                                            self.config.timeout)
            store.technicians.append(Technician(technician["id"], name, skills, api, start))

    async def stock_shelves(self, store: StoreSim) -> None:
        factor = max(1.0, self.config.scale) * (0.5 if store.outlet else 1.0)
        lines = [{"part_no": p, "qty": max(1, int(q * factor))} for p, (q, _, _) in STOCK.items()]
        await until_known(lambda: store.parts_clerk.post("/api/workshop/v1/stock/receipts", {
            "reference": f"OPENING-{store.code}", "lines": lines}), self.config.timeout)
        for part_no, (_, point, quantity) in STOCK.items():
            if point is not None:
                await store.parts_clerk.call("PUT", f"/api/workshop/v1/stock/{part_no}/reorder-policy", {
                    "reorder_point": max(1, int(point * factor)),
                    "reorder_quantity": max(1, int(quantity * factor))}, expect=(200,))

    async def read_capacity(self, store: StoreSim) -> None:
        """How many bookings an hour the store takes (reception's setting)."""
        api = store.keys["outlet_api"] if store.outlet else store.advisors[0][0]
        answer = await until_known(lambda: api.get("/api/reception/v1/appointments/availability",
                                                    date=self.first_day.isoformat()), self.config.timeout)
        store.capacity = min((slot["capacity"] for slot in answer["slots"]), default=store.capacity)

    def plan_onboarding(self, outlet: StoreSim, i: int, days: int) -> None:
        """An outlet applies through the public form; HQ reviews it, works the checklist
        (the site audit ticks its own item) and activates it; the outlet then sets up."""
        hq, first = self.hq, self.first_day
        review_day = first + timedelta(days=min(1, days - 1))
        active_day = first + timedelta(days=days - 1)
        state: dict[str, Any] = {}
        key = f"onboarding:{outlet.code}"

        async def apply():
            spec = outlet.spec
            rng = random.Random(f"{self.config.seed}:{outlet.code}:application")
            body = {"company_name": spec["name"], "license_no": f"91{rng.randint(10**15, 10**16 - 1)}",
                    "contact": {"name": rng.choice(SURNAMES) + rng.choice(GIVEN),
                                "phone": f"139{rng.randint(10**7, 10**8 - 1)}",
                                "email": f"service@{spec['code'].lower()}.example.cn"},
                    "address": {"province": PROVINCE.get(spec["city"], spec["region"]), "city": spec["city"],
                                "line": f"{rng.randint(1, 300)} Industrial Park Road"},
                    "bays": rng.randint(4, 10), "technicians": rng.randint(5, 12),
                    "certifications": ["ISO 9001", "Class II motor vehicle repair licence"],
                    "requested_services": ["maintenance", "repair", "warranty", "roadside"]}
            response = await outlet.http.post("/api/network/v1/outlet-applications", json=body)
            if response.status_code != 201:
                raise ApiError("POST", "/api/network/v1/outlet-applications", response.status_code, response.text)
            state.update(response.json())
            self.count("outlet_applications")

        async def review():
            reviewed = await self.hq_api.post(f"/api/network/v1/outlet-applications/{state['id']}/review", {
                "decision": "approve", "reason": "meets the network's standards", "store_code": outlet.code,
                "region": outlet.spec["region"], "timezone": outlet.spec.get("timezone") or "Asia/Shanghai"})
            outlet.id = reviewed["store_id"]

        async def tick(item: str):
            await self.hq_api.post(f"/api/network/v1/stores/{outlet.id}/onboarding/{item}/complete", {"note": "checked"})

        async def site_audit():
            await hq.audit(outlet, passing=True)

        async def activate():
            checklist = await self.hq_api.get(f"/api/network/v1/stores/{outlet.id}/onboarding")
            for item in checklist["items"]:
                if not item["done"]:
                    await tick(item["code"])
            await self.hq_api.post(f"/api/network/v1/stores/{outlet.id}/activate")
            key_id, outlet_key = await self._issue("outlet_api", outlet.id, f"{outlet.code} dealer management system")
            outlet.keys["outlet_api"], outlet.principals["outlet_api"] = self.api(outlet.http, outlet_key), key_id
            await self.staff_workshop(outlet, OUTLET_TECHNICIANS, random.Random(f"{self.config.seed}:{outlet.code}:staff"))
            await self.stock_shelves(outlet)
            await self.read_capacity(outlet)
            outlet.operating = True
            self.count("outlets_activated")

        hq.at(hq.local(first, 9 + i), f"{outlet.code} applies", apply, DESK, key)
        hq.at(hq.local(review_day, 14 if days == 1 else 10), f"review {outlet.code}", review, DESK, key)
        others = [c["code"] for c in reference.load("onboarding_checklist")["items"]
                  if c["code"] not in ("qualification_verified", "facility_audit_passed")]
        steps = [("qualification_verified", None), ("facility_audit_passed", site_audit)] + [(c, None) for c in others]
        span = max(0, (active_day - review_day).days)
        for n, (code, action) in enumerate(steps):
            day = review_day + timedelta(days=(n * span) // len(steps))
            hour = 15 + n // 2 if days == 1 else 11 + n % 4
            hq.at(hq.local(day, hour, 30 * (n % 2)), f"{outlet.code} checklist: {code}",
                  action or (lambda c=code: tick(c)), DESK, key)
        hq.at(hq.local(active_day, 18 if days == 1 else 16), f"activate {outlet.code}", activate, DESK, key)

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

        async def caught_up():
            # The counts the demo knows must be there, and the rest (surveys, reservations,
            # comebacks) must have stopped moving: the projections have drained.
            nonlocal answer, previous, delivered
            answer = await self.hq_api.call("GET", "/api/network/v1/kpis", params=params)
            delivered = ours_sum("repair_orders_delivered")
            settled = (delivered == self.counts["orders_delivered"]
                       and ours_sum("claims_submitted") == self.counts["claims_submitted"] and answer == previous)
            previous = answer
            return settled

        try:
            await wait_for(caught_up, self.config.timeout, interval=1.0, what="the KPIs to catch up")
        except TimeoutError:
            self.errors.append(f"KPIs show {delivered} deliveries, the demo made {self.counts['orders_delivered']}")
        # What the services decided on their own: escalations and comebacks.
        self.counts["complaints_escalated"] = await count_all(self.hq_api, "/api/crm/v1/complaints", escalated="true")
        self.counts["comebacks_detected"] = await count_all(self.hq_api, "/api/workshop/v1/comebacks")
        return answer.get("network", {})


async def count_all(api: Api, path: str, **params) -> int:
    total, cursor = 0, None
    while True:
        page = await api.get(path, limit=200, cursor=cursor, **params)
        total += len(page["items"])
        cursor = page.get("next_cursor")
        if not cursor:
            return total




def _progress(enabled: bool, total: int):
    from tqdm import tqdm

    return tqdm(total=total, unit="day", desc="simulating", disable=not enabled, dynamic_ncols=True)


async def run(config: DemoConfig) -> Summary:
    return await Demo(config).run()


def parse_args(argv: list[str] | None = None) -> DemoConfig:
    parser = argparse.ArgumentParser(
        prog="python -m tools.demo",
        description="Fill a running platform (make run) with months of realistic dealer-group activity "
                    "through the gateway, deterministic from a seed.",
        epilog="The platform must read its clock from --clock-file (make run does: PLATFORM_CLOCK=file:var/demo-clock). "
               "See docs/demo.md.")
    parser.add_argument("--url", default=os.environ.get("DEMO_URL", "http://127.0.0.1:8000"),
                        help="the gateway (default %(default)s)")
    parser.add_argument("--key", default=None, help="an hq_admin key (default: env PLATFORM_BOOTSTRAP_KEY)")
    parser.add_argument("--seed", type=int, default=1, help="the story; the same seed tells the same story (default 1)")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="multiplies the volume: orders per store and day, customers, stock (default 1)")
    parser.add_argument("--days", type=int, default=DEFAULT_DAYS, help="how many days to replay (default %(default)s)")
    parser.add_argument("--end", type=date.fromisoformat, default=None,
                        help="last simulated day, YYYY-MM-DD (default yesterday)")
    parser.add_argument("--stores", default=None,
                        help="comma-separated store codes to simulate (default every store of the stores file)")
    parser.add_argument("--stores-file", type=Path, default=None, help="default data/stores.json")
    parser.add_argument("--clock-file", type=Path, default=DEFAULT_CLOCK_FILE,
                        help="the file the platform reads its clock from (default var/demo-clock)")
    parser.add_argument("--strict", action="store_true", help="stop at the first unexpected answer")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    return DemoConfig(url=args.url.rstrip("/"), key=args.key, seed=args.seed, scale=args.scale, days=args.days,
                      end=args.end, stores=args.stores.split(",") if args.stores else None,
                      stores_file=args.stores_file, clock_file=args.clock_file, progress=not args.quiet,
                      strict=args.strict)


def main(argv: list[str] | None = None) -> int:
    config = parse_args(argv)
    try:
        summary = asyncio.run(run(config))
    except DemoError as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("demo: interrupted; the platform is back on real time", file=sys.stderr)
        return 130
    print(summary.text())
    return 1 if summary.errors else 0


if __name__ == "__main__":
    sys.exit(main())
