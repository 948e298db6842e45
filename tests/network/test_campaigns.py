"""Recall and service campaigns: HQ drafts one, uploads its affected VINs as CSV (100,000 of
them, whole or not at all), publishes it; the VIN lookup shows it to an affected car only;
a closed repair order carrying its operation completes it once, counted per store and
region; a warranty claim for that operation gets R10. Closed orders reach network as
reception's events, delivered here in memory."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from services.common.events.envelope import CloudEvent
from services.common.tables import OutboxMessage
from services.network.campaigns.models import CampaignVin
from tests.network.conftest import create_store
from tests.network.factories import T0, labour, order_delivered, order_settled
from tests.support.events import deliver
from tests.support.platform import Caller, identity

RECALL_OP = "RCL-2026-01"  # the recall operation of data/labor_operations.json, 0.5 h
AFFECTED = "LSVCP000000000007"
ELSEWHERE = "LSVZZ999999999999"


def vins(count: int, prefix: str = "LSVCP") -> list[str]:
    return [f"{prefix}{n:0{17 - len(prefix)}d}" for n in range(count)]


def campaign_body(**overrides) -> dict:
    body = {"code": "RC-2026-014", "kind": "recall", "title_zh": "前排安全带预紧器检查",
            "title_en": "Front seat-belt pretensioner inspection", "op_code": RECALL_OP,
            "parts": [{"part_no": "XB-57450-S01", "quantity": "1"}], "flat_hours": "0.5",
            "starts_on": "2026-11-01", "ends_on": "2027-06-30"}
    body.update(overrides)
    return body


async def upload(hq: Caller, campaign_id: str, text: str, status: int = 200) -> dict:
    response = await hq.post(f"/v1/campaigns/{campaign_id}/vins", content=text.encode(),
                             headers={"content-type": "text/csv"})
    assert response.status_code == status, response.text
    return response.json()


async def published(hq: Caller, affected: list[str], **overrides) -> dict:
    created = await hq.post("/v1/campaigns", json=campaign_body(**overrides))
    assert created.status_code == 201, created.text
    campaign = created.json()
    await upload(hq, campaign["id"], "vin\n" + "\n".join(affected) + "\n")
    response = await hq.post(f"/v1/campaigns/{campaign['id']}/publish")
    assert response.status_code == 200, response.text
    return response.json()


async def stored_vins(client, campaign_id: str) -> set[str]:
    async with client.app.state.db.transaction() as session:
        rows = (await session.exec(sa.select(CampaignVin.vin).where(CampaignVin.campaign_id == campaign_id))).all()
    return {row[0] for row in rows}


async def open_codes(caller: Caller, vin: str) -> list[str]:
    response = await caller.get(f"/v1/vehicles/{vin}/campaigns")
    assert response.status_code == 200, response.text
    return [c["code"] for c in response.json()["campaigns"]]


@pytest.fixture
async def store(hq):
    return await create_store(hq)


@pytest.fixture
def advisor(client, store) -> Caller:
    return Caller(client, "service_advisor", store_id=store["id"], principal_id="advisor-1")


async def test_a_campaign_of_100000_vins_is_stored_whole_and_shows_to_its_cars_only(client, hq, advisor):
    affected = vins(100_000)
    created = await hq.post("/v1/campaigns", json=campaign_body())
    assert created.status_code == 201, created.text
    campaign_id = created.json()["id"]
    # Stores do not see HQ's drafts, nor may they write campaigns.
    assert (await advisor.get(f"/v1/campaigns/{campaign_id}")).status_code == 404
    assert (await advisor.post("/v1/campaigns", json=campaign_body(code="RC-2026-015"))).status_code == 403

    # A repeated VIN and lower case are taken; the header line is skipped.
    answer = await upload(hq, campaign_id, "VIN\n" + "\n".join(affected) + "\n" + affected[5].lower() + "\n")
    assert answer == {"campaign_id": campaign_id, "vin_count": 100_000, "lines": 100_002, "duplicates": 1}
    assert await stored_vins(client, campaign_id) == set(affected)
    assert await open_codes(advisor, affected[7]) == []  # a draft is open to nobody

    response = await hq.post(f"/v1/campaigns/{campaign_id}/publish")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "published"
    async with client.app.state.db.transaction() as session:
        types = (await session.exec(sa.select(OutboxMessage.event_type))).all()
    assert sorted(t for (t,) in types if "campaign" in t) == (
        ["network.campaign.published"] + ["network.campaign.vins_affected"] * 100)

    lookup = (await advisor.get(f"/v1/vehicles/{affected[99_999]}/campaigns")).json()
    assert [(c["code"], c["op_code"], c["flat_hours"]) for c in lookup["campaigns"]] == [
        ("RC-2026-014", RECALL_OP, "0.50")]
    assert await open_codes(advisor, ELSEWHERE) == []
    listed = (await advisor.get("/v1/campaigns", params={"vin": affected[3]})).json()["items"]
    assert [c["code"] for c in listed] == ["RC-2026-014"]
    # Published, the list is frozen: owners were invited for it.
    assert (await upload(hq, campaign_id, ELSEWHERE, status=409))["current_state"] == "published"


async def test_publishing_emits_the_vins_in_chunks_of_1000_each_vin_once(client, hq):
    affected = vins(2_345)
    campaign = await published(hq, affected, kind="service", code="SV-2026-003")
    async with client.app.state.db.transaction() as session:
        rows = (await session.exec(sa.select(OutboxMessage.payload)
                                   .where(OutboxMessage.event_type == "network.campaign.vins_affected"))).all()
    chunks = sorted((CloudEvent.model_validate_json(payload).data for (payload,) in rows), key=lambda d: d["chunk"])
    assert [(c["chunk"], c["chunks"], len(c["vins"])) for c in chunks] == [(1, 3, 1000), (2, 3, 1000), (3, 3, 345)]
    every = [vin for c in chunks for vin in c["vins"]]
    assert sorted(every) == sorted(affected)  # each once: as many as there are, and all of them
    assert {(c["campaign_id"], c["code"], c["kind"], c["op_code"], c["starts_on"]) for c in chunks} == {
        (campaign["id"], "SV-2026-003", "service", RECALL_OP, "2026-11-01")}


async def test_a_bad_line_is_422_with_its_line_number_and_nothing_is_written_post_adds_put_replaces(client, hq):
    campaign_id = (await hq.post("/v1/campaigns", json=campaign_body())).json()["id"]
    first = vins(1_000)
    await upload(hq, campaign_id, "\n".join(first))

    lines = vins(10, prefix="LSVNEW")
    lines[2] = "LSVNEW0000000000"  # line 3: 16 characters
    lines[6] = "LSVNEWI0000000006"  # line 7: an I
    problem = await upload(hq, campaign_id, "\n".join(lines), status=422)
    assert problem["invalid_lines"] == [3, 7]
    assert problem["invalid_count"] == 2
    assert [e["field"] for e in problem["errors"]] == ["vins.line.3", "vins.line.7"]
    assert await stored_vins(client, campaign_id) == set(first)
    assert (await hq.get(f"/v1/campaigns/{campaign_id}")).json()["vin_count"] == 1_000

    # Fixed, as a multipart file, POST adds it to the list (a VIN listed already counted once);
    # PUT replaces the list.
    lines[2], lines[6] = "LSVNEW00000000002", "LSVNEW00000000006"
    response = await hq.post(f"/v1/campaigns/{campaign_id}/vins",
                             files={"file": ("vins.csv", "\n".join([*lines, first[0]]).encode(), "text/csv")})
    assert response.status_code == 200, response.text
    assert response.json()["vin_count"] == 1_010
    assert await stored_vins(client, campaign_id) == set(first) | set(lines)
    response = await hq.client.put(f"/v1/campaigns/{campaign_id}/vins", content="\n".join(lines).encode(),
                                   headers={**identity(hq.role, None, hq.principal_id), "content-type": "text/csv"})
    assert response.status_code == 200, response.text
    assert await stored_vins(client, campaign_id) == set(lines)
    assert (await hq.get(f"/v1/campaigns/{campaign_id}")).json()["vin_count"] == 10


async def test_completion_is_counted_once_when_the_order_is_settled_then_delivered_twice(client, hq, store, advisor):
    campaign = await published(hq, [AFFECTED, *vins(9, prefix="LSVCR")])
    other_store = await create_store(hq)
    lines = [labour(RECALL_OP, "0.5")]
    settled_at = T0 - timedelta(days=2)
    opened_at = settled_at - timedelta(hours=3)
    settled = order_settled(store["id"], lines, vin=AFFECTED, opened_at=opened_at, settled_at=settled_at)
    rid = settled.data["repair_order_id"]
    assert await deliver(client.app, settled) == "applied"
    for hours_later in (1, 2):  # delivered, and a second delivery event for the same order
        again = order_delivered(store["id"], lines, repair_order_id=rid, opened_at=opened_at, settled_at=settled_at,
                                delivered_at=settled_at + timedelta(hours=hours_later), vin=AFFECTED)
        assert await deliver(client.app, again) == "applied"
        assert await deliver(client.app, again) == "duplicate"

    report = (await hq.get(f"/v1/campaigns/{campaign['id']}/completion")).json()
    assert report["affected"] == 10 and report["completed"] == 1 and report["completion_rate"] == "0.1000"
    assert report["regions"] == [{"region": "East", "completed": 1}]
    assert [(s["store_id"], s["completed"]) for s in report["stores"]] == [(store["id"], 1)]
    assert await open_codes(advisor, AFFECTED) == []
    assert await open_codes(advisor, "LSVCR000000000003") == ["RC-2026-014"]

    # A store sees its own work only, and not the campaign's total.
    mine = (await advisor.get(f"/v1/campaigns/{campaign['id']}/completion")).json()
    assert (mine["affected"], mine["completed"]) == (None, 1)
    theirs = Caller(client, "store_manager", store_id=other_store["id"])
    assert (await theirs.get(f"/v1/campaigns/{campaign['id']}/completion")).json()["stores"] == []


async def test_a_warranty_claim_for_an_open_campaigns_operation_gets_r10(client, hq, store, advisor):
    await published(hq, [AFFECTED])
    body = {"complaint": "recall letter", "cause": "pretensioner batch", "correction": "replaced pretensioner"}

    async def claim_for(vin: str) -> list[str]:
        order = order_settled(store["id"], [labour(RECALL_OP, "0.5")], vin=vin)
        assert await deliver(client.app, order) == "applied"
        response = await advisor.post("/v1/claims", json={"repair_order_id": order.data["repair_order_id"], **body})
        assert response.status_code == 201, response.text
        return [f["code"] for f in response.json()["precheck"]["findings"]]

    assert "R10" in await claim_for(AFFECTED)
    assert "R10" not in await claim_for(ELSEWHERE)
