"""The warranty rules as pure functions: rounding, calendar months, cover boundaries, and the
codes and shapes claims store."""
from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

from services.common import reference
from services.common.modeljson import ModelJSON
from services.network.claims import policy
from services.network.claims.codes import AdjustmentCode, CoverStatus, RejectCode
from services.network.repair_orders.schemas import OrderLine
from tests.network.factories import labour, part


def line(data: dict) -> OrderLine:
    return OrderLine.model_validate(data)


def test_labour_is_rounded_once_per_line_half_up_to_whole_fen():
    priced = policy.price_line(line(labour("ELE-0900", "0.12345")), date(2026, 12, 1), date(2026, 1, 1), 1000)
    # 26000 fen/h × 0.12345 h = 3209.7 fen
    assert (priced.paid_hours, priced.claimed_fen) == ("0.12345", 3210)
    assert policy.to_fen(policy.Decimal("2.5")) == 3 and policy.to_fen(policy.Decimal("3.5")) == 4


def test_parts_are_paid_at_dealer_cost_plus_handling_times_quantity():
    priced = policy.price_line(line(part("XB-51610-SHF", 2, 70000)), date(2026, 12, 1), date(2026, 1, 1), 1000)
    assert priced.claimed_fen == 2 * 80500 and priced.findings == []


def test_months_are_calendar_months_ending_on_the_last_day_when_shorter():
    # Sold on a leap day: the 36 months of basic cover end on 28 Feb, three years on.
    cover = policy.coverage("brakes", date(2024, 2, 29), date(2027, 2, 28), 1000)
    assert (cover.status, cover.covered_until) == (CoverStatus.WITHIN, date(2027, 2, 28))
    assert policy.coverage("brakes", date(2024, 2, 29), date(2027, 3, 1), 1000).status == CoverStatus.OUT
    assert policy.coverage("brakes", date(2023, 11, 30), date(2026, 11, 30), 1000).covered_until == date(2026, 11, 30)


def test_cover_ends_on_the_anniversary_day_inclusive_and_at_the_km_limit_inclusive():
    sold = date(2023, 12, 1)
    assert policy.coverage("brakes", sold, date(2026, 12, 1), 100000).status == CoverStatus.WITHIN
    assert policy.coverage("brakes", sold, date(2026, 12, 2), 100000).status == CoverStatus.OUT
    assert policy.coverage("brakes", sold, date(2026, 12, 1), 100001).status == CoverStatus.OUT
    assert policy.coverage("recall", date(2001, 1, 1), date(2026, 12, 1), 900000).status == CoverStatus.WITHIN
    assert policy.coverage("tyres", sold, date(2026, 12, 1), 10).status == CoverStatus.NOT_COVERED


def test_the_deadline_counts_from_the_orders_settlement():
    settled = datetime(2026, 11, 1, 8, tzinfo=UTC)
    kwargs = dict(lines=[], complaint="c", cause="c", correction="c", causal_part_no=None, closed_at=settled)
    on_time = policy.precheck(**kwargs, filed_at=settled + timedelta(days=30), checked_at=settled)
    late = policy.precheck(**kwargs, filed_at=settled + timedelta(days=30, seconds=1), checked_at=settled)
    assert on_time.findings == [] and [f.code for f in late.findings] == [RejectCode.FILED_LATE]


def test_the_codes_are_those_of_the_reason_code_file():
    codes = reference.load("claim_reason_codes")
    assert [c["code"] for c in codes["reject"]] == list(RejectCode)
    assert [c["code"] for c in codes["adjust"]] == list(AdjustmentCode)


def test_a_claim_stores_its_precheck_and_cover_as_the_json_it_always_has():
    settled = datetime(2026, 11, 1, 8, tzinfo=UTC)
    fee = policy.price_line(line({"line_id": "l1", "kind": "fee", "description": "fee", "quantity": "1",
                                  "unit_price_fen": 500, "amount_fen": 500, "pay_type": "warranty"}),
                            date(2026, 11, 1), None, 1000)
    check = policy.precheck(lines=[fee], complaint="c", cause="", correction="c", causal_part_no=None,
                            closed_at=settled, filed_at=settled, checked_at=settled)

    def stored(model, value) -> str:
        return json.dumps(ModelJSON(model).process_bind_param(value, None))

    # Members a line no plan covers does not have stay absent; instants as Python writes them.
    assert stored(policy.Coverage, fee.coverage) == (
        '{"plan": null, "status": "not_covered", "detail": "fee lines are not covered"}')
    assert stored(policy.PrecheckResult, check) == (
        '{"passed": false, "findings": [{"code": "R01", "text": "Operation or part not covered by warranty (wear, '
        'maintenance or accident)", "line_id": "l1", "detail": "a fee line is not reimbursed by warranty", '
        '"proposed_adjustment": "A03"}, {"code": "R06", "text": "Missing documentation: complaint, cause and '
        'correction must all be given", "line_id": null, "detail": "missing: cause", "proposed_adjustment": null}], '
        '"coverage": "not_covered", "checked_at": "2026-11-01T08:00:00+00:00", '
        '"deadline": "2026-12-01T08:00:00+00:00"}')
