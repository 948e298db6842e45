"""Monthly settlement between the brand and a store: HQ issues a statement of the store's
approved, unsettled claims decided up to the month's end (in the store's time zone), less
the store's debits on no statement yet (chargebacks: post-payment audits, old parts not
returned, the overdue ones charged as the statement is issued); the store confirms it; HQ
records the payment and the claims become `settled`. A statement whose debits outweigh its
claims has a negative total: the store owes the brand, and its payment is recorded the
same way, with the reference of the store's transfer (or of the offset HQ made).

States: issued → confirmed → paid."""
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.clock import Clock
from services.common.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from services.common.events.catalogue.network import SettlementIssued, SettlementPaid
from services.common.identity import Principal
from services.common.ids import new_id
from services.common.outbox import emit
from services.common.stores import ensure_visible, store_zone, within_stores
from services.network.claims import chargebacks
from services.network.claims import repository as claims_repository
from services.network.claims import service as claims
from services.network.claims.models import Chargeback, Claim
from services.network.part_returns import service as part_returns
from services.network.settlements import repository
from services.network.settlements.models import Settlement, SettlementClaim
from services.network.settlements.schemas import SettlementList, SettlementPublic, SettlementStatus
from services.network.stores.models import Store


def period_end(period: str, store: Store) -> datetime:
    """The first instant after the month, in the store's time zone."""
    year, month = (int(part) for part in period.split("-"))
    year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return datetime(year, month, 1, tzinfo=store_zone(store))


async def gather(session: AsyncSession, now: datetime, store: Store, period: str) -> list[Claim]:
    start = period_end(period, store)
    start = datetime(start.year - (start.month == 1), 12 if start.month == 1 else start.month - 1, 1,
                     tzinfo=start.tzinfo)
    if start > now:
        raise ValidationFailed("period", f"{period} has not begun yet in the store's time zone")
    # A month still running may be settled for what is decided so far (stores are paid
    # sooner); later claims of that month go on another statement for the same period.
    end = min(period_end(period, store), now)
    found = await claims_repository.settleable(session, store.id, end)
    if not found and not await claims_repository.unsettled_chargebacks(session, store.id, now):
        raise Conflict(f"store {store.code} has no approved, unsettled claims decided up to the end of {period}, "
                       "nor debits to take back", store_id=store.id, period=period)
    return found


async def record(session: AsyncSession, now: datetime, principal: Principal, store: Store, period: str,
                 found: list[Claim]) -> Settlement:
    store_id = store.id  # read now: a failed flush expires every loaded object
    debits = await claims_repository.unsettled_chargebacks(session, store_id, now)
    debits_fen = sum(d.amount_fen for d in debits)
    settlement = Settlement(id=new_id(), store_id=store_id, period=period, status="issued",
                            total_fen=sum(c.amount_approved_fen or 0 for c in found) - debits_fen,
                            debits_fen=debits_fen, issued_at=now,
                            issued_by=principal.id, issued_by_name=principal.name or principal.id,
                            issued_by_credential=principal.credential or None)
    session.add(settlement)
    await session.flush()
    session.add_all([SettlementClaim(settlement_id=settlement.id, claim_id=c.id,
                                     amount_approved_fen=c.amount_approved_fen or 0) for c in found])
    try:
        # A claim on another statement, committed or not, stops this one here.
        await session.flush()
    except IntegrityError as exc:
        raise Conflict("some of these claims were put on another settlement at the same time; issue again",
                       store_id=store_id, period=period) from exc
    for claim in found:
        claim.settlement_id = settlement.id
        claim.version += 1
        session.add(claim)
    for debit in debits:
        debit.settlement_id = settlement.id
        session.add(debit)
    await emit(session, SettlementIssued(settlement_id=settlement.id, store_id=store_id, period=period,
                                         claim_ids=[c.id for c in found], total_fen=settlement.total_fen,
                                         issued_at=now, issued_by=settlement.issued_by,
                                         issued_by_name=settlement.issued_by_name,
                                         issued_by_credential=settlement.issued_by_credential,
                                         chargeback_ids=[d.id for d in debits], debits_fen=debits_fen),
               subject=settlement.id, store_id=store.id, time=now)
    return settlement


