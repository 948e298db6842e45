"""The rules of outsourced work that a service manager argues about, apart from the database.

States: `draft → sent → returned → inspected → invoiced`. A failed inspection sends the
work back to the vendor (`returned → sent`, with a new promised day if one is given). An
invoice within the tolerance of the agreed price is matched at once (`inspected →
invoiced`); one beyond it is held (`inspected → invoice_held`) until a manager accepts it
(`→ invoiced`) or refuses it (`→ inspected`, to wait for a corrected one). A draft or the
work at the vendor may be cancelled, which frees the repair order's line for another."""
from __future__ import annotations

from datetime import date

from services.common.errors import InvalidTransition

# Invoices rarely match to the fen (rounding, a small consumable); a difference up to the
# larger of 10.00 CNY or 2 % of the agreed price is matched without asking anyone.
TOLERANCE_FEN = 1000
TOLERANCE_PERCENT = 2

TRANSITIONS: dict[str, dict[str, str]] = {
    "send": {"draft": "sent"},
    "return": {"sent": "returned"},
    "inspect_pass": {"returned": "inspected"},
    "inspect_fail": {"returned": "sent"},
    "invoice_matched": {"inspected": "invoiced"},
    "invoice_held": {"inspected": "invoice_held"},
    "accept_invoice": {"invoice_held": "invoiced"},
    "refuse_invoice": {"invoice_held": "inspected"},
    "cancel": {"draft": "cancelled", "sent": "cancelled"},
}
# Who may decide on an invoice that does not match: the store's managers, not whoever keyed it in.
INVOICE_DECIDERS = ("service_manager", "store_manager")


def next_status(current: str, action: str) -> str:
    """The state `action` leads to from `current`; 409 when it is not one of its moves."""
    target = TRANSITIONS[action].get(current)
    if target is None:
        raise InvalidTransition(current, action.split("_")[0] if action.startswith("inspect") else action)
    return target


def tolerance_fen(agreed_price_fen: int) -> int:
    """How far an invoice may be from the agreed price and still match: the larger of the
    fixed amount and the percentage of the price (rounded down to the fen)."""
    return max(TOLERANCE_FEN, agreed_price_fen * TOLERANCE_PERCENT // 100)


def invoice_matches(agreed_price_fen: int, invoice_amount_fen: int) -> bool:
    return abs(invoice_amount_fen - agreed_price_fen) <= tolerance_fen(agreed_price_fen)


def days_overdue(status: str, promised_on: date, today: date) -> int:
    """Days the vendor is late: only work at the vendor (`sent`) can be, from the day after the promise."""
    if status != "sent" or today <= promised_on:
        return 0
    return (today - promised_on).days
