"""What the demo counts as the story goes, and the summary it prints at the end."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class Tally(StrEnum):
    """Everything the demo counts. Plain strings underneath, so `counts["orders_opened"]`
    reads the same figure."""

    DEALER_STORES = "dealer_stores"
    OUTLET_APPLICATIONS = "outlet_applications"
    OUTLETS_ACTIVATED = "outlets_activated"
    APPOINTMENTS_BOOKED = "appointments_booked"
    APPOINTMENTS_CANCELLED = "appointments_cancelled"
    NO_SHOWS = "no_shows"
    WALK_INS = "walk_ins"
    ORDERS_OPENED = "orders_opened"
    ORDERS_DELIVERED = "orders_delivered"
    ORDERS_CANCELLED = "orders_cancelled"
    LINES_DECLINED = "lines_declined"
    SUPPLEMENTS = "supplements"
    COMEBACK_VISITS = "comeback_visits"
    COMEBACKS_DETECTED = "comebacks_detected"
    JOBS_PASSED = "jobs_passed"
    QC_FAILURES = "qc_failures"
    BACKORDERS = "backorders"
    PURCHASE_ORDERS = "purchase_orders"
    DELIVERIES_RECEIVED = "deliveries_received"
    ROADSIDE_REQUESTS = "roadside_requests"
    ROADSIDE_TOWED = "roadside_towed"
    CALLBACKS_COMPLETED = "callbacks_completed"
    CALLBACKS_UNREACHABLE = "callbacks_unreachable"
    CALLBACKS_CANCELLED = "callbacks_cancelled"
    FOLLOW_UPS_COMPLETED = "follow_ups_completed"
    CLUB_MEMBERS = "club_members"
    REMINDERS_PHONED = "reminders_phoned"
    CONSENTS_RECORDED = "consents_recorded"
    COMPLAINTS_OPENED = "complaints_opened"
    COMPLAINTS_PHONED_IN = "complaints_phoned_in"
    COMPLAINTS_RESOLVED = "complaints_resolved"
    COMPLAINTS_REOPENED = "complaints_reopened"
    COMPLAINTS_CLOSED = "complaints_closed"
    COMPLAINTS_ESCALATED = "complaints_escalated"
    CLAIMS_SUBMITTED = "claims_submitted"
    CLAIMS_APPROVED = "claims_approved"
    CLAIMS_PARTIAL = "claims_partial"
    CLAIMS_REJECTED = "claims_rejected"
    CLAIMS_TO_SECOND_APPROVAL = "claims_to_second_approval"
    CLAIMS_RESUBMITTED = "claims_resubmitted"
    SETTLEMENTS_ISSUED = "settlements_issued"
    SETTLEMENTS_CONFIRMED = "settlements_confirmed"
    SETTLEMENTS_PAID = "settlements_paid"
    AUDITS = "audits"
    CORRECTIVE_ACTIONS_CLOSED = "corrective_actions_closed"
    PDI_SHEETS = "pdi_sheets"
    PDI_DEFECTS = "pdi_defects"
    REGISTRATIONS = "registrations"
    REGISTERED_BEFORE = "registered_before"
    FIRST_MAINTENANCE = "first_maintenance"
    RECALL_REPAIRS = "recall_repairs"
    CAMPAIGN_CLAIMS = "campaign_claims"
    FIRST_MAINTENANCE_CLAIMS = "first_maintenance_claims"
    PDI_CLAIMS = "pdi_claims"
    PARTS_ASKED_BACK = "parts_asked_back"
    PARTS_SHIPPED = "parts_shipped"
    PARTS_RECEIVED = "parts_received"
    CHARGEBACKS_RETURNS = "chargebacks_returns"
    CHARGEBACKS_AUDIT = "chargebacks_audit"
    FLEET_ACCOUNTS = "fleet_accounts"
    FLEET_ORDERS = "fleet_orders"
    FLEET_LINK_APPROVALS = "fleet_link_approvals"
    CREDIT_OVERRIDES = "credit_overrides"
    ON_ACCOUNT_FEN = "on_account_fen"
    FLEET_PAYMENTS = "fleet_payments"
    FLEET_PAID_FEN = "fleet_paid_fen"
    PARTIAL_PAYMENTS = "partial_payments"
    PAYMENTS_ACROSS_ORDERS = "payments_across_orders"
    FLEET_STATEMENTS = "fleet_statements"
    ACCIDENT_REPAIRS = "accident_repairs"
    ASSESSMENTS = "assessments"
    SUPPLEMENTARY_ASSESSMENTS = "supplementary_assessments"
    LINES_CUT = "lines_cut"
    EXCESS_FEN = "excess_fen"
    INSURER_DUE_FEN = "insurer_due_fen"
    SUBLET_ORDERS = "sublet_orders"
    SUBLET_INVOICES_HELD = "sublet_invoices_held"
    SUBLET_COST_FEN = "sublet_cost_fen"


@dataclass
class Summary:
    first_day: date
    last_day: date
    seconds: float
    counts: Counter[str]
    kpis: dict
    errors: list[str]
    stores: dict[str, str]  # code -> id
    url: str
    # What reached the message providers' stand-ins, per channel (deploy/messaging.py), and CRM's view.
    messages: dict | None = None
    # GET /v1/targets/attainment of the last month replayed.
    targets: dict | None = None
    # The brand's side at the end: the recall's completion, statements with debits, part returns.
    brand: dict | None = None
    # Fleets (balances, the ledger, statements), what the stores are owed by payer, sublet orders.
    accounts: dict | None = None

    def text(self) -> str:
        c = self.counts
        k = self.kpis or {}
        revenue = (k.get("revenue_fen") or {}).get("total", 0)
        lines = [
            f"Demo: {self.first_day} .. {self.last_day} ({(self.last_day - self.first_day).days + 1} days) "
            f"in {self.seconds:.0f} s",
            f"  stores            {c[Tally.DEALER_STORES]} dealer stores, "
            f"{c[Tally.OUTLETS_ACTIVATED]} partner outlets onboarded",
            f"  appointments      {c[Tally.APPOINTMENTS_BOOKED]} booked, {c[Tally.APPOINTMENTS_CANCELLED]} cancelled, "
            f"{c[Tally.NO_SHOWS]} no-shows; {c[Tally.WALK_INS]} walk-ins",
            f"  repair orders     {c[Tally.ORDERS_OPENED]} opened, {c[Tally.ORDERS_DELIVERED]} delivered, "
            f"{c[Tally.ORDERS_CANCELLED]} cancelled, {c[Tally.SUPPLEMENTS]} supplements, "
            f"{c[Tally.COMEBACK_VISITS]} comeback visits ({c[Tally.COMEBACKS_DETECTED]} comebacks detected)",
            f"  workshop          {c[Tally.JOBS_PASSED]} jobs passed QC, "
            f"{c[Tally.QC_FAILURES]} failed QC and reworked; "
            f"{c[Tally.BACKORDERS]} backorders, {c[Tally.PURCHASE_ORDERS]} purchase orders",
            f"  roadside          {c[Tally.ROADSIDE_REQUESTS]} requests, {c[Tally.ROADSIDE_TOWED]} towed in",
            f"  callbacks         {c[Tally.CALLBACKS_COMPLETED]} surveys, "
            f"{c[Tally.CALLBACKS_UNREACHABLE]} unreachable, "
            f"{c[Tally.CALLBACKS_CANCELLED]} declined; {c[Tally.FOLLOW_UPS_COMPLETED]} follow-ups",
            f"  complaints        {c[Tally.COMPLAINTS_OPENED]} opened, {c[Tally.COMPLAINTS_RESOLVED]} resolved, "
            f"{c[Tally.COMPLAINTS_CLOSED]} closed on follow-up, {c[Tally.COMPLAINTS_ESCALATED]} escalated",
            f"  claims            {c[Tally.CLAIMS_SUBMITTED]} submitted ({c[Tally.FIRST_MAINTENANCE_CLAIMS]} first "
            f"maintenance, {c[Tally.CAMPAIGN_CLAIMS]} campaign, {c[Tally.PDI_CLAIMS]} PDI, the rest warranty), "
            f"{c[Tally.CLAIMS_APPROVED]} approved, "
            f"{c[Tally.CLAIMS_PARTIAL]} partly approved, {c[Tally.CLAIMS_REJECTED]} rejected, "
            f"{c[Tally.CLAIMS_RESUBMITTED]} resubmitted",
            f"  settlements       {c[Tally.SETTLEMENTS_ISSUED]} issued, {c[Tally.SETTLEMENTS_PAID]} paid",
            f"  new cars          {c[Tally.REGISTRATIONS]} registered at sale ({c[Tally.REGISTERED_BEFORE]} sold "
            f"in the year before, loaded at the start); {c[Tally.PDI_SHEETS]} PDI sheets, "
            f"{c[Tally.PDI_DEFECTS]} with a defect fixed before delivery; "
            f"{c[Tally.FIRST_MAINTENANCE]} first maintenances delivered",
            f"  reminders phoned  {c[Tally.REMINDERS_PHONED]} (the others went as letters); "
            f"club members {c[Tally.CLUB_MEMBERS]}; "
            f"audits {c[Tally.AUDITS]}",
        ]
        if self.messages is not None:
            arrived = self.messages.get("arrived") or {}
            per_channel = ", ".join(f"{arrived.get(ch, {}).get('messages', 0)} {name}"
                                    for ch, name in (("sms", "SMS"), ("wechat", "WeChat"), ("email", "email")))
            duplicates = sum(arrived.get(ch, {}).get("duplicates", 0) for ch in ("sms", "wechat", "email"))
            crm = self.messages.get("crm") or {}
            where = (f"{per_channel} arrived at the stand-ins; duplicates {duplicates}" if arrived
                     else f"no stand-ins answer at {self.messages.get('stand_ins')}")
            lines.append(
                f"  messages          {where}; "
                f"CRM: {', '.join(f'{n} {s}' for s, n in sorted(crm.items())) or 'not read'}; "
                f"consents recorded {c[Tally.CONSENTS_RECORDED]}")
        if k:
            lines.append(
                f"  KPIs (network)    delivered {k.get('repair_orders_delivered')}, revenue {_cny(revenue)}, "
                f"CSI {k.get('csi_average')}, callback SLA {k.get('callback_sla_rate')}, "
                f"first-time fix {k.get('first_time_fix_rate')}, parts fill {k.get('parts_fill_rate')}")
        margin = k.get("gross_margin") if k else None
        if margin:
            payer = margin["by_payer_fen"]
            lines.append(
                f"  gross margin      {_cny(margin['margin_fen'])} on {_cny(margin['revenue_fen'])} "
                f"({_rate(margin['margin_rate'])}) over {margin['orders']} orders costed "
                f"({margin['orders_incomplete']} incomplete); customer-pay {_cny(payer['customer'])}, "
                f"warranty {_cny(payer['warranty'])}, internal {_cny(payer['internal'])}, other {_cny(payer['other'])}")
        if self.brand:
            lines += _brand(self.brand, c)
        lines += _accounts(self.accounts or {}, c)
        if self.targets:
            lines.append(_attainment(self.targets))
        if self.errors:
            lines.append(f"  errors            {len(self.errors)} (first: {self.errors[0]})")
        month = self.last_day.strftime("%Y-%m")
        lines += [
            "Where to look:",
            f"  dashboard         {self.url}/dashboard  (sign in with the HQ admin key; choose 30 days)",
            f"  KPIs              {self.url}/api/network/v1/kpis?from={self.first_day}&to={self.last_day}",
            f"  CRM reports       {self.url}/api/crm/v1/reports?kind=weekly  and  "
            f"/api/crm/v1/reports/monthly?month={month}&store_id=<id>&fresh=true",
            f"  claims            {self.url}/api/network/v1/claims?status=submitted",
            f"  targets           {self.url}/api/network/v1/targets/attainment?period={month}",
            f"  recall            {self.url}/api/network/v1/campaigns?status=published  (then /{{id}}/completion)",
            f"  statements        {self.url}/api/network/v1/settlements  (debits: chargebacks taken back)",
            f"  receivables       {self.url}/api/reception/v1/receivables  and  /api/reception/v1/fleets"
            f"  (docs/walkthrough-fleets-insurance-receivables.md)",
        ]
        return "\n".join(lines)


def _attainment(report: dict) -> str:
    """The network's month: actual of target (attained), and where the pace ends it."""
    shown = []
    for row in report["network"]["measures"]:
        if row["target"] is None or row["actual"] is None:
            continue
        fen = row["unit"] == "fen"
        actual, target = (_cny(row["actual"]), _cny(row["target"])) if fen else (row["actual"], row["target"])
        pct = f"{float(row['attained']) * 100:.1f} %" if row["attained"] is not None else "–"
        ahead = f", projected {float(row['projected_attained']) * 100:.1f} %" if row["projected_attained"] else ""
        shown.append(f"{row['measure']} {actual} of {target} ({pct}{ahead})")
    return f"  targets {report['period']}  " + ("; ".join(shown) or "none set")


