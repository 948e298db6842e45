"""The pricing and precheck rules of the other kinds of claim (data/claim_kinds.json), as
pure functions, each amount against a hand computation to the fen."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from services.common import reference
from services.network.claims import kinds
from services.network.claims.codes import CoverStatus, KindRejectCode, RejectCode
from services.network.repair_orders.schemas import OrderLine

OIL, FILTER, SENSOR = "XB-08880-430", "XB-15400-001", "XB-57450-S01"  # dealer cost 24000, 2800, 46000 fen


def labour(line_id: str, op_code: str, hours: str, pay_type: str, unit: int = 26000) -> OrderLine:
    return OrderLine(line_id=line_id, kind="labor", op_code=op_code, description=op_code, quantity=hours,
                     unit_price_fen=unit, amount_fen=int(Decimal(hours) * unit), pay_type=pay_type)


def part(line_id: str, part_no: str, quantity: int, unit: int, pay_type: str) -> OrderLine:
    return OrderLine(line_id=line_id, kind="part", part_no=part_no, description=part_no, quantity=str(quantity),
                     unit_price_fen=unit, amount_fen=quantity * unit, pay_type=pay_type)


def first_service() -> list[OrderLine]:
    return [labour("l1", "MNT-0110", "1.0", "first_maintenance"), part("p1", OIL, 1, 38000, "first_maintenance"),
            part("p2", FILTER, 1, 4500, "first_maintenance")]


def test_the_reject_codes_are_those_of_the_claim_kinds_file():
    assert [c["code"] for c in reference.load("claim_kinds")["reject_codes"]] == list(KindRejectCode)
    assert not set(KindRejectCode) & set(RejectCode)


def test_a_shared_amount_adds_up_to_the_fen_the_leftover_going_to_the_largest_remainders():
    # 48000 over 26000 : 38000 : 4500 = 18218.98 / 26627.74 / 3153.28; the 2 fen left go to the first two.
    assert kinds.allocate(48000, [26000, 38000, 4500]) == [18219, 26628, 3153]
    assert kinds.allocate(10, [0, 0, 0]) == [4, 3, 3]
    assert kinds.allocate(0, [5, 5]) == [0, 0] and kinds.allocate(7, []) == []


def test_first_maintenance_of_a_model_family_with_a_flat_amount_is_that_amount_shared_over_its_lines():
    car = kinds.FirstMaintenanceCar(model="Sedan X", delivered_on=date(2026, 7, 1))
    priced, found, pricing = kinds.price_first_maintenance(first_service(), car, date(2026, 12, 9), 4200)
    assert [line.claimed_fen for line in priced] == [18219, 26628, 3153]
    assert sum(line.claimed_fen for line in priced) == 48000 and found == []
    assert pricing == {"rule": "flat", "family": "sedan", "model": "Sedan X", "flat_fen": 48000,
                       "delivered_on": "2026-07-01", "due_on": "2027-01-01", "due_km": 5000}


def test_first_maintenance_of_another_model_is_priced_by_labour_and_parts_and_a_foreign_line_is_r14():
    car = kinds.FirstMaintenanceCar(model="Lavida 1.5L", delivered_on=date(2026, 7, 1))
    lines = [*first_service(), labour("l2", "MNT-0200", "0.3", "first_maintenance")]
    priced, found, pricing = kinds.price_first_maintenance(lines, car, date(2026, 12, 9), 4200)
    # 0.8 h flat rate (1.0 h worked) x 260 CNY; oil 240 CNY x 1.15; filter 28 CNY x 1.15; air filter not the brand's.
    assert [line.claimed_fen for line in priced] == [20800, 27600, 3220, 0]
    assert sum(line.claimed_fen for line in priced) == 51620
    assert [f.code for f in priced[3].findings] == [KindRejectCode.NOT_IN_BRAND_PACKAGE]
    assert pricing["rule"] == "labour_and_parts" and found == []


def test_first_maintenance_past_its_kilometres_or_months_or_without_registration_is_found():
    delivered = date(2026, 7, 1)
    _, by_km, _ = kinds.price_first_maintenance(first_service(), kinds.FirstMaintenanceCar("Sedan X", delivered),
                                                date(2026, 12, 9), 5001)
    _, by_day, _ = kinds.price_first_maintenance(first_service(), kinds.FirstMaintenanceCar("Sedan X", delivered),
                                                 date(2027, 1, 2), 4000)
    on_the_day, none, _ = kinds.price_first_maintenance(
        first_service(), kinds.FirstMaintenanceCar("Sedan X", delivered), date(2027, 1, 1), 5000)
    priced, unregistered, _ = kinds.price_first_maintenance(first_service(), kinds.FirstMaintenanceCar(None, None),
                                                            date(2026, 12, 9), 4000)
    assert [f.code for f in by_km] == [f.code for f in by_day] == [KindRejectCode.FIRST_MAINTENANCE_OUT_OF_WINDOW]
    assert none == [] and on_the_day[0].coverage.status == CoverStatus.WITHIN
    assert [f.code for f in unregistered] == [KindRejectCode.NOT_REGISTERED]
    assert priced[0].coverage.status == CoverStatus.UNKNOWN


def test_a_campaign_pays_its_flat_hours_once_and_its_parts_up_to_its_quantities():
    terms = kinds.CampaignTerms(campaign_id="c1", code="RC-1", op_code="RCL-2026-01", flat_hours=Decimal("0.5"),
                                parts={SENSOR: Decimal(1)})
    lines = [labour("l1", "RCL-2026-01", "0.7", "campaign"), part("p1", SENSOR, 2, 72000, "campaign"),
             part("p2", FILTER, 1, 4500, "campaign"), labour("l2", "RCL-2026-01", "0.2", "campaign")]
    priced, pricing = kinds.price_campaign(lines, terms)
    # 0.5 h x 260 CNY whatever was worked; one sensor at 460 CNY x 1.15; the filter and a second labour line nothing.
    assert [line.claimed_fen for line in priced] == [13000, 52900, 0, 0]
    assert priced[0].paid_hours == "0.5" and priced[1].reimbursable_unit_fen == "52900"
    assert [f.code for line in priced[2:] for f in line.findings] == [KindRejectCode.NOT_IN_BRAND_PACKAGE] * 2
    assert pricing["code"] == "RC-1" and pricing["flat_hours"] == "0.5"


def test_a_pdi_claim_prices_each_fixed_defect_by_its_items_operation():
    defects = [
        {"item_code": "exterior_paint", "description": "scratch on the door", "fixed": True},
        {"item_code": "lights", "description": "left indicator dead", "fixed": False},
        {"item_code": "battery_voltage", "description": "11.9 V", "fixed": True},
        {"item_code": "documents", "description": "warranty booklet missing", "fixed": True},
    ]
    priced, _ = kinds.price_pdi(defects)
    # BDY-0100 3.5 h and ELE-0110 0.4 h at 260 CNY; documents have no operation; the open defect is not claimed.
    assert [(line.line_id, line.op_code, line.claimed_fen) for line in priced] == [
        ("defect-0", "BDY-0100", 91000), ("defect-2", "ELE-0110", 10400), ("defect-3", None, 0)]
    assert [f.code for f in priced[2].findings] == [KindRejectCode.PDI_DEFECT_NOT_PAID]


def test_goodwill_is_the_brands_share_of_the_priced_work_capped_at_the_authorised_limit():
    lines = [labour("l1", "SUS-0110", "2.5", "goodwill"), part("p1", SENSOR, 1, 72000, "goodwill")]
    # Priced: 2.0 h flat x 260 CNY = 52000; 460 x 1.15 = 52900; 104900 in all, the brand's 50 % 52450.
    shared, pricing = kinds.price_goodwill(lines, 100_000, 50)
    assert [line.claimed_fen for line in shared] == [26000, 26450]
    assert (pricing["priced_fen"], pricing["share_fen"], pricing["capped"]) == (104900, 52450, False)
    capped, pricing = kinds.price_goodwill(lines, 40_000, 50)
    # 40000 over 52000 : 52900 = 19828.41 / 20171.59: the one fen left to the second.
    assert [line.claimed_fen for line in capped] == [19828, 20172] and pricing["capped"] is True
    assert not [f for line in capped for f in line.findings]


def test_a_package_kind_needs_no_paperwork_but_is_filed_in_time():
    settled = datetime(2026, 11, 1, 8, tzinfo=UTC)
    priced, _ = kinds.price_pdi([{"item_code": "lights", "description": "x", "fixed": True}])
    args = dict(lines=priced, claim_findings=[], complaint="", cause="", correction="", causal_part_no=None,
                closed_at=settled, checked_at=settled)
    assert kinds.precheck_kind("pdi", **args, filed_at=settled + timedelta(days=30)).passed
    late = kinds.precheck_kind("pdi", **args, filed_at=settled + timedelta(days=31))
    assert [f.code for f in late.findings] == [RejectCode.FILED_LATE]
    goodwill = kinds.precheck_kind("goodwill", **args, filed_at=settled)
    assert [f.code for f in goodwill.findings] == [RejectCode.DOCUMENTATION_MISSING]
