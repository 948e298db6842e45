"""The monthly appraisal (issue 18): a seeded November's figures for one person of each
role equal a hand computation, with their targets' attainment; who may read it; the CSV;
and a KPI rebuild from the topics gives the same appraisal. Events go through the KPI
projection as the consumer applies them (and, for the rebuild, through the real broker)."""
from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from decimal import Decimal

from services.common.events.catalogue import crm, network, reception, workshop
from services.common.events.envelope import CloudEvent
from services.common.ids import new_id
from services.common.kafka import ensure_topics
from tests.network import factories as f
from tests.network.conftest import create_store, network_service, network_settings
from tests.network.rebuilds import rebuilt
from tests.network.test_accessories_kpi import accessory
from tests.network.test_targets import YEAR, even_months, local, put, register
from tests.support.events import deliver, envelope_for, publish
from tests.support.platform import Caller

TECHNICIAN = "tech-7"  # workshop's technician record, as its job events name it


def nov(day: int, hh: int = 12) -> datetime:
    return local(date(2026, 11, day), hh)


def delivered(store_id: str, advisor_id: str, at: datetime, lines: list[dict], *, rid: str | None = None,
              promised_at: datetime | None = None, ready_on_time: bool | None = None) -> CloudEvent:
    rid = rid or new_id()
    event = reception.RepairOrderDelivered(
        repair_order_id=rid, number=f"RO-{rid[-6:]}", store_id=store_id,
        customer={"name": "Li Na", "phone": "13900001111"}, vehicle={"vin": "LSVAB4180E2100001"}, mileage_km=20000,
        advisor={"id": advisor_id, "name": "advisor", "role": "service_advisor"}, delivered_by=advisor_id,
        opened_at=at - timedelta(hours=6), settled_at=at, delivered_at=at, lines=lines, totals={},
        promised_at=promised_at, ready_on_time=ready_on_time)
    return envelope_for(event, subject=rid, store_id=store_id, time=at)


def costed(store_id: str, rid: str, at: datetime, parts: int, labour: int) -> CloudEvent:
    event = workshop.OrderCosted(repair_order_id=rid, store_id=store_id, costed_at=at, delivered_at=at,
                                 parts_cost_fen=parts, labor_cost_fen=labour, sublet_cost_fen=0,
                                 total_cost_fen=parts + labour)
    return envelope_for(event, subject=rid, store_id=store_id, time=at)


def counter_sale(store_id: str, sold_by: str, at: datetime, lines: list[dict], sale_id: str | None = None):
    sale_id = sale_id or new_id()
    amount = sum(line["amount_fen"] for line in lines)
    event = reception.CounterSaleCompleted(
        counter_sale_id=sale_id, number=f"CS-{sale_id[-6:]}", store_id=store_id, lines=lines, amount_fen=amount,
        tax_fen=amount * 13 // 100, total_fen=amount + amount * 13 // 100,
        sold_by={"id": sold_by, "name": "advisor", "role": "service_advisor"}, completed_at=at)
    return envelope_for(event, subject=sale_id, store_id=store_id, time=at)


def customer_base(store_id: str, advisor_id: str, at: datetime, vehicles: int, retained: int) -> CloudEvent:
    event = crm.CustomerBaseChanged(store_id=store_id, advisor_id=advisor_id, vehicles=vehicles, retained=retained,
                                    counted_at=at)
    return envelope_for(event, subject=advisor_id, store_id=store_id, time=at)


def callback_done(store_id: str, callback_id: str, due_at: datetime, completed_at: datetime, agent: str, *,
                  overall: int | None, attempts: int, repair_order_id: str | None = None) -> CloudEvent:
    event = crm.CallbackCompleted(callback_id=callback_id, store_id=store_id, kind="first", due_at=due_at,
                                  repair_order_id=repair_order_id, completed_at=completed_at, agent=agent,
                                  on_time=completed_at <= due_at, answers={"q1": overall or 3}, overall=overall,
                                  attempts=attempts)
    return envelope_for(event, subject=callback_id, store_id=store_id, time=completed_at)


