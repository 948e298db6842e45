"""What an order cost the store, for its gross margin: parts at their average cost when
issued, labour at the technicians' cost rates for the hours clocked, sublet at its cost;
checked to the fen against a hand computation."""
from __future__ import annotations

from tests.workshop.factories import approved, delivered, fee, labor, outbox, part, put, sublet

PADS = "XB-45022-F10"
FILTER = "XB-15400-001"


async def _technician(shop, name: str, skills: list[str], hourly_cost_fen: int | None) -> dict:
    body = {"name": name, "skills": skills}
    if hourly_cost_fen is not None:
        body["hourly_cost_fen"] = hourly_cost_fen
    r = await shop.manager.post("/v1/technicians", json=body)
    assert r.status_code == 201, r.text
    return r.json()


async def _receive(shop, part_no: str, qty: int, unit_cost_fen: int) -> None:
    line = {"part_no": part_no, "qty": qty, "unit_cost_fen": unit_cost_fen}
    r = await shop.clerk.post("/v1/stock/receipts", json={"reference": f"DN-{part_no}-{qty}", "lines": [line]})
    assert r.status_code == 201, r.text


async def _act(shop, job_id: str, action: str, body: dict | None = None) -> dict:
    r = await shop.manager.post(f"/v1/jobs/{job_id}/{action}", json=body)
    assert r.status_code == 200, r.text
    return r.json()


async def _clock(shop, job_id: str, *stretches: int) -> None:
    """Start the job and work it in these stretches of seconds, with a break between, then complete it."""
    await _act(shop, job_id, "start")
    for i, seconds in enumerate(stretches):
        if i:
            shop.clock.advance(seconds=600)  # a break: not clocked
            await _act(shop, job_id, "resume")
        shop.clock.advance(seconds=seconds)
        if i < len(stretches) - 1:
            await _act(shop, job_id, "pause")
    await _act(shop, job_id, "complete", {"notes": "done"})


async def _issue_all(shop, order_id: str) -> None:
    for reservation in await shop.reservations_of(order_id):
        r = await shop.clerk.post(f"/v1/reservations/{reservation['id']}/issue")
        assert r.status_code == 200, r.text


