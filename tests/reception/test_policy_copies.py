"""Reception prices repair orders by the brand's labour operations and parts prices as
network publishes them: a line on an order opened on or after a version's effective day
(China's calendar) is priced by that version, an older order by the one before; parts of a
version come in any order and twice, and a version waits for its predecessor."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from services.common import policy_copies as copies
from tests.reception import factories
from tests.support.policy_versions import labour_with, version_events

LABOUR, PARTS = copies.LABOUR_OPERATIONS, copies.PARTS_PRICES


def labour_v2(hours: float) -> dict:
    return labour_with("BRK-0210", hours)


def parts_v2(price_fen: int, extra: int = 0) -> dict:
    body = copies.version_one(PARTS)
    next(p for p in body["parts"] if p["part_no"] == "XB-45022-F10")["list_price_fen"] = price_fen
    body["parts"] += [{"part_no": f"XB-NEW-{n:05d}", "name": f"part {n}", "category": "repair",
                       "list_price_fen": 1000 + n, "dealer_cost_fen": 600, "warranty_eligible": False}
                      for n in range(extra)]
    return body


async def copies_table(reception) -> list[tuple]:
    async with reception.app.state.db.transaction() as session:
        rows = (await session.exec(sa.text(
            "SELECT name, version, effective_from, change_count, parts, complete, document IS NOT NULL "
            "FROM policy_copies ORDER BY name, version"))).all()
        waiting = (await session.exec(sa.text("SELECT count(*) FROM policy_copy_parts"))).one()
    return [tuple(r) for r in rows] + [("parts waiting", waiting[0])]


def priced(order: dict) -> dict[str, tuple[str | None, int]]:
    return {(line["op_code"] if line["kind"] == "labor" else line["part_no"]): (
        line["flat_rate_hours"], line["unit_price_fen"]) for line in order["lines"]}


async def test_an_order_opened_from_the_effective_day_is_priced_by_the_new_version(reception):
    # Today is 1 December in Shanghai; the new hours and price take effect on the 3rd.
    before = await reception.open_order()
    for event in version_events(LABOUR, 2, date(2026, 12, 3), copies.version_one(LABOUR), labour_v2(2.5)):
        assert await reception.deliver(event) == "applied"
    for event in version_events(PARTS, 2, date(2026, 12, 3), copies.version_one(PARTS), parts_v2(77700)):
        assert await reception.deliver(event) == "applied"
    # 17:00 UTC on 2 December is 01:00 on the 3rd in Shanghai: the brand's day, not UTC's, decides.
    reception.clock.advance(days=1, hours=16)
    on_the_day = await reception.open_order()
    for order in (before, on_the_day):
        await reception.add_line(order, factories.labour("BRK-0210"))
        await reception.add_line(order, factories.part("XB-45022-F10"))
    # The older order's lines, added after the new version took effect, keep its opening day's prices.
    rate = (await reception.get_order(before))["lines"][0]["unit_price_fen"]
    v1_hours = str(copies.first_catalogue().flat_rate_hours("BRK-0210"))
    v1_price = copies.first_catalogue().parts["XB-45022-F10"]["list_price_fen"]
    assert priced(await reception.get_order(before)) == {"BRK-0210": (v1_hours, rate),
                                                         "XB-45022-F10": (None, v1_price)}
    assert priced(await reception.get_order(on_the_day)) == {"BRK-0210": ("2.5", rate),
                                                             "XB-45022-F10": (None, 77700)}


async def test_a_450_change_version_comes_in_three_parts_and_is_applied_whole(reception):
    after = parts_v2(88800, extra=449)
    events = version_events(PARTS, 2, date(2026, 12, 1), copies.version_one(PARTS), after)
    assert [len(e.data["changes"]) for e in events] == [200, 200, 50]
    # Out of order, the announcement last, and every part twice (a redelivery under a new id).
    for event in [events[2], events[1], events[1].model_copy(update={"id": "again-1"}), events[0]]:
        assert await reception.deliver(event) == "applied"
    assert (await copies_table(reception))[-2:] == [(PARTS, 2, date(2026, 12, 1), 450, 3, True, True),
                                                    ("parts waiting", 0)]
    for event in events:
        assert await reception.deliver(event) == "duplicate"
        assert await reception.deliver(event.model_copy(update={"id": f"again-{event.id}"})) == "applied"
    assert (await copies_table(reception))[-2:] == [(PARTS, 2, date(2026, 12, 1), 450, 3, True, True),
                                                    ("parts waiting", 0)]
    async with reception.app.state.db.transaction() as session:
        document = (await session.exec(sa.text(
            "SELECT document FROM policy_copies WHERE name = 'parts_prices' AND version = 2"))).one()[0]
    assert copies.parts_by_number(document) == copies.parts_by_number(after)
    order = await reception.open_order()
    await reception.add_line(order, factories.part("XB-NEW-00448"))
    assert priced(await reception.get_order(order)) == {"XB-NEW-00448": (None, 1448)}


async def test_a_version_that_overtakes_its_predecessor_waits_for_it(reception):
    first, second, third = copies.version_one(LABOUR), labour_v2(2.5), labour_v2(3.0)
    v2 = version_events(LABOUR, 2, date(2026, 11, 30), first, second)
    v3 = version_events(LABOUR, 3, date(2026, 12, 1), second, third)
    assert await reception.deliver(v3[0]) == "applied"
    assert [row for row in await copies_table(reception) if row[0] in (LABOUR, "parts waiting")] == [
        (LABOUR, 1, date(1970, 1, 1), 0, 1, True, True), (LABOUR, 3, date(2026, 12, 1), 1, 1, False, False),
        ("parts waiting", 1)]
    order = await reception.open_order()
    await reception.add_line(order, factories.labour("BRK-0210"))  # version 1 still: 3 cannot be built yet

    assert await reception.deliver(v2[0]) == "applied"
    assert [row for row in await copies_table(reception) if row[0] in (LABOUR, "parts waiting")] == [
        (LABOUR, 1, date(1970, 1, 1), 0, 1, True, True), (LABOUR, 2, date(2026, 11, 30), 1, 1, True, True),
        (LABOUR, 3, date(2026, 12, 1), 1, 1, True, True), ("parts waiting", 0)]
    await reception.add_line(order, factories.labour("BRK-0210"))
    assert [line["flat_rate_hours"] for line in (await reception.get_order(order))["lines"]] == [
        str(copies.first_catalogue().flat_rate_hours("BRK-0210")), "3.0"]


async def test_versions_of_policies_reception_does_not_price_by_are_not_kept(reception):
    event = version_events("audit_standards", 2, date(2026, 12, 1), {"pass_mark": 80}, {"pass_mark": 85})[0]
    before = await copies_table(reception)
    assert await reception.deliver(event) == "applied"
    assert await copies_table(reception) == before
