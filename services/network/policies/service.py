"""Policies with versions. HQ adds a version with the day it takes effect; a version is
never edited, and the one in force on a day is the latest to take effect on or before it.

Rules: a new version takes effect today (China time) or later, and after every earlier
version, so what was in force on a past day (the day a car was repaired) never changes
after the fact. Version 1 is the file in data/ the platform ran on (migrations 0019, 0021).
Publishing a version tells every store (`network.policy.version_published`, and for a
version of more than MAX_PUBLISHED_CHANGES changes the rest in `network.policy.version_changes` parts).

Where each is read, by the version in force on which day (China's calendar):
- warranty_policy, labour_operations, parts_prices, campaign_policy: a claim's pricing and
  precheck, on its repair order's opening day (a PDI claim: the inspection day);
- audit_standards: an audit, on its audit day;
- onboarding_checklist: an outlet's checklist, on the day it applied (else the store's creation);
- three_guarantees: each repair is read by the watch in force on its opening day, the car's
  thresholds by the version in force on the day the standing is worked out."""
from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.clock import Clock
from services.common.errors import NotFound, ValidationFailed
from services.common.events.catalogue.network import (
    MAX_PUBLISHED_CHANGES,
    PolicyChange,
    PolicyVersionChangesPart,
    PolicyVersionPublished,
)
from services.common.identity import Principal
from services.common.outbox import emit
from services.network.calendar import HQ_ZONE
from services.network.policies import bodies, repository
from services.network.policies.bodies import TITLES, PolicyName
from services.network.policies.models import PolicyVersion
from services.network.policies.schemas import (
    MAX_DAYS_AHEAD,
    PolicyChanges,
    PolicySummary,
    PolicySummaryList,
    PolicyVersionChanges,
    PolicyVersionCreate,
    PolicyVersionList,
    PolicyVersionPublic,
    UpcomingVersion,
)


@dataclass(frozen=True)
class InForce:
    """A policy's body as in force on a day, with the version number that a claim or an
    audit keeps to say what it was read by."""

    name: PolicyName
    version: int
    body: dict[str, Any]


class History:
    """Every version of one policy, read once, for a rule that reads it on many days (the
    Three Guarantees watch reads each repair of many cars on its own day)."""

    def __init__(self, name: PolicyName, rows: list[PolicyVersion]) -> None:
        self.name = name
        self._rows = sorted(rows, key=lambda row: row.effective_from)
        self._days = [row.effective_from for row in self._rows]

    def on(self, day: date) -> InForce:
        index = bisect_right(self._days, day) - 1
        if index < 0:
            raise NotFound(f"policy {self.name} was not in force on {day}")
        row = self._rows[index]
        return InForce(self.name, row.version, row.body)


def today(clock: Clock) -> date:
    return clock.now().astimezone(HQ_ZONE).date()


def _public(row: PolicyVersion, previous: PolicyVersion | None, following: PolicyVersion | None
            ) -> PolicyVersionPublic:
    return PolicyVersionPublic(
        name=PolicyName(row.name), version=row.version, effective_from=row.effective_from,
        effective_until=following.effective_from if following else None, body=row.body, note=row.note,
        created_at=row.created_at, created_by=row.created_by,
        changes=bodies.changes(previous.body, row.body) if previous else [])