def _brand(brand: dict, c: Counter[str]) -> list[str]:
    recall = brand.get("recall") or {}
    stores = ", ".join(f"{s['store_code']} {s['completed']}" for s in recall.get("stores") or [] if s["completed"])
    returns = brand.get("returns") or {}
    debits = brand.get("debits") or {}
    return [
        f"  recall {brand.get('recall_code')}  {recall.get('affected', 0):,} VINs listed "
        f"({brand.get('listed_at_our_stores', 0)} among the stores' customers), {recall.get('completed', 0)} fixed "
        f"(completion {_rate(recall.get('completion_rate'))}; {stores or 'none yet'}); "
        f"{c[Tally.RECALL_REPAIRS]} recall orders delivered",
        f"  old parts         {c[Tally.PARTS_ASKED_BACK]} asked back, {c[Tally.PARTS_SHIPPED]} shipped, "
        f"{c[Tally.PARTS_RECEIVED]} received; now "
        + (", ".join(f"{n} {status}" for status, n in sorted(returns.items())) or "none"),
        f"  chargebacks       {c[Tally.CHARGEBACKS_AUDIT]} after audit, "
        f"{c[Tally.CHARGEBACKS_RETURNS]} from returned parts; "
        f"on statements: {_cny(brand.get('debits_fen', 0))} taken back "
        f"({', '.join(f'{n} {code}' for code, n in sorted(debits.items())) or 'none yet'}); "
        f"statements with debits {brand.get('settlements_with_debits', 0)}, "
        f"below zero {brand.get('settlements_owed_by_store', 0)}",
    ]


