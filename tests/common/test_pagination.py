"""Cursor pagination: `?limit=` (1..200, default 50) and an opaque `cursor`; newest first,
every row exactly once across pages; a cursor we did not issue is a 422, never a 500."""
from __future__ import annotations

import base64

import pytest

from services.common.pagination import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, encode_cursor
from tests.support.platform import identity

def advisor(store_id: str = "store-1") -> dict[str, str]:
    """Freshly signed headers: a signature made at import time would be stale a minute later."""
    return identity("service_advisor", store_id)


async def create(client, n: int, store_id: str = "store-1") -> list[str]:
    ids = []
    for i in range(n):
        response = await client.post("/v1/notes", json={"text": f"note {i}"}, headers=advisor(store_id))
        assert response.status_code == 201
        ids.append(response.json()["id"])
    return ids


async def all_pages(client, limit: int) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        params = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        response = await client.get("/v1/notes", params=params, headers=advisor())
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append([item["id"] for item in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 50, "pagination does not end"


async def test_pages_walk_every_row_once_newest_first(notes):
    ids = await create(notes, 7)

    pages = await all_pages(notes, limit=3)

    assert [len(p) for p in pages] == [3, 3, 1]
    assert [i for page in pages for i in page] == list(reversed(ids))


async def test_an_exact_multiple_of_the_limit_ends_without_an_empty_page(notes):
    await create(notes, 4)

    assert [len(p) for p in await all_pages(notes, limit=2)] == [2, 2]


async def test_rows_written_after_the_first_page_do_not_shift_the_following_pages(notes):
    ids = await create(notes, 4)
    first = (await notes.get("/v1/notes", params={"limit": 2}, headers=advisor())).json()

    await create(notes, 2)
    second = (await notes.get("/v1/notes", params={"limit": 2, "cursor": first["next_cursor"]}, headers=advisor())).json()

    assert [i["id"] for i in second["items"]] == list(reversed(ids))[2:]


async def test_the_default_page_is_50_and_another_stores_rows_are_not_listed(notes):
    await create(notes, DEFAULT_LIMIT + 1)
    await create(notes, 2, store_id="store-2")

    body = (await notes.get("/v1/notes", headers=advisor())).json()

    assert len(body["items"]) == DEFAULT_LIMIT and body["next_cursor"]
    assert {item["store_id"] for item in body["items"]} == {"store-1"}


@pytest.mark.parametrize("limit", [0, -1, MAX_LIMIT + 1, "ten"])
async def test_a_limit_outside_1_to_200_is_a_422_naming_it(notes, limit):
    response = await notes.get("/v1/notes", params={"limit": limit}, headers=advisor())

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["limit"]


FOREIGN_CURSORS = [
    "not a cursor!",
    "!!!",  # decodes leniently to nothing at all
    base64.urlsafe_b64encode(b"\x00\x00\x00").decode(),  # NUL bytes: PostgreSQL refuses them in text
    base64.urlsafe_b64encode(b"\xff\xfe").decode(),  # not UTF-8
    "zzzz",
]


async def test_a_cursor_we_did_not_issue_is_a_422_naming_it(notes):
    await create(notes, 2)

    for cursor in FOREIGN_CURSORS:
        response = await notes.get("/v1/notes", params={"limit": 1, "cursor": cursor}, headers=advisor())
        assert response.status_code == 422, f"{cursor!r}: {response.text}"
        assert [e["field"] for e in response.json()["errors"]] == ["cursor"]


def test_cursors_are_opaque_url_safe_and_round_trip():
    last_id = "0193c0de-7a1b-7c2d-8e3f-0123456789ab"
    cursor = encode_cursor(last_id)

    assert last_id not in cursor and "=" not in cursor
    assert cursor == base64.urlsafe_b64encode(last_id.encode()).decode().rstrip("=")
    assert decode_cursor(cursor) == last_id
