"""Who did something, as a who-field answers it: the person, their name, and the key or
sign-in they used.

The principal's id is the person whenever a person acts (signed in, or with a key issued
to them); a machine's key that is issued to nobody acts as itself, so its id is the key's
and its credential is that same key. Rows keep the three apart in columns (`<field>`,
`<field>_name`, `<field>_credential`) so that the id stays comparable for four-eyes rules
and old rows, written before the credential was kept, still read."""
from __future__ import annotations

from pydantic import BaseModel, Field

from services.common.identity import Principal


class Who(BaseModel):
    person_id: str = Field(description="the staff directory's person; for a machine's own key (issued to nobody), "
                                       "the key's id")
    name: str = Field(description="the person's name (or the key's label) when it was done")
    credential: str | None = Field(default=None, description='what they came with: "key:<key id>" or '
                                                             '"token:<sign-in>"; null where it was not recorded')

    @classmethod
    def of(cls, principal: Principal) -> Who:
        return cls(person_id=principal.id, name=principal.name or principal.id, credential=principal.credential or None)

    @classmethod
    def stored(cls, person_id: str, name: str | None, credential: str | None) -> Who:
        """From a row's columns; a row from before names were kept shows the id as the name."""
        return cls(person_id=person_id, name=name or person_id, credential=credential or None)


def known_as(principal: Principal) -> frozenset[str]:
    """The ids a record may know the caller by: the person, and the key they came with. A
    roster linked to a key before keys acted as their people still recognises the key's
    holder, so a rule such as "nobody checks their own work" cannot be side-stepped by the
    key now answering to its person's id."""
    ids = {principal.id}
    if principal.credential.startswith("key:"):
        ids.add(principal.credential.removeprefix("key:"))
    return frozenset(ids)