async def test_margin_inputs_of_an_order_with_parts_labour_sublet_and_a_warranty_line_to_the_fen(shop):
    li = await _technician(shop, "Li Wei", ["brakes"], 6000)
    zhang = await _technician(shop, "Zhang Min", ["maintenance"], 4500)
    # Pads: 4 at 200.00 and 6 at 230.00, average (80,000 + 138,000) / 10 = 21,800 fen.
    await _receive(shop, PADS, 4, 20000)
    await _receive(shop, PADS, 6, 23000)
    # Oil filters: 3 at 33.33 and 1 at 33.34, average 13,333 / 4 = 3,333.25, so 3,333 fen.
    await _receive(shop, FILTER, 3, 3333)
    await _receive(shop, FILTER, 1, 3334)

    brakes, first_service = labor("BRK-0210"), labor("MNT-0110", pay_type="warranty")
    windscreen = sublet()
    lines = [brakes, first_service, part(PADS, "2"), part(FILTER, "1", pay_type="warranty"), windscreen, fee()]
    order = approved(shop.store_id, lines, approved_at=shop.clock.now())
    await shop.deliver(order)
    order_id = order.subject
    jobs = {j["line_id"]: j for j in await shop.jobs_of(order_id)}
    brake_job, warranty_job = jobs[brakes.line_id]["id"], jobs[first_service.line_id]["id"]
    await _act(shop, brake_job, "assign", {"technician_id": li["id"]})
    await _act(shop, warranty_job, "assign", {"technician_id": zhang["id"]})

    # Li: 4,800 s and 2,400 s, a failed check, then 900 s of rework: 8,100 s at 60.00 an hour
    # = 8,100 × 6,000 / 3,600 = 13,500 fen.
    await _clock(shop, brake_job, 4800, 2400)
    await _act(shop, brake_job, "qc", {"result": "fail", "inspector": "Foreman Qian", "notes": "pads rub"})
    await _clock(shop, brake_job, 900)
    await _act(shop, brake_job, "qc", {"result": "pass", "inspector": "Foreman Qian", "notes": ""})
    # Zhang, on the warranty line: 4,050 s at 45.00 = 5,062.5, which rounds half up to 5,063 fen.
    await _clock(shop, warranty_job, 4050)
    await _act(shop, warranty_job, "qc", {"result": "pass", "inspector": "Foreman Qian", "notes": ""})

    # Issued now: 2 pads at 21,800 = 43,600; 1 filter at 3,333.
    await _issue_all(shop, order_id)
    # What happens afterwards changes neither: a dearer receipt moves the pads' average, and
    # Li's new rate applies to work not yet done.
    await _receive(shop, PADS, 5, 30000)
    # (8 × 21,800 + 5 × 30,000) / 13 = 24,953.85, so 24,954.
    assert (await shop.stock(PADS))["average_cost_fen"] == 24954
    r = await shop.manager.get(f"/v1/technicians/{li['id']}")
    assert r.json()["hourly_cost_fen"] == 6000
    r = await shop.manager.patch(f"/v1/technicians/{li['id']}", json={"version": r.json()["version"],
                                                                      "hourly_cost_fen": 9000})
    assert r.status_code == 200 and r.json()["hourly_cost_fen"] == 9000

    # The glass firm's bill for the windscreen: 350.00.
    r = await put(shop.manager, f"/v1/repair-orders/{order_id}/sublets/{windscreen.line_id}",
                  {"cost_fen": 35000, "vendor": "Huaxin Glass"})
    assert r.status_code == 200, r.text
    assert r.json()["cost_fen"] == 35000 and r.json()["recorded_by"] == "manager-1"

    r = await shop.manager.get(f"/v1/repair-orders/{order_id}/cost")
    assert r.status_code == 200, r.text
    cost = r.json()
    by_line = {(line["kind"], line["line_id"]): line for line in cost["lines"]}
    assert by_line[("labor", brakes.line_id)]["cost_fen"] == 13500
    assert by_line[("labor", brakes.line_id)]["clocked_hours"] == "2.25"
    assert by_line[("labor", first_service.line_id)]["cost_fen"] == 5063
    assert by_line[("labor", first_service.line_id)]["pay_type"] == "warranty"
    pads_line = next(line for line in cost["lines"] if line["part_no"] == PADS)
    filter_line = next(line for line in cost["lines"] if line["part_no"] == FILTER)
    assert (pads_line["quantity"], pads_line["unit_cost_fen"], pads_line["cost_fen"]) == (2, 21800, 43600)
    assert (filter_line["quantity"], filter_line["unit_cost_fen"], filter_line["cost_fen"]) == (1, 3333, 3333)
    assert by_line[("sublet", windscreen.line_id)]["cost_fen"] == 35000
    assert len(cost["lines"]) == 5  # the fee costs the workshop nothing
    # Parts 43,600 + 3,333 = 46,933; labour 13,500 + 5,063 = 18,563; sublet 35,000; in all 100,496.
    assert (cost["parts_cost_fen"], cost["labor_cost_fen"], cost["sublet_cost_fen"], cost["total_cost_fen"]) == (
        46933, 18563, 35000, 100496)
    assert cost["clocked_hours"] == "3.38"  # 12,150 s
    # Warranty apart: the brand pays for 3,333 + 5,063 = 8,396; the customer's lines cost 92,100.
    assert cost["by_pay_type"] == [
        {"pay_type": "customer", "parts_cost_fen": 43600, "labor_cost_fen": 13500, "sublet_cost_fen": 35000,
         "total_cost_fen": 92100},
        {"pay_type": "warranty", "parts_cost_fen": 3333, "labor_cost_fen": 5063, "sublet_cost_fen": 0,
         "total_cost_fen": 8396},
    ]
    assert cost["missing"] == [] and cost["complete"] is True

    # Delivered (twice over): the totals go out once, for network's margin.
    shop.clock.advance(hours=2)
    done = delivered(shop.store_id, order_id, lines, delivered_at=shop.clock.now())
    await shop.deliver(done)
    await shop.deliver(delivered(shop.store_id, order_id, lines, delivered_at=shop.clock.now()))
    events = await outbox(shop.app, "workshop.order.costed", order_id)
    assert len(events) == 1
    data = events[0]["data"]
    assert (data["parts_cost_fen"], data["labor_cost_fen"], data["sublet_cost_fen"], data["total_cost_fen"]) == (
        46933, 18563, 35000, 100496)
    assert {p["pay_type"]: p["labor_cost_fen"] for p in data["by_pay_type"]} == {"customer": 13500, "warranty": 5063}
    assert {line["line_id"]: line["cost_fen"] for line in data["lines"] if line["kind"] != "part"} == {
        brakes.line_id: 13500, first_service.line_id: 5063, windscreen.line_id: 35000}
    assert data["costed_at"].startswith(shop.clock.now().isoformat()[:19]) and data["missing"] is None


