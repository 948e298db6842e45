"""Training and certification (培训与认证): the courses the brand certifies staff in, each
person's certificates, and the certified people a store and a labour operation require.

A certificate is valid from issued_on through expires_on, in China's calendar, unless
revoked. Expiry is by date and needs no action: `status` is worked out against today, and
the workshop checks expires_on against its own clock. States: valid → revoked (once; a
second revoke is 409 with the current state); valid → expired by date.

Who (the matrix's `certifications` area, then these rules):
- hq_admin adds and changes courses and grants or revokes any certificate; a course's
  trainers (HQ people named on it, the brand's trainers) grant and revoke that course's
  certificates.
- Everyone in the area reads the courses and the requirements.
- HQ reads every certificate; a store's managers read those of the people working in
  their store (another's is 404), and the expiring list of their store; the rest of a
  store's staff (a technician, an advisor, a warranty clerk, ...) only their own.

A course changed (name, validity, operations) is published again as it now stands, with
its revision one more (kept on the course, as is its version, the ETag a change names in
If-Match: a stale one is 412): certificates granted keep their days, and the workshop
checks work against the new operations from then on. The workshop keeps a course's newest
word by the event's time, so a publication is dated no earlier than the one before it.

Requirements: a store of a kind (every_store, dealer_store, partner_outlet, ev_store: an
outlet whose application asked for the ev service) needs a number of people holding a
role in it, each with a valid certificate in a course (store_certification_requirements,
seeded from data/certifications.json; hq_admin replaces a kind's set); a partner outlet
is not activated until it has them (services/network/onboarding), as the table stands
when it asks. A store needs no word of a change: only network checks them. A course's operations
are the labour operations only its holders may be given: the workshop refuses to assign
one to a technician who lacks it, from its copy kept by network.course.published and the
certification events (and, for the seeded courses, from data/certifications.json)."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common import reference
from services.common.clock import Clock, add_months
from services.common.errors import Conflict, Forbidden, InvalidTransition, NotFound, ValidationFailed
from services.common.events.catalogue.network import CertificationGranted, CertificationRevoked, CoursePublished
from services.common.identity import Principal
from services.common.ids import new_id
from services.common.outbox import emit
from services.common.versioning import check_version
from services.network.calendar import HQ_ZONE
from services.network.certifications import repository
from services.network.certifications.models import Certification, Course, StoreRequirement
from services.network.certifications.schemas import (
    CertificationGrant,
    CertificationList,
    CertificationPublic,
    CertificationRevoke,
    CertificationStatus,
    CourseCreate,
    CourseList,
    CoursePublic,
    CourseUpdate,
    MissingCertification,
    OperationRequirementPublic,
    Requirements,
    StoreCertificationStatus,
    StoreKindRequirements,
    StoreKindRequirementsPut,
    StoreKindRule,
    StoreRequirementPublic,
)
from services.network.people.models import Person
from services.network.people.schemas import PersonStatus, StaffRole
from services.network.stores.models import Store

# "A month ahead": what GET /v1/certifications/expiring looks at unless told otherwise.
EXPIRING_DAYS = 31
ROLE_NAMES_ZH = {StaffRole.WARRANTY_CLERK: "索赔员", StaffRole.TECHNICIAN: "技师",
                 StaffRole.SERVICE_MANAGER: "服务经理", StaffRole.SERVICE_ADVISOR: "服务顾问",
                 StaffRole.STORE_MANAGER: "店长", StaffRole.PARTS_CLERK: "配件员", StaffRole.CRM_AGENT: "信息员",
                 StaffRole.CASHIER: "收银员"}


# A course's publication is dated at least this much after its last one (see change_course).
PUBLICATION_STEP = timedelta(microseconds=1)
# A store's callers who read the certificates of everyone working in their store; the rest
# of a store's staff read their own.
STORE_READERS_OF_ALL = frozenset({"store_manager", "service_manager"})


class CertificationsMissing(Conflict):
    """A store lacks certified people its kind requires."""

    type, title = "certifications-missing", "Required certifications missing"


def today(clock: Clock) -> date:
    return clock.now().astimezone(HQ_ZONE).date()


def status_of(certification: Certification, on: date) -> CertificationStatus:
    if certification.revoked_at is not None:
        return CertificationStatus.REVOKED
    return CertificationStatus.EXPIRED if certification.expires_on < on else CertificationStatus.VALID


def _course_public(course: Course) -> CoursePublic:
    return CoursePublic.model_validate(course, from_attributes=True)


# ---- courses and requirements ----------------------------------------------------------

async def list_courses(session: AsyncSession) -> CourseList:
    return CourseList(items=[_course_public(c) for c in await repository.courses(session)])


async def get_course(session: AsyncSession, code: str) -> CoursePublic:
    course = await repository.course(session, code)
    if course is None:
        raise NotFound(f"course {code} not found")
    return _course_public(course)


def _check_operations(operations: list[str]) -> None:
    catalogue = reference.labor_operations()
    for i, op_code in enumerate(operations):
        if op_code not in catalogue:
            raise ValidationFailed(f"operations.{i}", f"unknown labour operation {op_code}")


async def _publish(session: AsyncSession, course: Course, principal: Principal, at: datetime) -> None:
    """Send the course as it stands at its revision, dated `at`."""
    course.published_at = at
    await emit(session, CoursePublished(course_code=course.code, name_zh=course.name_zh, name_en=course.name_en,
                                        validity_months=course.validity_months, operations=course.operations,
                                        published_by=principal.id, published_at=at, revision=course.revision),
               subject=course.code, store_id=None, time=at)


async def create_course(session: AsyncSession, clock: Clock, principal: Principal, data: CourseCreate
                        ) -> CoursePublic:
    if await repository.course(session, data.code) is not None:
        raise Conflict(f"course {data.code} exists", field="code")
    _check_operations(data.operations)
    trainers = await repository.people(session, set(data.trainer_person_ids))
    for i, person_id in enumerate(data.trainer_person_ids):
        trainer = trainers.get(person_id)
        if trainer is None or trainer.status != PersonStatus.ACTIVE or not trainer.hq_role:
            raise ValidationFailed(f"trainer_person_ids.{i}", "must be an active person of HQ (with an hq_role)")
    now = clock.now()
    course = Course(code=data.code, name_zh=data.name_zh, name_en=data.name_en, validity_months=data.validity_months,
                    operations=data.operations, trainer_person_ids=data.trainer_person_ids, created_at=now,
                    created_by=principal.id, revision=1, version=1, published_at=now)
    session.add(course)
    try:
        await session.flush()
    except IntegrityError as exc:  # the same code added at the same time
        raise Conflict(f"course {data.code} exists", field="code") from exc
    await _publish(session, course, principal, now)
    return _course_public(course)


async def change_course(session: AsyncSession, clock: Clock, principal: Principal, code: str, data: CourseUpdate,
                        if_match: int | None = None) -> CoursePublic:
    """Change what is given (If-Match, when sent, must name the version read); publish the
    course as it now stands, one revision and one version on, when anything changed (the
    same answer again publishes nothing and keeps the version)."""
    course = await repository.course(session, code, for_update=True)
    if course is None:
        raise NotFound(f"course {code} not found")
    check_version(course.version, if_match)
    if data.operations is not None:
        _check_operations(data.operations)
    changes = {k: v for k, v in data.model_dump(exclude_none=True).items() if getattr(course, k) != v}
    if not changes:
        return _course_public(course)
    for key, value in changes.items():
        setattr(course, key, value)
    # The row is locked, so two changes at once count one after the other.
    course.revision += 1
    course.version += 1
    # The workshop keeps a course's newest word by the event's time: a clock that stands still
    # (or another replica's that runs behind) must not date this revision at or before the last.
    await _publish(session, course, principal, max(clock.now(), course.published_at + PUBLICATION_STEP))
    session.add(course)
    return _course_public(course)


def _requirement_public(row: StoreRequirement) -> StoreRequirementPublic:
    return StoreRequirementPublic(store_kind=StoreKindRule(row.store_kind), role=StaffRole(row.role),
                                  course_code=row.course_code, people=row.people, source=row.source)


async def requirements(session: AsyncSession) -> Requirements:
    return Requirements(
        stores=[_requirement_public(r) for r in await repository.store_requirements(session)],
        operations=[OperationRequirementPublic(op_code=op, course_code=c.code)
                    for c in await repository.courses(session) for op in c.operations])


async def replace_store_requirements(session: AsyncSession, store_kind: StoreKindRule,
                                     data: StoreKindRequirementsPut) -> StoreKindRequirements:
    """The certified people every store of the kind needs from now on, replacing what it
    needed. An outlet in onboarding is held to them when it asks to be activated; an active
    store is not closed by them (activation is where they are checked)."""
    known = {c.code for c in await repository.courses(session)}
    for i, wanted in enumerate(data.requirements):
        if wanted.course_code not in known:
            raise ValidationFailed(f"requirements.{i}.course_code", f"no course {wanted.course_code}")
    rows = [StoreRequirement(id=new_id(), store_kind=store_kind.value, role=r.role.value, course_code=r.course_code,
                             people=r.people, source=r.source) for r in data.requirements]
    await repository.replace_store_requirements(session, store_kind.value, rows)
    return StoreKindRequirements(
        store_kind=store_kind,
        requirements=[_requirement_public(r) for r in await repository.store_requirements(session, store_kind.value)])


async def store_kinds(session: AsyncSession, store: Store) -> list[StoreKindRule]:
    kinds = [StoreKindRule.EVERY_STORE, StoreKindRule(store.kind)]
    ev_words = {w.casefold() for w in reference.load("certifications")["ev_services"]}
    if any(s.casefold() in ev_words for s in await repository.requested_services(session, store.id)):
        kinds.append(StoreKindRule.EV_STORE)
    return kinds


async def store_status(session: AsyncSession, clock: Clock, store: Store) -> StoreCertificationStatus:
    """The certified people the store's kinds require and which of them it lacks today."""
    kinds = await store_kinds(session, store)
    held = await repository.holders_in_store(session, store.id, today(clock))
    courses = {c.code: c for c in await repository.courses(session)}
    missing = []
    for rule in await repository.store_requirements(session):
        holding = held.get((rule.role, rule.course_code), 0)
        if rule.store_kind not in kinds or holding >= rule.people:
            continue
        course = courses[rule.course_code]
        role = StaffRole(rule.role)
        role_zh = ROLE_NAMES_ZH.get(role, role.value)
        if rule.people == 1:
            message_zh = f"缺少持有有效「{course.name_zh}」({course.code})的{role_zh}"
            message_en = f"no {role.value} holding a valid {course.name_en} ({course.code}) certification"
        else:
            message_zh = (f"需要 {rule.people} 名持有有效「{course.name_zh}」({course.code})的{role_zh}，"
                          f"现有 {holding} 名")
            message_en = (f"{rule.people} {role.value}s holding a valid {course.name_en} ({course.code}) "
                          f"certification needed, {holding} now")
        missing.append(MissingCertification(
            store_kind=StoreKindRule(rule.store_kind), role=role, course_code=course.code, people=rule.people,
            holding=holding, course_name_zh=course.name_zh, course_name_en=course.name_en,
            message_zh=message_zh, message_en=message_en))
    return StoreCertificationStatus(store_id=store.id, store_kinds=kinds, complete=not missing, missing=missing)


