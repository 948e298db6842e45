"""The permission matrix of the public contract (API.md), written once.

The gateway enforces it per route and role; each service enforces it again with
`require_access`, and filters by store, so a valid identity of store A never reaches
store B's objects."""
from __future__ import annotations

import re
from typing import Literal

Level = Literal["r", "w"]

MATRIX: dict[str, dict[str, Level]] = {
    "network": {
        "hq_admin": "w", "hq_analyst": "r", "region_manager": "r", "store_manager": "r", "service_manager": "r",
        "outlet_api": "r",
    },
    # The staff directory: a store's managers keep their own store's people; everyone reads
    # their own store's (HQ roles every store's). Finer rules in services/network/people.
    "people": {
        "hq_admin": "w", "hq_analyst": "r", "region_manager": "r", "store_manager": "w", "service_manager": "w",
        "service_advisor": "r", "technician": "r", "parts_clerk": "r", "crm_agent": "r", "warranty_clerk": "r",
        "cashier": "r", "outlet_api": "r",
    },
    # A cashier settles orders at reception; the warranty clerk reads orders to file claims.
    "reception": {
        "hq_admin": "w", "hq_analyst": "r", "store_manager": "w", "service_manager": "w", "service_advisor": "w",
        "technician": "r", "parts_clerk": "r", "crm_agent": "r", "warranty_clerk": "r", "cashier": "w",
        "outlet_api": "w",
    },
    "workshop_jobs": {
        "hq_admin": "w", "hq_analyst": "r", "store_manager": "w", "service_manager": "w", "service_advisor": "r",
        "technician": "w", "parts_clerk": "r", "outlet_api": "w",
    },
    "workshop_parts": {
        "hq_admin": "w", "hq_analyst": "r", "store_manager": "w", "service_manager": "w", "service_advisor": "r",
        "technician": "r", "parts_clerk": "w", "outlet_api": "w",
    },
    # The work-in-progress board and what orders cost (margin's inputs): the store's managers
    # and advisors, and HQ; not the technicians or the parts desk. Managers record sublet costs.
    "workshop_board": {
        "hq_admin": "w", "hq_analyst": "r", "store_manager": "w", "service_manager": "w", "service_advisor": "r",
    },
    "crm": {
        "hq_admin": "w", "hq_analyst": "r", "store_manager": "w", "service_manager": "w", "service_advisor": "w",
        "crm_agent": "w", "outlet_api": "r",
    },
    # hq_admin writes by reviewing; store roles write by submitting.
    "claims": {
        "hq_admin": "w", "hq_analyst": "r", "region_manager": "r", "store_manager": "w", "service_manager": "w",
        "service_advisor": "w", "warranty_clerk": "w", "outlet_api": "w",
    },
    # hq_admin writes by issuing and paying; store roles write by confirming.
    "settlements": {
        "hq_admin": "w", "hq_analyst": "r", "region_manager": "r", "store_manager": "w", "service_manager": "w",
        "service_advisor": "r", "warranty_clerk": "r", "outlet_api": "w",
    },
    "kpis": {
        "hq_admin": "r", "hq_analyst": "r", "region_manager": "r", "store_manager": "r", "service_manager": "r",
        "outlet_api": "r",
    },
    # Targets and attainment: HQ sets a store's year, the store's managers split it into months
    # and people; the people who carry targets read their own. Finer rules in services/network/targets.
    "targets": {
        "hq_admin": "w", "hq_analyst": "r", "region_manager": "r", "store_manager": "w", "service_manager": "w",
        "service_advisor": "r", "technician": "r", "parts_clerk": "r", "crm_agent": "r", "warranty_clerk": "r",
    },
    # A store's day in one page: its managers read it and sign it off; HQ reads every store's
    # and sees which stores signed. Finer rules in services/network/daily_reports.
    # Recall and service campaigns: HQ drafts, uploads the VINs and publishes; every store role
    # looks a car up and reads its own store's completion. Finer rules in services/network/campaigns.
    "campaigns": {
        "hq_admin": "w", "hq_analyst": "r", "region_manager": "r", "store_manager": "r", "service_manager": "r",
        "service_advisor": "r", "warranty_clerk": "r", "crm_agent": "r", "outlet_api": "r",
    },
    "daily_reports": {
        "hq_admin": "r", "hq_analyst": "r", "region_manager": "r", "store_manager": "w", "service_manager": "w",
    },
    # The Three Guarantees (三包) watch: read-only. The advisor reads a car's counts at check-in,
    # managers and the warranty clerk their store's cars at risk, HQ every car. Finer rules
    # (a store reads the cars it repaired) in services/network/three_guarantees.
    "three_guarantees": {
        "hq_admin": "r", "hq_analyst": "r", "region_manager": "r", "store_manager": "r", "service_manager": "r",
        "service_advisor": "r", "warranty_clerk": "r", "outlet_api": "r",
    },
    # New-car intake: the store's warranty clerk (or the sales system, with the store's outlet
    # key) records PDI sheets and registrations; whoever services a car reads its cover.
    "vehicles": {
        "hq_admin": "w", "hq_analyst": "r", "region_manager": "r", "store_manager": "w", "service_manager": "w",
        "service_advisor": "r", "crm_agent": "r", "warranty_clerk": "w", "outlet_api": "w",
    },
    # Outlet webhooks: the outlet's own system (its key) and its store manager register and
    # manage its endpoints; HQ manages any store's. Finer rules in services/network/webhooks.
    "webhooks": {
        "hq_admin": "w", "hq_analyst": "r", "region_manager": "r", "store_manager": "w", "service_manager": "r",
        "outlet_api": "w",
    },
    # Training and certification: HQ adds courses and grants certificates (hq_admin any, the
    # brand's trainers their own courses'); a store's managers read their own people's and
    # what runs out soon; the rest of a store's staff read the courses (an advisor booking
    # high-voltage work sees it needs a certified technician) and their own certificates.
    # Finer rules in services/network/certifications.
    "certifications": {
        "hq_admin": "w", "hq_analyst": "w", "store_manager": "r", "service_manager": "r", "service_advisor": "r",
        "technician": "r", "parts_clerk": "r", "crm_agent": "r", "warranty_clerk": "r", "cashier": "r",
    },
    # The brand's policies (warranty, Three Guarantees, campaigns, labour operations, parts
    # prices, ...): everyone who works by them reads them; only hq_admin adds versions.
    "policies": {
        "hq_admin": "w", "hq_analyst": "r", "region_manager": "r", "store_manager": "r", "service_manager": "r",
        "service_advisor": "r", "technician": "r", "parts_clerk": "r", "crm_agent": "r", "warranty_clerk": "r",
        "cashier": "r", "outlet_api": "r",
    },
}

