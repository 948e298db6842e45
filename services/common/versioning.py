"""Optimistic concurrency, written once: an update names the version it read, in
`If-Match` (a bare number or an ETag like "3" / W/"3") or in the body's `version`; a
stale one is 412 and changes nothing."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header

from .errors import DomainError, StaleVersion, ValidationFailed
from .inputs import MAX_VERSION


class PreconditionRequired(DomainError):
    status, type, title = 428, "precondition-required", "Precondition required: send the version you read"


def etag(version: int) -> str:
    return f'"{version}"'


def parse_if_match(value: str | None) -> int | None:
    """The version an If-Match names; None when absent or `*`."""
    if value is None or value.strip() == "*":
        return None
    raw = value.strip().removeprefix("W/").strip('"')
    if not raw.isascii() or not raw.isdigit() or len(raw) > 10 or int(raw) > MAX_VERSION:
        raise ValidationFailed("If-Match", 'must be the version read, e.g. "3"')
    return int(raw)


_IF_MATCH_HEADER = Header(alias="If-Match", description='the version read, e.g. "3"; stale → 412')


def _if_match(if_match: Annotated[str | None, _IF_MATCH_HEADER] = None) -> int | None:
    return parse_if_match(if_match)


IfMatch = Annotated[int | None, Depends(_if_match)]


def expected_version(header: int | None, body_version: int | None, *, required: bool = False) -> int | None:
    """One version from If-Match and/or the body; both given must agree."""
    if header is not None and body_version is not None and header != body_version:
        raise ValidationFailed("version", "If-Match and the body's version disagree")
    version = header if header is not None else body_version
    if version is None and required:
        raise PreconditionRequired("send If-Match or the body's version")
    return version


def check_version(current: int, expected: int | None) -> None:
    if expected is not None and expected != current:
        raise StaleVersion(current)