async def test_returned_parts_come_off_at_their_issue_cost_and_counter_issues_to_the_order_count(shop):
    await _receive(shop, PADS, 4, 20000)
    order = approved(shop.store_id, [part(PADS, "3")], approved_at=shop.clock.now())
    await shop.deliver(order)
    await _issue_all(shop, order.subject)
    await _receive(shop, PADS, 1, 40000)  # average now (1 × 20,000 + 40,000) / 2 = 30,000
    reservation = (await shop.reservations_of(order.subject))[0]
    assert reservation["unit_cost_fen"] == 20000
    r = await shop.clerk.post(f"/v1/reservations/{reservation['id']}/return", json={"quantity": 1, "reason": "spare"})
    assert r.status_code == 200, r.text
    # Back on the shelf at 20,000: (2 × 30,000 + 20,000) / 3 = 26,666.67, so 26,667.
    assert (await shop.stock(PADS))["average_cost_fen"] == 26667
    r = await shop.clerk.post("/v1/stock/issues", json={"part_no": PADS, "qty": 1, "repair_order_id": order.subject,
                                                         "reason": "second set of clips"})
    assert r.status_code == 201, r.text

    cost = (await shop.manager.get(f"/v1/repair-orders/{order.subject}/cost")).json()
    lines = sorted((line["line_id"] is None, line["quantity"], line["cost_fen"]) for line in cost["lines"])
    # The reserved line: 3 out and 1 back at 20,000 = 40,000; the counter issue: 1 at 26,667.
    assert lines == [(False, 2, 40000), (True, 1, 26667)]
    assert cost["parts_cost_fen"] == 66667
    assert [p["pay_type"] for p in cost["by_pay_type"]] == ["counter", "customer"]


async def test_a_technician_without_a_cost_rate_and_an_unbilled_sublet_are_named_as_missing(shop):
    li = await _technician(shop, "Li Wei", ["brakes"], None)
    brakes, paint = labor("BRK-0210"), sublet("bumper repainted by Jiahe Paint")
    order = approved(shop.store_id, [brakes, paint], approved_at=shop.clock.now())
    await shop.deliver(order)
    job = (await shop.jobs_of(order.subject))[0]["id"]
    await _act(shop, job, "assign", {"technician_id": li["id"]})
    await _clock(shop, job, 3600)

    cost = (await shop.manager.get(f"/v1/repair-orders/{order.subject}/cost")).json()
    assert cost["complete"] is False and cost["total_cost_fen"] == 0
    assert cost["missing"] == ["技师 Li Wei 未设工时成本 technician Li Wei has no cost rate",
                               f"外协 {paint.description} 未录成本 sublet line {paint.line_id} has no cost recorded"]
    assert next(line for line in cost["lines"] if line["kind"] == "labor")["clocked_hours"] == "1.00"


async def test_costs_and_cost_rates_are_for_managers_advisors_and_hq_only(shop):
    li = await _technician(shop, "Li Wei", ["brakes"], 6000)
    order = approved(shop.store_id, [labor("BRK-0210"), sublet()], approved_at=shop.clock.now())
    await shop.deliver(order)
    url = f"/v1/repair-orders/{order.subject}/cost"
    for role in ("technician", "parts_clerk"):
        assert (await shop.caller(role).get(url)).status_code == 403
        r = await shop.caller(role).get(f"/v1/technicians/{li['id']}")
        assert r.status_code == 200 and r.json()["hourly_cost_fen"] is None
    for role in ("service_manager", "service_advisor", "hq_analyst"):
        assert (await shop.caller(role).get(url)).status_code == 200, role
    assert (await shop.caller("service_advisor").get(f"/v1/technicians/{li['id']}")).json()["hourly_cost_fen"] == 6000
    line_id = order.data["lines"][1]["line_id"]
    r = await put(shop.caller("service_advisor"), f"/v1/repair-orders/{order.subject}/sublets/{line_id}",
                  {"cost_fen": 1000})
    assert r.status_code == 403
    r = await put(shop.caller("store_manager", store_id=shop.other_store_id),
                  f"/v1/repair-orders/{order.subject}/sublets/{line_id}", {"cost_fen": 1000})
    assert r.status_code == 404
    r = await put(shop.manager, f"/v1/repair-orders/{order.subject}/sublets/{line_id}", {"cost_fen": -1})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "cost_fen"
    r = await shop.manager.patch(f"/v1/technicians/{li['id']}", json={"version": 1, "hourly_cost_fen": 100_001})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "hourly_cost_fen"
    assert (await shop.manager.get(f"/v1/repair-orders/{order.subject}/cost")).json()["labor_cost_fen"] == 0


async def test_brand_paid_first_maintenance_and_campaign_lines_become_jobs_and_reservations(shop):
    """`first_maintenance` is 17 characters: the workshop keeps it whole (pay type columns of 32)."""
    await _receive(shop, FILTER, 2, 3333)
    service, recall = labor("MNT-0110", pay_type="first_maintenance"), labor("BRK-0210", pay_type="campaign")
    order = approved(shop.store_id, [service, recall, part(FILTER, "1", pay_type="first_maintenance")],
                     approved_at=shop.clock.now())
    await shop.deliver(order)
    jobs = {j["line_id"]: j for j in await shop.jobs_of(order.subject)}
    assert (jobs[service.line_id]["pay_type"], jobs[recall.line_id]["pay_type"]) == ("first_maintenance", "campaign")
    assert [r["pay_type"] for r in await shop.reservations_of(order.subject)] == ["first_maintenance"]
