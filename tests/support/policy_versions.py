"""Network's policy version events as a consumer receives them, for tests."""
from __future__ import annotations

from datetime import UTC, date, datetime

from services.common import policy_copies as copies
from services.common.events.catalogue import network as nw
from services.common.events.envelope import CloudEvent
from services.network.policies.bodies import changes as network_changes
from tests.support.events import envelope_for

AT = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)


def version_events(name: str, version: int, effective_from: date, before: dict, after: dict) -> list[CloudEvent]:
    """The events network writes for a version (network's own diff of the two bodies): the
    published one with the first changes, then the rest in parts."""
    changes = [nw.PolicyChange(**c.model_dump()) for c in network_changes(before, after)]
    size = nw.MAX_PUBLISHED_CHANGES
    parts = copies.parts_needed(len(changes), size)
    events: list[CloudEvent] = [envelope_for(nw.PolicyVersionPublished(
        name=name, title_zh="目录", title_en="catalogue", version=version, effective_from=effective_from,
        change_count=len(changes), changes=changes[:size], published_by="hq-admin", published_at=AT),
        subject=name, store_id=None, time=AT)]
    events += [envelope_for(nw.PolicyVersionChangesPart(
        name=name, version=version, part=n + 1, parts=parts, changes=changes[n * size:(n + 1) * size]),
        subject=name, store_id=None, time=AT) for n in range(1, parts)]
    return events


def labour_with(op_code: str, hours: float) -> dict:
    """Version 1 of the labour operations with one operation's flat hours changed."""
    body = copies.version_one(copies.LABOUR_OPERATIONS)
    next(op for op in body["operations"] if op["op_code"] == op_code)["flat_rate_hours"] = hours
    return body
