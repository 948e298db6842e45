from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel import Field

from services.common.db import UTCDateTime
from services.common.modeljson import ModelJSON
from services.network.base import NetworkModel
from services.network.claims.codes import LineCut
from services.network.claims.policy import Coverage, PrecheckResult, StoredInstant


class LineDecision(BaseModel):
    """What a reviewer approves of one line, and why less than claimed."""

    approved_fen: int
    adjustment_code: LineCut | None = None


class Proposal(BaseModel):
    """A first approval of a large claim, waiting for a second reviewer to confirm it."""

    decision: Literal["approve", "partial"]
    approvals: dict[str, LineDecision]  # by line id
    amount_approved_fen: int
    by: str  # the person (or a machine's own key): a second approval must come from someone else
    by_name: str | None = None
    credential: str | None = None  # the key or sign-in the first approval came with
    at: StoredInstant
    note: str = ""


class Claim(NetworkModel, table=True):
    """A claim of a store against the brand: for the lines of one closed repair order that
    its kind's pay type names (warranty, first maintenance, campaign, goodwill), or for the
    fixed defects of a PDI sheet (no repair order)."""

    __tablename__ = "claims"
    __table_args__ = (
        sa.Index("ix_claims_store_status", "store_id", "status"),
        # A campaign claim drafts itself once per order that did the campaign.
        sa.UniqueConstraint("campaign_id", "repair_order_id", name="uq_claims_campaign_order"),
        # A pre-authorisation pays for one claim.
        sa.UniqueConstraint("goodwill_authorisation_id", name="uq_claims_goodwill_authorisation"),
    )

    id: str = Field(primary_key=True, max_length=64)
    store_id: str = Field(sa_column=sa.Column(sa.String(64), sa.ForeignKey("stores.id"), nullable=False))
    kind: str = Field(default="warranty", sa_column=sa.Column(sa.String(32), nullable=False,
                                                              server_default="warranty"))
    repair_order_id: str | None = Field(default=None, sa_column=sa.Column(
        sa.String(64), sa.ForeignKey("repair_orders.id"), nullable=True, index=True))
    repair_order_number: str | None = None
    campaign_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), sa.ForeignKey("campaigns.id"),
                                                                      nullable=True))
    pdi_inspection_id: str | None = Field(default=None, sa_column=sa.Column(
        sa.String(64), sa.ForeignKey("pdi_inspections.id"), nullable=True, index=True))
    goodwill_authorisation_id: str | None = Field(default=None, sa_column=sa.Column(
        sa.String(64), sa.ForeignKey("goodwill_authorisations.id"), nullable=True))
    # How the kind's rule priced it (the flat amount or rule, a cap and share), for HQ to read.
    pricing: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(
        sa.JSON, nullable=False, server_default=sa.text("'{}'::json")))
    # The version of each policy it was priced by (policy name -> version); null before 0021.
    policy_versions: dict[str, int] | None = Field(default=None, sa_column=sa.Column(sa.JSON, nullable=True))
    vin: str
    status: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    complaint: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    cause: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    correction: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    causal_part_no: str | None = None
    amount_claimed_fen: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    amount_approved_fen: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger, nullable=True))
    precheck: PrecheckResult = Field(sa_column=sa.Column(ModelJSON(PrecheckResult), nullable=False))
    submission_count: int  # 0 while a draft
    # Null while a draft (a campaign claim the store has not yet submitted).
    first_submitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    submitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    submitted_by: str | None = None
    submitted_by_name: str | None = None
    submitted_by_credential: str | None = None
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decided_by: str | None = None
    decided_by_name: str | None = None
    decided_by_credential: str | None = None
    reason_code: str | None = None
    decision_note: str | None = None
    # While awaiting a second approval: the first reviewer's decision, line by line.
    proposal: Proposal | None = Field(default=None, sa_column=sa.Column(ModelJSON(Proposal), nullable=True))
    settlement_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True, index=True))
    settled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    version: int = 1


class ClaimLine(NetworkModel, table=True):
    __tablename__ = "claim_lines"

    id: str = Field(primary_key=True, max_length=64)
    claim_id: str = Field(sa_column=sa.Column(sa.String(64), sa.ForeignKey("claims.id"), nullable=False, index=True))
    position: int
    line_id: str
    kind: str
    op_code: str | None = None
    part_no: str | None = None
    description: str
    quantity: str
    unit_price_fen: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    order_amount_fen: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    flat_rate_hours: str | None = None
    paid_hours: str | None = None
    reimbursable_unit_fen: str | None = None
    claimed_fen: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    approved_fen: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger, nullable=True))
    adjustment_code: str | None = None
    category: str | None = None
    coverage: Coverage = Field(sa_column=sa.Column(ModelJSON(Coverage), nullable=False))


class ClaimedLine(NetworkModel, table=True):
    """The database's guard against claiming one repair order line twice: one row per
    claimed (repair order, line), removed only when its claim is rejected for good. A PDI
    claim's defects are kept the same way, as (PDI sheet id, `defect-<n>`)."""

    __tablename__ = "claimed_lines"
    __table_args__ = (sa.PrimaryKeyConstraint("repair_order_id", "line_id", name="pk_claimed_lines"),)

    repair_order_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    line_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    claim_id: str = Field(sa_column=sa.Column(sa.String(64), sa.ForeignKey("claims.id"), nullable=False, index=True))


class ClaimHistory(NetworkModel, table=True):
    """Every submission and review of a claim, in order: who, when, what they decided."""

    __tablename__ = "claim_history"

    id: str = Field(primary_key=True, max_length=64)
    claim_id: str = Field(sa_column=sa.Column(sa.String(64), sa.ForeignKey("claims.id"), nullable=False, index=True))
    at: datetime = Field(sa_type=UTCDateTime)
    by: str
    by_name: str | None = None
    by_credential: str | None = None
    action: str
    status_after: str
    submission: int
    detail: dict[str, Any] = Field(sa_column=sa.Column(sa.JSON, nullable=False))


class Chargeback(NetworkModel, table=True):
    """Money HQ takes back from a claim: after a post-payment audit, or for an old part
    not returned as asked. It lands, as a negative line, on the store's next settlement."""

    __tablename__ = "claim_chargebacks"
    __table_args__ = (
        sa.UniqueConstraint("part_return_id", name="uq_claim_chargebacks_part_return_id"),
        sa.Index("ix_claim_chargebacks_store_unsettled", "store_id", "settlement_id"),
    )

    id: str = Field(primary_key=True, max_length=64)
    claim_id: str = Field(sa_column=sa.Column(sa.String(64), sa.ForeignKey("claims.id"), nullable=False, index=True))
    store_id: str = Field(sa_column=sa.Column(sa.String(64), sa.ForeignKey("stores.id"), nullable=False))
    reason_code: str = Field(sa_column=sa.Column(sa.String(8), nullable=False))
    amount_fen: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    note: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    # Set when an old part not returned as asked is what is charged: one charge per return.
    part_return_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    charged_at: datetime = Field(sa_type=UTCDateTime)
    charged_by: str
    charged_by_name: str | None = None
    charged_by_credential: str | None = None
    settlement_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), sa.ForeignKey("settlements.id"),
                                                                        nullable=True))
