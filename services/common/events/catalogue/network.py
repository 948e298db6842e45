"""Events network emits."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from ..envelope import Event, event_type


class _StoreEvent(Event):
    store_id: str
    code: str
    name: str
    kind: str  # dealer_store | partner_outlet
    region: str = ""
    city: str = ""
    timezone: str = "Asia/Shanghai"
    status: str


@event_type("network.store.created", aggregate="store")
class StoreCreated(_StoreEvent):
    created_at: datetime


@event_type("network.store.activated", aggregate="store")
class StoreActivated(_StoreEvent):
    activated_at: datetime


@event_type("network.store.suspended", aggregate="store")
class StoreSuspended(_StoreEvent):
    reason: str
    suspended_at: datetime


@event_type("network.api_key.issued", aggregate="api_key")
class ApiKeyIssued(Event):
    key_id: str
    role: str
    store_id: str | None = None
    label: str
    person_id: str | None = None  # the person the key is issued to; none for a machine's key
    issued_by: str | None = None
    issued_at: datetime


@event_type("network.api_key.revoked", aggregate="api_key")
class ApiKeyRevoked(Event):
    key_id: str
    role: str
    store_id: str | None = None
    person_id: str | None = None
    reason: str | None = None  # "person left" when the key went with its person
    revoked_by: str | None = None
    revoked_at: datetime


class _ClaimEvent(Event):
    claim_id: str
    store_id: str
    repair_order_id: str  # empty for a PDI claim, which claims a PDI sheet's fixed defects
    # warranty | first_maintenance | campaign | pdi | goodwill; every claim before kinds was warranty.
    kind: str = "warranty"


@event_type("network.claim.submitted", aggregate="claim")
class ClaimSubmitted(_ClaimEvent):
    amount_claimed_fen: int
    submission_count: int
    precheck_passed: bool
    submitted_at: datetime
    # The person who filed this submission (or a machine's own key), their name and the key or
    # sign-in they used, credited in the warranty clerk's appraisal; absent from events sent before.
    submitted_by: str | None = None
    submitted_by_name: str | None = None
    submitted_by_credential: str | None = None


@event_type("network.claim.decided", aggregate="claim")
class ClaimDecided(_ClaimEvent):
    status: str  # approved | partially_approved | rejected | pending_second_approval
    amount_claimed_fen: int
    amount_approved_fen: int
    reason_code: str | None = None
    decided_by: str  # the person (or a machine's own key)
    decided_by_name: str | None = None
    decided_by_credential: str | None = None  # the key or sign-in they decided with
    submitted_at: datetime
    decided_at: datetime
    submission_count: int | None = None  # which submission this decides (a rejected claim may be resubmitted once)


@event_type("network.claim.charged_back", aggregate="claim")
class ClaimChargedBack(_ClaimEvent):
    """HQ takes money back from a claim (a post-payment audit, or an old part not returned
    as asked); it lands on the store's next settlement."""

    chargeback_id: str
    reason_code: str  # data/chargeback_reason_codes.json
    amount_fen: int
    charged_back_fen: int  # every debit of the claim so far, this one included
    part_return_id: str | None = None
    note: str = ""
    charged_at: datetime
    charged_by: str
    charged_by_name: str | None = None
    charged_by_credential: str | None = None


class _PartReturnEvent(Event):
    part_return_id: str
    store_id: str
    claim_id: str
    line_id: str
    part_no: str


@event_type("network.part_return.shipped", aggregate="part_return")
class PartReturnShipped(_PartReturnEvent):
    waybill: str
    carrier: str
    ship_by: datetime
    shipped_at: datetime
    shipped_by: str
    shipped_by_name: str | None = None
    shipped_by_credential: str | None = None


@event_type("network.part_return.received", aggregate="part_return")
class PartReturnReceived(_PartReturnEvent):
    result: str  # ok | wrong_part | damaged | missing
    note: str = ""
    chargeback_id: str | None = None  # the debit a result other than ok gave
    received_at: datetime
    received_by: str
    received_by_name: str | None = None
    received_by_credential: str | None = None


@event_type("network.settlement.issued", aggregate="settlement")
class SettlementIssued(Event):
    settlement_id: str
    store_id: str
    period: str
    claim_ids: list[str]
    total_fen: int
    issued_at: datetime
    # The person who issued it (or a machine's own key), their name and the key or sign-in they
    # used; absent from events sent before they were carried.
    issued_by: str | None = None
    issued_by_name: str | None = None
    issued_by_credential: str | None = None
    # Debits (chargebacks) the statement takes back; total_fen is the claims less them and
    # may be below zero. Absent from events sent before chargebacks existed.
    chargeback_ids: list[str] | None = None
    debits_fen: int | None = None


@event_type("network.settlement.paid", aggregate="settlement")
class SettlementPaid(Event):
    settlement_id: str
    store_id: str
    period: str
    claim_ids: list[str]
    total_fen: int
    reference: str
    paid_at: datetime
    # The person who recorded the payment (or a machine's own key), their name and the key or
    # sign-in they used; absent from events sent before they were carried.
    paid_by: str | None = None
    paid_by_name: str | None = None
    paid_by_credential: str | None = None


