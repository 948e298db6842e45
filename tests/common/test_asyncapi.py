"""The AsyncAPI 3 document and JSON Schemas generated from the catalogue, and the checked-in
copies under docs/events/ (regenerate with `python -m services.common.events.asyncapi`)."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from jsonschema import Draft202012Validator

from services.common.api import install_platform_routes
from services.common.events.asyncapi import DOCS, build_asyncapi, render
from services.common.events.catalogue import catalogue
from services.common.events.catalogue.crm import ReminderSent
from services.common.events.envelope import CloudEvent
from services.common.kafka import SERVICES
from tests.support.events import store_created

REGENERATE = "docs/events/ is stale: run `python -m services.common.events.asyncapi` and commit the result"


def checked_in() -> dict[str, str]:
    return {path.relative_to(DOCS).as_posix(): path.read_text() for path in sorted(DOCS.rglob("*.json"))}


def refs(node) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for v in node.values() for r in refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in refs(v)]
    return []


def resolve(document: dict, ref: str):
    assert ref.startswith("#/"), f"{ref} points outside the document"
    node = document
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert part in node, f"{ref} does not resolve"
        node = node[part]
    return node


def test_the_checked_in_asyncapi_document_and_schemas_are_up_to_date():
    generated, on_disk = render(), checked_in()

    missing = sorted(generated.keys() - on_disk.keys())
    extra = sorted(on_disk.keys() - generated.keys())
    stale = sorted(name for name in generated.keys() & on_disk.keys() if generated[name] != on_disk[name])
    assert not (missing or extra or stale), f"{REGENERATE}\nmissing={missing}\nextra={extra}\nstale={stale}"


def test_there_is_one_json_schema_file_per_catalogue_type():
    assert {name for name in checked_in() if name.startswith("schemas/")} == {f"schemas/{t}.json" for t in catalogue}


def test_the_document_is_asyncapi_3_with_one_channel_per_service_topic_and_every_type_in_it():
    document = build_asyncapi()

    assert document["asyncapi"] == "3.0.0"
    assert set(document["channels"]) == set(SERVICES)
    for service in SERVICES:
        channel = document["channels"][service]
        assert channel["address"] == f"{service}.events"
        owned = {t for t in catalogue if t.startswith(service + ".")}
        names = {resolve(document, m["$ref"])["name"] for m in channel["messages"].values()}
        assert names == owned
        operation = document["operations"][f"{service}_publish"]
        assert operation["action"] == "send" and resolve(document, operation["channel"]["$ref"]) is channel
    assert {m["name"] for m in document["components"]["messages"].values()} == set(catalogue)


def test_every_reference_in_the_document_resolves():
    document = build_asyncapi()
    found = refs(document)

    assert found
    for ref in found:
        resolve(document, ref)


@pytest.mark.parametrize("name", sorted(catalogue))
def test_each_schema_file_is_valid_json_schema_whose_references_resolve(name):
    schema = json.loads((DOCS / "schemas" / f"{name}.json").read_text())

    Draft202012Validator.check_schema(schema)
    for ref in refs(schema):
        resolve(schema, ref)
    assert set(schema.get("required", [])) == {
        field for field, info in catalogue[name].model_fields.items() if info.is_required()}


@pytest.mark.parametrize("envelope", [
    CloudEvent.wrap(ReminderSent(reminder_id="r1", store_id="s1", vin="LSVAU2180N2183294", kind="periodic_maintenance",
                                 channel="sms", sent_at=datetime(2026, 11, 28, tzinfo=timezone.utc)),
                    subject="r1", store_id="s1", correlation_id="req-1"),
    store_created(),
], ids=lambda e: e.type)
def test_real_events_validate_against_the_published_schemas(envelope):
    body = json.loads(envelope.to_json())
    document = build_asyncapi()
    message = document["components"]["messages"][envelope.type.replace(".", "_")]

    Draft202012Validator(json.loads((DOCS / "schemas" / f"{envelope.type}.json").read_text())).validate(body["data"])
    # The message schema, with its references resolved inside the AsyncAPI document.
    Draft202012Validator({**message["payload"], "components": document["components"]}).validate(body)


async def test_the_document_is_served_at_asyncapi_json():
    app = FastAPI()
    install_platform_routes(app, {})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://service") as client:
        response = await client.get("/asyncapi.json")

    assert response.status_code == 200
    assert response.json() == build_asyncapi()


def test_the_generator_writes_what_render_returns(tmp_path: Path):
    from services.common.events.asyncapi import write

    written = write(tmp_path)

    assert {p.relative_to(tmp_path).as_posix(): p.read_text() for p in written} == render()
