"""Policies with versions. HQ adds a version with the day it takes effect; a version is
never edited, and the one in force on a day is the latest to take effect on or before it.

Rules: a new version takes effect today (China time) or later, and after every earlier
version, so what was in force on a past day (the day a car was repaired) never changes
after the fact. Version 1 is the file in data/ the platform ran on (migration 0019)."""
from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.clock import Clock
from services.common.errors import NotFound, ValidationFailed
from services.common.identity import Principal
from services.network.calendar import HQ_ZONE
from services.network.policies import bodies, repository
from services.network.policies.bodies import PolicyName
from services.network.policies.models import PolicyVersion
from services.network.policies.schemas import PolicyVersionCreate, PolicyVersionList, PolicyVersionPublic


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
    if data.effective_from <= latest.effective_from:
        raise ValidationFailed("effective_from", f"must be after version {latest.version}'s "
                                                 f"effective_from ({latest.effective_from})")
    bodies.check(name, data.body)
    row = PolicyVersion(name=name, version=latest.version + 1, effective_from=data.effective_from, body=data.body,
                        note=data.note, created_at=clock.now(), created_by=principal.id)
    session.add(row)
    await session.flush()
    return _public(row, latest, None)


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
