"""The staff directory: the people who work in the group's stores, the stores each works
in and their role in each (one role per store: an advisor in one store can manage another),
and HQ's staff with their role at head office (besides or instead of stores). Every active
person works in a store or holds an HQ role.

States: active → left. A leave is recorded once; a second is 409 with the current state.
A leave revokes every API key issued to the person (reason "person left"), in the same
transaction, each with the revocation event the gateway acts on.
Assignments change only while a person is active.

Who may (the matrix's `people` area, then these rules):
- hq_admin registers and changes anyone, in any active store, and alone gives or takes HQ roles.
- a store's store_manager or service_manager registers and changes the people of their own
  store: assignments name their own store only, and a change leaves the person's other
  stores as they are. A service manager neither makes, changes nor removes a store manager.
  A store records a leave only for someone who works in no other store and holds no HQ role
  (HQ does otherwise).
- everyone else reads: HQ roles every person, a store's callers the people of their store,
  each with that store's assignment only.

Every change emits an event carrying the person as they now stand, so a consumer keeps its
copy from the latest event alone.

Sign-in accounts: network's own worker applies those events to the group's identity provider
(push_account: an active person has an enabled account without a password, a leaver's is
disabled and signed out). A password is issued on request only (issue_sign_in: hq_admin, or
the manager of the one store the person works in), temporary, and answered once."""
import secrets
from collections.abc import Sequence
from datetime import date

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.clock import Clock
from services.common.errors import Conflict, DomainError, Forbidden, InvalidTransition, NotFound, ValidationFailed
from services.common.events.catalogue.network import (
    PersonAssignment,
    PersonAssignmentsChanged,
    PersonLeft,
    PersonRegistered,
)
from services.common.identity import SYSTEM_ROLE, Principal
from services.common.ids import new_id
from services.common.logging import get_logger
from services.common.outbox import emit
from services.common.stores import within_stores
from services.common.versioning import check_version
from services.network.calendar import HQ_ZONE
from services.network.keys import service as keys
from services.network.people import repository
from services.network.people.accounts import (
    ProviderAdmin,
    ProviderUnavailable,
    ProvisioningError,
    StaffAccount,
    StaffAccounts,
)
from services.network.people.models import Assignment, Person
from services.network.people.schemas import (
    NO_ROLE,
    AssignmentIn,
    AssignmentPublic,
    AssignmentsReplace,
    HqRole,
    PersonCreate,
    PersonLeave,
    PersonList,
    PersonPublic,
    PersonStatus,
    SignInIssued,
    StaffRole,
)
from services.network.stores import repository as stores

# A person can work in stores of several time zones; the day a leave defaults to is the
# group's (its head office keeps the personnel files in China time).
GROUP_ZONE = HQ_ZONE
log = get_logger(__name__)


class SignInUnavailable(DomainError):
    """The identity provider is unreachable, or refused the platform (503): worth trying again later."""

    status, type, title = 503, "unavailable", "Service unavailable"


# ---- who may ----------------------------------------------------------------------

def _may_write_role(principal: Principal, role: str, field: str) -> None:
    if principal.role == "service_manager" and role == StaffRole.STORE_MANAGER:
        raise Forbidden("a service manager does not appoint, change or remove a store manager", field=field)


def _may_set_hq_role(principal: Principal) -> None:
    if principal.role not in ("hq_admin", SYSTEM_ROLE):
        raise Forbidden("only an HQ admin gives or takes an HQ role", field="hq_role")


def _may_issue_sign_in(principal: Principal, person: Person, assignments: Sequence[Assignment]) -> None:
    """hq_admin for anyone; a store manager for the people of their store who work nowhere
    else: a password opens every store and HQ desk the person holds, so those are HQ's to give."""
    if principal.role in ("hq_admin", SYSTEM_ROLE):
        return
    if principal.role != "store_manager":
        raise Forbidden("sign-ins are issued by an HQ admin or the person's store manager")
    if person.hq_role or any(a.store_id != principal.store_id for a in assignments):
        raise Forbidden("this person also works at HQ or in another store: HQ issues their sign-in")


