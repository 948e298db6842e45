from datetime import date

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.workshop.certifications.models import CertificationCourse, StaffCertification


async def course(session: AsyncSession, course_code: str) -> CertificationCourse | None:
    return await session.get(CertificationCourse, course_code)


async def courses(session: AsyncSession) -> list[CertificationCourse]:
    return list((await session.exec(select(CertificationCourse).order_by(CertificationCourse.course_code))).all())


async def certification(session: AsyncSession, certification_id: str) -> StaffCertification | None:
    return await session.get(StaffCertification, certification_id)


async def valid_courses(session: AsyncSession, person_id: str, on: date) -> set[str]:
    """The courses the person holds a certificate in that is not revoked and covers `on`."""
    stmt = select(StaffCertification.course_code).where(
        StaffCertification.person_id == person_id, col(StaffCertification.revoked_at).is_(None),
        StaffCertification.issued_on <= on, StaffCertification.expires_on >= on)
    return set((await session.exec(stmt)).all())
