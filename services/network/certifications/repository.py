from datetime import date

import sqlalchemy as sa
from sqlalchemy import func
from sqlmodel import col, delete, exists, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.pagination import paginate
from services.network.applications.models import OutletApplication
from services.network.certifications.models import Certification, Course, StoreRequirement
from services.network.people.models import Assignment, Person


async def courses(session: AsyncSession) -> list[Course]:
    return list((await session.exec(select(Course).order_by(Course.code))).all())


async def course(session: AsyncSession, code: str, *, for_update: bool = False) -> Course | None:
    if for_update:
        return (await session.exec(select(Course).where(Course.code == code).with_for_update())).first()
    return await session.get(Course, code)


async def store_requirements(session: AsyncSession, store_kind: str | None = None) -> list[StoreRequirement]:
    stmt = select(StoreRequirement).order_by(StoreRequirement.store_kind, StoreRequirement.role,
                                             StoreRequirement.course_code)
    if store_kind is not None:
        stmt = stmt.where(StoreRequirement.store_kind == store_kind)
    return list((await session.exec(stmt)).all())


async def replace_store_requirements(session: AsyncSession, store_kind: str, rows: list[StoreRequirement]) -> None:
    """The kind's requirements become `rows`. Two replacements of one kind at once take
    turns: a row lock would not cover the rows the other is about to insert."""
    await session.exec(sa.select(func.pg_advisory_xact_lock(func.hashtext(  # type: ignore[call-overload]
        f"store-cert-requirements:{store_kind}"))))
    await session.exec(delete(StoreRequirement).where(col(StoreRequirement.store_kind) == store_kind))
    session.add_all(rows)
    await session.flush()


async def person(session: AsyncSession, person_id: str) -> Person | None:
    return await session.get(Person, person_id)


async def people(session: AsyncSession, person_ids: set[str]) -> dict[str, Person]:
    if not person_ids:
        return {}
    return {p.id: p for p in (await session.exec(select(Person).where(col(Person.id).in_(person_ids)))).all()}


async def works_in(session: AsyncSession, person_id: str, store_id: str) -> bool:
    return await session.get(Assignment, (person_id, store_id)) is not None


async def by_number(session: AsyncSession, course_code: str, certificate_no: str) -> Certification | None:
    stmt = select(Certification).where(Certification.course_code == course_code,
                                       Certification.certificate_no == certificate_no)
    return (await session.exec(stmt)).first()


async def get(session: AsyncSession, certification_id: str, *, for_update: bool = False) -> Certification | None:
    stmt = select(Certification).where(Certification.id == certification_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.exec(stmt)).first()


async def page(session: AsyncSession, *, limit: int, cursor: str | None, person_id: str | None = None,
               store_id: str | None = None, course_code: str | None = None, valid_on: date | None = None,
               expiring_until: date | None = None):
    """Certificates newest first. `store_id`: of people assigned to that store now;
    `valid_on` with `expiring_until`: not revoked, valid on the first day and ending on or
    before the second."""
    stmt = select(Certification)
    if person_id:
        stmt = stmt.where(Certification.person_id == person_id)
    if store_id:
        stmt = stmt.where(exists().where(col(Assignment.person_id) == Certification.person_id,
                                         col(Assignment.store_id) == store_id))
    if course_code:
        stmt = stmt.where(Certification.course_code == course_code)
    if valid_on is not None and expiring_until is not None:
        stmt = stmt.where(col(Certification.revoked_at).is_(None), Certification.expires_on >= valid_on,
                          Certification.expires_on <= expiring_until)
    return await paginate(session, stmt, Certification.id, limit, cursor)


async def holders_in_store(session: AsyncSession, store_id: str, on: date) -> dict[tuple[str, str], int]:
    """How many people assigned to the store hold, in each role, a valid certificate of each
    course on `on`: {(role, course code): people}."""
    people = func.count(sa.distinct(col(Assignment.person_id)))
    stmt = (select(Assignment.role, Certification.course_code, people)
            .join(Certification, col(Certification.person_id) == Assignment.person_id)
            .join(Person, col(Person.id) == Assignment.person_id)
            .where(Assignment.store_id == store_id, Person.status == "active",
                   col(Certification.revoked_at).is_(None), Certification.issued_on <= on,
                   Certification.expires_on >= on)
            .group_by(Assignment.role, Certification.course_code))
    return {(role, code): n for role, code, n in (await session.exec(stmt)).all()}


async def requested_services(session: AsyncSession, store_id: str) -> list[str]:
    """What the outlet's approved application asked to service; nothing for a store made without one."""
    stmt = select(OutletApplication.requested_services).where(OutletApplication.store_id == store_id)
    found: list[str] = []
    for services in (await session.exec(stmt)).all():
        found.extend(services or [])
    return found
