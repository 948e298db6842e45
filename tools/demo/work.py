"""What a car comes in for: the mix of work a dealer sees, written up as the advisor
writes the lines, and whether the brand's warranty covers it."""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple

from services.common import reference
from tools.demo.fleet import Vehicle


class ClaimStory(NamedTuple):
    """The warranty claim's three Cs and the part that failed."""

    complaint: str
    cause: str
    correction: str
    causal_part_no: str | None


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
    claim: ClaimStory | None = None  # what the store would write in a warranty claim
    damage: list[dict] = field(default_factory=list)
    campaign: str | None = None  # the recall's code, for the work the campaign pays
    claim_kind: str = "warranty"  # the kind of claim the store files for the brand's lines
    pay_type: str = "warranty"  # the brand-paid lines' pay type that kind claims


# The recall HQ publishes at the start of the replay (tools/demo/campaigns.py): the fuel pump
# relay of one production batch, replaced at the brand's cost.
RECALL_OP = "RCL-2026-01"
RECALL_PART = "XB-39794-FPR"


def recall_work(code: str) -> Work:
    """The car listed in the recall comes in for it. With reception's campaign lines the
    advisor adds the campaign's work in one action (pay type `campaign`) and network drafts
    the campaign claim; before that, the lines are written by hand as warranty work, which
    the store does not claim as warranty (precheck R10: recall work is claimed under its campaign)."""
    return Work("recall", "recall", f"Recall {code}: letter received",
                [labour(RECALL_OP, "warranty"), part(RECALL_PART, 1, "warranty")], campaign=code,
                claim_kind="campaign", pay_type="campaign")


def labour(op: str, pay: str = "customer") -> dict:
    return {"kind": "labor", "op_code": op, "pay_type": pay}


def part(no: str, qty: int = 1, pay: str = "customer") -> dict:
    return {"kind": "part", "part_no": no, "quantity": str(qty), "pay_type": pay}


def fee(description: str, fen: int, pay: str = "customer", kind: str = "fee") -> dict:
    return {"kind": kind, "description": description, "unit_price_fen": fen, "pay_type": pay}


def claimed(pay: str, complaint: str, cause: str, correction: str, causal_part_no: str | None) -> ClaimStory | None:
    """The claim the store files when the brand pays the work, else none."""
    return ClaimStory(complaint, cause, correction, causal_part_no) if pay == "warranty" else None


def first_maintenance(claim_kinds: bool) -> Work:
    """The brand's free first service. Where network has claims of every kind it is priced to
    the brand as `first_maintenance` (labour and the oil and filter) and claimed as such;
    before that, the labour went as a warranty claim and the parts on the store."""
    story = ClaimStory("First maintenance at the brand's charge", "Scheduled first service",
                       "Performed first maintenance inspection and oil change", None)
    if claim_kinds:
        pay = "first_maintenance"
        return Work("first_maintenance", "first_maintenance", "First free maintenance (brand-paid)",
                    [labour("MNT-0110", pay), part("XB-15400-001", 1, pay), part("XB-08880-430", 1, pay)],
                    claim=story, claim_kind=pay, pay_type=pay)
    return Work("first_maintenance", "first_maintenance", "First free maintenance (brand-paid)",
                [labour("MNT-0110", "warranty"), part("XB-15400-001", 1, "internal"),
                 part("XB-08880-430", 1, "internal")], claim=story)


