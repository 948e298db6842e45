from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from services.common.api import ClockDep, SessionDep, TransactionalRoute, require_access, require_roles
from services.common.errors import NotFound, ValidationFailed, problem_responses
from services.common.identity import Principal
from services.common.inputs import MAX_VERSION, Day
from services.network.policies import service
from services.network.policies.bodies import PolicyName
from services.network.policies.schemas import (
    PolicyChanges,
    PolicySummaryList,
    PolicyVersionCreate,
    PolicyVersionList,
    PolicyVersionPublic,
)

router = APIRouter(prefix="/v1/policies", tags=["policies"], route_class=TransactionalRoute)
# What the brand pays by is read by the people who work by it: the matrix's `policies` area
# (every store role, HQ and region managers).
Reader = Annotated[Principal, Depends(require_access("policies"))]
HqAdmin = Annotated[Principal, Depends(require_roles("hq_admin"))]
Version = Annotated[int, Path(ge=1, le=MAX_VERSION)]


@router.get("", response_model=PolicySummaryList)
async def list_policies(session: SessionDep, clock: ClockDep, _: Reader,
                        on: Annotated[Day | None, Query(description="the day; default today (China time)")] = None):
    """Every policy kept as versions: the version in force on the day and those announced for later."""
    return await service.summaries(session, on or service.today(clock))


@router.get("/{name}/changes", response_model=PolicyChanges, responses=problem_responses(NotFound))
async def changes_since(name: PolicyName, since: Annotated[Day, Query(description="the day (China time) whose "
                                                                                 "version the store knows")],
                        session: SessionDep, _: Reader):
    """What changed after `since`: each later version with its changes, and all of them together."""
    return await service.changes_since(session, name, since)


@router.post("/{name}/versions", status_code=201, response_model=PolicyVersionPublic,
             responses=problem_responses(NotFound, ValidationFailed))
async def add_version(name: PolicyName, body: PolicyVersionCreate, session: SessionDep, clock: ClockDep,
                      principal: HqAdmin):
    """A new version of the policy, in force from `effective_from`; its `changes` say what changed."""
    return await service.add_version(session, clock, principal, name, body)


@router.get("/{name}/versions", response_model=PolicyVersionList, responses=problem_responses(NotFound))
async def list_versions(name: PolicyName, session: SessionDep, _: Reader):
    """Every version, oldest first, each with what it changed from the one before."""
    return await service.list_versions(session, name)


@router.get("/{name}/versions/{version}", response_model=PolicyVersionPublic, responses=problem_responses(NotFound))
async def get_version(name: PolicyName, version: Version, session: SessionDep, _: Reader):
    return await service.get_version(session, name, version)


@router.get("/{name}", response_model=PolicyVersionPublic, responses=problem_responses(NotFound))
async def in_force(name: PolicyName, session: SessionDep, clock: ClockDep, _: Reader,
                   on: Annotated[Day | None, Query(description="the day; default today (China time)")] = None):
    """The version in force on a day."""
    return await service.on(session, name, on or service.today(clock))