async def add_version(session: AsyncSession, clock: Clock, principal: Principal, name: PolicyName,
                      data: PolicyVersionCreate) -> PolicyVersionPublic:
    latest = await repository.latest_for_update(session, name)
    if latest is None:
        raise NotFound(f"policy {name} has no version 1")
    today = clock.now().astimezone(HQ_ZONE).date()
    if data.effective_from < today:
        raise ValidationFailed("effective_from",
                               f"must be today ({today}) or later: a past day's policy stays as it was")
    if data.effective_from > today + timedelta(days=MAX_DAYS_AHEAD):
        raise ValidationFailed("effective_from", f"must be at most {MAX_DAYS_AHEAD} days ahead of today ({today})")
    if data.effective_from <= latest.effective_from:
        raise ValidationFailed("effective_from", f"must be after version {latest.version}'s "
                                                 f"effective_from ({latest.effective_from})")
    bodies.check(name, data.body)
    now = clock.now()
    row = PolicyVersion(name=name, version=latest.version + 1, effective_from=data.effective_from, body=data.body,
                        note=data.note, created_at=now, created_by=principal.id)
    session.add(row)
    await session.flush()
    answer = _public(row, latest, None)
    title_zh, title_en = TITLES[name]
    await emit(session, PolicyVersionPublished(
        name=name, title_zh=title_zh, title_en=title_en, version=row.version, effective_from=row.effective_from,
        note=row.note, change_count=len(answer.changes),
        changes=[PolicyChange(**c.model_dump()) for c in answer.changes[:MAX_PUBLISHED_CHANGES]],
        published_by=principal.id, published_by_name=principal.name or None, published_at=now,
    ), subject=name, store_id=None, time=now)
    # The rest in parts on the same subject (so the same partition), for a store rebuilding the version whole.
    rest = answer.changes[MAX_PUBLISHED_CHANGES:]
    parts = 1 + -(-len(rest) // MAX_PUBLISHED_CHANGES)
    for index in range(0, len(rest), MAX_PUBLISHED_CHANGES):
        await emit(session, PolicyVersionChangesPart(
            name=name, version=row.version, part=2 + index // MAX_PUBLISHED_CHANGES, parts=parts,
            changes=[PolicyChange(**c.model_dump()) for c in rest[index:index + MAX_PUBLISHED_CHANGES]],
        ), subject=name, store_id=None, time=now)
    return answer


async def list_versions(session: AsyncSession, name: PolicyName) -> PolicyVersionList:
    rows = await repository.versions(session, name)
    return PolicyVersionList(name=name, items=[
        _public(row, rows[i - 1] if i else None, rows[i + 1] if i + 1 < len(rows) else None)
        for i, row in enumerate(rows)])


async def get_version(session: AsyncSession, name: PolicyName, number: int) -> PolicyVersionPublic:
    row = await repository.version(session, name, number)
    if row is None:
        raise NotFound(f"policy {name} has no version {number}")
    previous = await repository.version(session, name, number - 1) if number > 1 else None
    following = await repository.version(session, name, number + 1)
    return _public(row, previous, following)


async def on(session: AsyncSession, name: PolicyName, day: date) -> PolicyVersionPublic:
    """The version in force on `day`."""
    row = await repository.in_force(session, name, day)
    if row is None:
        raise NotFound(f"policy {name} was not in force on {day}")
    return await get_version(session, name, row.version)


async def body_on(session: AsyncSession, name: PolicyName, day: date) -> dict[str, Any] | None:
    """The body in force on `day`, for the rules that price by it (None: no version that day)."""
    row = await repository.in_force(session, name, day)
    return row.body if row else None


async def in_force(session: AsyncSession, name: PolicyName, day: date) -> InForce:
    """The version in force on `day`, for the rules that read by it."""
    row = await repository.in_force(session, name, day)
    if row is None:
        raise NotFound(f"policy {name} was not in force on {day}")
    return InForce(name, row.version, row.body)


async def history(session: AsyncSession, name: PolicyName) -> History:
    return History(name, await repository.versions(session, name))


async def changes_since(session: AsyncSession, name: PolicyName, since: date) -> PolicyChanges:
    """What a store that knew the policy as it stood on `since` has to read: each later
    version with what it changed, and all of them taken together."""
    base = await repository.in_force(session, name, since)
    later = await repository.after(session, name, since)
    items, previous = [], base
    for row in later:
        items.append(PolicyVersionChanges(
            version=row.version, effective_from=row.effective_from, note=row.note, created_at=row.created_at,
            changes=bodies.changes(previous.body, row.body) if previous else []))
        previous = row
    overall = bodies.changes(base.body, later[-1].body) if base and later else []
    title_zh, title_en = TITLES[name]
    return PolicyChanges(name=name, title_zh=title_zh, title_en=title_en, since=since,
                         version_on_since=base.version if base else None, versions=items, overall=overall)


async def summaries(session: AsyncSession, on: date) -> PolicySummaryList:
    """Every policy's version in force on `on` and those announced for later days."""
    by_name: dict[str, list[tuple[int, date]]] = {}
    for name, number, day in await repository.headings(session):
        by_name.setdefault(name, []).append((number, day))
    items = []
    for name in PolicyName:
        versions = by_name.get(name, [])
        current = [v for v in versions if v[1] <= on]
        if not current:
            continue
        title_zh, title_en = TITLES[name]
        items.append(PolicySummary(
            name=name, title_zh=title_zh, title_en=title_en, version=current[-1][0], effective_from=current[-1][1],
            upcoming=[UpcomingVersion(version=number, effective_from=day) for number, day in versions if day > on]))
    return PolicySummaryList(items=items)
