"""What a store keeps track of: its staff, its repair orders and their jobs."""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, NamedTuple

from tools.client import Api
from tools.demo.fate import Fate
from tools.demo.fleet import Customer, Vehicle
from tools.demo.work import Work

if TYPE_CHECKING:
    from tools.demo.accounts import FleetAccount


class Advisor(NamedTuple):
    api: Api
    principal_id: str
    name: str


class ComplaintOwner(NamedTuple):
    api: Api
    principal_id: str


@dataclass
class Technician:
    id: str
    name: str
    skills: list[str]
    api: Api
    free_at: datetime  # when the bay is next free, as the foreman plans it


class JobStatus(StrEnum):
    PENDING = "pending"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    REWORK = "rework"
    QC_PASSED = "qc_passed"


@dataclass
class Job:
    id: str
    op_code: str
    category: str | None
    flat_hours: float
    index: int  # its place on the order
    technician: Technician | None = None
    status: JobStatus = JobStatus.PENDING
    reworked: bool = False


@dataclass
class Order:
    key: str  # the story's name for the order: the store's code and sequence, never the platform's id
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
    fleet: FleetAccount | None = None  # a fleet's car: priced by its contract, settled on account
    sublet_held: bool = False  # the vendor's invoice comes in above the agreed price
    sublet_orders: dict[str, dict] = field(default_factory=dict)  # by the order's sublet line id

    @property
    def customer(self) -> Customer:
        return self.vehicle.customer

    @property
    def label(self) -> str:
        return self.number or self.key

    def has_warranty(self) -> bool:
        """Lines the store claims from the brand under the work's claim kind (warranty, first maintenance)."""
        return any(line["pay_type"] == self.work.pay_type for line in self.lines if line["kind"] in ("labor", "part"))

    def backordered(self) -> bool:
        return any(status == "backordered" for status in self.reservations.values())

    def all_done(self) -> bool:
        return (self.dispatched and not self.taking_in
                and all(j.status == JobStatus.QC_PASSED for j in self.jobs.values())
                and all(s == "issued" for s in self.reservations.values()))

    def next_duration(self) -> float:
        factor = self.fate.durations[self.durations_used % len(self.fate.durations)]
        self.durations_used += 1
        return factor


class Approval(NamedTuple):
    order: Order
    channel: str  # how the customer said yes: in_person, phone


class Rework(NamedTuple):
    order: Order
    job: Job
