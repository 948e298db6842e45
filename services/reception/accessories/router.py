from typing import Annotated

from fastapi import APIRouter, Query

from services.common.api import TransactionalRoute
from services.reception.accessories import service
from services.reception.accessories.schemas import AccessoryCategory, AccessoryList
from services.reception.shared.router import Caller

router = APIRouter(prefix="/v1/accessories", tags=["accessories"], route_class=TransactionalRoute)


@router.get("", response_model=AccessoryList)
async def list_accessories(_: Caller, category: Annotated[AccessoryCategory | None, Query()] = None,
                           q: Annotated[str | None, Query(max_length=100,
                                                          description="code or name contains")] = None):
    """精品附件目录 The accessory catalogue: code, Chinese and English name, price and cost in fen."""
    return service.catalogue(category, q)