def callback_unreachable(store_id: str, callback_id: str, due_at: datetime, at: datetime, by: str,
                         attempts: int) -> CloudEvent:
    event = crm.CallbackUnreachable(callback_id=callback_id, store_id=store_id, kind="first", due_at=due_at,
                                    attempts=attempts, marked_at=at, marked_by=by)
    return envelope_for(event, subject=callback_id, store_id=store_id, time=at)


def complaint_closed(store_id: str, complaint_id: str, at: datetime, by: str) -> CloudEvent:
    event = crm.ComplaintClosed(complaint_id=complaint_id, store_id=store_id, department="service", severity="major",
                                resolution="fixed", opened_at=at - timedelta(days=2), closed_at=at, closed_by=by)
    return envelope_for(event, subject=complaint_id, store_id=store_id, time=at)


def claim_submitted(store_id: str, claim_id: str, at: datetime, by: str, claimed: int, n: int = 1) -> CloudEvent:
    event = network.ClaimSubmitted(claim_id=claim_id, store_id=store_id, repair_order_id="ro-" + claim_id,
                                   amount_claimed_fen=claimed, submission_count=n, precheck_passed=True,
                                   submitted_at=at, submitted_by=by, submitted_by_name="clerk")
    return envelope_for(event, subject=claim_id, store_id=store_id, time=at)


def claim_decided(store_id: str, claim_id: str, status: str, submitted_at: datetime, at: datetime, claimed: int,
                  approved: int, n: int = 1) -> CloudEvent:
    event = network.ClaimDecided(claim_id=claim_id, store_id=store_id, repair_order_id="ro-" + claim_id, status=status,
                                 amount_claimed_fen=claimed, amount_approved_fen=approved, decided_by="hq-1",
                                 submitted_at=submitted_at, decided_at=at, submission_count=n,
                                 reason_code="R06" if status == "rejected" else None)
    return envelope_for(event, subject=claim_id, store_id=store_id, time=at)


def part_return_shipped(store_id: str, return_id: str, at: datetime, ship_by: datetime, by: str) -> CloudEvent:
    event = network.PartReturnShipped(part_return_id=return_id, store_id=store_id, claim_id="c-" + return_id,
                                      line_id="l-1", part_no="XB-57450-S01", waybill="SF1", carrier="SF",
                                      ship_by=ship_by, shipped_at=at, shipped_by=by)
    return envelope_for(event, subject=return_id, store_id=store_id, time=at)


def job_passed(store_id: str, job_id: str, at: datetime, flat: str, clocked: str, rework: int, *,
               person: tuple[str, str] | None = None) -> CloudEvent:
    """`person`: the directory person (id, name) the technician record works under, if it has one."""
    named = dict(technician_person_id=person[0], technician_name=person[1]) if person else {}
    event = workshop.JobQcPassed(job_id=job_id, store_id=store_id, repair_order_id=new_id(), line_id=new_id(),
                                 op_code="BRK-0500", technician_id=TECHNICIAN, inspector="qc-1",
                                 flat_rate_hours=flat, clocked_hours=clocked, rework_count=rework, passed_at=at,
                                 **named)
    return envelope_for(event, subject=job_id, store_id=store_id, time=at)


def comeback(store_id: str, comeback_id: str, at: datetime, *, person: tuple[str, str] | None = None) -> CloudEvent:
    named = dict(original_technician_person_id=person[0], original_technician_name=person[1]) if person else {}
    event = workshop.ComebackDetected(comeback_id=comeback_id, store_id=store_id, vin="LSVAB4180E2100001",
                                      op_code="BRK-0500", repair_order_id=new_id(), original_repair_order_id=new_id(),
                                      original_technician_id=TECHNICIAN, original_delivered_at=at - timedelta(days=9),
                                      detected_at=at, **named)
    return envelope_for(event, subject=comeback_id, store_id=store_id, time=at)


