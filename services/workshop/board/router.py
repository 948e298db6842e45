from typing import Annotated

from fastapi import APIRouter, Depends, Query

from services.common.api import ClockDep, SessionDep, TransactionalRoute, require_access
from services.common.errors import NotFound, ValidationFailed, problem_responses
from services.common.identity import Principal
from services.workshop.board import service
from services.workshop.board.schemas import WorkInProgressBoard
from services.workshop.deps import SettingsDep

router = APIRouter(prefix="/v1/work-in-progress", tags=["work in progress"], route_class=TransactionalRoute)
# The managers' and advisors' view of the shop (and HQ's), not the technicians' or the parts desk's.
Reader = Annotated[Principal, Depends(require_access("workshop_board"))]


@router.get("", response_model=WorkInProgressBoard, responses=problem_responses(NotFound, ValidationFailed))
async def work_in_progress(session: SessionDep, clock: ClockDep, settings: SettingsDep, principal: Reader,
                           store_id: Annotated[str | None, Query(description="HQ only: the store")] = None):
    """Every open order of the store by state and age; waiting parts, waiting approval, in
    quality check, at risk of missing its promised time; the average time in shop."""
    return await service.board(session, settings, principal, clock.now(), store_id)
