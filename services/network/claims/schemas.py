from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from services.common.inputs import MAX_LINE_FEN, MAX_REQUEST_FEN
from services.common.pagination import Page
from services.common.who import Who
from services.network.claims.codes import AnyRejectCode, CoverStatus
from services.network.claims.kinds import Kind
from services.network.claims.policy import Finding
from services.network.part_returns.schemas import PartReturnPublic

ClaimStatus = Literal["draft", "submitted", "pending_second_approval", "approved", "partially_approved", "rejected",
                      "settled"]


def _unique(values: list[str] | None) -> list[str] | None:
    if values is not None and len(set(values)) != len(values):
        raise ValueError("line ids must not repeat")
    return values


class ClaimCreate(BaseModel):
    kind: Kind = Field(default="warranty",
                       description="warranty, first_maintenance, pdi or goodwill; a campaign claim drafts itself "
                                   "(submit it with POST /v1/claims/{id}/submit)")
    repair_order_id: str | None = Field(default=None, min_length=1, max_length=64,
                                        description="the closed repair order; every kind but pdi")
    pdi_inspection_id: str | None = Field(default=None, min_length=1, max_length=64,
                                          description="pdi: the PDI sheet whose fixed defects are claimed")
    goodwill_authorisation_id: str | None = Field(default=None, min_length=1, max_length=64,
                                                  description="goodwill: the pre-authorisation HQ granted before "
                                                              "the repair")
    vin: str | None = Field(default=None, min_length=17, max_length=17,
                            description="pdi: the car whose PDI sheet it is (the sheet is found among its sheets)")
    # Left empty, the precheck reports R06 rather than refusing the claim: HQ decides.
    complaint: str = Field(default="", max_length=4000)
    cause: str = Field(default="", max_length=4000)
    correction: str = Field(default="", max_length=4000)
    causal_part_no: str | None = Field(default=None, max_length=64)
    line_ids: list[str] | None = Field(default=None, min_length=1, max_length=200,
                                       description="which lines of the order (of the kind's pay type) to claim; "
                                                   "default all of them")

    _unique = field_validator("line_ids")(_unique)


class ClaimResubmit(BaseModel):
    """Only the fields given change; at least one must differ from the rejected claim."""

    complaint: str | None = Field(default=None, max_length=4000)
    cause: str | None = Field(default=None, max_length=4000)
    correction: str | None = Field(default=None, max_length=4000)
    causal_part_no: str | None = Field(default=None, max_length=64)
    line_ids: list[str] | None = Field(default=None, min_length=1, max_length=200)

    _unique = field_validator("line_ids")(_unique)


class LineApproval(BaseModel):
    line_id: str = Field(min_length=1, max_length=64)
    approved_fen: int = Field(ge=0, le=MAX_LINE_FEN)
    adjustment_code: str | None = Field(default=None, max_length=8,
                                        description="A01..A03, or a reject code for a line cut to nothing")


class ClaimDecision(BaseModel):
    decision: Literal["approve", "partial", "reject"]
    lines: list[LineApproval] | None = Field(default=None, max_length=200)
    reason_code: str | None = Field(default=None, max_length=8)
    note: str = Field(default="", max_length=4000)


class Precheck(BaseModel):
    passed: bool
    findings: list[Finding]
    coverage: CoverStatus
    checked_at: datetime
    deadline: datetime


class ClaimLinePublic(BaseModel):
    line_id: str
    kind: str
    op_code: str | None = None
    part_no: str | None = None
    description: str
    quantity: str
    unit_price_fen: int
    order_amount_fen: int
    flat_rate_hours: str | None = None
    paid_hours: str | None = None
    reimbursable_unit_fen: str | None = None
    claimed_fen: int
    approved_fen: int | None = None
    adjustment_code: str | None = None
    category: str | None = None
    coverage: dict[str, Any]


class PendingApproval(BaseModel):
    decision: Literal["approve", "partial"]
    amount_approved_fen: int
    by: str
    approver: Who = Field(description="who gave the first approval, and with which key or sign-in")
    at: datetime
    note: str = ""


class HistoryEntry(BaseModel):
    at: datetime
    by: str
    who: Who
    action: str
    status_after: str
    submission: int
    detail: dict[str, Any]


class ClaimPublic(BaseModel):
    id: str
    store_id: str
    kind: Kind = "warranty"
    repair_order_id: str | None = Field(default=None, description="null for a pdi claim")
    repair_order_number: str | None = None
    campaign_id: str | None = Field(default=None, description="a campaign claim's campaign")
    pdi_inspection_id: str | None = Field(default=None, description="a pdi claim's PDI sheet")
    goodwill_authorisation_id: str | None = Field(default=None, description="a goodwill claim's pre-authorisation")
    pricing: dict[str, Any] = Field(default_factory=dict,
                                    description="how the kind's rule priced it (data/claim_kinds.json)")
    policy_versions: dict[str, int] | None = Field(
        default=None, description="the version of each policy it was priced and prechecked by, those in force on "
                                  "its repair date, e.g. {warranty_policy: 1, labour_operations: 2}; null: priced "
                                  "from data/ before policies had versions")
    vin: str
    status: ClaimStatus
    complaint: str
    cause: str
    correction: str
    causal_part_no: str | None = None
    lines: list[ClaimLinePublic]
    amount_claimed_fen: int
    amount_approved_fen: int | None = None
    precheck: Precheck
    submission_count: int = Field(description="0 while a draft")
    first_submitted_at: datetime | None = Field(default=None, description="null while a draft")
    submitted_at: datetime | None = None
    submitted_by: str | None = None
    submitter: Who | None = None
    decided_at: datetime | None = None
    decided_by: str | None = None
    decider: Who | None = Field(default=None, description="who made the decision (the second approver of a "
                                                           "four-eyes claim), and with which key or sign-in")
    reason_code: AnyRejectCode | None = None
    decision_note: str | None = None
    pending_approval: PendingApproval | None = None
    settlement_id: str | None = None
    settled_at: datetime | None = None
    version: int
    history: list[HistoryEntry] | None = None
    chargebacks: list["ChargebackPublic"] | None = Field(
        default=None, description="money HQ took back from the claim, with why (single reads)")
    charged_back_fen: int | None = Field(default=None, description="the chargebacks' sum (single reads)")
    part_returns: list[PartReturnPublic] | None = Field(
        default=None, description="old parts HQ wants back from the claim's lines (single reads)")


class ChargebackCreate(BaseModel):
    reason_code: str = Field(min_length=1, max_length=8,
                             description="a manual code of data/chargeback_reason_codes.json")
    amount_fen: int = Field(ge=1, le=MAX_REQUEST_FEN,
                            description="at most what was paid for the claim less earlier debits")
    note: str = Field(default="", max_length=4000)


class ChargebackPublic(BaseModel):
    id: str
    claim_id: str
    store_id: str
    reason_code: str
    reason_zh: str
    reason_en: str
    amount_fen: int = Field(description="taken back: a negative line of the settlement it lands on")
    note: str
    part_return_id: str | None = None
    charged_at: datetime
    charged_by: str
    charged_by_name: str | None = None
    charged_by_credential: str | None = None
    charger: Who
    settlement_id: str | None = Field(default=None, description="the statement it landed on; null until issued")


ClaimPublic.model_rebuild()

ClaimList = Page[ClaimPublic]
