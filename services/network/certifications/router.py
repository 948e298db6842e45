from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from services.common.api import (
    ClockDep,
    CursorQuery,
    LimitQuery,
    SessionDep,
    TransactionalRoute,
    require_access,
    require_roles,
)
from services.common.errors import (
    Conflict,
    Forbidden,
    InvalidTransition,
    NotFound,
    StaleVersion,
    ValidationFailed,
    problem_responses,
)
from services.common.identity import Principal
from services.common.versioning import IfMatch, etag
from services.network.certifications import service
from services.network.certifications.schemas import (
    COURSE_CODE,
    MAX_EXPIRING_DAYS,
    CertificationGrant,
    CertificationList,
    CertificationPublic,
    CertificationRevoke,
    CourseCreate,
    CourseList,
    CoursePublic,
    CourseUpdate,
    Requirements,
    StoreCertificationStatus,
    StoreKindRequirements,
    StoreKindRequirementsPut,
    StoreKindRule,
)
from services.network.stores import service as stores

courses = APIRouter(prefix="/v1/courses", tags=["training and certification"], route_class=TransactionalRoute)
router = APIRouter(prefix="/v1/certifications", tags=["training and certification"],
                   route_class=TransactionalRoute)
requirements = APIRouter(prefix="/v1/certification-requirements", tags=["training and certification"],
                         route_class=TransactionalRoute)
# A store's certified staff, beside its onboarding checklist.
stores_status = APIRouter(prefix="/v1/stores", tags=["training and certification"], route_class=TransactionalRoute)
# The matrix's `certifications` area: HQ reads and writes (the service lets a course's
# trainers and hq_admin grant), a store's managers read their own store's people, the rest
# of its staff the courses and their own certificates.
Access = Annotated[Principal, Depends(require_access("certifications"))]
HqAdmin = Annotated[Principal, Depends(require_roles("hq_admin"))]
StoreReader = Annotated[Principal, Depends(require_access("network"))]
IdQuery = Annotated[str | None, Query(min_length=1, max_length=64)]
CourseQuery = Annotated[str | None, Query(min_length=1, max_length=16, pattern=COURSE_CODE)]
CoursePath = Annotated[str, Path(min_length=1, max_length=16, pattern=COURSE_CODE)]
DaysQuery = Annotated[int | None, Query(ge=0, le=MAX_EXPIRING_DAYS, description=(
    "valid today and expiring within this many days (China's calendar); revoked and expired ones left out"))]


@courses.get("", response_model=CourseList)
async def list_courses(session: SessionDep, principal: Access):
    """Every course, with the labour operations only its holders may be given."""
    return await service.list_courses(session)


@courses.post("", status_code=201, response_model=CoursePublic, responses=problem_responses(Conflict, ValidationFailed))
async def create_course(body: CourseCreate, session: SessionDep, clock: ClockDep, principal: HqAdmin):
    return await service.create_course(session, clock, principal, body)


@courses.get("/{code}", response_model=CoursePublic, responses=problem_responses(NotFound))
async def get_course(code: CoursePath, session: SessionDep, principal: Access, response: Response):
    """The course, its ETag its `version`."""
    course = await service.get_course(session, code)
    response.headers["ETag"] = etag(course.version)
    return course


@courses.patch("/{code}", response_model=CoursePublic,
               responses=problem_responses(NotFound, ValidationFailed, StaleVersion))
async def change_course(code: CoursePath, body: CourseUpdate, session: SessionDep, clock: ClockDep,
                        principal: HqAdmin, response: Response, if_match: IfMatch = None):
    """Change a course's names, validity or operations (the whole list); publishes it again,
    one revision on. Certificates granted keep their days. Send the ETag read as If-Match:
    a stale one is 412 and changes nothing."""
    course = await service.change_course(session, clock, principal, code, body, if_match)
    response.headers["ETag"] = etag(course.version)
    return course


@requirements.get("", response_model=Requirements)
async def list_requirements(session: SessionDep, principal: Access):
    """The certified people each kind of store needs, and the certification each labour operation needs."""
    return await service.requirements(session)


@requirements.put("/{store_kind}", response_model=StoreKindRequirements, responses=problem_responses(ValidationFailed))
async def replace_requirements(store_kind: StoreKindRule, body: StoreKindRequirementsPut, session: SessionDep,
                               principal: HqAdmin):
    """hq_admin sets the certified people every store of the kind must have (each role and
    course once, how many people, known courses), replacing what it had; an outlet is held
    to them when it is activated."""
    return await service.replace_store_requirements(session, store_kind, body)


@router.get("", response_model=CertificationList, responses=problem_responses(ValidationFailed))
async def list_certifications(session: SessionDep, clock: ClockDep, principal: Access, limit: LimitQuery = 50,
                              cursor: CursorQuery = None, person_id: IdQuery = None,
                              store_id: Annotated[str | None, Query(min_length=1, max_length=64, description=(
                                  "of the people working in this store; a store's caller always its own"))] = None,
                              course_code: CourseQuery = None, expiring_within_days: DaysQuery = None):
    return await service.list_certifications(session, clock, principal, limit=limit, cursor=cursor,
                                             person_id=person_id, store_id=store_id, course_code=course_code,
                                             expiring_within_days=expiring_within_days)


@router.get("/expiring", response_model=CertificationList, responses=problem_responses(ValidationFailed))
async def expiring_certifications(session: SessionDep, clock: ClockDep, principal: Access, limit: LimitQuery = 50,
                                  cursor: CursorQuery = None,
                                  store_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
                                  within_days: Annotated[int, Query(ge=0, le=MAX_EXPIRING_DAYS, description=(
                                      "how far ahead; default a month"))] = service.EXPIRING_DAYS):
    """Certificates valid today that run out within the window (a month ahead unless told),
    for HQ every store's, for a store's managers their own people's: whom to send to training."""
    return await service.list_certifications(session, clock, principal, limit=limit, cursor=cursor, person_id=None,
                                             store_id=store_id, course_code=None, expiring_within_days=within_days)


@router.post("", status_code=201, response_model=CertificationPublic,
             responses=problem_responses(Forbidden, Conflict, ValidationFailed))
async def grant_certification(body: CertificationGrant, session: SessionDep, clock: ClockDep, principal: Access):
    """hq_admin, or a trainer of the course, records a certificate a person earned."""
    return await service.grant(session, clock, principal, body)


@router.get("/{certification_id}", response_model=CertificationPublic, responses=problem_responses(NotFound))
async def get_certification(certification_id: str, session: SessionDep, clock: ClockDep, principal: Access):
    return await service.get(session, clock, principal, certification_id)


@router.post("/{certification_id}/revoke", response_model=CertificationPublic,
             responses=problem_responses(NotFound, Forbidden, InvalidTransition))
async def revoke_certification(certification_id: str, body: CertificationRevoke, session: SessionDep,
                               clock: ClockDep, principal: Access):
    return await service.revoke(session, clock, principal, certification_id, body)


@stores_status.get("/{store_id}/certifications", response_model=StoreCertificationStatus,
                   responses=problem_responses(NotFound))
async def store_certification_status(store_id: str, session: SessionDep, clock: ClockDep, principal: StoreReader):
    """The certified staff the store's kinds require and what it lacks today (an outlet is not
    activated while it lacks any)."""
    return await service.store_status(session, clock, await stores.get_visible(session, principal, store_id))
