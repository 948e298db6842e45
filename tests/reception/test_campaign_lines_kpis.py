"""Brand-paid first-maintenance and campaign work, settled at reception, counts in network's
revenue by payer: reception's own settled event, read by network's KPI projection."""
from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from services.common.events.envelope import catalogue
from services.network.kpis.projection import EXTRACTORS, EntityKind, Metric, derive
from tests.reception import factories
from tests.reception import network_events as nw

CAR = "LRCAL000000000077"


async def test_campaign_and_first_maintenance_revenue_count_by_payer_in_network_kpis(reception):
    at = reception.clock.now()
    dates = dict(starts_on=date(2026, 11, 1), ends_on=date(2027, 6, 30))
    await reception.deliver(nw.published("cmp-kpi", vin_count=1, at=at, **dates))
    for chunk in nw.chunks("cmp-kpi", [CAR], at=at, **dates):
        await reception.deliver(chunk)
    order = await reception.open_order(vehicle=factories.vehicle(vin=CAR))
    await reception.add_line(order, factories.labour("MNT-0110", pay_type="first_maintenance"))  # 30400
    r = await reception.advisor.post(f"/v1/repair-orders/{order['id']}/campaign-lines",
                                     json={"campaign_code": "RC-2026-014"})  # 19000 + 9000
    assert r.status_code == 201, r.text
    await reception.act(order, "estimate")
    await reception.act(order, "approve", {"approved_by": "Zhang Wei", "channel": "in_person"})
    await reception.deliver(factories.ready(order, reception.clock.now()))
    settled = await reception.act(order, "settle", {"payments": []})  # the brand pays it all
    assert settled["totals"]["customer_due_fen"] == 0
    (envelope,) = await reception.outbox("reception.repair_order.settled", subject=order["id"])
    event = catalogue[envelope["type"]].model_validate(envelope["data"])
    touch = EXTRACTORS[envelope["type"]](event)
    assert touch.fields["revenue"]["first_maintenance"] == 30400 and touch.fields["revenue"]["campaign"] == 28000
    facts = derive(EntityKind.REPAIR_ORDER, touch.fields, ZoneInfo("Asia/Shanghai"))
    by_metric = {metric: value for metric, _, value, _ in facts.values()}
    assert by_metric[Metric.REVENUE_FIRST_MAINTENANCE_FEN] == 30400
    assert by_metric[Metric.REVENUE_CAMPAIGN_FEN] == 28000
    assert Metric.REVENUE_CUSTOMER_FEN not in by_metric  # nothing the customer paid