# Booking an appointment is the one reception write open to the information clerk as well:
# the next service is booked on the call, while the customer is on the line (docs/crm.md).
# The area is the path of the appointments list and of booking, nothing under it.
MATRIX["reception_booking"] = {**MATRIX["reception"], "crm_agent": "w"}
BOOKING_PATH = "/v1/appointments"
# A region manager decides its regions' claims up to the region's limit (services/network/claims):
# the decision is its one claims write. The area is a claim's decision, nothing else.
MATRIX["claims_review"] = {**MATRIX["claims"], "region_manager": "w"}
_CLAIM_DECISION = re.compile(r"^/v1/claims/[^/]+/decision$")

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def allowed(area: str, role: str, method: str) -> bool:
    if role == "system":
        return True
    level = MATRIX.get(area, {}).get(role)
    if level is None:
        return False
    return method.upper() in READ_METHODS or level == "w"


_WORKSHOP_BOARD = "/v1/work-in-progress"
# A workshop order's cost, and the sublet costs recorded on it.
_ORDER_COSTS = re.compile(r"^/v1/repair-orders/[^/]+/(cost|sublets)(/|$)")
# Outsourced work: the vendors and the sublet orders whose prices are the orders' sublet costs.
_OUTSOURCED = ("/v1/vendors", "/v1/sublet-orders")
_WORKSHOP_PARTS = ("/v1/parts", "/v1/stock", "/v1/reservations", "/v1/reorder-suggestions", "/v1/purchase-orders")
PUBLIC_ROUTES = (("POST", "network", "/v1/outlet-applications"),)


def area_for(service: str, path: str) -> str | None:
    """Which area of the matrix a service path (`/v1/...`) belongs to."""
    if service == "reception":
        return "reception_booking" if path == BOOKING_PATH else "reception"
    if service == "crm":
        return "crm"
    if service == "workshop":
        if path.startswith((_WORKSHOP_BOARD, *_OUTSOURCED)) or _ORDER_COSTS.match(path):
            return "workshop_board"
        return "workshop_parts" if path.startswith(_WORKSHOP_PARTS) else "workshop_jobs"
    if service == "network":
        if path.startswith("/v1/three-guarantees") or path.endswith(("/three-guarantees", "/sanbao")):
            return "three_guarantees"
        if path.startswith("/v1/daily-reports") or "/daily-reports/" in path:
            return "daily_reports"
        if path.startswith("/v1/targets") or "/targets/" in path or path.endswith("/attainment"):
            return "targets"
        if path.startswith("/v1/campaigns") or (path.startswith("/v1/vehicles/") and path.endswith("/campaigns")):
            return "campaigns"
        if _CLAIM_DECISION.match(path) and not path.startswith("/v1/claims/goodwill-authorisations/"):
            return "claims_review"
        if path.startswith(("/v1/claims", "/v1/part-returns", "/v1/preauthorisations")):
            return "claims"
        if path.startswith("/v1/settlements"):
            return "settlements"
        if path.startswith("/v1/vehicles"):
            return "vehicles"
        if path.startswith("/v1/people"):
            return "people"
        if path.startswith("/v1/webhooks"):
            return "webhooks"
        if path.startswith(("/v1/courses", "/v1/certifications", "/v1/certification-requirements")):
            return "certifications"
        if path.startswith("/v1/policies"):
            return "policies"
        if path.startswith("/v1/kpis/rebuild"):
            return "network"  # rebuilding projections is administration, not reading KPIs
        if path.startswith("/v1/kpis"):
            return "kpis"
        return "network"
    return None
