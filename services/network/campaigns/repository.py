from collections.abc import Iterable
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.db import table_of
from services.network.campaigns.models import Campaign, CampaignVin
from services.network.stores.models import Store

VINS = table_of(CampaignVin)


async def get(session: AsyncSession, campaign_id: str, *, for_update: bool = False) -> Campaign | None:
    stmt = select(Campaign).where(Campaign.id == campaign_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.exec(stmt)).first()


async def by_code(session: AsyncSession, code: str) -> Campaign | None:
    return (await session.exec(select(Campaign).where(Campaign.code == code))).first()


def list_stmt(status: str | None, vin: str | None):
    stmt = select(Campaign)
    if status:
        stmt = stmt.where(Campaign.status == status)
    if vin:
        stmt = stmt.where(col(Campaign.id).in_(select(CampaignVin.campaign_id).where(CampaignVin.vin == vin)))
    return stmt


async def replace_vins(session: AsyncSession, campaign_id: str, vins: list[str]) -> None:
    """The campaign's affected VINs become `vins` (distinct), in the request's transaction.
    COPY through asyncpg: 100,000 rows in well under a second, where an ORM insert takes
    tens (bench/campaigns.py measures it)."""
    await session.exec(sa.delete(VINS).where(VINS.c.campaign_id == campaign_id))
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    await driver.copy_records_to_table("campaign_vins", records=[(campaign_id, vin) for vin in vins],
                                       columns=["campaign_id", "vin"])


async def add_vins(session: AsyncSession, campaign_id: str, vins: list[str]) -> int:
    """Adds `vins` (distinct) to the campaign's list, those it lists already left as they
    are; answers how many it lists now. COPY into a scratch table dropped at commit, then
    one INSERT that skips what is there."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    await driver.execute("CREATE TEMP TABLE campaign_vins_upload (vin varchar(17) NOT NULL) ON COMMIT DROP")
    await driver.copy_records_to_table("campaign_vins_upload", records=[(vin,) for vin in vins], columns=["vin"])
    await driver.execute("INSERT INTO campaign_vins (campaign_id, vin) SELECT $1, vin FROM campaign_vins_upload "
                         "ON CONFLICT (campaign_id, vin) DO NOTHING", campaign_id)
    await driver.execute("DROP TABLE campaign_vins_upload")
    return await count_vins(session, campaign_id)


async def count_vins(session: AsyncSession, campaign_id: str) -> int:
    stmt = select(sa.func.count()).select_from(VINS).where(VINS.c.campaign_id == campaign_id)
    return (await session.exec(stmt)).one()


async def open_for_vin(session: AsyncSession, vin: str, day: date) -> list[Campaign]:
    """Published campaigns open on `day` that list `vin` and are not yet done for it."""
    stmt = (select(Campaign).join(CampaignVin, col(CampaignVin.campaign_id) == col(Campaign.id))
            .where(CampaignVin.vin == vin, col(CampaignVin.completed_at).is_(None), Campaign.status == "published",
                   col(Campaign.starts_on) <= day, col(Campaign.ends_on) >= day)
            .order_by(col(Campaign.starts_on), col(Campaign.code)))
    return list((await session.exec(stmt)).all())


async def open_at_repair(session: AsyncSession, vin: str, day: date, op_codes: Iterable[str],
                         repair_order_id: str) -> list[Campaign]:
    """Campaigns that covered these operations for `vin` on `day`: published, within their
    dates, and not done by another order (done by this very order still counts: that is
    the campaign work itself)."""
    codes = list(op_codes)
    if not codes:
        return []
    stmt = (select(Campaign).join(CampaignVin, col(CampaignVin.campaign_id) == col(Campaign.id))
            .where(CampaignVin.vin == vin, col(Campaign.op_code).in_(codes), Campaign.status == "published",
                   col(Campaign.starts_on) <= day, col(Campaign.ends_on) >= day,
                   sa.or_(col(CampaignVin.completed_at).is_(None),
                          col(CampaignVin.repair_order_id) == repair_order_id))
            .order_by(col(Campaign.code)))
    return list((await session.exec(stmt)).all())


async def complete(session: AsyncSession, vin: str, day: date, op_codes: Iterable[str], *, store_id: str,
                   repair_order_id: str, at: datetime) -> list[str]:
    """Marks `vin` done for the published campaigns open on `day` whose operation the order
    carried; a VIN already done stays as it was (the first order that did it keeps it)."""
    codes = list(op_codes)
    if not codes:
        return []
    covering = (select(Campaign.id).where(col(Campaign.op_code).in_(codes), Campaign.status == "published",
                                          col(Campaign.starts_on) <= day, col(Campaign.ends_on) >= day))
    stmt = (sa.update(VINS)
            .where(VINS.c.vin == vin, VINS.c.completed_at.is_(None), VINS.c.campaign_id.in_(covering))
            .values(completed_at=at, store_id=store_id, repair_order_id=repair_order_id)
            .returning(VINS.c.campaign_id))
    return list((await session.exec(stmt)).scalars().all())


async def completion_by_store(session: AsyncSession, campaign_id: str,
                              store_id: str | None) -> list[tuple[Store, int]]:
    """Each store that did some of the campaign, with the VINs it did, by region and code."""
    stmt = (select(col(CampaignVin.store_id), sa.func.count())
            .where(col(CampaignVin.campaign_id) == campaign_id, col(CampaignVin.store_id).is_not(None))
            .group_by(col(CampaignVin.store_id)))
    if store_id is not None:
        stmt = stmt.where(col(CampaignVin.store_id) == store_id)
    done = {row[0]: row[1] for row in (await session.exec(stmt)).all()}
    if not done:
        return []
    stores = (await session.exec(select(Store).where(col(Store.id).in_(list(done))))).all()
    return sorted(((store, done[store.id]) for store in stores), key=lambda pair: (pair[0].region, pair[0].code))
