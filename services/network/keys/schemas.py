from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from services.common.pagination import Page
from services.common.who import Who

# Every caller role of services.common.identity (tests/network/test_people_api.py checks they agree).
KeyRole = Literal["hq_admin", "hq_analyst", "region_manager", "store_manager", "service_manager", "service_advisor",
                  "technician", "parts_clerk", "crm_agent", "warranty_clerk", "cashier", "outlet_api"]


class ApiKeyCreate(BaseModel):
    role: KeyRole
    store_id: str | None = None
    label: str = Field(min_length=1, max_length=200)
    person_id: str | None = Field(default=None, min_length=1, max_length=64, description=(
        "the staff directory's person the key is issued to (active; for a store key, assigned to that store); "
        "the key then acts as that person. Left out for a machine's key, which acts as itself"))


class KeyPerson(BaseModel):
    person_id: str
    name: str


class ApiKeyPublic(BaseModel):
    id: str
    role: str
    store_id: str | None
    label: str
    prefix: str
    person_id: str | None = None
    person: KeyPerson | None = Field(default=None, description="the person the key is issued to, if any")
    created_by: Who
    created_at: datetime
    revoked_at: datetime | None = None
    revoked_by: Who | None = None
    revoked_reason: str | None = None


class ApiKeyIssued(ApiKeyPublic):
    key: str = Field(description="the token; shown this once, only its hash is kept")


ApiKeyList = Page[ApiKeyPublic]


class IntrospectRequest(BaseModel):
    key: str = Field(min_length=1, max_length=200)


class IntrospectResult(BaseModel):
    active: bool
    id: str | None = None
    role: str | None = None
    store_id: str | None = None
    name: str | None = None
    person_id: str | None = None
    person_name: str | None = None
    store_status: str | None = None
    reason: str | None = None
