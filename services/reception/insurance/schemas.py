from datetime import datetime

from pydantic import BaseModel, Field

from services.common.inputs import MAX_LINE_FEN, MAX_REQUEST_FEN, MAX_VERSION
from services.reception.shared.schemas import Actor, Input

PHONE_PATTERN = r"^\+?[0-9][0-9 \-]{3,18}[0-9]$"


class Assessor(Input):
    name: str = Field(min_length=1, max_length=100)
    phone: str = Field(min_length=5, max_length=20, pattern=PHONE_PATTERN)


class AssessedLine(Input):
    line_id: str = Field(min_length=1, max_length=64)
    approved_fen: int = Field(ge=0, le=MAX_LINE_FEN, description="what the insurer pays for the line, ≤ its amount")


class AssessmentIn(Input):
    """定损 The insurer's assessment of every insurance line on the order."""

    insurer: str = Field(min_length=1, max_length=100)
    claim_no: str = Field(min_length=1, max_length=64, description="claim or report number (报案号)")
    assessor: Assessor
    lines: list[AssessedLine] = Field(min_length=1, max_length=200)
    approved_total_fen: int = Field(ge=0, le=MAX_REQUEST_FEN, description="the sum of the lines' approved_fen")
    excess_fen: int = Field(ge=0, le=MAX_REQUEST_FEN, description="the deductible (免赔额) the customer pays")
    version: int | None = Field(default=None, ge=1, le=MAX_VERSION,
                                description="the order's version; If-Match may carry it instead")


class AssessedLinePublic(BaseModel):
    line_id: str
    amount_fen: int
    approved_fen: int
    cut_fen: int = Field(description="amount_fen - approved_fen: the store writes it off")


class AssessmentPublic(BaseModel):
    round: int = Field(description="1 for the first assessment, one more for each supplementary assessment")
    insurer: str
    claim_no: str
    assessor: Assessor
    lines: list[AssessedLinePublic]
    approved_total_fen: int
    excess_fen: int
    insurer_due_fen: int = Field(description="approved_total_fen - excess_fen: the insurer's receivable")
    write_off_fen: int = Field(description="the cuts: what the store writes off")
    recorded_by: Actor
    recorded_at: datetime
    waiting_line_ids: list[str] = Field(
        description="insurance lines added since this round: their work waits for a supplementary assessment")