def november(s: str, li: str, wang: str, zhou: str, wu: str) -> list[CloudEvent]:
    """The store's November, and a little of October and December around it."""
    a, b, c = new_id(), new_id(), new_id()
    events = [
        # 李娜, advisor: three orders delivered, two of them promised (one ready in time), two costed
        delivered(s, li, nov(3, 17), [f.labour("MNT-0100", "1", 30_000, "customer"), f.part("XB-57450-S01", 1, 50_000),
                                      accessory("ACC-MAT-3D")], rid=a, promised_at=nov(3, 18), ready_on_time=True),
        delivered(s, li, nov(12, 17), [f.labour("BRK-0500", "1", 45_000, "customer")], rid=b,
                  promised_at=nov(12, 15), ready_on_time=False),
        delivered(s, li, nov(20, 17), [f.labour("MNT-0100", "1", 20_000, "customer")], rid=c),
        delivered(s, li, local(date(2026, 10, 31), 17), [f.labour("MNT-0100", "1", 99_000, "customer")]),
        delivered(s, wang, nov(21, 17), [f.labour("MNT-0100", "1", 10_000, "customer")]),
        costed(s, a, nov(3, 18), parts=30_000, labour=12_000),
        costed(s, b, nov(12, 18), parts=0, labour=20_000),
        counter_sale(s, li, nov(8), [accessory("ACC-DASHCAM")]),
        counter_sale(s, wang, nov(9), [accessory("ACC-MUDFLAP")]),
        customer_base(s, li, nov(10, 20), 120, 90),
        customer_base(s, li, nov(30, 20), 125, 100),
        customer_base(s, li, local(date(2026, 12, 1), 20), 130, 101),
        # 周敏, information clerk: two surveys of 李娜's orders, one late; one callback unreachable
        f.callback_created(s, "cb-1", nov(5, 18), nov(4, 8)),
        callback_done(s, "cb-1", nov(5, 18), nov(5), zhou, overall=5, attempts=1, repair_order_id=a),
        f.callback_created(s, "cb-2", nov(13, 18), nov(12, 8)),
        callback_done(s, "cb-2", nov(13, 18), nov(14), zhou, overall=3, attempts=2, repair_order_id=b),
        f.callback_created(s, "cb-3", nov(20, 18), nov(19, 8)),
        callback_unreachable(s, "cb-3", nov(20, 18), nov(21), zhou, attempts=3),
        callback_done(s, "cb-4", nov(22, 18), nov(22), "agent-x", overall=4, attempts=1),
        complaint_closed(s, "cmp-1", nov(18), zhou),
        complaint_closed(s, "cmp-2", nov(19), "agent-x"),
        # 吴文, warranty clerk: five claims decided in November, one resubmitted, two old parts shipped
        claim_submitted(s, "c1", nov(2), wu, 50_000),
        claim_decided(s, "c1", "approved", nov(2), nov(6), 50_000, 50_000),
        claim_submitted(s, "c2", nov(4), wu, 80_000),
        claim_decided(s, "c2", "partially_approved", nov(4), nov(9), 80_000, 60_000),
        claim_submitted(s, "c3", nov(5), wu, 30_000),
        claim_decided(s, "c3", "rejected", nov(5), nov(10), 30_000, 0),
        claim_submitted(s, "c3", nov(12), wu, 30_000, n=2),
        claim_decided(s, "c3", "approved", nov(12), nov(15), 30_000, 30_000, n=2),
        claim_submitted(s, "c4", nov(20), wu, 40_000),
        claim_decided(s, "c4", "rejected", nov(20), nov(25), 40_000, 0),
        claim_submitted(s, "c5", local(date(2026, 10, 28), 12), wu, 20_000),
        claim_decided(s, "c5", "approved", local(date(2026, 10, 28), 12), nov(3), 20_000, 20_000),
        part_return_shipped(s, "r1", nov(10), nov(20), wu),
        part_return_shipped(s, "r2", nov(25), nov(22), wu),
        # workshop's technician tech-7: two jobs, one reworked once, and a comeback of his work
        job_passed(s, "j1", nov(4), "1.5", "1.2", 0),
        job_passed(s, "j2", nov(16), "2.0", "2.5", 1),
        comeback(s, "cmb-1", nov(25)),
        # the parts desk: three reservations, one of them backordered first
        f.reservation_issued(s, "rv-a", nov(3, 9), nov(3, 10)),
        f.reservation_backordered(s, "rv-b", nov(5, 9)),
        f.reservation_issued(s, "rv-b", None, nov(8, 10), filled_from_stock=False),
        f.reservation_issued(s, "rv-c", nov(9, 9), nov(9, 10)),
    ]
    return events