async def ensure_store_certified(session: AsyncSession, clock: Clock, store: Store) -> None:
    """Refuse (409, naming each) while the store lacks a certified person its kinds require."""
    found = await store_status(session, clock, store)
    if found.missing:
        raise CertificationsMissing(
            "门店缺少必需的认证人员 the store lacks required certified staff: "
            + "; ".join(f"{m.message_zh} {m.message_en}" for m in found.missing),
            missing_certifications=[m.model_dump(mode="json") for m in found.missing])


# ---- certificates ----------------------------------------------------------------------

def _public(certification: Certification, person: Person | None, course: Course | None,
            on: date) -> CertificationPublic:
    return CertificationPublic(
        id=certification.id, person_id=certification.person_id, person_name=person.name if person else "",
        course_code=certification.course_code, course_name_zh=course.name_zh if course else "",
        course_name_en=course.name_en if course else "", certificate_no=certification.certificate_no,
        issued_on=certification.issued_on, expires_on=certification.expires_on,
        status=status_of(certification, on), granted_at=certification.granted_at,
        granted_by=certification.granted_by, granted_by_name=certification.granted_by_name,
        revoked_at=certification.revoked_at, revoked_by=certification.revoked_by,
        revoked_by_name=certification.revoked_by_name, revoke_reason=certification.revoke_reason,
        version=certification.version)


