"""Outlet onboarding: the public application form, the applicant's status token, and
HQ's review, which registers an approved applicant as a partner outlet in onboarding."""
import hashlib
import hmac
import math
import secrets
from collections import deque
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.addresses import address_group
from services.common.clock import Clock
from services.common.errors import Conflict, InvalidTransition, NotFound, TooManyRequests, ValidationFailed
from services.common.identity import ANONYMOUS_ROLE, Principal
from services.common.ids import new_id
from services.common.stores import within_stores
from services.network.applications import repository
from services.network.applications.models import OutletApplication
from services.network.applications.schemas import (
    ApplicationCreate,
    ApplicationList,
    ApplicationPublic,
    ApplicationReview,
    ApplicationStatus,
)
from services.network.stores import service as stores
from services.network.stores.schemas import StoreCreate

ANONYMOUS_PREFIX = "anon:"


class ApplicationRateLimited(TooManyRequests):
    def __init__(self, retry_after: int, limit: str = "address") -> None:
        what = "from this address" if limit == "address" else "for this business licence"
        super().__init__(f"too many applications {what}; retry in {retry_after} s", retry_after=retry_after,
                         limit=limit)
        self.retry_after = retry_after


class SubmissionLimiter:
    """A sliding window of attempts per client address, in this process.

    The gateway limits per address across the platform; this second limit keeps the one
    unauthenticated write of the platform bounded even when the service is reached some
    other way. It counts every attempt, valid or not, since floods need not be valid."""

    MAX_TRACKED = 10_000

    def __init__(self, limit: int, window_seconds: int, *, what: str = "address") -> None:
        self.limit = limit
        self.window = timedelta(seconds=window_seconds)
        self.what = what
        self._attempts: dict[str, deque[datetime]] = {}

    def hit(self, key: str, now: datetime) -> None:
        attempts = self._attempts.setdefault(key, deque())
        self._expire(attempts, now)
        if len(attempts) >= self.limit:
            raise ApplicationRateLimited(max(1, math.ceil((attempts[0] + self.window - now).total_seconds())),
                                         self.what)
        attempts.append(now)
        if len(self._attempts) > self.MAX_TRACKED:
            self._sweep(now)

    def _expire(self, attempts: deque[datetime], now: datetime) -> None:
        cutoff = now - self.window
        while attempts and attempts[0] <= cutoff:
            attempts.popleft()

    def _sweep(self, now: datetime) -> None:
        for key in list(self._attempts):
            self._expire(self._attempts[key], now)
            if not self._attempts[key]:
                del self._attempts[key]


def client_key(principal: Principal) -> str:
    """Who is applying: the client address the gateway saw (an IPv6 one by its /64, which
    one subscriber holds whole), or the caller's own id."""
    if principal.role == ANONYMOUS_ROLE and principal.id.startswith(ANONYMOUS_PREFIX):
        return ANONYMOUS_PREFIX + address_group(principal.id.removeprefix(ANONYMOUS_PREFIX))
    return f"principal:{principal.id}"


def licence_key(license_no: str) -> str:
    """One business licence however it is written: case and hyphens do not make another."""
    return "licence:" + license_no.replace("-", "").upper()


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def submit(session: AsyncSession, clock: Clock, principal: Principal,
                 data: ApplicationCreate) -> tuple[OutletApplication, str]:
    existing = await repository.open_for_licence(session, data.license_no)
    if existing is not None:
        raise Conflict(f"an application for licence {data.license_no} is already {existing.status}",
                       field="license_no", current_state=existing.status)
    token = "at_" + secrets.token_urlsafe(32)
    application = OutletApplication(
        id=new_id(), company_name=data.company_name, license_no=data.license_no,
        contact=data.contact.model_dump(), address=data.address.model_dump(), bays=data.bays,
        technicians=data.technicians, certifications=data.certifications,
        requested_services=data.requested_services, status="submitted", token_hash=_hash_token(token),
        client_address=principal.id.removeprefix(ANONYMOUS_PREFIX)[:200], submitted_at=clock.now(),
    )
    session.add(application)
    return application, token


async def list_applications(session: AsyncSession, principal: Principal, *, limit: int, cursor: str | None,
                            status: ApplicationStatus | None = None) -> ApplicationList:
    """HQ lists every application; a region manager those whose outlet is a store of its
    regions now (an application not yet approved is no region's store: HQ screens it)."""
    rows, next_cursor = await repository.page(session, limit=limit, cursor=cursor, status=status,
                                              within=within_stores(principal))
    return ApplicationList(items=[ApplicationPublic.model_validate(r, from_attributes=True) for r in rows],
                           next_cursor=next_cursor)


def public(application: OutletApplication, principal: Principal) -> ApplicationPublic:
    """An application as its caller may see it: the applicant, reading with the status
    token, is not told which HQ person reviewed it."""
    view = ApplicationPublic.model_validate(application, from_attributes=True)
    if principal.is_hq:
        return view
    return view.model_copy(update={"reviewed_by": None, "reviewed_by_name": None, "reviewed_by_credential": None})


async def get_for_caller(session: AsyncSession, principal: Principal, application_id: str,
                         token: str | None) -> OutletApplication:
    """HQ reads any application; anyone else needs the application's status token. A wrong
    token looks exactly like a missing application."""
    application = await repository.get(session, application_id)
    if application is not None:
        if principal.is_hq and (principal.stores is None or application.store_id in principal.stores):
            return application
        if token and hmac.compare_digest(_hash_token(token), application.token_hash):
            return application
    raise NotFound("outlet application not found")


async def review(session: AsyncSession, clock: Clock, principal: Principal, application_id: str,
                 data: ApplicationReview) -> OutletApplication:
    application = await repository.get_for_update(session, application_id)
    if application is None:
        raise NotFound("outlet application not found")
    if application.status != "submitted":
        raise InvalidTransition(application.status, "review")
    now = clock.now()
    if data.decision == "reject":
        if not data.reason.strip():
            raise ValidationFailed("reason", "a rejection needs a reason the applicant can act on")
        application.status = "rejected"
    else:
        store = await stores.create_store(session, clock, StoreCreate(
            code=data.store_code or f"PO-{secrets.token_hex(4).upper()}",
            name=application.company_name,
            kind="partner_outlet",
            region=data.region or application.address["province"],
            city=application.address["city"],
            timezone=data.timezone or "Asia/Shanghai",
        ))
        await session.flush()  # the store row first: the application refers to it
        application.status, application.store_id = "approved", store.id
    application.reviewed_at, application.reviewed_by = now, principal.id
    application.reviewed_by_name = principal.name or principal.id
    application.reviewed_by_credential = principal.credential or None
    application.review_reason = data.reason.strip() or None
    application.version += 1
    session.add(application)
    return application