def choose_work(rng: random.Random, vehicle: Vehicle, on: date, day_index: int, claim_kinds: bool = False) -> Work:
    """A plausible mix: mostly maintenance, then brakes, diagnosis, warranty repairs,
    accident work for insurers, and the odd internal job."""
    young = vehicle.sold_at is not None and (on - vehicle.sold_at).days < 240
    if young and not vehicle.first_service_done and rng.random() < 0.8:
        vehicle.first_service_done = True
        return first_maintenance(claim_kinds)

    if vehicle.recall_due and rng.random() < 0.5:
        # The owner had the recall letter: the recall is done on this visit.
        code, vehicle.recall_due = vehicle.recall_due, None
        return recall_work(code)

    def warranty_or_customer(category: str) -> str:
        return "warranty" if covered(vehicle, category, on, day_index) else "customer"

    def brand_or_repair(pay: str) -> str:
        return "warranty" if pay == "warranty" else "repair"

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
            work.claim = claimed(pay, "Check engine light, misfire at idle", "Ignition coil cylinder 2 open circuit",
                                 "Read codes P0302, replaced ignition coil, cleared codes, road test OK",
                                 "XB-30520-IC1")
        return work
    if roll < 0.74:
        pay = warranty_or_customer("electrical")
        return Work("battery", brand_or_repair(pay), "Car will not start in the morning",
                    [labour("ELE-0110", pay), part("XB-31500-B60", 1, pay)], warning_lights=["battery"],
                    claim=claimed(pay, "No start, battery flat after one night",
                                  "Battery internal cell failure (tested 9.8 V under load)",
                                  "Replaced 12V battery, tested charging system", "XB-31500-B60"))
    if roll < 0.77:
        pay = warranty_or_customer("brakes")
        return Work("abs_sensor", brand_or_repair(pay), "ABS warning light on",
                    [labour("BRK-0500", pay), part("XB-57450-S01", 1, pay)], warning_lights=["abs"],
                    claim=claimed(pay, "ABS light on", "Front left wheel speed sensor signal lost",
                                  "Replaced ABS wheel speed sensor", "XB-57450-S01"))
    if roll < 0.82:
        pay = warranty_or_customer("electrical")
        return Work("ecu_update", brand_or_repair(pay), "Hesitation when accelerating from standstill",
                    [labour("DIAG-0100", warranty_or_customer("diagnosis")), labour("ELE-0900", pay)],
                    claim=claimed(pay, "Hesitation on take-off",
                                  "Engine software calibration (service bulletin 2026-03)",
                                  "Reprogrammed engine control unit to the latest calibration", None))
    if roll < 0.84:
        pay = warranty_or_customer("engine")
        return Work("water_pump", "repair", "Coolant leak, temperature warning",
                    [labour("ENG-0620", pay), part("XB-19200-WP1", 1, pay)], warning_lights=["coolant_temperature"],
                    claim=claimed(pay, "Coolant loss and overheating warning", "Water pump seal leaking",
                                  "Replaced water pump, refilled and bled coolant", "XB-19200-WP1"))
    if roll < 0.86:
        pay = warranty_or_customer("suspension")
        return Work("shocks", "repair", "Knocking from the front suspension over bumps",
                    [labour("SUS-0110", pay), part("XB-51610-SHF", 2, pay)],
                    claim=claimed(pay, "Front suspension knock", "Both front shock absorbers leaking oil",
                                  "Replaced front shock absorbers (pair)", "XB-51610-SHF"))
    if roll < 0.875:
        pay = warranty_or_customer("climate")
        return Work("ac_compressor", "repair", "Air conditioning blows warm air",
                    [labour("AC-0230", pay), part("XB-38810-CMP", 1, pay), part("XB-80000-YF5")],
                    claim=claimed(pay, "A/C not cooling", "A/C compressor clutch seized",
                                  "Replaced A/C compressor, recharged", "XB-38810-CMP"))
    if roll < 0.89:
        pay = warranty_or_customer("electrical")
        return Work("alternator", "repair", "Battery light comes on while driving",
                    [labour("ELE-0320", pay), part("XB-31100-A18", 1, pay)], warning_lights=["battery"],
                    claim=claimed(pay, "Battery warning while driving", "Alternator regulator failure, output 12.1 V",
                                  "Replaced alternator", "XB-31100-A18"))
    if roll < 0.895:
        pay = warranty_or_customer("engine")
        return Work("turbo", "repair", "Loss of power, blue smoke under acceleration",
                    [labour("ENG-0810", pay), part("XB-18900-TC1", 1, pay)], warning_lights=["check_engine"],
                    claim=claimed(pay, "Loss of power and smoke", "Turbocharger shaft play, oil seal failure",
                                  "Replaced turbocharger assembly, changed oil", "XB-18900-TC1"))
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
