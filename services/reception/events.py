"""Events reception handles (besides the store registry every service keeps): the
workshop's word that work on an order started, and that the car is ready; network's
campaigns (published, their VINs, one car done) and Three Guarantees figures and alerts,
which booking and check-in show; network's warranty statements, which the brand owes
the store until it pays them (receivables); and the brand's new versions of its labour
operations and parts prices, which repair orders are priced by (policy_copies)."""
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.consumer import EventHandlers, HandlerContext
from services.common.events.catalogue import network as nw
from services.common.events.catalogue.workshop import RepairOrderReady, RepairOrderWorkStarted
from services.common.events.envelope import CloudEvent
from services.reception.policy_copies import service as policy_copies
from services.reception.receivables import ledger as receivables
from services.reception.repair_orders import service as repair_orders
from services.reception.settings import ReceptionSettings
from services.reception.vehicle_notices import service as vehicle_notices

handlers = EventHandlers()


@handlers.on("workshop.repair_order.work_started")
async def work_started(session: AsyncSession, event: RepairOrderWorkStarted, envelope: CloudEvent,
                       ctx: HandlerContext[ReceptionSettings]) -> None:
    await repair_orders.work_started(session, event.repair_order_id, event.store_id, event.started_at, envelope.id)


@handlers.on("workshop.repair_order.ready")
async def ready(session: AsyncSession, event: RepairOrderReady, envelope: CloudEvent,
                ctx: HandlerContext[ReceptionSettings]) -> None:
    await repair_orders.ready(session, event.repair_order_id, event.store_id, event.ready_at, envelope.id)


@handlers.on("network.campaign.published")
async def campaign_published(session: AsyncSession, event: nw.CampaignPublished, envelope: CloudEvent,
                             ctx: HandlerContext[ReceptionSettings]) -> None:
    await vehicle_notices.campaign_published(session, event)


@handlers.on("network.campaign.vins_affected")
async def campaign_vins_affected(session: AsyncSession, event: nw.CampaignVinsAffected, envelope: CloudEvent,
                                 ctx: HandlerContext[ReceptionSettings]) -> None:
    await vehicle_notices.vins_affected(session, event)


@handlers.on("network.campaign.completed")
async def campaign_completed(session: AsyncSession, event: nw.CampaignCompleted, envelope: CloudEvent,
                             ctx: HandlerContext[ReceptionSettings]) -> None:
    await vehicle_notices.campaign_completed(session, event)


@handlers.on("network.three_guarantees.updated")
async def three_guarantees_updated(session: AsyncSession, event: nw.ThreeGuaranteesUpdated, envelope: CloudEvent,
                                   ctx: HandlerContext[ReceptionSettings]) -> None:
    await vehicle_notices.three_guarantees_updated(session, event)


@handlers.on("network.three_guarantees.alert")
async def three_guarantees_alert(session: AsyncSession, event: nw.ThreeGuaranteesAlertRaised, envelope: CloudEvent,
                                 ctx: HandlerContext[ReceptionSettings]) -> None:
    await vehicle_notices.three_guarantees_alert(session, event)


@handlers.on("network.settlement.issued")
async def settlement_issued(session: AsyncSession, event: nw.SettlementIssued, envelope: CloudEvent,
                            ctx: HandlerContext[ReceptionSettings]) -> None:
    await receivables.settlement_issued(session, settlement_id=event.settlement_id, store_id=event.store_id,
                                        period=event.period, total_fen=event.total_fen, issued_at=event.issued_at,
                                        now=ctx.clock.now())


@handlers.on("network.settlement.paid")
async def settlement_paid(session: AsyncSession, event: nw.SettlementPaid, envelope: CloudEvent,
                          ctx: HandlerContext[ReceptionSettings]) -> None:
    await receivables.settlement_paid(session, settlement_id=event.settlement_id, reference=event.reference,
                                      paid_at=event.paid_at, now=ctx.clock.now())


@handlers.on("network.policy.version_published")
async def policy_version_published(session: AsyncSession, event: nw.PolicyVersionPublished, envelope: CloudEvent,
                                   ctx: HandlerContext[ReceptionSettings]) -> None:
    await policy_copies.version_published(session, event)


@handlers.on("network.policy.version_changes")
async def policy_version_changes(session: AsyncSession, event: nw.PolicyVersionChangesPart, envelope: CloudEvent,
                                 ctx: HandlerContext[ReceptionSettings]) -> None:
    await policy_copies.version_changes(session, event)
