"""Optimistic concurrency for updates: `If-Match: <version>` (a bare number or an ETag
like "3" / W/"3"); a stale version is 412. Without the header the update goes ahead."""
from typing import Annotated

from fastapi import Header

from services.common.errors import StaleVersion, ValidationFailed

IfMatch = Annotated[str | None, Header(alias="If-Match", description="the version you read; stale → 412")]


def check_version(current: int, if_match: str | None) -> None:
    if if_match is None or if_match.strip() == "*":
        return
    text = if_match.strip().removeprefix("W/").strip('"')
    try:
        expected = int(text)
    except ValueError as exc:
        raise ValidationFailed("If-Match", "must be the object's version number") from exc
    if expected != current:
        raise StaleVersion(current)
