"""HQ KPIs through the real broker and PostgreSQL: figures equal a reference computation
over the same seeded events after live consumption and after a rebuild from the topics,
and the stream pushes a change."""
from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from services.common.kafka import ensure_topics
from tests.network import factories as f
from tests.network.conftest import create_store, network_service, network_settings
from tests.network.kpi_scenario import FIRST_DAY, WINDOW, answer_of, reference, scenario
from tests.network.rebuilds import rebuilt
from tests.network.sse import served, subscribed
from tests.support.events import publish
from tests.support.platform import Caller, eventually, identity


async def test_kpis_equal_the_reference_after_live_consumption_and_after_a_rebuild_and_the_stream_pushes_changes(
        pg_url, kafka_bootstrap, topic_prefix, clock):
    settings = network_settings(pg_url, kafka_bootstrap_servers=kafka_bootstrap, kafka_topic_prefix=topic_prefix)
    await ensure_topics(settings)
    async with network_service(settings, clock, role="all") as client:
        hq = Caller(client, "hq_admin")
        shanghai = await create_store(hq, timezone_name="Asia/Shanghai")
        urumqi = await create_store(hq, timezone_name="Asia/Urumqi")
        seeded = [scenario(shanghai["id"], "Asia/Shanghai"), scenario(urumqi["id"], "Asia/Urumqi", full=False)]
        expected = reference(seeded, *WINDOW)
        # The scenario is not trivial: every KPI has a value to get right.
        assert all(v is not None for v in expected["stores"][shanghai["id"]].values())
        assert expected["stores"][shanghai["id"]]["appointment_show_rate"] == "0.6667"
        assert expected["network"] != expected["stores"][shanghai["id"]]
        events = [e for s in seeded for e in s.events]
        for service in ("reception", "workshop", "crm", "network"):
            await publish(kafka_bootstrap, settings.topic(service),
                          *(e for e in events if e.type.startswith(service + ".")))

        url = f"/v1/kpis?from={WINDOW[0]}&to={WINDOW[1]}"

        async def figures_match() -> bool:
            body = (await hq.get(url)).json()
            assert answer_of(body) == expected
            return True

        await eventually(figures_match, timeout=60, message="live KPIs never matched the reference")

        async with client.app.state.db.transaction() as session:
            await session.exec(sa.text("DELETE FROM kpi_daily"))
            await session.exec(sa.text("DELETE FROM kpi_monthly"))
        assert answer_of((await hq.get(url)).json()) != expected
        job = await rebuilt(hq)
        assert job["events_read"] >= len(events) and job["events_skipped"] == 0
        assert answer_of((await hq.get(url)).json()) == expected

        manager = Caller(client, "store_manager", store_id=shanghai["id"])
        own = (await manager.get(url)).json()
        assert [s["store_id"] for s in own["stores"]] == [shanghai["id"]]
        assert answer_of(own)["network"] == expected["stores"][shanghai["id"]]
        assert (await manager.get(f"{url}&store_id={urumqi['id']}")).status_code == 404

        day = FIRST_DAY + timedelta(days=1)
        async with served(client.app) as base_url:
            async with subscribed(base_url, "/v1/kpis/stream", identity("hq_analyst")) as stream:
                assert (await stream.next_of("ready"))["stores"] == "all"
                afternoon = datetime.combine(day, time(15), ZoneInfo("Asia/Shanghai")).astimezone(UTC)
                comeback = f.comeback_detected(shanghai["id"], "c-late", afternoon)
                await publish(kafka_bootstrap, settings.topic("workshop"), comeback)
                pushed = await stream.next_of("kpi", timeout=20)
        assert (pushed["store_id"], pushed["date"]) == (shanghai["id"], day.isoformat())
        assert pushed["kpis"]["comebacks"] == 2

