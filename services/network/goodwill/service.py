"""Goodwill pre-authorisations. A repair outside what warranty pays may still be paid by the
brand out of goodwill, but only if HQ said so before the work: the store asks (VIN, the most
it wants paid, until when, why), HQ grants (at most what was asked, with the brand's share)
or refuses. A goodwill claim names a granted authorisation of its store and car, granted
before the repair order was opened and still valid on the day it was (services/network/claims).

States: requested → granted | refused."""
from datetime import date, datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from services.common import reference
from services.common.clock import Clock
from services.common.errors import Forbidden, InvalidTransition, NotFound, ValidationFailed
from services.common.identity import Principal
from services.common.ids import new_id
from services.common.stores import ensure_visible, store_zone, within_stores
from services.common.who import Who
from services.network.goodwill import repository
from services.network.goodwill.models import GoodwillAuthorisation
from services.network.goodwill.schemas import (
    AuthorisationCreate,
    AuthorisationDecision,
    AuthorisationList,
    AuthorisationPublic,
    AuthorisationStatus,
)
from services.network.stores import service as stores
from services.network.stores.models import Store

FIELD = "goodwill_authorisation_id"


def rules() -> dict:
    return reference.load("claim_kinds")["kinds"]["goodwill"]


def _today(store: Store, now: datetime) -> date:
    return now.astimezone(store_zone(store)).date()


async def _asking_store(session: AsyncSession, principal: Principal, store_id: str | None) -> Store:
    if not principal.store_id:
        raise Forbidden("a goodwill pre-authorisation is asked for by the store that will do the work")
    if store_id is not None and store_id != principal.store_id:
        raise ValidationFailed("store_id", "a store asks for itself")
    return await stores.get_visible(session, principal, principal.store_id)


async def request(session: AsyncSession, clock: Clock, principal: Principal,
                  data: AuthorisationCreate) -> GoodwillAuthorisation:
    store = await _asking_store(session, principal, data.store_id)
    now = clock.now()
    today = _today(store, now)
    longest = rules()["longest_validity_days"]
    if data.valid_until < today:
        raise ValidationFailed("valid_until", "is in the past")
    if data.valid_until > today + timedelta(days=longest):
        raise ValidationFailed("valid_until", f"at most {longest} days ahead")
    row = GoodwillAuthorisation(
        id=new_id(), store_id=store.id, vin=data.vin, status="requested", reason=data.reason.strip(),
        amount_requested_fen=data.amount_limit_fen, valid_until_requested=data.valid_until, requested_at=now,
        requested_by=principal.id, requested_by_name=principal.name or None,
        requested_by_credential=principal.credential or None,
    )
    session.add(row)
    await session.flush()
    return row


async def decide(session: AsyncSession, clock: Clock, principal: Principal, row: GoodwillAuthorisation,
                 data: AuthorisationDecision) -> GoodwillAuthorisation:
    if row.status != "requested":
        raise InvalidTransition(row.status, data.decision)
    now = clock.now()
    if data.decision == "grant":
        limit = row.amount_requested_fen if data.amount_limit_fen is None else data.amount_limit_fen
        if limit > row.amount_requested_fen:
            raise ValidationFailed("amount_limit_fen", f"more than the {row.amount_requested_fen} fen asked")
        until = row.valid_until_requested if data.valid_until is None else data.valid_until
        if until > row.valid_until_requested:
            raise ValidationFailed("valid_until", f"later than the {row.valid_until_requested} asked")
        store = await stores.get_visible(session, principal, row.store_id)
        if until < _today(store, now):
            raise ValidationFailed("valid_until", "is in the past")
        row.status, row.amount_limit_fen, row.valid_until = "granted", limit, until
        row.brand_share_percent = data.brand_share_percent or rules()["default_brand_share_percent"]
    else:
        for name in ("amount_limit_fen", "brand_share_percent", "valid_until"):
            if getattr(data, name) is not None:
                raise ValidationFailed(name, "a refusal grants nothing")
        row.status = "refused"
    row.decided_at, row.decided_by = now, principal.id
    row.decided_by_name, row.decided_by_credential = principal.name or None, principal.credential or None
    row.decision_note = data.note or None
    row.version += 1
    session.add(row)
    return row


async def get_visible(session: AsyncSession, principal: Principal, authorisation_id: str, *,
                      for_update: bool = False) -> GoodwillAuthorisation:
    row = await repository.get(session, authorisation_id, for_update=for_update)
    if row is None:
        raise NotFound("goodwill pre-authorisation not found")
    ensure_visible(principal, row.store_id, "goodwill pre-authorisation")
    return row


async def for_claim(session: AsyncSession, authorisation_id: str | None, *, store: Store, vin: str,
                    opened_at: datetime) -> GoodwillAuthorisation:
    """The authorisation a goodwill claim rests on, locked; a 422 naming the field unless it
    is this store's, for this car, granted before the order was opened and valid on that day."""
    if authorisation_id is None:
        raise ValidationFailed(FIELD, "a goodwill claim needs the pre-authorisation HQ granted before the repair")
    row = await repository.get(session, authorisation_id, for_update=True)
    if row is None or row.store_id != store.id:
        raise ValidationFailed(FIELD, "no such pre-authorisation for this store")
    if row.vin != vin.upper():
        raise ValidationFailed(FIELD, f"the pre-authorisation is for {row.vin}, the repair order for {vin}")
    if row.status != "granted" or row.decided_at is None or row.valid_until is None:
        raise ValidationFailed(FIELD, f"the pre-authorisation is {row.status}, not granted")
    if row.decided_at > opened_at:
        raise ValidationFailed(FIELD, f"granted {row.decided_at.isoformat()}, after the repair order was opened "
                                      f"({opened_at.isoformat()}): goodwill is authorised before the work")
    day = opened_at.astimezone(store_zone(store)).date()
    if day > row.valid_until:
        raise ValidationFailed(FIELD, f"expired on {row.valid_until}; the repair began on {day}")
    return row


async def list_authorisations(session: AsyncSession, principal: Principal, *, limit: int, cursor: str | None,
                              store_id: str | None, status: AuthorisationStatus | None,
                              vin: str | None) -> AuthorisationList:
    if principal.store_id and store_id and store_id != principal.store_id:
        return AuthorisationList(items=[], next_cursor=None)
    rows, next_cursor = await repository.page(session, limit=limit, cursor=cursor,
                                              store_id=principal.store_id or store_id, status=status,
                                              vin=vin.upper() if vin else None, within=within_stores(principal))
    return AuthorisationList(items=[public(row) for row in rows], next_cursor=next_cursor)


def public(row: GoodwillAuthorisation) -> AuthorisationPublic:
    return AuthorisationPublic(
        **row.model_dump(exclude={"requested_by_name", "requested_by_credential", "decided_by_name",
                                  "decided_by_credential"}),
        requester=Who.stored(row.requested_by, row.requested_by_name, row.requested_by_credential),
        decider=Who.stored(row.decided_by, row.decided_by_name, row.decided_by_credential) if row.decided_by else None,
    )
