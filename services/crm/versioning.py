"""Optimistic concurrency: an update names the version it read, in `If-Match` or the
body's `version`; a stale one is 412 and changes nothing."""
from __future__ import annotations

from services.common.errors import DomainError, StaleVersion, ValidationFailed


class PreconditionRequired(DomainError):
    status, type, title = 428, "precondition-required", "Precondition required: send the version you read"


def etag(version: int) -> str:
    return f'"{version}"'


def parse_if_match(value: str | None) -> int | None:
    if value is None:
        return None
    raw = value.strip()
    if raw.startswith("W/"):
        raw = raw[2:]
    raw = raw.strip('"')
    if not raw.isdigit():
        raise ValidationFailed("If-Match", "expected the object's version, e.g. \"3\"")
    return int(raw)


def expected_version(if_match: str | None, body_version: int | None, *, required: bool) -> int | None:
    header = parse_if_match(if_match)
    if header is not None and body_version is not None and header != body_version:
        raise ValidationFailed("version", "If-Match and the body's version disagree")
    version = header if header is not None else body_version
    if version is None and required:
        raise PreconditionRequired("send If-Match or the body's version")
    return version


def check_version(current: int, expected: int | None) -> None:
    if expected is not None and expected != current:
        raise StaleVersion(current)
