"""Cursor pagination over time-ordered ids: newest first, opaque cursors."""
from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy.sql import Select

from .errors import ValidationFailed

T = TypeVar("T")
DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def encode_cursor(last_id: str) -> str:
    return base64.urlsafe_b64encode(last_id.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    # Strict: a lenient decode turns junk into "" or NUL bytes, i.e. a silent empty page or
    # a 500 from PostgreSQL, instead of telling the caller their cursor is wrong.
    try:
        value = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True).decode()
    except Exception as exc:
        raise ValidationFailed("cursor", "not a cursor this API issued") from exc
    if not value or not value.isprintable():
        raise ValidationFailed("cursor", "not a cursor this API issued")
    return value


async def paginate(
    session, stmt: Select, id_column, limit: int, cursor: str | None
) -> tuple[Sequence[Any], str | None]:
    """Run `stmt` newest first, one page of `limit` rows after `cursor`."""
    if cursor:
        stmt = stmt.where(id_column < decode_cursor(cursor))
    rows = (await session.exec(stmt.order_by(id_column.desc()).limit(limit + 1))).all()
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        return rows, encode_cursor(getattr(last, id_column.key))
    return rows, None
