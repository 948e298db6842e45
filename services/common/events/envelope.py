"""CloudEvents 1.0 envelope (structured JSON mode) and the event catalogue registry.

Every event type is one pydantic model, registered here by its CloudEvents `type`.
Producers and consumers import the same models; nobody copies them."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..ids import new_id

catalogue: dict[str, type[Event]] = {}


class Event(BaseModel):
    """Base of every event payload. Unknown fields are kept, so a consumer built against
    version N still reads version N+1 (new fields are only ever added, optional)."""

    model_config = ConfigDict(extra="allow")
    type: ClassVar[str]
    data_version: ClassVar[str] = "1"
    aggregate: ClassVar[str] = ""

    @classmethod
    def service(cls) -> str:
        return cls.type.split(".", 1)[0]


def event_type(type_name: str, *, version: str = "1", aggregate: str = ""):
    """Register an event model under its CloudEvents type, e.g. `reception.repair_order.delivered`."""

    def register(cls: type[Event]) -> type[Event]:
        if type_name in catalogue:
            raise ValueError(f"event type {type_name} registered twice")
        cls.type = type_name
        cls.data_version = version
        cls.aggregate = aggregate or type_name.split(".")[1]
        catalogue[type_name] = cls
        return cls

    return register


class CloudEvent(BaseModel):
    model_config = ConfigDict(extra="allow")

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(default_factory=new_id)
    source: str
    type: str
    subject: str
    time: datetime
    datacontenttype: Literal["application/json"] = "application/json"
    data: dict[str, Any]
    storeid: str | None = None
    correlationid: str | None = None
    causationid: str | None = None
    dataversion: str = "1"

    @classmethod
    def wrap(
        cls,
        event: Event,
        *,
        subject: str,
        store_id: str | None,
        time: datetime | None = None,
        correlation_id: str | None = None,
        causation_id: str | None = None,
    ) -> CloudEvent:
        return cls(
            source=f"/services/{event.service()}",
            type=event.type,
            subject=subject,
            time=time or datetime.now(UTC),
            data=event.model_dump(mode="json"),
            storeid=store_id,
            correlationid=correlation_id,
            causationid=causation_id,
            dataversion=event.data_version,
        )

    def to_json(self) -> str:
        return self.model_dump_json(exclude_none=True)

    @classmethod
    def from_json(cls, raw: bytes | str) -> CloudEvent:
        return cls.model_validate(json.loads(raw))

    def payload(self) -> Event:
        """The typed event; raises KeyError for a type not in the catalogue."""
        return catalogue[self.type].model_validate(self.data)


def parse_event(raw: bytes | str) -> tuple[CloudEvent, Event]:
    envelope = CloudEvent.from_json(raw)
    return envelope, envelope.payload()
