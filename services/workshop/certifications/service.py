"""Who may be given work that needs a certification. A labour operation that a course names
(its `operations`) goes only to a technician whose person holds that course's certificate,
not revoked and valid on the store's today (issued_on through expires_on): expiry is by
date, so no event says a certificate ran out and the workshop's own clock decides.

The copy comes from network: network.course.published (a course and its operations; the
courses data/certifications.json seeds are in migration 0009 from the same file) and
network.certification.granted / .revoked (each carries the certificate as it now stands).
A revocation is final: a grant replayed after it does not bring the certificate back."""
from __future__ import annotations

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.errors import Conflict
from services.common.events.catalogue.network import CertificationGranted, CertificationRevoked, CoursePublished
from services.common.stores import store_zone
from services.common.tables import KnownStore
from services.workshop.certifications import repository
from services.workshop.certifications.models import CertificationCourse, StaffCertification
from services.workshop.jobs.models import Job
from services.workshop.technicians.models import Technician


class CertificationRequired(Conflict):
    """The technician lacks a certification the job's labour operation requires."""

    type, title = "certification-required", "Certification required"


async def ensure_qualified(session: AsyncSession, now: datetime, job: Job, technician: Technician) -> None:
    """Refuse (409 naming the technician and the certification) to give `job` to
    `technician` when its operation needs a certificate their person does not hold today."""
    needed = [c for c in await repository.courses(session) if job.op_code in c.operations]
    if not needed:
        return
    on = now.astimezone(store_zone(await session.get(KnownStore, job.store_id))).date()
    held = await repository.valid_courses(session, technician.principal_id, on) if technician.principal_id else set()
    lacking = [c for c in needed if c.course_code not in held]
    if not lacking:
        return
    course = lacking[0]
    why_zh = "未关联员工档案" if technician.principal_id is None else "没有有效的"
    why_en = ("is linked to no person of the staff directory, so holds no" if technician.principal_id is None
              else "holds no valid")
    raise CertificationRequired(
        f"技师 {technician.name} {why_zh}「{course.name_zh}」({course.course_code})认证，不能派工 {job.op_code}; "
        f"technician {technician.name} {why_en} {course.name_en} ({course.course_code}) certification, "
        f"which operation {job.op_code} requires",
        rule="certification_required", technician_id=technician.id, technician_name=technician.name,
        person_id=technician.principal_id, op_code=job.op_code, certification=course.course_code,
        missing_certifications=[c.course_code for c in lacking], checked_on=on.isoformat())


async def keep_course(session: AsyncSession, event: CoursePublished, at: datetime) -> None:
    course = await repository.course(session, event.course_code)
    if course is None:
        course = CertificationCourse(course_code=event.course_code, name_zh=event.name_zh, name_en=event.name_en,
                                     operations=event.operations, revision=event.revision, updated_at=at)
    elif (course.revision, course.updated_at) > (event.revision, at):
        return  # an older revision arriving late, whatever its time (clocks of network's replicas differ)
    course.name_zh, course.name_en, course.operations, course.revision, course.updated_at = (
        event.name_zh, event.name_en, sorted(set(event.operations)), event.revision, at)
    session.add(course)


async def keep_certification(session: AsyncSession, event: CertificationGranted | CertificationRevoked,
                             at: datetime) -> None:
    row = await repository.certification(session, event.certification_id)
    revoked_at = event.revoked_at if isinstance(event, CertificationRevoked) else None
    if row is None:
        row = StaffCertification(certification_id=event.certification_id, person_id=event.person_id,
                                 course_code=event.course_code, certificate_no=event.certificate_no,
                                 issued_on=event.issued_on, expires_on=event.expires_on, revoked_at=revoked_at,
                                 updated_at=at)
    else:
        row.issued_on, row.expires_on = event.issued_on, event.expires_on
        row.revoked_at = row.revoked_at or revoked_at
        row.updated_at = max(row.updated_at, at)
    session.add(row)