class PersonAssignment(BaseModel):
    """A person's role in one store."""

    model_config = ConfigDict(extra="allow")

    store_id: str
    role: str


class _PersonEvent(Event):
    """A person of the staff directory as they stand after the change: a consumer keeps
    its copy from the latest event alone."""

    person_id: str
    employee_no: str
    name: str
    status: str  # active | left
    assignments: list[PersonAssignment]
    hq_role: str | None = None  # hq_admin | hq_analyst | region_manager, for HQ staff


@event_type("network.person.registered", aggregate="person")
class PersonRegistered(_PersonEvent):
    registered_by: str  # the person (or a machine's own key)
    # Their name and the key or sign-in they used; absent from events sent before they were carried.
    registered_by_name: str | None = None
    registered_by_credential: str | None = None
    registered_at: datetime


@event_type("network.person.assignments_changed", aggregate="person")
class PersonAssignmentsChanged(_PersonEvent):
    reason: str
    changed_by: str  # the person (or a machine's own key)
    # Their name and the key or sign-in they used; absent from events sent before they were carried.
    changed_by_name: str | None = None
    changed_by_credential: str | None = None
    changed_at: datetime


@event_type("network.person.left", aggregate="person")
class PersonLeft(_PersonEvent):
    left_on: date
    reason: str | None = None
    recorded_by: str  # the person (or a machine's own key)
    # Their name and the key or sign-in they used; absent from events sent before they were carried.
    recorded_by_name: str | None = None
    recorded_by_credential: str | None = None
    left_at: datetime


@event_type("network.three_guarantees.alert", aggregate="vehicle")
class ThreeGuaranteesAlertRaised(Event):
    """A car has come within one step of (or reached) a Three Guarantees (三包) replacement or
    refund threshold, or one of its quality repairs lasted past the loaner threshold. Raised once
    per VIN and threshold (once per repair for a loaner); the store whose repair brought it and HQ
    act on it (services/network/three_guarantees)."""

    vin: str
    store_id: str  # the store whose closed repair order brought the car here
    threshold: str  # e.g. cumulative_repair_days, same_problem_repairs:brakes, loaner:<repair order id>
    kind: str  # cumulative_repair_days | same_problem_repairs | serious_safety_fault_repairs |
    #            engine_or_transmission_replacements | loaner
    remedy: str  # replacement | refund | loaner_or_transport_allowance
    status: str  # one_step | reached (loaner: owed)
    value: int  # the car's count (days for repair days)
    limit: int  # the regulation's figure it is compared with
    problem: str | None = None  # the quality problem (labour category) of a same-problem count
    validity: str  # in_validity | expired | unknown (no sale date known)
    sale_date: date | None = None
    policy_effective_from: date  # the revision of the regulation applied
    loaner_owed: bool  # some quality repair in the validity period lasted past the loaner threshold
    repair_order_id: str
    message_zh: str
    message_en: str
    raised_at: datetime


@event_type("network.campaign.published", aggregate="campaign")
class CampaignPublished(Event):
    """HQ published a recall or service campaign: CRM invites the owners of its affected cars.
    The VINs are not carried (100,000 of them exceed a Kafka message); `vin_count` says how many."""

    campaign_id: str
    code: str
    kind: str  # recall | service
    title_zh: str
    title_en: str
    op_code: str
    parts: list[dict]  # [{part_no, quantity}], quantity as text
    flat_hours: str  # Decimal as text
    starts_on: date
    ends_on: date
    vin_count: int
    published_by: str
    published_by_name: str | None = None
    published_at: datetime


@event_type("network.campaign.vins_affected", aggregate="campaign")
class CampaignVinsAffected(Event):
    """One chunk of a published campaign's affected VINs (at most `VINS_PER_CHUNK`), written
    with `network.campaign.published` in its transaction: CRM invites the owners of the cars
    it knows. Chunk `chunk` of `chunks`; each VIN is in exactly one chunk."""

    campaign_id: str
    code: str
    kind: str  # recall | service
    title_zh: str
    title_en: str
    op_code: str
    starts_on: date
    ends_on: date
    chunk: int  # 1-based
    chunks: int
    vins: list[str]
    published_at: datetime


@event_type("network.campaign.completed", aggregate="campaign")
class CampaignCompleted(Event):
    """A closed repair order carried out a published campaign on one of its VINs (once per
    campaign and VIN): reception stops showing it for that car, and network drafts the store's
    campaign claim."""

    campaign_id: str
    code: str
    kind: str  # recall | service
    vin: str
    store_id: str
    repair_order_id: str
    completed_at: datetime


@event_type("network.three_guarantees.updated", aggregate="vehicle")
class ThreeGuaranteesUpdated(Event):
    """A car's Three Guarantees (三包) counts after a closed repair order changed them (or its
    registration set the validity period): reception shows them at booking and check-in."""

    vin: str
    validity: str  # in_validity | expired | unknown (no sale date known)
    valid_until: date | None = None
    cumulative_repair_days: int
    same_problem_repairs: dict[str, int]  # quality problem (labour category) -> repairs
    serious_safety_fault_repairs: int
    engine_or_transmission_replacements: int
    alerts: list[str]  # thresholds at one step or reached, e.g. same_problem_repairs:brakes
    updated_at: datetime


