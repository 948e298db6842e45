"""A store's day with fleets, an insurer and a vendor, through the gateway, every process real:
the steps of docs/walkthrough-fleets-insurance-receivables.md, each answer asserted.

The store manager opens a fleet account; the fleet's car comes in above the approval limit
and the fleet manager approves it through the link, without a key; it settles on account.
The fleet's second car runs into the credit stop, an advisor may not override it, the
manager does. The month's statement lists both at contract prices; the cashier sees them
on the ledger and matches one transfer across both orders, the second partly. An accident
repair waits for the insurer's assessment, which cuts one line and sets the excess; the
paint goes to a vendor on a sublet order, whose invoice is held until the manager accepts
it; a supplement goes back to the insurer; the customer pays the excess and the sublet's
cost reaches the order's margin; the insurer owes its share on the ledger, and the fleet's
uptime counts the day its cars spent at the store."""
from __future__ import annotations

import uuid

import httpx

from tools.client import Api, ApiError, Store, issue_key, open_store, store_today, until_known, wait_for

R = "/api/reception/v1"
W = "/api/workshop/v1"
CONTRACT = {"labour_discount_percent": "10.00", "parts_discount_percent": "5.00",
            "approval_limit_fen": 100000, "credit_limit_fen": 150000, "payment_terms_days": 30}
INSPECTION = {"fuel_level": "half", "exterior_damage": [], "warning_lights": [], "valuables": [], "notes": ""}
VAN = "LSVFL2180N3000019"
TAXI = "LSVFL2180N3000027"
ACCIDENT = "LSVAC2180N3000035"


def _rule(refused: ApiError) -> str | None:
    return refused.body.get("rule") if isinstance(refused.body, dict) else None


async def _refused(call, status: int) -> ApiError:
    try:
        await call
    except ApiError as refused:
        assert refused.status == status, refused
        return refused
    raise AssertionError(f"expected {status}")


async def _check_in(store: Store, vin: str, plate: str, driver: str, phone: str, complaint: str, **extra) -> dict:
    return await store.advisor.post(f"{R}/repair-orders", {
        "customer": {"name": driver, "phone": phone}, "vehicle": {"vin": vin, "plate": plate, "model": "Horizon SUV"},
        "mileage_km": 64000, "complaint": complaint, "inspection": INSPECTION, **extra})


async def _line(store: Store, ro: str, line: dict) -> dict:
    answer = await store.advisor.post(f"{R}/repair-orders/{ro}/lines", line)
    return max(answer["lines"], key=lambda written: written["position"])


async def _work(store: Store, ro: str, *, jobs: int, parts: int) -> None:
    """Assign, clock and pass every job not yet done; issue every part reserved."""
    async def made():
        page = await store.technician.get(f"{W}/jobs", repair_order_id=ro, limit=200)
        return page["items"] if len(page["items"]) >= jobs else None

    for job in await wait_for(made, 30, what=f"jobs of {ro}"):
        if job["status"] in ("completed", "qc_passed", "passed"):
            continue
        path = f"{W}/jobs/{job['id']}"
        await store.manager.post(f"{path}/assign", {"technician_id": store.technician_id})
        await store.technician.post(f"{path}/start")
        await store.technician.post(f"{path}/complete", {"notes": "done"})
        await store.manager.post(f"{path}/qc", {"result": "pass", "notes": "checked"})

    async def reserved():
        page = await store.parts_clerk.get(f"{W}/reservations", repair_order_id=ro, limit=200)
        return page["items"] if len(page["items"]) >= parts else None

    for reservation in await wait_for(reserved, 30, what=f"reservations of {ro}") if parts else []:
        if reservation["status"] != "issued":
            await store.parts_clerk.post(f"{W}/reservations/{reservation['id']}/issue")


async def _ready(store: Store, ro: str) -> dict:
    async def ready():
        order = await store.advisor.get(f"{R}/repair-orders/{ro}")
        return order if order["status"] == "ready" else None

    return await wait_for(ready, 30, what=f"{ro} ready")