async def _checked(session: AsyncSession, principal: Principal, wanted: Sequence[AssignmentIn]) -> list[AssignmentIn]:
    """The assignments asked for, each in a store the caller may assign to and that is active
    (or, for HQ, onboarding)."""
    seen: set[str] = set()
    for index, item in enumerate(wanted):
        field = f"assignments.{index}.store_id"
        if item.store_id in seen:
            raise ValidationFailed(field, "one role per store: the store is named twice")
        seen.add(item.store_id)
        # Checked before the store is looked up: whether another store exists is not ours to tell.
        if principal.store_id and item.store_id != principal.store_id:
            raise Forbidden("a store assigns people to its own store only", field=field)
        _may_write_role(principal, item.role, f"assignments.{index}.role")
        store = await stores.get(session, item.store_id)
        if store is None:
            raise ValidationFailed(field, "no such store")
        # HQ records an onboarding outlet's staff too, so their certifications can be checked
        # before it opens (services/network/certifications); its business waits for activation.
        onboarding_by_hq = store.status == "onboarding" and principal.role in ("hq_admin", SYSTEM_ROLE)
        if store.status != "active" and not onboarding_by_hq:
            raise Conflict(f"store {store.code} is {store.status}; people are assigned to active stores only "
                           "(HQ also to an onboarding outlet)", field=field, current_state=store.status)
    return list(wanted)


# ---- reading ----------------------------------------------------------------------

def public(person: Person, assignments: Sequence[Assignment], principal: Principal) -> PersonPublic:
    shown = [a for a in assignments if principal.can_see_store(a.store_id)]
    return PersonPublic(
        id=person.id, employee_no=person.employee_no, name=person.name, phone=person.phone,
        status=PersonStatus(person.status), hq_role=HqRole(person.hq_role) if person.hq_role else None,
        assignments=[AssignmentPublic(store_id=a.store_id, role=StaffRole(a.role), assigned_at=a.assigned_at)
                     for a in shown],
        left_on=person.left_on, left_reason=person.left_reason, created_at=person.created_at,
        updated_at=person.updated_at, version=person.version,
    )


async def get_visible(session: AsyncSession, principal: Principal, person_id: str, *,
                      for_update: bool = False) -> tuple[Person, list[Assignment]]:
    """The person and all their assignments, if the caller may see them: HQ anyone, a
    store's caller the people assigned to their store, a region manager HQ's people and those
    assigned to a store of its regions. Anyone else is 404."""
    person = await repository.get(session, person_id, for_update=for_update)
    if person is None:
        raise NotFound("person not found")
    assignments = (await repository.assignments_of(session, [person.id]))[person.id]
    if principal.stores is not None:
        visible = bool(person.hq_role) or any(principal.can_see_store(a.store_id) for a in assignments)
    else:
        visible = principal.is_hq or any(a.store_id == principal.store_id for a in assignments)
    if not visible:
        raise NotFound("person not found")
    return person, assignments


async def list_people(session: AsyncSession, principal: Principal, *, limit: int, cursor: str | None,
                      store_id: str | None = None, status: PersonStatus | None = None,
                      role: StaffRole | None = None) -> PersonList:
    """HQ lists everyone or one store's people; a store's caller lists its own store's, and
    naming another store finds nobody."""
    if principal.store_id and store_id and store_id != principal.store_id:
        return PersonList(items=[], next_cursor=None)
    rows, next_cursor = await repository.page(session, limit=limit, cursor=cursor,
                                              store_id=principal.store_id or store_id, status=status, role=role,
                                              within=within_stores(principal))
    assignments = await repository.assignments_of(session, [r.id for r in rows])
    return PersonList(items=[public(r, assignments[r.id], principal) for r in rows], next_cursor=next_cursor)


# ---- changing ---------------------------------------------------------------------

def _who(field: str, principal: Principal) -> dict[str, str | None]:
    """An event's who-field: the person (or a machine's own key), their name and the key or sign-in they used."""
    return {field: principal.id, f"{field}_name": principal.name or principal.id,
            f"{field}_credential": principal.credential or None}


def _as_event(person: Person, assignments: Sequence[Assignment]) -> dict:
    return dict(person_id=person.id, employee_no=person.employee_no, name=person.name, status=person.status,
                hq_role=person.hq_role,
                assignments=[PersonAssignment(store_id=a.store_id, role=a.role) for a in assignments])


