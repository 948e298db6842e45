"""Churn: at risk after the 12-month periodic interval plus a grace month without a visit, lost after 18, never while a booking
is open; one announcement per absence. The store's today is Monday 2 March 2026 (Shanghai)."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from tests.crm import factories as f

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


PEOPLE = {
    "thirteen_months": (f.person("周", "13100000001"), f.car(vin="LSVCHURN000000001"), local(2025, 2, 2, 16)),
    "a_day_short": (f.person("吴", "13100000002"), f.car(vin="LSVCHURN000000002"), local(2025, 2, 3, 11)),
    "nineteen_months": (f.person("郑", "13100000003"), f.car(vin="LSVCHURN000000003"), local(2024, 8, 1, 11)),
    "booked": (f.person("冯", "13100000004"), f.car(vin="LSVCHURN000000004"), local(2025, 1, 1, 11)),
    "recent": (f.person("陈", "13100000005"), f.car(vin="LSVCHURN000000005"), local(2025, 6, 1, 11)),
}


async def seed(crm) -> dict[str, str]:
    ids = {}
    for key, (who, vehicle, last_visit) in PEOPLE.items():
        await crm.deliver(f.delivered(crm.store_id, last_visit, customer=who, vehicle=vehicle))
        [customer] = (await crm.agent.get("/v1/customers", params={"phone": who.phone})).json()["items"]
        ids[key] = customer["id"]
    who, vehicle, _ = PEOPLE["booked"]
    await crm.deliver(f.booked(crm.store_id, local(2026, 2, 27, 9), scheduled_at=local(2026, 3, 6, 9),
                               customer=who, vehicle=vehicle))
    return ids


async def detect(crm) -> dict:
    r = await crm.manager.post("/v1/jobs/churn_detection/run")
    assert r.status_code == 200, r.text
    return r.json()["stores"][0]["result"]


async def churn_list(crm, **params) -> dict[str, dict]:
    r = await crm.agent.get("/v1/churn", params=params)
    assert r.status_code == 200, r.text
    return {item["customer_id"]: item for item in r.json()["items"]}


async def test_customers_away_thirteen_months_are_at_risk_eighteen_lost_and_the_rest_are_not_found(crm):
    ids = await seed(crm)
    assert await detect(crm) == {"detected": 2, "became_lost": 0}
    found = await churn_list(crm)
    assert set(found) == {ids["thirteen_months"], ids["nineteen_months"]}
    at_risk, lost = found[ids["thirteen_months"]], found[ids["nineteen_months"]]
    assert at_risk["level"] == "at_risk" and at_risk["months_without_visit"] == 13
    assert at_risk["reason"].startswith("no visit since 2025-02-02 (13 months, at risk from 13)")
    assert at_risk["reason"].endswith("no booking") and at_risk["has_booking"] is False
    assert lost["level"] == "lost" and lost["months_without_visit"] == 19
    events = {e["data"]["customer_id"]: e["data"] for e in await crm.emitted("crm.customer.churn_detected")}
    assert {k: v["level"] for k, v in events.items()} == {ids["thirteen_months"]: "at_risk", ids["nineteen_months"]: "lost"}
    assert events[ids["thirteen_months"]]["reason"] == at_risk["reason"]


async def test_one_announcement_per_absence_even_when_at_risk_becomes_lost(crm):
    ids = await seed(crm)
    await detect(crm)
    assert await detect(crm) == {"detected": 0, "became_lost": 0}
    crm.clock.set(local(2026, 9, 2, 10))
    result = await detect(crm)
    assert result["became_lost"] == 1
    found = await churn_list(crm)
    assert found[ids["thirteen_months"]]["level"] == "lost"
    announced = [e["data"]["customer_id"] for e in await crm.emitted("crm.customer.churn_detected")]
    assert announced.count(ids["thirteen_months"]) == 1
    # Newly away since the spring: the day-short customer and the recent one (15 months).
    assert {ids["a_day_short"], ids["recent"]} <= set(found)


async def test_a_visit_ends_the_absence_and_a_later_absence_is_a_new_episode(crm):
    ids = await seed(crm)
    await detect(crm)
    who, vehicle, _ = PEOPLE["thirteen_months"]
    await crm.deliver(f.opened(crm.store_id, local(2026, 3, 10, 10), customer=who, vehicle=vehicle))
    assert ids["thirteen_months"] not in await churn_list(crm)
    ended = (await churn_list(crm, include_ended="true"))[ids["thirteen_months"]]
    assert ended["ended_by"].startswith("repair_order:") and ended["ended_at"]
    crm.clock.set(local(2027, 4, 11, 10))
    await detect(crm)
    announced = [e["data"]["customer_id"] for e in await crm.emitted("crm.customer.churn_detected")]
    assert announced.count(ids["thirteen_months"]) == 2


async def test_a_customer_who_books_leaves_the_list(crm):
    ids = await seed(crm)
    await detect(crm)
    who, vehicle, _ = PEOPLE["nineteen_months"]
    await crm.deliver(f.booked(crm.store_id, crm.clock.now(), scheduled_at=crm.clock.now() + timedelta(days=2),
                               customer=who, vehicle=vehicle))
    assert ids["nineteen_months"] not in await churn_list(crm)
    shown = (await churn_list(crm, include_booked="true"))[ids["nineteen_months"]]
    assert shown["has_booking"] is True and "but has a booking" in shown["reason"]


async def test_the_churn_list_is_the_stores_own(crm):
    await seed(crm)
    await detect(crm)
    stranger = crm.as_("crm_agent", "agent-beijing", store_id=crm.other_store_id)
    assert (await stranger.get("/v1/churn")).json()["items"] == []
    assert len((await crm.hq.get("/v1/churn", params={"store_id": crm.store_id})).json()["items"]) == 2


async def test_another_stores_episode_cannot_be_worked_nor_told_apart_from_none(crm):
    """tests/security/test_matrix.py makes an object of every kind on a live platform, where no
    car is away 13 months; the churn episode's store scoping is held here instead."""
    ids = await seed(crm)
    await detect(crm)
    episode = (await churn_list(crm))[ids["thirteen_months"]]["id"]
    stranger = crm.as_("crm_agent", "agent-beijing", store_id=crm.other_store_id)
    for target in (episode, "no-such-episode"):
        cause = await stranger.client.put(f"/v1/churn/{target}/cause", json={"cause": "other_dealer"},
                                          headers=stranger._headers(None))
        call = await stranger.post(f"/v1/churn/{target}/win-back-calls", json={"result": "no_answer"})
        assert (cause.status_code, call.status_code) == (404, 404), (cause.text, call.text)
    mine = (await churn_list(crm))[ids["thirteen_months"]]
    assert mine["cause"] is None and mine["win_back_calls"] == []


async def test_a_retried_win_back_call_is_recorded_once_and_its_key_is_bound_to_its_body(crm):
    """tests/security/test_idempotency.py walks every POST route on a live platform, where no car
    is away 13 months; the win-back call's Idempotency-Key is held here instead."""
    ids = await seed(crm)
    await detect(crm)
    episode = (await churn_list(crm))[ids["thirteen_months"]]["id"]
    url = f"/v1/churn/{episode}/win-back-calls"
    key = {"Idempotency-Key": "win-back-" + episode}
    body = {"result": "will_come", "note": "comes in next week"}
    first = await crm.agent.post(url, json=body, headers=key)
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    again = await crm.agent.post(url, json=body, headers=key)
    assert (again.status_code, again.json()) == (201, first.json())
    assert again.headers.get("idempotent-replayed") == "true"
    other = await crm.agent.post(url, json={**body, "result": "refused"}, headers=key)
    assert other.status_code == 422, other.text
    assert [e.get("field") for e in other.json()["errors"]] == ["Idempotency-Key"], other.text
    calls = (await churn_list(crm))[ids["thirteen_months"]]["win_back_calls"]
    assert [c["result"] for c in calls] == ["will_come"], calls