async def test_a_store_day_with_fleets_an_insurer_and_a_vendor(platform):
    async with httpx.AsyncClient(base_url=platform.gateway.url, timeout=30) as http:
        hq = Api(http, platform.bootstrap_key)
        store = await open_store(hq, http, code="SH-E2E-19", name="Shanghai Fleet 4S Store",
                                 stock={"XB-45022-F10": 2, "XB-15400-001": 2, "XB-08880-430": 2, "XB-71101-BMP": 1})
        cashier = Api(http, (await issue_key(hq, "cashier", store.id, "SH-E2E-19 cashier")).key)

        # 1. The store manager opens the fleet account.
        fleet = await until_known(lambda: store.manager.post(f"{R}/fleets", {
            "name": "顺达物流 Shunda Logistics", "contract": CONTRACT,
            "contacts": [{"name": "王强 Wang Qiang", "phone": "13911112222", "title": "车队经理 fleet manager",
                          "approves": True}],
            "vehicles": [{"vin": VAN, "plate": "沪B10001", "driver": {"name": "李师傅 Li", "phone": "13955556666"}},
                         {"vin": TAXI, "plate": "沪B10002"}]}))
        contact = fleet["contacts"][0]["id"]
        assert (fleet["balance_fen"], fleet["credit_available_fen"], fleet["credit_stop"]) == (0, 150000, False)
        await _refused(store.advisor.post(f"{R}/fleets", {"name": "x", "contract": CONTRACT}), 403)

        # 2. The van comes in: front brakes at contract prices, above the approval limit.
        van = await _check_in(store, VAN, "沪B10001", "李师傅 Li", "13955556666", "Brakes squeal")
        ro = van["id"]
        assert van["fleet"]["fleet_id"] == fleet["id"]
        labour = await _line(store, ro, {"kind": "labor", "op_code": "BRK-0210", "pay_type": "customer"})
        pads = await _line(store, ro, {"kind": "part", "part_no": "XB-45022-F10", "quantity": "1",
                                       "pay_type": "customer"})
        assert (labour["amount_fen"], pads["amount_fen"]) == (34200, 64600)  # 380.00 less 10 %, 680.00 less 5 %
        estimate = await store.advisor.post(f"{R}/repair-orders/{ro}/estimate")
        due = estimate["totals"]["customer_due_fen"]
        assert due == 98800 + 12844 == 111644  # VAT 13 %
        refused = await _refused(store.advisor.post(f"{R}/repair-orders/{ro}/approve",
                                                    {"approved_by": "李师傅 Li", "channel": "in_person"}), 409)
        assert (_rule(refused), refused.body["amount_fen"], refused.body["approval_limit_fen"]) == (
            "fleet_approval", due, 100000)

        # 3. The fleet manager approves through the link: no key, the token instead.
        link = await store.advisor.post(f"{R}/repair-orders/{ro}/fleet-approval-link", {"contact_id": contact})
        assert link["amount_fen"] == due and link["contact"]["name"] == "王强 Wang Qiang"
        approved = await http.post(f"{R}/repair-orders/{ro}/fleet-approval", json={"token": link["token"],
                                   "note": "同意"}, headers={"Idempotency-Key": uuid.uuid4().hex})
        assert approved.status_code == 200, approved.text
        assert approved.json()["fleet"]["approved_fen"] == due
        assert approved.json()["fleet"]["approved_by"]["channel"] == "link"
        again = await http.post(f"{R}/repair-orders/{ro}/fleet-approval", json={"token": link["token"]},
                                headers={"Idempotency-Key": uuid.uuid4().hex})
        assert again.status_code == 404  # a link approves once
        await store.advisor.post(f"{R}/repair-orders/{ro}/approve",
                                 {"approved_by": "李师傅 Li", "channel": "in_person"})
        await _work(store, ro, jobs=1, parts=1)
        await _ready(store, ro)
        settled = await store.advisor.post(f"{R}/repair-orders/{ro}/settle",
                                           {"payments": [{"method": "on_account", "amount_fen": due}]})
        assert settled["fleet"]["on_account_fen"] == due
        await store.advisor.post(f"{R}/repair-orders/{ro}/deliver", {"explained": True})

        # 4. The second car: the balance with its order would pass the credit limit.
        taxi = await _check_in(store, TAXI, "沪B10002", "张师傅 Zhang", "13977778888", "Service due")
        ro2 = taxi["id"]
        for line in ({"kind": "labor", "op_code": "MNT-0100", "pay_type": "customer"},
                     {"kind": "part", "part_no": "XB-15400-001", "quantity": "1", "pay_type": "customer"},
                     {"kind": "part", "part_no": "XB-08880-430", "quantity": "1", "pay_type": "customer"}):
            await _line(store, ro2, line)
        due2 = (await store.advisor.post(f"{R}/repair-orders/{ro2}/estimate"))["totals"]["customer_due_fen"]
        assert due2 == 64947  # 171.00 + 42.75 + 361.00 = 574.75 CNY, VAT 74.72
        refused = await _refused(store.advisor.post(f"{R}/repair-orders/{ro2}/approve",
                                                    {"approved_by": "张师傅 Zhang", "channel": "in_person"}), 409)
        assert (_rule(refused), refused.body["balance_fen"], refused.body["amount_fen"]) == (
            "fleet_credit_stop", due, due2)
        await _refused(store.advisor.post(f"{R}/repair-orders/{ro2}/credit-override", {"reason": "please"}), 403)
        overridden = await store.manager.post(f"{R}/repair-orders/{ro2}/credit-override",
                                              {"reason": "付款已在途 payment on its way"})
        assert overridden["fleet"]["credit_override"]["reason"] == "付款已在途 payment on its way"
        await store.advisor.post(f"{R}/repair-orders/{ro2}/approve", {"approved_by": "张师傅 Zhang",
                                                                       "channel": "in_person"})
        await _work(store, ro2, jobs=1, parts=2)
        await _ready(store, ro2)
        await store.advisor.post(f"{R}/repair-orders/{ro2}/settle",
                                 {"payments": [{"method": "on_account", "amount_fen": due2}]})
        await store.advisor.post(f"{R}/repair-orders/{ro2}/deliver", {"explained": True})
        stopped = await store.manager.get(f"{R}/fleets/{fleet['id']}")
        assert (stopped["balance_fen"], stopped["credit_available_fen"], stopped["credit_stop"]) == (
            due + due2, 150000 - due - due2, True)

        # 5. The month's statement: both orders, at contract prices, on account.
        month = store_today().strftime("%Y-%m")
        statement = await store.manager.get(f"{R}/fleets/{fleet['id']}/statements/{month}")
        assert [line["repair_order_id"] for line in statement["orders"]] == [ro, ro2]
        assert statement["totals"] == {"orders": 2, "discount_fen": 3800 + 3400 + 1900 + 225 + 1900,
                                       "customer_due_fen": due + due2, "on_account_fen": due + due2, "paid_fen": 0}

        # Both cars were off the road today: checked in and handed over on the store's day.
        today = store_today().isoformat()
        uptime = await store.manager.get(f"{R}/fleets/{fleet['id']}/uptime", **{"from": today, "to": today})
        assert {(v["vin"], v["days_off_road"]) for v in uptime["vehicles"]} == {(VAN, 1), (TAXI, 1)}
        assert (uptime["totals"]["vehicle_days"], uptime["totals"]["days_off_road"]) == (2, 2)

        # 6. The ledger, and one transfer across both orders, the second only in part.
        ledger = await cashier.get(f"{R}/receivables", payer_kind="fleet", payer_id=fleet["id"], bucket="0-30")
        items = {item["source_id"]: item for item in ledger["items"]}
        assert set(items) == {ro, ro2} and ledger["open_fen"] == due + due2
        assert ledger["totals"][0] == {"bucket": "0-30", "count": 2, "open_fen": due + due2}
        assert all(item["days_past_due"] == 0 for item in items.values())
        await _refused(store.advisor.get(f"{R}/receivables"), 403)
        paid = await cashier.post(f"{R}/receivables/payments", {
            "payer_kind": "fleet", "payer_id": fleet["id"], "amount_fen": due + 30000,
            "received_on": store_today().isoformat(), "method": "bank_transfer", "reference": "BOC-0042",
            "allocations": [{"receivable_id": items[ro]["id"], "amount_fen": due},
                            {"receivable_id": items[ro2]["id"], "amount_fen": 30000}]})
        assert [(a["amount_fen"], a["open_fen"]) for a in paid["allocations"]] == [(due, 0), (30000, due2 - 30000)]
        left = await cashier.get(f"{R}/receivables", payer_kind="fleet", payer_id=fleet["id"])
        assert [(i["source_id"], i["open_fen"]) for i in left["items"]] == [(ro2, due2 - 30000)]
        freed = await store.manager.get(f"{R}/fleets/{fleet['id']}")
        assert (freed["balance_fen"], freed["credit_stop"]) == (due2 - 30000, False)
        assert (await cashier.get(f"{R}/receivables/overdue"))["accounts"] == []

        # 7. An accident repair for an insurer: the work waits for the assessment.
        crash = await _check_in(store, ACCIDENT, "沪C20003", "陈静 Chen Jing", "13600001111",
                                "Rear-ended a van; front bumper broken",
                                insurance={"insurer": "中国人保 PICC", "claim_no": "RDAA2026310000042"})
        ro3 = crash["id"]
        body = await _line(store, ro3, {"kind": "labor", "op_code": "BDY-0200", "pay_type": "insurance"})
        bumper = await _line(store, ro3, {"kind": "part", "part_no": "XB-71101-BMP", "quantity": "1",
                                          "pay_type": "insurance"})
        paint = await _line(store, ro3, {"kind": "sublet", "description": "Bumper paint (sublet)",
                                         "unit_price_fen": 80000, "pay_type": "insurance"})
        await store.advisor.post(f"{R}/repair-orders/{ro3}/estimate")
        refused = await _refused(store.advisor.post(f"{R}/repair-orders/{ro3}/approve",
                                                    {"approved_by": "陈静 Chen Jing", "channel": "in_person"}), 409)
        assert _rule(refused) == "insurance_assessment_required"
        assessor = {"name": "孙立 Sun Li", "phone": "13800138000"}
        cut = bumper["amount_fen"] - 30000
        approved_total = body["amount_fen"] + cut + paint["amount_fen"]
        assessed = await store.advisor.call("PUT", f"{R}/repair-orders/{ro3}/assessment", {
            "insurer": "中国人保 PICC", "claim_no": "RDAA2026310000042", "assessor": assessor,
            "lines": [{"line_id": body["id"], "approved_fen": body["amount_fen"]},
                      {"line_id": bumper["id"], "approved_fen": cut},
                      {"line_id": paint["id"], "approved_fen": paint["amount_fen"]}],
            "approved_total_fen": approved_total, "excess_fen": 50000})
        assessment = assessed["insurance_assessment"]
        assert (assessment["round"], assessment["write_off_fen"], assessment["insurer_due_fen"]) == (
            1, 30000, approved_total - 50000)
        assert assessed["totals"]["customer_due_fen"] == 50000  # the excess, nothing else
        await store.advisor.post(f"{R}/repair-orders/{ro3}/approve", {"approved_by": "陈静 Chen Jing",
                                                                       "channel": "in_person"})

        # 8. The paint goes to a vendor on a sublet order; its invoice differs and is held.
        vendor = await store.manager.post(f"{W}/vendors", {"name": "彩虹喷涂 Caihong Paint Shop",
                                                            "specialties": ["paint", "body"]})
        sublet = await until_known(lambda: store.manager.post(f"{W}/sublet-orders", {
            "repair_order_id": ro3, "line_id": paint["id"], "vendor_id": vendor["id"], "work": "Paint the bumper",
            "agreed_price_fen": 48000, "promised_on": store_today().isoformat()}))
        path = f"{W}/sublet-orders/{sublet['id']}"
        assert (await store.manager.post(f"{path}/send"))["status"] == "sent"
        assert (await store.manager.post(f"{path}/return", {"note": "done"}))["status"] == "returned"
        inspected = await store.manager.post(f"{path}/inspection", {"result": "pass", "note": "colour matches"})
        assert inspected["status"] == "inspected"
        held = await store.manager.post(f"{path}/invoice", {"number": "CH-2026-118", "amount_fen": 53760})
        assert (held["status"], held["difference_fen"], held["tolerance_fen"]) == ("invoice_held", 5760, 1000)
        accepted = await store.manager.post(f"{path}/invoice/accept", {"note": "extra masking agreed by phone"})
        assert (accepted["status"], accepted["cost_fen"]) == ("invoiced", 53760)

        # 9. A supplement goes back to the insurer.
        fender = await _line(store, ro3, {"kind": "labor", "op_code": "BDY-0100", "pay_type": "insurance"})
        refused = await _refused(store.advisor.post(f"{R}/repair-orders/{ro3}/approve",
                                                    {"approved_by": "陈静 Chen Jing", "channel": "phone"}), 409)
        assert (_rule(refused), refused.body["line_ids"]) == ("insurance_assessment_required", [fender["id"]])
        current = await store.advisor.get(f"{R}/repair-orders/{ro3}")
        assert current["insurance_assessment"]["waiting_line_ids"] == [fender["id"]]
        supplementary = await store.advisor.call("PUT", f"{R}/repair-orders/{ro3}/assessment", {
            "insurer": "中国人保 PICC", "claim_no": "RDAA2026310000042", "assessor": assessor,
            "lines": [*({"line_id": line["line_id"], "approved_fen": line["approved_fen"]}
                        for line in current["insurance_assessment"]["lines"]),
                      {"line_id": fender["id"], "approved_fen": fender["amount_fen"]}],
            "approved_total_fen": approved_total + fender["amount_fen"], "excess_fen": 50000,
            "version": current["version"]})
        assert supplementary["insurance_assessment"]["round"] == 2
        insurer_due = approved_total + fender["amount_fen"] - 50000
        assert supplementary["totals"]["insurer_due_fen"] == insurer_due
        await store.advisor.post(f"{R}/repair-orders/{ro3}/approve", {"approved_by": "陈静 Chen Jing",
                                                                       "channel": "phone"})
        await _work(store, ro3, jobs=2, parts=1)
        await _ready(store, ro3)
        settled = await store.advisor.post(f"{R}/repair-orders/{ro3}/settle",
                                           {"payments": [{"method": "wechat_pay", "amount_fen": 50000}]})
        assert (settled["totals"]["excess_fen"], settled["totals"]["insurer_due_fen"]) == (50000, insurer_due)
        await store.advisor.post(f"{R}/repair-orders/{ro3}/deliver", {"explained": True})
        # The insurer owes its share, the claim number its reference.
        owed = await cashier.get(f"{R}/receivables", payer_kind="insurer")
        assert [(i["source_id"], i["amount_fen"], i["reference"]) for i in owed["items"]] == [
            (ro3, insurer_due, "RDAA2026310000042")]

        # 10. The sublet's cost is the order's: the vendor's invoice, accepted.
        cost = await store.manager.get(f"{W}/repair-orders/{ro3}/cost")
        sublet_line = next(line for line in cost["lines"] if line["kind"] == "sublet")
        assert (sublet_line["cost_fen"], sublet_line["cost_source"], cost["sublet_cost_fen"]) == (
            53760, "invoice", 53760)