async def _public_many(session: AsyncSession, clock: Clock, rows: list[Certification]) -> list[CertificationPublic]:
    people = await repository.people(session, {r.person_id for r in rows})
    courses = {c.code: c for c in await repository.courses(session)}
    on = today(clock)
    return [_public(r, people.get(r.person_id), courses.get(r.course_code), on) for r in rows]


def _may_grant(principal: Principal, course: Course) -> None:
    if principal.role in ("hq_admin", "system") or principal.id in course.trainer_person_ids:
        return
    raise Forbidden(f"only hq_admin or a trainer of course {course.code} grants or revokes its certificates")


async def grant(session: AsyncSession, clock: Clock, principal: Principal, data: CertificationGrant
                ) -> CertificationPublic:
    course = await repository.course(session, data.course_code)
    if course is None:
        raise ValidationFailed("course_code", f"no course {data.course_code}")
    _may_grant(principal, course)
    person = await repository.person(session, data.person_id)
    if person is None:
        raise ValidationFailed("person_id", "no person of the staff directory has that id")
    if person.status != PersonStatus.ACTIVE:
        raise ValidationFailed("person_id", "that person has left")
    now_day = today(clock)
    if data.issued_on > now_day:
        raise ValidationFailed("issued_on", f"a certificate is issued today ({now_day}) or on a day past")
    expires_on = data.expires_on or add_months(data.issued_on, course.validity_months) - timedelta(days=1)
    if expires_on < data.issued_on:
        raise ValidationFailed("expires_on", "must not be before issued_on")
    if expires_on > add_months(data.issued_on, course.validity_months):
        raise ValidationFailed("expires_on", f"course {course.code} is valid {course.validity_months} months at most")
    if await repository.by_number(session, course.code, data.certificate_no) is not None:
        raise Conflict(f"certificate {data.certificate_no} of course {course.code} is recorded already",
                       field="certificate_no")
    now = clock.now()
    certification = Certification(
        id=new_id(), person_id=person.id, course_code=course.code, certificate_no=data.certificate_no,
        issued_on=data.issued_on, expires_on=expires_on, granted_at=now, granted_by=principal.id,
        granted_by_name=principal.name or None)
    session.add(certification)
    try:
        await session.flush()
    except IntegrityError as exc:  # the same number recorded at the same time
        raise Conflict(f"certificate {data.certificate_no} of course {course.code} is recorded already",
                       field="certificate_no") from exc
    await emit(session, CertificationGranted(
        certification_id=certification.id, person_id=person.id, person_name=person.name, course_code=course.code,
        certificate_no=certification.certificate_no, issued_on=certification.issued_on,
        expires_on=certification.expires_on, granted_by=principal.id, granted_by_name=principal.name or None,
        granted_at=now), subject=certification.id, store_id=None, time=now)
    return _public(certification, person, course, now_day)


