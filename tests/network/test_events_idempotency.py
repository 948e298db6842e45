"""Every event handler of network, given the same event twice, has one effect: through the
inbox (a redelivery) and directly (as a rebuild re-reads the topics)."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from services.common.events.catalogue.network import StoreActivated, StoreCreated, StoreSuspended
from services.network.events import PERSON_EVENT_TYPES, webhook_event
from tests.network import factories as f
from tests.network.factories import T0, labour, part
from tests.network.test_accessories_kpi import accessory
from tests.network.test_appraisals import counter_sale, customer_base, part_return_shipped
from tests.network.test_gross_margin import costed
from tests.support.events import deliver

D = T0 - timedelta(days=1)
SAMPLES = {
    "network.store.created": lambda s: f.store_event(StoreCreated, "st-x", D, status="onboarding", created_at=D),
    "network.store.activated": lambda s: f.store_event(StoreActivated, "st-x", D, activated_at=D),
    "network.store.suspended": lambda s: f.store_event(StoreSuspended, "st-x", D, status="suspended", reason="audit",
                                                       suspended_at=D),
    "reception.repair_order.opened": lambda s: f.order_opened(s, repair_order_id="ro-1", opened_at=D),
    "reception.repair_order.settled": lambda s: f.order_settled(
        s, [labour("BRK-0500", "0.7"), part("XB-57450-S01", 1, 52900)]),
    "reception.repair_order.delivered": lambda s: f.order_delivered(
        s, [labour("MNT-0100", "0.5", 38000, "customer")], repair_order_id="ro-2", opened_at=D, settled_at=D,
        delivered_at=D),
    "reception.appointment.booked": lambda s: f.appointment_booked(s, "ap-1", D, D - timedelta(days=1)),
    "reception.appointment.cancelled": lambda s: f.appointment_cancelled(s, "ap-2", D, D),
    "reception.appointment.no_show": lambda s: f.appointment_no_show(s, "ap-3", D, D),
    "reception.appointment.checked_in": lambda s: f.appointment_checked_in(s, "ap-4", D, D),
    "reception.roadside.resolved": lambda s: f.roadside_resolved(s, "rs-1", D, D + timedelta(minutes=40),
                                                                  D + timedelta(hours=2)),
    "workshop.job.qc_passed": lambda s: f.job_qc_passed(s, "job-1", D, "1.0", "1.2"),
    "workshop.reservation.backordered": lambda s: f.reservation_backordered(s, "rv-1", D),
    "workshop.reservation.issued": lambda s: f.reservation_issued(s, "rv-2", D, D),
    "workshop.comeback.detected": lambda s: f.comeback_detected(s, "cb-1", D),
    "workshop.order.costed": lambda s: costed(s, "ro-2"),
    "crm.callback.created": lambda s: f.callback_created(s, "call-1", D, D - timedelta(days=3)),
    "crm.callback.completed": lambda s: f.callback_completed(s, "call-2", D, D - timedelta(hours=1)),
    "crm.callback.unreachable": lambda s: f.callback_unreachable(s, "call-3", D, D),
    "crm.complaint.opened": lambda s: f.complaint_opened(s, "cp-1", D, D + timedelta(days=2)),
    "crm.complaint.escalated": lambda s: f.complaint_escalated(s, "cp-2", D, D),
    "crm.complaint.closed": lambda s: f.complaint_closed(s, "cp-3", D - timedelta(days=1), D),
    "network.claim.submitted": lambda s: f.claim_submitted(s, "cl-1", D),
    "network.claim.decided": lambda s: f.claim_decided(s, "cl-2", "approved", D - timedelta(hours=5), D),
    "reception.counter_sale.completed": lambda s: counter_sale(s, "advisor-1", D, [accessory("ACC-TPMS")], "cs-1"),
    "crm.customer_base.changed": lambda s: customer_base(s, "advisor-1", D, 120, 90),
    "network.part_return.shipped": lambda s: part_return_shipped(s, "pr-1", D, D + timedelta(days=3), "clerk-1"),
}
TABLES = ("known_stores", "repair_orders", "kpi_entities", "kpi_facts", "kpi_daily", "kpi_monthly")


async def snapshot(app) -> dict:
    async with app.state.db.transaction() as session:
        return {t: sorted(map(repr, (await session.exec(sa.text(f"SELECT * FROM {t}"))).all())) for t in TABLES}


def test_every_handled_event_type_has_a_sample(client):
    # The staff directory's own events change accounts at the identity provider, not tables here:
    # given twice against a real Keycloak in test_people_accounts_keycloak.py.
    # Event types only queued for outlets' webhooks: given twice, queued once, in test_webhooks.py.
    webhook_only = {t for t, handler in client.app.state.handlers.handlers.items() if handler is webhook_event}
    assert set(SAMPLES) | set(PERSON_EVENT_TYPES) | webhook_only == set(client.app.state.handlers.handlers)


@pytest.mark.parametrize("event_type", sorted(SAMPLES))
async def test_a_handler_given_the_same_event_twice_has_one_effect(client, hq, event_type):
    store = (await hq.post("/v1/stores", json=f.store_body())).json()
    envelope = SAMPLES[event_type](store["id"])
    assert envelope.type == event_type
    app = client.app
    before = await snapshot(app)
    assert await deliver(app, envelope) == "applied"
    once = await snapshot(app)
    assert once != before, "the first delivery changed nothing"
    assert await deliver(app, envelope) == "duplicate"
    assert await snapshot(app) == once
    # As a rebuild does: past the inbox, straight into the handler.
    handler = app.state.handlers.handlers[event_type]
    async with app.state.db.transaction() as session:
        await handler(session, envelope.payload(), envelope, app.state.handlers.context)
    assert await snapshot(app) == once
