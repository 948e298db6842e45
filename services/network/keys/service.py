"""API keys: opaque random tokens, stored as SHA-256 hashes (the tokens carry 256 bits
of randomness, so a slow password hash adds nothing), bound to a role and, for store
roles, to one active store.

A key is issued to a person of the staff directory, or to nobody (a machine's key). A
person's key acts as the person: introspection gives the gateway the person's id and
name, so what the key does is recorded as the person's, and four-eyes rules count the
person once however many keys they hold. A person who leaves loses their keys."""
import hashlib
import secrets
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.clock import Clock
from services.common.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from services.common.events.catalogue.network import ApiKeyIssued, ApiKeyRevoked
from services.common.identity import HQ_ROLES, Principal
from services.common.ids import new_id
from services.common.logging import get_logger
from services.common.outbox import emit
from services.common.stores import within_stores
from services.common.who import Who
from services.network.keys import repository
from services.network.keys.models import ApiKey
from services.network.keys.schemas import ApiKeyCreate, ApiKeyList, ApiKeyPublic, IntrospectResult, KeyPerson
from services.network.people import repository as people
from services.network.people.models import Person
from services.network.stores import repository as stores

BOOTSTRAP_KEY_ID = "bootstrap-hq-admin"
# Who issues and replaces bootstrap keys: the platform itself, at start (no caller has this id).
BOOTSTRAP_ISSUER = "platform"
BOOTSTRAP_PRINCIPAL = Principal(id=BOOTSTRAP_ISSUER, role="system", name=BOOTSTRAP_ISSUER)
BOOTSTRAP_REPLACED = "replaced by a new PLATFORM_BOOTSTRAP_KEY"
# Roles that are a system's, never a person's (an outlet's own software).
MACHINE_ROLES = frozenset({"outlet_api"})
PERSON_LEFT = "person left"
log = get_logger(__name__)


def hash_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return "ak_" + secrets.token_urlsafe(32)


async def _holder(session: AsyncSession, data: ApiKeyCreate) -> Person | None:
    """The person the key is issued to: active, and working where the key acts: in its store
    for a store key, at head office (an HQ role) for an HQ key."""
    if data.person_id is None:
        return None
    if data.role in MACHINE_ROLES:
        raise ValidationFailed("person_id", f"a {data.role} key is an outlet system's, not a person's")
    person = await people.get(session, data.person_id)
    if person is None:
        raise ValidationFailed("person_id", "no such person in the staff directory")
    if person.status != "active":
        raise ValidationFailed("person_id", f"{person.name} has {person.status}; keys are issued to active staff only")
    if data.store_id is not None:
        assigned = (await people.assignments_of(session, [person.id]))[person.id]
        if not any(a.store_id == data.store_id for a in assigned):
            raise ValidationFailed("person_id", f"{person.name} is not assigned to this key's store")
    elif data.role in HQ_ROLES and person.hq_role is None:
        raise ValidationFailed("person_id", f"{person.name} holds no HQ role; HQ keys go to HQ staff")
    return person


async def issue(session: AsyncSession, clock: Clock, principal: Principal,
                data: ApiKeyCreate) -> tuple[ApiKeyPublic, str]:
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
    person = await _holder(session, data)
    token = new_token()
    now = clock.now()
    key = ApiKey(id=new_id(), key_hash=hash_key(token), prefix=token[:8], role=data.role, store_id=data.store_id,
                 label=data.label, person_id=data.person_id, created_by=principal.id,
                 created_by_name=principal.name or None, created_by_credential=principal.credential or None,
                 created_at=now)
    session.add(key)
    await emit(session, ApiKeyIssued(key_id=key.id, role=key.role, store_id=key.store_id, label=key.label,
                                     person_id=key.person_id, issued_by=principal.id, issued_at=now),
               subject=key.id, store_id=key.store_id, time=now)
    return public(key, person), token


def public(key: ApiKey, person: Person | None) -> ApiKeyPublic:
    return ApiKeyPublic(
        id=key.id, role=key.role, store_id=key.store_id, label=key.label, prefix=key.prefix, person_id=key.person_id,
        person=KeyPerson(person_id=person.id, name=person.name) if person is not None else None,
        created_by=Who.stored(key.created_by, key.created_by_name, key.created_by_credential),
        created_at=key.created_at, revoked_at=key.revoked_at,
        revoked_by=(Who.stored(key.revoked_by, key.revoked_by_name, key.revoked_by_credential)
                    if key.revoked_by else None),
        revoked_reason=key.revoked_reason,
    )


async def _public_all(session: AsyncSession, keys: list[ApiKey]) -> list[ApiKeyPublic]:
    holders = await repository.people(session, {k.person_id for k in keys if k.person_id})
    return [public(k, holders.get(k.person_id) if k.person_id else None) for k in keys]


async def list_keys(session: AsyncSession, principal: Principal, *, limit: int, cursor: str | None,
                    store_id: str | None = None) -> ApiKeyList:
    """HQ lists every key, or one store's; a store's caller lists its own store's keys, whatever it names."""
    rows, next_cursor = await repository.page(session, limit=limit, cursor=cursor,
                                              store_id=principal.store_id or store_id, within=within_stores(principal))
    return ApiKeyList(items=await _public_all(session, list(rows)), next_cursor=next_cursor)


