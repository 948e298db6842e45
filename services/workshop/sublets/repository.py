from datetime import datetime

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.pagination import paginate
from services.common.tables import KnownStore
from services.workshop.sublets.models import SubletOrder, Vendor


async def vendor(session: AsyncSession, vendor_id: str) -> Vendor | None:
    return await session.get(Vendor, vendor_id)


async def vendor_for_update(session: AsyncSession, vendor_id: str) -> Vendor | None:
    stmt = select(Vendor).where(Vendor.id == vendor_id).with_for_update()
    return (await session.exec(stmt.execution_options(populate_existing=True))).first()


async def vendor_named(session: AsyncSession, store_id: str, name: str) -> Vendor | None:
    stmt = select(Vendor).where(Vendor.store_id == store_id, Vendor.name == name)
    return (await session.exec(stmt)).first()


async def vendors_by_ids(session: AsyncSession, ids: set[str]) -> dict[str, Vendor]:
    if not ids:
        return {}
    return {v.id: v for v in (await session.exec(select(Vendor).where(col(Vendor.id).in_(ids)))).all()}


async def vendor_page(session: AsyncSession, *, store_id: str | None, limit: int, cursor: str | None,
                      active: bool | None, specialty: str | None):
    stmt = select(Vendor)
    if store_id:
        stmt = stmt.where(Vendor.store_id == store_id)
    if active is not None:
        stmt = stmt.where(Vendor.active == active)
    if specialty:
        # A JSON list of a few words: filtered here rather than by a containment operator JSON lacks.
        stmt = stmt.where(sa.cast(Vendor.specialties, sa.Text).contains(f'"{specialty}"'))
    return await paginate(session, stmt, Vendor.id, limit, cursor)


async def get(session: AsyncSession, sublet_order_id: str) -> SubletOrder | None:
    return await session.get(SubletOrder, sublet_order_id)


async def get_for_update(session: AsyncSession, sublet_order_id: str) -> SubletOrder | None:
    stmt = select(SubletOrder).where(SubletOrder.id == sublet_order_id).with_for_update()
    return (await session.exec(stmt.execution_options(populate_existing=True))).first()


async def live_of_line(session: AsyncSession, repair_order_id: str, line_id: str) -> SubletOrder | None:
    stmt = select(SubletOrder).where(SubletOrder.repair_order_id == repair_order_id, SubletOrder.line_id == line_id,
                                     SubletOrder.status != "cancelled")
    return (await session.exec(stmt)).first()


async def live_by_line(session: AsyncSession, repair_order_id: str) -> dict[str, SubletOrder]:
    """The live (not cancelled) sublet order of each line of a repair order."""
    stmt = select(SubletOrder).where(SubletOrder.repair_order_id == repair_order_id,
                                     SubletOrder.status != "cancelled")
    return {row.line_id: row for row in (await session.exec(stmt)).all()}


async def page(session: AsyncSession, *, store_id: str | None, limit: int, cursor: str | None,
               status: str | None, vendor_id: str | None, repair_order_id: str | None,
               overdue_at: datetime | None):
    """One page of sublet orders; each filter given narrows it. `overdue_at`: only the work
    at a vendor whose promised day has passed in its store's own calendar at that moment."""
    stmt = select(SubletOrder)
    if store_id:
        stmt = stmt.where(SubletOrder.store_id == store_id)
    if status:
        stmt = stmt.where(SubletOrder.status == status)
    if vendor_id:
        stmt = stmt.where(SubletOrder.vendor_id == vendor_id)
    if repair_order_id:
        stmt = stmt.where(SubletOrder.repair_order_id == repair_order_id)
    if overdue_at is not None:
        moment = sa.literal(overdue_at, sa.DateTime(timezone=True))
        store_today = sa.cast(sa.func.timezone(col(KnownStore.timezone), moment), sa.Date)
        stmt = (stmt.join(KnownStore, col(KnownStore.id) == SubletOrder.store_id)
                .where(SubletOrder.status == "sent", col(SubletOrder.promised_on) < store_today))
    return await paginate(session, stmt, SubletOrder.id, limit, cursor)
