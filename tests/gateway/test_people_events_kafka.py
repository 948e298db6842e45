"""A signed-in person's standing comes from network's person events on the real broker, not
from a TTL: the person cache here keeps people for five minutes and network keeps saying the
person is active; only the events can make the gateway refuse them or move them."""
from __future__ import annotations

import time
from datetime import UTC, date, datetime

from services.common.events.catalogue.network import PersonAssignment, PersonAssignmentsChanged, PersonLeft
from tests.gateway.fakes import gateway
from tests.gateway.provider import local_provider
from tests.support.events import envelope_for, publish
from tests.support.platform import eventually

APPOINTMENTS = "/api/reception/v1/appointments"


def person_event(cls, person_id: str, status: str, assignments: dict[str, str], **extra):
    now = datetime.now(UTC)
    event = cls(person_id=person_id, employee_no="E1024", name="王芳", status=status,
                assignments=[PersonAssignment(store_id=s, role=r) for s, r in assignments.items()], **extra)
    return envelope_for(event, subject=person_id, store_id=None, time=now)


async def test_a_person_who_leaves_is_refused_within_5_s_whatever_token_they_hold(kafka_bootstrap, topic_prefix):
    long = dict(key_events=True, kafka_bootstrap_servers=kafka_bootstrap, kafka_topic_prefix=topic_prefix,
                person_cache_ttl_seconds=300, person_cache_fallback_ttl_seconds=300)
    async with local_provider() as idp, gateway(oidc_issuer=idp.issuer, **long) as rig:
        feed = rig.app.state.feed
        await eventually(lambda: _true(feed.live()), timeout=30, message="event feed never became live")
        topic = f"{topic_prefix}network.events"
        rig.network.add_person("p-wang", "王芳", {"store-a": "service_advisor"})
        rig.network.add_person("p-li", "李雷", {"store-a": "service_advisor"})
        wang, li = idp.token("p-wang"), idp.token("p-li")  # valid for five more minutes
        for token in (wang, li):
            response = await rig.client.get(APPOINTMENTS, headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 200, response.text

        async def answer(token: str, store: str | None = None) -> int:
            headers = {"Authorization": f"Bearer {token}"} | ({"X-Store-Id": store} if store else {})
            return (await rig.client.get(APPOINTMENTS, headers=headers)).status_code

        # Moved to another store: the new store is theirs at once, the old one no more.
        await publish(kafka_bootstrap, topic, person_event(
            PersonAssignmentsChanged, "p-wang", "active", {"store-b": "store_manager"}, reason="promoted",
            changed_by="key-hq", changed_at=datetime.now(UTC)))
        await eventually(lambda: _equal(answer(wang, "store-a"), 403), timeout=5,
                         message="a person moved away still acts for the old store")
        assert await answer(wang) == 200

        started = time.monotonic()
        await publish(kafka_bootstrap, topic, person_event(
            PersonLeft, "p-wang", "left", {"store-b": "store_manager"}, left_on=date.today(), recorded_by="key-hq",
            left_at=datetime.now(UTC)))
        await eventually(lambda: _equal(answer(wang), 401), timeout=5, message="a leaver still accepted after 5 s")
        assert time.monotonic() - started < 5

        # Others are untouched, and network was asked about each person once only.
        assert await answer(li) == 200
        assert rig.network.person_lookups == 2


async def _true(value):
    return value


async def _equal(status, expected: int) -> bool:
    return await status == expected