# A chunk of 1,000 VINs is about 20 kB, well inside a Kafka message's default 1 MB.
VINS_PER_CHUNK = 1_000


class Buyer(BaseModel):
    """The buyer of a new car as the sale recorded them."""

    name: str
    phone: str


class _RegistrationEvent(Event):
    """A car's warranty registration as it stands after the change: a consumer keeps its copy
    from the latest event alone. Warranty and the Three Guarantees run from invoice_date; CRM's
    first maintenance from delivery_date (data/maintenance_policy.json)."""

    vin: str
    store_id: str  # the selling store: the car's home store in CRM
    buyer: Buyer
    model: str | None = None
    invoice_date: date
    delivery_date: date
    mileage_at_delivery_km: int
    first_maintenance_due_on: date
    first_maintenance_due_km: int


@event_type("network.vehicle.registered", aggregate="vehicle")
class VehicleRegistered(_RegistrationEvent):
    registered_by: str  # the person (or a machine's own key)
    registered_by_name: str | None = None
    registered_by_credential: str | None = None
    registered_at: datetime


@event_type("network.vehicle.registration_corrected", aggregate="vehicle")
class VehicleRegistrationCorrected(_RegistrationEvent):
    changes: dict[str, dict[str, Any]]  # field → {"from": old, "to": new}
    reason: str
    corrected_by: str  # the person (or a machine's own key)
    corrected_by_name: str | None = None
    corrected_by_credential: str | None = None
    corrected_at: datetime


class PolicyChange(BaseModel):
    """One key a policy version added, removed or changed from the version before."""

    path: str  # dotted; a list item by its code, e.g. operations.BRK-0210.flat_rate_hours
    change: str  # added | removed | changed
    before: Any = None
    after: Any = None


@event_type("network.policy.version_published", aggregate="policy")
class PolicyVersionPublished(Event):
    """HQ published a new version of a policy (warranty policy, labour operations, parts
    prices, audit standards, onboarding checklist, Three Guarantees, campaign policy), in
    force from `effective_from` (China's calendar): every store is told what changed. At most
    `MAX_PUBLISHED_CHANGES` changes are carried; `change_count` is how many there are, and
    GET /v1/policies/{name}/versions/{version} lists them all."""

    name: str
    title_zh: str
    title_en: str
    version: int
    effective_from: date
    note: str | None = None
    change_count: int
    changes: list[PolicyChange]
    published_by: str  # the person (or a machine's own key)
    published_by_name: str | None = None
    published_at: datetime


# A version that rewrites a 5,000-operation catalogue would not fit a Kafka message whole.
MAX_PUBLISHED_CHANGES = 200


@event_type("network.policy.version_changes", aggregate="policy")
class PolicyVersionChangesPart(Event):
    """The rest of a version's changes, for a version with more than `MAX_PUBLISHED_CHANGES`:
    `network.policy.version_published` is part 1 (its first changes), these are parts 2 to
    `parts`, each at most `MAX_PUBLISHED_CHANGES`, in the order network lists them. Written in
    the transaction that publishes the version, so a store that has every part can rebuild the
    whole version from the one before it. Parts may arrive in any order."""

    name: str
    version: int
    part: int  # 2..parts; part 1 is version_published's changes
    parts: int  # ceil(change_count / MAX_PUBLISHED_CHANGES)
    changes: list[PolicyChange]


class _CertificationEvent(Event):
    """A person's certificate in a course as it now stands. Valid from issued_on through
    expires_on (China's calendar) unless revoked: expiry is by date, so a consumer checks
    expires_on against its own clock and no event is sent when a certificate runs out."""

    certification_id: str
    person_id: str
    person_name: str
    course_code: str
    certificate_no: str
    issued_on: date
    expires_on: date


@event_type("network.certification.granted", aggregate="certification")
class CertificationGranted(_CertificationEvent):
    granted_by: str  # the person (or a machine's own key)
    granted_by_name: str | None = None
    granted_at: datetime


@event_type("network.certification.revoked", aggregate="certification")
class CertificationRevoked(_CertificationEvent):
    reason: str
    revoked_by: str  # the person (or a machine's own key)
    revoked_by_name: str | None = None
    revoked_at: datetime


@event_type("network.course.published", aggregate="course")
class CoursePublished(Event):
    """A course HQ added or changed, as it now stands, with the labour operations only a
    holder of its certification may be given: how the workshop learns what each operation
    requires. The courses data/certifications.json seeds are known to both services from
    that file (their revision 1)."""

    course_code: str
    name_zh: str
    name_en: str
    validity_months: int
    operations: list[str]
    published_by: str
    published_at: datetime
    # 1 when added (or seeded), one more on each change: a later revision replaces an earlier one.
    revision: int = 1
