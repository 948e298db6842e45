"""What a service's own copy of network's staff directory holds of a person, and the rule
for naming a person in a store's object (a technician's person, a complaint's owner).

The copy is a row per person in the service's own database, kept from network's person
events (each carries the whole person, so the latest event alone says how they stand);
an id the copy does not name is a machine's key, or a person not heard of yet, and is
let through as before the staff directory."""
from __future__ import annotations

from datetime import datetime
from typing import Protocol

from .events.catalogue.network import PersonAssignmentsChanged, PersonLeft, PersonRegistered

PersonEvent = PersonRegistered | PersonAssignmentsChanged | PersonLeft
PERSON_EVENTS = ("network.person.registered", "network.person.assignments_changed", "network.person.left")


class KeptPerson(Protocol):
    status: str
    store_ids: list[str]
    updated_at: datetime


def take_person_event(person: KeptPerson, event: PersonEvent, at: datetime) -> bool:
    """Bring the copy to what the event says; False, changing nothing, when the copy is newer
    (an older event arriving late must not undo a newer state)."""
    if person.updated_at > at:
        return False
    person.status, person.updated_at = event.status, at
    person.store_ids = sorted({a.store_id for a in event.assignments})
    return True


def refusal(person: KeptPerson | None, store_id: str, *, head_office: bool = False) -> str | None:
    """Why this person may not be named in an object of this store, or None. `head_office`:
    HQ staff (a person with an HQ role) may be named in any store's."""
    if person is None:
        return None
    if person.status != "active":
        return "that person has left"
    if store_id in person.store_ids or (head_office and getattr(person, "hq_role", None)):
        return None
    return "that person does not work in this store"
