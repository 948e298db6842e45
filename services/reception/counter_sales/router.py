from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from services.common.api import ClockDep, CursorQuery, LimitQuery, SessionDep, TransactionalRoute
from services.common.errors import (
    Conflict,
    Forbidden,
    InvalidTransition,
    NotFound,
    StaleVersion,
    ValidationFailed,
    problem_responses,
)
from services.common.inputs import Day
from services.reception.counter_sales import service
from services.reception.counter_sales.models import CounterSale
from services.reception.counter_sales.schemas import (
    CounterSaleCancel,
    CounterSaleCreate,
    CounterSaleList,
    CounterSalePay,
    CounterSalePublic,
    CounterSaleSettingsPublic,
    CounterSaleSettingsUpdate,
    CounterSaleStatus,
)
from services.reception.shared.router import (
    ID_PATTERN,
    Caller,
    IfMatch,
    Manager,
    SettingsDep,
    StoreQuery,
    VinQuery,
    tag,
)
from services.reception.shared.service import check_version

router = APIRouter(tags=["counter sales"], route_class=TransactionalRoute)
CounterSaleId = Annotated[str, Path(pattern=ID_PATTERN)]
StoreId = Annotated[str, Path(pattern=ID_PATTERN)]
SaleNumberQuery = Annotated[str | None, Query(pattern=r"^[A-Za-z0-9-]{1,64}$", description="counter-sale number")]
ACTION_PROBLEMS = problem_responses(NotFound, InvalidTransition, StaleVersion, ValidationFailed)


@router.post("/v1/counter-sales", status_code=201, response_model=CounterSalePublic,
             responses=problem_responses(Conflict, ValidationFailed, Forbidden))
async def ring_up(body: CounterSaleCreate, session: SessionDep, clock: ClockDep, settings: SettingsDep,
                  principal: Caller, response: Response):
    """柜台精品销售 Ring up accessories sold without a repair order, priced from the catalogue less
    any discount the store allows, with VAT; the caller is credited with the sale (`sold_by`)."""
    sale = await service.ring_up(session, clock, settings, principal, body)
    tag(response, sale.version, f"counter-sales/{sale.id}")
    return await service.public(session, sale)


@router.get("/v1/counter-sales", response_model=CounterSaleList)
async def list_counter_sales(
        session: SessionDep, principal: Caller, limit: LimitQuery = 50, cursor: CursorQuery = None,
        store_id: StoreQuery = None,
        since: Annotated[Day | None, Query(alias="from", description="first local day rung up on")] = None,
        until: Annotated[Day | None, Query(alias="to", description="last local day, inclusive")] = None,
        status: Annotated[CounterSaleStatus | None, Query()] = None,
        number: SaleNumberQuery = None, vin: VinQuery = None):
    """Newest first; a store's callers see their own store's sales, HQ every store's or `store_id`'s."""
    return await service.list_sales(session, principal, limit=limit, cursor=cursor, store_id=store_id,
                                    since=since, until=until, status=status, number=number, vin=vin)


@router.get("/v1/counter-sales/{counter_sale_id}", response_model=CounterSalePublic,
            responses=problem_responses(NotFound))
async def get_counter_sale(counter_sale_id: CounterSaleId, session: SessionDep, principal: Caller,
                           response: Response):
    sale = await service.get_visible(session, principal, counter_sale_id)
    tag(response, sale.version)
    return await service.public(session, sale)


async def _for_change(session, principal, counter_sale_id: str, expected: int | None) -> CounterSale:
    # The row lock queues a second till's payment behind the first instead of both winning.
    sale = await service.get_visible(session, principal, counter_sale_id, for_update=True)
    check_version(sale.version, expected)
    return sale


@router.post("/v1/counter-sales/{counter_sale_id}/pay", response_model=CounterSalePublic, responses=ACTION_PROBLEMS)
async def pay(counter_sale_id: CounterSaleId, body: CounterSalePay, session: SessionDep, clock: ClockDep,
              principal: Caller, expected: IfMatch, response: Response):
    """The cashier takes the payment, which must equal `total_fen` exactly; the sale is `paid`
    and `reception.counter_sale.completed` goes out."""
    sale = await _for_change(session, principal, counter_sale_id, expected)
    await service.pay(session, clock, principal, sale, body)
    tag(response, sale.version)
    return await service.public(session, sale)


@router.post("/v1/counter-sales/{counter_sale_id}/cancel", response_model=CounterSalePublic,
             responses=ACTION_PROBLEMS)
async def cancel(counter_sale_id: CounterSaleId, session: SessionDep, clock: ClockDep, principal: Caller,
                 expected: IfMatch, response: Response, body: CounterSaleCancel | None = None):
    """Before payment only (409 once paid)."""
    sale = await _for_change(session, principal, counter_sale_id, expected)
    await service.cancel(session, clock, principal, sale, body.reason if body else None)
    tag(response, sale.version)
    return await service.public(session, sale)


@router.get("/v1/stores/{store_id}/counter-sale-settings", response_model=CounterSaleSettingsPublic,
            responses=problem_responses(NotFound))
async def get_counter_sale_settings(store_id: StoreId, session: SessionDep, principal: Caller, response: Response):
    """The most this store's counter may take off the catalogue price: its own, or the group's default (`source`)."""
    answer = await service.read_settings(session, principal, store_id)
    tag(response, answer.version)
    return answer


@router.put("/v1/stores/{store_id}/counter-sale-settings", response_model=CounterSaleSettingsPublic,
            responses=problem_responses(NotFound, Forbidden, StaleVersion, ValidationFailed))
async def put_counter_sale_settings(store_id: StoreId, body: CounterSaleSettingsUpdate, session: SessionDep,
                                    clock: ClockDep, principal: Manager, expected: IfMatch, response: Response):
    answer = await service.update_settings(session, clock, principal, store_id, body, expected)
    tag(response, answer.version)
    return answer