async def get_visible(session: AsyncSession, principal: Principal, key_id: str) -> ApiKeyPublic:
    key = await repository.get(session, key_id)
    if key is None:
        raise NotFound("api key not found")
    # An HQ key is no store's: a store's caller sees its own store's keys only.
    if not (principal.can_see_store(key.store_id) if key.store_id else principal.is_hq and principal.stores is None):
        raise NotFound("api key not found")
    return (await _public_all(session, [key]))[0]


def _revoke(key: ApiKey, principal: Principal, now: datetime, reason: str | None) -> ApiKeyRevoked:
    key.revoked_at, key.revoked_reason = now, reason
    key.revoked_by, key.revoked_by_name = principal.id, principal.name or None
    key.revoked_by_credential = principal.credential or None
    return ApiKeyRevoked(key_id=key.id, role=key.role, store_id=key.store_id, person_id=key.person_id,
                         reason=reason, revoked_by=principal.id, revoked_at=now)


async def revoke(session: AsyncSession, clock: Clock, principal: Principal, key_id: str,
                 reason: str | None = None) -> ApiKeyPublic:
    key = await repository.get(session, key_id)
    if key is None:
        raise NotFound("api key not found")
    if key.revoked_at is not None:
        raise InvalidTransition("revoked", "revoke")
    now = clock.now()
    event = _revoke(key, principal, now, reason)
    session.add(key)
    await emit(session, event, subject=key.id, store_id=key.store_id, time=now)
    return (await _public_all(session, [key]))[0]


async def revoke_for_person(session: AsyncSession, clock: Clock, principal: Principal, person_id: str,
                            reason: str) -> list[ApiKey]:
    """Every key still working that was issued to the person, revoked as one by one would
    be: each with its event, which the gateway acts on within seconds."""
    now = clock.now()
    keys = await repository.active_of_person(session, person_id)
    for key in keys:
        event = _revoke(key, principal, now, reason)
        session.add(key)
        await emit(session, event, subject=key.id, store_id=key.store_id, time=now)
    return keys


async def introspect(session: AsyncSession, token: str) -> IntrospectResult:
    key = await repository.by_hash(session, hash_key(token))
    if key is None:
        return IntrospectResult(active=False, reason="unknown key")
    person = await people.get(session, key.person_id) if key.person_id else None
    base = dict(id=key.id, role=key.role, store_id=key.store_id, name=key.label,
                person_id=key.person_id, person_name=person.name if person else None)
    if key.revoked_at is not None:
        return IntrospectResult(active=False, reason="revoked", **base)
    if person is not None and person.status != "active":
        # Their keys are revoked as they leave; this holds for one revoked in no other way.
        return IntrospectResult(active=False, reason=PERSON_LEFT, **base)
    if key.store_id:
        store = await stores.get(session, key.store_id)
        status = store.status if store else "unknown"
        # A suspended store keeps its data, but its keys stop working.
        return IntrospectResult(active=status != "suspended", store_status=status,
                                reason="store suspended" if status == "suspended" else None, **base)
    return IntrospectResult(active=True, **base)


async def ensure_bootstrap_key(session: AsyncSession, clock: Clock, token: str) -> ApiKey | None:
    """Make sure an hq_admin key with exactly this token exists (PLATFORM_BOOTSTRAP_KEY), and
    that the bootstrap keys of earlier values no longer work. The key, or None when this value
    was revoked: a revoked bootstrap key is never revived, whoever restarts network with it;
    HQ configures a new value instead."""
    wanted = hash_key(token)
    same = await repository.by_hash(session, wanted)
    if same is not None:
        if same.revoked_at is not None:
            log.error("PLATFORM_BOOTSTRAP_KEY 已被吊销，不会恢复；请配置新值 / was revoked and stays revoked: "
                      "configure a new value to have a bootstrap HQ admin key", key_id=same.id,
                      revoked_at=same.revoked_at.isoformat(), revoked_by=same.revoked_by, reason=same.revoked_reason)
            return None
        return same
    now = clock.now()
    for old in await repository.active_bootstrap_keys(session, BOOTSTRAP_ISSUER):
        event = _revoke(old, BOOTSTRAP_PRINCIPAL, now, BOOTSTRAP_REPLACED)
        session.add(old)
        await emit(session, event, subject=old.id, store_id=None, time=now)
    # The first keeps the id it always had; later ones are kept beside the revoked ones, for the record.
    key_id = BOOTSTRAP_KEY_ID if await repository.get(session, BOOTSTRAP_KEY_ID) is None else f"bootstrap-{new_id()}"
    key = ApiKey(id=key_id, key_hash=wanted, prefix=token[:8], role="hq_admin", store_id=None,
                 label="bootstrap HQ admin", created_by=BOOTSTRAP_ISSUER, created_by_name=BOOTSTRAP_ISSUER,
                 created_at=now)
    session.add(key)
    return key
