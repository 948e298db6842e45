"""The parts catalogue is reference data (data/parts.json), the same for every store; it is
read from there, never copied into a table that could drift from it."""
from services.common.errors import NotFound, ValidationFailed
from services.common.pagination import decode_cursor, encode_cursor
from services.common.reference import parts


def find(part_no: str) -> dict | None:
    return parts().get(part_no)


def get(part_no: str) -> dict:
    part = find(part_no)
    if part is None:
        raise NotFound(f"part {part_no} is not in the catalogue")
    return part


def require(part_no: str, field: str) -> dict:
    part = find(part_no)
    if part is None:
        raise ValidationFailed(field, f"{part_no} is not in the parts catalogue")
    return part


def name_of(part_no: str) -> str:
    part = find(part_no)
    return part["name"] if part else part_no


def page(
    *, limit: int, cursor: str | None, category: str | None = None, q: str | None = None
) -> tuple[list[dict], str | None]:
    """Catalogue order is part number order; the cursor is the last part number seen."""
    items = sorted(parts().values(), key=lambda p: p["part_no"])
    if category:
        items = [p for p in items if p["category"] == category]
    if q:
        needle = q.casefold()
        items = [p for p in items if needle in p["name"].casefold() or needle in p["part_no"].casefold()]
    if cursor:
        after = decode_cursor(cursor)
        items = [p for p in items if p["part_no"] > after]
    if len(items) > limit:
        items = items[:limit]
        return items, encode_cursor(items[-1]["part_no"])
    return items, None
