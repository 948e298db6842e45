"""The workshop gives a job from a labour line sold without hours the brand's flat hours in
force on its order's opening day (China's calendar), from its copy of network's labour
operations versions; a version's events given twice change nothing twice."""
from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from services.common import policy_copies as copies
from tests.support.policy_versions import labour_with, version_events
from tests.workshop import factories as f

LABOUR = copies.LABOUR_OPERATIONS


async def copies_table(shop) -> list[tuple]:
    async with shop.app.state.db.transaction() as session:
        rows = (await session.exec(sa.text(
            "SELECT name, version, effective_from, complete, document IS NOT NULL FROM policy_copies "
            "ORDER BY name, version"))).all()
        waiting = (await session.exec(sa.text("SELECT count(*) FROM policy_copy_parts"))).one()
    return [tuple(r) for r in rows] + [("parts waiting", waiting[0])]


async def job_hours(shop, opened_at) -> str:
    opened = f.opened(shop.store_id, opened_at=opened_at)
    assert await shop.deliver(opened) == "applied"
    approval = f.approved(shop.store_id, [f.labor("BRK-0210")], repair_order_id=opened.subject,
                          approved_at=shop.clock.now())
    assert await shop.deliver(approval) == "applied"
    (job,) = await shop.jobs_of(opened.subject)
    return job["flat_rate_hours"]


async def test_a_job_sold_without_hours_takes_the_flat_hours_in_force_on_its_opening_day(shop):
    # The shop's day is 2 March; the new hours take effect on the 3rd, China's calendar.
    for event in version_events(LABOUR, 2, date(2026, 3, 3), copies.version_one(LABOUR), labour_with("BRK-0210", 2.5)):
        assert await shop.deliver(event) == "applied"
    before = await job_hours(shop, shop.clock.now())
    on_the_day = await job_hours(shop, shop.clock.now() + timedelta(hours=16))  # 01:00 on the 3rd in Shanghai
    assert copies.first_catalogue().flat_rate_hours("BRK-0210") == 1
    assert (before, on_the_day) == ("1.00", "2.50")


async def test_a_version_given_twice_or_before_its_predecessor_is_built_once(shop):
    v2 = version_events(LABOUR, 2, date(2026, 3, 1), copies.version_one(LABOUR), labour_with("BRK-0210", 2.5))
    v3 = version_events(LABOUR, 3, date(2026, 3, 2), labour_with("BRK-0210", 2.5), labour_with("BRK-0210", 3.0))
    assert await shop.deliver(v3[0]) == "applied"
    assert (await copies_table(shop))[1:] == [(LABOUR, 3, date(2026, 3, 2), False, False), ("parts waiting", 1)]
    assert await shop.deliver(v2[0]) == "applied"
    built = await copies_table(shop)
    assert built == [(LABOUR, 1, date(1970, 1, 1), True, True), (LABOUR, 2, date(2026, 3, 1), True, True),
                     (LABOUR, 3, date(2026, 3, 2), True, True), ("parts waiting", 0)]
    for event in (v2[0], v3[0]):
        assert await shop.deliver(event) == "duplicate"
        assert await shop.deliver(event.model_copy(update={"id": f"again-{event.id}"})) == "applied"
    assert await copies_table(shop) == built
    assert await job_hours(shop, shop.clock.now()) == "3.00"