async def seed(hq: Caller, client, *, deliver_events: bool = True) -> tuple[dict, dict[str, str], list[CloudEvent]]:
    store = await create_store(hq, timezone_name="Asia/Shanghai")
    s = store["id"]
    staff = {"li": await register(hq, s, "service_advisor", "李娜"),
             "wang": await register(hq, s, "service_advisor", "王强"),
             "zhou": await register(hq, s, "crm_agent", "周敏"),
             "wu": await register(hq, s, "warranty_clerk", "吴文"),
             "chen": await register(hq, s, "parts_clerk", "陈工")}
    events = november(s, staff["li"], staff["wang"], staff["zhou"], staff["wu"])
    if deliver_events:
        for event in events:
            await deliver(client.app, event)
    return store, staff, events


async def set_targets(client, hq: Caller, store_id: str, staff: dict[str, str]) -> None:
    base = f"/v1/stores/{store_id}/targets/{YEAR}"
    year = await put(hq, base, {"repair_orders": 1200, "csi": 4600, "callback_sla": 950})
    assert year.status_code == 200, year.text
    manager = Caller(client, "store_manager", store_id=store_id)
    assert (await put(manager, base + "/months", even_months(repair_orders=100))).status_code == 200
    shares = await put(manager, base + "/people", {"people": [
        {"person_id": staff["li"], "month": 11, "repair_orders": 60, "csi": 4500},
        {"person_id": staff["wang"], "month": 11, "repair_orders": 40},
        {"person_id": staff["zhou"], "month": 11, "callback_sla": 900}]})
    assert shares.status_code == 200, shares.text


def by_person(store: dict) -> dict[str, dict]:
    return {p["name"] or p["person_id"]: p for p in store["people"]}


def targets_of(person: dict) -> dict[str, tuple]:
    return {t["measure"]: (t["target"], t["actual"], t["attained"], t["projected"]) for t in person["targets"]}


