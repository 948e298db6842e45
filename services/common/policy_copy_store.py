"""A service's tables of the brand's policy versions, kept from network's events: the part
every service that copies them shares (services/common/policy_copies.py applies the
changes). Each service makes its own two tables, `policy_copies` and `policy_copy_parts`, on
its own model base with `copy_tables`, and hands them to `PolicyCopyStore`; its handlers of
`network.policy.version_published` and `network.policy.version_changes` call `published`
and `part`.

Each part is kept as it comes, in any order; a version is built and marked complete once all
its parts are here and the version before it is complete, so a version that overtakes its
predecessor waits for it. Every write is an insert that ignores a row it already has, and a
part of a version already built is not kept, so a redelivered event changes nothing twice;
the handlers of one policy take a lock on its version 1 (the service's migration seeds it)
so two parts applied at once cannot both miss the last one."""
from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common import policy_copies as copies
from services.common.consumer import PoisonEvent
from services.common.db import table_of
from services.common.events.catalogue import network as nw


def copy_tables(base: type[SQLModel]) -> tuple[type[SQLModel], type[SQLModel]]:
    """The two tables on a service's own model base (each service's database has its own;
    the service's migration creates them and seeds version 1 from data/)."""

    class PolicyCopy(base, table=True):  # type: ignore[misc,valid-type,call-arg]
        """One version of a brand policy as the service has it. A row is made when the version
        is announced; `document` is filled and `complete` set once all its parts have come and
        the version before it is complete."""

        __tablename__ = "policy_copies"
        __table_args__ = (sa.PrimaryKeyConstraint("name", "version", name="pk_policy_copies"),)

        name: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
        version: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
        effective_from: date = Field(sa_column=sa.Column(sa.Date, nullable=False))
        change_count: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
        parts: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
        document: dict[str, Any] | None = Field(default=None, sa_column=sa.Column(JSONB, nullable=True))
        complete: bool = Field(sa_column=sa.Column(sa.Boolean, nullable=False))

    class PolicyCopyPart(base, table=True):  # type: ignore[misc,valid-type,call-arg]
        """One part of a version's changes, kept until the version is complete (part 1 is what
        `network.policy.version_published` carried). A part may come before its announcement."""

        __tablename__ = "policy_copy_parts"
        __table_args__ = (sa.PrimaryKeyConstraint("name", "version", "part", name="pk_policy_copy_parts"),)

        name: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
        version: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
        part: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
        changes: list[dict[str, Any]] = Field(sa_column=sa.Column(JSONB, nullable=False))

    return PolicyCopy, PolicyCopyPart


class PolicyCopyStore:
    """`copy_model`: (name, version) primary key, effective_from, change_count, parts, document
    (JSONB, null until built), complete; `part_model`: (name, version, part) primary key, changes."""

    def __init__(self, copy_model: Any, part_model: Any, names: tuple[str, ...] = copies.COPIED) -> None:
        self.copy_model, self.part_model, self.names = copy_model, part_model, names
        self._copies, self._parts = table_of(copy_model), table_of(part_model)

    # ---- network's events ----------------------------------------------------------------

    async def published(self, session: AsyncSession, event: nw.PolicyVersionPublished) -> None:
        if event.name not in self.names or not await self._open(session, event.name, event.version):
            return
        await session.exec(pg_insert(self._copies).values(
            name=event.name, version=event.version, effective_from=event.effective_from,
            change_count=event.change_count, parts=copies.parts_needed(event.change_count, nw.MAX_PUBLISHED_CHANGES),
            document=sa.null(), complete=False,
        ).on_conflict_do_nothing(index_elements=[self._copies.c.name, self._copies.c.version]))
        await self._keep(session, event.name, event.version, 1, event.changes)
        await self._build_what_can_be(session, event.name)

    async def part(self, session: AsyncSession, event: nw.PolicyVersionChangesPart) -> None:
        if event.name not in self.names:
            return
        if not 2 <= event.part <= event.parts:
            raise PoisonEvent(f"policy {event.name} version {event.version}: part {event.part} of {event.parts}")
        if not await self._open(session, event.name, event.version):
            return
        await self._keep(session, event.name, event.version, event.part, event.changes)
        await self._build_what_can_be(session, event.name)

    async def _open(self, session: AsyncSession, name: str, version: int) -> bool:
        """Locks the policy's copies; False for a version built already (a redelivery)."""
        model = self.copy_model
        await session.exec(select(model.version).where(model.name == name, model.version == 1).with_for_update())
        row = await session.get(self.copy_model, (name, version))
        return row is None or not row.complete

    async def _keep(self, session: AsyncSession, name: str, version: int, part: int,
                    changes: list[nw.PolicyChange]) -> None:
        await session.exec(pg_insert(self._parts).values(
            name=name, version=version, part=part, changes=[c.model_dump(mode="json") for c in changes],
        ).on_conflict_do_nothing(index_elements=[self._parts.c.name, self._parts.c.version, self._parts.c.part]))

    async def _build_what_can_be(self, session: AsyncSession, name: str) -> None:
        model, part_model = self.copy_model, self.part_model
        latest = (await session.exec(select(model).where(model.name == name, col(model.complete))
                                     .order_by(col(model.version).desc()).limit(1))).first()
        while latest is not None and latest.document is not None:
            following = await session.get(self.copy_model, (name, latest.version + 1))
            if following is None or following.complete:
                return
            parts = (await session.exec(select(part_model).where(
                part_model.name == name, part_model.version == following.version).order_by(col(part_model.part)))).all()
            if [p.part for p in parts] != list(range(1, following.parts + 1)):
                return
            changes = [change for part in parts for change in part.changes]
            if len(changes) != following.change_count:
                raise PoisonEvent(f"policy {name} version {following.version}: {len(changes)} changes in its parts, "
                                  f"{following.change_count} announced")
            try:
                following.document = copies.apply_changes(latest.document, changes)
            except copies.ChangeMismatch as exc:
                raise PoisonEvent(f"policy {name} version {following.version}: {exc}") from None
            following.complete = True
            session.add(following)
            await session.flush()
            await session.exec(sa.delete(self._parts).where(self._parts.c.name == name,
                                                            self._parts.c.version == following.version))
            latest = following

    # ---- what is read ------------------------------------------------------------------------

    async def in_force(self, session: AsyncSession, name: str, day: date) -> Any | None:
        """The latest complete version taking effect on or before `day`."""
        return (await session.exec(select(self.copy_model).where(
            self.copy_model.name == name, col(self.copy_model.complete), col(self.copy_model.effective_from) <= day)
            .order_by(col(self.copy_model.version).desc()).limit(1))).first()

    async def catalogue_on(self, session: AsyncSession, day: date) -> copies.Catalogue:
        """Labour operations and parts prices in force on `day`, version 1 (data/) where none is."""
        first = copies.first_catalogue()
        operations = await self.in_force(session, copies.LABOUR_OPERATIONS, day)
        prices = await self.in_force(session, copies.PARTS_PRICES, day)
        return copies.Catalogue(
            operations=copies.operations_by_code(operations.document) if operations and operations.document
            else first.operations,
            parts=copies.parts_by_number(prices.document) if prices and prices.document else first.parts,
            operations_version=operations.version if operations else 1,
            parts_version=prices.version if prices else 1,
        )
