from fastapi import APIRouter, Response

from services.common.api import ClockDep, SessionDep, TransactionalRoute
from services.common.errors import (
    Conflict,
    Forbidden,
    InvalidTransition,
    NotFound,
    StaleVersion,
    ValidationFailed,
    problem_responses,
)
from services.common.versioning import PreconditionRequired
from services.reception.insurance import service
from services.reception.insurance.schemas import AssessmentIn
from services.reception.repair_orders import service as orders
from services.reception.repair_orders.schemas import RepairOrderPublic
from services.reception.shared.router import Caller, IfMatch, RepairOrderId, SettingsDep, tag

router = APIRouter(tags=["insurance"], route_class=TransactionalRoute)


@router.put("/v1/repair-orders/{repair_order_id}/assessment", response_model=RepairOrderPublic,
            responses=problem_responses(NotFound, InvalidTransition, Conflict, StaleVersion, PreconditionRequired,
                                        ValidationFailed, Forbidden))
async def put_assessment(repair_order_id: RepairOrderId, body: AssessmentIn, session: SessionDep, clock: ClockDep,
                         settings: SettingsDep, principal: Caller, expected: IfMatch, response: Response):
    """定损 The insurer's assessment of every insurance line: approved amounts, the excess the
    customer pays, the assessor. Again (with If-Match or `version`) after a supplement with
    insurance lines: a supplementary assessment replaces the last."""
    # The row lock queues a second assessment of the order behind the first.
    order = await orders.get_visible(session, principal, repair_order_id, for_update=True)
    await service.assess_order(session, clock.now(), principal, order, body, expected)
    tag(response, order.version)
    return await orders.public(session, order, settings)
