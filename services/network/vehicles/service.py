"""New-car intake: the PDI sheet a store fills in before delivery (data/pdi_checklist.json),
then the warranty registration at sale, once per VIN; a mistake in it is put right by a
correction with its reason, never by registering again. The registration is announced
(network.vehicle.registered) so CRM knows the buyer, the car and its home store before the
first visit, and the warranty cover of data/warranty_policy.json runs from its invoice date."""
from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from dateutil.relativedelta import relativedelta
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common import reference
from services.common.clock import Clock
from services.common.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from services.common.events.catalogue.network import Buyer, VehicleRegistered, VehicleRegistrationCorrected
from services.common.identity import Principal
from services.common.ids import new_id
from services.common.outbox import emit
from services.common.who import Who
from services.network.stores import service as stores
from services.network.stores.models import Store
from services.network.three_guarantees import service as three_guarantees
from services.network.vehicles import repository
from services.network.vehicles.models import PdiInspection, RegistrationCorrection, VehicleRegistration
from services.network.vehicles.schemas import (
    BuyerIn,
    CorrectionPublic,
    Cover,
    FirstMaintenance,
    PdiCreate,
    PdiDefect,
    PdiItemResult,
    PdiPublic,
    RegistrationCorrectionCreate,
    RegistrationCreate,
    RegistrationPublic,
    VehiclePublic,
)

_VIN = re.compile(r"^[A-HJ-NPR-Z0-9]{17}$")
# A sale is registered when it happens; a date further ahead than this is a typing mistake.
LATEST_AHEAD = timedelta(days=1)


def pdi_checklist() -> list[dict]:
    return reference.load("pdi_checklist")["items"]


def checked_vin(vin: str) -> str:
    vin = vin.strip().upper()
    if not _VIN.match(vin):
        raise ValidationFailed("vin", "17 characters, letters and digits, never I, O or Q")
    return vin


def _who(field: str, principal: Principal) -> dict[str, Any]:
    who = Who.of(principal)
    return {field: who.person_id, f"{field}_name": who.name, f"{field}_credential": who.credential}


async def _acting_store(session: AsyncSession, principal: Principal, store_id: str | None) -> Store:
    """A store acts for itself; HQ (or a group-wide sales system) names the store."""
    if principal.store_id:
        if store_id is not None and store_id != principal.store_id:
            raise ValidationFailed("store_id", "a store records its own new cars")
        store_id = principal.store_id
    if store_id is None:
        raise ValidationFailed("store_id", "name the store")
    try:
        return await stores.get_visible(session, principal, store_id)
    except NotFound as exc:
        raise ValidationFailed("store_id", "no such store") from exc


# --- PDI ------------------------------------------------------------------------------

def _check_sheet(data: PdiCreate) -> None:
    known = [item["code"] for item in pdi_checklist()]
    seen: set[str] = set()
    for index, item in enumerate(data.items):
        if item.code not in known:
            raise ValidationFailed(f"items.{index}.code", f"{item.code} is not on the PDI checklist")
        if item.code in seen:
            raise ValidationFailed(f"items.{index}.code", f"{item.code} is answered twice")
        seen.add(item.code)
    missing = [code for code in known if code not in seen]
    if missing:
        raise ValidationFailed("items", f"every checklist item is answered; missing: {', '.join(missing)}")
    for index, defect in enumerate(data.defects):
        if defect.item_code not in known:
            raise ValidationFailed(f"defects.{index}.item_code", f"{defect.item_code} is not on the PDI checklist")
    with_defect = {d.item_code for d in data.defects}
    for index, item in enumerate(data.items):
        if not item.ok and item.code not in with_defect:
            raise ValidationFailed(f"items.{index}.ok", f"{item.code} failed: describe its defect under defects")


async def record_pdi(session: AsyncSession, clock: Clock, principal: Principal, vin: str,
                     data: PdiCreate) -> PdiInspection:
    vin = checked_vin(vin)
    # The PDI is the last check before the handover: a car registered or serviced already is
    # no new car. Another store's such car is not this store's to know of.
    registration = await repository.registration(session, vin)
    serviced = await repository.serviced_at(session, vin)
    if registration is not None or serviced:
        owners = {registration.store_id} if registration else serviced
        if not any(principal.can_see_store(store_id) for store_id in owners):
            raise NotFound("vehicle not found")
        raise InvalidTransition("registered" if registration else "in service", "record a PDI sheet")
    store = await _acting_store(session, principal, data.store_id)
    _check_sheet(data)
    now = clock.now()
    if data.inspected_on > now.date() + LATEST_AHEAD:
        raise ValidationFailed("inspected_on", "is in the future")
    sheet = PdiInspection(
        id=new_id(), vin=vin, store_id=store.id, inspected_on=data.inspected_on,
        items=[item.model_dump() for item in data.items], defects=[d.model_dump() for d in data.defects],
        all_fixed=all(d.fixed for d in data.defects), recorded_at=now, **_who("recorded_by", principal),
    )
    session.add(sheet)
    await session.flush()
    return sheet


