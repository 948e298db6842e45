from dataclasses import replace
from pathlib import Path

from fastapi import FastAPI, Request

from services.common.app import ConsumerGroup, Role, ScheduledJob, ServiceRuntime, ServiceSpec, create_service_app
from services.common.clock import Clock
from services.common.errors import problem_response
from services.common.logging import get_logger
from services.network.applications import router as applications
from services.network.applications.service import ApplicationRateLimited, SubmissionLimiter
from services.network.appraisals import router as appraisals
from services.network.audits import router as audits
from services.network.build_out import router as build_out
from services.network.campaigns import router as campaigns
from services.network.certifications import router as certifications
from services.network.claims import router as claims
from services.network.daily_reports import router as daily_reports
from services.network.events import account_handlers, handlers
from services.network.goodwill import router as goodwill
from services.network.keys import router as keys
from services.network.keys.service import ensure_bootstrap_key
from services.network.kpis import router as kpis
from services.network.kpis.broadcaster import KpiBroadcaster, attach
from services.network.onboarding import router as onboarding
from services.network.overview import router as overview
from services.network.part_returns import router as part_returns
from services.network.people import router as people
from services.network.policies import router as policies
from services.network.regions import router as regions
from services.network.settings import NetworkSettings
from services.network.settlements import router as settlements
from services.network.stores import router as stores
from services.network.targets import router as targets
from services.network.three_guarantees import router as three_guarantees
from services.network.vehicles import router as vehicles
from services.network.webhooks import deliverer
from services.network.webhooks import router as webhooks


async def _startup(runtime: ServiceRuntime) -> None:
    settings: NetworkSettings = runtime.settings  # type: ignore[assignment]
    if settings.bootstrap_key is not None:
        async with runtime.db.transaction() as session:
            await ensure_bootstrap_key(session, runtime.clock, settings.bootstrap_key.get_secret_value())


spec = ServiceSpec(
    name="network",
    title="Network service",
    description="Stores and partner outlets, onboarding, API keys, the staff directory, audits, warranty claims, "
                "settlements, HQ KPIs.",
    routers=[stores.router, onboarding.router, audits.router, applications.router, keys.router, keys.internal,
             part_returns.router,
             claims.router, settlements.router, kpis.router, kpis.live, overview.router, people.router,
             targets.router,
             three_guarantees.router, daily_reports.router, vehicles.router, campaigns.router, appraisals.router,
             webhooks.router,
             goodwill.preauthorisations, regions.router, regions.placements, policies.router, build_out.router,
             certifications.courses, certifications.requirements, certifications.router,
             certifications.stores_status],
    handlers=handlers,
    migrations_dir=Path(__file__).parent / "migrations",
    startup=_startup,
    consumer_groups=[ConsumerGroup("accounts", account_handlers)],
)
log = get_logger(__name__)


async def _rate_limited(request: Request, exc: ApplicationRateLimited):
    return problem_response(exc.problem(str(request.url.path)), headers={"Retry-After": str(exc.retry_after)})


def create_app(settings: NetworkSettings | None = None, *, role: Role = "all", clock: Clock | None = None) -> FastAPI:
    settings = settings or NetworkSettings()
    # The deliverer of outlet webhooks runs in the worker, as long as the worker does.
    delivering = ScheduledJob(name="webhook_deliveries", run=deliverer.job(settings),
                              every_seconds=settings.webhooks_poll_seconds)
    app = create_service_app(replace(spec, scheduled=[*spec.scheduled, delivering]), settings, role=role, clock=clock)
    if settings.provider_admin is None:
        log.info("staff accounts are not provisioned and sign-ins cannot be issued: NETWORK_OIDC_ADMIN_URL is unset")
    app.state.application_limiter = SubmissionLimiter(settings.application_rate_limit,
                                                      settings.application_rate_window_seconds)
    app.state.licence_limiter = SubmissionLimiter(settings.application_licence_limit,
                                                  settings.application_licence_window_seconds, what="licence")
    app.state.kpi_broadcaster = KpiBroadcaster(settings.kpi_stream_queue_size)
    app.state.principal_scope = regions.scope_principal  # a region manager sees its regions' stores only
    attach(app.state.db.engine.sync_engine, app.state.kpi_broadcaster)
    # The decorator's form, as install_error_handlers registers its own: Starlette's
    # add_exception_handler is typed for handlers of any Exception only.
    app.exception_handler(ApplicationRateLimited)(_rate_limited)
    return app
