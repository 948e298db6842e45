from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.db import table_of
from services.reception.vehicle_notices.models import (
    Campaign,
    CampaignVehicle,
    ThreeGuarantees,
    ThreeGuaranteesAlert,
)

CAMPAIGNS = table_of(Campaign)
VEHICLES = table_of(CampaignVehicle)
FIGURES = table_of(ThreeGuarantees)
ALERTS = table_of(ThreeGuaranteesAlert)


async def keep_campaign(session: AsyncSession, values: dict[str, Any], *, replace: bool) -> None:
    """The campaign as announced; `replace`: the published event's full record wins over what
    a chunk read first could say, while a chunk never overwrites it."""
    stmt = pg_insert(CAMPAIGNS).values(**values)
    if replace:
        stmt = stmt.on_conflict_do_update(index_elements=[CAMPAIGNS.c.campaign_id],
                                          set_={k: stmt.excluded[k] for k in values if k != "campaign_id"})
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=[CAMPAIGNS.c.campaign_id])
    await session.exec(stmt)


def _add_vehicles_statement():
    # One statement for a chunk, whatever its size: the VINs travel as one array parameter
    # and are unnested in the database; a VIN listed already (a redelivered chunk) stays once.
    vins = sa.func.unnest(sa.bindparam("vins", type_=ARRAY(sa.String())))
    rows = sa.select(sa.bindparam("campaign_id", type_=sa.String()), vins)
    return (pg_insert(VEHICLES).from_select([VEHICLES.c.campaign_id, VEHICLES.c.vin], rows)
            .on_conflict_do_nothing(index_elements=[VEHICLES.c.campaign_id, VEHICLES.c.vin]))


async def add_vehicles(session: AsyncSession, campaign_id: str, vins: list[str]) -> None:
    await session.exec(_add_vehicles_statement(), params={"campaign_id": campaign_id, "vins": vins})


async def mark_completed(session: AsyncSession, campaign_id: str, vin: str, *, at: datetime, store_id: str,
                         repair_order_id: str) -> None:
    """Done once: the first completion is kept; a row is made if the VIN's chunk is still on its way."""
    values = dict(campaign_id=campaign_id, vin=vin, completed_at=at, completed_store_id=store_id,
                  completed_repair_order_id=repair_order_id)
    stmt = pg_insert(VEHICLES).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=[VEHICLES.c.campaign_id, VEHICLES.c.vin],
        set_={k: stmt.excluded[k] for k in ("completed_at", "completed_store_id", "completed_repair_order_id")},
        where=VEHICLES.c.completed_at.is_(None),
    )
    await session.exec(stmt)


async def open_campaigns(session: AsyncSession, vin: str, on: date, code: str | None = None) -> list[Campaign]:
    """The campaigns listing the car, open on `on` and not yet done for it; soonest to end first."""
    stmt = (
        select(Campaign)
        .join(CampaignVehicle, col(CampaignVehicle.campaign_id) == col(Campaign.campaign_id))
        .where(CampaignVehicle.vin == vin, col(CampaignVehicle.completed_at).is_(None),
               col(Campaign.starts_on) <= on, col(Campaign.ends_on) >= on)
        .order_by(col(Campaign.ends_on), col(Campaign.code))
    )
    if code is not None:
        stmt = stmt.where(Campaign.code == code)
    return list((await session.exec(stmt)).all())


async def keep_figures(session: AsyncSession, values: dict[str, Any]) -> None:
    """The car's latest figures; an older update arriving late changes nothing."""
    stmt = pg_insert(FIGURES).values(**values)
    stmt = stmt.on_conflict_do_update(index_elements=[FIGURES.c.vin],
                                      set_={k: stmt.excluded[k] for k in values if k != "vin"},
                                      where=FIGURES.c.updated_at <= stmt.excluded.updated_at)
    await session.exec(stmt)


async def keep_alert(session: AsyncSession, values: dict[str, Any]) -> None:
    stmt = pg_insert(ALERTS).values(**values)
    stmt = stmt.on_conflict_do_update(index_elements=[ALERTS.c.vin, ALERTS.c.threshold],
                                      set_={k: stmt.excluded[k] for k in values if k not in ("vin", "threshold")},
                                      where=ALERTS.c.raised_at <= stmt.excluded.raised_at)
    await session.exec(stmt)


async def figures(session: AsyncSession, vin: str) -> ThreeGuarantees | None:
    return await session.get(ThreeGuarantees, vin)


async def alerts(session: AsyncSession, vin: str) -> list[ThreeGuaranteesAlert]:
    stmt = (select(ThreeGuaranteesAlert).where(ThreeGuaranteesAlert.vin == vin)
            .order_by(col(ThreeGuaranteesAlert.raised_at), col(ThreeGuaranteesAlert.threshold)))
    return list((await session.exec(stmt)).all())
