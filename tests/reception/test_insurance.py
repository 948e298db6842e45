"""Insurance repairs (issue 19): the insurer's assessment (定损) comes before work on insurance
lines; at settlement the customer pays the excess and any customer-pay lines, the insurer the
approved amounts less the excess, and the store writes off the cuts; a supplement with
insurance lines goes back to the insurer."""
from __future__ import annotations

from tests.reception import factories

INSURANCE = {"insurer": "中国人保 PICC", "claim_no": "RDAA2026310000042", "accident_date": "2026-11-30"}
# 2 h × 600.00 CNY of bodywork and a 450.00 CNY bumper, both the insurer's; 300.00 CNY of
# brake work the customer asked for on the side.
BODY = factories.labour("BDY-0200", quantity="2", unit_price_fen=60_000, pay_type="insurance")
BUMPER = factories.part("XB-45022-F10", quantity="1", unit_price_fen=45_000, pay_type="insurance")
BRAKES = factories.labour("BRK-0210", quantity="1", unit_price_fen=30_000)
ASSESSOR = {"name": "孙立 Sun Li", "phone": "13800138000"}


async def insurance_order(reception, lines: list[dict]) -> dict:
    order = await reception.open_order(insurance=INSURANCE)
    for line in lines:
        order = await reception.add_line(order, line)
    return await reception.act(order, "estimate")


def ids(order: dict) -> dict[str, str]:
    """Line ids by op code or part number."""
    return {line["op_code"] or line["part_no"]: line["id"] for line in order["lines"]}


def assessment(order: dict, approved: dict[str, int], excess_fen: int, **over) -> dict:
    lines = [{"line_id": ids(order)[code], "approved_fen": fen} for code, fen in approved.items()]
    return {"insurer": INSURANCE["insurer"], "claim_no": INSURANCE["claim_no"], "assessor": ASSESSOR,
            "lines": lines, "approved_total_fen": sum(approved.values()), "excess_fen": excess_fen, **over}


async def assess(reception, order: dict, body: dict, if_match: int | None = None):
    headers = {"If-Match": f'"{if_match}"'} if if_match is not None else None
    return await reception.advisor.client.put(f"/v1/repair-orders/{order['id']}/assessment", json=body,
                                              headers=reception.advisor._headers(headers))


async def approve(reception, order: dict):
    return await reception.advisor.post(f"/v1/repair-orders/{order['id']}/approve",
                                        json={"approved_by": "张伟 Zhang Wei", "channel": "in_person"})


async def test_work_on_insurance_lines_waits_for_the_insurers_assessment(reception):
    order = await insurance_order(reception, [BODY, BUMPER])

    refused = await approve(reception, order)

    assert refused.status_code == 409, refused.text
    assert refused.json()["rule"] == "insurance_assessment_required"
    assert sorted(refused.json()["line_ids"]) == sorted(ids(order).values())
    r = await assess(reception, order, assessment(order, {"BDY-0200": 120_000, "XB-45022-F10": 45_000}, 0))
    assert r.status_code == 200, r.text
    assert r.json()["insurance_assessment"]["round"] == 1
    assert r.json()["insurance_assessment"]["assessor"] == ASSESSOR
    assert (await approve(reception, r.json())).status_code == 200


