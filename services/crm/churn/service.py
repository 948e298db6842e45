"""Churn: a customer is at risk once the periodic-service interval (12 months,
data/maintenance_policy.json) plus a grace period (data/churn_rules.json) has passed
without a visit, and lost at 18 months, unless a booking says they are coming. A free
promotional visit (a kind listed in data/churn_rules.json, nothing to pay) is not a visit.
Each absence is one episode, announced once when it is first found; it ends with the
next visit. An at-risk customer who stays away is marked lost within the same episode,
without a second announcement. The clerk works an episode: a cause from the list,
win-back calls with their results; a visit after such calls is a car won back."""
from __future__ import annotations

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from services.common import reference
from services.common.clock import Clock
from services.common.errors import InvalidTransition, NotFound, ValidationFailed
from services.common.events.catalogue.crm import CustomerChurnDetected
from services.common.events.catalogue.reception import RepairOrderDelivered
from services.common.identity import Principal
from services.common.ids import new_id
from services.common.outbox import emit
from services.common.stores import ensure_visible
from services.common.tables import KnownStore
from services.crm.churn import repository
from services.crm.churn.models import ChurnEpisode, WinBackCall
from services.crm.churn.schemas import ChurnPublic, WinBackCallPublic
from services.crm.customers import repository as customers
from services.crm.customers.models import Customer
from services.crm.localtime import add_months, local_date, local_midnight, months_between, zone_of
from services.crm.who import columns


def rules() -> dict:
    return reference.load("churn_rules")


def _limits() -> tuple[int, int]:
    # At risk only once the periodic service is overdue by the grace period: a customer
    # whose yearly service falls due today is not yet drifting away.
    interval = reference.maintenance_policy()["periodic_maintenance"]["months"]
    return interval + rules()["grace_months"], rules()["lost_after_months"]


def free_promotional_kind(event: RepairOrderDelivered) -> str | None:
    """The kind of free promotional visit (data/churn_rules.json) this order was, if it was
    one: every operation of the kind's and nothing for the customer to pay."""
    if event.totals.customer_due_fen:
        return None
    ops = {line.op_code for line in event.lines if line.kind != "part"}
    if not ops:
        return None
    for kind in rules()["free_promotional_visits"]:
        if ops <= set(kind["op_codes"]):
            return kind["code"]
    return None


def reason_for(last_visit_day, months: int, level: str) -> str:
    at_risk, lost = _limits()
    limit = lost if level == "lost" else at_risk
    return (f"no visit since {last_visit_day.isoformat()} ({months} months, {level.replace('_', ' ')} from {limit}); "
            f"no booking")


async def detect(session: AsyncSession, store: KnownStore, now: datetime) -> dict[str, int]:
    at_risk_after, lost_after = _limits()
    zone = await zone_of(session, store.id)
    today = local_date(now, zone)
    # Every last visit `at_risk_after` whole months ago falls before the first of the month
    # after add_months(today, -at_risk_after); which of them are is months_between's to say:
    # at a month's end add_months clamps (31 January and 13 months is 28 February), and a
    # day-based cutoff found such a customer days late.
    cutoff = local_midnight(add_months(today.replace(day=1), 1 - at_risk_after), zone)
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
    if episode.id in await repository.episodes_with_win_back_calls(session, {episode.id}):
        # Came back after the clerk's calls: a car won back.
        episode.won_back_at, episode.won_back_by = at, by
    session.add(episode)


async def delivered(session: AsyncSession, customer: Customer, event: RepairOrderDelivered) -> None:
    """A delivered order is a visit, unless it was a free promotional one: then it is not,
    and what its opening did (the visit, the end of an absence) is undone."""
    visit = f"repair_order:{event.repair_order_id}"
    if free_promotional_kind(event) is None:
        await came_back(session, customer, event.delivered_at, visit)
        return
    await session.flush()  # this batch's other orders of the customer are part of the answer
    customer.last_visit_at = await repository.last_counted_visit(session, customer.id, event.repair_order_id,
                                                                 _is_counted)
    session.add(customer)
    episode = await repository.episode_ended_by(session, customer.id, visit)
    if episode is not None and await repository.open_episode(session, customer) is None:
        episode.open_key, episode.ended_at, episode.ended_by = customer.id, None, None
        episode.won_back_at = episode.won_back_by = None
        session.add(episode)