async def issue(session: AsyncSession, clock: Clock, principal: Principal, store: Store, period: str) -> Settlement:
    now = clock.now()
    await part_returns.charge_overdue(session, now, principal, store.id)
    return await record(session, now, principal, store, period, await gather(session, now, store, period))


async def get_visible(session: AsyncSession, principal: Principal, settlement_id: str, *,
                      for_update: bool = False) -> Settlement:
    settlement = await (repository.get_for_update if for_update else repository.get)(session, settlement_id)
    if settlement is None:
        raise NotFound("settlement not found")
    ensure_visible(principal, settlement.store_id, "settlement")
    return settlement


async def confirm(session: AsyncSession, clock: Clock, principal: Principal, settlement: Settlement) -> Settlement:
    if settlement.status != "issued":
        raise InvalidTransition(settlement.status, "confirm")
    settlement.status, settlement.confirmed_at, settlement.confirmed_by = "confirmed", clock.now(), principal.id
    settlement.confirmed_by_name = principal.name or principal.id
    settlement.confirmed_by_credential = principal.credential or None
    settlement.version += 1
    session.add(settlement)
    return settlement


async def pay(session: AsyncSession, clock: Clock, principal: Principal, settlement: Settlement,
              reference: str) -> Settlement:
    if settlement.status != "confirmed":
        raise InvalidTransition(settlement.status, "pay")
    now = clock.now()
    links = (await repository.claims_of(session, [settlement.id]))[settlement.id]
    await claims.mark_settled(session, [claim for _, claim in links], now, principal, settlement.id)
    settlement.status, settlement.paid_at, settlement.paid_by = "paid", now, principal.id
    settlement.paid_by_name = principal.name or principal.id
    settlement.paid_by_credential = principal.credential or None
    settlement.reference = reference
    settlement.version += 1
    session.add(settlement)
    await emit(session, SettlementPaid(settlement_id=settlement.id, store_id=settlement.store_id,
                                       period=settlement.period,
                                       claim_ids=[claim.id for _, claim in links], total_fen=settlement.total_fen,
                                       reference=reference, paid_at=now, paid_by=settlement.paid_by,
                                       paid_by_name=settlement.paid_by_name,
                                       paid_by_credential=settlement.paid_by_credential),
               subject=settlement.id, store_id=settlement.store_id, time=now)
    return settlement


async def full_public(session: AsyncSession, settlement: Settlement) -> SettlementPublic:
    """A statement with its claims, as every answer about one settlement shows it."""
    return public(settlement, (await repository.claims_of(session, [settlement.id]))[settlement.id],
                  (await claims_repository.chargebacks_on(session, [settlement.id]))[settlement.id])


async def list_settlements(session: AsyncSession, principal: Principal, *, limit: int, cursor: str | None,
                           store_id: str | None = None, period: str | None = None,
                           status: SettlementStatus | None = None) -> SettlementList:
    """HQ lists every store's statements or one store's; a store lists its own, and naming
    another store finds nothing."""
    if principal.store_id and store_id and store_id != principal.store_id:
        return SettlementList(items=[], next_cursor=None)
    rows, next_cursor = await repository.page(session, limit=limit, cursor=cursor,
                                              store_id=principal.store_id or store_id, period=period, status=status,
                                              within=within_stores(principal))
    links = await repository.claims_of(session, [r.id for r in rows])
    debits = await claims_repository.chargebacks_on(session, [r.id for r in rows])
    return SettlementList(items=[public(r, links[r.id], debits[r.id]) for r in rows], next_cursor=next_cursor)


def public(settlement: Settlement, links: list, debits: list[Chargeback]) -> SettlementPublic:
    return SettlementPublic(
        **settlement.model_dump(),
        claims=[{"id": claim.id, "kind": claim.kind, "repair_order_id": claim.repair_order_id,
                 "repair_order_number": claim.repair_order_number, "amount_approved_fen": link.amount_approved_fen}
                for link, claim in links],
        claims_fen=settlement.total_fen + settlement.debits_fen,
        debits=[{**chargebacks.public(d).model_dump(), "amount_fen": -d.amount_fen} for d in debits],
        owed_by_store=settlement.total_fen < 0,
    )
