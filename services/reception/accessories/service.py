"""The accessory catalogue is reference data, the same for every store; it is read from
data/accessories.json, never copied into a table that could drift from it."""
from services.common.errors import ValidationFailed
from services.common.reference import accessories
from services.reception.accessories.schemas import AccessoryCategory, AccessoryList, AccessoryPublic


def require(code: str, field: str) -> dict:
    """The catalogue's item, or a 422 naming the field that gave the code."""
    item = accessories().get(code)
    if item is None:
        raise ValidationFailed(field, f"精品目录中没有 {code} {code} is not in the accessory catalogue")
    return item


def catalogue(category: AccessoryCategory | None = None, q: str | None = None) -> AccessoryList:
    """In code order; `q` matches the code or either name."""
    items = sorted(accessories().values(), key=lambda a: a["code"])
    if category:
        items = [a for a in items if a["category"] == category]
    if q:
        needle = q.casefold()
        items = [a for a in items
                 if needle in a["code"].casefold() or needle in a["name_zh"] or needle in a["name_en"].casefold()]
    return AccessoryList(items=[AccessoryPublic(**a) for a in items])