def _is_counted(operations: list[dict], customer_due_fen: int, delivered: bool) -> bool:
    if not delivered or customer_due_fen:
        return True
    ops = {op.get("op_code") for op in operations if op.get("kind") != "part"}
    return not ops or not any(ops <= set(k["op_codes"]) for k in rules()["free_promotional_visits"])


def causes() -> dict[str, dict]:
    return {c["code"]: c for c in rules()["causes"]}


def win_back_results() -> dict[str, dict]:
    return {r["code"]: r for r in rules()["win_back_results"]}


async def visible_episode(session: AsyncSession, principal: Principal, episode_id: str) -> ChurnEpisode:
    episode = await repository.episode(session, episode_id)
    if episode is None:
        raise NotFound("churn episode not found")
    ensure_visible(principal, episode.store_id, "churn episode")
    return episode


async def set_cause(session: AsyncSession, principal: Principal, episode_id: str, cause: str,
                    note: str | None) -> ChurnEpisode:
    episode = await visible_episode(session, principal, episode_id)
    if cause not in causes():
        raise ValidationFailed("cause", f"one of {', '.join(causes())}")
    episode.cause, episode.cause_note = cause, note
    session.add(episode)
    await session.flush()
    return episode


async def win_back_call(session: AsyncSession, clock: Clock, principal: Principal, episode_id: str, result: str,
                        note: str) -> ChurnEpisode:
    episode = await visible_episode(session, principal, episode_id)
    if episode.open_key is None:
        raise InvalidTransition("ended", "call to win back")
    if result not in win_back_results():
        raise ValidationFailed("result", f"one of {', '.join(win_back_results())}")
    session.add(WinBackCall(id=new_id(), episode_id=episode.id, store_id=episode.store_id, result=result, note=note,
                            made_at=clock.now(), **columns("made_by", principal)))
    await session.flush()
    return episode


async def episodes_public(session: AsyncSession, rows: list[ChurnEpisode], now: datetime) -> list[ChurnPublic]:
    people = await customers.customers_by_id(session, {e.customer_id for e in rows})
    holding_booking = await customers.booked_customers(session, set(people), now)
    calls: dict[str, list[WinBackCallPublic]] = {e.id: [] for e in rows}
    for call in await repository.win_back_calls_of(session, [e.id for e in rows]):
        calls[call.episode_id].append(WinBackCallPublic(result=call.result, note=call.note, made_at=call.made_at,
                                                        made_by=call.made_by, made_by_name=call.made_by_name,
                                                        made_by_credential=call.made_by_credential))
    zones = {store_id: await zone_of(session, store_id) for store_id in {e.store_id for e in rows}}
    items = []
    for episode in rows:
        customer, zone = people[episode.customer_id], zones[episode.store_id]
        last_day = local_date(customer.last_visit_at or episode.last_visit_at, zone)
        booked = customer.id in holding_booking
        reason = episode.reason if not booked else episode.reason.replace("no booking", "but has a booking")
        cause = causes().get(episode.cause or "")
        items.append(ChurnPublic(
            id=episode.id, store_id=episode.store_id, customer_id=customer.id, customer_name=customer.name,
            phone=customer.phone, club_member=customer.club_member, level=episode.level,
            last_visit_at=customer.last_visit_at or episode.last_visit_at,
            months_without_visit=months_between(last_day, local_date(episode.ended_at or now, zone)),
            reason=reason, has_booking=booked,
            detected_at=episode.detected_at, lost_at=episode.lost_at, ended_at=episode.ended_at,
            ended_by=episode.ended_by, cause=episode.cause, cause_zh=cause["zh"] if cause else None,
            cause_en=cause["en"] if cause else None, cause_note=episode.cause_note,
            win_back_calls=calls[episode.id], won_back=episode.won_back_at is not None,
            won_back_at=episode.won_back_at, won_back_by=episode.won_back_by,
        ))
    return items


async def list_churn(session: AsyncSession, principal: Principal, now: datetime, *, store_id: str | None,
                     level: str | None, include_booked: bool, include_ended: bool, limit: int, cursor: str | None):
    # A store's caller sees its own customers, whatever store it names; HQ the one it names, or all.
    rows, next_cursor = await repository.page(session, store_id=principal.store_id or store_id, level=level,
                                              include_booked=include_booked, include_ended=include_ended, now=now,
                                              limit=limit, cursor=cursor)
    return await episodes_public(session, list(rows), now), next_cursor