async def test_a_seeded_months_appraisal_equals_a_hand_computation_for_each_role(client, hq):
    store, staff, _ = await seed(hq, client)
    s = store["id"]
    await set_targets(client, hq, s, staff)
    manager = Caller(client, "service_manager", store_id=s)
    answer = await manager.get("/v1/appraisals?month=2026-11")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["month"] == "2026-11"
    (figures,) = body["stores"]
    assert (figures["store_id"], figures["days_in_month"], figures["days_elapsed"]) == (s, 30, 30)
    people = by_person(figures)

    li = people["李娜"]
    assert (li["roles"], li["in_directory"], li["technician"], li["warranty_clerk"]) == (
        ["service_advisor"], True, None, None)
    advisor = li["advisor"]
    # By hand: labour 300 + 450 + 200 CNY; one warranty part 500; 3D mats 1 280 on order A and a
    # dash cam 899 over the counter (data/accessories.json). October's order is not November's.
    assert advisor["orders_delivered"] == 3
    assert advisor["revenue_fen"] == {"labour": 95_000, "parts": 50_000, "accessories": 128_000 + 89_900,
                                      "total": 95_000 + 50_000 + 217_900}
    assert advisor["accessories"] == {"repair_orders_fen": 128_000, "counter_sales": 1, "counter_fen": 89_900,
                                      "total_fen": 217_900}
    # Orders A (revenue 2 080 less cost 420) and B (450 less 200) are costed; C is not.
    assert advisor["gross_margin"] == {"orders": 2, "orders_incomplete": 0, "revenue_fen": 208_000 + 45_000,
                                       "cost_fen": 42_000 + 20_000, "margin_fen": 191_000, "margin_rate": "0.7549"}
    assert advisor["csi"] == {"surveys": 2, "average": "4.00"}  # (5 + 3) / 2, the surveys of A and B
    assert advisor["on_time"] == {"promised": 2, "ready_on_time": 1, "rate": "0.5000"}
    # CRM's last count in November (the 30th), not December's.
    assert advisor["customer_base"] == {"vehicles": 125, "retained": 100, "retention_rate": "0.8000",
                                        "counted_on": "2026-11-30"}
    assert targets_of(li) == {"repair_orders": (60, 3, "0.0500", 3), "csi": (4500, 4000, "0.8889", 4000)}

    wang = people["王强"]["advisor"]
    assert (wang["orders_delivered"], wang["accessories"]["counter_fen"], wang["csi"]["surveys"]) == (1, 32_000, 0)
    assert wang["customer_base"] is None and wang["gross_margin"]["margin_fen"] is None

    zhou = people["周敏"]
    assert zhou["advisor"] is None
    # cb-1 on time (1 call), cb-2 a day late (2 calls), cb-3 unreachable after 3; cb-4 is agent-x's.
    assert zhou["information_clerk"] == {
        "calls_made": 6, "callbacks_closed": 3, "reached": 2, "reach_rate": "0.6667", "callbacks_due": 3,
        "on_time": 1, "sla_rate": "0.3333", "problem_customers_closed": 1}
    assert targets_of(zhou) == {"callback_sla": (900, 333, "0.3700", 333)}

    wu = people["吴文"]["warranty_clerk"]
    # Filed in November: c1..c4. First submissions decided in November: c1, c2 (partly), c3 (rejected),
    # c4 (rejected) and October's c5; approved at first pass: c1, c2, c5. Not paid by the latest
    # decisions: c2's 200 CNY cut and c4's 400; c3 was paid in full on resubmission.
    assert wu == {"claims_filed": 4, "first_pass_decided": 5, "first_pass_approved": 3,
                  "first_pass_approval_rate": "0.6000", "rejected_fen": 20_000 + 40_000, "part_returns_shipped": 2,
                  "part_returns_on_time": 1, "part_returns_on_time_rate": "0.5000"}

    # The parts desk: rv-a and rv-c from stock, rv-b backordered first.
    desk = {"credited_to": "store", "reservations": 3, "filled_from_stock": 2, "fill_rate": "0.6667",
            "stock_turns": None}
    chen = people["陈工"]
    assert {k: chen["parts"][k] for k in desk} == desk and "stock_turns" in chen["parts"]["not_measured"]
    assert {k: figures["parts_desk"][k] for k in desk} == desk

    # The technician as workshop's events name him: 1.5 + 2.0 flat-rate hours over 1.2 + 2.5 clocked.
    tech = people[TECHNICIAN]
    assert (tech["in_directory"], tech["name"], tech["roles"]) == (False, None, [])
    assert tech["technician"] == {"jobs_passed": 2, "flat_rate_hours": "3.50", "clocked_hours": "3.70",
                                  "efficiency": "0.95", "reworks": 1, "comebacks": 1}
    assert Decimal("3.5") / Decimal("3.7") < Decimal("0.955")
    assert [p["person_id"] for p in figures["people"]][-1] == TECHNICIAN  # the directory's people first


