"""A small FastAPI app built the way services are (TransactionalRoute, the common error
handlers, signed identity, cursor pagination) over the probe's `probe_notes` table: what
the HTTP tests of the common package talk to."""
from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from typing import Annotated

from fastapi import APIRouter, FastAPI, Query, Request, Response
from pydantic import BaseModel, Field
from sqlmodel import select

from services.common.api import (
    ClockDep, CursorQuery, LimitQuery, PrincipalDep, RequestContextMiddleware, SessionDep, TransactionalRoute,
)
from services.common.clock import ManualClock
from services.common.db import Database
from services.common.errors import (
    Conflict, Forbidden, InvalidTransition, NotFound, StaleVersion, TooManyRequests, Unauthorized, ValidationFailed,
    install_error_handlers, problem_responses,
)
from services.common.ids import new_id
from services.common.pagination import Page, paginate
from tests.common.probe import Note, ProbeSettings

SECRET_IN_ERROR = "password=hunter2"


class NoteCreate(BaseModel):
    text: str = Field(min_length=1, max_length=200)


class Line(BaseModel):
    quantity: int = Field(ge=1)


class Order(BaseModel):
    lines: list[Line] = Field(min_length=1)


class NotePublic(BaseModel):
    id: str
    store_id: str
    text: str
    created_at: datetime


class Gate:
    """Holds requests inside the handler until `expected` of them are in (or a timeout), so
    that concurrent requests really overlap; a server that serialises them is not stuck."""

    def __init__(self, expected: int, timeout: float = 3.0) -> None:
        self.expected, self.timeout, self.entered = expected, timeout, 0
        self._all_in = asyncio.Event()

    async def pass_through(self) -> None:
        self.entered += 1
        if self.entered >= self.expected:
            self._all_in.set()
        try:
            await asyncio.wait_for(self._all_in.wait(), self.timeout)
        except asyncio.TimeoutError:
            pass


router = APIRouter(prefix="/v1/notes", route_class=TransactionalRoute)
errors = APIRouter(prefix="/v1/errors", route_class=TransactionalRoute)


def _write_note(session, clock, principal, text: str) -> Note:
    note = Note(id=new_id(), store_id=principal.store_id or "hq", text=text, created_at=clock.now())
    session.add(note)
    return note


@router.post("", status_code=201, response_model=NotePublic)
async def create_note(body: NoteCreate, session: SessionDep, clock: ClockDep, principal: PrincipalDep,
                      request: Request, response: Response):
    gate: Gate | None = request.app.state.gate
    if gate is not None:
        await gate.pass_through()
    note = _write_note(session, clock, principal, body.text)
    response.headers["Location"] = f"/v1/notes/{note.id}"
    return NotePublic.model_validate(note, from_attributes=True)


@router.post("/once", status_code=201, response_model=NotePublic, responses=problem_responses(Conflict))
async def create_note_once(body: NoteCreate, session: SessionDep, clock: ClockDep, principal: PrincipalDep,
                           request: Request, response: Response):
    """A text written once; again is 409. Under a gate, the second request in waits until the
    first has committed before it looks: a retry that looked its key up while the first
    delivery was still committing, then read the state that delivery wrote."""
    gate: Gate | None = request.app.state.gate
    second = False
    if gate is not None:
        second = gate.entered >= 1
        await gate.pass_through()
    if second:
        await _until_committed(request.app.state.db, body.text)
    if (await session.exec(select(Note).where(Note.text == body.text))).first() is not None:
        raise Conflict("this note is written already", current_state="written")
    note = _write_note(session, clock, principal, body.text)
    response.headers["Location"] = f"/v1/notes/{note.id}"
    return NotePublic.model_validate(note, from_attributes=True)


async def _until_committed(db: Database, text: str, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        async with db.transaction() as other:
            if (await other.exec(select(Note).where(Note.text == text))).first() is not None:
                return
        await asyncio.sleep(0.02)


@router.get("", response_model=Page[NotePublic])
async def list_notes(session: SessionDep, principal: PrincipalDep, limit: LimitQuery = 50, cursor: CursorQuery = None):
    stmt = select(Note).where(Note.store_id == (principal.store_id or "hq"))
    rows, next_cursor = await paginate(session, stmt, Note.id, limit, cursor)
    return Page[NotePublic](items=[NotePublic.model_validate(r, from_attributes=True) for r in rows],
                            next_cursor=next_cursor)


@errors.post("/orders", status_code=201)
async def create_order(body: Order, principal: PrincipalDep, size: Annotated[int, Query(ge=1, le=10)] = 1):
    return {"lines": len(body.lines), "size": size}


DOMAIN_ERRORS = {
    "not-found": lambda: NotFound("repair order RO-1 not found"),
    "conflict": lambda: Conflict("plate already booked", current_state="booked"),
    "invalid-transition": lambda: InvalidTransition("delivered", "cancel"),
    "stale-version": lambda: StaleVersion(7),
    "validation": lambda: ValidationFailed("mileage_km", "must not go backwards"),
    "unauthorized": lambda: Unauthorized("no identity"),
    "forbidden": lambda: Forbidden("technicians may not settle"),
    "rate-limited": lambda: TooManyRequests("slow down"),
}


@errors.post("/domain/{kind}", responses=problem_responses(NotFound, Conflict, InvalidTransition, StaleVersion))
async def raise_domain_error(kind: str, session: SessionDep, clock: ClockDep, principal: PrincipalDep):
    _write_note(session, clock, principal, f"half-written before {kind}")
    raise DOMAIN_ERRORS[kind]()


@errors.post("/unexpected")
async def raise_unexpected(session: SessionDep, clock: ClockDep, principal: PrincipalDep):
    _write_note(session, clock, principal, "half-written before a crash")
    await session.flush()
    raise RuntimeError(f"driver exploded with {SECRET_IN_ERROR}")


def create_app(database_url: str, *, clock: ManualClock | None = None) -> FastAPI:
    settings = ProbeSettings(database_url=database_url)
    app = FastAPI(title="notes")
    app.state.settings = settings
    app.state.db = Database(database_url)
    app.state.clock = clock or ManualClock(datetime(2026, 11, 28, 8, 0, tzinfo=timezone.utc))
    app.state.gate = None  # a Gate, for tests of concurrent requests
    app.add_middleware(RequestContextMiddleware)
    install_error_handlers(app)
    app.include_router(router)
    app.include_router(errors)
    return app
