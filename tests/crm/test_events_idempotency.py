"""Every event CRM handles, given twice, has one effect: the same envelope is stopped by
the inbox, and the same fact published again under a new id changes nothing either."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from services.common.events.catalogue import network as nw
from services.common.events.catalogue import reception as rx
from services.common.events.catalogue import workshop as ws
from services.common.ids import new_id
from services.crm.base import CrmModel
from services.crm.events import handlers
from tests.crm import factories as f
from tests.support.events import envelope_for, store_created

SHANGHAI = ZoneInfo("Asia/Shanghai")
WHEN = datetime(2026, 3, 1, 11, tzinfo=SHANGHAI)
APPOINTMENT = "appt-0001"
BUYER = nw.Buyer(name="周女士", phone="13912345678")


def cases(store_id: str) -> dict:
    scheduled = WHEN + timedelta(days=2)
    return {
        "reception.appointment.booked": f.booked(store_id, WHEN, scheduled_at=scheduled, appointment_id=APPOINTMENT),
        "reception.appointment.cancelled": f.booking_cancelled(store_id, WHEN, APPOINTMENT, scheduled),
        "reception.appointment.no_show": f.no_show(store_id, WHEN, APPOINTMENT, scheduled),
        "reception.appointment.checked_in": f.checked_in(store_id, WHEN, APPOINTMENT, scheduled),
        "reception.repair_order.opened": f.opened(store_id, WHEN, repair_order_id="ro-1"),
        "reception.repair_order.delivered": f.delivered(store_id, WHEN, repair_order_id="ro-1"),
        "reception.repair_order.cancelled": f.cancelled_order(store_id, "ro-1", WHEN),
        "reception.repair_order.promise_moved": envelope_for(
            rx.RepairOrderPromiseMoved(repair_order_id="ro-1", number="RO-1", store_id=store_id, moved_at=WHEN,
                                       promised_at=WHEN + timedelta(days=1), previous_promised_at=WHEN,
                                       reason="parts arrive tomorrow", moves=1),
            subject="ro-1", store_id=store_id, time=WHEN),
        "reception.repair_order.extra_work_proposed": envelope_for(
            rx.RepairOrderExtraWorkProposed(repair_order_id="ro-1", number="RO-1", store_id=store_id,
                                            proposed_at=WHEN, estimate_version=2, lines=[f.labour()],
                                            amount_fen=30000, customer_fen=30000, customer_due_fen=33900),
            subject="ro-1", store_id=store_id, time=WHEN),
        "network.store.created": store_created(code="GZ-TH-01"),
        "network.person.registered": f.staff_registered("person-1", WHEN, [store_id]),
        "network.person.assignments_changed": f.staff_reassigned("person-1", WHEN, [store_id]),
        "network.person.left": f.staff_left("person-1", WHEN, [store_id]),
        "network.vehicle.registered": envelope_for(
            nw.VehicleRegistered(vin="LSVNEWCAR00000001", store_id=store_id, buyer=BUYER, invoice_date=WHEN.date(),
                                 delivery_date=WHEN.date(), mileage_at_delivery_km=12,
                                 first_maintenance_due_on=WHEN.date() + timedelta(days=184),
                                 first_maintenance_due_km=5000, registered_by="clerk-1", registered_at=WHEN),
            subject="LSVNEWCAR00000001", store_id=store_id, time=WHEN),
        "network.vehicle.registration_corrected": envelope_for(
            nw.VehicleRegistrationCorrected(vin="LSVNEWCAR00000001", store_id=store_id, buyer=BUYER,
                                            invoice_date=WHEN.date(), delivery_date=WHEN.date(),
                                            mileage_at_delivery_km=15,
                                            first_maintenance_due_on=WHEN.date() + timedelta(days=184),
                                            first_maintenance_due_km=5000,
                                            changes={"mileage_at_delivery_km": {"from": 12, "to": 15}},
                                            reason="read again", corrected_by="clerk-1", corrected_at=WHEN),
            subject="LSVNEWCAR00000001", store_id=store_id, time=WHEN),
        "network.campaign.vins_affected": envelope_for(
            nw.CampaignVinsAffected(campaign_id="campaign-1", code="RC-2026-014", kind="recall",
                                    title_zh="前排安全带预紧器检查", title_en="Front seat-belt pretensioner inspection",
                                    op_code="RCL-2026-01", starts_on=WHEN.date(),
                                    ends_on=WHEN.date() + timedelta(days=90), chunk=1, chunks=1,
                                    vins=["LSVAA4182E2100001", "LSVNEWCAR00000001"], published_at=WHEN),
            subject="campaign-1", store_id=None, time=WHEN),
        "workshop.repair_order.ready": envelope_for(
            ws.RepairOrderReady(repair_order_id="ro-1", store_id=store_id, ready_at=WHEN, jobs=1, clocked_hours="1.0",
                                flat_rate_hours="1.0"), subject="ro-1", store_id=store_id, time=WHEN),
        "workshop.reservation.backordered": envelope_for(
            ws.ReservationBackordered(reservation_id="res-1", store_id=store_id, repair_order_id="ro-1",
                                      part_no="P-1", quantity=1, short_quantity=1, backordered_at=WHEN),
            subject="res-1", store_id=store_id, time=WHEN),
    }


async def snapshot(crm, with_inbox: bool = True) -> dict[str, list]:
    """Every row of every CRM table and of the outbox (ids and all)."""
    tables = list(CrmModel.metadata.tables.values())
    names = ["outbox", "known_stores"] + (["inbox"] if with_inbox else [])
    async with crm.app.state.db.transaction() as session:
        conn = await session.connection()
        out = {}
        for table in tables:
            out[table.name] = sorted(map(tuple, (await conn.execute(sa.select(table))).all()), key=repr)
        for name in names:
            rows = (await conn.execute(sa.text(f"SELECT * FROM {name}"))).all()
            out[name] = sorted(map(tuple, rows), key=repr)
    return out


def test_every_handled_event_type_has_a_case_here():
    assert set(handlers.handlers) | {"network.store.created"} == set(cases("s"))


@pytest.mark.parametrize("event_type", sorted(cases("s")))
async def test_the_same_event_twice_has_one_effect(crm, event_type):
    envelope = cases(crm.store_id)[event_type]
    assert await crm.deliver(envelope) == ["applied"]
    once = await snapshot(crm)
    assert await crm.deliver(envelope) == ["duplicate"]
    assert await snapshot(crm) == once


@pytest.mark.parametrize("event_type", sorted(cases("s")))
async def test_the_same_fact_under_a_new_event_id_has_one_effect(crm, event_type):
    envelope = cases(crm.store_id)[event_type]
    await crm.deliver(envelope)
    once = await snapshot(crm, with_inbox=False)
    assert await crm.deliver(envelope.model_copy(update={"id": new_id()})) == ["applied"]
    assert await snapshot(crm, with_inbox=False) == once


async def test_a_delivery_given_twice_makes_one_callback_and_one_visit(crm):
    delivered = f.delivered(crm.store_id, WHEN)
    await crm.deliver(delivered, delivered, delivered.model_copy(update={"id": new_id()}))
    callbacks = (await crm.agent.get("/v1/callbacks")).json()["items"]
    assert len(callbacks) == 1 and len(await crm.emitted("crm.callback.created")) == 1
    history = (await crm.agent.get(f"/v1/vehicles/{f.car().vin}/history")).json()
    assert [v["repair_order_id"] for v in history["items"]] == [delivered.subject]
