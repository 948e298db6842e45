"""The codes of warranty claims: why a claim or a line is refused or cut
(data/claim_reason_codes.json, which gives their texts) and where a line stands with the
warranty. The values are what claims store and the API sends; the names say what they mean."""
from enum import StrEnum


class RejectCode(StrEnum):
    """What the precheck finds and why HQ refuses a claim, or cuts a line to nothing."""

    NOT_COVERED = "R01"
    OUTSIDE_WARRANTY = "R02"
    HOURS_OVER_FLAT_RATE = "R03"
    PRICE_OVER_REIMBURSABLE = "R04"
    LINE_ALREADY_CLAIMED = "R05"
    DOCUMENTATION_MISSING = "R06"
    FILED_LATE = "R07"
    CAUSAL_PART_MISMATCH = "R08"
    MISUSE_OR_ACCIDENT = "R09"
    RECALL_NOT_UNDER_CAMPAIGN = "R10"


class KindRejectCode(StrEnum):
    """What the precheck finds under the rules of the other kinds of claim (first maintenance,
    campaign, PDI): data/claim_kinds.json gives their texts. R10 stays a warranty claim's."""

    NOT_REGISTERED = "R11"
    FIRST_MAINTENANCE_OUT_OF_WINDOW = "R12"
    FIRST_MAINTENANCE_CLAIMED_BEFORE = "R13"
    NOT_IN_BRAND_PACKAGE = "R14"
    PDI_DEFECT_NOT_PAID = "R15"


# Any code a finding or a rejection carries.
AnyRejectCode = RejectCode | KindRejectCode


def reject_code(code: str) -> AnyRejectCode:
    """The reject code of either kind; ValueError when it is neither."""
    try:
        return RejectCode(code)
    except ValueError:
        return KindRejectCode(code)


class AdjustmentCode(StrEnum):
    """Why HQ pays a line less than claimed."""

    LABOUR_TO_FLAT_RATE = "A01"
    PART_TO_COST_PLUS_HANDLING = "A02"
    LINE_NOT_REIMBURSABLE = "A03"


# A line cut to less than claimed carries an adjustment code, or a reject code when cut to nothing.
LineCut = AdjustmentCode | RejectCode | KindRejectCode


def line_cut(code: str) -> LineCut:
    """The code a reviewer gave for a cut line; ValueError when it is none of them."""
    try:
        return AdjustmentCode(code)
    except ValueError:
        return reject_code(code)


class CoverStatus(StrEnum):
    """Where a line stands with the warranty plan covering it."""

    WITHIN = "within"
    OUT = "out"
    UNKNOWN = "unknown"  # the vehicle's sale date is unknown
    NOT_COVERED = "not_covered"  # no plan covers the line's category
