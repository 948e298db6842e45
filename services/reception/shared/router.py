"""Dependencies every reception router uses (no routes of its own)."""
from typing import Annotated

from fastapi import Depends, Path, Query, Request, Response

from services.common.api import require_access, require_roles
from services.common.errors import Conflict, Forbidden, NotFound, StaleVersion, ValidationFailed, problem_responses
from services.common.identity import Principal
from services.common.versioning import IfMatch, etag  # noqa: F401  (re-exported to the routers)
from services.reception.settings import ReceptionSettings

# Ids are what we issue (UUIDs) and what network issues; anything else cannot name an object,
# and a NUL byte would otherwise reach PostgreSQL as an error instead of a 4xx.
ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"
AppointmentId = Annotated[str, Path(pattern=ID_PATTERN)]
RepairOrderId = Annotated[str, Path(pattern=ID_PATTERN)]
LineId = Annotated[str, Path(pattern=ID_PATTERN)]
RoadsideId = Annotated[str, Path(pattern=ID_PATTERN)]
StoreQuery = Annotated[
    str | None, Query(pattern=ID_PATTERN, description="HQ callers name the store (lists: narrow to it)")
]
IdQuery = Annotated[str | None, Query(pattern=ID_PATTERN)]
VinQuery = Annotated[str | None, Query(pattern=r"^[A-Za-z0-9]{1,17}$", description="VIN (any case)")]
NumberQuery = Annotated[str | None, Query(pattern=r"^[A-Za-z0-9-]{1,64}$", description="repair order number")]

# The permission matrix's "reception" row: GET for readers, writes for writers.
Caller = Annotated[Principal, Depends(require_access("reception"))]
# What only the store's managers decide (accounts, credit, prices); HQ's for any store.
Manager = Annotated[Principal, Depends(require_roles("hq_admin", "store_manager", "service_manager"))]
WRITE_PROBLEMS = problem_responses(NotFound, StaleVersion, ValidationFailed, Forbidden, Conflict)


def _settings(request: Request) -> ReceptionSettings:
    return request.app.state.settings


SettingsDep = Annotated[ReceptionSettings, Depends(_settings)]




def tag(response: Response, version: int, location: str | None = None) -> None:
    """ETag for If-Match, and for a create a Location relative to the collection's URL,
    so it resolves right both on the service (/v1/...) and behind the gateway (/api/reception/v1/...)."""
    response.headers["ETag"] = etag(version)
    if location:
        response.headers["Location"] = location
