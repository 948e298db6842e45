"""AsyncAPI 3 document and JSON Schemas generated from the event catalogue.

`python -m services.common.events.asyncapi` rewrites the checked-in copies under
docs/events/; a test fails when they are stale."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..settings import REPO_ROOT
from .catalogue import catalogue
from .envelope import CloudEvent

DOCS = REPO_ROOT / "docs" / "events"
SERVICES = ("reception", "workshop", "crm", "network")


def event_schemas() -> dict[str, dict]:
    # Standalone files: nested models stay in the file's own $defs, so every $ref resolves.
    return {name: model.model_json_schema() for name, model in sorted(catalogue.items())}


def _message_name(event_type: str) -> str:
    return event_type.replace(".", "_")


def build_asyncapi() -> dict:
    envelope = CloudEvent.model_json_schema()
    envelope.pop("title", None)
    components_schemas: dict[str, dict] = {"CloudEventEnvelope": envelope}
    messages: dict[str, dict] = {}
    channels: dict[str, dict] = {}
    operations: dict[str, dict] = {}
    for event_type, model in sorted(catalogue.items()):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, sub in schema.pop("$defs", {}).items():
            components_schemas.setdefault(name, sub)
        data_name = model.__name__
        components_schemas[data_name] = schema
        messages[_message_name(event_type)] = {
            "name": event_type,
            "title": model.__name__,
            "summary": (model.__doc__ or event_type).strip().splitlines()[0],
            "contentType": "application/cloudevents+json",
            "correlationId": {"location": "$message.payload#/correlationid"},
            "payload": {
                "allOf": [
                    {"$ref": "#/components/schemas/CloudEventEnvelope"},
                    {"type": "object", "properties": {
                        "type": {"const": event_type},
                        "dataversion": {"const": model.data_version},
                        "data": {"$ref": f"#/components/schemas/{data_name}"},
                    }},
                ]
            },
        }
    for service in SERVICES:
        owned = [t for t in sorted(catalogue) if t.startswith(service + ".")]
        channels[service] = {
            "address": f"{service}.events",
            "description": f"Events owned by {service}; Kafka key = the aggregate id (CloudEvents subject).",
            "messages": {_message_name(t): {"$ref": f"#/components/messages/{_message_name(t)}"} for t in owned},
        }
        operations[f"{service}_publish"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{service}"},
            "messages": [{"$ref": f"#/channels/{service}/messages/{_message_name(t)}"} for t in owned],
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "After-sales platform events",
            "version": "1.0.0",
            "description": (
                "CloudEvents 1.0 (structured JSON) with extensions storeid, correlationid, causationid, dataversion."
            ),
        },
        "defaultContentType": "application/cloudevents+json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": components_schemas},
    }


def render() -> dict[str, str]:
    """File name -> content, for everything under docs/events/."""
    files = {"asyncapi.json": json.dumps(build_asyncapi(), indent=2, sort_keys=True) + "\n"}
    for name, schema in event_schemas().items():
        files[f"schemas/{name}.json"] = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    return files


def write(target: Path = DOCS) -> list[Path]:
    written = []
    for rel, content in render().items():
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
        written.append(path)
    return written


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Write docs/events/asyncapi.json and one JSON Schema per event type")
    parser.parse_args()
    print(f"wrote {len(write())} files under {DOCS.relative_to(REPO_ROOT)}")
