"""Reception's copy of network's campaigns and Three Guarantees figures, and what the
advisor is shown of a car from it.

A campaign comes as `network.campaign.published` (its work: operation, flat hours, parts)
followed by its VINs in chunks (`network.campaign.vins_affected`, up to 1,000 each), each
chunk written in one statement; `network.campaign.completed` marks one VIN done. A VIN's
campaign is open from starts_on to ends_on, days in China time (the brand's dates), until
it is done. Every handler is an upsert, so a redelivered or reordered event changes
nothing twice; the inbox keeps the same event from being applied twice anyway."""
from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.clock import Clock
from services.common.events.catalogue import network as nw
from services.reception.vehicle_notices import repository
from services.reception.vehicle_notices.models import Campaign
from services.reception.vehicle_notices.schemas import (
    OpenCampaign,
    ThreeGuaranteesAlertPublic,
    ThreeGuaranteesFigures,
    VehicleNotices,
)

# Campaign dates are the brand's, set in China time whichever store does the work.
BRAND_ZONE = ZoneInfo("Asia/Shanghai")


def brand_today(clock: Clock) -> date:
    return clock.now().astimezone(BRAND_ZONE).date()


# ---- network's events -----------------------------------------------------------------------

def _campaign_values(event: nw.CampaignPublished | nw.CampaignVinsAffected) -> dict:
    return dict(campaign_id=event.campaign_id, code=event.code, kind=event.kind, title_zh=event.title_zh,
                title_en=event.title_en, op_code=event.op_code, starts_on=event.starts_on, ends_on=event.ends_on,
                published_at=event.published_at)


async def campaign_published(session: AsyncSession, event: nw.CampaignPublished) -> None:
    await repository.keep_campaign(session, {
        **_campaign_values(event), "parts": event.parts, "flat_hours": Decimal(event.flat_hours),
    }, replace=True)


async def vins_affected(session: AsyncSession, event: nw.CampaignVinsAffected) -> None:
    # A chunk names its campaign too: should it come first, the car is listed all the same.
    await repository.keep_campaign(session, _campaign_values(event), replace=False)
    await repository.add_vehicles(session, event.campaign_id, sorted({vin.upper() for vin in event.vins}))


async def campaign_completed(session: AsyncSession, event: nw.CampaignCompleted) -> None:
    await repository.mark_completed(session, event.campaign_id, event.vin.upper(), at=event.completed_at,
                                    store_id=event.store_id, repair_order_id=event.repair_order_id)


async def three_guarantees_updated(session: AsyncSession, event: nw.ThreeGuaranteesUpdated) -> None:
    await repository.keep_figures(session, dict(
        vin=event.vin.upper(), validity=event.validity, valid_until=event.valid_until,
        cumulative_repair_days=event.cumulative_repair_days, same_problem_repairs=event.same_problem_repairs,
        serious_safety_fault_repairs=event.serious_safety_fault_repairs,
        engine_or_transmission_replacements=event.engine_or_transmission_replacements, alerts=event.alerts,
        updated_at=event.updated_at,
    ))


async def three_guarantees_alert(session: AsyncSession, event: nw.ThreeGuaranteesAlertRaised) -> None:
    await repository.keep_alert(session, dict(
        vin=event.vin.upper(), threshold=event.threshold, kind=event.kind, remedy=event.remedy, status=event.status,
        value=event.value, limit=event.limit, problem=event.problem, loaner_owed=event.loaner_owed,
        store_id=event.store_id, repair_order_id=event.repair_order_id, message_zh=event.message_zh,
        message_en=event.message_en, raised_at=event.raised_at,
    ))


# ---- what the advisor sees -------------------------------------------------------------------

def _open(campaign: Campaign) -> OpenCampaign:
    return OpenCampaign(
        campaign_id=campaign.campaign_id, code=campaign.code, kind=campaign.kind, title_zh=campaign.title_zh,
        title_en=campaign.title_en, op_code=campaign.op_code, flat_hours=campaign.flat_hours,
        parts=campaign.parts, starts_on=campaign.starts_on, ends_on=campaign.ends_on,
    )


async def notices(session: AsyncSession, clock: Clock, vin: str) -> VehicleNotices:
    vin = vin.upper()
    today = brand_today(clock)
    figures = await repository.figures(session, vin)
    return VehicleNotices(
        vin=vin, on=today,
        campaigns=[_open(c) for c in await repository.open_campaigns(session, vin, today)],
        three_guarantees=ThreeGuaranteesFigures.model_validate(figures, from_attributes=True) if figures else None,
        three_guarantees_alerts=[ThreeGuaranteesAlertPublic.model_validate(a, from_attributes=True)
                                 for a in await repository.alerts(session, vin)],
    )


async def open_campaign(session: AsyncSession, clock: Clock, vin: str, code: str) -> Campaign | None:
    found = await repository.open_campaigns(session, vin.upper(), brand_today(clock), code)
    return found[0] if found else None
