"""The event catalogue: one model per type, named by its owning service, never twice."""
from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from services.common.events.catalogue import catalogue
from services.common.events.envelope import Event, event_type
from services.common.kafka import SERVICES, topic_for_type
from tests.common.probe import ProbeSettings

CATALOGUE_DIR = Path(importlib.import_module("services.common.events.catalogue").__file__).parent
TYPE_NAME = re.compile(r"[a-z]+(\.[a-z][a-z0-9_]*){2}")


def test_the_catalogue_has_events_of_every_service():
    assert {t.split(".", 1)[0] for t in catalogue} == set(SERVICES)


@pytest.mark.parametrize("name", sorted(catalogue))
def test_each_type_is_a_model_of_its_owning_service(name):
    model = catalogue[name]
    service = name.split(".", 1)[0]

    assert TYPE_NAME.fullmatch(name), f"{name} is not <service>.<aggregate>.<past tense>"
    assert service in SERVICES
    assert issubclass(model, Event) and model.type == name and model.service() == service
    assert model.__module__ == f"services.common.events.catalogue.{service}"
    assert model.aggregate, f"{name} names no aggregate"
    assert model.data_version.isdigit()
    assert model.model_json_schema()["type"] == "object"


def test_every_type_is_published_on_its_owning_service_topic():
    settings = ProbeSettings(kafka_topic_prefix="t1.")

    for name in catalogue:
        assert topic_for_type(settings, name) == f"t1.{name.split('.', 1)[0]}.events"


def test_registering_a_type_twice_is_refused_and_leaves_the_first_model_in_place():
    first = catalogue["crm.reminder.sent"]

    with pytest.raises(ValueError, match="registered twice"):
        @event_type("crm.reminder.sent")
        class ReminderSentAgain(Event):
            reminder_id: str

    assert catalogue["crm.reminder.sent"] is first


def test_no_type_is_declared_twice_in_the_catalogue_sources():
    """The registry refuses a second registration at import; this reads the sources too, so a
    duplicate is caught even if registration were ever made lenient."""
    declared = []
    for path in sorted(CATALOGUE_DIR.glob("*.py")):
        declared += re.findall(r'@event_type\(\s*"([^"]+)"', path.read_text())

    assert sorted(declared) == sorted(set(declared)), "a type is declared twice"
    assert set(declared) == set(catalogue)


def test_model_names_are_unique_so_generated_documents_never_alias_two_events():
    names = [model.__name__ for model in catalogue.values()]
    assert len(names) == len(set(names))