def pdi_public(sheet: PdiInspection) -> PdiPublic:
    return PdiPublic(
        id=sheet.id, vin=sheet.vin, store_id=sheet.store_id, inspected_on=sheet.inspected_on,
        items=[PdiItemResult.model_validate(i) for i in sheet.items],
        defects=[PdiDefect.model_validate(d) for d in sheet.defects], all_fixed=sheet.all_fixed,
        recorded_at=sheet.recorded_at, recorded_by=sheet.recorded_by, recorded_by_name=sheet.recorded_by_name,
        recorded_by_credential=sheet.recorded_by_credential,
    )


# --- registration ---------------------------------------------------------------------

def _check_dates(invoice_date: date, delivery_date: date, today: date) -> None:
    if invoice_date > today + LATEST_AHEAD:
        raise ValidationFailed("invoice_date", "is in the future")
    if delivery_date > today + LATEST_AHEAD:
        raise ValidationFailed("delivery_date", "is in the future")
    if delivery_date < invoice_date:
        raise ValidationFailed("delivery_date", "is before the invoice date: a car is invoiced, then handed over")


def first_maintenance(registration: VehicleRegistration) -> FirstMaintenance:
    first = reference.maintenance_policy()["first_maintenance"]
    return FirstMaintenance(due_on=registration.delivery_date + relativedelta(months=first["months"]),
                            due_km=first["km"], op_code=first["op_code"])


def warranty_cover(registration: VehicleRegistration) -> list[Cover]:
    start = registration.invoice_date
    return [
        Cover(name=term["name"], categories=term["categories"], valid_from=start,
              valid_to=start + relativedelta(months=term["months"]) - timedelta(days=1) if term["months"] else None,
              km_limit=term["km"])
        for term in reference.warranty_policy()["coverage"]
    ]


def _event_fields(registration: VehicleRegistration) -> dict[str, Any]:
    due = first_maintenance(registration)
    return dict(vin=registration.vin, store_id=registration.store_id,
                buyer=Buyer(name=registration.buyer_name, phone=registration.buyer_phone), model=registration.model,
                invoice_date=registration.invoice_date, delivery_date=registration.delivery_date,
                mileage_at_delivery_km=registration.mileage_at_delivery_km,
                first_maintenance_due_on=due.due_on, first_maintenance_due_km=due.due_km)


async def register(session: AsyncSession, clock: Clock, principal: Principal, vin: str,
                   data: RegistrationCreate) -> VehicleRegistration:
    store = await _acting_store(session, principal, data.store_id)
    now = clock.now()
    _check_dates(data.invoice_date, data.delivery_date, now.date())
    existing = await repository.registration(session, vin)
    if existing is not None:
        raise Conflict(f"{vin} was registered on {existing.registered_at.date()}; correct it instead",
                       registered_at=existing.registered_at.isoformat(), store_id=existing.store_id)
    registration = VehicleRegistration(
        vin=vin, store_id=store.id, buyer_name=data.buyer.name.strip(), buyer_phone=data.buyer.phone.strip(),
        model=data.model, invoice_date=data.invoice_date, delivery_date=data.delivery_date,
        mileage_at_delivery_km=data.mileage_at_delivery_km, registered_at=now, **_who("registered_by", principal),
    )
    session.add(registration)
    refused = Conflict(f"{vin} was registered at the same moment; correct it instead")
    try:
        await session.flush()
    except IntegrityError as exc:  # two registrations of one VIN at once: the primary key decides
        raise refused from exc
    await emit(session, VehicleRegistered(**_event_fields(registration), registered_at=now,
                                          **_who("registered_by", principal)),
               subject=registration.vin, store_id=registration.store_id, time=now)
    # The invoice date starts the Three Guarantees validity period: reception is told at once.
    await three_guarantees.refresh(session, clock, registration.vin, store_id=registration.store_id)
    return registration


async def _visible_registration(session: AsyncSession, principal: Principal, vin: str, *,
                                for_update: bool = False) -> VehicleRegistration:
    registration = await repository.registration(session, checked_vin(vin), for_update=for_update)
    if registration is None or not principal.can_see_store(registration.store_id):
        raise NotFound("no registration for this VIN")
    return registration


