from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from services.common.api import ClockDep, CursorQuery, LimitQuery, SessionDep, TransactionalRoute
from services.common.errors import Conflict, Forbidden, NotFound, ValidationFailed, problem_responses
from services.reception.credit import service
from services.reception.credit.schemas import (
    CreditAccountCreate,
    CreditAccountList,
    CreditAccountPublic,
    CreditAccountUpdate,
    CreditAllowanceCreate,
)
from services.reception.repair_orders import service as orders
from services.reception.repair_orders.schemas import RepairOrderPublic
from services.reception.shared.router import (
    ID_PATTERN,
    WRITE_PROBLEMS,
    Caller,
    IfMatch,
    Manager,
    RepairOrderId,
    SettingsDep,
    StoreQuery,
    tag,
)
from services.reception.shared.service import check_version

router = APIRouter(tags=["credit"], route_class=TransactionalRoute)
AccountId = Annotated[str, Path(pattern=ID_PATTERN)]
PhoneQuery = Annotated[str | None, Query(pattern=r"^\+?[0-9][0-9 \-]{3,18}[0-9]$", description="the customer's phone")]


@router.post("/v1/credit-accounts", status_code=201, response_model=CreditAccountPublic,
             responses=problem_responses(Conflict, ValidationFailed, Forbidden))
async def create_credit_account(body: CreditAccountCreate, session: SessionDep, clock: ClockDep, principal: Manager,
                                response: Response):
    """赊账客户 Let a customer pay later: a credit limit and payment terms, known by phone."""
    account = await service.create(session, clock, principal, body)
    tag(response, account.version, f"credit-accounts/{account.id}")
    return await service.public(session, account)


@router.get("/v1/credit-accounts", response_model=CreditAccountList)
async def list_credit_accounts(session: SessionDep, principal: Caller, limit: LimitQuery = 50,
                               cursor: CursorQuery = None, store_id: StoreQuery = None, phone: PhoneQuery = None):
    return await service.list_accounts(session, principal, limit=limit, cursor=cursor, store_id=store_id, phone=phone)


@router.get("/v1/credit-accounts/{credit_account_id}", response_model=CreditAccountPublic,
            responses=problem_responses(NotFound))
async def get_credit_account(credit_account_id: AccountId, session: SessionDep, principal: Caller,
                             response: Response):
    account = await service.get_visible(session, principal, credit_account_id)
    tag(response, account.version)
    return await service.public(session, account)


@router.patch("/v1/credit-accounts/{credit_account_id}", response_model=CreditAccountPublic,
              responses=WRITE_PROBLEMS)
async def update_credit_account(credit_account_id: AccountId, body: CreditAccountUpdate, session: SessionDep,
                                clock: ClockDep, principal: Manager, expected: IfMatch, response: Response):
    """Change the limit, the terms, the name, or stop the account (`active: false`)."""
    account = await service.get_visible(session, principal, credit_account_id, for_update=True)
    check_version(account.version, expected)
    await service.update(session, clock, account, body)
    tag(response, account.version)
    return await service.public(session, account)


@router.post("/v1/repair-orders/{repair_order_id}/credit-allowance", response_model=RepairOrderPublic,
             responses=WRITE_PROBLEMS)
async def credit_allowance(repair_order_id: RepairOrderId, body: CreditAllowanceCreate, session: SessionDep,
                           clock: ClockDep, settings: SettingsDep, principal: Manager, expected: IfMatch,
                           response: Response):
    """The service manager lets this order's customer pay later (settle with `on_credit`),
    with or without a credit account, past its limit; with the reason and the terms."""
    order = await orders.get_visible(session, principal, repair_order_id, for_update=True)
    check_version(order.version, expected)
    await service.allow(session, clock, principal, order, body)
    tag(response, order.version)
    return await orders.public(session, order, settings)