async def register(session: AsyncSession, clock: Clock, principal: Principal, data: PersonCreate) -> PersonPublic:
    if data.hq_role is not None:
        _may_set_hq_role(principal)
    wanted = await _checked(session, principal, data.assignments)
    if await repository.by_employee_no(session, data.employee_no) is not None:
        raise Conflict(f"employee number {data.employee_no} is taken", field="employee_no")
    now = clock.now()
    person = Person(id=new_id(), employee_no=data.employee_no, name=data.name, phone=data.phone,
                    status=PersonStatus.ACTIVE, hq_role=data.hq_role, created_at=now, updated_at=now)
    assignments = [Assignment(person_id=person.id, store_id=a.store_id, role=a.role, assigned_at=now)
                   for a in sorted(wanted, key=lambda a: a.store_id)]
    session.add(person)
    try:
        # Flushed here so that a number registered at the same moment by someone else is a
        # 409 on employee_no rather than a failed commit.
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(f"employee number {data.employee_no} is taken", field="employee_no") from exc
    session.add_all(assignments)
    await emit(session, PersonRegistered(**_as_event(person, assignments), **_who("registered_by", principal),
                                         registered_at=now),
               subject=person.id, store_id=None, time=now)
    return public(person, assignments, principal)


async def replace_assignments(session: AsyncSession, clock: Clock, principal: Principal, person_id: str,
                              data: AssignmentsReplace, if_match: int | None = None) -> PersonPublic:
    person, current = await get_visible(session, principal, person_id, for_update=True)
    check_version(person.version, if_match)
    if person.status != PersonStatus.ACTIVE:
        raise InvalidTransition(person.status, "change assignments")
    hq_role = person.hq_role
    if "hq_role" in data.model_fields_set:
        _may_set_hq_role(principal)
        hq_role = data.hq_role
    wanted = {a.store_id: a for a in await _checked(session, principal, data.assignments)}
    # A store's caller replaces its own store's assignment; the others are not theirs to touch.
    mine = [a for a in current if principal.is_hq or a.store_id == principal.store_id]
    for a in mine:
        if a.store_id not in wanted or wanted[a.store_id].role != a.role:
            _may_write_role(principal, a.role, "assignments")
    mine_stores = {a.store_id for a in mine}
    if not wanted and hq_role is None and all(a.store_id in mine_stores for a in current):
        raise ValidationFailed("assignments", f"{NO_ROLE}: record their leave instead")
    now = clock.now()
    await repository.remove(session, [a for a in mine if a.store_id not in wanted])
    kept = {a.store_id: a for a in current if a.store_id in wanted or a.store_id not in mine_stores}
    for store_id, item in wanted.items():
        held = kept.get(store_id)
        if held is None:
            kept[store_id] = Assignment(person_id=person.id, store_id=store_id, role=item.role, assigned_at=now)
            session.add(kept[store_id])
        elif held.role != item.role:
            held.role, held.assigned_at = item.role, now
            session.add(held)
    assignments = [kept[k] for k in sorted(kept)]
    person.hq_role = hq_role
    person.updated_at, person.version = now, person.version + 1
    session.add(person)
    await emit(session, PersonAssignmentsChanged(**_as_event(person, assignments), reason=data.reason,
                                                 **_who("changed_by", principal), changed_at=now),
               subject=person.id, store_id=None, time=now)
    return public(person, assignments, principal)


async def leave(session: AsyncSession, clock: Clock, principal: Principal, person_id: str,
                data: PersonLeave) -> PersonPublic:
    person, assignments = await get_visible(session, principal, person_id, for_update=True)
    if person.status == PersonStatus.LEFT:
        raise InvalidTransition(person.status, "leave", left_on=person.left_on.isoformat() if person.left_on else None,
                                version=person.version)
    if not principal.is_hq:
        if any(a.store_id != principal.store_id for a in assignments):
            raise Forbidden("this person works in other stores too: remove your store's assignment, "
                            "or ask HQ to record the leave")
        if person.hq_role:
            raise Forbidden("this person holds an HQ role: HQ records their leave")
        for a in assignments:
            _may_write_role(principal, a.role, "person")
    now = clock.now()
    today = now.astimezone(GROUP_ZONE).date()
    left_on = data.left_on or today
    _check_left_on(left_on, today, person.created_at.astimezone(GROUP_ZONE).date())
    person.status, person.left_on, person.left_reason = PersonStatus.LEFT, left_on, data.reason
    person.updated_at, person.version = now, person.version + 1
    session.add(person)
    await emit(session, PersonLeft(**_as_event(person, assignments), left_on=left_on, reason=data.reason,
                                   **_who("recorded_by", principal), left_at=now),
               subject=person.id, store_id=None, time=now)
    await keys.revoke_for_person(session, clock, principal, person.id, keys.PERSON_LEFT)
    return public(person, assignments, principal)


