"""Rules every reception area shares: which store a write happens in, who did it, the
history of state changes, optimistic versions and money rounding."""
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.errors import Conflict, StaleVersion, ValidationFailed
from services.common.identity import Principal
from services.common.stores import acting_store_id
from services.common.tables import KnownStore
from services.reception.shared import repository
from services.reception.shared.models import StateChange
from services.reception.shared.schemas import Actor, HistoryEntry

ONE_FEN = Decimal(1)


@dataclass(frozen=True)
class Who:
    """Who made a change: a caller's principal (the person, or a machine's own key, and the
    key or sign-in they came with), or a service acting on an event."""

    id: str
    name: str = ""
    role: str = ""
    credential: str = ""

    @classmethod
    def of(cls, principal: Principal) -> "Who":
        return cls(id=principal.id, name=principal.name, role=principal.role, credential=principal.credential)

    def as_dict(self) -> dict[str, str]:
        who = {"id": self.id, "name": self.name, "role": self.role}
        if self.credential:
            who["credential"] = self.credential
        return who


WORKSHOP = Who(id="workshop", name="workshop service", role="system")


def fen(amount: Decimal) -> int:
    """Round an exact amount to whole fen, half away from zero as the tax office does."""
    return int(amount.quantize(ONE_FEN, rounding=ROUND_HALF_UP))


async def store_for_new_business(session: AsyncSession, principal: Principal, requested: str | None) -> KnownStore:
    """The store a new appointment, order or roadside request is written in: known from
    network's events and active."""
    store_id = acting_store_id(principal, requested)
    store = await repository.known_store(session, store_id)
    if store is None:
        if principal.store_id:
            # Our copy of the registry lags network's events by moments at most.
            raise Conflict("your store is not known to reception yet; try again shortly", current_state="unknown")
        raise ValidationFailed("store_id", "no such store")
    if store.status != "active":
        raise Conflict(f"store {store.code} is {store.status} and takes no new business", current_state=store.status)
    return store


async def store_of(session: AsyncSession, store_id: str) -> KnownStore:
    store = await repository.known_store(session, store_id)
    if store is None:
        raise Conflict("the store of this object is not known to reception", current_state="unknown")
    return store


def listed_store(principal: Principal, requested: str | None) -> str | None:
    """The store a list is narrowed to: a store's caller sees its own, whatever it names;
    HQ the store it names, or every store (None)."""
    return principal.store_id or requested


def check_version(current: int, expected: int | None) -> None:
    if expected is not None and expected != current:
        raise StaleVersion(current)


def not_in_future(field: str, value: date | None, today: date) -> None:
    if value is not None and value > today:
        raise ValidationFailed(field, "must not be in the future")


def record_change(session: AsyncSession, *, aggregate: str, aggregate_id: str, store_id: str, action: str,
                  from_status: str | None, to_status: str, by: Who, at: datetime,
                  detail: dict[str, Any] | None = None) -> None:
    repository.add_change(session, StateChange(
        aggregate=aggregate, aggregate_id=aggregate_id, store_id=store_id, action=action,
        from_status=from_status, to_status=to_status, by_id=by.id, by_name=by.name, by_role=by.role,
        by_credential=by.credential or None, at=at, detail=detail or {},
    ))


async def history(session: AsyncSession, aggregate: str, aggregate_id: str) -> list[HistoryEntry]:
    return [
        HistoryEntry(at=c.at, action=c.action, from_status=c.from_status, to_status=c.to_status,
                     by=Actor(id=c.by_id, name=c.by_name, role=c.by_role, credential=c.by_credential),
                     detail=c.detail)
        for c in await repository.history(session, aggregate, aggregate_id)
    ]
