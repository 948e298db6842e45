from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from services.common.inputs import MAX_LINE_FEN
from services.reception.shared.schemas import Actor, Input


class StoreSettingsUpdate(Input):
    high_value_sign_off: bool = Field(
        default=True, description="false: no order of this store waits for the manager's sign-off")
    high_value_threshold_fen: int | None = Field(
        default=None, ge=1, le=MAX_LINE_FEN, strict=True,
        description="an estimate (every payer, VAT included) reaching this needs the service manager's sign-off; "
                    "null: the group's default")


class StoreSettingsPublic(BaseModel):
    store_id: str
    high_value_sign_off: bool
    high_value_threshold_fen: int = Field(description="the threshold in force, the store's own or the default")
    source: Literal["default", "store"]
    sign_off_margin_percent: str = Field(description="how much a signed-off estimate may grow before it is "
                                                     "signed again, percent of what was signed")
    updated_at: datetime | None = None
    updated_by: Actor | None = None
    version: int = 0