def _check_left_on(left_on: date, today: date, registered_on: date) -> None:
    if left_on > today:
        # The leave takes effect at once (sign-in stops), so it is recorded when it has happened.
        raise ValidationFailed("left_on", "a leave is recorded on or after the last day, not before it")
    if left_on < registered_on:
        raise ValidationFailed("left_on", f"before the person was registered ({registered_on.isoformat()})")


# ---- sign-in accounts ---------------------------------------------------------------

# Told to the person at the counter or on the phone: no characters that look alike (0 o, 1 l i).
_PASSWORD_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"


def temporary_password() -> str:
    """Three groups of four (about 59 bits): the realm wants 10 characters or more, and the
    person replaces it at their first sign-in."""
    return "-".join("".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(4)) for _ in range(3))


def _account(person: Person) -> StaffAccount:
    return StaffAccount(employee_number=person.employee_no, name=person.name, person_id=person.id,
                        phone=person.phone, enabled=person.status == PersonStatus.ACTIVE)


async def push_account(session: AsyncSession, admin: ProviderAdmin | None, person_id: str) -> None:
    """Bring the person's account at the provider in line with the directory as it stands now,
    not as the event that asked for it says: an event applied late (a redelivery, a retry after an
    outage) then cannot undo a later change. An active person's account is made or updated, with
    no password until one is issued; a leaver's is disabled and its sessions end. Raises
    ProviderUnavailable while the provider cannot be reached (the event is applied again)."""
    if admin is None:
        return
    person = await repository.get(session, person_id)
    if person is None:
        log.warning("no such person to provision", person_id=person_id)
        return
    # A client (and service token) per change: people change a few times a day, and nothing is
    # kept open across the event loops a worker, a replay or a test runs this in.
    async with StaffAccounts(admin) as accounts:
        if person.status == PersonStatus.ACTIVE:
            await accounts.upsert(_account(person))
        else:
            await accounts.disable(person.employee_no)


async def issue_sign_in(session: AsyncSession, principal: Principal, person_id: str,
                        admin: ProviderAdmin | None) -> SignInIssued:
    """A new temporary password at the provider, answered once and kept nowhere here."""
    # Locked: a leave recorded meanwhile waits, so its event disables the account after this, never before.
    person, assignments = await get_visible(session, principal, person_id, for_update=True)
    _may_issue_sign_in(principal, person, assignments)
    if person.status != PersonStatus.ACTIVE:
        raise InvalidTransition(person.status, "issue a sign-in")
    if admin is None:
        # The platform's state, not a failure of the moment: no retry helps until it is configured.
        raise Conflict("sign-in is not set up here: no identity provider is configured (NETWORK_OIDC_ADMIN_URL)")
    password = temporary_password()
    try:
        async with StaffAccounts(admin) as accounts:
            # Made here when the registration's event is not applied yet, or was while provisioning was off.
            user_id = await accounts.upsert(_account(person))
            # A new password starts the account afresh: whoever is signed in with the old one is signed out.
            await accounts.end_sessions(user_id)
            await accounts.set_password(user_id, password, temporary=True)
    except ProviderUnavailable as exc:
        raise SignInUnavailable("the identity provider cannot be reached; try again shortly") from exc
    except ProvisioningError as exc:
        log.error("the identity provider refused a sign-in", person_id=person.id, error=str(exc))
        raise SignInUnavailable("the identity provider refused the platform's request") from exc
    return SignInIssued(person_id=person.id, username=person.employee_no, temporary_password=password)
