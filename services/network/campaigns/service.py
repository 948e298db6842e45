"""Recall and service campaigns.

States: draft → published. While a draft, HQ sets its affected VINs (PUT replaces the
list, POST adds to it); publishing announces it (`network.campaign.published`, then its VINs in chunks,
`network.campaign.vins_affected`) and freezes the list.
A VIN of a published campaign is open from starts_on to ends_on (China time) until a
closed repair order carrying the campaign's labour operation completes it, once, at the
store that did the work."""
import csv
import email.parser
import email.policy
import io
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.clock import Clock
from services.common.errors import Conflict, DomainError, InvalidTransition, NotFound, ValidationFailed
from services.common.events.catalogue.network import (
    VINS_PER_CHUNK,
    CampaignCompleted,
    CampaignPublished,
    CampaignVinsAffected,
)
from services.common.events.catalogue.reception import RepairOrderDelivered, RepairOrderSettled
from services.common.identity import Principal
from services.common.ids import new_id
from services.common.outbox import emit
from services.common.pagination import paginate
from services.common.stores import store_zone
from services.network.calendar import HQ_ZONE
from services.network.campaigns import repository
from services.network.campaigns.models import Campaign
from services.network.campaigns.schemas import (
    CampaignCompletion,
    CampaignCreate,
    CampaignList,
    CampaignPart,
    CampaignPublic,
    CampaignStatus,
    OpenCampaign,
    RegionCompletion,
    StoreCompletion,
    VehicleCampaigns,
    VinUpload,
)
from services.network.policies import service as policies
from services.network.policies.bodies import PolicyName
from services.network.stores.models import Store

# Campaign dates are the brand's, set in China time whichever store does the work.
BRAND_ZONE = HQ_ZONE
# ISO 3779: 17 characters, digits and capitals without I, O and Q (read as 1 and 0).
VIN = re.compile(r"^[A-HJ-NPR-Z0-9]{17}$")
MAX_VINS = 2_000_000
MAX_REPORTED_LINES = 100


class InvalidVins(ValidationFailed):
    """A VIN file with bad lines: each is named by its line number, and nothing is written."""

    def __init__(self, bad: list[tuple[int, str]], total: int) -> None:
        shown = bad[:MAX_REPORTED_LINES]
        DomainError.__init__(
            self, f"{total} invalid VIN line(s) / {total} 行 VIN 无效; first on line {bad[0][0]}",
            errors=[{"field": f"vins.line.{line}", "message": reason} for line, reason in shown],
            invalid_lines=[line for line, _ in shown], invalid_count=total,
        )


@dataclass
class ParsedVins:
    vins: list[str]
    lines: int
    duplicates: int


def _today(clock: Clock) -> date:
    return clock.now().astimezone(BRAND_ZONE).date()


def public(campaign: Campaign) -> CampaignPublic:
    return CampaignPublic.model_validate(campaign, from_attributes=True)


async def _campaign(session: AsyncSession, campaign_id: str, *, for_update: bool = False) -> Campaign:
    campaign = await repository.get(session, campaign_id, for_update=for_update)
    if campaign is None:
        raise NotFound("campaign not found")
    return campaign


async def create(session: AsyncSession, clock: Clock, principal: Principal, data: CampaignCreate) -> Campaign:
    # The catalogues in force on the campaign's first day: its claims are priced by that day's or later ones.
    operations = await policies.in_force(session, PolicyName.LABOUR_OPERATIONS, data.starts_on)
    if data.op_code not in {op["op_code"] for op in operations.body["operations"]}:
        raise ValidationFailed("op_code", f"{data.op_code} is not in the brand's labour operations")
    parts = await policies.in_force(session, PolicyName.PARTS_PRICES, data.starts_on)
    catalogue = {part["part_no"] for part in parts.body["parts"]}
    for index, part in enumerate(data.parts):
        if part.part_no not in catalogue:
            raise ValidationFailed(f"parts.{index}.part_no", f"{part.part_no} is not in the brand's parts")
    if await repository.by_code(session, data.code) is not None:
        raise Conflict(f"campaign {data.code} exists")
    campaign = Campaign(
        id=new_id(), code=data.code, kind=data.kind, title_zh=data.title_zh, title_en=data.title_en,
        op_code=data.op_code, parts=[part.model_dump(mode="json") for part in data.parts], flat_hours=data.flat_hours,
        starts_on=data.starts_on, ends_on=data.ends_on, status=CampaignStatus.DRAFT, vin_count=0,
        created_by=principal.id, created_at=clock.now(),
    )
    session.add(campaign)
    try:
        await session.flush()
    except IntegrityError as exc:  # the same code created at the same moment
        raise Conflict(f"campaign {data.code} exists") from exc
    return campaign