async def test_the_split_at_settlement_to_the_fen(reception):
    order = await insurance_order(reception, [BODY, BUMPER, BRAKES])
    # The assessor cuts the bodywork from 1,200.00 to 1,000.00 CNY; the policy's excess is 20.00 CNY.
    r = await assess(reception, order, assessment(order, {"BDY-0200": 100_000, "XB-45022-F10": 45_000}, 2_000))
    assert r.status_code == 200, r.text
    order = r.json()
    view = order["insurance_assessment"]
    assert [(line["amount_fen"], line["approved_fen"], line["cut_fen"]) for line in view["lines"]] == [
        (120_000, 100_000, 20_000), (45_000, 45_000, 0)]
    assert view["approved_total_fen"] == 145_000 and view["insurer_due_fen"] == 143_000
    assert view["write_off_fen"] == 20_000
    # The customer: 300.00 of brakes, 13 % VAT on them (39.00), and the 20.00 excess.
    assert order["totals"]["customer_due_fen"] == 30_000 + 3_900 + 2_000
    assert order["insurer_due_fen"] == order["totals"]["insurer_due_fen"] == 143_000
    assert (await approve(reception, order)).status_code == 200
    reception.clock.advance(minutes=30)
    await reception.deliver(factories.work_started(order, reception.clock.now()))
    reception.clock.advance(hours=2)
    await reception.deliver(factories.ready(order, reception.clock.now()))
    ready = await reception.get_order(order)

    settled = await reception.settle(ready)

    payers = {p["payer"]: p for p in settled["invoice"]["payers"]}
    assert payers["customer"]["total_fen"] == 35_900 and payers["customer"]["excess_fen"] == 2_000
    assert payers["customer"]["tax_fen"] == 3_900
    assert payers["insurer"]["total_fen"] == 143_000 and payers["insurer"]["claim_no"] == INSURANCE["claim_no"]
    assert payers["insurer"]["write_off_fen"] == 20_000
    # Every fen of the lines is someone's: paid by the customer or the insurer, or written off.
    assert (payers["customer"]["amount_fen"] + payers["insurer"]["amount_fen"] + payers["insurer"]["write_off_fen"]
            == settled["totals"]["subtotal_fen"])
    assert sum(p["amount_fen"] for p in settled["invoice"]["payments"]) == 35_900


async def test_a_supplement_with_insurance_lines_is_assessed_again(reception):
    order = await insurance_order(reception, [BODY])
    order = (await assess(reception, order, assessment(order, {"BDY-0200": 110_000}, 1_000))).json()
    assert (await approve(reception, order)).status_code == 200
    order = await reception.get_order(order)
    order = await reception.add_line(order, BUMPER)
    assert order["insurance_assessment"]["waiting_line_ids"] == [ids(order)["XB-45022-F10"]]

    refused = await approve(reception, order)
    assert refused.status_code == 409 and refused.json()["rule"] == "insurance_assessment_required"
    assert refused.json()["line_ids"] == [ids(order)["XB-45022-F10"]]
    again = assessment(order, {"BDY-0200": 110_000, "XB-45022-F10": 40_000}, 1_000)
    unversioned = await assess(reception, order, again)
    assert unversioned.status_code == 428, unversioned.text
    stale = await assess(reception, order, again, if_match=order["version"] - 1)
    assert stale.status_code == 412, stale.text
    r = await assess(reception, order, again, if_match=order["version"])
    assert r.status_code == 200, r.text

    order = r.json()
    assert order["insurance_assessment"]["round"] == 2 and order["insurance_assessment"]["waiting_line_ids"] == []
    assert order["insurer_due_fen"] == 110_000 + 40_000 - 1_000
    assert order["totals"]["insurance_write_off_fen"] == 10_000 + 5_000
    assert (await approve(reception, order)).status_code == 200


async def test_bad_assessments_are_refused_naming_the_field(reception):
    order = await insurance_order(reception, [BODY, BUMPER, BRAKES])
    line = ids(order)
    good = assessment(order, {"BDY-0200": 100_000, "XB-45022-F10": 45_000}, 2_000)
    cases = [
        ({**good, "lines": [{"line_id": line["BDY-0200"], "approved_fen": 120_001}, good["lines"][1]]},
         "lines.0.approved_fen"),
        ({**good, "lines": [good["lines"][0], {"line_id": line["BRK-0210"], "approved_fen": 1}]}, "lines.1.line_id"),
        ({**good, "lines": [good["lines"][0], good["lines"][0]]}, "lines.1.line_id"),
        ({**good, "lines": good["lines"][:1], "approved_total_fen": 100_000}, "lines"),
        ({**good, "approved_total_fen": 145_001}, "approved_total_fen"),
        ({**good, "excess_fen": 145_001}, "excess_fen"),
        ({**good, "excess_fen": -1}, "excess_fen"),
        ({**good, "assessor": {"name": "孙立 Sun Li", "phone": "not a phone"}}, "assessor.phone"),
        ({**good, "insurer": ""}, "insurer"),
    ]
    for body, field in cases:
        r = await assess(reception, order, body)
        assert r.status_code == 422, (field, r.text)
        assert field in [e["field"] for e in r.json()["errors"]], (field, r.json())
    assert (await reception.get_order(order))["insurance_assessment"] is None
