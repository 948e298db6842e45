from typing import Literal

from pydantic import BaseModel, Field

AccessoryCategory = Literal["interior", "film", "electronics", "exterior", "care", "safety"]


class AccessoryPublic(BaseModel):
    code: str
    name_zh: str
    name_en: str
    category: AccessoryCategory
    price_fen: int = Field(description="the customer price before VAT, per unit")
    cost_fen: int = Field(description="what the store pays its supplier, per unit")


class AccessoryList(BaseModel):
    items: list[AccessoryPublic]