def csv_text(body: bytes, content_type: str) -> str:
    """The CSV itself, sent as the body (text/csv) or as the one file of a multipart form."""
    media = content_type.split(";")[0].strip().lower()
    if media == "multipart/form-data":
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body)
        files = [part for part in message.iter_parts() if part.get_filename() or part.get_param(
            "name", header="content-disposition") in ("file", "vins")]
        if not files:
            raise ValidationFailed("file", "the form has no file part")
        payload = files[0].get_payload(decode=True)
        body = payload if isinstance(payload, bytes) else b""
    elif media not in ("text/csv", "text/plain", "application/csv"):
        raise ValidationFailed("body", "send the VINs as text/csv or as a multipart/form-data file")
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationFailed("body", f"not UTF-8 text (byte {exc.start})") from exc


def parse_vins(text: str) -> ParsedVins:
    """One VIN a line, its first CSV column; a first line reading `vin` is a header; blank
    lines are skipped; lower case is taken as upper. Every bad line is reported."""
    seen: set[str] = set()
    vins: list[str] = []
    bad: list[tuple[int, str]] = []
    duplicates = lines = 0
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        lines = number
        value = (row[0] if row else "").strip().upper()
        if not value or (number == 1 and value == "VIN"):
            continue
        if not VIN.match(value):
            reason = (f"{len(value)} characters, a VIN has 17" if len(value) != 17
                      else "a VIN holds digits and capitals other than I, O and Q")
            bad.append((number, f"{value[:40]!r}: {reason}"))
        elif value in seen:
            duplicates += 1
        else:
            seen.add(value)
            vins.append(value)
    if bad:
        raise InvalidVins(bad, len(bad))
    if not vins:
        raise ValidationFailed("body", "the file lists no VIN")
    if len(vins) > MAX_VINS:
        raise ValidationFailed("body", f"at most {MAX_VINS} VINs a campaign")
    return ParsedVins(vins=vins, lines=lines, duplicates=duplicates)


async def upload_vins(session: AsyncSession, campaign_id: str, text: str, *, replace: bool) -> VinUpload:
    """`replace` (PUT): the file becomes the list. Otherwise (POST) its VINs are added, so a
    list larger than the gateway's body limit goes up in parts."""
    campaign = await _campaign(session, campaign_id, for_update=True)
    if campaign.status != CampaignStatus.DRAFT:
        raise InvalidTransition(campaign.status, "upload VINs",
                                detail_reason="a published campaign's VINs are what owners were invited for")
    parsed = parse_vins(text)
    if replace or campaign.vin_count == 0:
        await repository.replace_vins(session, campaign.id, parsed.vins)
        campaign.vin_count = len(parsed.vins)
    else:
        campaign.vin_count = await repository.add_vins(session, campaign.id, parsed.vins)
    session.add(campaign)
    return VinUpload(campaign_id=campaign.id, vin_count=campaign.vin_count, lines=parsed.lines,
                     duplicates=parsed.duplicates)