async def test_a_technician_whose_record_has_a_person_is_appraised_as_that_person(client, hq):
    store = await create_store(hq, timezone_name="Asia/Shanghai")
    s = store["id"]
    zhao = await register(hq, s, "technician", "赵刚")
    manager = Caller(client, "store_manager", store_id=s)
    base = f"/v1/stores/{s}/targets/{YEAR}"
    assert (await put(hq, base, {"first_time_fix": 950})).status_code == 200
    assert (await put(manager, base + "/months", even_months(first_time_fix=950))).status_code == 200
    share = await put(manager, base + "/people",
                      {"people": [{"person_id": zhao, "month": 11, "first_time_fix": 900}]})
    assert share.status_code == 200, share.text
    person = (zhao, "赵刚")
    for event in (job_passed(s, "j1", nov(4), "1.5", "1.2", 0, person=person),
                  job_passed(s, "j2", nov(16), "2.0", "2.5", 1, person=person),
                  comeback(s, "cmb-1", nov(25), person=person)):
        await deliver(client.app, event)

    (figures,) = (await manager.get("/v1/appraisals?month=2026-11")).json()["stores"]
    people = by_person(figures)
    assert set(people) == {"赵刚"}  # nothing left under workshop's record id
    row = people["赵刚"]
    assert (row["person_id"], row["in_directory"], row["roles"]) == (zhao, True, ["technician"])
    assert row["technician"] == {"jobs_passed": 2, "flat_rate_hours": "3.50", "clocked_hours": "3.70",
                                 "efficiency": "0.95", "reworks": 1, "comebacks": 1}
    # The share meets the figures: first-time fix = 1 - 1 comeback / 2 jobs = 500 per mille of 900.
    assert targets_of(row) == {"first_time_fix": (900, 500, "0.5556", 500)}


async def test_who_reads_the_appraisal_and_the_csv(client, hq):
    store, staff, _ = await seed(hq, client)
    other = await create_store(hq)
    s = store["id"]
    everyone = (await hq.get("/v1/appraisals?month=2026-11")).json()
    assert {st["store_id"] for st in everyone["stores"]} >= {s, other["id"]}
    # A region manager reads its regions' stores' (tests/security/test_region_matrix.py): this one has none.
    assert (await Caller(client, "region_manager").get(f"/v1/appraisals?month=2026-11&store_id={s}")).status_code == 404
    manager = Caller(client, "store_manager", store_id=other["id"])
    assert (await manager.get(f"/v1/appraisals?month=2026-11&store_id={s}")).status_code == 404
    assert [st["store_id"] for st in (await manager.get("/v1/appraisals?month=2026-11")).json()["stores"]] == [
        other["id"]]
    assert (await Caller(client, "outlet_api", store_id=s).get("/v1/appraisals")).status_code == 403
    assert (await Caller(client, "service_advisor", store_id=s).get("/v1/appraisals")).status_code == 403
    refused = await hq.get("/v1/appraisals?month=2026-13")
    assert (refused.status_code, refused.json()["errors"][0]["field"]) == (422, "month")

    download = await hq.get(f"/v1/appraisals?month=2026-11&store_id={s}&format=csv")
    assert download.status_code == 200 and download.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(download.text.lstrip("\ufeff"))))
    header, lines = rows[0], {row[1]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    assert header[:3] == ["门店 store", "姓名 name", "工号 employee no"]
    assert lines["李娜"]["交车台次 orders delivered"] == "3"
    assert lines["吴文"]["拒赔金额 rejected fen"] == "60000"
    sheet = await hq.get(f"/v1/appraisals?month=2026-11&store_id={s}&format=xlsx")
    assert sheet.status_code == 200 and sheet.content[:2] == b"PK"  # a zip: the xlsx container


async def test_a_kpi_rebuild_from_the_topics_gives_the_same_appraisal(network_db, kafka_bootstrap, topic_prefix,
                                                                       clock):
    settings = network_settings(network_db, kafka_bootstrap_servers=kafka_bootstrap, kafka_topic_prefix=topic_prefix)
    await ensure_topics(settings)
    async with network_service(settings, clock) as client:
        hq = Caller(client, "hq_admin", principal_id="hq-admin-1")
        store, staff, events = await seed(hq, client)
        await set_targets(client, hq, store["id"], staff)
        for service in ("reception", "workshop", "crm", "network"):
            await publish(kafka_bootstrap, settings.topic(service),
                          *(e for e in events if e.type.startswith(service + ".")))
        url = f"/v1/appraisals?month=2026-11&store_id={store['id']}"
        live = (await hq.get(url)).json()
        assert by_person(live["stores"][0])["李娜"]["advisor"]["orders_delivered"] == 3
        job = await rebuilt(hq)
        assert job["events_read"] >= len(events) and job["events_skipped"] == 0
        again = (await hq.get(url)).json()
        assert again["stores"] == live["stores"]
