"""Money adds up exactly: integer fen, Decimal quantities, one half-up rounding per amount."""
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from services.common.errors import ValidationFailed
from services.common.tables import KnownStore
from services.reception.repair_orders.models import RepairOrderLine
from services.reception.repair_orders.schemas import LineCreate
from services.reception.repair_orders.service import compute_totals, price_line
from services.reception.settings import ReceptionSettings
from services.reception.shared.service import fen
from tests.reception import factories

STORE = KnownStore(id="s1", code="SH-PD-01", name="Pudong", kind="dealer_store", timezone="Asia/Shanghai",
                   status="active", updated_at=datetime(2026, 1, 1, tzinfo=timezone.utc))


def settings(**over) -> ReceptionSettings:
    return ReceptionSettings(**over)


def line(amount_fen: int, pay_type: str) -> RepairOrderLine:
    return RepairOrderLine(amount_fen=amount_fen, pay_type=pay_type)


@pytest.mark.parametrize("amount, expected", [
    (Decimal("0.5"), 1), (Decimal("1.5"), 2), (Decimal("2.5"), 3), (Decimal("2.4999"), 2), (Decimal("4073.85"), 4074),
])
def test_fen_rounds_half_up(amount, expected):
    assert fen(amount) == expected


def test_labour_defaults_to_flat_rate_hours_times_the_store_labour_rate():
    priced = price_line(LineCreate(**factories.labour("BRK-0220")), settings(), STORE, None)
    assert priced["quantity"] == Decimal("1.1") and priced["flat_rate_hours"] == Decimal("1.1")
    assert priced["unit_price_fen"] == 38000
    assert priced["amount_fen"] == 41800
    assert priced["description"] == "Replace rear brake pads"


def test_a_store_with_its_own_labour_rate_prices_labour_at_it():
    priced = price_line(LineCreate(**factories.labour("BRK-0220")),
                        settings(labour_rate_by_store={"SH-PD-01": 42500}), STORE, None)
    assert priced["amount_fen"] == 46750  # 1.1 h x 425.00 CNY


def test_sold_hours_and_price_can_be_overridden_and_round_once_half_up():
    priced = price_line(LineCreate(**factories.labour("DIAG-0100", quantity="0.33", unit_price_fen=12345)),
                        settings(), STORE, None)
    assert priced["amount_fen"] == 4074  # 0.33 x 12345 = 4073.85


def test_parts_are_priced_at_the_catalogue_list_price():
    priced = price_line(LineCreate(**factories.part("XB-12290-R70", quantity="4")), settings(), STORE, None)
    assert (priced["unit_price_fen"], priced["amount_fen"]) == (8500, 34000)


def test_totals_add_every_pay_type_and_charge_vat_on_customer_pay_only():
    lines = [line(4350, "customer"), line(26000, "warranty"), line(100001, "insurance"), line(700, "internal"),
             line(299, "goodwill"), line(30400, "first_maintenance"), line(28000, "campaign")]
    totals = compute_totals(lines, Decimal("0.13"))
    assert totals == {
        "customer_fen": 4350, "warranty_fen": 26000, "insurance_fen": 100001, "internal_fen": 700,
        "goodwill_fen": 299, "first_maintenance_fen": 30400, "campaign_fen": 28000,
        "subtotal_fen": 189750, "tax_fen": 566,  # 565.5 rounds up
        "customer_due_fen": 4916, "vat_rate": "0.13",
    }
    assert all(isinstance(v, int) for k, v in totals.items() if k.endswith("_fen"))


def test_vat_rate_is_configurable():
    assert compute_totals([line(10000, "customer")], Decimal("0.06"))["tax_fen"] == 600


@pytest.mark.parametrize("body, field", [
    (factories.labour("MNT-0100", pay_type="warranty"), "pay_type"),     # maintenance is never warranty
    (factories.part("XB-45022-F10", pay_type="warranty"), "pay_type"),  # brake pads wear out
    ({"kind": "fee", "description": "disposal", "unit_price_fen": 1000, "pay_type": "warranty"}, "pay_type"),
    (factories.labour("NOPE-0000"), "op_code"),
    ({"kind": "labor"}, "op_code"),
    (factories.part("XB-00000-000"), "part_no"),
    (factories.part(quantity="1.5"), "quantity"),
    ({"kind": "sublet", "description": "glass shop"}, "unit_price_fen"),
    ({"kind": "fee", "unit_price_fen": 500}, "description"),
    (factories.labour(pay_type="insurance"), "pay_type"),  # the order has no insurer
])
def test_lines_breaking_a_rule_name_the_wrong_field(body, field):
    with pytest.raises(ValidationFailed) as caught:
        price_line(LineCreate(**body), settings(), STORE, None)
    assert caught.value.extra["errors"][0]["field"] == field


def test_warranty_eligible_operation_and_part_take_warranty_pay():
    for body in (factories.labour("ELE-0110", pay_type="warranty"), factories.part("XB-31500-B60", pay_type="warranty")):
        assert price_line(LineCreate(**body), settings(), STORE, None)["pay_type"] == "warranty"


def test_defaults_are_13_percent_vat_as_decimal_and_the_reference_labour_rate():
    from services.common.reference import warranty_policy

    s = settings()
    assert s.vat_rate == Decimal("0.13") and isinstance(s.vat_rate, Decimal)
    assert s.labour_rate_fen_per_hour == warranty_policy()["customer_labour_rate_fen_per_hour_default"] == 38000
    assert s.appointment_capacity_per_hour == 4 and s.port == 8101