async def publish(session: AsyncSession, clock: Clock, principal: Principal, campaign_id: str) -> Campaign:
    campaign = await _campaign(session, campaign_id, for_update=True)
    if campaign.status != CampaignStatus.DRAFT:
        raise InvalidTransition(campaign.status, "publish")
    if campaign.vin_count == 0:
        raise Conflict("upload the affected VINs before publishing", current_state=campaign.status)
    now = clock.now()
    campaign.status, campaign.published_at, campaign.published_by = CampaignStatus.PUBLISHED, now, principal.id
    session.add(campaign)
    await emit(session, CampaignPublished(
        campaign_id=campaign.id, code=campaign.code, kind=campaign.kind, title_zh=campaign.title_zh,
        title_en=campaign.title_en, op_code=campaign.op_code, parts=campaign.parts,
        flat_hours=str(campaign.flat_hours), starts_on=campaign.starts_on, ends_on=campaign.ends_on,
        vin_count=campaign.vin_count, published_by=principal.id, published_by_name=principal.name or None,
        published_at=now,
    ), subject=campaign.id, store_id=None, time=now)
    # The VINs themselves, in chunks a Kafka message holds, in the same transaction: CRM
    # invites the owners of those it knows. Read in one query in VIN order, so a
    # chunk's VINs are neighbours and the split is the same whoever reads it.
    table = repository.VINS
    rows = await session.exec(sa.select(table.c.vin).where(table.c.campaign_id == campaign.id)  # type: ignore[call-overload]
                              .order_by(table.c.vin))
    vins = [vin for (vin,) in rows.all()]
    chunks = -(-len(vins) // VINS_PER_CHUNK)
    for number in range(chunks):
        await emit(session, CampaignVinsAffected(
            campaign_id=campaign.id, code=campaign.code, kind=campaign.kind, title_zh=campaign.title_zh,
            title_en=campaign.title_en, op_code=campaign.op_code, starts_on=campaign.starts_on,
            ends_on=campaign.ends_on, chunk=number + 1, chunks=chunks,
            vins=vins[number * VINS_PER_CHUNK:(number + 1) * VINS_PER_CHUNK], published_at=now,
        ), subject=campaign.id, store_id=None, time=now)
    return campaign


async def get(session: AsyncSession, principal: Principal, campaign_id: str) -> Campaign:
    campaign = await _campaign(session, campaign_id)
    # A draft is HQ's work in progress: to a store it does not exist yet.
    if campaign.status == CampaignStatus.DRAFT and not principal.is_hq:
        raise NotFound("campaign not found")
    return campaign


async def list_campaigns(session: AsyncSession, principal: Principal, *, status: CampaignStatus | None,
                         vin: str | None, limit: int, cursor: str | None) -> CampaignList:
    if not principal.is_hq:
        if status == CampaignStatus.DRAFT:
            return CampaignList(items=[])
        status = CampaignStatus.PUBLISHED
    stmt = repository.list_stmt(status, vin.upper() if vin else None)
    rows, next_cursor = await paginate(session, stmt, Campaign.id, limit, cursor)
    return CampaignList(items=[public(row) for row in rows], next_cursor=next_cursor)


async def open_for_vehicle(session: AsyncSession, clock: Clock, vin: str) -> VehicleCampaigns:
    vin = vin.upper()
    today = _today(clock)
    found = await repository.open_for_vin(session, vin, today)
    return VehicleCampaigns(vin=vin, on=today, campaigns=[OpenCampaign(
        campaign_id=c.id, code=c.code, kind=c.kind, title_zh=c.title_zh, title_en=c.title_en, op_code=c.op_code,
        parts=[CampaignPart.model_validate(p) for p in c.parts], flat_hours=c.flat_hours, ends_on=c.ends_on,
    ) for c in found])


async def completion(session: AsyncSession, principal: Principal, campaign_id: str) -> CampaignCompletion:
    campaign = await get(session, principal, campaign_id)
    rows = [(store, count) for store, count in await repository.completion_by_store(
        session, campaign.id, principal.store_id) if principal.can_see_store(store.id)]
    stores = [StoreCompletion(store_id=store.id, store_code=store.code, store_name=store.name, region=store.region,
                              completed=count) for store, count in rows]
    regions: dict[str, int] = {}
    for store in stores:
        regions[store.region] = regions.get(store.region, 0) + store.completed
    done = sum(store.completed for store in stores)
    hq = principal.is_hq and principal.stores is None  # the whole network's cars: not a region's share
    rate = (Decimal(done) / campaign.vin_count).quantize(Decimal("0.0001")) if hq and campaign.vin_count else None
    return CampaignCompletion(
        campaign_id=campaign.id, code=campaign.code, affected=campaign.vin_count if hq else None, completed=done,
        completion_rate=rate, regions=[RegionCompletion(region=r, completed=n) for r, n in sorted(regions.items())],
        stores=stores,
    )


async def complete_from_order(session: AsyncSession, event: RepairOrderSettled | RepairOrderDelivered,
                              store: Store | None, now: datetime) -> list[str]:
    """A closed order's labour lines complete the campaigns of their operation for its car,
    whoever pays the line: the car is fixed either way. Each campaign it completes is
    announced (`network.campaign.completed`, in this transaction) and, for the order's
    `campaign` lines, the store's campaign claim drafts itself. Given the same order twice
    (settled, then delivered) nothing changes the second time: a VIN is completed once."""
    from services.network.claims import service as claims  # claims reads campaigns: imported here, not at the top
    from services.network.repair_orders import repository as orders

    operations = {line.op_code for line in event.lines if line.kind == "labor" and line.op_code}
    day = event.opened_at.astimezone(store_zone(store)).date()
    vin = event.vehicle.vin.upper()
    done = await repository.complete(session, vin, day, operations, store_id=event.store_id,
                                     repair_order_id=event.repair_order_id, at=event.settled_at)
    order = await orders.get(session, event.repair_order_id) if done else None
    for campaign_id in done:
        campaign = await _campaign(session, campaign_id)
        await emit(session, CampaignCompleted(
            campaign_id=campaign.id, code=campaign.code, kind=campaign.kind, vin=vin, store_id=event.store_id,
            repair_order_id=event.repair_order_id, completed_at=event.settled_at,
        ), subject=campaign.id, store_id=event.store_id, time=now)
        if order is not None:
            await claims.draft_campaign_claim(session, now, order, campaign)
    return done


async def open_at_repair(session: AsyncSession, vin: str, day: date, op_codes: set[str],
                         repair_order_id: str) -> list[Campaign]:
    return await repository.open_at_repair(session, vin.upper(), day, op_codes, repair_order_id)
