"""Dependencies every reception router uses (no routes of its own)."""
from typing import Annotated

from fastapi import Depends, Header, Request, Response

from services.common.api import require_access
from services.common.errors import ValidationFailed
from services.common.identity import Principal
from services.reception.settings import ReceptionSettings

# The permission matrix's "reception" row: GET for readers, writes for writers.
Caller = Annotated[Principal, Depends(require_access("reception"))]


def _settings(request: Request) -> ReceptionSettings:
    return request.app.state.settings


SettingsDep = Annotated[ReceptionSettings, Depends(_settings)]


def _if_match(if_match: Annotated[str | None, Header(alias="If-Match", description='the version read, e.g. "3"')] = None) -> int | None:
    if if_match is None or if_match.strip() == "*":
        return None
    raw = if_match.strip().removeprefix("W/").strip('"')
    if not raw.isdigit():
        raise ValidationFailed("If-Match", 'must be the version read, e.g. "3"')
    return int(raw)


IfMatch = Annotated[int | None, Depends(_if_match)]


def tag(response: Response, version: int, location: str | None = None) -> None:
    """ETag for If-Match, and for a create a Location relative to the collection's URL,
    so it resolves right both on the service (/v1/...) and behind the gateway (/api/reception/v1/...)."""
    response.headers["ETag"] = f'"{version}"'
    if location:
        response.headers["Location"] = location
