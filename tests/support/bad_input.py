"""Table-driven bad input: a request that sends one wrong thing, and the field its problem
must name. `refused_all` sends each and says what came back otherwise, so one assertion
shows every case that let bad input through, a 500 among them."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.common.errors import PROBLEM_JSON
from tests.support.platform import Caller


@dataclass
class Case:
    """One bad request and the field its problem must name (None: a 404 for a path id)."""

    label: str
    method: str
    url: str
    body: Any = None
    field: str | None = None
    status: int = 422


async def send(caller: Caller, case: Case):
    return await caller.client.request(case.method, case.url, json=case.body, headers=caller._headers(None))


async def refused_all(caller: Caller, cases: list[Case]) -> list[str]:
    """What went wrong with each case: empty when every one was refused as it should be."""
    wrong = []
    for case in cases:
        r = await send(caller, case)
        problem = r.json() if r.headers.get("content-type", "").startswith(PROBLEM_JSON) else None
        fields = [e["field"] for e in (problem or {}).get("errors") or []]
        if r.status_code != case.status or problem is None or (case.field is not None and case.field not in fields):
            wrong.append(f"{case.label}: {case.method} {case.url} -> {r.status_code} {r.text[:300]}")
    return wrong


async def snapshot(caller: Caller, *urls: str) -> list[Any]:
    """What each read answers, to compare before and after the bad requests."""
    answers = [await caller.get(url) for url in urls]
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    return [a.json() for a in answers]