def _accounts(accounts: dict, c: Counter[str]) -> list[str]:
    owed: Counter[str] = Counter()
    for by_payer in (accounts.get("receivables") or {}).values():
        owed.update(by_payer)
    sublets = accounts.get("sublets") or {}
    return [
        f"  fleets            {c[Tally.FLEET_ACCOUNTS]} accounts, {c[Tally.FLEET_ORDERS]} fleet orders, "
        f"{c[Tally.FLEET_LINK_APPROVALS]} approved by the fleet's link, {c[Tally.CREDIT_OVERRIDES]} credit stops "
        f"overridden; {_cny(c[Tally.ON_ACCOUNT_FEN])} on account, {c[Tally.FLEET_STATEMENTS]} monthly statements; "
        "availability " + (", ".join(f"{f['name']} {f['uptime']['availability_percent']} %"
                                     for f in accounts.get("fleets") or []) or "–"),
        f"  insurance         {c[Tally.ACCIDENT_REPAIRS]} accident repairs; {c[Tally.ASSESSMENTS]} assessments "
        f"({c[Tally.LINES_CUT]} with a line cut), {c[Tally.SUPPLEMENTARY_ASSESSMENTS]} supplementary; delivered: "
        f"excess {_cny(c[Tally.EXCESS_FEN])} paid by customers, {_cny(c[Tally.INSURER_DUE_FEN])} due from insurers",
        f"  sublets           {c[Tally.SUBLET_ORDERS]} sent to vendors, {c[Tally.SUBLET_INVOICES_HELD]} invoices held "
        f"and accepted; now " + (", ".join(f"{n} {status}" for status, n in sorted(sublets.items())) or "none")
        + f"; cost {_cny(accounts.get('sublet_cost_fen', 0))}",
        f"  receivables       {c[Tally.FLEET_PAYMENTS]} fleet payments ({_cny(c[Tally.FLEET_PAID_FEN])}; "
        f"{c[Tally.PARTIAL_PAYMENTS]} partial, {c[Tally.PAYMENTS_ACROSS_ORDERS]} across orders); open now "
        + (", ".join(f"{kind} {_cny(fen)}" for kind, fen in sorted(owed.items())) or "nothing"),
    ]


def _rate(value: str | None) -> str:
    return "–" if value is None else f"{float(value) * 100:.1f} %"


def _cny(fen: int) -> str:
    return f"{fen / 100:,.2f} CNY"
