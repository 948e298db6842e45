from typing import Annotated

from fastapi import APIRouter, Depends, Query

from services.common.api import ClockDep, SessionDep, TransactionalRoute, require_roles
from services.common.errors import NotFound, ValidationFailed, problem_responses
from services.common.identity import Principal
from services.reception.receivables import service
from services.reception.receivables.schemas import (
    Bucket,
    OverdueList,
    PayerKind,
    PaymentCreate,
    PaymentPublic,
    ReceivableList,
)
from services.reception.shared.router import ID_PATTERN, StoreQuery

router = APIRouter(tags=["receivables"], route_class=TransactionalRoute)
# Money owed to the store is its managers' and cashiers' to see and collect; HQ's for any store.
Collector = Annotated[Principal, Depends(require_roles("hq_admin", "store_manager", "service_manager", "cashier"))]


@router.get("/v1/receivables", response_model=ReceivableList)
async def list_receivables(
    session: SessionDep, clock: ClockDep, principal: Collector, store_id: StoreQuery = None,
    bucket: Annotated[Bucket | None, Query(description="days past due: 0-30 (and not yet due), 31-60, 61-90, 90+")]
    = None,
    payer_kind: PayerKind | None = None,
    payer_id: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
):
    """回款 What is owed to the store, open items aged by the store's days past due, with totals per bucket."""
    return await service.aged(session, clock, principal, store_id=store_id, bucket=bucket, payer_kind=payer_kind,
                              payer_id=payer_id)


@router.get("/v1/receivables/overdue", response_model=OverdueList)
async def overdue_receivables(session: SessionDep, clock: ClockDep, principal: Collector,
                              store_id: StoreQuery = None, payer_kind: PayerKind | None = None):
    """逾期提醒 Payers with items past due (fleets, insurers, customers on credit, the brand), the
    longest overdue first, each with a reminder in its own words, whom to call and what to quote."""
    return await service.overdue(session, clock, principal, store_id=store_id, payer_kind=payer_kind)


@router.post("/v1/receivables/payments", status_code=201, response_model=PaymentPublic,
             responses=problem_responses(NotFound, ValidationFailed))
async def record_payment(body: PaymentCreate, session: SessionDep, clock: ClockDep, principal: Collector):
    """收款核销 Money received from a payer, matched to one or several of its open items, wholly or partly."""
    return await service.record_payment(session, clock, principal, body)
