"""Dependencies the workshop's routers share."""
from typing import Annotated

from fastapi import Depends, Request

from services.workshop.settings import WorkshopSettings


def _settings(request: Request) -> WorkshopSettings:
    return request.app.state.settings


SettingsDep = Annotated[WorkshopSettings, Depends(_settings)]
