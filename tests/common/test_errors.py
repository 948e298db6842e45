"""problem+json (RFC 9457) for every error: domain errors with their status and stable type,
request validation naming the field, unknown errors as a 500 without internals, and never a
half-written record."""
from __future__ import annotations

import jsonschema
import pytest
from sqlmodel import func, select

from services.common.errors import PROBLEM_BASE, PROBLEM_JSON, DomainError, Problem, problem_schema
from tests.common.notes_app import DOMAIN_ERRORS, SECRET_IN_ERROR
from tests.common.probe import Note
from tests.support.platform import identity


def advisor(store_id: str = "store-1") -> dict[str, str]:
    """Freshly signed headers: a signature made at import time would be stale a minute later."""
    return identity("service_advisor", store_id)


def problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert body["status"] == status and body["title"] and body["type"]
    return body


async def notes_written(client) -> int:
    async with client.app.state.db.transaction() as session:
        return (await session.exec(select(func.count()).select_from(Note))).one()


@pytest.mark.parametrize("kind,status,extra", [
    ("not-found", 404, {}),
    ("conflict", 409, {"current_state": "booked"}),
    ("invalid-transition", 409, {"current_state": "delivered", "action": "cancel"}),
    ("stale-version", 412, {"current_version": 7}),
    ("validation", 422, {"errors": [{"field": "mileage_km", "message": "must not go backwards"}]}),
    ("unauthorized", 401, {}),
    ("forbidden", 403, {}),
    ("rate-limited", 429, {}),
])
async def test_each_domain_error_is_a_problem_with_its_status_type_and_details(notes, kind, status, extra):
    response = await notes.post(f"/v1/errors/domain/{kind}", headers=advisor())

    body = problem(response, status)
    assert body["type"] == PROBLEM_BASE + kind
    assert body["instance"] == f"/v1/errors/domain/{kind}"
    assert body["detail"]
    for name, value in extra.items():
        assert body[name] == value


def test_every_domain_error_has_its_own_problem_type_and_a_4xx_status():
    def subclasses(cls):
        return [cls] + [s for sub in cls.__subclasses__() for s in subclasses(sub)]

    errors = [cls for cls in subclasses(DomainError) if cls.__module__ == "services.common.errors"]

    assert {cls.type for cls in errors} - {"bad-request"} == set(DOMAIN_ERRORS)
    assert len({cls.type for cls in errors}) == len(errors)
    assert all(400 <= cls.status < 500 for cls in errors)


async def test_an_invalid_transition_says_what_state_the_object_is_in(notes):
    body = problem(await notes.post("/v1/errors/domain/invalid-transition", headers=advisor()), 409)

    assert body["detail"] == "cannot cancel while delivered"


@pytest.mark.parametrize("payload,field,message", [
    ({}, "text", "Field required"),
    ({"text": ""}, "text", "at least 1 character"),
    ({"text": "x" * 201}, "text", "at most 200 characters"),
    ({"text": 12}, "text", "valid string"),
])
async def test_a_bad_body_is_a_422_naming_the_field(notes, payload, field, message):
    body = problem(await notes.post("/v1/notes", json=payload, headers=advisor()), 422)

    assert body["type"] == PROBLEM_BASE + "validation"
    (error,) = body["errors"]
    assert error["field"] == field and message in error["message"] and error["in"] == "body"
    assert field in body["detail"]


async def test_a_bad_nested_field_is_named_by_its_path(notes):
    body = problem(await notes.post("/v1/errors/orders", json={"lines": [{"quantity": 1}, {"quantity": 0}]},
                                           headers=advisor()), 422)

    assert [e["field"] for e in body["errors"]] == ["lines.1.quantity"]


async def test_a_bad_query_parameter_is_a_422_naming_it(notes):
    body = problem(await notes.post("/v1/errors/orders?size=11", json={"lines": [{"quantity": 1}]},
                                           headers=advisor()), 422)

    assert [(e["field"], e["in"]) for e in body["errors"]] == [("size", "query")]


async def test_a_body_that_is_not_json_is_a_422_not_a_500(notes):
    response = await notes.post("/v1/notes", content=b"{not json", headers={
        **advisor(), "content-type": "application/json"})

    assert problem(response, 422)["type"] == PROBLEM_BASE + "validation"


async def test_every_error_of_a_batch_is_listed(notes):
    body = problem(await notes.post("/v1/errors/orders?size=0", json={"lines": []}, headers=advisor()), 422)

    assert sorted(e["field"] for e in body["errors"]) == ["lines", "size"]


async def test_an_unknown_error_is_a_500_problem_without_internals(notes):
    response = await notes.post("/v1/errors/unexpected", headers=advisor())

    body = problem(response, 500)
    assert body == {"type": PROBLEM_BASE + "internal", "title": "Internal error", "status": 500,
                    "detail": "unexpected error"}
    for leak in ("Traceback", "RuntimeError", SECRET_IN_ERROR, "notes_app.py"):
        assert leak not in response.text


async def test_an_unknown_route_and_a_wrong_method_are_problems_too(notes):
    assert problem(await notes.get("/v1/nothing-here", headers=advisor()), 404)["title"] == "Not Found"
    problem(await notes.delete("/v1/notes", headers=advisor()), 405)


@pytest.mark.parametrize("path", ["/v1/errors/domain/conflict", "/v1/errors/domain/validation",
                                  "/v1/errors/unexpected"])
async def test_a_request_that_fails_writes_nothing(notes, path):
    response = await notes.post(path, headers=advisor())

    assert response.status_code >= 400
    assert await notes_written(notes) == 0
    assert (await notes.post("/v1/notes", json={"text": "fine"}, headers=advisor())).status_code == 201
    assert await notes_written(notes) == 1


async def test_the_request_id_is_echoed_on_errors(notes):
    response = await notes.post("/v1/errors/domain/not-found", headers={**advisor(), "X-Request-ID": "req-77"})

    assert response.headers["X-Request-ID"] == "req-77"


async def test_routes_list_their_problems_in_the_openapi_document(notes):
    operation = notes.app.openapi()["paths"]["/v1/errors/domain/{kind}"]["post"]

    for status in ("404", "409", "412"):
        content = operation["responses"][status]["content"]
        assert content == {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}


async def test_the_documents_problem_schema_is_the_problem_model_and_every_answer_fits_it(notes):
    schema = notes.app.openapi()["components"]["schemas"]["Problem"]
    assert schema == problem_schema()
    bodies = [problem(await notes.post("/v1/errors/domain/validation", headers=advisor()), 422),
              problem(await notes.post("/v1/notes", json={}, headers=advisor()), 422),
              problem(await notes.post("/v1/errors/domain/invalid-transition", headers=advisor()), 409),
              problem(await notes.post("/v1/errors/unexpected", headers=advisor()), 500),
              problem(await notes.get("/v1/nothing-here", headers=advisor()), 404)]

    for body in bodies:
        jsonschema.validate(body, schema)
        assert Problem.model_validate(body).body() == body
