"""The CloudEvents 1.0 envelope (structured JSON mode) and its extensions."""
from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from services.common.events.catalogue.crm import ReminderSent
from services.common.events.catalogue.network import StoreCreated
from services.common.events.envelope import CloudEvent, parse_event

SENT_AT = datetime(2026, 11, 28, 9, 30, 15, 250000, tzinfo=timezone.utc)


def reminder(**extra) -> ReminderSent:
    return ReminderSent(reminder_id="rem-1", store_id="store-1", vin="LSVAU2180N2183294", kind="first_maintenance",
                        channel="sms", sent_at=SENT_AT, **extra)


def wrapped(**kw) -> CloudEvent:
    options = dict(subject="rem-1", store_id="store-1", time=SENT_AT, correlation_id="req-42", causation_id="evt-41")
    options.update(kw)
    return CloudEvent.wrap(reminder(), **options)


def test_wrap_fills_every_cloudevents_attribute_and_the_platform_extensions():
    envelope = wrapped()

    assert envelope.specversion == "1.0"
    assert uuid.UUID(envelope.id).version == 7
    assert envelope.source == "/services/crm"
    assert envelope.type == "crm.reminder.sent"
    assert envelope.subject == "rem-1"
    assert envelope.time == SENT_AT
    assert envelope.datacontenttype == "application/json"
    assert envelope.data == reminder().model_dump(mode="json")
    assert (envelope.storeid, envelope.correlationid, envelope.causationid) == ("store-1", "req-42", "evt-41")
    assert envelope.dataversion == ReminderSent.data_version == "1"


def test_each_wrap_gets_its_own_id():
    assert len({wrapped().id for _ in range(50)}) == 50


def test_structured_json_carries_attributes_at_top_level_with_rfc3339_time():
    body = json.loads(wrapped().to_json())

    assert {"specversion", "id", "source", "type", "subject", "time", "datacontenttype", "data",
            "storeid", "correlationid", "causationid", "dataversion"} <= body.keys()
    # CloudEvents extension names: lower-case letters and digits only.
    for name in ("storeid", "correlationid", "causationid", "dataversion"):
        assert re.fullmatch(r"[a-z0-9]{1,20}", name)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", body["time"])
    assert datetime.fromisoformat(body["time"].replace("Z", "+00:00")) == SENT_AT
    assert body["data"]["sent_at"] == body["time"]


def test_absent_extensions_are_left_out_not_sent_as_null():
    body = json.loads(CloudEvent.wrap(reminder(), subject="rem-1", store_id=None, time=SENT_AT).to_json())

    assert "storeid" not in body and "correlationid" not in body and "causationid" not in body
    assert None not in body.values()


def test_wrap_without_a_time_stamps_now_in_utc():
    before = datetime.now(timezone.utc)
    envelope = CloudEvent.wrap(reminder(), subject="rem-1", store_id="store-1")

    assert envelope.time.tzinfo is not None and envelope.time.utcoffset() == timedelta(0)
    assert before <= envelope.time <= datetime.now(timezone.utc)


def test_round_trip_through_json_gives_the_same_envelope_and_the_same_typed_event():
    original = wrapped()

    again, event = parse_event(original.to_json().encode())

    assert again == original
    assert isinstance(event, ReminderSent) and event == reminder()
    assert again.to_json() == original.to_json()


def test_unknown_attributes_and_data_fields_survive_a_round_trip():
    """A consumer built against today's model still reads (and forwards) tomorrow's event."""
    body = json.loads(wrapped().to_json())
    body["traceparent"] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    body["data"]["reminder_template"] = "winter-check-2026"

    envelope, event = parse_event(json.dumps(body))

    assert json.loads(envelope.to_json()) == body
    assert event.model_extra == {"reminder_template": "winter-check-2026"}
    assert event.model_dump(mode="json")["reminder_template"] == "winter-check-2026"


def test_an_older_event_without_a_later_optional_field_still_parses():
    body = json.loads(CloudEvent.wrap(
        StoreCreated(store_id="s1", code="SH-01", name="Pudong", kind="dealer_store", status="active",
                     created_at=SENT_AT), subject="s1", store_id="s1", time=SENT_AT).to_json())
    for optional in ("region", "city", "timezone"):
        del body["data"][optional]

    _, event = parse_event(json.dumps(body))

    assert event.timezone == "Asia/Shanghai" and event.region == ""


@pytest.mark.parametrize("attribute", ["source", "type", "subject", "time", "data"])
def test_an_envelope_missing_a_required_attribute_is_rejected(attribute):
    body = json.loads(wrapped().to_json())
    del body[attribute]

    with pytest.raises(ValidationError) as caught:
        CloudEvent.from_json(json.dumps(body))
    assert caught.value.errors()[0]["loc"] == (attribute,)


def test_an_envelope_of_another_cloudevents_version_is_rejected():
    body = json.loads(wrapped().to_json())
    body["specversion"] = "0.3"

    with pytest.raises(ValidationError):
        CloudEvent.from_json(json.dumps(body))


def test_the_payload_of_a_type_outside_the_catalogue_is_a_key_error():
    body = json.loads(wrapped().to_json())
    body["type"] = "crm.reminder.teleported"

    envelope = CloudEvent.from_json(json.dumps(body))
    with pytest.raises(KeyError):
        envelope.payload()


def test_a_payload_that_does_not_match_its_model_is_rejected():
    body = json.loads(wrapped().to_json())
    del body["data"]["vin"]

    with pytest.raises(ValidationError) as caught:
        parse_event(json.dumps(body))
    assert caught.value.errors()[0]["loc"] == ("vin",)
