"""Network's campaign and Three Guarantees events as reception receives them, for tests."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from services.common.events.catalogue import network as nw
from services.common.events.envelope import CloudEvent
from services.common.ids import new_id
from tests.support.events import envelope_for

RECALL = dict(code="RC-2026-014", kind="recall", title_zh="燃油泵继电器更换", title_en="Fuel pump relay replacement",
              op_code="RCL-2026-01")


def affected_vins(count: int, prefix: str = "LRCAL") -> list[str]:
    """`count` well-formed VINs (17 characters, no I, O or Q) sharing a prefix, in order."""
    return [f"{prefix}{n:012d}" for n in range(count)]


def published(campaign_id: str, *, starts_on: date, ends_on: date, vin_count: int, at: datetime,
              flat_hours: str = "0.5", parts: list[dict] | None = None, **over: Any) -> CloudEvent:
    fields = {**RECALL, **over}
    return envelope_for(nw.CampaignPublished(
        campaign_id=campaign_id, **fields, parts=parts if parts is not None else [
            {"part_no": "XB-39794-FPR", "quantity": "1"}],
        flat_hours=flat_hours, starts_on=starts_on, ends_on=ends_on, vin_count=vin_count, published_by="hq-admin",
        published_at=at), subject=campaign_id, store_id=None, time=at)


def chunks(campaign_id: str, vins: list[str], *, starts_on: date, ends_on: date, at: datetime,
           size: int = nw.VINS_PER_CHUNK, **over: Any) -> list[CloudEvent]:
    """The VINs as network writes them: chunks of at most `size`, numbered from 1."""
    fields = {**RECALL, **over}
    count = -(-len(vins) // size)
    return [envelope_for(nw.CampaignVinsAffected(
        campaign_id=campaign_id, **fields, starts_on=starts_on, ends_on=ends_on, chunk=n + 1, chunks=count,
        vins=vins[n * size:(n + 1) * size], published_at=at), subject=campaign_id, store_id=None, time=at)
        for n in range(count)]


def completed(campaign_id: str, vin: str, *, store_id: str, at: datetime, code: str = RECALL["code"],
              repair_order_id: str | None = None) -> CloudEvent:
    return envelope_for(nw.CampaignCompleted(
        campaign_id=campaign_id, code=code, kind="recall", vin=vin, store_id=store_id,
        repair_order_id=repair_order_id or new_id(), completed_at=at), subject=campaign_id, store_id=store_id, time=at)


def three_guarantees(vin: str, *, at: datetime, **over: Any) -> CloudEvent:
    fields: dict[str, Any] = dict(
        validity="in_validity", valid_until=date(2027, 3, 15), cumulative_repair_days=22,
        same_problem_repairs={"brakes": 1, "electrical": 4, "engine": 1}, serious_safety_fault_repairs=1,
        engine_or_transmission_replacements=0,
        alerts=["same_problem_repairs:electrical", "serious_safety_fault_repairs"])
    fields.update(over)
    return envelope_for(nw.ThreeGuaranteesUpdated(vin=vin, **fields, updated_at=at), subject=vin, store_id=None,
                        time=at)


def three_guarantees_alert(vin: str, *, store_id: str, at: datetime, **over: Any) -> CloudEvent:
    fields: dict[str, Any] = dict(
        threshold="same_problem_repairs:electrical", kind="same_problem_repairs", remedy="replacement",
        status="one_step", value=4, limit=4, problem="electrical", validity="in_validity",
        sale_date=date(2025, 3, 15), policy_effective_from=date(2022, 1, 1), loaner_owed=False,
        repair_order_id=new_id(),
        message_zh="同一质量问题已修理4次，再修1次即达更换条件",
        message_en="The same quality problem has been repaired 4 times; one more reaches replacement")
    fields.update(over)
    return envelope_for(nw.ThreeGuaranteesAlertRaised(vin=vin, store_id=store_id, **fields, raised_at=at),
                        subject=vin, store_id=store_id, time=at)
