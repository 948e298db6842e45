from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from services.common.pagination import Page

# Every caller role of services.common.identity (tests/network/test_people_api.py checks they agree).
KeyRole = Literal["hq_admin", "hq_analyst", "region_manager", "store_manager", "service_manager", "service_advisor",
                  "technician", "parts_clerk", "crm_agent", "warranty_clerk", "cashier", "outlet_api"]


class ApiKeyCreate(BaseModel):
    role: KeyRole
    store_id: str | None = None
    label: str = Field(min_length=1, max_length=200)


class ApiKeyPublic(BaseModel):
    id: str
    role: str
    store_id: str | None
    label: str
    prefix: str
    created_by: str
    created_at: datetime
    revoked_at: datetime | None = None


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
    store_status: str | None = None
    reason: str | None = None
