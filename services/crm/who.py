"""A who-field's three columns (`<field>`, `<field>_name`, `<field>_credential`) for a row
CRM writes, from the person who acted (`services.common.who.Who`)."""
from __future__ import annotations

from typing import Any

from services.common.identity import Principal
from services.common.who import Who


def columns(field: str, who: Who | Principal) -> dict[str, Any]:
    """The row's keyword arguments: the person (or a machine's own key), their name then, and
    the key or sign-in they used."""
    person = who if isinstance(who, Who) else Who.of(who)
    return {field: person.person_id, f"{field}_name": person.name, f"{field}_credential": person.credential}
