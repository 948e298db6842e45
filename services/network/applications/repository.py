from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.pagination import paginate
from services.network.applications.models import OutletApplication


async def get(session: AsyncSession, application_id: str) -> OutletApplication | None:
    return await session.get(OutletApplication, application_id)


async def get_for_update(session: AsyncSession, application_id: str) -> OutletApplication | None:
    stmt = select(OutletApplication).where(OutletApplication.id == application_id).with_for_update()
    return (await session.exec(stmt)).first()


async def open_for_licence(session: AsyncSession, license_no: str) -> OutletApplication | None:
    """A submitted or approved application for this business licence, if any, however the
    licence number is written (case and hyphens do not make another licence)."""
    written = func.upper(func.replace(col(OutletApplication.license_no), "-", ""))
    stmt = select(OutletApplication).where(
        written == license_no.replace("-", "").upper(),
        col(OutletApplication.status).in_(("submitted", "approved")),
    )
    return (await session.exec(stmt)).first()


async def page(session: AsyncSession, *, limit: int, cursor: str | None, status: str | None = None,
               within: list[str] | None = None):
    stmt = select(OutletApplication)
    if status:
        stmt = stmt.where(OutletApplication.status == status)
    if within is not None:  # a region manager: the outlets that are its regions' stores
        stmt = stmt.where(col(OutletApplication.store_id).in_(within))
    return await paginate(session, stmt, OutletApplication.id, limit, cursor)
