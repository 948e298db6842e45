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


class AdjustmentCode(StrEnum):
    """Why HQ pays a line less than claimed."""

    LABOUR_TO_FLAT_RATE = "A01"
    PART_TO_COST_PLUS_HANDLING = "A02"
    LINE_NOT_REIMBURSABLE = "A03"


# A line cut to less than claimed carries an adjustment code, or a reject code when cut to nothing.
LineCut = AdjustmentCode | RejectCode


def line_cut(code: str) -> LineCut:
    """The code a reviewer gave for a cut line; ValueError when it is neither kind."""
    try:
        return AdjustmentCode(code)
    except ValueError:
        return RejectCode(code)


class CoverStatus(StrEnum):
    """Where a line stands with the warranty plan covering it."""

    WITHIN = "within"
    OUT = "out"
    UNKNOWN = "unknown"  # the vehicle's sale date is unknown
    NOT_COVERED = "not_covered"  # no plan covers the line's category
