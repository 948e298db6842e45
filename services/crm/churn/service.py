"""Churn: a customer who has not been back for 12 months is at risk, for 18 months lost
(data/maintenance_policy.json), unless a booking says they are coming. Each absence is
one episode, announced once when it is first found; it ends with the next visit. An
at-risk customer who stays away is marked lost within the same episode, without a
second announcement."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from services.common import reference
from services.common.events.catalogue.crm import CustomerChurnDetected
from services.common.identity import Principal
from services.common.ids import new_id
from services.common.outbox import emit
from services.common.tables import KnownStore
from services.crm.churn import repository
from services.crm.churn.models import ChurnEpisode
from services.crm.churn.schemas import ChurnPublic
from services.crm.customers import repository as customers
from services.crm.customers.models import Customer
from services.crm.localtime import add_months, local_date, local_midnight, months_between, zone_of


def _limits() -> tuple[int, int]:
    policy = reference.maintenance_policy()
    return policy["churn_risk_after_months_without_visit"], policy["lost_after_months_without_visit"]


def reason_for(last_visit_day, months: int, level: str) -> str:
    at_risk, lost = _limits()
    limit = lost if level == "lost" else at_risk
    return (f"no visit since {last_visit_day.isoformat()} ({months} months, {level.replace('_', ' ')} from {limit}); "
            f"no booking")


async def detect(session: AsyncSession, store: KnownStore, now: datetime) -> dict[str, int]:
    at_risk_after, lost_after = _limits()
    zone = await zone_of(session, store.id)
    today = local_date(now, zone)
    # A last visit on or before this day is `at_risk_after` whole months ago.
    cutoff = local_midnight(add_months(today, -at_risk_after) + timedelta(days=1), zone)
    episodes = await repository.open_episodes_of_store(session, store.id)
    found = worsened = 0
    for customer in await repository.away_since(session, store.id, cutoff, now):
        last_visit_at = customer.last_visit_at
        assert last_visit_at is not None  # away_since finds customers by their last visit
        last_day = local_date(last_visit_at, zone)
        months = months_between(last_day, today)
        if months < at_risk_after:
            continue
        level = "lost" if months >= lost_after else "at_risk"
        episode = episodes.get(customer.id)
        if episode is None:
            reason = reason_for(last_day, months, level)
            session.add(ChurnEpisode(
                id=new_id(), store_id=store.id, customer_id=customer.id, open_key=customer.id, level=level,
                last_visit_at=last_visit_at, reason=reason, detected_at=now,
                at_risk_at=now, lost_at=now if level == "lost" else None,
            ))
            await emit(session, CustomerChurnDetected(customer_id=customer.id, store_id=store.id, level=level,
                                                      last_visit_at=customer.last_visit_at, reason=reason,
                                                      detected_at=now),
                       subject=customer.id, store_id=store.id, time=now)
            found += 1
        elif episode.level == "at_risk" and level == "lost":
            episode.level, episode.lost_at = "lost", now
            episode.reason = reason_for(last_day, months, level)
            session.add(episode)
            worsened += 1
    await session.flush()
    return {"detected": found, "became_lost": worsened}


async def preload_open_episodes(session: AsyncSession, customers: list[Customer]) -> None:
    """A batch's preload: the open absences of its customers on file (`services.crm.batch`)."""
    await repository.load_open_episodes(session, {c.id for c in customers})


async def came_back(session: AsyncSession, customer: Customer, at: datetime, by: str) -> None:
    """A visit ends the customer's absence."""
    episode = await repository.open_episode(session, customer)
    if episode is None or at <= episode.last_visit_at:
        return
    episode.open_key, episode.ended_at, episode.ended_by = None, at, by
    session.add(episode)


async def list_churn(session: AsyncSession, principal: Principal, now: datetime, *, store_id: str | None,
                     level: str | None, include_booked: bool, include_ended: bool, limit: int, cursor: str | None):
    # A store's caller sees its own customers, whatever store it names; HQ the one it names, or all.
    rows, next_cursor = await repository.page(session, store_id=principal.store_id or store_id, level=level,
                                              include_booked=include_booked, include_ended=include_ended, now=now,
                                              limit=limit, cursor=cursor)
    people = await customers.customers_by_id(session, {e.customer_id for e in rows})
    holding_booking = await customers.booked_customers(session, set(people), now)
    zones = {store_id: await zone_of(session, store_id) for store_id in {e.store_id for e in rows}}
    items = []
    for episode in rows:
        customer, zone = people[episode.customer_id], zones[episode.store_id]
        last_day = local_date(customer.last_visit_at or episode.last_visit_at, zone)
        booked = customer.id in holding_booking
        reason = episode.reason if not booked else episode.reason.replace("no booking", "but has a booking")
        items.append(ChurnPublic(
            id=episode.id, store_id=episode.store_id, customer_id=customer.id, customer_name=customer.name,
            phone=customer.phone, club_member=customer.club_member, level=episode.level,
            last_visit_at=customer.last_visit_at or episode.last_visit_at,
            months_without_visit=months_between(last_day, local_date(episode.ended_at or now, zone)),
            reason=reason, has_booking=booked,
            detected_at=episode.detected_at, lost_at=episode.lost_at, ended_at=episode.ended_at,
            ended_by=episode.ended_by,
        ))
    return items, next_cursor
