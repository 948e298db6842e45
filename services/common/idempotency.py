"""Idempotency-Key for creates: the first response is stored with the write, in the
same transaction; a retry with the same key and body gets that response and writes
nothing; the same key with another body is 422."""
from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from .errors import ValidationFailed
from .tables import IdempotencyRecord

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode() if body else b""
    except (ValueError, RecursionError):
        # Not JSON, or nested deeper than the parser goes: the bytes as sent are the request.
        canonical = body
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + canonical).hexdigest()


def check_key(key: str) -> str:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise ValidationFailed(HEADER, f"must be 1..{MAX_KEY_LENGTH} printable characters")
    return key


async def lookup(session: AsyncSession, scope: str, key: str, fingerprint: str) -> IdempotencyRecord | None:
    record = await session.get(IdempotencyRecord, (scope, key))
    if record is not None and record.request_hash != fingerprint:
        raise ValidationFailed(HEADER, "this key was already used with a different request")
    return record


def remember(session: AsyncSession, scope: str, key: str, fingerprint: str, method: str, path: str,
             status_code: int, body: bytes | memoryview, headers: dict[str, str]) -> None:
    session.add(
        IdempotencyRecord(
            scope=scope, key=key, request_hash=fingerprint, method=method, path=path,
            status_code=status_code, response_body=str(body, "utf-8"), response_headers=headers,
            created_at=datetime.now(UTC),
        )
    )
