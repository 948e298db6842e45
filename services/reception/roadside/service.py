"""24-hour roadside assistance: requested → dispatched → arrived → resolved.

Response time is arrival minus request. A tow brings the car to the store, so resolving
with `towed` opens a repair order for it in the same transaction."""
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.clock import Clock
from services.common.errors import InvalidTransition, NotFound, ValidationFailed
from services.common.events.catalogue.reception import RoadsideRequested, RoadsideResolved
from services.common.identity import Principal
from services.common.ids import new_id
from services.common.outbox import emit
from services.common.stores import ensure_visible, store_zone
from services.reception.repair_orders import repository as repair_orders
from services.reception.repair_orders import service as repair_order_service
from services.reception.roadside import repository
from services.reception.roadside.models import RoadsideRequest
from services.reception.roadside.schemas import (
    Arrive,
    Dispatch,
    Resolve,
    RoadsideCreate,
    RoadsideList,
    RoadsidePublic,
    RoadsideStatus,
)
from services.reception.shared.service import (
    Who,
    history,
    listed_store,
    not_in_future,
    record_change,
    store_for_new_business,
    store_of,
)

AGGREGATE = "roadside"
# Giving up or handing over needs nobody on site; the other outcomes do.
_SECOND = timedelta(seconds=1)
RESOLVABLE = {
    "repaired_on_site": ("arrived",),
    "towed": ("arrived",),
    "referred": ("requested", "dispatched", "arrived"),
    "customer_cancelled": ("requested", "dispatched", "arrived"),
}


async def request(session: AsyncSession, clock: Clock, principal: Principal, data: RoadsideCreate) -> RoadsideRequest:
    store = await store_for_new_business(session, principal, data.store_id)
    now = clock.now()
    not_in_future("vehicle.sold_at", data.vehicle.sold_at, now.astimezone(store_zone(store)).date())
    who = Who.of(principal)
    req = RoadsideRequest(
        id=new_id(), store_id=store.id, status="requested", customer=data.customer.model_dump(mode="json"),
        vehicle=data.vehicle.model_dump(mode="json"), vin=data.vehicle.vin,
        location=data.location.model_dump(mode="json"),
        problem=data.problem, mileage_km=data.mileage_km, requested_by=who.as_dict(), requested_at=now,
    )
    session.add(req)
    record_change(session, aggregate=AGGREGATE, aggregate_id=req.id, store_id=store.id, action="request",
                  from_status=None, to_status="requested", by=who, at=now)
    await emit(session, RoadsideRequested(
        roadside_id=req.id, store_id=store.id, customer=req.customer, vehicle=req.vehicle, location=req.location,
        problem=req.problem, requested_at=now, requested_by=principal.id,
    ), subject=req.id, store_id=store.id, time=now)
    return req


async def get_visible(session: AsyncSession, principal: Principal, roadside_id: str, *,
                      for_update: bool = False) -> RoadsideRequest:
    req = await repository.get(session, roadside_id, for_update=for_update)
    if req is None:
        raise NotFound("roadside request not found")
    ensure_visible(principal, req.store_id, "roadside request")
    return req


async def dispatch(session: AsyncSession, clock: Clock, principal: Principal, req: RoadsideRequest,
                   data: Dispatch) -> RoadsideRequest:
    if req.status != "requested":
        raise InvalidTransition(req.status, "dispatch")
    now = clock.now()
    _move(session, req, "dispatched", "dispatch", Who.of(principal), now, {"responder": data.responder})
    req.dispatched_at, req.responder, req.eta_minutes = now, data.responder, data.eta_minutes
    return req


async def arrive(session: AsyncSession, clock: Clock, principal: Principal, req: RoadsideRequest,
                 data: Arrive | None) -> RoadsideRequest:
    if req.status != "dispatched":
        raise InvalidTransition(req.status, "arrive")
    now = clock.now()
    req.arrived_at = now
    req.response_minutes = response_minutes(req.requested_at, now)
    _move(session, req, "arrived", "arrive", Who.of(principal), now,
          {"response_minutes": str(req.response_minutes), **({"notes": data.notes} if data and data.notes else {})})
    return req


def response_minutes(requested_at: datetime, arrived_at: datetime) -> Decimal:
    seconds = Decimal((arrived_at - requested_at) // _SECOND)
    return (seconds / 60).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


async def resolve(session: AsyncSession, clock: Clock, principal: Principal, req: RoadsideRequest,
                  data: Resolve) -> RoadsideRequest:
    if req.status not in RESOLVABLE[data.outcome]:
        raise InvalidTransition(req.status, f"resolve as {data.outcome}")
    now = clock.now()
    who = Who.of(principal)
    if data.outcome == "towed":
        store = await store_of(session, req.store_id)
        mileage = data.mileage_km if data.mileage_km is not None else req.mileage_km
        if mileage is None:
            last = await repair_orders.last_seen(session, req.store_id, req.vin)
            if last is None:
                raise ValidationFailed("mileage_km", "the towed car's mileage is needed to open its repair order")
            mileage = last.mileage_km
        order = await repair_order_service.open_order(
            session, clock, store, who, customer=req.customer, vehicle=req.vehicle, mileage_km=mileage,
            correction_reason=data.mileage_correction_reason,
            complaint=data.complaint or f"Towed in after roadside assistance: {req.problem}",
            inspection=None, insurance=None, roadside_id=req.id,
        )
        req.repair_order_id = order.id
    _move(session, req, "resolved", "resolve", who, now,
          {"outcome": data.outcome, **({"repair_order_id": req.repair_order_id} if req.repair_order_id else {})})
    req.resolved_at, req.outcome, req.resolution_notes = now, data.outcome, data.notes
    await emit(session, RoadsideResolved(
        roadside_id=req.id, store_id=req.store_id, outcome=data.outcome, requested_at=req.requested_at,
        dispatched_at=req.dispatched_at, arrived_at=req.arrived_at, resolved_at=now,
        response_minutes=str(req.response_minutes) if req.response_minutes is not None else None,
        repair_order_id=req.repair_order_id, customer=req.customer, vehicle=req.vehicle, responder=req.responder,
        notes=data.notes, resolved_by=principal.id,
    ), subject=req.id, store_id=req.store_id, time=now)
    return req


async def public(session: AsyncSession, req: RoadsideRequest) -> RoadsidePublic:
    return RoadsidePublic(**_columns(req), history=await history(session, AGGREGATE, req.id))


async def list_requests(session: AsyncSession, principal: Principal, *, limit: int, cursor: str | None,
                        store_id: str | None = None, status: RoadsideStatus | None = None,
                        vin: str | None = None) -> RoadsideList:
    rows, next_cursor = await repository.page(
        session, store_id=listed_store(principal, store_id), limit=limit, cursor=cursor, status=status,
        vin=vin.upper() if vin else None,
    )
    return RoadsideList(items=[summary(r) for r in rows], next_cursor=next_cursor)


def summary(req: RoadsideRequest) -> RoadsidePublic:
    return RoadsidePublic(**_columns(req))


def _columns(req: RoadsideRequest) -> dict:
    return {name: getattr(req, name) for name in RoadsidePublic.model_fields if name != "history"}


def _move(session: AsyncSession, req: RoadsideRequest, to: str, action: str, who: Who, at: datetime,
          detail: dict | None = None) -> None:
    record_change(session, aggregate=AGGREGATE, aggregate_id=req.id, store_id=req.store_id, action=action,
                  from_status=req.status, to_status=to, by=who, at=at, detail=detail)
    req.status = to
    req.version += 1
    session.add(req)