async def correct(session: AsyncSession, clock: Clock, principal: Principal, vin: str,
                  data: RegistrationCorrectionCreate) -> VehicleRegistration:
    """Only the selling store (or HQ) corrects its registration."""
    registration = await _visible_registration(session, principal, vin, for_update=True)
    asked = data.changes.model_dump(exclude_unset=True)
    if not asked:
        raise ValidationFailed("changes", "name at least one field to correct")
    current: dict[str, Any] = {
        "buyer": {"name": registration.buyer_name, "phone": registration.buyer_phone}, "model": registration.model,
        "invoice_date": registration.invoice_date, "delivery_date": registration.delivery_date,
        "mileage_at_delivery_km": registration.mileage_at_delivery_km,
    }
    for name, value in asked.items():
        if value is None and name != "model":
            raise ValidationFailed(f"changes.{name}", "may be corrected but not removed")
    if "buyer" in asked:
        asked["buyer"] = BuyerIn.model_validate(asked["buyer"]).model_dump()
        asked["buyer"] = {k: v.strip() for k, v in asked["buyer"].items()}
    changes = {name: {"from": current[name], "to": value} for name, value in asked.items() if value != current[name]}
    if not changes:
        raise ValidationFailed("changes", "nothing differs from the registration as it stands")
    now = clock.now()
    wanted = {**current, **asked}
    _check_dates(wanted["invoice_date"], wanted["delivery_date"], now.date())
    registration.buyer_name, registration.buyer_phone = wanted["buyer"]["name"], wanted["buyer"]["phone"]
    registration.model = wanted["model"]
    registration.invoice_date, registration.delivery_date = wanted["invoice_date"], wanted["delivery_date"]
    registration.mileage_at_delivery_km = wanted["mileage_at_delivery_km"]
    registration.corrected_at = now
    registration.version += 1
    session.add(registration)
    stored = {name: {"from": _plain(c["from"]), "to": _plain(c["to"])} for name, c in changes.items()}
    session.add(RegistrationCorrection(id=new_id(), vin=registration.vin, changes=stored, reason=data.reason,
                                       corrected_at=now, **_who("corrected_by", principal)))
    await session.flush()
    await emit(session, VehicleRegistrationCorrected(**_event_fields(registration), changes=stored,
                                                     reason=data.reason, corrected_at=now,
                                                     **_who("corrected_by", principal)),
               subject=registration.vin, store_id=registration.store_id, time=now)
    if "invoice_date" in changes:  # of the registration, only the invoice date moves the 三包 figures
        await three_guarantees.refresh(session, clock, registration.vin, store_id=registration.store_id)
    return registration


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


# --- reading --------------------------------------------------------------------------

async def registration_public(session: AsyncSession, principal: Principal,
                              registration: VehicleRegistration) -> RegistrationPublic:
    own = principal.can_see_store(registration.store_id)
    corrections = await repository.corrections(session, registration.vin) if own else []
    return RegistrationPublic(
        vin=registration.vin, store_id=registration.store_id,
        # The buyer is the selling store's customer; another store servicing the car sees its cover only.
        buyer=BuyerIn(name=registration.buyer_name, phone=registration.buyer_phone) if own else None,
        model=registration.model, invoice_date=registration.invoice_date,
        delivery_date=registration.delivery_date, mileage_at_delivery_km=registration.mileage_at_delivery_km,
        registered_at=registration.registered_at, registered_by=registration.registered_by,
        registered_by_name=registration.registered_by_name,
        registered_by_credential=registration.registered_by_credential, corrected_at=registration.corrected_at,
        corrections=[CorrectionPublic(id=c.id, changes=c.changes, reason=c.reason, corrected_at=c.corrected_at,
                                      corrected_by=c.corrected_by, corrected_by_name=c.corrected_by_name,
                                      corrected_by_credential=c.corrected_by_credential) for c in corrections],
        version=registration.version,
    )


async def vehicle(session: AsyncSession, principal: Principal, vin: str) -> VehiclePublic:
    """What network knows of a VIN. Warranty follows the car, so any store that may service
    it sees its cover; the buyer and the PDI sheets stay with the store that sold it."""
    vin = checked_vin(vin)
    registration = await repository.registration(session, vin)
    sheets = [s for s in await repository.pdi_sheets(session, vin) if principal.can_see_store(s.store_id)]
    if registration is None and not sheets:
        raise NotFound("network knows nothing of this VIN")
    return VehiclePublic(
        vin=vin, registered=registration is not None,
        registration=await registration_public(session, principal, registration) if registration else None,
        pdi=[pdi_public(s) for s in sheets],
        warranty=warranty_cover(registration) if registration else [],
        first_maintenance=first_maintenance(registration) if registration else None,
    )
