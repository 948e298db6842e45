"""Idempotency-Key for creates: the first response is stored with the write, in the
same transaction; a retry with the same key and body gets that response and writes
nothing; the same key with another body is 422."""
from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from sqlalchemy.dialects.postgresql import insert
from sqlmodel.ext.asyncio.session import AsyncSession

from .db import table_of
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


async def answered_meanwhile(session: AsyncSession, scope: str, key: str,
                             fingerprint: str) -> IdempotencyRecord | None:
    """The answer another delivery of this key committed while this one ran, if any; the caller
    rolls this session back. A retry that arrives while the first delivery is still committing
    (a gateway or a replica died mid-call, the client sent it again) looked the key up too early
    and then read the state the first one wrote: its 409 ("cannot deliver while delivered") is
    not the answer. Inserting the key waits for the other transaction holding it to end, and a
    conflict then means it committed."""
    table = table_of(IdempotencyRecord)
    claimed = await (await session.connection()).execute(
        insert(table).values(scope=scope, key=key, request_hash=fingerprint, method="", path="", status_code=0,
                             response_body="", response_headers={}, created_at=datetime.now(UTC))
        .on_conflict_do_nothing().returning(table.c.key))
    if claimed.first() is not None:
        return None  # no other delivery holds the key: this one's answer stands
    return await lookup(session, scope, key, fingerprint)


def remember(session: AsyncSession, scope: str, key: str, fingerprint: str, method: str, path: str,
             status_code: int, body: bytes | memoryview, headers: dict[str, str]) -> None:
    session.add(
        IdempotencyRecord(
            scope=scope, key=key, request_hash=fingerprint, method=method, path=path,
            status_code=status_code, response_body=str(body, "utf-8"), response_headers=headers,
            created_at=datetime.now(UTC),
        )
    )
