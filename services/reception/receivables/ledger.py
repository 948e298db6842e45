"""Entries onto the ledger, for the features that create what is owed (fleets at settlement).
Kept apart from `service` so that those features can write here without importing the
payment rules, which in turn use them (a fleet's payment lowers its balance)."""
import calendar
from datetime import date, datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.ids import new_id
from services.reception.receivables import repository
from services.reception.receivables.models import Receivable


def due_after_month_end(issued_on: date, terms_days: int) -> date:
    """A fleet's terms run from the end of the statement month its order is on."""
    month_end = issued_on.replace(day=calendar.monthrange(issued_on.year, issued_on.month)[1])
    return month_end + timedelta(days=terms_days)


async def owed(session: AsyncSession, *, store_id: str, payer_kind: str, payer_id: str, payer_name: str,
               source_kind: str, source_id: str, reference: str | None, amount_fen: int, issued_on: date,
               due_on: date, now: datetime) -> Receivable:
    """Record what a payer owes for one thing; the same thing recorded again stays one entry."""
    existing = await repository.by_source(session, source_kind, source_id)
    if existing is not None:
        return existing
    item = Receivable(
        id=new_id(), store_id=store_id, payer_kind=payer_kind, payer_id=payer_id, payer_name=payer_name,
        source_kind=source_kind, source_id=source_id, reference=reference, amount_fen=amount_fen, paid_fen=0,
        issued_on=issued_on, due_on=due_on, created_at=now)
    session.add(item)
    return item
