"""Idempotency-Key on creates, through a FastAPI app using TransactionalRoute: a retry
with the same key and body replays the first answer and writes nothing; the same key
with another body is 422; concurrent retries write once."""
from __future__ import annotations

import asyncio

import pytest
from sqlmodel import func, select

from services.common.errors import PROBLEM_BASE
from services.common.tables import IdempotencyRecord
from tests.common.notes_app import Gate
from tests.common.probe import Note
from tests.support.platform import identity

def advisor(store_id: str = "store-1") -> dict[str, str]:
    """Freshly signed headers: a signature made at import time would be stale a minute later."""
    return identity("service_advisor", store_id)
KEY = "2f6c1e0a-7d4b-4e59-9a53-1a0c3b8e7d21"


async def count(client, model) -> int:
    async with client.app.state.db.transaction() as session:
        return (await session.exec(select(func.count()).select_from(model))).one()


async def test_the_same_key_and_body_write_once_and_replay_the_first_answer(notes):
    headers = {**advisor(), "Idempotency-Key": KEY}

    first = await notes.post("/v1/notes", json={"text": "customer called"}, headers=headers)
    retry = await notes.post("/v1/notes", json={"text": "customer called"}, headers=headers)

    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert retry.headers["Location"] == first.headers["Location"] == f"/v1/notes/{first.json()['id']}"
    assert "Idempotent-Replayed" not in first.headers
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert await count(notes, Note) == 1


async def test_the_same_body_with_keys_in_another_order_is_the_same_request(notes):
    headers = {**advisor(), "Idempotency-Key": KEY}

    first = await notes.post("/v1/errors/orders", json={"lines": [{"quantity": 2}]}, headers=headers)
    retry = await notes.post("/v1/errors/orders", content=b'{ "lines" : [ {"quantity":2} ] }',
                             headers={**headers, "content-type": "application/json"})

    assert retry.status_code == 201 and retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()


async def test_the_same_key_with_another_body_is_422_and_writes_nothing(notes):
    headers = {**advisor(), "Idempotency-Key": KEY}
    assert (await notes.post("/v1/notes", json={"text": "customer called"}, headers=headers)).status_code == 201

    reused = await notes.post("/v1/notes", json={"text": "something else"}, headers=headers)

    assert reused.status_code == 422
    body = reused.json()
    assert body["type"] == PROBLEM_BASE + "validation"
    assert [e["field"] for e in body["errors"]] == ["Idempotency-Key"]
    assert await count(notes, Note) == 1


async def test_the_same_key_for_another_route_is_refused_too(notes):
    headers = {**advisor(), "Idempotency-Key": KEY}
    assert (await notes.post("/v1/notes", json={"text": "a"}, headers=headers)).status_code == 201

    reused = await notes.post("/v1/errors/orders", json={"lines": [{"quantity": 1}]}, headers=headers)

    assert reused.status_code == 422
    assert [e["field"] for e in reused.json()["errors"]] == ["Idempotency-Key"]


async def test_keys_belong_to_their_caller(notes):
    """Two stores' apps may well generate the same key; neither sees the other's answer."""
    other = identity("service_advisor", "store-2")

    mine = await notes.post("/v1/notes", json={"text": "x"}, headers={**advisor(), "Idempotency-Key": KEY})
    theirs = await notes.post("/v1/notes", json={"text": "x"}, headers={**other, "Idempotency-Key": KEY})

    assert mine.status_code == theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs.headers
    assert theirs.json()["store_id"] == "store-2" and theirs.json()["id"] != mine.json()["id"]
    assert await count(notes, Note) == 2


async def test_a_failed_request_is_not_remembered_so_its_corrected_retry_goes_through(notes):
    headers = {**advisor(), "Idempotency-Key": KEY}

    assert (await notes.post("/v1/notes", json={"text": ""}, headers=headers)).status_code == 422
    corrected = await notes.post("/v1/notes", json={"text": "now with text"}, headers=headers)

    assert corrected.status_code == 201 and "Idempotent-Replayed" not in corrected.headers
    assert await count(notes, Note) == 1 and await count(notes, IdempotencyRecord) == 1


async def test_without_a_key_every_post_is_a_new_write(notes):
    for _ in range(2):
        assert (await notes.post("/v1/notes", json={"text": "x"}, headers=advisor())).status_code == 201

    assert await count(notes, Note) == 2 and await count(notes, IdempotencyRecord) == 0


@pytest.mark.parametrize("key", ["", "k" * 256, "tab\there"])
async def test_an_unusable_key_is_422_naming_the_header(notes, key):
    response = await notes.post("/v1/notes", json={"text": "x"}, headers={**advisor(), "Idempotency-Key": key})

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["Idempotency-Key"]
    assert await count(notes, Note) == 0


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_on_postgresql_concurrent_retries_with_one_key_write_once(notes):
    """A shaky network: the app retries before the first attempt has answered. Both requests
    are held inside the handler together, so both have already looked the key up."""
    notes.app.state.gate = Gate(expected=2)
    headers = {**advisor(), "Idempotency-Key": KEY}

    answers = await asyncio.gather(*(notes.post("/v1/notes", json={"text": "tow truck booked"}, headers=headers)
                                     for _ in range(2)))

    assert notes.app.state.gate.entered == 2, "the two requests did not overlap"
    assert [a.status_code for a in answers] == [201, 201]
    assert answers[0].json() == answers[1].json()
    assert sorted(a.headers.get("Idempotent-Replayed", "no") for a in answers) == ["no", "true"]
    assert await count(notes, Note) == 1 and await count(notes, IdempotencyRecord) == 1


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_on_postgresql_a_retry_refused_by_what_the_first_delivery_wrote_replays_its_answer(notes):
    """The retry looked its key up before the first delivery committed, then found the note the
    first one wrote and refused (409): the client gets the first delivery's answer, not the
    refusal and not a 500 (the record was read after its session rolled back, once)."""
    notes.app.state.gate = Gate(expected=2)
    headers = {**advisor(), "Idempotency-Key": KEY}

    answers = await asyncio.gather(*(notes.post("/v1/notes/once", json={"text": "courtesy car lent"},
                                                headers=headers) for _ in range(2)))

    assert notes.app.state.gate.entered == 2, "the two requests did not overlap"
    assert [a.status_code for a in answers] == [201, 201], [a.text for a in answers]
    assert answers[0].json() == answers[1].json()
    assert sorted(a.headers.get("Idempotent-Replayed", "no") for a in answers) == ["no", "true"]
    assert await count(notes, Note) == 1 and await count(notes, IdempotencyRecord) == 1
