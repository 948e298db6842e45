"""Extra work found after approval (issue 17): each supplement line added announces the
round waiting for the customer's yes (reception.repair_order.extra_work_proposed), once,
with every line of the round and its amount; lines before approval announce nothing."""
from __future__ import annotations

from tests.reception import factories

EXTRA = "reception.repair_order.extra_work_proposed"


async def test_lines_of_the_estimate_announce_no_extra_work(reception):
    await reception.approved_order()
    assert await reception.outbox(EXTRA) == []


async def test_a_supplement_line_announces_the_extra_work_once(reception):
    order = await reception.approved_order()
    supplemented = await reception.add_line(order, factories.part("XB-45022-F10"))
    (line,) = [line for line in supplemented["lines"] if line["supplement"]]

    (event,) = await reception.outbox(EXTRA)

    data = event["data"]
    assert event["subject"] == order["id"]
    assert data["repair_order_id"] == order["id"] and data["number"] == order["number"]
    assert data["estimate_version"] == 2
    assert [x["line_id"] for x in data["lines"]] == [line["id"]]
    assert data["amount_fen"] == line["amount_fen"] == data["customer_fen"]
    assert data["customer_due_fen"] == supplemented["totals"]["customer_due_fen"]
    assert data["customer"]["phone"] == order["customer"]["phone"]


async def test_a_second_line_of_the_round_announces_both_and_their_sum(reception):
    order = await reception.approved_order()
    first = await reception.add_line(order, factories.part("XB-45022-F10"))
    second = await reception.add_line(first, factories.labour("BRK-0210"))
    waiting = [line for line in second["lines"] if line["supplement"]]

    announced = await reception.outbox(EXTRA)

    assert len(announced) == 2
    last = announced[-1]["data"]
    assert sorted(x["line_id"] for x in last["lines"]) == sorted(line["id"] for line in waiting)
    assert last["amount_fen"] == sum(line["amount_fen"] for line in waiting)
    assert {e["data"]["estimate_version"] for e in announced} == {2}
