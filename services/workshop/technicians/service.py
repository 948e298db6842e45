"""Technicians: who works in which store, which operation categories they may be given,
and which principal (a person of the staff directory, or an API key) they work under, so
quality checks can apply four eyes. A person works under a technician of a store they
work in: the workshop keeps its copy of the staff directory from network's events."""
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.clock import Clock
from services.common.errors import Conflict, NotFound, StaleVersion, ValidationFailed
from services.common.identity import Principal
from services.common.ids import new_id
from services.common.permissions import allowed
from services.common.staff import PersonEvent, refusal, take_person_event
from services.common.stores import active_store
from services.common.who import known_as
from services.workshop.technicians import repository
from services.workshop.technicians.models import StaffMember, Technician
from services.workshop.technicians.schemas import TechnicianCreate, TechnicianList, TechnicianPublic, TechnicianUpdate


async def _principal_free(session: AsyncSession, store_id: str, principal_id: str | None,
                          keep: str | None = None) -> None:
    if principal_id is None:
        return
    problem = refusal(await repository.staff_member(session, principal_id), store_id)
    if problem:
        raise ValidationFailed("principal_id", problem)
    other = await repository.by_principal(session, store_id, principal_id)
    if other is not None and other.id != keep:
        raise Conflict(f"principal {principal_id} is already linked to technician {other.id}", field="principal_id")


async def create(session: AsyncSession, clock: Clock, principal: Principal, data: TechnicianCreate) -> Technician:
    store = await active_store(session, principal, data.store_id)
    await _principal_free(session, store.id, data.principal_id)
    now = clock.now()
    technician = Technician(id=new_id(), store_id=store.id, name=data.name, skills=data.skills,
                            principal_id=data.principal_id, active=True, hourly_cost_fen=data.hourly_cost_fen,
                            created_at=now, updated_at=now)
    session.add(technician)
    return technician


async def keep_staff_member(session: AsyncSession, event: PersonEvent, at: datetime) -> None:
    person = await repository.staff_member(session, event.person_id)
    if person is None:
        person = StaffMember(person_id=event.person_id, status=event.status, store_ids=[], updated_at=at)
    if take_person_event(person, event, at):
        session.add(person)


def public(technician: Technician, principal: Principal) -> TechnicianPublic:
    """A technician as the API shows them: their cost rate only to who may read what orders cost."""
    shown = TechnicianPublic.model_validate(technician, from_attributes=True)
    if not allowed("workshop_board", principal.role, "GET"):
        shown.hourly_cost_fen = None
    return shown


async def list_technicians(session: AsyncSession, principal: Principal, *, store_id: str | None, limit: int,
                           cursor: str | None, skill: str | None, active: bool | None) -> TechnicianList:
    # A store's caller sees its own roster, whatever store it names; HQ the one it names, or all.
    rows, next_cursor = await repository.page(session, store_id=principal.store_id or store_id, limit=limit,
                                              cursor=cursor, skill=skill, active=active)
    return TechnicianList(items=[public(r, principal) for r in rows], next_cursor=next_cursor)


async def get_visible(session: AsyncSession, principal: Principal, technician_id: str) -> Technician:
    technician = await repository.get(session, technician_id)
    if technician is None or not principal.can_see_store(technician.store_id):
        raise NotFound("technician not found")
    return technician


async def update(session: AsyncSession, clock: Clock, principal: Principal, technician_id: str,
                 data: TechnicianUpdate) -> Technician:
    technician = await repository.get_for_update(session, technician_id)
    if technician is None or not principal.can_see_store(technician.store_id):
        raise NotFound("technician not found")
    if technician.version != data.version:
        raise StaleVersion(technician.version)
    changes = data.model_dump(exclude_unset=True, exclude={"version"})
    if "principal_id" in changes:
        await _principal_free(session, technician.store_id, changes["principal_id"], keep=technician.id)
    for name, value in changes.items():
        if name in ("name", "skills", "active") and value is None:
            continue
        setattr(technician, name, value)
    technician.updated_at = clock.now()
    technician.version += 1
    session.add(technician)
    return technician


async def linked_to(session: AsyncSession, principal: Principal, store_id: str) -> Technician | None:
    """The technician record a caller works under in this store, if it is linked to one."""
    return await repository.by_any_principal(session, store_id, known_as(principal), principal.id)
