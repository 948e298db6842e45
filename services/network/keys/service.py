"""API keys: opaque random tokens, stored as SHA-256 hashes (the tokens carry 256 bits
of randomness, so a slow password hash adds nothing), bound to a role and, for store
roles, to one active store."""
import hashlib
import secrets

from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.clock import Clock
from services.common.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from services.common.events.catalogue.network import ApiKeyIssued, ApiKeyRevoked
from services.common.identity import HQ_ROLES, Principal
from services.common.ids import new_id
from services.common.outbox import emit
from services.network.keys import repository
from services.network.keys.models import ApiKey
from services.network.keys.schemas import ApiKeyCreate, ApiKeyList, ApiKeyPublic, IntrospectResult
from services.network.stores import repository as stores

BOOTSTRAP_KEY_ID = "bootstrap-hq-admin"


def hash_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return "ak_" + secrets.token_urlsafe(32)


async def issue(session: AsyncSession, clock: Clock, principal: Principal, data: ApiKeyCreate) -> tuple[ApiKey, str]:
    if data.role in HQ_ROLES:
        if data.store_id is not None:  # "" too: it would be kept as a store id no store has
            raise ValidationFailed("store_id", "HQ keys are not bound to a store")
    else:
        if not data.store_id:
            raise ValidationFailed("store_id", f"a {data.role} key needs a store")
        store = await stores.get(session, data.store_id)
        if store is None:
            raise ValidationFailed("store_id", "no such store")
        if store.status != "active":
            raise Conflict(f"store {store.code} is {store.status}; keys are issued to active stores only",
                           current_state=store.status)
    token = new_token()
    now = clock.now()
    key = ApiKey(id=new_id(), key_hash=hash_key(token), prefix=token[:8], role=data.role, store_id=data.store_id,
                 label=data.label, created_by=principal.id, created_at=now)
    session.add(key)
    await emit(session, ApiKeyIssued(key_id=key.id, role=key.role, store_id=key.store_id, label=key.label,
                                     issued_at=now),
               subject=key.id, store_id=key.store_id, time=now)
    return key, token


async def list_keys(session: AsyncSession, principal: Principal, *, limit: int, cursor: str | None,
                    store_id: str | None = None) -> ApiKeyList:
    """HQ lists every key, or one store's; a store's caller lists its own store's keys, whatever it names."""
    rows, next_cursor = await repository.page(session, limit=limit, cursor=cursor,
                                              store_id=principal.store_id or store_id)
    return ApiKeyList(items=[ApiKeyPublic.model_validate(r, from_attributes=True) for r in rows],
                      next_cursor=next_cursor)


async def revoke(session: AsyncSession, clock: Clock, key_id: str) -> ApiKey:
    key = await repository.get(session, key_id)
    if key is None:
        raise NotFound("api key not found")
    if key.revoked_at is not None:
        raise InvalidTransition("revoked", "revoke")
    now = clock.now()
    key.revoked_at = now
    session.add(key)
    await emit(session, ApiKeyRevoked(key_id=key.id, role=key.role, store_id=key.store_id, revoked_at=now),
               subject=key.id, store_id=key.store_id, time=now)
    return key


async def introspect(session: AsyncSession, token: str) -> IntrospectResult:
    key = await repository.by_hash(session, hash_key(token))
    if key is None:
        return IntrospectResult(active=False, reason="unknown key")
    base = dict(id=key.id, role=key.role, store_id=key.store_id, name=key.label)
    if key.revoked_at is not None:
        return IntrospectResult(active=False, reason="revoked", **base)
    if key.store_id:
        store = await stores.get(session, key.store_id)
        status = store.status if store else "unknown"
        # A suspended store keeps its data, but its keys stop working.
        return IntrospectResult(active=status != "suspended", store_status=status,
                                reason="store suspended" if status == "suspended" else None, **base)
    return IntrospectResult(active=True, **base)


async def ensure_bootstrap_key(session: AsyncSession, clock: Clock, token: str) -> None:
    """Make sure an hq_admin key with exactly this token exists (PLATFORM_BOOTSTRAP_KEY)."""
    wanted = hash_key(token)
    existing = await repository.get(session, BOOTSTRAP_KEY_ID)
    if existing is not None:
        if existing.key_hash == wanted and existing.revoked_at is None:
            return
        await session.delete(existing)
        await session.flush()
    other = await repository.by_hash(session, wanted)
    if other is not None:
        return
    session.add(ApiKey(id=BOOTSTRAP_KEY_ID, key_hash=wanted, prefix=token[:8], role="hq_admin", store_id=None,
                       label="bootstrap HQ admin", created_by="platform", created_at=clock.now()))