def _own_only(principal: Principal) -> bool:
    """A store's caller other than its managers: reads its own certificates only."""
    return principal.store_id is not None and principal.role not in STORE_READERS_OF_ALL


async def _visible(session: AsyncSession, principal: Principal, certification_id: str, *,
                   for_update: bool = False) -> Certification:
    """The certificate if the caller may see it: HQ any, a store's managers one of a person
    working in their store, the rest of its staff their own (another is 404)."""
    certification = await repository.get(session, certification_id, for_update=for_update)
    if certification is None or (principal.store_id is not None and not await repository.works_in(
            session, certification.person_id, principal.store_id)) or (
            _own_only(principal) and certification.person_id != principal.id):
        raise NotFound("certification not found")
    return certification


async def get(session: AsyncSession, clock: Clock, principal: Principal, certification_id: str
              ) -> CertificationPublic:
    return (await _public_many(session, clock, [await _visible(session, principal, certification_id)]))[0]


async def revoke(session: AsyncSession, clock: Clock, principal: Principal, certification_id: str,
                 data: CertificationRevoke) -> CertificationPublic:
    certification = await _visible(session, principal, certification_id, for_update=True)
    course = await repository.course(session, certification.course_code)
    assert course is not None  # a foreign key
    _may_grant(principal, course)
    if certification.revoked_at is not None:
        raise InvalidTransition(CertificationStatus.REVOKED.value, "revoke")
    now = clock.now()
    certification.revoked_at, certification.revoked_by = now, principal.id
    certification.revoked_by_name, certification.revoke_reason = principal.name or None, data.reason
    certification.version += 1
    session.add(certification)
    person = await repository.person(session, certification.person_id)
    assert person is not None  # a foreign key
    await emit(session, CertificationRevoked(
        certification_id=certification.id, person_id=person.id, person_name=person.name,
        course_code=certification.course_code, certificate_no=certification.certificate_no,
        issued_on=certification.issued_on, expires_on=certification.expires_on, reason=data.reason,
        revoked_by=principal.id, revoked_by_name=principal.name or None, revoked_at=now),
        subject=certification.id, store_id=None, time=now)
    return _public(certification, person, course, today(clock))


async def list_certifications(session: AsyncSession, clock: Clock, principal: Principal, *, limit: int,
                              cursor: str | None, person_id: str | None, store_id: str | None,
                              course_code: str | None, expiring_within_days: int | None) -> CertificationList:
    """Newest first. A store's caller sees the people of its own store, whatever store it
    names; one who is not its manager only itself, whatever person it names."""
    if _own_only(principal):
        if person_id not in (None, principal.id):
            return CertificationList(items=[], next_cursor=None)
        person_id = principal.id
    on = today(clock)
    rows, next_cursor = await repository.page(
        session, limit=limit, cursor=cursor, person_id=person_id, store_id=principal.store_id or store_id,
        course_code=course_code, valid_on=on if expiring_within_days is not None else None,
        expiring_until=on + timedelta(days=expiring_within_days) if expiring_within_days is not None else None)
    return CertificationList(items=await _public_many(session, clock, list(rows)), next_cursor=next_cursor)
