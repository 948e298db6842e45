"""A store's own reception settings: whether high-value orders wait for the service
manager's sign-off, and from what amount. No row: the group's defaults."""
from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.clock import Clock
from services.common.errors import NotFound
from services.common.identity import Principal
from services.common.stores import acting_store_id, ensure_visible
from services.reception.settings import ReceptionSettings
from services.reception.shared import repository as shared
from services.reception.shared.service import Who, check_version
from services.reception.stores import repository
from services.reception.stores.models import StoreSettings
from services.reception.stores.schemas import StoreSettingsPublic, StoreSettingsUpdate


@dataclass(frozen=True)
class HighValueRule:
    threshold_fen: int | None  # None: this store's orders never wait for a sign-off

    @property
    def applies(self) -> bool:
        return self.threshold_fen is not None


async def high_value_rule(session: AsyncSession, settings: ReceptionSettings, store_id: str) -> HighValueRule:
    own = await repository.get(session, store_id)
    if own is None:
        return HighValueRule(settings.high_value_threshold_fen)
    if not own.high_value_sign_off:
        return HighValueRule(None)
    return HighValueRule(own.high_value_threshold_fen or settings.high_value_threshold_fen)


async def _known(session: AsyncSession, principal: Principal, store_id: str) -> None:
    ensure_visible(principal, store_id, "store")
    if await shared.known_store(session, store_id) is None:
        raise NotFound("store not found")


def _public(settings: ReceptionSettings, store_id: str, own: StoreSettings | None) -> StoreSettingsPublic:
    margin = format(settings.sign_off_margin_percent, "f")
    if own is None:
        return StoreSettingsPublic(store_id=store_id, high_value_sign_off=True,
                                   high_value_threshold_fen=settings.high_value_threshold_fen, source="default",
                                   sign_off_margin_percent=margin)
    return StoreSettingsPublic(
        store_id=store_id, high_value_sign_off=own.high_value_sign_off,
        high_value_threshold_fen=own.high_value_threshold_fen or settings.high_value_threshold_fen,
        source="store", sign_off_margin_percent=margin, updated_at=own.updated_at,
        updated_by=own.updated_by, version=own.version,
    )


async def read(session: AsyncSession, settings: ReceptionSettings, principal: Principal,
               store_id: str) -> StoreSettingsPublic:
    await _known(session, principal, store_id)
    return _public(settings, store_id, await repository.get(session, store_id))


async def update(session: AsyncSession, clock: Clock, settings: ReceptionSettings, principal: Principal,
                 store_id: str, data: StoreSettingsUpdate, expected: int | None) -> StoreSettingsPublic:
    """Applies to approvals from now on; a sign-off already given stays given."""
    await _known(session, principal, acting_store_id(principal, store_id))
    own = await repository.get(session, store_id, for_update=True)
    check_version(own.version if own else 0, expected)
    who = Who.of(principal).as_dict()
    if own is None:
        own = StoreSettings(store_id=store_id, updated_at=clock.now(), updated_by=who, version=0)
    own.high_value_sign_off = data.high_value_sign_off
    own.high_value_threshold_fen = data.high_value_threshold_fen
    own.updated_at, own.updated_by = clock.now(), who
    own.version += 1
    repository.save(session, own)
    return _public(settings, store_id, own)
